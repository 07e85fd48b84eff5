package io.floodgate.direct;

import io.floodgate.core.Deadline;
import io.floodgate.core.DependencyUnavailableException;
import io.floodgate.core.domain.ItemSpec;
import io.floodgate.core.domain.Order;
import io.floodgate.core.domain.OrderIds;
import io.floodgate.core.domain.OrderStatus;
import io.floodgate.core.port.OrderLog.AppendOutcome;
import io.floodgate.core.port.OrderStore;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

import static org.assertj.core.api.Assertions.assertThat;

class GroupCommitOrderLogTest {

    /** A store that records batches and can be made to block or fail. */
    static class RecordingStore implements OrderStore {
        final List<List<Order>> batches = Collections.synchronizedList(new ArrayList<>());
        volatile CountDownLatch gate = new CountDownLatch(0);
        final AtomicInteger failuresLeft = new AtomicInteger();
        final AtomicInteger entered = new AtomicInteger();

        volatile int enteredSize;

        @Override
        public void insertOrders(List<Order> orders) {
            enteredSize = orders.size();
            entered.incrementAndGet();
            try {
                gate.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (failuresLeft.getAndDecrement() > 0) {
                throw new DependencyUnavailableException("store", "injected failure");
            }
            batches.add(List.copyOf(orders));
            orders.forEach(o -> present.add(o.orderId()));
            if (commitInDoubt) {
                commitInDoubt = false;
                throw new DependencyUnavailableException("store", "connection lost during commit", null, true);
            }
        }

        final java.util.Set<String> present = java.util.concurrent.ConcurrentHashMap.newKeySet();
        volatile boolean commitInDoubt;
        final AtomicInteger presentChecksFailing = new AtomicInteger();

        @Override
        public java.util.Set<String> presentIds(List<String> orderIds) {
            if (presentChecksFailing.getAndDecrement() > 0) {
                throw new DependencyUnavailableException("store", "still down");
            }
            java.util.Set<String> found = new java.util.HashSet<>(orderIds);
            found.retainAll(present);
            return found;
        }

        int stored() {
            return batches.stream().mapToInt(List::size).sum();
        }

        @Override public boolean putItem(ItemSpec spec) { return true; }
        @Override public void addStock(String sku, long delta) { }
        @Override public void insertOrders(io.floodgate.core.port.Lock.Fence fence, List<Order> orders) {
            throw new UnsupportedOperationException("the group-commit log makes no fenced writes");
        }
        @Override public void recordAudit(io.floodgate.core.port.Lock.Fence fence,
                                          List<io.floodgate.core.domain.ItemAudit> audits) {
            throw new UnsupportedOperationException("the group-commit log records no audits");
        }
        @Override public List<RecordedAudit> recentAudits(int limit) { return List.of(); }
        @Override public Optional<Order> order(String orderId) { return Optional.empty(); }
        @Override public Optional<Order> orderByKey(String sku, String key) { return Optional.empty(); }
        @Override public List<Order> ordersOfUser(String userId, int limit) { return List.of(); }
        @Override public Optional<Cancellation> cancel(String orderId, Instant at) { return Optional.empty(); }
        @Override public void forEachItem(Consumer<ItemSpec> sink) { }
        @Override public void forEachOrder(Consumer<Order> sink) { }
        @Override public boolean ping(Duration timeout) { return true; }
        @Override public void close() { }
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
    private static void awaitAllQueuedOrTaken(GroupCommitOrderLog log, RecordingStore store, int total)
            throws InterruptedException {
        long until = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (store.entered.get() == 0 || log.depth() + store.enteredSize != total) {
            if (System.nanoTime() > until) {
                throw new AssertionError("queued " + log.depth() + " + taken " + store.enteredSize + " != " + total);
            }
            Thread.sleep(1);
        }
    }

    /** Waits (bounded) until the writer is inside the store with its first batch. */
    private static void awaitTaken(RecordingStore store) throws InterruptedException {
        long until = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (store.entered.get() == 0) {
            if (System.nanoTime() > until) {
                throw new AssertionError("the writer never reached the store");
            }
            Thread.sleep(1);
        }
    }

    /** Records late settlements. */
    static final class RecordingSettlement implements io.floodgate.core.port.OrderLog.Settlement {
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

    private final RecordingSettlement late = new RecordingSettlement();

    @Test
    void anOrderTakenAtItsDeadlineIsInDoubtAndItsFateIsSettledLater() throws Exception {
        RecordingStore store = new RecordingStore();
        store.gate = new CountDownLatch(1);
        GroupCommitOrderLog log = new GroupCommitOrderLog(store, 100, 10);
        Order o = order(7);
        Thread opener = Thread.ofVirtual().start(() -> {
            try {
                awaitTaken(store);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        AppendOutcome outcome = log.append(o, Deadline.after(Duration.ofMillis(100)), late);
        opener.join();
        assertThat(outcome).isEqualTo(AppendOutcome.IN_DOUBT);
        assertThat(late.stored).isEmpty();
        store.gate.countDown();
        log.close();
        assertThat(late.stored).containsExactly(o.orderId());
        assertThat(late.dropped).isEmpty();
    }

    @Test
    void aCommitOfUnknownOutcomeIsSettledByReadingBack() {
        RecordingStore store = new RecordingStore();
        store.commitInDoubt = true;
        store.presentChecksFailing.set(2); // the store stays down a little longer
        GroupCommitOrderLog log = new GroupCommitOrderLog(store, 100, 10);
        assertThat(log.append(order(1), Deadline.after(Duration.ofSeconds(30)), late)).isEqualTo(AppendOutcome.STORED);
        log.close();
        assertThat(log.inDoubtBatches()).isEqualTo(1);
    }

    @Test
    void aCommitOfUnknownOutcomeThatDidNotHappenIsReportedNotDurable() {
        RecordingStore store = new RecordingStore() {
            @Override
            public void insertOrders(List<Order> orders) {
                throw new DependencyUnavailableException("store", "lost during commit", null, true);
            }
        };
        GroupCommitOrderLog log = new GroupCommitOrderLog(store, 100, 10);
        assertThat(log.append(order(1), Deadline.after(Duration.ofSeconds(30)), late))
                .isInstanceOf(AppendOutcome.NotLogged.class);
        log.close();
    }

    private static Order order(int i) {
        return new Order(OrderIds.next(System.currentTimeMillis()), "S", "u" + i, 1, OrderStatus.CONFIRMED,
                Instant.now(), "r", "k" + i);
    }

    @Test
    void concurrentAppendsAreWrittenInSharedBatchesAndAllStored() throws Exception {
        RecordingStore store = new RecordingStore();
        store.gate = new CountDownLatch(1);
        GroupCommitOrderLog log = new GroupCommitOrderLog(store, 10_000, 100);
        List<Future<AppendOutcome>> outcomes = new ArrayList<>();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < 500; i++) {
                int n = i;
                outcomes.add(pool.submit(() -> log.append(order(n), Deadline.after(Duration.ofSeconds(30)), late)));
            }
            awaitAllQueuedOrTaken(log, store, 500); // all queued behind the blocked first batch
            store.gate.countDown();
            for (Future<AppendOutcome> f : outcomes) {
                assertThat(f.get()).isEqualTo(AppendOutcome.STORED);
            }
        }
        log.close();
        assertThat(store.stored()).isEqualTo(500);
        assertThat(store.batches.size()).as("batches for 500 orders").isLessThan(500);
        assertThat(store.batches).allSatisfy(b -> assertThat(b.size()).isLessThanOrEqualTo(100));
    }

    @Test
    void aFullQueueIsAnsweredAtOnce() throws Exception {
        RecordingStore store = new RecordingStore();
        store.gate = new CountDownLatch(1);
        GroupCommitOrderLog log = new GroupCommitOrderLog(store, 2, 1);
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<AppendOutcome>> waiting = new ArrayList<>();
            for (int i = 0; i < 3; i++) { // one taken by the (blocked) writer, two queued
                int n = i;
                waiting.add(pool.submit(() -> log.append(order(n), Deadline.after(Duration.ofSeconds(30)), late)));
                awaitDepth(log, i == 0 ? 0 : i);
                if (i == 0) {
                    awaitTaken(store);
                }
            }
            AppendOutcome full = log.append(order(99), Deadline.after(Duration.ofSeconds(30)), late);
            assertThat(full).isInstanceOfSatisfying(AppendOutcome.NotLogged.class,
                    n -> assertThat(n.reason()).isEqualTo(AppendOutcome.Reason.FULL));
            store.gate.countDown();
            for (Future<AppendOutcome> f : waiting) {
                assertThat(f.get()).isEqualTo(AppendOutcome.STORED);
            }
        }
        log.close();
    }

    @Test
    void anOrderStillQueuedAtItsDeadlineIsWithdrawnAndNeverWritten() throws Exception {
        RecordingStore store = new RecordingStore();
        store.gate = new CountDownLatch(1);
        GroupCommitOrderLog log = new GroupCommitOrderLog(store, 100, 1);
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            Future<AppendOutcome> blocker = pool.submit(() -> log.append(order(0), Deadline.after(Duration.ofSeconds(30)), late));
            awaitTaken(store);
            Order lateOrder = order(1);
            AppendOutcome outcome = log.append(lateOrder, Deadline.after(Duration.ofMillis(50)), late);
            assertThat(outcome).isInstanceOfSatisfying(AppendOutcome.NotLogged.class,
                    n -> assertThat(n.reason()).isEqualTo(AppendOutcome.Reason.DEADLINE));
            store.gate.countDown();
            assertThat(blocker.get()).isEqualTo(AppendOutcome.STORED);
        }
        log.close();
        assertThat(store.batches).flatExtracting(b -> b).extracting(Order::idempotencyKey).containsExactly("k0");
    }

    @Test
    void aFailedWriteIsRetriedOnceThenReportedAsUnavailable() {
        RecordingStore store = new RecordingStore();
        store.failuresLeft.set(1);
        GroupCommitOrderLog log = new GroupCommitOrderLog(store, 100, 10);
        assertThat(log.append(order(1), Deadline.after(Duration.ofSeconds(30)), late)).isEqualTo(AppendOutcome.STORED);
        store.failuresLeft.set(2);
        assertThat(log.append(order(2), Deadline.after(Duration.ofSeconds(30)), late))
                .isInstanceOfSatisfying(AppendOutcome.NotLogged.class,
                        n -> assertThat(n.reason()).isEqualTo(AppendOutcome.Reason.UNAVAILABLE));
        log.close();
        assertThat(log.failedBatches()).isEqualTo(1);
    }

    @Test
    void closeWritesEverythingAlreadyQueued() throws Exception {
        RecordingStore store = new RecordingStore();
        store.gate = new CountDownLatch(1);
        GroupCommitOrderLog log = new GroupCommitOrderLog(store, 1_000, 7);
        List<Future<AppendOutcome>> outcomes = new ArrayList<>();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < 50; i++) {
                int n = i;
                outcomes.add(pool.submit(() -> log.append(order(n), Deadline.after(Duration.ofSeconds(30)), late)));
            }
            awaitAllQueuedOrTaken(log, store, 50);
            Thread closer = Thread.ofVirtual().start(log::close);
            store.gate.countDown();
            closer.join();
            for (Future<AppendOutcome> f : outcomes) {
                assertThat(f.get()).isEqualTo(AppendOutcome.STORED);
            }
        }
        assertThat(store.stored()).isEqualTo(50);
        assertThat(log.append(order(51), Deadline.after(Duration.ofSeconds(1)), late))
                .isInstanceOf(AppendOutcome.NotLogged.class);
    }
}
