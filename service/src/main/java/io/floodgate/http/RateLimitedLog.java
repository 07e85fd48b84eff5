package io.floodgate.http;

import org.slf4j.Logger;
import org.slf4j.event.Level;
import org.slf4j.spi.LoggingEventBuilder;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * A log that writes at most one line per cause per period, and says on the next line it writes
 * how many it left out. A cause is a name from a closed set chosen by the caller (a kind of
 * malformed request, a route and an exception class), never client text, so the map of causes
 * stays small whatever the traffic. Without it one client could turn each cheap bad request into
 * a line (a 190-byte request used to write a 4.3 KB stack trace: a log amplifier).
 *
 * <p>Lock-free: one CAS decides which thread writes when a period has passed; the others count.
 */
final class RateLimitedLog {

    /** Past this many causes, new ones share one (a guard; callers use closed sets). */
    private static final int MAX_CAUSES = 256;

    private final Logger log;
    private final long periodNanos;
    private final LongSupplier nanoTime;
    private final ConcurrentHashMap<String, Cause> causes = new ConcurrentHashMap<>();

    private static final class Cause {
        final AtomicLong nextAllowed = new AtomicLong(Long.MIN_VALUE);
        final AtomicLong suppressed = new AtomicLong();
    }

    RateLimitedLog(Logger log, long periodNanos, LongSupplier nanoTime) {
        this.log = log;
        this.periodNanos = periodNanos;
        this.nanoTime = nanoTime;
    }

    /**
     * Logs {@code message} (an SLF4J pattern; a last Throwable argument prints its stack) unless
     * this cause was logged less than a period ago. Returns whether it was written.
     */
    boolean log(Level level, String cause, String message, Object... args) {
        if (!log.isEnabledForLevel(level)) {
            return false;
        }
        Cause c = causes.get(cause);
        if (c == null) {
            c = causes.size() >= MAX_CAUSES ? causes.computeIfAbsent("(other)", k -> new Cause())
                    : causes.computeIfAbsent(cause, k -> new Cause());
        }
        long now = nanoTime.getAsLong();
        long next = c.nextAllowed.get();
        if ((next != Long.MIN_VALUE && now - next < 0) || !c.nextAllowed.compareAndSet(next, now + periodNanos)) {
            c.suppressed.incrementAndGet();
            return false;
        }
        long left = c.suppressed.getAndSet(0);
        String suffix = left == 0 ? "" : " (" + left + " more of this kind since the last such line)";
        LoggingEventBuilder line = log.atLevel(level).setMessage(message + suffix);
        for (int i = 0; i < args.length; i++) {
            if (i == args.length - 1 && args[i] instanceof Throwable t) {
                line = line.setCause(t);
            } else {
                line = line.addArgument(args[i]);
            }
        }
        line.log();
        return true;
    }
}
