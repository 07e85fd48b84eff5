package io.floodgate.redis;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

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
 * virtual thread works the queue in order: when Redis is down every settlement waits anyway, and
 * order keeps a late confirm from overtaking an earlier release of the same key.
 */
final class Settler implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(Settler.class);
    private static final long FIRST_BACKOFF_NANOS = TimeUnit.MILLISECONDS.toNanos(50);
    private static final long MAX_BACKOFF_NANOS = TimeUnit.SECONDS.toNanos(2);

    /** One settlement: {@code attempt} returns when done (or moot) and throws when Redis failed. */
    record Task(String description, Runnable attempt, long queuedAtNanos) {
    }

    private final BlockingQueue<Task> queue;
    /** Queued plus the one being worked on. */
    private final java.util.concurrent.atomic.AtomicInteger unsettled = new java.util.concurrent.atomic.AtomicInteger();
    private final long retentionNanos;
    private final Thread worker;
    private volatile boolean closed;

    Settler(int capacity, Duration retention) {
        this.queue = new ArrayBlockingQueue<>(capacity);
        this.retentionNanos = retention.toNanos();
        this.worker = Thread.ofVirtual().name("redis-ledger-settler").start(this::run);
    }

    void submit(String description, Runnable attempt) {
        Task task = new Task(description, attempt, System.nanoTime());
        if (unsettled.incrementAndGet() == 1) {
            LOG.warn("settling in the background, until Redis takes it: {} (and any settlement that follows)",
                    description);
        }
        if (closed || !queue.offer(task)) {
            unsettled.decrementAndGet();
            LOG.error("cannot queue {} for retry ({}); settle it by hand", description,
                    closed ? "the ledger is closed" : queue.size() + " settlements already wait for Redis");
        }
    }

    /** Settlements not yet done: queued, or being retried. */
    int backlog() {
        return unsettled.get();
    }

    private void run() {
        while (!closed) {
            Task task;
            try {
                task = queue.take();
            } catch (InterruptedException e) {
                return;
            }
            try {
                settle(task);
            } finally {
                if (unsettled.decrementAndGet() == 0) {
                    LOG.info("every settlement that waited for Redis is done");
                }
            }
        }
    }

    /** Tries {@code task} until it is done, given up, or the settler is closed. */
    private void settle(Task task) {
        long backoff = FIRST_BACKOFF_NANOS;
        while (true) {
            try {
                task.attempt.run();
                return;
            } catch (RuntimeException e) {
                if (System.nanoTime() - task.queuedAtNanos > retentionNanos || closed) {
                    LOG.error("gave up on {} after {} s: {}", task.description,
                            TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - task.queuedAtNanos), e.getMessage());
                    return;
                }
                LOG.debug("retrying {}: {}", task.description, e.getMessage());
            }
            try {
                Thread.sleep(Duration.ofNanos(backoff / 2 + ThreadLocalRandom.current().nextLong(backoff / 2 + 1)));
            } catch (InterruptedException e) {
                LOG.error("stopped before {} was settled; settle it by hand", task.description);
                Thread.currentThread().interrupt();
                return;
            }
            backoff = Math.min(MAX_BACKOFF_NANOS, backoff * 2);
        }
    }

    @Override
    public void close() {
        closed = true;
        worker.interrupt();
        Task left;
        while ((left = queue.poll()) != null) {
            LOG.error("closing with {} unsettled; settle it by hand", left.description);
        }
    }
}
