package io.floodgate.flow;

import com.netflix.concurrency.limits.Limiter;
import com.netflix.concurrency.limits.limit.Gradient2Limit;
import com.netflix.concurrency.limits.limiter.AbstractLimiter;
import com.netflix.concurrency.limits.limiter.AbstractPartitionedLimiter;

import java.util.Optional;

/**
 * The adaptive concurrency limit in front of the ledger (Netflix concurrency-limits, Gradient2):
 * it learns the latency of the work it admits and lowers the number admitted at once when that
 * latency rises, so the requests it lets in stay fast and the rest are told at once (503).
 *
 * <p>Two partitions give order placement priority: orders are guaranteed 90% of the limit,
 * reads 10%. A partition may borrow what the other leaves unused; when the limit is reached,
 * the partition over its share is the one refused.
 */
public final class ConcurrencyGate {

    /** What a request is, for priority. */
    public enum Work { ORDER, READ }

    private final AbstractLimiter<Work> limiter;

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
        @SuppressWarnings("unchecked")
        AbstractLimiter<Work> built = (AbstractLimiter<Work>) new Builder()
                .limit(limit)
                .named("floodgate")
                .partitionResolver(Work::name)
                .partition(Work.ORDER.name(), 0.9)
                .partition(Work.READ.name(), 0.1)
                .build();
        this.limiter = built;
    }

    private static final class Builder extends AbstractPartitionedLimiter.Builder<Builder, Work> {
        @Override
        protected Builder self() {
            return this;
        }
    }

    /**
     * A slot for one piece of work, or empty when the limit is reached. The caller must end the
     * slot with exactly one of its methods.
     */
    public Optional<Slot> tryAcquire(Work work) {
        return limiter.acquire(work).map(Slot::new);
    }

    public int limit() {
        return limiter.getLimit();
    }

    public int inFlight() {
        return limiter.getInflight();
    }

    /** One admitted piece of work. Its latency teaches the limit, unless ignored or dropped. */
    public static final class Slot {
        private final Limiter.Listener listener;

        Slot(Limiter.Listener listener) {
            this.listener = listener;
        }

        /** The work was done (whatever the verdict): its latency counts. */
        public void done() {
            listener.onSuccess();
        }

        /** The work was not representative (e.g. answered before reaching the ledger). */
        public void ignore() {
            listener.onIgnore();
        }

        /** The work timed out or its dependency failed: a sign of overload. */
        public void dropped() {
            listener.onDropped();
        }
    }
}
