package io.floodgate.core.port;

import io.floodgate.core.domain.ItemAudit;
import io.floodgate.core.domain.ItemSpec;
import io.floodgate.core.domain.Order;
import io.floodgate.core.domain.OrderEvent;
import io.floodgate.core.domain.PaymentCallback;
import io.floodgate.core.domain.PaymentState;
import io.floodgate.core.domain.Price;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;
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
 *
 * <h2>Payments, expiry and the outbox</h2>
 * An order on an item with a payment window is stored with its due time, and, in the same
 * transaction, an entry in an index by due time. Every change of an order (stored, paid,
 * cancelled, expired, refund due) writes, in its own transaction, one event to the outbox: the
 * order as the change left it. The three changes that race (a payment, a cancel, an expiry) take
 * the order's entry in the index and then the order, in that order, so they exclude each other
 * and never deadlock; each is conditional on the payment state it found, so exactly one final
 * state holds whatever the interleaving.
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

    /**
     * Writes the orders in one transaction; orders already present are left as they are, and so
     * are orders already {@linkplain #releaseUnstored released} (they are not written).
     */
    void insertOrders(List<Order> orders);

    /**
     * Which of these orders are in the store, by id (for resolving writes whose commit was in
     * doubt); failed orders are not.
     */
    Set<String> presentIds(List<String> orderIds);

    /**
     * Records an order that was acknowledged but can never be stored in full, because its item is
     * not in the store, so that it reads back {@link io.floodgate.core.domain.OrderStatus#FAILED}
     * (by id, by key, in its user's list) and its key stays spent. Idempotent; an order that is
     * stored after all is left as it is.
     *
     * @param failed the order, with status {@code FAILED} and its reason
     * @return true when this call recorded it; false when it was already recorded, or stored (two
     *         calls at once may both say true: count with it, do not act on it)
     */
    boolean recordFailedOrder(Order failed);

    /** Which of {@code skus} name items in the store. */
    Set<String> knownItems(java.util.Collection<String> skus);

    /** The order by id: stored, or {@linkplain #recordFailedOrder failed}. */
    Optional<Order> order(String orderId);

    Optional<Order> orderByKey(String sku, String idempotencyKey);

    /** The user's orders, newest first. */
    List<Order> ordersOfUser(String userId, int limit);

    /**
     * Marks the order cancelled ({@link Order#CANCEL_REQUESTED}) unless it already is, or is paid: a
     * paid order is answered as it is, not cancelled. An unpaid order's payment becomes
     * {@link PaymentState#EXPIRED} (none is due any more) and leaves the due index. Writes the
     * cancelled event in the same transaction.
     *
     * @return empty if there is no such order
     */
    Optional<Cancellation> cancel(String orderId, Instant at);

    /**
     * Decides a payment callback, in one transaction: idempotent by payment id (the same callback
     * again answers the order as it is; the same id with another order, status or amount is
     * {@link PaymentOutcome.PaymentIdReused}), then the order's payment moves as API.md says. A
     * success before the due time pays the order ({@code PAID}); one at or after it, on an order
     * not yet expired, expires the order first (its units to be returned) and then records
     * {@code REFUND_DUE}, as on an order already cancelled. A failure changes nothing but is
     * remembered by its id. Refusals ({@code NO_PAYMENT_DUE}, a mismatch, already paid) record
     * nothing.
     */
    PaymentOutcome recordPayment(PaymentCallback callback, Instant at);

    /** How a payment callback ended. */
    sealed interface PaymentOutcome {
        /**
         * Took effect now, or earlier (the same callback again).
         *
         * @param expiredNow true when this call found the order past its due time and expired it:
         *                   its units are owed back to the ledger ({@link #unitsReturned})
         */
        record Applied(Order order, boolean expiredNow) implements PaymentOutcome {
        }

        record UnknownOrder() implements PaymentOutcome {
        }

        /** The order's item has no payment window (or the order can never be stored). */
        record NoPaymentDue(Order order) implements PaymentOutcome {
        }

        /** The amount or currency is not the item's price times the quantity. */
        record Mismatch(Price unitPrice, int quantity) implements PaymentOutcome {
        }

        /** A success for an order already paid (or refund due) by another payment. */
        record AlreadyPaid(String paymentId) implements PaymentOutcome {
        }

        /** This payment id was first reported with another order, status, amount or currency. */
        record PaymentIdReused(String orderId) implements PaymentOutcome {
        }
    }

    /**
     * Expires up to {@code max} orders whose payment was due at or before {@code now}, in one
     * transaction: each leaves {@code DUE} for {@code EXPIRED} (status {@code CANCELLED}, reason
     * {@link Order#PAYMENT_EXPIRED}) exactly once, however many instances ask at once (each order
     * is claimed by one of them; the others pass over it), with its event. Each stays in the due
     * index as "units to return" until {@link #unitsReturned}.
     *
     * @return the orders this call expired
     */
    List<Order> expireDue(Instant now, int max);

    /**
     * Orders expired (here or by a payment that came late) whose units the ledger has not been
     * confirmed to have back: a crash between the expiry's commit and the ledger leaves them here.
     */
    List<Order> unitsToReturn(int max);

    /** The ledger has the units of these expired orders back: they leave the due index. */
    void unitsReturned(List<String> orderIds);

    /**
     * Gives events that committed and have no position yet their positions, in the order the
     * store sees them committed (an order's events in the order of its changes), up to {@code max},
     * and moves the published watermark past them. Fenced: only the relay's lock holder stamps. A
     * store whose write transactions run one at a time may give each event its position as it is
     * written instead; then there is nothing to stamp. With nothing to stamp, a stale holder may
     * not be told it is stale.
     *
     * @return how many were stamped
     * @throws io.floodgate.core.StaleFencingTokenException if a newer holder of the lock has written
     */
    int stampEvents(Lock.Fence fence, int max);

    /**
     * Stamped events with a position after {@code after} and at most the watermark, in position
     * order, at most {@code limit}: a reader that follows the last position it saw never misses one
     * and never sees one twice.
     */
    List<OrderEvent> events(long after, int limit);

    /** Orders with a payment window, by payment state (live ones only for {@code DUE}). */
    java.util.Map<PaymentState, Long> paymentCounts();

    /** Every item, for rebuilding a ledger. */
    void forEachItem(Consumer<ItemSpec> sink);

    /** Every order, cancelled and failed ones included, for rebuilding a ledger. */
    void forEachOrder(Consumer<Order> sink);

    /** Every order of one item, cancelled and failed ones included, for repairing a ledger. */
    void forEachOrderOf(String sku, Consumer<Order> sink);

    /**
     * Units held by orders that are not cancelled, by sku (items without such orders are absent):
     * what the reconciler's audit compares with the ledger. Stores answer it with one aggregate
     * query; this default scans every order.
     */
    default java.util.Map<String, Long> unitsSoldBySku() {
        java.util.Map<String, Long> sold = new java.util.HashMap<>();
        forEachOrder(o -> {
            if (o.status().holdsUnits()) {
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
     * Decides, fenced, the fate of orders a crash may have left reserved but unwritten: each the
     * store does not hold is released for good (an insert of it that arrives later, from an
     * instance that was paused past the grace period and woke, stores nothing), and each it holds
     * stays stored. Exactly one of "stored" and "released" holds for every order, however the
     * reconciler and a late writer interleave.
     *
     * @return the ids released (not stored, never to be); the others are stored
     * @throws io.floodgate.core.StaleFencingTokenException if a newer token of the lock has written;
     *         nothing was decided
     */
    Set<String> releaseUnstored(Lock.Fence fence, List<Order> orders);

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
