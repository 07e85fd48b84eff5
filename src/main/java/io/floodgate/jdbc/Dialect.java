package io.floodgate.jdbc;

/** The few statements that differ between the SQL engines the store runs on. */
enum Dialect {
    SQLITE("sqlite",
            "INSERT INTO orders (order_id, sku, idempotency_key, user_id, quantity, status, created_at, request_id)"
                    + " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"),
    POSTGRESQL("postgresql",
            "INSERT INTO orders (order_id, sku, idempotency_key, user_id, quantity, status, created_at, request_id)"
                    + " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"),
    MYSQL("mysql",
            "INSERT IGNORE INTO orders (order_id, sku, idempotency_key, user_id, quantity, status, created_at, request_id)"
                    + " VALUES (?, ?, ?, ?, ?, ?, ?, ?)");

    /** Folder of this dialect's migrations under {@code db/migration}. */
    final String migrations;
    /** Inserts an order unless its id or its (sku, key) is already there. */
    final String insertOrderIfAbsent;

    Dialect(String migrations, String insertOrderIfAbsent) {
        this.migrations = migrations;
        this.insertOrderIfAbsent = insertOrderIfAbsent;
    }

    static Dialect of(String jdbcUrl) {
        if (jdbcUrl.startsWith("jdbc:sqlite:")) {
            return SQLITE;
        }
        if (jdbcUrl.startsWith("jdbc:postgresql:")) {
            return POSTGRESQL;
        }
        if (jdbcUrl.startsWith("jdbc:mariadb:") || jdbcUrl.startsWith("jdbc:mysql:")) {
            return MYSQL;
        }
        throw new IllegalArgumentException("unsupported JDBC URL '" + jdbcUrl
                + "': expected jdbc:postgresql:, jdbc:mariadb:, jdbc:mysql: or jdbc:sqlite:");
    }
}
