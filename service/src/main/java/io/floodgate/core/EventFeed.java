package io.floodgate.core;

import io.floodgate.core.domain.OrderEvent;
import io.floodgate.core.port.OrderStore;

import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * Order events for readers that follow a cursor (the events endpoint, over HTTP): what the store
 * has stamped after the cursor, waiting a while for the next when there is none yet.
 *
 * <p>A waiting reader polls the store (every {@value #POLL_MILLIS} ms): the relay that stamps may
 * run on another instance, and a poll of the stamped watermark's index is cheap. Waiting readers
 * are bounded: past {@code maxWaiting} at once, one more is refused at once rather than queued.
 */
public final class EventFeed {

    private static final long POLL_MILLIS = 50;

    private final OrderStore store;
    private final Semaphore waiting;
    private final int maxWaiting;

    public EventFeed(OrderStore store, int maxWaiting) {
        this.store = Objects.requireNonNull(store, "store");
        if (maxWaiting < 1) {
            throw new IllegalArgumentException("maxWaiting must be >= 1, was " + maxWaiting);
        }
        this.maxWaiting = maxWaiting;
        this.waiting = new Semaphore(maxWaiting);
    }

    /**
     * Events after {@code after}, in position order, at most {@code limit}; when there are none,
     * waits up to {@code wait} for one.
     *
     * @throws RejectedException {@code OVERLOADED} when {@code maxWaiting} readers wait already
     */
    public List<OrderEvent> read(long after, int limit, Duration wait) {
        List<OrderEvent> events = store.events(after, limit);
        if (!events.isEmpty() || wait.isZero() || wait.isNegative()) {
            return events;
        }
        if (!waiting.tryAcquire()) {
            throw new RejectedException(Rejection.OVERLOADED, maxWaiting + " readers are waiting for events already;"
                    + " retry shortly, or read without wait", 1);
        }
        try {
            long until = System.nanoTime() + wait.toNanos();
            while (events.isEmpty()) {
                long left = until - System.nanoTime();
                if (left <= 0) {
                    break;
                }
                try {
                    Thread.sleep(Math.min(TimeUnit.NANOSECONDS.toMillis(left) + 1, POLL_MILLIS));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
                events = store.events(after, limit);
            }
            return events;
        } finally {
            waiting.release();
        }
    }

    /** Readers waiting now. */
    public int waiting() {
        return maxWaiting - waiting.availablePermits();
    }
}
