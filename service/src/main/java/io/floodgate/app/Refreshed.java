package io.floodgate.app;

import java.time.Duration;
import java.util.function.Supplier;

/**
 * A value read from a dependency at most once per period, whoever asks how often (the dashboard
 * polls every second, every Prometheus scrape reads each gauge); while the dependency fails, the
 * last value read (or {@code empty}).
 */
final class Refreshed<T> implements Supplier<T> {

    private final Supplier<T> source;
    private final long periodNanos;
    private final T empty;
    /** @GuardedBy("this") */
    private T value;
    /** @GuardedBy("this") */
    private long readAt;
    /** @GuardedBy("this") */
    private boolean read;

    Refreshed(Supplier<T> source, Duration period, T empty) {
        this.source = source;
        this.periodNanos = period.toNanos();
        this.empty = empty;
    }

    @Override
    public synchronized T get() {
        long now = System.nanoTime();
        if (!read || now - readAt >= periodNanos) {
            read = true;
            readAt = now;
            try {
                value = source.get();
            } catch (RuntimeException e) {
                // the last value stands (a dashboard figure, not a decision)
            }
        }
        return value == null ? empty : value;
    }
}
