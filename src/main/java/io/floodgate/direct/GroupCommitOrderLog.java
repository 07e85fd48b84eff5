package io.floodgate.direct;

import io.floodgate.core.Deadline;
import io.floodgate.core.domain.Order;
import io.floodgate.core.port.OrderLog;
import io.floodgate.core.port.OrderStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * The direct order log: orders go straight into the order store, many per transaction, before
 * each request is answered (201 CONFIRMED).
 *
 * <h2>Group commit</h2>
 * Request threads put their order on a bounded queue and wait. One writer thread takes whatever
 * has gathered (up to {@code maxBatch}), writes it in one transaction, and wakes every waiter
 * with the result; one fsync pays for the whole batch. Under load batches grow by themselves;
 * at rest a lone order is written at once.
 *
 * <p>The writer is a platform thread on purpose: the embedded store's driver is native code, and
 * a virtual thread inside a native fsync would pin one of the few carrier threads.
 *
 * <h2>Deadlines</h2>
 * A waiter whose deadline passes withdraws its order if the writer has not taken it yet (a CAS
 * on the entry's state decides the race), and the caller releases the reservation. Once taken,
 * the order's fate is the batch's: the waiter stays for the result, which the store's own
 * timeouts bound, so that an order is never both written and reported as failed.
 *
 * <p>A full queue is answered at once ({@link AppendOutcome.Reason#FULL}), never waited on.
 */
public final class GroupCommitOrderLog implements OrderLog {

    private static final Logger LOG = LoggerFactory.getLogger(GroupCommitOrderLog.class);
    private static final long RETRY_BACKOFF_MILLIS = 50;

    private final OrderStore store;
    private final int maxBatch;
    private final ArrayBlockingQueue<Pending> queue;
    private final Thread writer;
    private volatile boolean closing;
    private final LongAdder persisted = new LongAdder();
    private final LongAdder batches = new LongAdder();
    private final LongAdder failedBatches = new LongAdder();

    public GroupCommitOrderLog(OrderStore store, int capacity, int maxBatch) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity must be >= 1, was " + capacity);
        }
        if (maxBatch < 1) {
            throw new IllegalArgumentException("maxBatch must be >= 1, was " + maxBatch);
        }
        this.store = store;
        this.maxBatch = maxBatch;
        this.queue = new ArrayBlockingQueue<>(capacity);
        this.writer = Thread.ofPlatform().name("floodgate-order-writer").unstarted(this::writeLoop);
        this.writer.start();
    }

    @Override
    public AppendOutcome append(Order order, Deadline deadline) {
        if (closing) {
            return new AppendOutcome.NotLogged(AppendOutcome.Reason.UNAVAILABLE, "the order writer is shutting down");
        }
        Pending pending = new Pending(order);
        if (!queue.offer(pending)) {
            return new AppendOutcome.NotLogged(AppendOutcome.Reason.FULL, queue.size() + " orders are waiting");
        }
        if (pending.await(deadline.remainingNanos())) {
            return pending.outcome;
        }
        if (pending.withdraw()) {
            return new AppendOutcome.NotLogged(AppendOutcome.Reason.DEADLINE, "the deadline passed before the write");
        }
        pending.awaitUninterruptibly();
        return pending.outcome;
    }

    private void writeLoop() {
        List<Pending> drained = new ArrayList<>(maxBatch);
        List<Pending> batch = new ArrayList<>(maxBatch);
        List<Order> orders = new ArrayList<>(maxBatch);
        while (true) {
            Pending first;
            try {
                first = queue.poll(100, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                first = null;
            }
            if (first == null) {
                if (closing && queue.isEmpty()) {
                    return;
                }
                continue;
            }
            drained.clear();
            batch.clear();
            orders.clear();
            drained.add(first);
            queue.drainTo(drained, maxBatch - 1);
            for (Pending p : drained) {
                if (p.take()) {
                    batch.add(p);
                    orders.add(p.order);
                }
            }
            if (!batch.isEmpty()) {
                AppendOutcome outcome = write(orders);
                for (Pending p : batch) {
                    p.complete(outcome);
                }
            }
        }
    }

    /** Writes one batch; an idempotent insert is retried once before the batch is failed. */
    private AppendOutcome write(List<Order> orders) {
        for (int attempt = 1; ; attempt++) {
            try {
                store.insertOrders(orders);
                persisted.add(orders.size());
                batches.increment();
                return AppendOutcome.STORED;
            } catch (RuntimeException e) {
                if (attempt >= 2) {
                    failedBatches.increment();
                    LOG.error("order writer: a batch of {} orders could not be stored: {}", orders.size(), e.getMessage());
                    return new AppendOutcome.NotLogged(AppendOutcome.Reason.UNAVAILABLE, "the order store is unavailable");
                }
                LOG.warn("order writer: storing a batch of {} orders failed, retrying: {}", orders.size(), e.getMessage());
                try {
                    Thread.sleep(RETRY_BACKOFF_MILLIS);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }

    @Override
    public int depth() {
        return queue.size();
    }

    public long persisted() {
        return persisted.sum();
    }

    public long batches() {
        return batches.sum();
    }

    public long failedBatches() {
        return failedBatches.sum();
    }

    /** Stops taking orders, writes every order already queued, then returns. */
    @Override
    public void close() {
        closing = true;
        try {
            writer.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** One order waiting for the writer. */
    private static final class Pending {
        private static final int QUEUED = 0;
        private static final int TAKEN = 1;
        private static final int WITHDRAWN = 2;

        final Order order;
        private final AtomicInteger state = new AtomicInteger(QUEUED);
        private final CountDownLatch done = new CountDownLatch(1);
        volatile AppendOutcome outcome;

        Pending(Order order) {
            this.order = order;
        }

        boolean take() {
            return state.compareAndSet(QUEUED, TAKEN);
        }

        boolean withdraw() {
            return state.compareAndSet(QUEUED, WITHDRAWN);
        }

        void complete(AppendOutcome result) {
            outcome = result;
            done.countDown();
        }

        boolean await(long nanos) {
            try {
                return done.await(nanos, TimeUnit.NANOSECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }

        void awaitUninterruptibly() {
            boolean interrupted = false;
            while (true) {
                try {
                    done.await();
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
