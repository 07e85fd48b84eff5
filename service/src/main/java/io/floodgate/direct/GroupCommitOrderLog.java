package io.floodgate.direct;

import io.floodgate.concurrent.Backoff;
import io.floodgate.concurrent.DrainLoop;
import io.floodgate.concurrent.Handoff;
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
import java.util.concurrent.atomic.LongAdder;

/**
 * The direct order log: orders go straight into the order store, many per transaction, before
 * each request is answered (201 CONFIRMED).
 *
 * <h2>Group commit</h2>
 * Request threads put their order on a bounded queue and wait. One writer thread (a
 * {@link DrainLoop}) takes whatever has gathered (up to {@code maxBatch}), writes it in one
 * transaction, and wakes every waiter with the result; one fsync pays for the whole batch. Under load batches grow by themselves;
 * at rest a lone order is written at once. A full queue is answered at once
 * ({@link AppendOutcome.Reason#FULL}), never waited on.
 *
 * <p>The writer is a platform thread on purpose: the embedded store's driver is native code, and
 * a virtual thread inside a native fsync would pin one of the few carrier threads.
 *
 * <h2>Deadlines and doubt</h2>
 * Each entry is a {@link Handoff} between its waiter and the writer:
 * <ul>
 *   <li>still queued at the deadline: the waiter withdraws it, it is never written, and the caller
 *   releases the reservation;</li>
 *   <li>taken by the writer at the deadline: the waiter leaves with {@link AppendOutcome.InDoubt}
 *   and the writer reports the fate to the {@link LateFate} when it knows it.</li>
 * </ul>
 * A write that failed before its commit is known not to have happened: it is retried once, then
 * reported as not durable. A write that failed during its commit (a connection lost at that
 * moment) may have happened: the writer asks the store which of the batch's orders are there,
 * with backoff until the store answers, and reports each accordingly. No order is ever both
 * written and reported as failed.
 *
 * <p>The batch lists are confined to the writer thread; no field is guarded by a lock.
 */
public final class GroupCommitOrderLog implements OrderLog {

    private static final Logger LOG = LoggerFactory.getLogger(GroupCommitOrderLog.class);
    /** Before the one retry of a failed write, and between the read-backs of a doubtful batch. */
    private static final Backoff BACKOFF = Backoff.exponential(Duration.ofMillis(50), Duration.ofSeconds(1));

    private final OrderStore store;
    private final DrainLoop<Pending> writer;
    /** The batch being written, and its orders: writer thread only. */
    private final List<Pending> batch;
    private final List<Order> orders;
    private final LongAdder persisted = new LongAdder();
    private final LongAdder batches = new LongAdder();
    private final LongAdder failedBatches = new LongAdder();
    private final LongAdder inDoubtBatches = new LongAdder();

    public GroupCommitOrderLog(OrderStore store, int capacity, int maxBatch) {
        DrainLoop.Builder<Pending> loop = DrainLoop // checks capacity and maxBatch
                .<Pending>builder(Thread.ofPlatform().name("floodgate-order-writer"), capacity, maxBatch)
                .backoff(BACKOFF)
                .onStop(left -> LOG.error("order writer: stopped with {} orders queued; their requests are answered"
                        + " at their deadline", left.size()));
        this.store = store;
        this.batch = new ArrayList<>(maxBatch);
        this.orders = new ArrayList<>(maxBatch);
        this.writer = loop.start(this::writeTaken);
    }

    @Override
    public AppendOutcome append(Order order, Deadline deadline, LateFate late) {
        if (writer.isClosing()) {
            return new AppendOutcome.NotLogged(AppendOutcome.Reason.UNAVAILABLE, "the order writer is shutting down");
        }
        if (deadline.expired()) {
            // nobody waits for it: never written, as a withdrawn order is
            return new AppendOutcome.NotLogged(AppendOutcome.Reason.DEADLINE, "the deadline passed before the write");
        }
        Pending pending = new Pending(order, Handoff.queued(result -> reportLate(order, late, result)));
        if (!writer.offer(pending)) {
            return new AppendOutcome.NotLogged(AppendOutcome.Reason.FULL, writer.size() + " orders are waiting");
        }
        return switch (pending.handoff().await(deadline.remainingNanos())) {
            case Handoff.Delivered<AppendOutcome>(AppendOutcome outcome) -> outcome;
            case Handoff.Withdrawn<AppendOutcome> never ->
                    new AppendOutcome.NotLogged(AppendOutcome.Reason.DEADLINE, "the deadline passed before the write");
            case Handoff.Abandoned<AppendOutcome> writing -> AppendOutcome.IN_DOUBT;
        };
    }

    /** One order waiting for the writer. */
    private record Pending(Order order, Handoff<AppendOutcome> handoff) {
    }

    /** The waiter answered "in doubt" and left: tells the caller's late fate what became of the order. */
    private static void reportLate(Order order, LateFate late, AppendOutcome result) {
        try {
            if (result instanceof AppendOutcome.Stored) {
                late.stored(order);
            } else {
                late.dropped(order);
            }
        } catch (RuntimeException e) {
            LOG.error("order writer: reporting the late fate of order {} failed", order.orderId(), e);
        }
    }

    /**
     * The writer's sink: takes each drained order its waiter has not withdrawn and writes them.
     * Never throws ({@link #write} answers every failure itself), so the loop never retries a batch
     * whose orders were already taken.
     */
    private void writeTaken(List<Pending> drained) {
        batch.clear();
        orders.clear();
        for (Pending p : drained) {
            if (p.handoff().take()) {
                batch.add(p);
                orders.add(p.order());
            }
        }
        if (!batch.isEmpty()) {
            write(batch, orders);
        }
    }

    /** Writes one batch and answers every entry in it. */
    private void write(List<Pending> batch, List<Order> orders) {
        for (int attempt = 1; ; attempt++) {
            try {
                store.insertOrders(orders);
                persisted.add(orders.size());
                batches.increment();
                batch.forEach(p -> p.handoff().complete(AppendOutcome.STORED));
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
                sleep(BACKOFF.delay(0));
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
        batch.forEach(p -> p.handoff().complete(failed));
    }

    /**
     * Resolves a batch whose commit was in doubt by reading back which orders are there. Keeps
     * asking, with backoff and jitter, until the store answers; while it does not, the writer
     * holds: new orders queue behind it (and are refused once the queue is full).
     */
    private void resolve(List<Pending> batch, List<Order> orders) {
        List<String> ids = orders.stream().map(Order::orderId).toList();
        for (int retry = 0; ; retry++) {
            try {
                Set<String> present = store.presentIds(ids);
                AppendOutcome absent = new AppendOutcome.NotLogged(AppendOutcome.Reason.UNAVAILABLE,
                        "the order store failed while committing");
                int stored = 0;
                for (Pending p : batch) {
                    boolean there = present.contains(p.order().orderId());
                    stored += there ? 1 : 0;
                    p.handoff().complete(there ? AppendOutcome.STORED : absent);
                }
                persisted.add(stored);
                LOG.warn("order writer: resolved a doubtful batch: {} of {} orders were stored", stored, batch.size());
                return;
            } catch (RuntimeException e) {
                if (Thread.currentThread().isInterrupted()) {
                    // Shutting down with the store still away: leave these reservations pending. The
                    // embedded ledger is rebuilt from the store at start, which decides them.
                    LOG.error("order writer: stopped before the store could resolve {} doubtful orders", batch.size());
                    return;
                }
                Duration delay = BACKOFF.delay(retry);
                LOG.warn("order writer: cannot resolve a doubtful batch yet ({}); retrying in {} ms", e.getMessage(),
                        delay.toMillis());
                sleep(delay);
            }
        }
    }

    /** Sleeps; an interrupt (close gave up waiting) ends the sleep and stays set for resolve to see. */
    private static void sleep(Duration delay) {
        try {
            Thread.sleep(delay);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public int depth() {
        return writer.size();
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
        if (!writer.close(timeout, Duration.ofSeconds(5))) {
            LOG.error("order writer: still busy after {} ms; stopped it", timeout.toMillis());
        }
    }
}
