package io.floodgate.core;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * A point on the monotonic clock by which a request must be answered. Every blocking step of an
 * order takes the time it may spend from here, so the whole request, not each call, is bounded.
 */
public record Deadline(long expiresAtNanos) {

    public static Deadline after(Duration budget) {
        return new Deadline(System.nanoTime() + budget.toNanos());
    }

    public static Deadline afterMillis(long millis) {
        return new Deadline(System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis));
    }

    /** Nanoseconds left, never negative. */
    public long remainingNanos() {
        return Math.max(0, expiresAtNanos - System.nanoTime());
    }

    public long remainingMillis() {
        return TimeUnit.NANOSECONDS.toMillis(remainingNanos());
    }

    public boolean expired() {
        return expiresAtNanos - System.nanoTime() <= 0;
    }
}
