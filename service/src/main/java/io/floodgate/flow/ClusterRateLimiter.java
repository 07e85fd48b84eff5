package io.floodgate.flow;

import io.floodgate.core.DependencyUnavailableException;
import io.floodgate.core.port.SharedRateBucket;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;

/**
 * The order rate of the whole cluster, kept in a {@link SharedRateBucket} (Redis) that every
 * instance draws from, with a local limiter at this instance's share when the bucket cannot be
 * reached: never unlimited, never shut.
 *
 * <h2>Leases</h2>
 * A round trip per order would double the Redis traffic of the order path (the reservation is one
 * EVALSHA too; Redis here does about 90k EVALSHA/s, docs/REDIS.md) and add its latency to every
 * order. So an instance takes tokens in small chunks, {@code chunk} per round trip, and spends
 * them locally, lock-free (a CAS on a counter); Redis sees one call per chunk. The chunk is about
 * 10 ms of this instance's share ({@code share / 100}, between 1 and 64): at a cluster rate of
 * 20,000/s over 4 instances that is 50 tokens a lease, 100 leases a second per instance instead of
 * 5,000 calls. The price is precision, and it is bounded: a lease is spent within
 * {@code leaseTtl} (100 ms) or dropped, so tokens leave the bucket at most that long before they
 * are used; in any window of W seconds the cluster admits at most
 * {@code burst + rate * (W + leaseTtl)}, and tokens leased but never spent only make it admit
 * less, never more. {@link #stats()} counts leases against admissions.
 *
 * <p>A lease is all or none: when demand exceeds the rate the bucket holds about one token at a
 * time, and "as many as there are" would mean a round trip per order just when it matters most
 * (measured in {@code ClusterRateLimitTest}, two instances asking at five times the rate: 1.3
 * admissions per round trip that way, 4.3 all or none with chunks of 10; the rest of the round
 * trips are the ones that found the bucket short and learned when to ask again). The cost: at the rate, an instance may answer 429 while fewer
 * than a chunk of tokens wait in the bucket; they are leased a few milliseconds later, the
 * cluster's total is the same.
 *
 * <p>One caller at a time refills (a lock held for the round trip); the others wait for it and then
 * spend the fresh lease, so a thousand threads that find the lease empty cost one round trip,
 * not a thousand. When the bucket is short, Redis says when a chunk is due; until then this
 * instance answers 429 itself, without asking again.
 *
 * <h2>Fallback</h2>
 * When Redis's breaker is open, or a lease fails or takes longer than {@code callTimeout} (a few
 * ms), this instance falls back to a local GCRA bucket at its share of the rate
 * ({@code rate / instances}, burst one second of it) for {@code retryAfterFailure}, then tries
 * Redis again: it recovers by itself.
 */
public final class ClusterRateLimiter {

    private static final Logger LOG = LoggerFactory.getLogger(ClusterRateLimiter.class);
    private static final long LEASE_TTL_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
    private static final long RETRY_AFTER_FAILURE_NANOS = TimeUnit.MILLISECONDS.toNanos(250);
    private static final int MAX_CHUNK = 64;
    private static final long UNDECIDED = -1;
    /** A flapping bucket (a lease over its timeout now and then, on a busy machine) logs this seldom. */
    private static final long LOG_EVERY_NANOS = TimeUnit.SECONDS.toNanos(10);

    private final SharedRateBucket bucket;
    private final BooleanSupplier redisDown;
    private final LongSupplier ticker;
    private final long callTimeoutNanos;
    private final int chunk;
    private final Gcra fallback;
    private final AtomicLong fallbackTat = new AtomicLong(Long.MIN_VALUE / 2);

    /** Tokens left in the current lease; spent by CAS, never below 0. */
    private final AtomicLong leased = new AtomicLong();
    private volatile long leaseExpiresNanos;
    /** Redis said the bucket has no token before this moment. */
    private volatile long emptyUntilNanos;
    /** A lease failed: fall back until this moment. */
    private volatile long fallbackUntilNanos;
    private volatile boolean fallingBack;
    private volatile long lastLoggedNanos;
    private final ReentrantLock refill = new ReentrantLock();

    private final LongAdder allowed = new LongAdder();
    private final LongAdder limited = new LongAdder();
    private final LongAdder fallbackAllowed = new LongAdder();
    private final LongAdder fallbackLimited = new LongAdder();
    private final LongAdder leases = new LongAdder();

    /**
     * @param bucket      the shared bucket, at {@code rate} per second
     * @param rate        the cluster's rate, orders per second
     * @param instances   instances expected to share it: the local fallback admits {@code rate / instances}
     * @param callTimeout the longest a lease may take before this instance falls back
     * @param redisDown   true while Redis's breaker is open: fall back without trying
     * @param ticker      monotonic nanoseconds ({@code System::nanoTime}; tests move their own)
     */
    public ClusterRateLimiter(SharedRateBucket bucket, double rate, int instances, java.time.Duration callTimeout,
                              BooleanSupplier redisDown, LongSupplier ticker) {
        if (!(rate > 0)) {
            throw new IllegalArgumentException("the cluster rate must be > 0 per second, was " + rate);
        }
        if (instances < 1) {
            throw new IllegalArgumentException("instances must be >= 1, was " + instances);
        }
        if (callTimeout == null || callTimeout.isNegative() || callTimeout.isZero()) {
            throw new IllegalArgumentException("callTimeout must be positive, was " + callTimeout);
        }
        double share = rate / instances;
        this.bucket = bucket;
        this.redisDown = redisDown;
        this.ticker = ticker;
        this.callTimeoutNanos = callTimeout.toNanos();
        this.chunk = (int) Math.max(1, Math.min(MAX_CHUNK, Math.round(share / 100)));
        this.fallback = new Gcra(share, Math.max(1, (long) share));
        this.lastLoggedNanos = ticker.getAsLong() - LOG_EVERY_NANOS;
    }

    /**
     * Takes one token for one order.
     *
     * @return 0 if admitted, otherwise the nanoseconds until one would be there
     */
    public long tryAcquire() {
        long now = ticker.getAsLong();
        long decided = decideHere(now);
        if (decided != UNDECIDED) {
            return decided;
        }
        if (now - fallbackUntilNanos < 0 || redisDown.getAsBoolean()) {
            return fallBack(now);
        }
        refill.lock();
        try {
            // Whoever held the lock before may have refilled, found the bucket short, or failed.
            now = ticker.getAsLong();
            decided = decideHere(now);
            if (decided != UNDECIDED) {
                return decided;
            }
            return now - fallbackUntilNanos < 0 ? fallBack(now) : lease(now);
        } finally {
            refill.unlock();
        }
    }

    /**
     * What this instance knows without Redis: 0 for a token of the current lease, the wait while
     * Redis has said the bucket is short, otherwise {@link #UNDECIDED}.
     */
    private long decideHere(long now) {
        if (spendLeased(now)) {
            allowed.increment();
            return 0;
        }
        long wait = emptyUntilNanos - now;
        if (wait > 0) {
            limited.increment();
            return wait;
        }
        return UNDECIDED;
    }

    /** Under the refill lock. */
    private long lease(long now) {
        SharedRateBucket.Grant grant;
        try {
            grant = bucket.take(chunk, callTimeoutNanos);
            leases.increment();
        } catch (DependencyUnavailableException e) {
            fallbackUntilNanos = ticker.getAsLong() + RETRY_AFTER_FAILURE_NANOS;
            if (!fallingBack) {
                fallingBack = true;
                if (now - lastLoggedNanos >= LOG_EVERY_NANOS) {
                    lastLoggedNanos = now;
                    LOG.warn("cluster rate limit: cannot lease from the shared bucket ({}); limiting locally at this"
                            + " instance's share until it answers (logged at most every 10 s; see the metric"
                            + " floodgate.cluster.rate.decisions)", e.getMessage());
                }
            }
            return fallBack(now);
        }
        fallingBack = false;
        if (grant.granted() == 0) {
            emptyUntilNanos = now + grant.waitNanos();
            limited.increment();
            return grant.waitNanos();
        }
        // Benign race: a spender that read the old expiry may take one of these tokens a moment
        // early; it is a token all the same.
        leaseExpiresNanos = now + LEASE_TTL_NANOS;
        leased.set(grant.granted() - 1);
        allowed.increment();
        return 0;
    }

    private boolean spendLeased(long now) {
        if (now - leaseExpiresNanos >= 0) {
            return false;
        }
        while (true) {
            long left = leased.get();
            if (left <= 0) {
                return false;
            }
            if (leased.compareAndSet(left, left - 1)) {
                return true;
            }
        }
    }

    private long fallBack(long now) {
        long wait = fallback.tryAcquire(fallbackTat, now);
        if (wait > 0) {
            fallbackLimited.increment();
        } else {
            fallbackAllowed.increment();
        }
        return wait;
    }

    /** Tokens taken per round trip to the shared bucket. */
    public int chunk() {
        return chunk;
    }

    public Stats stats() {
        return new Stats(allowed.sum(), limited.sum(), fallbackAllowed.sum(), fallbackLimited.sum(), leases.sum());
    }

    /**
     * Decisions since start.
     *
     * @param allowed         admitted with a token of the shared bucket
     * @param limited         refused: the shared bucket was empty
     * @param fallbackAllowed admitted by the local fallback (the shared bucket unreachable)
     * @param fallbackLimited refused by the local fallback
     * @param leases          round trips to the shared bucket that answered
     */
    public record Stats(long allowed, long limited, long fallbackAllowed, long fallbackLimited, long leases) {
    }
}
