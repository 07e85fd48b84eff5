package io.floodgate.concurrent;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;
import java.util.random.RandomGenerator;

/**
 * How long to wait before retrying something that failed: exponential, bounded, with jitter. One
 * formula for every retry loop in Floodgate, so that "50 ms up to 5 s" means the same thing in
 * each of them.
 *
 * <h2>The formula</h2>
 * For the {@code n}-th retry ({@code n = 0} after the first failure), the ceiling is
 * <pre>
 *   ceiling(n) = min(max, first · 2^n)
 * </pre>
 * and the delay is drawn uniformly from {@code [ceiling(n) / 2, ceiling(n)]} ("equal jitter"):
 * <ul>
 *   <li>it never exceeds {@code max}, so the longest pause a loop can take is the configured one;</li>
 *   <li>it is at least half the ceiling, so a loop always backs off, however the dice fall;</li>
 *   <li>the spread of half the ceiling keeps retries that failed together (every writer losing the
 *   same store at once) from coming back together.</li>
 * </ul>
 * A {@code Backoff} is an immutable value; the retry count lives with the loop that uses it, which
 * resets it after a success.
 *
 * <p>The jitter comes from {@link ThreadLocalRandom} unless {@linkplain #withRandom another
 * generator} is given (tests give a seeded one).
 */
public final class Backoff {

    /** The calling thread's own generator, looked up at each call so one Backoff serves every thread. */
    private static final RandomGenerator THREAD_LOCAL = () -> ThreadLocalRandom.current().nextLong();

    private final long firstNanos;
    private final long maxNanos;
    private final RandomGenerator random;

    private Backoff(long firstNanos, long maxNanos, RandomGenerator random) {
        this.firstNanos = firstNanos;
        this.maxNanos = maxNanos;
        this.random = random;
    }

    /**
     * Delays that start at {@code first} (at most) and double up to {@code max}.
     *
     * @throws IllegalArgumentException unless {@code 0 < first <= max}
     */
    public static Backoff exponential(Duration first, Duration max) {
        long firstNanos = first.toNanos();
        long maxNanos = max.toNanos();
        if (firstNanos <= 0) {
            throw new IllegalArgumentException("the first delay must be positive, was " + first);
        }
        if (maxNanos < firstNanos) {
            throw new IllegalArgumentException("the maximum delay must be at least the first (" + first
                    + "), was " + max);
        }
        return new Backoff(firstNanos, maxNanos, THREAD_LOCAL);
    }

    /** The same delays, with jitter drawn from {@code random}. */
    public Backoff withRandom(RandomGenerator random) {
        return new Backoff(firstNanos, maxNanos, Objects.requireNonNull(random, "random"));
    }

    /** The upper bound of the {@code retry}-th delay (0-based): {@code min(max, first · 2^retry)}. */
    public long ceilingNanos(int retry) {
        if (retry < 0) {
            throw new IllegalArgumentException("retry must be >= 0, was " + retry);
        }
        // doubling firstNanos more than (leading zeros - 1) times would overflow; by then it is past max
        if (retry >= Long.numberOfLeadingZeros(firstNanos) - 1) {
            return maxNanos;
        }
        return Math.min(maxNanos, firstNanos << retry);
    }

    /** The delay before the {@code retry}-th retry (0-based), in {@code [ceiling / 2, ceiling]}. */
    public long delayNanos(int retry) {
        long ceiling = ceilingNanos(retry);
        long half = ceiling / 2;
        return half + random.nextLong(ceiling - half + 1);
    }

    /** {@link #delayNanos} as a duration. */
    public Duration delay(int retry) {
        return Duration.ofNanos(delayNanos(retry));
    }

    /** The first delay's upper bound. */
    public Duration first() {
        return Duration.ofNanos(firstNanos);
    }

    /** The longest delay. */
    public Duration max() {
        return Duration.ofNanos(maxNanos);
    }

    @Override
    public String toString() {
        return "Backoff[exponential " + first().toMillis() + " ms to " + max().toMillis() + " ms, equal jitter]";
    }
}
