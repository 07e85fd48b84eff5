package io.floodgate.redis;

import io.floodgate.core.StaleFencingTokenException;
import io.floodgate.core.domain.ItemAudit;
import io.floodgate.core.domain.ItemSpec;
import io.floodgate.core.domain.Order;
import io.floodgate.core.domain.OrderStatus;
import io.floodgate.core.port.Lock;
import io.floodgate.core.port.OrderStore;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.stream.Collectors;

/**
 * An order store in memory, for rebuilding the Redis ledger in tests. {@link #holdScans()} makes
 * the next rebuild wait inside {@code forEachOrder} until {@link #releaseScans()}, so a test can
 * look at the ledger while a rebuild is in progress.
 */
final class FakeOrderStore implements OrderStore {

    private final Map<String, ItemSpec> items = new ConcurrentHashMap<>();
    private final Map<String, Order> orders = new ConcurrentHashMap<>();
    private volatile CountDownLatch scanGate = new CountDownLatch(0);
    private final CountDownLatch scanning = new CountDownLatch(1);

    void holdScans() {
        scanGate = new CountDownLatch(1);
    }

    void releaseScans() {
        scanGate.countDown();
    }

    private volatile CountDownLatch afterScanGate = new CountDownLatch(0);
    private volatile CountDownLatch scanned = new CountDownLatch(1);

    /** Makes the next rebuild wait after it has read every order, until {@link #releaseAfterScans()}. */
    void holdAfterScans() {
        scanned = new CountDownLatch(1);
        afterScanGate = new CountDownLatch(1);
    }

    void releaseAfterScans() {
        afterScanGate.countDown();
    }

    /** Waits until a rebuild (since {@link #holdAfterScans()}) has read every order, and holds. */
    boolean awaitScanned() throws InterruptedException {
        return scanned.await(30, TimeUnit.SECONDS);
    }

    /** Waits until a rebuild has started reading orders. */
    boolean awaitScan() throws InterruptedException {
        return scanning.await(30, TimeUnit.SECONDS);
    }

    @Override
    public boolean putItem(ItemSpec spec) {
        return items.put(spec.sku(), spec) == null;
    }

    @Override
    public void addStock(String sku, long delta) {
        items.computeIfPresent(sku, (k, spec) -> spec.withStock(spec.stock() + delta));
    }

    @Override
    public void insertOrders(List<Order> list) {
        list.forEach(o -> orders.putIfAbsent(o.orderId(), o));
    }

    private final Map<String, Long> fences = new HashMap<>();
    private final List<RecordedAudit> audits = new ArrayList<>();

    /** Fenced writes take this object's monitor: the check and the write are one step, as in a transaction. */
    private synchronized void checkFence(Lock.Fence fence) {
        long newest = fences.merge(fence.lockName(), fence.token(), Math::max);
        if (newest != fence.token()) {
            throw new StaleFencingTokenException(fence.lockName(), fence.token(), newest);
        }
    }

    @Override
    public synchronized void insertOrders(Lock.Fence fence, List<Order> list) {
        checkFence(fence);
        insertOrders(list);
    }

    @Override
    public synchronized void recordAudit(Lock.Fence fence, List<ItemAudit> list) {
        checkFence(fence);
        list.forEach(a -> audits.add(new RecordedAudit(fence, a)));
    }

    @Override
    public synchronized List<RecordedAudit> recentAudits(int limit) {
        return audits.reversed().stream().limit(limit).toList();
    }

    @Override
    public Set<String> presentIds(List<String> orderIds) {
        return orderIds.stream().filter(orders::containsKey).collect(Collectors.toSet());
    }

    @Override
    public Optional<Order> order(String orderId) {
        return Optional.ofNullable(orders.get(orderId));
    }

    @Override
    public Optional<Order> orderByKey(String sku, String idempotencyKey) {
        return orders.values().stream()
                .filter(o -> o.sku().equals(sku) && o.idempotencyKey().equals(idempotencyKey)).findFirst();
    }

    @Override
    public List<Order> ordersOfUser(String userId, int limit) {
        return orders.values().stream().filter(o -> o.userId().equals(userId))
                .sorted(Comparator.comparing(Order::createdAt).reversed()).limit(limit).toList();
    }

    @Override
    public Optional<Cancellation> cancel(String orderId, Instant at) {
        Order before = orders.get(orderId);
        if (before == null) {
            return Optional.empty();
        }
        Order after = orders.computeIfPresent(orderId, (k, o) -> o.withStatus(OrderStatus.CANCELLED));
        return Optional.of(new Cancellation(after, before.status() != OrderStatus.CANCELLED));
    }

    @Override
    public void forEachItem(Consumer<ItemSpec> sink) {
        items.values().forEach(sink);
    }

    @Override
    public void forEachOrder(Consumer<Order> sink) {
        scanning.countDown();
        try {
            scanGate.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
        orders.values().forEach(sink);
        scanned.countDown();
        try {
            afterScanGate.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    @Override
    public boolean ping(Duration timeout) {
        return true;
    }

    @Override
    public void close() {
    }
}
