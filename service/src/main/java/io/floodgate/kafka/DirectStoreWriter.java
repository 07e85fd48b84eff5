package io.floodgate.kafka;

import io.floodgate.concurrent.Backoff;
import io.floodgate.concurrent.DrainLoop;
import io.floodgate.core.domain.Order;
import io.floodgate.core.port.OrderLog.LateFate;
import io.floodgate.core.port.OrderStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;

/**
 * Writes orders whose Kafka send failed after the record was appended: the record may be in the
 * log or not, so the order is written to the store directly (idempotently: a copy the consumers
 * write later changes nothing) and then confirmed. Never released: if it did reach the log, the
 * consumers would store it, and a released reservation would then be stock sold twice.
 *
 * <p>One virtual thread (a {@link DrainLoop}) writes them in batches with backoff while the store
 * is down, for at most the retention; the queue is bounded by the log's in-flight limit (each
 * order here held a permit). An order not written within its retention, or before
 * {@link #close}, stays reserved for the reconciler, whose grace period is longer than the
 * retention: it confirms the order if the log's copy reached the store, and releases it otherwise.
 */
final class DirectStoreWriter {

    private static final Logger LOG = LoggerFactory.getLogger(DirectStoreWriter.class);
    private static final Backoff BACKOFF = Backoff.exponential(Duration.ofMillis(50), Duration.ofSeconds(5));

    private record Pending(Order order, LateFate late, long sinceNanos) {
    }

    private final OrderStore store;
    private final DrainLoop<Pending> loop;
    private final LongAdder written = new LongAdder();

    DirectStoreWriter(OrderStore store, int capacity, int maxBatch, Duration retention) {
        this.store = store;
        this.loop = DrainLoop.<Pending>builder(Thread.ofVirtual().name("floodgate-kafka-direct-writer"), capacity, maxBatch)
                .backoff(BACKOFF)
                .giveUpAfter(retention, Pending::sinceNanos, (u, failure) -> LOG.error("gave up writing order {}"
                        + " (Kafka send failed) to the store; it stays reserved, and the reconciler confirms it if it"
                        + " reached the store through the log, or releases it", u.order().orderId()))
                .onStop(left -> LOG.error("{} orders whose Kafka send failed were not written to the store before"
                        + " shutdown; they stay reserved for the reconciler to finish: {}", left.size(),
                        left.stream().map(u -> u.order().orderId()).toList()))
                .start(this::write);
    }

    void write(Order order, LateFate late) {
        if (!loop.offer(new Pending(order, late, System.nanoTime()))) {
            LOG.error("order {} failed in Kafka and the direct writer's queue is full; it stays reserved for the"
                    + " reconciler to finish", order.orderId());
        }
    }

    long written() {
        return written.sum();
    }

    /** Writes a batch and confirms each order in it; throws to have the loop retry it after a backoff. */
    private void write(List<Pending> batch) {
        try {
            store.insertOrders(batch.stream().map(Pending::order).toList());
            for (Pending u : batch) {
                written.increment();
                LOG.info("order {} written to the store directly after its Kafka send failed", u.order().orderId());
                u.late().stored(u.order());
            }
        } catch (RuntimeException e) {
            if (!loop.isClosing()) {
                LOG.warn("cannot write {} orders whose Kafka send failed to the store yet: {}; retrying",
                        batch.size(), e.getMessage());
            }
            throw e;
        }
    }

    /** Writes what is queued for up to {@code timeout}, then stops; what is left stays reserved. */
    void close(Duration timeout) {
        loop.close(timeout, Duration.ofSeconds(1));
    }
}
