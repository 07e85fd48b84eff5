package io.floodgate.core;

import java.util.concurrent.atomic.AtomicLong;

/**
 * The time a dependency itself took during one guarded call, as its adapter measured it: for the
 * circuit breaker around the call, which counts slow calls toward opening.
 *
 * <p>Timed by the caller's wall clock, a call on a saturated machine is slow because its virtual
 * thread waited for a carrier thread, not because the dependency was slow; the breaker would then
 * open on a healthy dependency exactly when load is highest, and refuse every order (measured:
 * docs/BENCHMARKS.md, distributed overload). An adapter that sees its own I/O (a command sent, its
 * reply arriving on the client's I/O thread) reports that time with {@link #record}; the breaker
 * binds an instance around the call and uses it when something was recorded, and the wall clock
 * otherwise.
 */
public final class DependencyTime {

    public static final ScopedValue<DependencyTime> CURRENT = ScopedValue.newInstance();

    private final AtomicLong nanos = new AtomicLong(-1);

    /** Adds {@code took} to the current guarded call's dependency time; a no-op outside one. */
    public static void record(long took) {
        if (CURRENT.isBound()) {
            CURRENT.get().add(took);
        }
    }

    /** The dependency time of the current guarded call, or null outside one (for adapters that record later, on another thread). */
    public static DependencyTime current() {
        return CURRENT.isBound() ? CURRENT.get() : null;
    }

    public void add(long took) {
        nanos.accumulateAndGet(Math.max(0, took), (sum, t) -> sum < 0 ? t : sum + t);
    }

    /** The recorded time in nanoseconds, or {@code fallback} when nothing was recorded. */
    public long nanosOr(long fallback) {
        long n = nanos.get();
        return n < 0 ? fallback : n;
    }
}
