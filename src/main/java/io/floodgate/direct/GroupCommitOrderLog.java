package io.floodgate.direct;

import io.floodgate.core.Deadline;
import io.floodgate.core.DependencyUnavailableException;
import io.floodgate.core.domain.Order;
import io.floodgate.core.port.OrderLog;
import io.floodgate.core.port.OrderStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
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
 * at rest a lone order is written at once. A full queue is answered at once
 * ({@link AppendOutcome.Reason#FULL}), never waited on.
 *
 * <p>The writer is a platform thread on purpose: the embedded store's driver is native code, and
 * a virtual thread inside a native fsync would pin one of the few carrier threads.
 *
 * <h2>Deadlines and doubt</h2>
 * Each entry's state is decided by CAS between its waiter and the writer:
 * <ul>
 *   <li>still queued at the deadline: the waiter withdraws it, it is never written, and the caller
 *   releases the reservation;</li>
 *   <li>taken by the writer at the deadline: the waiter leaves with {@link AppendOutcome.InDoubt}
 *   and the writer reports the fate to the {@link Settlement} when it knows it.</li>
 * </ul>
 * A write that failed before its commit is known not to have happened: it is retried once, then
 * reported as not durable. A write that failed during its commit (a connection lost at that
 * moment) may have happened: the writer asks the store which of the batch's orders are there,
 * with backoff until the store answers, and reports each accordingly. No order is ever both
 * written and reported as failed.
 */
public final class GroupCommitOrderLog implements OrderLog {

    private static final Logger LOG = LoggerFactory.getLogger(GroupCommitOrderLog.class);
    private static final long RETRY_BACKOFF_MILLIS = 50;
    private static final long MAX_RESOLVE_BACKOFF_MILLIS = 1_000;

    private final OrderStore store;
    private final int maxBatch;
    private final ArrayBlockingQueue<Pending> queue;
    private final Thread writer;
    private volatile boolean closing;
    private final LongAdder persisted = new LongAdder();
    private final LongAdder batches = new LongAdder();
    private final LongAdder failedBatches = new LongAdder();
    private final LongAdder inDoubtBatches = new LongAdder();

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
    public AppendOutcome append(Order order, Deadline deadline, Settlement late) {
        if (closing) {
            return new AppendOutcome.NotLogged(AppendOutcome.Reason.UNAVAILABLE, "the order writer is shutting down");
        }
        Pending pending = new Pending(order, late);
        if (!queue.offer(pending)) {
            return new AppendOutcome.NotLogged(AppendOutcome.Reason.FULL, queue.size() + " orders are waiting");
        }
        if (pending.await(deadline.remainingNanos())) {
            return pending.outcome;
        }
        if (pending.transition(Pending.QUEUED, Pending.WITHDRAWN)) {
            return new AppendOutcome.NotLogged(AppendOutcome.Reason.DEADLINE, "the deadline passed before the write");
        }
        if (pending.transition(Pending.TAKEN, Pending.ABANDONED)) {
            return AppendOutcome.IN_DOUBT;
        }
        pending.awaitUninterruptibly(); // completed between our timeout and our CAS: the result is there
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
                Thread.currentThread().interrupt();
                return;
            }
            if (first == null) {
                if (closing && queue.isEmpty() || stopped()) {
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
                if (p.transition(Pending.QUEUED, Pending.TAKEN)) {
                    batch.add(p);
                    orders.add(p.order);
                }
            }
            if (!batch.isEmpty()) {
                write(batch, orders);
            }
        }
    }

    /** Writes one batch and settles every entry in it. */
    private void write(List<Pending> batch, List<Order> orders) {
        for (int attempt = 1; ; attempt++) {
            try {
                store.insertOrders(orders);
                persisted.add(orders.size());
                batches.increment();
                batch.forEach(p -> p.complete(AppendOutcome.STORED));
                return;
            } catch (DependencyUnavailableException e) {
                if (e.outcomeUnknown()) {
                    inDoubtBatches.increment();
                    LOG.warn("order writer: the commit of {} orders may or may not have happened ({}); asking the store",
                            orders.size(), e.getMessage());
                    resolve(batch, orders);
                    return;
                }
                if (attempt >= 2) {
                    failBatch(batch, e);
                    return;
                }
                LOG.warn("order writer: storing {} orders failed, retrying once: {}", orders.size(), e.getMessage());
                sleep(RETRY_BACKOFF_MILLIS);
            } catch (RuntimeException e) {
                LOG.error("order writer: unexpected failure storing {} orders", orders.size(), e);
                failBatch(batch, e);
                return;
            }
        }
    }

    private void failBatch(List<Pending> batch, RuntimeException e) {
        failedBatches.increment();
        LOG.error("order writer: {} orders could not be stored: {}", batch.size(), e.getMessage());
        AppendOutcome failed = new AppendOutcome.NotLogged(AppendOutcome.Reason.UNAVAILABLE, "the order store is unavailable");
        batch.forEach(p -> p.complete(failed));
    }

    /**
     * Settles a batch whose commit was in doubt by reading back which orders are there. Keeps
     * asking, with backoff and jitter, until the store answers; while it does not, the writer
     * holds: new orders queue behind it (and are refused once the queue is full).
     */
    private void resolve(List<Pending> batch, List<Order> orders) {
        List<String> ids = orders.stream().map(Order::orderId).toList();
        long backoff = RETRY_BACKOFF_MILLIS;
        while (true) {
            try {
                Set<String> present = store.presentIds(ids);
                AppendOutcome absent = new AppendOutcome.NotLogged(AppendOutcome.Reason.UNAVAILABLE,
                        "the order store failed while committing");
                int stored = 0;
                for (Pending p : batch) {
                    boolean there = present.contains(p.order.orderId());
                    stored += there ? 1 : 0;
                    p.complete(there ? AppendOutcome.STORED : absent);
                }
                persisted.add(stored);
                LOG.warn("order writer: settled a doubtful batch: {} of {} orders were stored", stored, batch.size());
                return;
            } catch (RuntimeException e) {
                if (Thread.currentThread().isInterrupted()) {
                    // Shutting down with the store still away: leave these reservations pending. The
                    // embedded ledger is rebuilt from the store at start, which settles them.
                    LOG.error("order writer: stopped before the store could settle {} doubtful orders", batch.size());
                    return;
                }
                LOG.warn("order writer: cannot settle a doubtful batch yet ({}); retrying in {} ms", e.getMessage(), backoff);
                sleep(backoff + ThreadLocalRandom.current().nextLong(backoff / 2 + 1));
                backoff = Math.min(MAX_RESOLVE_BACKOFF_MILLIS, backoff * 2);
            }
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private boolean stopped() {
        return Thread.currentThread().isInterrupted();
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

    public long inDoubtBatches() {
        return inDoubtBatches.sum();
    }

    /** Stops taking orders, writes every order already queued, then returns. */
    @Override
    public void close() {
        close(Duration.ofDays(1));
    }

    /**
     * Stops taking orders and writes every order already queued, waiting at most {@code timeout}
     * for the writer (it may be waiting for a store that does not answer); then stops it.
     */
    public void close(Duration timeout) {
        closing = true;
        try {
            if (!writer.join(timeout)) {
                LOG.error("order writer: still busy after {} ms; stopping it with {} orders queued",
                        timeout.toMillis(), queue.size());
                writer.interrupt();
                writer.join(Duration.ofSeconds(5));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** One order waiting for the writer. */
    private static final class Pending {
        static final int QUEUED = 0;
        static final int TAKEN = 1;
        static final int WITHDRAWN = 2;
        static final int ABANDONED = 3;
        static final int DONE = 4;

        final Order order;
        private final Settlement late;
        private final AtomicInteger state = new AtomicInteger(QUEUED);
        private final CountDownLatch done = new CountDownLatch(1);
        volatile AppendOutcome outcome;

        Pending(Order order, Settlement late) {
            this.order = order;
            this.late = late;
        }

        boolean transition(int from, int to) {
            return state.compareAndSet(from, to);
        }

        /** Hands the result to the waiter, or to the settlement if the waiter has left. */
        void complete(AppendOutcome result) {
            outcome = result;
            if (transition(TAKEN, DONE)) {
                done.countDown();
                return;
            }
            // ABANDONED: the waiter answered "in doubt" and left; settle for it.
            try {
                if (result instanceof AppendOutcome.Stored) {
                    late.stored(order);
                } else {
                    late.dropped(order);
                }
            } catch (RuntimeException e) {
                LOG.error("order writer: settling order {} failed", order.orderId(), e);
            }
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
