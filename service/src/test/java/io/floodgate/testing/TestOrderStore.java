package io.floodgate.testing;

import io.floodgate.core.DependencyUnavailableException;
import io.floodgate.core.domain.ItemAudit;
import io.floodgate.core.domain.ItemSpec;
import io.floodgate.core.domain.Order;
import io.floodgate.core.domain.OrderEvent;
import io.floodgate.core.domain.PaymentCallback;
import io.floodgate.core.domain.PaymentState;
import io.floodgate.core.port.Lock;
import io.floodgate.core.port.OrderStore;
import io.floodgate.jdbc.JdbcStores;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * The one test double of {@link OrderStore}: a decorator over a real store (by default the
 * embedded SQLite store in a temporary directory, which passes the store contract like every
 * other) that records the calls made to it and can be told to fail or to hold them. What it
 * answers is what a real store answers; only the faults are made up, and each says what it
 * did to the store: nothing ({@link #failNext}), everything but the answer
 * ({@link #failNextAfterCommit}), or nothing while claiming it may have
 * ({@link #failNextInDoubt}).
 *
 * <p>Thread-safe: the code under test calls it from its own threads while the test steers it.
 */
public final class TestOrderStore implements OrderStore {

    /** The store's operations, as faults and holds name them. */
    public enum Op {
        PUT_ITEM(true), ADD_STOCK(true), INSERT_ORDERS(true), INSERT_ORDERS_FENCED(true), PRESENT_IDS(false),
        RECORD_FAILED(true), KNOWN_ITEMS(false), ORDER(false), ORDER_BY_KEY(false), ORDERS_OF_USER(false),
        CANCEL(true), FOR_EACH_ITEM(false), FOR_EACH_ORDER(false), FOR_EACH_ORDER_OF(false), UNITS_SOLD(false),
        RELEASE_UNSTORED(true), RECORD_AUDIT(true), RECENT_AUDITS(false), RECORD_PAYMENT(true), EXPIRE_DUE(true),
        UNITS_TO_RETURN(false), UNITS_RETURNED(true), STAMP_EVENTS(true), EVENTS(false), PAYMENT_COUNTS(false);

        private final boolean write;

        Op(boolean write) {
            this.write = write;
        }

        /** Whether the operation changes the store (a write lock refuses it). */
        public boolean write() {
            return write;
        }
    }

    /** Where a held call waits: before it reaches the store, or after the store answered. */
    public enum Phase { BEFORE, AFTER }

    /**
     * Holds calls of one operation until {@link #open()}: each call that reaches it counts as
     * entered and waits. Opening lets every waiting and later call through.
     */
    public static final class Gate {
        private final CountDownLatch open = new CountDownLatch(1);
        private final AtomicInteger entered = new AtomicInteger();
        private final Object monitor = new Object();

        private void pass() {
            synchronized (monitor) {
                entered.incrementAndGet();
                monitor.notifyAll();
            }
            try {
                if (!open.await(2, TimeUnit.MINUTES)) {
                    throw new IllegalStateException("a held store call was never let through (the test forgot open())");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new DependencyUnavailableException("store", "interrupted while held by the test");
            }
        }

        /** Calls that have reached the gate so far. */
        public int entered() {
            return entered.get();
        }

        /** Waits until at least one call has reached the gate; false after {@code timeout}. */
        public boolean awaitEntered(Duration timeout) throws InterruptedException {
            long until = System.nanoTime() + timeout.toNanos();
            synchronized (monitor) {
                while (entered.get() == 0) {
                    long left = until - System.nanoTime();
                    if (left <= 0) {
                        return false;
                    }
                    TimeUnit.NANOSECONDS.timedWait(monitor, left);
                }
            }
            return true;
        }

        public void open() {
            open.countDown();
        }
    }

    /** An injected failure: how many calls it still strikes, and what it did to the store. */
    private record Fault(AtomicInteger left, Kind kind) {
        enum Kind { BEFORE, AFTER_COMMIT, IN_DOUBT }
    }

    private final OrderStore real;
    private final Runnable onClose;
    private final AtomicBoolean down = new AtomicBoolean();
    private final AtomicBoolean writesDown = new AtomicBoolean();
    private final Map<Op, List<Fault>> faults = Collections.synchronizedMap(new EnumMap<>(Op.class));
    private final Map<Op, Gate> before = Collections.synchronizedMap(new EnumMap<>(Op.class));
    private final Map<Op, Gate> after = Collections.synchronizedMap(new EnumMap<>(Op.class));
    private final Map<Op, AtomicInteger> calls = Collections.synchronizedMap(new EnumMap<>(Op.class));
    private final List<List<Order>> insertAttempts = Collections.synchronizedList(new ArrayList<>());
    private final List<List<Order>> insertedBatches = Collections.synchronizedList(new ArrayList<>());

    private TestOrderStore(OrderStore real, Runnable onClose) {
        this.real = real;
        this.onClose = onClose;
        for (Op op : Op.values()) {
            calls.put(op, new AtomicInteger());
        }
    }

    /** Over a fresh embedded store in a temporary directory; {@link #close()} deletes it. */
    public static TestOrderStore embedded() {
        return embedded(Clock.systemUTC());
    }

    public static TestOrderStore embedded(Clock clock) {
        Path dir;
        try {
            dir = Files.createTempDirectory("floodgate-test-store");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        OrderStore store = JdbcStores.embedded(dir, clock);
        return new TestOrderStore(store, () -> {
            store.close();
            TestFloodgate.deleteRecursively(dir);
        });
    }

    /** Over a store the caller owns (and closes): {@link #close()} leaves it open. */
    public static TestOrderStore over(OrderStore real) {
        return new TestOrderStore(real, () -> { });
    }

    /** The store underneath, without faults or records. */
    public OrderStore real() {
        return real;
    }

    // ---- steering

    /** While down, every call fails at once and pings say false (a server that is gone). */
    public void down(boolean isDown) {
        down.set(isDown);
    }

    /** While set, every write fails and reads go on (a write lock, a failover, a long migration). */
    public void writesDown(boolean areDown) {
        writesDown.set(areDown);
    }

    /** The next {@code times} calls of {@code op} fail before reaching the store: nothing changed. */
    public void failNext(Op op, int times) {
        addFault(op, times, Fault.Kind.BEFORE);
    }

    /**
     * The next {@code times} calls of {@code op} reach the store and take effect, then fail as a
     * lost connection during commit does: outcome unknown.
     */
    public void failNextAfterCommit(Op op, int times) {
        addFault(op, times, Fault.Kind.AFTER_COMMIT);
    }

    /** The next {@code times} calls of {@code op} change nothing but say their outcome is unknown. */
    public void failNextInDoubt(Op op, int times) {
        addFault(op, times, Fault.Kind.IN_DOUBT);
    }

    private void addFault(Op op, int times, Fault.Kind kind) {
        faults.computeIfAbsent(op, k -> Collections.synchronizedList(new ArrayList<>()))
                .add(new Fault(new AtomicInteger(times), kind));
    }

    /** Holds the calls of {@code op} at {@code phase} until the gate returned is opened. */
    public Gate hold(Op op, Phase phase) {
        Gate gate = new Gate();
        (phase == Phase.BEFORE ? before : after).put(op, gate);
        return gate;
    }

    // ---- records

    /** Calls of {@code op} so far, failed and held ones included. */
    public int calls(Op op) {
        return calls.get(op).get();
    }

    /** Every batch handed to {@code insertOrders} (unfenced), as it arrived, failed ones included. */
    public List<List<Order>> insertAttempts() {
        synchronized (insertAttempts) {
            return List.copyOf(insertAttempts);
        }
    }

    /** The batches {@code insertOrders} (unfenced) wrote: those whose call reached the store and committed. */
    public List<List<Order>> insertedBatches() {
        synchronized (insertedBatches) {
            return List.copyOf(insertedBatches);
        }
    }

    // ---- the one path every call takes

    private <T> T call(Op op, Supplier<T> work) {
        calls.get(op).incrementAndGet();
        Gate gateBefore = before.get(op);
        if (gateBefore != null) {
            gateBefore.pass();
        }
        if (down.get()) {
            throw new DependencyUnavailableException("store", "down (injected by the test)");
        }
        if (op.write() && writesDown.get()) {
            throw new DependencyUnavailableException("store", "writes refused (injected by the test: a write lock)");
        }
        Fault.Kind fault = takeFault(op);
        if (fault == Fault.Kind.BEFORE) {
            throw new DependencyUnavailableException("store", "failed before " + op + " (injected by the test)");
        }
        if (fault == Fault.Kind.IN_DOUBT) {
            throw new DependencyUnavailableException("store", "connection lost during " + op
                    + " (injected by the test; nothing was written)", null, true);
        }
        T result = work.get();
        if (fault == Fault.Kind.AFTER_COMMIT) {
            throw new DependencyUnavailableException("store", "connection lost during the commit of " + op
                    + " (injected by the test; it was written)", null, true);
        }
        Gate gateAfter = after.get(op);
        if (gateAfter != null) {
            gateAfter.pass();
        }
        return result;
    }

    private Fault.Kind takeFault(Op op) {
        List<Fault> list = faults.get(op);
        if (list == null) {
            return null;
        }
        synchronized (list) {
            for (Fault f : list) {
                if (f.left().getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
                    return f.kind();
                }
            }
        }
        return null;
    }

    private void run(Op op, Runnable work) {
        call(op, () -> {
            work.run();
            return null;
        });
    }

    // ---- OrderStore

    @Override
    public boolean putItem(ItemSpec spec) {
        return call(Op.PUT_ITEM, () -> real.putItem(spec));
    }

    @Override
    public void addStock(String sku, long delta) {
        run(Op.ADD_STOCK, () -> real.addStock(sku, delta));
    }

    @Override
    public void insertOrders(List<Order> orders) {
        List<Order> batch = List.copyOf(orders);
        insertAttempts.add(batch);
        run(Op.INSERT_ORDERS, () -> {
            real.insertOrders(batch);
            insertedBatches.add(batch);
        });
    }

    @Override
    public void insertOrders(Lock.Fence fence, List<Order> orders) {
        run(Op.INSERT_ORDERS_FENCED, () -> real.insertOrders(fence, orders));
    }

    @Override
    public Set<String> presentIds(List<String> orderIds) {
        return call(Op.PRESENT_IDS, () -> real.presentIds(orderIds));
    }

    @Override
    public boolean recordFailedOrder(Order failed) {
        return call(Op.RECORD_FAILED, () -> real.recordFailedOrder(failed));
    }

    @Override
    public Set<String> knownItems(Collection<String> skus) {
        return call(Op.KNOWN_ITEMS, () -> real.knownItems(skus));
    }

    @Override
    public Optional<Order> order(String orderId) {
        return call(Op.ORDER, () -> real.order(orderId));
    }

    @Override
    public Optional<Order> orderByKey(String sku, String idempotencyKey) {
        return call(Op.ORDER_BY_KEY, () -> real.orderByKey(sku, idempotencyKey));
    }

    @Override
    public List<Order> ordersOfUser(String userId, int limit) {
        return call(Op.ORDERS_OF_USER, () -> real.ordersOfUser(userId, limit));
    }

    @Override
    public Optional<Cancellation> cancel(String orderId, Instant at) {
        return call(Op.CANCEL, () -> real.cancel(orderId, at));
    }

    @Override
    public void forEachItem(Consumer<ItemSpec> sink) {
        run(Op.FOR_EACH_ITEM, () -> real.forEachItem(sink));
    }

    @Override
    public void forEachOrder(Consumer<Order> sink) {
        run(Op.FOR_EACH_ORDER, () -> real.forEachOrder(sink));
    }

    @Override
    public void forEachOrderOf(String sku, Consumer<Order> sink) {
        run(Op.FOR_EACH_ORDER_OF, () -> real.forEachOrderOf(sku, sink));
    }

    @Override
    public Map<String, Long> unitsSoldBySku() {
        return call(Op.UNITS_SOLD, real::unitsSoldBySku);
    }

    @Override
    public Set<String> releaseUnstored(Lock.Fence fence, List<Order> orders) {
        return call(Op.RELEASE_UNSTORED, () -> real.releaseUnstored(fence, orders));
    }

    @Override
    public void recordAudit(Lock.Fence fence, List<ItemAudit> audits) {
        run(Op.RECORD_AUDIT, () -> real.recordAudit(fence, audits));
    }

    @Override
    public List<RecordedAudit> recentAudits(int limit) {
        return call(Op.RECENT_AUDITS, () -> real.recentAudits(limit));
    }

    @Override
    public PaymentOutcome recordPayment(PaymentCallback callback, Instant at) {
        return call(Op.RECORD_PAYMENT, () -> real.recordPayment(callback, at));
    }

    @Override
    public List<Order> expireDue(Instant now, int max) {
        return call(Op.EXPIRE_DUE, () -> real.expireDue(now, max));
    }

    @Override
    public List<Order> unitsToReturn(int max) {
        return call(Op.UNITS_TO_RETURN, () -> real.unitsToReturn(max));
    }

    @Override
    public void unitsReturned(List<String> orderIds) {
        run(Op.UNITS_RETURNED, () -> real.unitsReturned(orderIds));
    }

    @Override
    public int stampEvents(Lock.Fence fence, int max) {
        return call(Op.STAMP_EVENTS, () -> real.stampEvents(fence, max));
    }

    @Override
    public List<OrderEvent> events(long after, int limit) {
        return call(Op.EVENTS, () -> real.events(after, limit));
    }

    @Override
    public Map<PaymentState, Long> paymentCounts() {
        return call(Op.PAYMENT_COUNTS, real::paymentCounts);
    }

    @Override
    public boolean ping(Duration timeout) {
        return !down.get() && real.ping(timeout);
    }

    @Override
    public void close() {
        onClose.run();
    }
}
