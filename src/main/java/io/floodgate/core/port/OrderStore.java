package io.floodgate.core.port;

import io.floodgate.core.domain.ItemAudit;
import io.floodgate.core.domain.ItemSpec;
import io.floodgate.core.domain.Order;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * Orders and items of record. Every write is idempotent: an order is identified by its id and
 * by {@code (sku, idempotencyKey)}, and writing it twice stores it once.
 *
 * <p>Failures surface as {@link io.floodgate.core.DependencyUnavailableException}; a failed
 * call changed nothing.
 *
 * <h2>Fenced writes</h2>
 * Writes that only a {@link Lock} holder may make (the reconciler's) carry the holder's
 * {@link Lock.Fence}. In the same transaction as the write, the store raises the newest token it
 * has seen for that lock to the fence's token, or refuses the write with
 * {@link io.floodgate.core.StaleFencingTokenException} when it has already seen a newer one. So
 * once a newer holder has written, an older one can change nothing, however late its writes
 * arrive. Equal tokens pass: the holder may write many times.
 */
public interface OrderStore extends AutoCloseable {

    /**
     * Creates the item or replaces its definition.
     *
     * @return true when created, false when replaced
     * @throws io.floodgate.core.RejectedException {@code ITEM_LOCKED} if the item has ever had an
     *         order
     */
    boolean putItem(ItemSpec spec);

    /** Adds {@code delta} (possibly negative) to the item's stock. */
    void addStock(String sku, long delta);

    /** Writes the orders in one transaction; orders already present are left as they are. */
    void insertOrders(List<Order> orders);

    /** Which of these orders are in the store, by id (for settling writes whose commit was in doubt). */
    java.util.Set<String> presentIds(List<String> orderIds);

    Optional<Order> order(String orderId);

    Optional<Order> orderByKey(String sku, String idempotencyKey);

    /** The user's orders, newest first. */
    List<Order> ordersOfUser(String userId, int limit);

    /**
     * Marks the order cancelled unless it already is.
     *
     * @return empty if there is no such order
     */
    Optional<Cancellation> cancel(String orderId, Instant at);

    /** Every item, for rebuilding a ledger. */
    void forEachItem(Consumer<ItemSpec> sink);

    /** Every order, cancelled ones included, for rebuilding a ledger. */
    void forEachOrder(Consumer<Order> sink);

    /**
     * Units held by orders that are not cancelled, by sku (items without such orders are absent):
     * what the reconciler's audit compares with the ledger. Stores answer it with one aggregate
     * query; this default scans every order.
     */
    default java.util.Map<String, Long> unitsSoldBySku() {
        java.util.Map<String, Long> sold = new java.util.HashMap<>();
        forEachOrder(o -> {
            if (o.status() != io.floodgate.core.domain.OrderStatus.CANCELLED) {
                sold.merge(o.sku(), (long) o.quantity(), Long::sum);
            }
        });
        return sold;
    }

    /**
     * {@link #insertOrders(List)}, fenced: the orders a lock holder settles (reservations that a
     * crash left unwritten).
     *
     * @throws io.floodgate.core.StaleFencingTokenException if a newer token of the lock has written;
     *         nothing was written
     */
    void insertOrders(Lock.Fence fence, List<Order> orders);

    /**
     * Records the reconciler's audit of some items, fenced, in one transaction.
     *
     * @throws io.floodgate.core.StaleFencingTokenException if a newer token of the lock has written;
     *         nothing was written
     */
    void recordAudit(Lock.Fence fence, List<ItemAudit> audits);

    /** The latest audit rows, newest first, with the token that wrote each. */
    List<RecordedAudit> recentAudits(int limit);

    /** Whether the store answers within {@code timeout}. */
    boolean ping(Duration timeout);

    @Override
    void close();

    /** The order after a cancel, and whether this call was the one that cancelled it. */
    record Cancellation(Order order, boolean cancelledNow) {
    }

    /** An audit row as stored, with the fence it was written under. */
    record RecordedAudit(Lock.Fence fence, ItemAudit audit) {
    }
}
