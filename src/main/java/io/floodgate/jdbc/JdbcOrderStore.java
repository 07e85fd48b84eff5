package io.floodgate.jdbc;

import com.zaxxer.hikari.HikariDataSource;
import io.floodgate.core.DependencyUnavailableException;
import io.floodgate.core.RejectedException;
import io.floodgate.core.RequestContext;
import io.floodgate.core.Rejection;
import io.floodgate.core.StaleFencingTokenException;
import io.floodgate.core.domain.ItemAudit;
import io.floodgate.core.domain.ItemSpec;
import io.floodgate.core.domain.Order;
import io.floodgate.core.domain.OrderStatus;
import io.floodgate.core.port.Lock;
import io.floodgate.core.port.OrderStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Set;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * The order store over JDBC: the embedded SQLite file, or MariaDB/MySQL/PostgreSQL. Every write
 * is one short transaction; order inserts ignore rows already present (by id or by
 * {@code (sku, idempotency_key)}), so replaying a batch is harmless.
 *
 * <p>Fenced writes first raise the lock's row in {@code fences} to their token (never lowering
 * it) and read it back under the row lock that raise took: a higher value means a newer holder has
 * written, and the transaction is rolled back with {@link StaleFencingTokenException}. The row
 * lock is held to commit, so one lock's fenced writes are serialised and the tokens of the rows
 * they write never decrease in commit order.
 *
 * <p>No SQL text or driver message reaches a client: failures become
 * {@link DependencyUnavailableException} with a plain message, and the cause is logged here.
 */
final class JdbcOrderStore implements OrderStore {

    private static final Logger LOG = LoggerFactory.getLogger(JdbcOrderStore.class);
    private static final long STATEMENT_TIMEOUT_SECONDS = 5;
    private static final int IN_LIST_CHUNK = 200;
    private static final String ORDER_COLUMNS =
            "order_id, sku, idempotency_key, user_id, quantity, status, created_at, request_id";

    private final HikariDataSource dataSource;
    private final Dialect dialect;
    private final Clock clock;
    private final Runnable afterClose;

    JdbcOrderStore(HikariDataSource dataSource, Dialect dialect, Clock clock, Runnable afterClose) {
        this.dataSource = dataSource;
        this.dialect = dialect;
        this.clock = clock;
        this.afterClose = afterClose;
    }

    /** Work inside one of this store's connections; {@link ShardedOrderStore} nests them. */
    @FunctionalInterface
    interface Work<T> {
        T run(Connection connection) throws SQLException;
    }

    /**
     * Runs {@code work} in one transaction, committed if it returns, rolled back if it throws. A
     * failure from the commit itself (or after it) is reported as of unknown outcome: the commit
     * may have reached the database before the connection failed.
     */
    <T> T inTransaction(String what, Work<T> work) {
        boolean committing = false;
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            try {
                T result = work.run(c);
                committing = true;
                c.commit();
                return result;
            } catch (SQLException | RuntimeException e) {
                if (!committing) {
                    rollbackQuietly(c);
                }
                throw e;
            }
        } catch (SQLException e) {
            throw unavailable(what, e, committing);
        }
    }

    /** A statement whose timeout is the request's remaining time (whole seconds, at least 1). */
    private PreparedStatement prepare(Connection c, String sql) throws SQLException {
        PreparedStatement ps = c.prepareStatement(sql);
        long seconds = STATEMENT_TIMEOUT_SECONDS;
        if (RequestContext.CURRENT.isBound()) {
            long remainingMillis = RequestContext.CURRENT.get().deadline().remainingMillis();
            seconds = Math.clamp((remainingMillis + 999) / 1000, 1, STATEMENT_TIMEOUT_SECONDS);
        }
        ps.setQueryTimeout((int) seconds);
        return ps;
    }

    private <T> T read(String what, Work<T> work) {
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(true);
            return work.run(c);
        } catch (SQLException e) {
            throw unavailable(what, e, false);
        }
    }

    private static void rollbackQuietly(Connection c) {
        try {
            c.rollback();
        } catch (SQLException suppressed) {
            LOG.debug("rollback failed", suppressed);
        }
    }

    private static DependencyUnavailableException unavailable(String what, SQLException e, boolean outcomeUnknown) {
        LOG.warn("store: {} failed{}: {} (SQLState {})", what, outcomeUnknown ? " while committing" : "",
                e.getMessage(), e.getSQLState());
        return new DependencyUnavailableException("store", "the order store failed to " + what, e, outcomeUnknown);
    }

    @Override
    public boolean putItem(ItemSpec spec) {
        return inTransaction("save item " + spec.sku(), c -> defineItem(c, spec));
    }

    /**
     * Creates or replaces the item in {@code c}'s transaction, refusing with {@code ITEM_LOCKED}
     * when this database holds an order of it. The item's row is locked first ({@code FOR
     * UPDATE}): an order insert holds a key-share lock on it (the foreign key) until it commits, so
     * an insert in flight finishes before the check reads, and a later one waits for this
     * transaction to end. The check reads orders committed before the lock was granted.
     *
     * @return true when created, false when replaced
     */
    boolean defineItem(Connection c, ItemSpec spec) throws SQLException {
        if (dialect == Dialect.MYSQL) {
            // InnoDB's REPEATABLE READ would lock the gap where a new item goes (two creations
            // of new items would deadlock on their inserts) and read orders from an old snapshot.
            // Set before the transaction's first statement; the pool resets it on return.
            c.setTransactionIsolation(Connection.TRANSACTION_READ_COMMITTED);
        }
        boolean exists;
        try (PreparedStatement ps = prepare(c, dialect.lockItem)) {
            ps.setString(1, spec.sku());
            try (ResultSet rs = ps.executeQuery()) {
                exists = rs.next();
            }
        }
        long now = clock.millis();
        if (exists) {
            try (PreparedStatement ps = prepare(c, "SELECT 1 FROM orders WHERE sku = ? LIMIT 1")) {
                ps.setString(1, spec.sku());
                try (ResultSet rs = ps.executeQuery()) {
                    if (rs.next()) {
                        throw new RejectedException(Rejection.ITEM_LOCKED,
                                "item " + spec.sku() + " has had orders and can no longer be replaced");
                    }
                }
            }
            try (PreparedStatement ps = prepare(c, "UPDATE items SET name = ?, stock = ?, per_user_limit = ?,"
                    + " starts_at = ?, ends_at = ?, updated_at = ? WHERE sku = ?")) {
                bindSpec(ps, spec);
                ps.setLong(6, now);
                ps.setString(7, spec.sku());
                ps.executeUpdate();
            }
        } else {
            try (PreparedStatement ps = prepare(c, "INSERT INTO items (name, stock, per_user_limit,"
                    + " starts_at, ends_at, updated_at, sku, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")) {
                bindSpec(ps, spec);
                ps.setLong(6, now);
                ps.setString(7, spec.sku());
                ps.setLong(8, now);
                ps.executeUpdate();
            }
        }
        return !exists;
    }

    private static void bindSpec(PreparedStatement ps, ItemSpec spec) throws SQLException {
        ps.setString(1, spec.name());
        ps.setLong(2, spec.stock());
        ps.setInt(3, spec.perUserLimit());
        setMillis(ps, 4, spec.startsAt());
        setMillis(ps, 5, spec.endsAt());
    }

    private static void setMillis(PreparedStatement ps, int index, Instant instant) throws SQLException {
        if (instant == null) {
            ps.setNull(index, Types.BIGINT);
        } else {
            ps.setLong(index, instant.toEpochMilli());
        }
    }

    @Override
    public void addStock(String sku, long delta) {
        inTransaction("change the stock of " + sku, c -> addStock(c, sku, delta));
    }

    /**
     * Adds {@code delta} to the item's stock in {@code c}'s transaction, leaving its row locked.
     *
     * @return the stock after the change
     */
    long addStock(Connection c, String sku, long delta) throws SQLException {
        try (PreparedStatement ps = prepare(c, "UPDATE items SET stock = stock + ?, updated_at = ? WHERE sku = ?")) {
            ps.setLong(1, delta);
            ps.setLong(2, clock.millis());
            ps.setString(3, sku);
            if (ps.executeUpdate() != 1) {
                throw new RejectedException(Rejection.UNKNOWN_ITEM, "there is no item " + sku);
            }
        }
        try (PreparedStatement ps = prepare(c, "SELECT stock FROM items WHERE sku = ?")) {
            ps.setString(1, sku);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    /** Sets the stock of this database's copy of an item; false if it has no copy. */
    boolean setStock(Connection c, String sku, long stock) throws SQLException {
        try (PreparedStatement ps = prepare(c, "UPDATE items SET stock = ?, updated_at = ? WHERE sku = ?")) {
            ps.setLong(1, stock);
            ps.setLong(2, clock.millis());
            ps.setString(3, sku);
            return ps.executeUpdate() == 1;
        }
    }

    @Override
    public void insertOrders(List<Order> orders) {
        if (orders.isEmpty()) {
            return;
        }
        inTransaction("write " + orders.size() + " orders", c -> {
            insertOrders(c, orders);
            return null;
        });
    }

    void insertOrders(Connection c, List<Order> orders) throws SQLException {
        if (orders.isEmpty()) {
            return;
        }
        // in id order: two batches holding the same orders (a retry beside the first attempt) then
        // lock their rows in one order and wait for each other instead of deadlocking
        List<Order> byId = new ArrayList<>(orders);
        byId.sort(java.util.Comparator.comparing(Order::orderId));
        try (PreparedStatement ps = prepare(c, dialect.insertOrderIfAbsent)) {
            for (Order o : byId) {
                ps.setString(1, o.orderId());
                ps.setString(2, o.sku());
                ps.setString(3, o.idempotencyKey());
                ps.setString(4, o.userId());
                ps.setInt(5, o.quantity());
                ps.setString(6, o.status() == OrderStatus.CANCELLED ? "CANCELLED" : "CONFIRMED");
                ps.setLong(7, o.createdAt().toEpochMilli());
                ps.setString(8, o.requestId());
                ps.addBatch();
            }
            ps.executeBatch();
        }
    }

    @Override
    public void insertOrders(Lock.Fence fence, List<Order> orders) {
        inTransaction("write " + orders.size() + " orders under lock " + fence.lockName(), c -> {
            checkFence(c, fence);
            insertOrders(c, orders);
            return null;
        });
    }

    @Override
    public void recordAudit(Lock.Fence fence, List<ItemAudit> audits) {
        inTransaction("record the audit of " + audits.size() + " items", c -> {
            checkFence(c, fence);
            if (audits.isEmpty()) {
                return null;
            }
            try (PreparedStatement ps = prepare(c, "INSERT INTO audits (lock_name, token, sku, ledger_sold,"
                    + " ledger_available, store_sold, drift, audited_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")) {
                for (ItemAudit a : audits) {
                    ps.setString(1, fence.lockName());
                    ps.setLong(2, fence.token());
                    ps.setString(3, a.sku());
                    ps.setLong(4, a.ledgerSold());
                    ps.setLong(5, a.ledgerAvailable());
                    ps.setLong(6, a.storeSold());
                    ps.setLong(7, a.drift());
                    ps.setLong(8, a.at().toEpochMilli());
                    ps.addBatch();
                }
                ps.executeBatch();
            }
            return null;
        });
    }

    /** Raises the lock's newest token to {@code fence}'s, or throws if it is already higher. */
    void checkFence(Connection c, Lock.Fence fence) throws SQLException {
        try (PreparedStatement ps = prepare(c, dialect.raiseFence)) {
            ps.setString(1, fence.lockName());
            ps.setLong(2, fence.token());
            ps.executeUpdate();
        }
        try (PreparedStatement ps = prepare(c, "SELECT token FROM fences WHERE name = ?")) {
            ps.setString(1, fence.lockName());
            try (ResultSet rs = ps.executeQuery()) {
                long newest = rs.next() ? rs.getLong(1) : Long.MIN_VALUE;
                if (newest != fence.token()) {
                    throw new StaleFencingTokenException(fence.lockName(), fence.token(), newest);
                }
            }
        }
    }

    @Override
    public List<RecordedAudit> recentAudits(int limit) {
        return read("read audits", c -> {
            try (PreparedStatement ps = prepare(c, "SELECT lock_name, token, sku, ledger_sold, ledger_available,"
                    + " store_sold, audited_at FROM audits ORDER BY id DESC LIMIT ?")) {
                ps.setInt(1, limit);
                List<RecordedAudit> audits = new ArrayList<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        audits.add(new RecordedAudit(new Lock.Fence(rs.getString(1), rs.getLong(2)),
                                new ItemAudit(rs.getString(3), rs.getLong(4), rs.getLong(5), rs.getLong(6),
                                        Instant.ofEpochMilli(rs.getLong(7)))));
                    }
                }
                return audits;
            }
        });
    }

    @Override
    public Set<String> presentIds(List<String> orderIds) {
        return read("check " + orderIds.size() + " orders", c -> {
            Set<String> present = new HashSet<>();
            for (int from = 0; from < orderIds.size(); from += IN_LIST_CHUNK) {
                List<String> chunk = orderIds.subList(from, Math.min(orderIds.size(), from + IN_LIST_CHUNK));
                String marks = String.join(", ", java.util.Collections.nCopies(chunk.size(), "?"));
                try (PreparedStatement ps = prepare(c, "SELECT order_id FROM orders WHERE order_id IN (" + marks + ")")) {
                    for (int i = 0; i < chunk.size(); i++) {
                        ps.setString(i + 1, chunk.get(i));
                    }
                    try (ResultSet rs = ps.executeQuery()) {
                        while (rs.next()) {
                            present.add(rs.getString(1));
                        }
                    }
                }
            }
            return present;
        });
    }

    @Override
    public Optional<Order> order(String orderId) {
        return read("read order", c -> queryOne(c,
                "SELECT " + ORDER_COLUMNS + " FROM orders WHERE order_id = ?", orderId));
    }

    @Override
    public Optional<Order> orderByKey(String sku, String idempotencyKey) {
        return read("read order", c -> queryOne(c,
                "SELECT " + ORDER_COLUMNS + " FROM orders WHERE sku = ? AND idempotency_key = ?", sku, idempotencyKey));
    }

    private Optional<Order> queryOne(Connection c, String sql, String... args) throws SQLException {
        try (PreparedStatement ps = prepare(c, sql)) {
            for (int i = 0; i < args.length; i++) {
                ps.setString(i + 1, args[i]);
            }
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.of(toOrder(rs)) : Optional.empty();
            }
        }
    }

    @Override
    public List<Order> ordersOfUser(String userId, int limit) {
        return read("list orders", c -> {
            try (PreparedStatement ps = prepare(c, "SELECT " + ORDER_COLUMNS
                    + " FROM orders WHERE user_id = ? ORDER BY created_at DESC, order_id DESC LIMIT ?")) {
                ps.setString(1, userId);
                ps.setInt(2, limit);
                List<Order> orders = new ArrayList<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        orders.add(toOrder(rs));
                    }
                }
                return orders;
            }
        });
    }

    @Override
    public Optional<Cancellation> cancel(String orderId, Instant at) {
        return inTransaction("cancel order", c -> {
            int changed;
            try (PreparedStatement ps = prepare(c,
                    "UPDATE orders SET status = 'CANCELLED', cancelled_at = ? WHERE order_id = ? AND status <> 'CANCELLED'")) {
                ps.setLong(1, at.toEpochMilli());
                ps.setString(2, orderId);
                changed = ps.executeUpdate();
            }
            return queryOne(c, "SELECT " + ORDER_COLUMNS + " FROM orders WHERE order_id = ?", orderId)
                    .map(order -> new Cancellation(order, changed == 1));
        });
    }

    @Override
    public void forEachItem(Consumer<ItemSpec> sink) {
        read("read items", c -> {
            try (PreparedStatement ps = c.prepareStatement(
                    "SELECT sku, name, stock, per_user_limit, starts_at, ends_at FROM items");
                 ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    sink.accept(new ItemSpec(rs.getString(1), rs.getString(2), rs.getLong(3), rs.getInt(4),
                            millis(rs, 5), millis(rs, 6)));
                }
            }
            return null;
        });
    }

    @Override
    public void forEachOrder(Consumer<Order> sink) {
        read("read orders", c -> {
            // A full scan at start: no statement timeout.
            try (PreparedStatement ps = c.prepareStatement("SELECT " + ORDER_COLUMNS + " FROM orders")) {
                ps.setFetchSize(10_000);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        sink.accept(toOrder(rs));
                    }
                }
            }
            return null;
        });
    }

    /** Up to {@code max} users who have orders here (for checking that they belong to this shard). */
    List<String> someUserIds(int max) {
        return read("read users", c -> {
            try (PreparedStatement ps = prepare(c, "SELECT user_id FROM orders LIMIT ?")) {
                ps.setInt(1, max);
                List<String> users = new ArrayList<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        users.add(rs.getString(1));
                    }
                }
                return users;
            }
        });
    }

    @Override
    public java.util.Map<String, Long> unitsSoldBySku() {
        return read("sum the units sold per item", c -> {
            java.util.Map<String, Long> sold = new java.util.HashMap<>();
            try (PreparedStatement ps = prepare(c,
                    "SELECT sku, SUM(quantity) FROM orders WHERE status <> 'CANCELLED' GROUP BY sku")) {
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        sold.put(rs.getString(1), rs.getLong(2));
                    }
                }
            }
            return sold;
        });
    }

    private static Instant millis(ResultSet rs, int column) throws SQLException {
        long value = rs.getLong(column);
        return rs.wasNull() ? null : Instant.ofEpochMilli(value);
    }

    private static Order toOrder(ResultSet rs) throws SQLException {
        return new Order(rs.getString(1), rs.getString(2), rs.getString(4), rs.getInt(5),
                OrderStatus.valueOf(rs.getString(6)), Instant.ofEpochMilli(rs.getLong(7)), rs.getString(8),
                rs.getString(3));
    }

    @Override
    public boolean ping(Duration timeout) {
        try (Connection c = dataSource.getConnection()) {
            return c.isValid((int) Math.max(1, timeout.toSeconds()));
        } catch (SQLException e) {
            LOG.debug("store ping failed", e);
            return false;
        }
    }

    @Override
    public void close() {
        try {
            dataSource.close();
        } finally {
            afterClose.run();
        }
    }
}
