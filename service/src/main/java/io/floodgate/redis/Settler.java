package io.floodgate.redis;

import io.floodgate.concurrent.Backoff;
import io.floodgate.concurrent.DrainLoop;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Finishes settlements (confirm, release, cancel, and the release that undoes a reservation whose
 * reply was lost) that failed because Redis did not answer. The port's callers cannot retry them:
 * a confirm comes after the order is durable, a cancel after the store has cancelled, and neither
 * may fail the request for it. So a failed one is queued here and retried, in order, with backoff,
 * until Redis takes it, it becomes moot (Redis lost its data: the rebuild from the store settles
 * it), or {@code retention} passes (then it is logged with everything needed to settle it by
 * hand; the pending set in Redis still names a reservation left unconfirmed).
 *
 * <p>Every settlement is idempotent and names the order it is for, so a retry that lands twice,
 * or after the key has been reserved again by a new attempt, changes nothing it should not. One
 * virtual thread (a {@link DrainLoop} taking one settlement at a time) works the queue in order:
 * when Redis is down every settlement waits anyway, and order keeps a late confirm from
 * overtaking an earlier release of the same key.
 */
final class Settler implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(Settler.class);
    private static final Backoff BACKOFF = Backoff.exponential(Duration.ofMillis(50), Duration.ofSeconds(2));

    /** One settlement: {@code attempt} returns when done (or moot) and throws when Redis failed. */
    record Task(String description, Runnable attempt, long queuedAtNanos) {
    }

    private final DrainLoop<Task> loop;
    /** Queued plus the one being worked on. */
    private final AtomicInteger unsettled = new AtomicInteger();

    Settler(int capacity, Duration retention) {
        this.loop = DrainLoop.<Task>builder(Thread.ofVirtual().name("redis-ledger-settler"), capacity, 1)
                .backoff(BACKOFF)
                .giveUpAfter(retention, Task::queuedAtNanos, (task, failure) -> {
                    LOG.error("gave up on {} after {} s: {}", task.description(),
                            TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - task.queuedAtNanos()), failure.getMessage());
                    finished();
                })
                .onStop(left -> left.forEach(task ->
                        LOG.error("closing with {} unsettled; settle it by hand", task.description())))
                .start(this::attempt);
    }

    void submit(String description, Runnable attempt) {
        Task task = new Task(description, attempt, System.nanoTime());
        if (unsettled.incrementAndGet() == 1) {
            LOG.warn("settling in the background, until Redis takes it: {} (and any settlement that follows)",
                    description);
        }
        boolean closed = loop.isClosing();
        if (closed || !loop.offer(task)) {
            unsettled.decrementAndGet();
            LOG.error("cannot queue {} for retry ({}); settle it by hand", description,
                    closed ? "the ledger is closed" : loop.size() + " settlements already wait for Redis");
        }
    }

    /** Settlements not yet done: queued, or being retried. */
    int backlog() {
        return unsettled.get();
    }

    /** Tries the one settlement in {@code batch}; throws to have the loop retry it after a backoff. */
    private void attempt(List<Task> batch) {
        Task task = batch.getFirst();
        try {
            task.attempt().run();
        } catch (RuntimeException e) {
            LOG.debug("retrying {}: {}", task.description(), e.getMessage());
            throw e;
        }
        finished();
    }

    private void finished() {
        if (unsettled.decrementAndGet() == 0) {
            LOG.info("every settlement that waited for Redis is done");
        }
    }

    /** Stops at once: what is still queued, or being retried, is logged to be settled by hand. */
    @Override
    public void close() {
        loop.close(Duration.ZERO, Duration.ofSeconds(1));
    }
}
