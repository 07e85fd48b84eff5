package io.floodgate.kafka;

import io.floodgate.core.domain.Order;
import io.floodgate.core.port.OrderLog.Settlement;
import io.floodgate.core.port.OrderStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * Settles orders whose Kafka send failed after the record was appended: the record may be in the
 * log or not, so the order is written to the store directly (idempotently: a copy the consumers
 * write later changes nothing) and then confirmed. Never released: if it did reach the log, the
 * consumers would store it, and a released reservation would then be stock sold twice.
 *
 * <p>One virtual thread writes them in batches with backoff while the store is down, for at most
 * the retention; the queue is bounded by the log's in-flight limit (each order here held a
 * permit). An order not written within its retention, or before {@link #close}, stays reserved
 * for the reconciler, whose grace period is longer than the retention: it confirms the order if
 * the log's copy reached the store, and releases it otherwise.
 */
final class StoreSettler {

    private static final Logger LOG = LoggerFactory.getLogger(StoreSettler.class);

    private record Unsettled(Order order, Settlement late, long sinceNanos) {
    }

    private final OrderStore store;
    private final long retentionNanos;
    private final int maxBatch;
    private final ArrayBlockingQueue<Unsettled> queue;
    private final Thread thread;
    private final LongAdder settled = new LongAdder();
    private volatile boolean closing;

    StoreSettler(OrderStore store, int capacity, int maxBatch, Duration retention) {
        this.retentionNanos = retention.toNanos();
        this.store = store;
        this.maxBatch = maxBatch;
        this.queue = new ArrayBlockingQueue<>(capacity);
        this.thread = Thread.ofVirtual().name("floodgate-kafka-settler").start(this::run);
    }

    void settle(Order order, Settlement late) {
        if (!queue.offer(new Unsettled(order, late, System.nanoTime()))) {
            LOG.error("order {} failed in Kafka and the settler's queue is full; it stays reserved for the"
                    + " reconciler to finish", order.orderId());
        }
    }

    long settled() {
        return settled.sum();
    }

    private void run() {
        List<Unsettled> batch = new ArrayList<>(maxBatch);
        long backoffMillis = 50;
        while (!closing || !queue.isEmpty()) {
            try {
                if (batch.isEmpty()) {
                    Unsettled first = queue.poll(100, TimeUnit.MILLISECONDS);
                    if (first == null) {
                        continue;
                    }
                    batch.add(first);
                    queue.drainTo(batch, maxBatch - 1);
                }
                store.insertOrders(batch.stream().map(Unsettled::order).toList());
                for (Unsettled u : batch) {
                    settled.increment();
                    LOG.info("order {} written to the store directly after its Kafka send failed", u.order().orderId());
                    u.late().stored(u.order());
                }
                batch.clear();
                backoffMillis = 50;
            } catch (InterruptedException e) {
                break;
            } catch (RuntimeException e) {
                if (closing) {
                    break;
                }
                LOG.warn("cannot write {} orders whose Kafka send failed to the store yet: {}; retrying",
                        batch.size(), e.getMessage());
                long now = System.nanoTime();
                batch.removeIf(u -> {
                    if (now - u.sinceNanos() < retentionNanos) {
                        return false;
                    }
                    LOG.error("gave up writing order {} (Kafka send failed) to the store; it stays reserved, and the"
                            + " reconciler confirms it if it reached the store through the log, or releases it",
                            u.order().orderId());
                    return true;
                });
                try {
                    Thread.sleep(backoffMillis + ThreadLocalRandom.current().nextLong(backoffMillis));
                } catch (InterruptedException ie) {
                    break;
                }
                backoffMillis = Math.min(5_000, backoffMillis * 2);
            }
        }
        batch.addAll(queue);
        if (!batch.isEmpty()) {
            LOG.error("{} orders whose Kafka send failed were not written to the store before shutdown; they stay"
                    + " reserved for the reconciler to finish: {}", batch.size(),
                    batch.stream().map(u -> u.order().orderId()).toList());
        }
    }

    void close(Duration timeout) {
        closing = true;
        try {
            if (!thread.join(timeout)) {
                thread.interrupt();
                thread.join(Duration.ofSeconds(1));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
