package io.floodgate.core.port;

import io.floodgate.core.Deadline;
import io.floodgate.core.domain.ItemSpec;
import io.floodgate.core.domain.ItemView;
import io.floodgate.core.domain.Order;

import java.util.List;
import java.util.Optional;

/**
 * Where stock is reserved: atomically, idempotently by {@code (sku, idempotencyKey)}, inside the
 * sale window and the per-user limit. A reservation lives until it is {@linkplain #confirm
 * confirmed} (its order is durable) or {@linkplain #release released} (it never will be).
 *
 * <p>Implementations keep, per item: {@code stock = available + reserved + sold} at every moment,
 * and {@code held(user) <= perUserLimit} for every user.
 */
public interface StockLedger extends AutoCloseable {

    /**
     * Reserves {@code order.quantity()} units of {@code order.sku()} for {@code order.orderId()}.
     * While the same key is in flight this waits, within {@code deadline}, for the first attempt's
     * fate: {@link ReserveOutcome.Replayed} once that order is durable, a fresh verdict if it was
     * released. A key that has produced a durable order never reserves again.
     */
    ReserveOutcome reserve(Order order, Deadline deadline);

    /** The reservation's order is durable: it now counts as sold and its key is spent for good. */
    void confirm(String sku, String idempotencyKey);

    /** The reservation's order will never be durable: units, user count and key are freed. */
    void release(String sku, String idempotencyKey);

    /** A durable order was cancelled: its units go back to available, its user holds fewer. */
    void returnUnits(Order cancelled);

    /**
     * Fences {@code sku} against reservations while its definition changes. Reservations wait
     * (within their deadline) until the definition is committed or aborted.
     *
     * @throws io.floodgate.core.RejectedException {@code ITEM_LOCKED} when the item has ever had
     *         an order, or has one in flight
     */
    Definition beginDefinition(String sku);

    /**
     * Adds {@code delta} units to stock and available. A negative delta takes available units
     * only.
     *
     * @throws io.floodgate.core.RejectedException {@code SOLD_OUT} if fewer than {@code -delta}
     *         are available, {@code UNKNOWN_ITEM} if there is no such item
     */
    ItemView adjustStock(String sku, long delta);

    Optional<ItemView> view(String sku);

    /**
     * Reservations still pending (neither confirmed nor released) that were made before
     * {@code reservedBefore}, at most {@code max}: what a crash may have left half done, for the
     * reconciler to finish.
     */
    List<Reservation> pendingReservations(java.time.Instant reservedBefore, int max);

    /** A pending reservation: the order it was made for, keyed as the ledger keys it. */
    record Reservation(String sku, String idempotencyKey, String orderId, String userId, int quantity,
                       java.time.Instant reservedAt) {
    }

    List<ItemView> views();

    /**
     * Makes {@code sku}'s ledger agree with durable truth, in the safe direction only:
     * {@code durable} are orders of the item as the store has them after the log caught up (all
     * of them, or a chunk; call again for the rest). A key the ledger lacks is added (a live order
     * takes its units and counts toward its user; a cancelled or failed one keeps its key only);
     * a pending key whose order is stored is confirmed; a live key whose order the store cancelled
     * or failed is cancelled and its units returned. Keys the store does not know (reservations in
     * flight) are never touched, and a key the two disagree on otherwise (another order on it, or
     * cancelled here but live in the store) is left alone and counted. Idempotent.
     *
     * @param fence the repairer's lock and token: a repair with a token older than one the item has
     *              already seen is refused, so a deposed leader that wakes late changes nothing
     * @throws io.floodgate.core.StaleFencingTokenException when a newer holder has repaired the item
     */
    Repaired repair(String sku, List<Order> durable, Lock.Fence fence);

    /**
     * What a repair changed: keys added, keys moved to the store's state, keys left alone
     * because the two disagree in a way neither may decide.
     */
    record Repaired(long added, long repaired, long conflicts) {
        public static final Repaired NOTHING = new Repaired(0, 0, 0);

        public Repaired plus(Repaired other) {
            return new Repaired(added + other.added, repaired + other.repaired, conflicts + other.conflicts);
        }

        public boolean changedAnything() {
            return added > 0 || repaired > 0;
        }
    }

    @Override
    default void close() {
    }

    /** An item definition in progress; exactly one of {@link #commit} or {@link #abort} follows. */
    interface Definition {
        /** Whether the item did not exist before. */
        boolean creates();

        /** Installs {@code spec} with {@code available = spec.stock()} and lifts the fence. */
        ItemView commit(ItemSpec spec);

        /** Lifts the fence, leaving the item as it was (or absent, if it was new). */
        void abort();
    }

    /** What became of a reservation attempt. */
    sealed interface ReserveOutcome {
        /** Reserved; the caller must now make the order durable, then confirm or release. */
        /**
         * @param paymentWindow the item's payment window as the reservation found it (null: none):
         *                      read in the same step, so that the order's due time follows the
         *                      definition it was sold under (a definition cannot change once an
         *                      item has a reservation)
         */
        record Reserved(java.time.Duration paymentWindow) implements ReserveOutcome {
        }

        /** The key already produced this durable order, for the same user and quantity. */
        record Replayed(String orderId) implements ReserveOutcome {
        }

        /** The key already produced an order for a different user or quantity. */
        record KeyReused(String orderId) implements ReserveOutcome {
        }

        record UnknownItem() implements ReserveOutcome {
        }

        record NotOnSale() implements ReserveOutcome {
        }

        record LimitReached(long held, int limit) implements ReserveOutcome {
        }

        record SoldOut(long available) implements ReserveOutcome {
        }

        /** The deadline passed while waiting for an in-flight duplicate or a definition fence. */
        record TimedOut() implements ReserveOutcome {
        }

        /** Reserved, on an item without a payment window. */
        ReserveOutcome RESERVED = new Reserved(null);

        /** Reserved, with the item's payment window (null: none). */
        static ReserveOutcome reserved(java.time.Duration paymentWindow) {
            return paymentWindow == null ? RESERVED : new Reserved(paymentWindow);
        }
        ReserveOutcome UNKNOWN_ITEM = new UnknownItem();
        ReserveOutcome NOT_ON_SALE = new NotOnSale();
        ReserveOutcome TIMED_OUT = new TimedOut();
    }
}
