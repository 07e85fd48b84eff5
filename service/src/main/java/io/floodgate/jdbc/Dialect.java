package io.floodgate.jdbc;

/** The few statements that differ between the SQL engines the store runs on. */
enum Dialect {
    // one writer at a time in SQLite (transactions begin IMMEDIATE): nothing to lock row by row, and
    // an event's position is given as it is written (see positionsAtCommit)
    SQLITE("sqlite", true,
            " ON CONFLICT DO NOTHING",
            "INSERT INTO fences (name, token) VALUES (?, ?)"
                    + " ON CONFLICT (name) DO UPDATE SET token = max(token, excluded.token)",
            "", "", " ON CONFLICT DO NOTHING",
            "INSERT INTO event_marks (name, position) VALUES (?, ?)"
                    + " ON CONFLICT (name) DO UPDATE SET position = excluded.position"),
    POSTGRESQL("postgresql", false,
            " ON CONFLICT DO NOTHING",
            "INSERT INTO fences (name, token) VALUES (?, ?)"
                    + " ON CONFLICT (name) DO UPDATE SET token = GREATEST(fences.token, EXCLUDED.token)",
            " FOR UPDATE", " FOR UPDATE SKIP LOCKED", " ON CONFLICT DO NOTHING",
            "INSERT INTO event_marks (name, position) VALUES (?, ?)"
                    + " ON CONFLICT (name) DO UPDATE SET position = EXCLUDED.position"),
    // Not INSERT IGNORE: it also turns a foreign-key failure (an order naming an item that is not
    // there) into a warning, and the order would vanish from a batch that commits. In an
    // INSERT ... SELECT from orders, the no-op update names a column orders does not have.
    MYSQL("mysql", false,
            " ON DUPLICATE KEY UPDATE order_id = order_id",
            "INSERT INTO fences (name, token) VALUES (?, ?)"
                    + " ON DUPLICATE KEY UPDATE token = GREATEST(token, VALUES(token))",
            " FOR UPDATE", " FOR UPDATE SKIP LOCKED", " ON DUPLICATE KEY UPDATE seq = seq",
            "INSERT INTO event_marks (name, position) VALUES (?, ?)"
                    + " ON DUPLICATE KEY UPDATE position = VALUES(position)");

    /**
     * The columns of an order, in the order every reader takes them: in {@code orders}, and the
     * order as a change left it in {@code order_events}.
     */
    static final String ORDER_COLUMNS = "order_id, sku, idempotency_key, user_id, quantity, status, created_at,"
            + " request_id, cancel_reason, due_at, payment_state, payment_id, paid_at";

    /** Folder of this dialect's migrations under {@code db/migration}. */
    final String migrations;
    /** Inserts an order unless its id or its (sku, key) is already there. */
    final String insertOrderIfAbsent;
    /** Inserts a failed order unless its id or its (sku, key) is already there. */
    final String insertFailedOrderIfAbsent;
    /** Decides an order's fate unless it is decided already (see {@code V5__order_fates.sql}). */
    final String insertFateIfAbsent;
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
    /** What locks the rows a select reads until the transaction ends ("" where transactions run one at a time). */
    final String forUpdate;
    /** {@link #forUpdate}, passing over rows another transaction holds (claims by several instances at once). */
    final String forUpdateSkipLocked;
    /**
     * Whether an event is given its position as it is written, in the transaction of its change,
     * rather than by the relay after the change committed ({@code OrderStore#stampEvents}). True
     * where write transactions run one at a time (SQLite): the next position read inside one is
     * then the next in commit order, every position a reader can see has committed, and nothing is
     * written twice. Elsewhere transactions overlap, and a position given at the write could commit
     * after a later one that a reader already passed.
     */
    final boolean positionsAtCommit;
    /** Writes the event of an order's change from the order's row as the change left it, unless written already. */
    final String insertEvent;
    /** {@link #insertEvent} for the order's first version only: the event of its creation. */
    final String insertCreatedEvent;
    /** Puts an order whose payment is due into the due index, unless it is there. */
    final String insertDue;
    /** Sets one of the relay's marks. */
    final String upsertMark;

    /**
     * @param ifAbsent what follows an insert so that a row whose key is already there is left as
     *                 it is, without an error (and only that: every other failure still fails)
     * @param selectIfAbsent the same after an {@code INSERT ... SELECT ... FROM orders}
     */
    Dialect(String migrations, boolean positionsAtCommit, String ifAbsent, String raiseFence, String forUpdate,
            String forUpdateSkipLocked, String selectIfAbsent, String upsertMark) {
        this.migrations = migrations;
        this.positionsAtCommit = positionsAtCommit;
        this.forUpdate = forUpdate;
        this.forUpdateSkipLocked = forUpdateSkipLocked;
        this.lockItem = "SELECT 1 FROM items WHERE sku = ?" + forUpdate;
        this.upsertMark = upsertMark;
        // positions given at the write follow the highest one (events are never deleted, and the
        // relay's watermark never passes the highest position it gave)
        String event = positionsAtCommit
                ? "INSERT INTO order_events (event_id, type, at, change_request_id, position, " + ORDER_COLUMNS + ")"
                        + " SELECT CONCAT(order_id, '.', version), ?, ?, ?,"
                        + " (SELECT COALESCE(MAX(position), 0) + 1 FROM order_events), " + ORDER_COLUMNS
                        + " FROM orders WHERE order_id = ?"
                : "INSERT INTO order_events (event_id, type, at, change_request_id, " + ORDER_COLUMNS + ")"
                        + " SELECT CONCAT(order_id, '.', version), ?, ?, ?, " + ORDER_COLUMNS + " FROM orders WHERE order_id = ?";
        // with positions given here, only an event written already is passed over: a clash of
        // positions must fail loudly, never leave a committed change without its event
        String eventIfAbsent = positionsAtCommit ? " ON CONFLICT (event_id) DO NOTHING" : selectIfAbsent;
        this.insertEvent = event + eventIfAbsent;
        this.insertCreatedEvent = event + " AND version = 1" + eventIfAbsent;
        this.insertDue = "INSERT INTO payment_due (order_id, due_at, state) SELECT order_id, due_at, 'D' FROM orders"
                + " WHERE order_id = ? AND payment_state = 'DUE'" + selectIfAbsent.replace("seq = seq", "state = state");
        this.insertOrderIfAbsent = "INSERT INTO orders (order_id, sku, idempotency_key, user_id, quantity, status,"
                + " created_at, request_id, due_at, payment_state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)" + ifAbsent;
        this.insertFailedOrderIfAbsent = "INSERT INTO failed_orders (order_id, sku, idempotency_key, user_id, quantity,"
                + " created_at, request_id, reason, failed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)" + ifAbsent;
        this.insertFateIfAbsent = "INSERT INTO order_fates (order_id, fate, decided_at) VALUES (?, ?, ?)" + ifAbsent;
        this.raiseFence = raiseFence;
    }

    /** The engine's name as people say it, for messages. */
    String engine() {
        return switch (this) {
            case SQLITE -> "SQLite";
            case POSTGRESQL -> "PostgreSQL";
            case MYSQL -> "MariaDB/MySQL";
        };
    }

    /** The dialect of {@code jdbcUrl}, or null when it names no engine the store runs on. */
    static Dialect ofOrNull(String jdbcUrl) {
        try {
            return of(jdbcUrl);
        } catch (IllegalArgumentException e) {
            return null;
        }
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
