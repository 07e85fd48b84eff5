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
import io.floodgate.core.domain.OrderEvent;
import io.floodgate.core.domain.OrderStatus;
import io.floodgate.core.domain.Payment;
import io.floodgate.core.domain.PaymentCallback;
import io.floodgate.core.domain.PaymentState;
import io.floodgate.core.domain.Price;
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
    private static final String ORDER_COLUMNS = Dialect.ORDER_COLUMNS;
    /** The columns of {@code failed_orders} in the places of {@link #ORDER_COLUMNS}: one reader for both tables. */
    private static final String FAILED_ORDER_COLUMNS =
            "order_id, sku, idempotency_key, user_id, quantity, 'FAILED', created_at, request_id, reason,"
                    + " NULL, NULL, NULL, NULL";
    private static final String ITEM_COLUMNS =
            "sku, name, stock, per_user_limit, starts_at, ends_at, payment_window_ms, price_amount_minor, price_currency";
    /** The mark below which every event has its position and readers may see them. */
    static final String STAMPED = "stamped";
    /** Leftover events stamped per transaction as the store opens ({@link #stampLeftovers}). */
    private static final int LEFTOVER_CHUNK = 10_000;

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
    interface SqlWork<T> {
        T run(Connection connection) throws SQLException;
    }

    /**
     * Runs {@code work} in one transaction, committed if it returns, rolled back if it throws. A
     * failure from the commit itself (or after it) is reported as of unknown outcome: the commit
     * may have reached the database before the connection failed.
     */
    <T> T inTransaction(String what, SqlWork<T> work) {
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

    private <T> T read(String what, SqlWork<T> work) {
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
                    + " starts_at = ?, ends_at = ?, payment_window_ms = ?, price_amount_minor = ?, price_currency = ?,"
                    + " updated_at = ? WHERE sku = ?")) {
                bindSpec(ps, spec);
                ps.setLong(9, now);
                ps.setString(10, spec.sku());
                ps.executeUpdate();
            }
        } else {
            try (PreparedStatement ps = prepare(c, "INSERT INTO items (name, stock, per_user_limit, starts_at, ends_at,"
                    + " payment_window_ms, price_amount_minor, price_currency, updated_at, sku, created_at)"
                    + " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
                bindSpec(ps, spec);
                ps.setLong(9, now);
                ps.setString(10, spec.sku());
                ps.setLong(11, now);
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
        setLongOrNull(ps, 6, spec.paymentWindow() == null ? null : spec.paymentWindow().toMillis());
        setLongOrNull(ps, 7, spec.price() == null ? null : spec.price().amountMinor());
        ps.setString(8, spec.price() == null ? null : spec.price().currency());
    }

    private static void setMillis(PreparedStatement ps, int index, Instant instant) throws SQLException {
        setLongOrNull(ps, index, instant == null ? null : instant.toEpochMilli());
    }

    private static void setLongOrNull(PreparedStatement ps, int index, Long value) throws SQLException {
        if (value == null) {
            ps.setNull(index, Types.BIGINT);
        } else {
            ps.setLong(index, value);
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
        // each order's fate first: stored, unless the reconciler released it before (then the
        // insert of it waited for the release to commit, and finds it)
        decideFates(c, byId.stream().map(Order::orderId).toList(), "S");
        Set<String> released = fatesOf(c, byId.stream().map(Order::orderId).toList(), "R");
        if (!released.isEmpty()) {
            LOG.warn("store: {} orders arrived after the reconciler released their reservations (their instance was"
                    + " paused or cut off past the grace period); not stored: {}", released.size(), released);
            byId.removeIf(o -> released.contains(o.orderId()));
        }
        // Orders already here (a batch written again: a retry, a redelivery) are left alone
        // altogether, not touched by an insert-if-absent: on MariaDB that locks the row it finds,
        // and with its due entry written again after it, a writer would take an order's row before
        // its due entry, the reverse of a payment or an expiry (read after the fates, so a writer
        // that waited for another's fate row sees that one's orders).
        Set<String> present = presentIds(c, byId.stream().map(Order::orderId).toList());
        byId.removeIf(o -> present.contains(o.orderId()));
        if (byId.isEmpty()) {
            return;
        }
        try (PreparedStatement ps = prepare(c, dialect.insertOrderIfAbsent)) {
            for (Order o : byId) {
                ps.setString(1, o.orderId());
                ps.setString(2, o.sku());
                ps.setString(3, o.idempotencyKey());
                ps.setString(4, o.userId());
                ps.setInt(5, o.quantity());
                if (!o.status().holdsUnits() && o.status() != OrderStatus.CANCELLED) {
                    throw new IllegalArgumentException("order " + o.orderId() + " is " + o.status()
                            + ": only live or cancelled orders go into orders (failed ones: recordFailedOrder)");
                }
                ps.setString(6, o.status() == OrderStatus.CANCELLED ? "CANCELLED" : "CONFIRMED");
                ps.setLong(7, o.createdAt().toEpochMilli());
                ps.setString(8, o.requestId());
                setMillis(ps, 9, o.payment() == null ? null : o.payment().dueAt());
                ps.setString(10, o.payment() == null ? null : o.payment().state().name());
                ps.addBatch();
            }
            ps.executeBatch();
        }
        // in the same transaction: the due index, and the created event of each order stored now
        // (of the order row as stored: one whose key another order already holds is not, and gets none)
        List<String> due = byId.stream().filter(o -> o.payment() != null).map(Order::orderId).toList();
        if (!due.isEmpty()) {
            try (PreparedStatement ps = prepare(c, dialect.insertDue)) {
                for (String id : due) {
                    ps.setString(1, id);
                    ps.addBatch();
                }
                ps.executeBatch();
            }
        }
        long now = clock.millis();
        try (PreparedStatement ps = prepare(c, dialect.insertCreatedEvent)) {
            for (Order o : byId) {
                bindEvent(ps, OrderEvent.Type.CREATED, now, o.requestId(), o.orderId());
                ps.addBatch();
            }
            ps.executeBatch();
        }
    }

    private static void bindEvent(PreparedStatement ps, OrderEvent.Type type, long at, String changeRequestId,
                                  String orderId) throws SQLException {
        ps.setString(1, type.name());
        ps.setLong(2, at);
        ps.setString(3, changeRequestId);
        ps.setString(4, orderId);
    }

    /** Writes the event of the change just made to the order, from its row as the change left it. */
    private void writeEvent(Connection c, OrderEvent.Type type, long at, String orderId) throws SQLException {
        try (PreparedStatement ps = prepare(c, dialect.insertEvent)) {
            bindEvent(ps, type, at, RequestContext.currentRequestId(), orderId);
            ps.executeUpdate();
        }
    }

    /** Decides the fate of each of {@code ids} (in id order) unless it is decided already. */
    private void decideFates(Connection c, List<String> ids, String fate) throws SQLException {
        try (PreparedStatement ps = prepare(c, dialect.insertFateIfAbsent)) {
            long now = clock.millis();
            for (String id : ids) {
                ps.setString(1, id);
                ps.setString(2, fate);
                ps.setLong(3, now);
                ps.addBatch();
            }
            ps.executeBatch();
        }
    }

    /** Which of {@code ids} have {@code fate}. */
    private Set<String> fatesOf(Connection c, List<String> ids, String fate) throws SQLException {
        return selectIn(c, "SELECT order_id FROM order_fates WHERE fate = ? AND order_id IN ", ids, fate);
    }

    /**
     * The first column of {@code select} (which ends with {@code IN }) for {@code values}, asked in
     * chunks of {@value #IN_LIST_CHUNK}; {@code leading} binds the parameters before the list.
     */
    private Set<String> selectIn(Connection c, String select, List<String> values, String... leading)
            throws SQLException {
        Set<String> found = new HashSet<>();
        for (int from = 0; from < values.size(); from += IN_LIST_CHUNK) {
            List<String> chunk = values.subList(from, Math.min(values.size(), from + IN_LIST_CHUNK));
            String marks = String.join(", ", java.util.Collections.nCopies(chunk.size(), "?"));
            try (PreparedStatement ps = prepare(c, select + "(" + marks + ")")) {
                int n = 1;
                for (String l : leading) {
                    ps.setString(n++, l);
                }
                for (String v : chunk) {
                    ps.setString(n++, v);
                }
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        found.add(rs.getString(1));
                    }
                }
            }
        }
        return found;
    }

    @Override
    public Set<String> releaseUnstored(Lock.Fence fence, List<Order> orders) {
        return inTransaction("settle " + orders.size() + " unsettled orders under lock " + fence.lockName(), c -> {
            raiseFence(c, fence);
            return releaseUnstored(c, orders);
        });
    }

    /**
     * Releases, in {@code c}'s transaction, those of {@code orders} this database does not hold:
     * see {@link #releaseUnstored(Lock.Fence, List)}.
     */
    Set<String> releaseUnstored(Connection c, List<Order> orders) throws SQLException {
        if (orders.isEmpty()) {
            return Set.of();
        }
        List<String> ids = orders.stream().map(Order::orderId).sorted().toList();
        // an order stored before fates were kept has none: it is stored, whatever comes next
        Set<String> stored = presentIds(c, ids);
        decideFates(c, stored.stream().sorted().toList(), "S");
        decideFates(c, ids.stream().filter(id -> !stored.contains(id)).toList(), "R");
        return fatesOf(c, ids, "R");
    }

    @Override
    public void insertOrders(Lock.Fence fence, List<Order> orders) {
        inTransaction("write " + orders.size() + " orders under lock " + fence.lockName(), c -> {
            raiseFence(c, fence);
            insertOrders(c, orders);
            return null;
        });
    }

    @Override
    public void recordAudit(Lock.Fence fence, List<ItemAudit> audits) {
        inTransaction("record the audit of " + audits.size() + " items", c -> {
            raiseFence(c, fence);
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
    void raiseFence(Connection c, Lock.Fence fence) throws SQLException {
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
        return read("check " + orderIds.size() + " orders", c -> presentIds(c, orderIds));
    }

    private Set<String> presentIds(Connection c, List<String> orderIds) throws SQLException {
        return selectIn(c, "SELECT order_id FROM orders WHERE order_id IN ", orderIds);
    }

    @Override
    public Optional<Order> order(String orderId) {
        return read("read order", c -> findOrder(c, "WHERE order_id = ?", orderId));
    }

    @Override
    public Optional<Order> orderByKey(String sku, String idempotencyKey) {
        return read("read order", c -> findOrder(c, "WHERE sku = ? AND idempotency_key = ?", sku, idempotencyKey));
    }

    /** The order {@code where} names: stored, or else failed. */
    private Optional<Order> findOrder(Connection c, String where, String... args) throws SQLException {
        Optional<Order> stored = queryOne(c, "SELECT " + ORDER_COLUMNS + " FROM orders " + where, args);
        return stored.isPresent() ? stored
                : queryOne(c, "SELECT " + FAILED_ORDER_COLUMNS + " FROM failed_orders " + where, args);
    }

    @Override
    public boolean recordFailedOrder(Order failed) {
        if (failed.status() != OrderStatus.FAILED || failed.statusReason() == null) {
            throw new IllegalArgumentException("order " + failed.orderId() + " must be FAILED with a reason to be recorded"
                    + " as failed, was " + failed.status() + " (" + failed.statusReason() + ")");
        }
        return inTransaction("record failed order " + failed.orderId(), c -> {
            // an order that did reach the store (its item came back) is stored, not failed; and
            // affected-row counts of an insert-if-absent differ by driver (MariaDB's counts a
            // duplicate it left alone), so "already recorded" is read, not counted
            for (String table : new String[]{"orders", "failed_orders"}) {
                try (PreparedStatement ps = prepare(c, "SELECT 1 FROM " + table
                        + " WHERE order_id = ? OR (sku = ? AND idempotency_key = ?)")) {
                    ps.setString(1, failed.orderId());
                    ps.setString(2, failed.sku());
                    ps.setString(3, failed.idempotencyKey());
                    try (ResultSet rs = ps.executeQuery()) {
                        if (rs.next()) {
                            return false;
                        }
                    }
                }
            }
            try (PreparedStatement ps = prepare(c, dialect.insertFailedOrderIfAbsent)) {
                ps.setString(1, failed.orderId());
                ps.setString(2, failed.sku());
                ps.setString(3, failed.idempotencyKey());
                ps.setString(4, failed.userId());
                ps.setInt(5, failed.quantity());
                ps.setLong(6, failed.createdAt().toEpochMilli());
                ps.setString(7, failed.requestId());
                ps.setString(8, failed.statusReason());
                ps.setLong(9, clock.millis());
                ps.executeUpdate();
                return true;
            }
        });
    }

    @Override
    public Set<String> knownItems(java.util.Collection<String> skus) {
        List<String> asked = List.copyOf(new java.util.LinkedHashSet<>(skus));
        return read("check " + asked.size() + " items", c -> selectIn(c, "SELECT sku FROM items WHERE sku IN ", asked));
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
            List<Order> orders = new ArrayList<>();
            for (String table : new String[]{"orders", "failed_orders"}) {
                try (PreparedStatement ps = prepare(c, "SELECT " + (table.equals("orders") ? ORDER_COLUMNS
                        : FAILED_ORDER_COLUMNS) + " FROM " + table
                        + " WHERE user_id = ? ORDER BY created_at DESC, order_id DESC LIMIT ?")) {
                    ps.setString(1, userId);
                    ps.setInt(2, limit);
                    try (ResultSet rs = ps.executeQuery()) {
                        while (rs.next()) {
                            orders.add(toOrder(rs));
                        }
                    }
                }
            }
            orders.sort(NEWEST_FIRST);
            return orders.size() > limit ? List.copyOf(orders.subList(0, limit)) : orders;
        });
    }

    static final java.util.Comparator<Order> NEWEST_FIRST = java.util.Comparator.comparing(Order::createdAt)
            .thenComparing(Order::orderId).reversed();

    @Override
    public Optional<Cancellation> cancel(String orderId, Instant at) {
        return inTransaction("cancel order", c -> {
            readCommitted(c);
            lockDue(c, orderId);
            Optional<Order> found = lockOrder(c, orderId);
            if (found.isEmpty()) {
                return Optional.empty();
            }
            Order order = found.get();
            if (order.status() == OrderStatus.CANCELLED
                    || (order.payment() != null && order.payment().state() != PaymentState.DUE)) {
                return Optional.of(new Cancellation(order, false)); // cancelled already, or paid: as it is
            }
            update(c, "UPDATE orders SET status = 'CANCELLED', cancelled_at = ?, cancel_reason = '"
                    + Order.CANCEL_REQUESTED + "', payment_state = CASE WHEN payment_state IS NULL THEN NULL"
                    + " ELSE 'EXPIRED' END, version = version + 1 WHERE order_id = ?", at.toEpochMilli(), orderId);
            update(c, "DELETE FROM payment_due WHERE order_id = ?", orderId);
            writeEvent(c, OrderEvent.Type.CANCELLED, at.toEpochMilli(), orderId);
            return Optional.of(new Cancellation(orderById(c, orderId).orElseThrow(), true));
        });
    }

    @Override
    public void forEachItem(Consumer<ItemSpec> sink) {
        read("read items", c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT " + ITEM_COLUMNS + " FROM items");
                 ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    sink.accept(toItem(rs));
                }
            }
            return null;
        });
    }

    @Override
    public void forEachOrder(Consumer<Order> sink) {
        scanOrders("", null, sink);
    }

    @Override
    public void forEachOrderOf(String sku, Consumer<Order> sink) {
        scanOrders(" WHERE sku = ?", sku, sink);
    }

    /** Both tables, streamed; a full scan at start or a repair: no statement timeout. */
    private void scanOrders(String where, String sku, Consumer<Order> sink) {
        read("read orders", c -> {
            for (String query : new String[]{"SELECT " + ORDER_COLUMNS + " FROM orders" + where,
                    "SELECT " + FAILED_ORDER_COLUMNS + " FROM failed_orders" + where}) {
                try (PreparedStatement ps = c.prepareStatement(query)) {
                    if (sku != null) {
                        ps.setString(1, sku);
                    }
                    ps.setFetchSize(10_000);
                    try (ResultSet rs = ps.executeQuery()) {
                        while (rs.next()) {
                            sink.accept(toOrder(rs));
                        }
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

    private static ItemSpec toItem(ResultSet rs) throws SQLException {
        Long window = longOrNull(rs, 7);
        Long amount = longOrNull(rs, 8);
        return new ItemSpec(rs.getString(1), rs.getString(2), rs.getLong(3), rs.getInt(4), millis(rs, 5), millis(rs, 6),
                window == null ? null : Duration.ofMillis(window),
                amount == null ? null : new Price(amount, rs.getString(9)));
    }

    private static Long longOrNull(ResultSet rs, int column) throws SQLException {
        long value = rs.getLong(column);
        return rs.wasNull() ? null : value;
    }

    /** An order from a row of {@link #ORDER_COLUMNS}, or of {@link #FAILED_ORDER_COLUMNS} (with its reason). */
    private static Order toOrder(ResultSet rs) throws SQLException {
        return toOrder(rs, 0);
    }

    /** The order in the 13 columns after the first {@code skip}, in the order of {@link #ORDER_COLUMNS}. */
    private static Order toOrder(ResultSet rs, int skip) throws SQLException {
        OrderStatus status = OrderStatus.valueOf(rs.getString(skip + 6));
        String reason = null;
        if (status == OrderStatus.FAILED) {
            reason = rs.getString(skip + 9);
        } else if (status == OrderStatus.CANCELLED) {
            String stored = rs.getString(skip + 9);
            reason = stored == null ? Order.CANCEL_REQUESTED : stored; // cancelled before reasons were kept
        }
        Instant dueAt = millis(rs, skip + 10);
        Payment payment = dueAt == null ? null : new Payment(PaymentState.valueOf(rs.getString(skip + 11)), dueAt,
                rs.getString(skip + 12), millis(rs, skip + 13));
        return new Order(rs.getString(skip + 1), rs.getString(skip + 2), rs.getString(skip + 4), rs.getInt(skip + 5),
                status, Instant.ofEpochMilli(rs.getLong(skip + 7)), rs.getString(skip + 8), rs.getString(skip + 3),
                reason, payment);
    }

    // ---- payments, expiry and the outbox

    /**
     * MariaDB/MySQL: the transaction reads committed rows and locks no gaps. Under InnoDB's
     * REPEATABLE READ the expiry's range scan of the due index would lock the gap where new orders'
     * entries go, and two changes of one order could deadlock on gap locks. Set before the
     * transaction's first statement; the pool resets it on return.
     */
    private void readCommitted(Connection c) throws SQLException {
        if (dialect == Dialect.MYSQL) {
            c.setTransactionIsolation(Connection.TRANSACTION_READ_COMMITTED);
        }
    }

    /**
     * Locks the order's entry in the due index (if it has one): the first lock every change that
     * races (payment, cancel, expiry) takes, so they queue on it rather than deadlock.
     */
    private void lockDue(Connection c, String orderId) throws SQLException {
        try (PreparedStatement ps = prepare(c, "SELECT state FROM payment_due WHERE order_id = ?" + dialect.forUpdate)) {
            ps.setString(1, orderId);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
            }
        }
    }

    /** The stored order, its row locked until the transaction ends. */
    private Optional<Order> lockOrder(Connection c, String orderId) throws SQLException {
        return queryOne(c, "SELECT " + ORDER_COLUMNS + " FROM orders WHERE order_id = ?" + dialect.forUpdate, orderId);
    }

    private Optional<Order> orderById(Connection c, String orderId) throws SQLException {
        return queryOne(c, "SELECT " + ORDER_COLUMNS + " FROM orders WHERE order_id = ?", orderId);
    }

    /** Runs one statement with {@code args} (strings, longs, or null for a missing long); the rows changed. */
    private int update(Connection c, String sql, Object... args) throws SQLException {
        try (PreparedStatement ps = prepare(c, sql)) {
            for (int i = 0; i < args.length; i++) {
                switch (args[i]) {
                    case null -> ps.setNull(i + 1, Types.BIGINT);
                    case Long l -> ps.setLong(i + 1, l);
                    case Integer n -> ps.setInt(i + 1, n);
                    default -> ps.setString(i + 1, args[i].toString());
                }
            }
            return ps.executeUpdate();
        }
    }

    @Override
    public PaymentOutcome recordPayment(PaymentCallback callback, Instant at) {
        return inTransaction("record payment " + callback.paymentId(), c -> recordPayment(c, callback, at));
    }

    /** {@link #recordPayment(PaymentCallback, Instant)} in {@code c}'s transaction. */
    PaymentOutcome recordPayment(Connection c, PaymentCallback callback, Instant at) throws SQLException {
        readCommitted(c);
        String orderId = callback.orderId();
        lockDue(c, orderId);
        Optional<Order> found = lockOrder(c, orderId);
        // idempotency, read under the order's locks: the same callback sent twice at once queues on
        // them, and the second reads the payment the first recorded (a read before the locks would
        // have missed it, and the second would have found the order paid by "another" payment)
        Optional<PaymentOutcome> known = knownPayment(c, callback);
        if (known.isPresent()) {
            return known.get();
        }
        if (found.isEmpty()) {
            Optional<Order> failed = queryOne(c, "SELECT " + FAILED_ORDER_COLUMNS + " FROM failed_orders WHERE order_id = ?",
                    orderId);
            return failed.<PaymentOutcome>map(PaymentOutcome.NoPaymentDue::new).orElseGet(PaymentOutcome.UnknownOrder::new);
        }
        Order order = found.get();
        if (order.payment() == null) {
            return new PaymentOutcome.NoPaymentDue(order);
        }
        Optional<Price> price = priceOf(c, order.sku());
        if (price.isPresent() && !price.get().paidBy(callback.amountMinor(), callback.currency(), order.quantity())) {
            return new PaymentOutcome.Mismatch(price.get(), order.quantity());
        }
        boolean expiredNow = false;
        if (callback.status() == PaymentCallback.Status.SUCCEEDED) {
            long now = at.toEpochMilli();
            switch (order.payment().state()) {
                case PAID, REFUND_DUE -> {
                    return new PaymentOutcome.AlreadyPaid(order.payment().paymentId());
                }
                case DUE -> {
                    if (at.isBefore(order.payment().dueAt())) {
                        update(c, "UPDATE orders SET payment_state = 'PAID', payment_id = ?, paid_at = ?,"
                                + " version = version + 1 WHERE order_id = ?", callback.paymentId(), now, orderId);
                        update(c, "DELETE FROM payment_due WHERE order_id = ?", orderId);
                        writeEvent(c, OrderEvent.Type.PAID, now, orderId);
                    } else { // due, and not yet expired by the expiry: it expires now, and the money is owed back
                        expire(c, List.of(orderId), now);
                        expiredNow = true;
                        refundDue(c, callback, now);
                    }
                }
                case EXPIRED -> refundDue(c, callback, now);
            }
        }
        update(c, "INSERT INTO payments (payment_id, order_id, status, amount_minor, currency, received_at)"
                        + " VALUES (?, ?, ?, ?, ?, ?)", callback.paymentId(), orderId, callback.status().name(),
                callback.amountMinor(), callback.currency(), at.toEpochMilli());
        return new PaymentOutcome.Applied(orderById(c, orderId).orElseThrow(), expiredNow);
    }

    /**
     * The answer to a callback whose payment id this database has seen: the order as it is (the
     * same callback again), or a reuse of the id; empty when the id is new here.
     */
    Optional<PaymentOutcome> knownPayment(Connection c, PaymentCallback callback) throws SQLException {
        try (PreparedStatement ps = prepare(c, "SELECT order_id, status, amount_minor, currency FROM payments"
                + " WHERE payment_id = ?")) {
            ps.setString(1, callback.paymentId());
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return Optional.empty();
                }
                String firstOrder = rs.getString(1);
                if (!callback.sameAs(firstOrder, PaymentCallback.Status.valueOf(rs.getString(2)), rs.getLong(3),
                        rs.getString(4))) {
                    return Optional.of(new PaymentOutcome.PaymentIdReused(firstOrder));
                }
            }
        }
        return Optional.of(new PaymentOutcome.Applied(orderById(c, callback.orderId()).orElseThrow(), false));
    }

    /** Whether this database holds the order (stored or failed). */
    boolean holdsOrder(String orderId) {
        return read("look for order", c -> findOrder(c, "WHERE order_id = ?", orderId).isPresent());
    }

    /** Whether this database has seen the payment id (for the sharded store's check across shards). */
    Optional<PaymentOutcome> knownPayment(PaymentCallback callback) {
        return read("read payment " + callback.paymentId(), c -> knownPayment(c, callback));
    }

    private Optional<Price> priceOf(Connection c, String sku) throws SQLException {
        try (PreparedStatement ps = prepare(c, "SELECT price_amount_minor, price_currency FROM items WHERE sku = ?")) {
            ps.setString(1, sku);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return Optional.empty();
                }
                Long amount = longOrNull(rs, 1);
                return amount == null ? Optional.empty() : Optional.of(new Price(amount, rs.getString(2)));
            }
        }
    }

    /** A success for an order whose payment is no longer due (expired, cancelled): the money is owed back. */
    private void refundDue(Connection c, PaymentCallback callback, long now) throws SQLException {
        update(c, "UPDATE orders SET payment_state = 'REFUND_DUE', payment_id = ?, paid_at = ?, version = version + 1"
                + " WHERE order_id = ?", callback.paymentId(), now, callback.orderId());
        writeEvent(c, OrderEvent.Type.REFUND_DUE, now, callback.orderId());
    }

    /**
     * Expires orders whose rows (and due entries) this transaction holds and whose payment is due:
     * cancelled, reason {@code PAYMENT_EXPIRED}, their event written, their due entry turned into
     * "units to return" (made if it was missing).
     */
    private void expire(Connection c, List<String> orderIds, long now) throws SQLException {
        for (int from = 0; from < orderIds.size(); from += IN_LIST_CHUNK) {
            List<String> chunk = orderIds.subList(from, Math.min(orderIds.size(), from + IN_LIST_CHUNK));
            String marks = String.join(", ", java.util.Collections.nCopies(chunk.size(), "?"));
            Object[] args = new Object[chunk.size() + 1];
            args[0] = now;
            for (int i = 0; i < chunk.size(); i++) {
                args[i + 1] = chunk.get(i);
            }
            update(c, "UPDATE orders SET status = 'CANCELLED', cancelled_at = ?, cancel_reason = '"
                    + Order.PAYMENT_EXPIRED + "', payment_state = 'EXPIRED', version = version + 1"
                    + " WHERE payment_state = 'DUE' AND order_id IN (" + marks + ")", args);
            String[] ids = chunk.toArray(new String[0]);
            int marked = update(c, "UPDATE payment_due SET state = 'R' WHERE order_id IN (" + marks + ")", (Object[]) ids);
            if (marked < chunk.size()) { // an order the index did not hold (an old row): its units must come back too
                for (String id : chunk) {
                    update(c, "INSERT INTO payment_due (order_id, due_at, state) SELECT order_id, due_at, 'R' FROM orders"
                            + " WHERE order_id = ? AND NOT EXISTS (SELECT 1 FROM payment_due WHERE order_id = ?)", id, id);
                }
            }
        }
        try (PreparedStatement ps = prepare(c, dialect.insertEvent)) {
            for (String id : orderIds) {
                bindEvent(ps, OrderEvent.Type.EXPIRED, now, null, id);
                ps.addBatch();
            }
            ps.executeBatch();
        }
    }

    @Override
    public List<Order> expireDue(Instant now, int max) {
        return inTransaction("expire unpaid orders", c -> {
            readCommitted(c);
            List<String> claimed = new ArrayList<>();
            try (PreparedStatement ps = prepare(c, "SELECT order_id FROM payment_due WHERE state = 'D' AND due_at <= ?"
                    + " ORDER BY due_at LIMIT ?" + dialect.forUpdateSkipLocked)) {
                ps.setLong(1, now.toEpochMilli());
                ps.setInt(2, max);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        claimed.add(rs.getString(1));
                    }
                }
            }
            if (claimed.isEmpty()) {
                return List.of();
            }
            // the orders themselves need no lock of their own: every change of a due order (a payment,
            // a cancel) takes its entry first, and this transaction holds the entries it claimed. (A
            // locking read here let MariaDB scan a small table and wait on rows outside the list, which
            // other instances' claims held: a deadlock.) Entries whose order is no longer due (paid or
            // cancelled: their change removed the entry, or an old row) leave the index.
            Set<String> due = selectIn(c, "SELECT order_id FROM orders WHERE payment_state = 'DUE' AND order_id IN ",
                    claimed);
            List<String> stale = claimed.stream().filter(id -> !due.contains(id)).toList();
            for (String id : stale) {
                update(c, "DELETE FROM payment_due WHERE order_id = ? AND state = 'D'", id);
            }
            List<String> expiring = claimed.stream().filter(due::contains).sorted().toList();
            if (expiring.isEmpty()) {
                return List.of();
            }
            expire(c, expiring, now.toEpochMilli());
            return ordersIn(c, expiring);
        });
    }

    @Override
    public List<Order> unitsToReturn(int max) {
        return read("read expired orders", c -> {
            List<String> ids = new ArrayList<>();
            try (PreparedStatement ps = prepare(c, "SELECT order_id FROM payment_due WHERE state = 'R' LIMIT ?")) {
                ps.setInt(1, max);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        ids.add(rs.getString(1));
                    }
                }
            }
            return ordersIn(c, ids);
        });
    }

    @Override
    public void unitsReturned(List<String> orderIds) {
        if (orderIds.isEmpty()) {
            return;
        }
        inTransaction("forget " + orderIds.size() + " expired orders", c -> {
            for (int from = 0; from < orderIds.size(); from += IN_LIST_CHUNK) {
                List<String> chunk = orderIds.subList(from, Math.min(orderIds.size(), from + IN_LIST_CHUNK));
                update(c, "DELETE FROM payment_due WHERE state = 'R' AND order_id IN ("
                        + String.join(", ", java.util.Collections.nCopies(chunk.size(), "?")) + ")", chunk.toArray());
            }
            return null;
        });
    }

    /** The stored orders of {@code ids} (those there are), in no particular order. */
    private List<Order> ordersIn(Connection c, List<String> ids) throws SQLException {
        List<Order> orders = new ArrayList<>(ids.size());
        for (int from = 0; from < ids.size(); from += IN_LIST_CHUNK) {
            List<String> chunk = ids.subList(from, Math.min(ids.size(), from + IN_LIST_CHUNK));
            try (PreparedStatement ps = prepare(c, "SELECT " + ORDER_COLUMNS + " FROM orders WHERE order_id IN ("
                    + String.join(", ", java.util.Collections.nCopies(chunk.size(), "?")) + ")")) {
                for (int i = 0; i < chunk.size(); i++) {
                    ps.setString(i + 1, chunk.get(i));
                }
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        orders.add(toOrder(rs));
                    }
                }
            }
        }
        return orders;
    }

    @Override
    public int stampEvents(Lock.Fence fence, int max) {
        // A read first: the fenced stamp is a write transaction (the fence's row, a commit that
        // syncs), which an idle relay would otherwise make every pass, and which a store that gives
        // positions at commit never needs. A relay that lost its lock and finds nothing to stamp
        // learns so at its next stamp, or from its lease.
        if (!anyUnstamped()) {
            return 0;
        }
        return inTransaction("stamp events under lock " + fence.lockName(), c -> {
            readCommitted(c);
            raiseFence(c, fence);
            return stampNext(c, max);
        });
    }

    /** Stamps up to {@code max} events from above the highest position given, and moves the watermark past them. */
    private int stampNext(Connection c, int max) throws SQLException {
        long next = Math.max(mark(c), maxPosition(c)) + 1;
        int stamped = stamp(c, next, max);
        if (stamped > 0) {
            setMark(c, next + stamped - 1);
        }
        return stamped;
    }

    /** Whether any committed event waits for its position, read on its own. */
    boolean anyUnstamped() {
        return read("look for unstamped events", this::anyUnstamped);
    }

    private boolean anyUnstamped(Connection c) throws SQLException {
        try (PreparedStatement ps = prepare(c, "SELECT 1 FROM order_events WHERE position IS NULL LIMIT 1");
             ResultSet rs = ps.executeQuery()) {
            return rs.next();
        }
    }

    /**
     * Where positions are given at commit ({@link Dialect#positionsAtCommit}): positions for the
     * events an earlier version left for its relay to stamp, before any change is written, so that
     * they come before every new one, as they committed before it. Unfenced: run as the store opens,
     * by the one process that holds its folder.
     *
     * @return how many were stamped
     */
    int stampLeftovers() {
        if (!dialect.positionsAtCommit || !anyUnstamped()) {
            return 0;
        }
        // in chunks, each its own transaction: one that dies leaves the rest for the next opening,
        // still in the order they were written and after those stamped
        int stamped = 0;
        while (true) {
            int n = inTransaction("stamp the events left unstamped", c -> stampNext(c, LEFTOVER_CHUNK));
            if (n == 0) {
                return stamped;
            }
            stamped += n;
        }
    }

    /** Gives up to {@code max} committed, unstamped events positions from {@code next} on, in the order they were written. */
    int stamp(Connection c, long next, int max) throws SQLException {
        List<Long> seqs = new ArrayList<>();
        try (PreparedStatement ps = prepare(c, "SELECT seq FROM order_events WHERE position IS NULL ORDER BY seq LIMIT ?")) {
            ps.setInt(1, max);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    seqs.add(rs.getLong(1));
                }
            }
        }
        if (seqs.isEmpty()) {
            return 0;
        }
        try (PreparedStatement ps = prepare(c, "UPDATE order_events SET position = ? WHERE seq = ?")) {
            long position = next;
            for (long seq : seqs) {
                ps.setLong(1, position++);
                ps.setLong(2, seq);
                ps.addBatch();
            }
            ps.executeBatch();
        }
        return seqs.size();
    }

    /** The stamped watermark: 0 before the first stamp. */
    long mark(Connection c) throws SQLException {
        try (PreparedStatement ps = prepare(c, "SELECT position FROM event_marks WHERE name = ?")) {
            ps.setString(1, STAMPED);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getLong(1) : 0;
            }
        }
    }

    long maxPosition(Connection c) throws SQLException {
        try (PreparedStatement ps = prepare(c, "SELECT MAX(position) FROM order_events");
             ResultSet rs = ps.executeQuery()) {
            return rs.next() ? rs.getLong(1) : 0;
        }
    }

    void setMark(Connection c, long position) throws SQLException {
        update(c, dialect.upsertMark, STAMPED, position);
    }

    /** The highest position given in this database, read on its own (0: none). */
    long maxPosition() {
        return read("read the highest event position", this::maxPosition);
    }

    /** The stamped watermark, read on its own. */
    long mark() {
        return read("read the event watermark", this::mark);
    }

    @Override
    public List<OrderEvent> events(long after, int limit) {
        // positions given at commit: every one a reader sees has committed, in commit order
        return read("read events", c -> events(c, after, dialect.positionsAtCommit ? Long.MAX_VALUE : mark(c), limit));
    }

    /** Stamped events in {@code (after, upTo]}, by position, at most {@code limit}. */
    List<OrderEvent> events(long after, long upTo, int limit) {
        return read("read events", c -> events(c, after, upTo, limit));
    }

    private List<OrderEvent> events(Connection c, long after, long upTo, int limit) throws SQLException {
        List<OrderEvent> events = new ArrayList<>();
        if (upTo <= after) {
            return events;
        }
        try (PreparedStatement ps = prepare(c, "SELECT position, event_id, type, at, change_request_id, " + ORDER_COLUMNS
                + " FROM order_events WHERE position > ? AND position <= ? ORDER BY position LIMIT ?")) {
            ps.setLong(1, after);
            ps.setLong(2, upTo);
            ps.setInt(3, limit);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    events.add(new OrderEvent(rs.getLong(1), rs.getString(2), OrderEvent.Type.valueOf(rs.getString(3)),
                            Instant.ofEpochMilli(rs.getLong(4)), rs.getString(5), toOrder(rs, 5)));
                }
            }
        }
        return events;
    }

    @Override
    public java.util.Map<PaymentState, Long> paymentCounts() {
        return read("count payments", c -> {
            java.util.Map<PaymentState, Long> counts = new java.util.EnumMap<>(PaymentState.class);
            try (PreparedStatement ps = prepare(c, "SELECT payment_state, COUNT(*) FROM orders"
                    + " WHERE payment_state IS NOT NULL GROUP BY payment_state");
                 ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    counts.put(PaymentState.valueOf(rs.getString(1)), rs.getLong(2));
                }
            }
            return counts;
        });
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
