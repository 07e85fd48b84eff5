package io.floodgate.flow;

import io.floodgate.core.RejectedException;
import io.floodgate.core.Rejection;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Admission control for order placement, in the order API.md fixes: the per-user bucket and the
 * global bucket (429 {@code RATE_LIMITED}), then the cap on orders in flight (503
 * {@code OVERLOADED}). Everything here answers at once; nothing queues.
 *
 * <p>Per-user buckets live in a map that a sweeper empties of full buckets every second (a full
 * bucket is the same as none), so memory follows the users active in the last
 * {@code burst / rate} seconds, and is capped besides.
 */
public final class Admission implements AutoCloseable {

    private final Gcra userRate;
    private final Gcra globalRate;
    private final AtomicLong globalTat = new AtomicLong(Long.MIN_VALUE / 2);
    private final ConcurrentHashMap<String, AtomicLong> userBuckets = new ConcurrentHashMap<>();
    private final int maxTrackedUsers;
    private final int maxInFlight;
    private final AtomicInteger inFlight = new AtomicInteger();
    private final Thread sweeper;

    /**
     * @param userRate    requests per second per user
     * @param userBurst   bucket size per user
     * @param globalRate  requests per second on this instance, or 0 for no global cap
     * @param maxInFlight order placements running at once before new ones are shed
     */
    public Admission(double userRate, int userBurst, double globalRate, int maxInFlight, int maxTrackedUsers) {
        this.userRate = new Gcra(userRate, userBurst);
        this.globalRate = globalRate > 0 ? new Gcra(globalRate, Math.max(1, (long) globalRate)) : null;
        if (maxInFlight < 1) {
            throw new IllegalArgumentException("maxInFlight must be >= 1, was " + maxInFlight);
        }
        this.maxInFlight = maxInFlight;
        this.maxTrackedUsers = maxTrackedUsers;
        this.sweeper = Thread.ofVirtual().name("floodgate-bucket-sweeper").start(this::sweepLoop);
    }

    /** A slot in flight; close it when the request is answered. */
    public interface Permit extends AutoCloseable {
        @Override
        void close();
    }

    /**
     * Admits one order placement for {@code userId}, or throws the rejection to answer.
     *
     * @throws RejectedException {@code RATE_LIMITED} with a Retry-After, or {@code OVERLOADED}
     */
    public Permit admit(String userId) {
        long now = System.nanoTime();
        AtomicLong bucket = userBuckets.get(userId);
        if (bucket == null) {
            if (userBuckets.size() >= maxTrackedUsers) {
                throw new RejectedException(Rejection.OVERLOADED,
                        "too many distinct users are active at once on this instance", 1);
            }
            bucket = userBuckets.computeIfAbsent(userId, u -> new AtomicLong(now));
        }
        long wait = userRate.tryAcquire(bucket, now);
        if (wait > 0) {
            throw new RejectedException(Rejection.RATE_LIMITED,
                    "user " + userId + " is over its rate limit", retryAfterSeconds(wait));
        }
        if (globalRate != null) {
            wait = globalRate.tryAcquire(globalTat, now);
            if (wait > 0) {
                throw new RejectedException(Rejection.RATE_LIMITED,
                        "this instance is over its global order rate", retryAfterSeconds(wait));
            }
        }
        if (inFlight.incrementAndGet() > maxInFlight) {
            inFlight.decrementAndGet();
            throw new RejectedException(Rejection.OVERLOADED,
                    maxInFlight + " orders are already in flight on this instance", 1);
        }
        return inFlight::decrementAndGet;
    }

    static long retryAfterSeconds(long waitNanos) {
        return Math.max(1, (waitNanos + TimeUnit.SECONDS.toNanos(1) - 1) / TimeUnit.SECONDS.toNanos(1));
    }

    public int inFlight() {
        return inFlight.get();
    }

    public int maxInFlight() {
        return maxInFlight;
    }

    public int trackedUsers() {
        return userBuckets.size();
    }

    private void sweepLoop() {
        while (!Thread.currentThread().isInterrupted()) {
            try {
                Thread.sleep(1_000);
            } catch (InterruptedException e) {
                return;
            }
            sweep();
        }
    }

    /**
     * Drops full buckets. Benign race: a bucket used between the fullness check and its removal
     * is dropped all the same, and that user's next request starts a fresh (full) bucket, which
     * at worst grants one extra burst to a user who had been idle.
     */
    void sweep() {
        long now = System.nanoTime();
        userBuckets.values().removeIf(tat -> Gcra.isFull(tat, now));
    }

    @Override
    public void close() {
        sweeper.interrupt();
    }
}
