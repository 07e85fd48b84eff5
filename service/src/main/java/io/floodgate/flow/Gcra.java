package io.floodgate.flow;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A token bucket as the Generic Cell Rate Algorithm: the whole bucket is one {@code long}, the
 * theoretical arrival time (TAT) of the next request, advanced by CAS. It admits exactly what a
 * token bucket of {@code burst} tokens refilled at {@code rate} per second admits.
 *
 * <p>Hand-written rather than Bucket4j because a bucket here must cost one {@link AtomicLong}:
 * per-user buckets for millions of users have to fit in memory, and a bucket that is full (TAT
 * in the past) carries no information, so it can be dropped and recreated losslessly.
 */
final class Gcra {

    private final long emissionNanos;
    private final long toleranceNanos;

    Gcra(double ratePerSecond, long burst) {
        if (!(ratePerSecond > 0)) {
            throw new IllegalArgumentException("rate must be > 0 per second, was " + ratePerSecond);
        }
        if (burst < 1) {
            throw new IllegalArgumentException("burst must be >= 1, was " + burst);
        }
        this.emissionNanos = Math.max(1, (long) (TimeUnit.SECONDS.toNanos(1) / ratePerSecond));
        this.toleranceNanos = emissionNanos * (burst - 1);
    }

    /**
     * Takes one token from the bucket whose state is {@code tat}.
     *
     * @return 0 if admitted, otherwise the nanoseconds until a token would be there
     */
    long tryAcquire(AtomicLong tat, long nowNanos) {
        while (true) {
            long current = tat.get();
            long base = current - nowNanos > 0 ? current : nowNanos;
            long next = base + emissionNanos;
            long wait = next - nowNanos - toleranceNanos - emissionNanos;
            if (wait > 0) {
                return wait;
            }
            if (tat.compareAndSet(current, next)) {
                return 0;
            }
        }
    }

    /**
     * Gives back one token taken by {@link #tryAcquire} (the request was refused further on). Safe
     * under concurrency: each take and each give-back is one step of the emission interval, in any
     * order; a bucket given back past full is simply full.
     */
    void refund(AtomicLong tat) {
        tat.addAndGet(-emissionNanos);
    }

    /** Whether a bucket in this state is full, i.e. indistinguishable from a new one. */
    static boolean isFull(AtomicLong tat, long nowNanos) {
        return tat.get() - nowNanos <= 0;
    }
}
