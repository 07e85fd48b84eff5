package io.floodgate.bench;

/**
 * The open loop's arrival schedule: request {@code i} is due at {@code start + i / rate}, whether
 * or not a connection is free to send it then. The schedule is time alone, so it is never capped
 * by the connection count: what the connections cannot keep up with is the generator's backlog,
 * counted apart from the server's queueing (see {@link Tally}).
 *
 * @param startNanos   when slot 0 is due ({@link System#nanoTime()})
 * @param nanosPerSlot nanoseconds between two arrivals (1e9 / rate)
 * @param endNanos     no slot at or after this is due (the end of the duration)
 * @param maxRequests  no more slots than this; 0 for no cap
 */
record Schedule(long startNanos, double nanosPerSlot, long endNanos, long maxRequests) {

    Schedule {
        if (!(nanosPerSlot > 0)) {
            throw new IllegalArgumentException("nanosPerSlot must be > 0, was " + nanosPerSlot);
        }
    }

    /** A schedule of {@code rate} arrivals per second from {@code startNanos} to {@code endNanos}. */
    static Schedule of(double ratePerSecond, long startNanos, long endNanos, long maxRequests) {
        return new Schedule(startNanos, 1e9 / ratePerSecond, endNanos, maxRequests);
    }

    /** When slot {@code slot} is due. */
    long dueAt(long slot) {
        return startNanos + (long) (slot * nanosPerSlot);
    }

    /** Whether {@code slot} is part of the run at all (before the end and within the request cap). */
    boolean contains(long slot) {
        return slot >= 0 && (maxRequests <= 0 || slot < maxRequests) && dueAt(slot) - endNanos < 0;
    }

    /** How many slots the whole run has: those due before the end, within the request cap. */
    long slots() {
        long n = atOrBefore(endNanos - 1);
        return maxRequests > 0 ? Math.min(n, maxRequests) : n;
    }

    /** How many slots are due at or before {@code nowNanos}: the arrivals the run has asked for so far. */
    long dueBy(long nowNanos) {
        return Math.min(atOrBefore(nowNanos), slots());
    }

    private long atOrBefore(long nowNanos) {
        if (nowNanos - startNanos < 0) {
            return 0;
        }
        long n = (long) ((nowNanos - startNanos) / nanosPerSlot) + 1;
        // the cast in dueAt rounds down: settle the boundary exactly
        while (n > 0 && dueAt(n - 1) - nowNanos > 0) {
            n--;
        }
        while (dueAt(n) - nowNanos <= 0) {
            n++;
        }
        return n;
    }
}
