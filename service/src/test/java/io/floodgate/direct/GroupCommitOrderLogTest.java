package io.floodgate.direct;

import io.floodgate.core.Deadline;
import io.floodgate.core.domain.ItemSpec;
import io.floodgate.core.domain.Order;
import io.floodgate.core.domain.OrderIds;
import io.floodgate.core.domain.OrderStatus;
import io.floodgate.core.port.OrderLog.AppendOutcome;
import io.floodgate.testing.TestOrderStore;
import io.floodgate.testing.TestOrderStore.Op;
import io.floodgate.testing.TestOrderStore.Phase;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.assertj.core.api.Assertions.assertThat;

class GroupCommitOrderLogTest {

    /** A real store, recording the batches written and steered to block or fail; closed after each test. */
    private final TestOrderStore store = TestOrderStore.embedded();

    {
        store.putItem(new ItemSpec("S", "Item S", 1_000_000, 1_000_000, null, null));
    }

    @AfterEach
    void closeStore() {
        store.close();
    }

    private int stored() {
        return store.insertedBatches().stream().mapToInt(List::size).sum();
    }

    /** The size of the last batch the writer took to the store. */
    private int lastBatchSize() {
        List<List<Order>> attempts = store.insertAttempts();
        return attempts.isEmpty() ? 0 : attempts.getLast().size();
    }

    /** Waits (bounded) until the queue holds exactly {@code depth} orders. */
    private static void awaitDepth(GroupCommitOrderLog log, int depth) throws InterruptedException {
        long until = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (log.depth() != depth) {
            if (System.nanoTime() > until) {
                throw new AssertionError("queue depth stayed " + log.depth() + ", expected " + depth);
            }
            Thread.sleep(1);
        }
    }

    /** Waits (bounded) until the writer holds one batch in the store and the rest are queued. */
    private void awaitAllQueuedOrTaken(GroupCommitOrderLog log, TestOrderStore.Gate gate, int total)
            throws InterruptedException {
        long until = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (gate.entered() == 0 || log.depth() + lastBatchSize() != total) {
            if (System.nanoTime() > until) {
                throw new AssertionError("queued " + log.depth() + " + taken " + lastBatchSize() + " != " + total);
            }
            Thread.sleep(1);
        }
    }

    /** Waits (bounded) until the writer is inside the store with its first batch. */
    private static void awaitTaken(TestOrderStore.Gate gate) throws InterruptedException {
        if (!gate.awaitEntered(Duration.ofSeconds(30))) {
            throw new AssertionError("the writer never reached the store");
        }
    }

    /** Records the late fates it is told. */
    static final class RecordingLateFate implements io.floodgate.core.port.OrderLog.LateFate {
        final List<String> stored = Collections.synchronizedList(new ArrayList<>());
        final List<String> dropped = Collections.synchronizedList(new ArrayList<>());

        @Override
        public void stored(Order order) {
            stored.add(order.orderId());
        }

        @Override
        public void dropped(Order order) {
            dropped.add(order.orderId());
        }
    }

    private final RecordingLateFate late = new RecordingLateFate();

    @Test
    void anOrderTakenAtItsDeadlineIsInDoubtAndItsFateIsToldLater() throws Exception {
        TestOrderStore.Gate gate = store.hold(Op.INSERT_ORDERS, Phase.BEFORE);
        GroupCommitOrderLog log = new GroupCommitOrderLog(store, 100, 10);
        Order o = order(7);
        Thread opener = Thread.ofVirtual().start(() -> {
            try {
                awaitTaken(gate);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        AppendOutcome outcome = log.append(o, Deadline.after(Duration.ofMillis(100)), late);
        opener.join();
        assertThat(outcome).isEqualTo(AppendOutcome.IN_DOUBT);
        assertThat(late.stored).isEmpty();
        gate.open();
        log.close();
        assertThat(late.stored).containsExactly(o.orderId());
        assertThat(store.real().order(o.orderId())).as("stored after all").isPresent();
        assertThat(late.dropped).isEmpty();
    }

    @Test
    void aCommitOfUnknownOutcomeIsResolvedByReadingBack() {
        store.failNextAfterCommit(Op.INSERT_ORDERS, 1);
        store.failNext(Op.PRESENT_IDS, 2); // the store stays down a little longer
        GroupCommitOrderLog log = new GroupCommitOrderLog(store, 100, 10);
        Order o = order(1);
        assertThat(log.append(o, Deadline.after(Duration.ofSeconds(30)), late)).isEqualTo(AppendOutcome.STORED);
        log.close();
        assertThat(log.inDoubtBatches()).isEqualTo(1);
        assertThat(store.real().order(o.orderId())).isPresent();
    }

    @Test
    void aCommitOfUnknownOutcomeThatDidNotHappenIsReportedNotDurable() {
        store.failNextInDoubt(Op.INSERT_ORDERS, Integer.MAX_VALUE);
        GroupCommitOrderLog log = new GroupCommitOrderLog(store, 100, 10);
        Order o = order(1);
        assertThat(log.append(o, Deadline.after(Duration.ofSeconds(30)), late))
                .isInstanceOf(AppendOutcome.NotLogged.class);
        log.close();
        assertThat(store.real().order(o.orderId())).isEmpty();
    }

    private static Order order(int i) {
        return new Order(OrderIds.next(System.currentTimeMillis()), "S", "u" + i, 1, OrderStatus.CONFIRMED,
                Instant.now(), "r", "k" + i);
    }

    @Test
    void concurrentAppendsAreWrittenInSharedBatchesAndAllStored() throws Exception {
        TestOrderStore.Gate gate = store.hold(Op.INSERT_ORDERS, Phase.BEFORE);
        GroupCommitOrderLog log = new GroupCommitOrderLog(store, 10_000, 100);
        List<Future<AppendOutcome>> outcomes = new ArrayList<>();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < 500; i++) {
                int n = i;
                outcomes.add(pool.submit(() -> log.append(order(n), Deadline.after(Duration.ofSeconds(30)), late)));
            }
            awaitAllQueuedOrTaken(log, gate, 500); // all queued behind the blocked first batch
            gate.open();
            for (Future<AppendOutcome> f : outcomes) {
                assertThat(f.get()).isEqualTo(AppendOutcome.STORED);
            }
        }
        log.close();
        assertThat(stored()).isEqualTo(500);
        assertThat(store.insertedBatches().size()).as("batches for 500 orders").isLessThan(500);
        assertThat(store.insertedBatches()).allSatisfy(b -> assertThat(b.size()).isLessThanOrEqualTo(100));
        assertThat(store.real().unitsSoldBySku()).containsEntry("S", 500L);
    }

    @Test
    void aFullQueueIsAnsweredAtOnce() throws Exception {
        TestOrderStore.Gate gate = store.hold(Op.INSERT_ORDERS, Phase.BEFORE);
        GroupCommitOrderLog log = new GroupCommitOrderLog(store, 2, 1);
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<AppendOutcome>> waiting = new ArrayList<>();
            for (int i = 0; i < 3; i++) { // one taken by the (blocked) writer, two queued
                int n = i;
                waiting.add(pool.submit(() -> log.append(order(n), Deadline.after(Duration.ofSeconds(30)), late)));
                awaitDepth(log, i == 0 ? 0 : i);
                if (i == 0) {
                    awaitTaken(gate);
                }
            }
            AppendOutcome full = log.append(order(99), Deadline.after(Duration.ofSeconds(30)), late);
            assertThat(full).isInstanceOfSatisfying(AppendOutcome.NotLogged.class,
                    n -> assertThat(n.reason()).isEqualTo(AppendOutcome.Reason.FULL));
            gate.open();
            for (Future<AppendOutcome> f : waiting) {
                assertThat(f.get()).isEqualTo(AppendOutcome.STORED);
            }
        }
        log.close();
    }

    @Test
    void anOrderStillQueuedAtItsDeadlineIsWithdrawnAndNeverWritten() throws Exception {
        TestOrderStore.Gate gate = store.hold(Op.INSERT_ORDERS, Phase.BEFORE);
        GroupCommitOrderLog log = new GroupCommitOrderLog(store, 100, 1);
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            Future<AppendOutcome> blocker = pool.submit(() -> log.append(order(0), Deadline.after(Duration.ofSeconds(30)), late));
            awaitTaken(gate);
            Order lateOrder = order(1);
            AppendOutcome outcome = log.append(lateOrder, Deadline.after(Duration.ofMillis(50)), late);
            assertThat(outcome).isInstanceOfSatisfying(AppendOutcome.NotLogged.class,
                    n -> assertThat(n.reason()).isEqualTo(AppendOutcome.Reason.DEADLINE));
            gate.open();
            assertThat(blocker.get()).isEqualTo(AppendOutcome.STORED);
        }
        log.close();
        assertThat(store.insertedBatches()).flatExtracting(b -> b).extracting(Order::idempotencyKey).containsExactly("k0");
        assertThat(store.real().orderByKey("S", "k1")).as("never written").isEmpty();
    }

    @Test
    void aFailedWriteIsRetriedOnceThenReportedAsUnavailable() {
        store.failNext(Op.INSERT_ORDERS, 1);
        GroupCommitOrderLog log = new GroupCommitOrderLog(store, 100, 10);
        assertThat(log.append(order(1), Deadline.after(Duration.ofSeconds(30)), late)).isEqualTo(AppendOutcome.STORED);
        store.failNext(Op.INSERT_ORDERS, 2);
        assertThat(log.append(order(2), Deadline.after(Duration.ofSeconds(30)), late))
                .isInstanceOfSatisfying(AppendOutcome.NotLogged.class,
                        n -> assertThat(n.reason()).isEqualTo(AppendOutcome.Reason.UNAVAILABLE));
        log.close();
        assertThat(log.failedBatches()).isEqualTo(1);
    }

    @Test
    void closeWritesEverythingAlreadyQueued() throws Exception {
        TestOrderStore.Gate gate = store.hold(Op.INSERT_ORDERS, Phase.BEFORE);
        GroupCommitOrderLog log = new GroupCommitOrderLog(store, 1_000, 7);
        List<Future<AppendOutcome>> outcomes = new ArrayList<>();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < 50; i++) {
                int n = i;
                outcomes.add(pool.submit(() -> log.append(order(n), Deadline.after(Duration.ofSeconds(30)), late)));
            }
            awaitAllQueuedOrTaken(log, gate, 50);
            Thread closer = Thread.ofVirtual().start(log::close);
            gate.open();
            closer.join();
            for (Future<AppendOutcome> f : outcomes) {
                assertThat(f.get()).isEqualTo(AppendOutcome.STORED);
            }
        }
        assertThat(stored()).isEqualTo(50);
        assertThat(log.append(order(51), Deadline.after(Duration.ofSeconds(1)), late))
                .isInstanceOf(AppendOutcome.NotLogged.class);
    }
}
