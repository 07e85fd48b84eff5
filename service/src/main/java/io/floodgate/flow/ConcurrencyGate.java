package io.floodgate.flow;

import com.netflix.concurrency.limits.Limiter;
import com.netflix.concurrency.limits.Limit;
import com.netflix.concurrency.limits.limit.FixedLimit;
import com.netflix.concurrency.limits.limit.Gradient2Limit;
import com.netflix.concurrency.limits.limiter.SimpleLimiter;

import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The adaptive concurrency limit in front of the ledger (Netflix concurrency-limits, Gradient2):
 * it learns the latency of the order placements it admits and lowers the number admitted at
 * once when that latency rises, so the requests it lets in stay fast and the rest are told at
 * once (503).
 *
 * <p>Orders come first. The limit is learned from orders alone and orders may use all of it.
 * Reads (item and order views, the dashboard) get what orders leave free, and always at least
 * a tenth of the limit, so they are neither starved nor able to crowd orders out: when the limit
 * is reached, a read beyond its tenth is refused, an order is not refused because of reads.
 *
 * <p>No lock on the hot path: {@link SimpleLimiter} admits by CAS on a semaphore, reads by an
 * atomic counter.
 */
public final class ConcurrencyGate {

    /** What a request is, for priority. */
    public enum Work { ORDER, READ }

    private final SimpleLimiter<Void> orders;
    private final AtomicInteger reads = new AtomicInteger();

    public ConcurrencyGate(int initialLimit, int maxLimit) {
        this(Math.min(8, initialLimit), initialLimit, maxLimit);
    }

    /**
     * @param minLimit the floor: the limit never goes below it. Group commit turns concurrency into
     *                 batch size, so a pipeline that is merely busy shows a little more latency
     *                 for a lot more throughput; the floor keeps the limit from mistaking that (or
     *                 the JIT's first seconds) for overload.
     */
    public ConcurrencyGate(int minLimit, int initialLimit, int maxLimit) {
        if (minLimit < 1 || initialLimit < minLimit || maxLimit < initialLimit) {
            throw new IllegalArgumentException("need 1 <= minLimit <= initialLimit <= maxLimit, was "
                    + minLimit + ", " + initialLimit + " and " + maxLimit);
        }
        Gradient2Limit limit = Gradient2Limit.newBuilder()
                .initialLimit(initialLimit)
                .minLimit(minLimit)
                .maxConcurrency(maxLimit)
                .rttTolerance(2.0)
                .queueSize(16)
                .build();
        this.orders = SimpleLimiter.newBuilder().named("floodgate-orders").limit(limit).build();
    }

    /**
     * A gate that never refuses (a fixed limit of {@link Integer#MAX_VALUE}): admission control
     * switched off, so that an overload benchmark can show what the adaptive limit is worth.
     * Reads and orders are still counted in flight.
     */
    public static ConcurrencyGate unlimited() {
        return new ConcurrencyGate(FixedLimit.of(Integer.MAX_VALUE));
    }

    private ConcurrencyGate(Limit limit) {
        this.orders = SimpleLimiter.newBuilder().named("floodgate-orders").limit(limit).build();
    }

    /**
     * A slot for one piece of work, or empty when the limit is reached. The caller must end the
     * slot with exactly one of its methods.
     */
    public Optional<Slot> tryAcquire(Work work) {
        if (work == Work.ORDER) {
            return orders.acquire(null).map(OrderSlot::new);
        }
        int limit = orders.getLimit();
        int inFlight = reads.incrementAndGet();
        if (inFlight <= Math.max(1, limit / 10) || orders.getInflight() + inFlight <= limit) {
            return Optional.of(new ReadSlot());
        }
        reads.decrementAndGet();
        return Optional.empty();
    }

    public int limit() {
        return orders.getLimit();
    }

    /** Orders and reads in flight now. */
    public int inFlight() {
        return orders.getInflight() + reads.get();
    }

    /** One admitted piece of work. An order's latency teaches the limit, unless ignored or dropped. */
    public sealed interface Slot permits OrderSlot, ReadSlot {
        /** The work was done (whatever the verdict): its latency counts. */
        void done();

        /** The work was not representative (e.g. answered before reaching the ledger). */
        void ignore();

        /** The work timed out or its dependency failed: a sign of overload. */
        void dropped();
    }

    record OrderSlot(Limiter.Listener listener) implements Slot {
        @Override
        public void done() {
            listener.onSuccess();
        }

        @Override
        public void ignore() {
            listener.onIgnore();
        }

        @Override
        public void dropped() {
            listener.onDropped();
        }
    }

    final class ReadSlot implements Slot {
        @Override
        public void done() {
            reads.decrementAndGet();
        }

        @Override
        public void ignore() {
            reads.decrementAndGet();
        }

        @Override
        public void dropped() {
            reads.decrementAndGet();
        }
    }
}
