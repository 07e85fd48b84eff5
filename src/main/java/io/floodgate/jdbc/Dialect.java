package io.floodgate.jdbc;

/** The few statements that differ between the SQL engines the store runs on. */
enum Dialect {
    SQLITE("sqlite",
            "INSERT INTO orders (order_id, sku, idempotency_key, user_id, quantity, status, created_at, request_id)"
                    + " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            "INSERT INTO fences (name, token) VALUES (?, ?)"
                    + " ON CONFLICT (name) DO UPDATE SET token = max(token, excluded.token)",
            // one writer at a time in SQLite: nothing to lock row by row
            "SELECT 1 FROM items WHERE sku = ?"),
    POSTGRESQL("postgresql",
            "INSERT INTO orders (order_id, sku, idempotency_key, user_id, quantity, status, created_at, request_id)"
                    + " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            "INSERT INTO fences (name, token) VALUES (?, ?)"
                    + " ON CONFLICT (name) DO UPDATE SET token = GREATEST(fences.token, EXCLUDED.token)",
            "SELECT 1 FROM items WHERE sku = ? FOR UPDATE"),
    MYSQL("mysql",
            "INSERT IGNORE INTO orders (order_id, sku, idempotency_key, user_id, quantity, status, created_at, request_id)"
                    + " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            "INSERT INTO fences (name, token) VALUES (?, ?)"
                    + " ON DUPLICATE KEY UPDATE token = GREATEST(token, VALUES(token))",
            "SELECT 1 FROM items WHERE sku = ? FOR UPDATE");

    /** Folder of this dialect's migrations under {@code db/migration}. */
    final String migrations;
    /** Inserts an order unless its id or its (sku, key) is already there. */
    final String insertOrderIfAbsent;
    /**
     * Raises a lock's newest fencing token to the given one (never lowers it), creating its row on
     * first use. One statement, so two first writers cannot both insert; it locks the row until
     * the transaction ends, so fenced writes of one lock run one after another.
     */
    final String raiseFence;
    /**
     * Reads whether an item exists, locking its row against order inserts until the transaction
     * ends (an insert's foreign-key check takes a share lock on that row, which {@code FOR UPDATE}
     * excludes, in PostgreSQL and InnoDB alike).
     */
    final String lockItem;

    Dialect(String migrations, String insertOrderIfAbsent, String raiseFence, String lockItem) {
        this.migrations = migrations;
        this.insertOrderIfAbsent = insertOrderIfAbsent;
        this.raiseFence = raiseFence;
        this.lockItem = lockItem;
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
