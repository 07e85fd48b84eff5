package io.floodgate.flow;

import io.floodgate.core.domain.ItemAudit;
import io.floodgate.core.domain.ItemSpec;
import io.floodgate.core.domain.Order;
import io.floodgate.core.port.Lock;
import io.floodgate.core.port.OrderStore;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * An {@link OrderStore} behind a circuit breaker. Open: every call fails at once. The start-up
 * scans and the readiness ping bypass the breaker: the first must finish, the second must tell
 * the truth about the server rather than about the breaker.
 */
final class GuardedOrderStore implements OrderStore {

    private final OrderStore delegate;
    private final CircuitBreaker breaker;

    GuardedOrderStore(OrderStore delegate, CircuitBreaker breaker) {
        this.delegate = delegate;
        this.breaker = breaker;
    }

    private <T> T call(Supplier<T> work) {
        return BreakerCalls.call(breaker, "store", work);
    }

    private void run(Runnable work) {
        call(() -> {
            work.run();
            return null;
        });
    }

    @Override
    public boolean putItem(ItemSpec spec) {
        return call(() -> delegate.putItem(spec));
    }

    @Override
    public void addStock(String sku, long delta) {
        run(() -> delegate.addStock(sku, delta));
    }

    @Override
    public void insertOrders(List<Order> orders) {
        run(() -> delegate.insertOrders(orders));
    }

    @Override
    public void insertOrders(Lock.Fence fence, List<Order> orders) {
        run(() -> delegate.insertOrders(fence, orders));
    }

    @Override
    public void recordAudit(Lock.Fence fence, List<ItemAudit> audits) {
        run(() -> delegate.recordAudit(fence, audits));
    }

    @Override
    public List<RecordedAudit> recentAudits(int limit) {
        return call(() -> delegate.recentAudits(limit));
    }

    @Override
    public Set<String> presentIds(List<String> orderIds) {
        return call(() -> delegate.presentIds(orderIds));
    }

    @Override
    public Optional<Order> order(String orderId) {
        return call(() -> delegate.order(orderId));
    }

    @Override
    public Set<String> releaseUnstored(io.floodgate.core.port.Lock.Fence fence, List<Order> orders) {
        return call(() -> delegate.releaseUnstored(fence, orders));
    }

    @Override
    public boolean recordFailedOrder(Order failed) {
        return call(() -> delegate.recordFailedOrder(failed));
    }

    @Override
    public Set<String> knownItems(java.util.Collection<String> skus) {
        return call(() -> delegate.knownItems(skus));
    }

    @Override
    public Optional<Order> orderByKey(String sku, String idempotencyKey) {
        return call(() -> delegate.orderByKey(sku, idempotencyKey));
    }

    @Override
    public List<Order> ordersOfUser(String userId, int limit) {
        return call(() -> delegate.ordersOfUser(userId, limit));
    }

    @Override
    public Optional<Cancellation> cancel(String orderId, Instant at) {
        return call(() -> delegate.cancel(orderId, at));
    }

    @Override
    public void forEachItem(Consumer<ItemSpec> sink) {
        delegate.forEachItem(sink);
    }

    @Override
    public java.util.Map<String, Long> unitsSoldBySku() {
        return call(delegate::unitsSoldBySku);
    }

    @Override
    public void forEachOrder(Consumer<Order> sink) {
        delegate.forEachOrder(sink);
    }

    @Override
    public void forEachOrderOf(String sku, Consumer<Order> sink) {
        call(() -> {
            delegate.forEachOrderOf(sku, sink);
            return null;
        });
    }

    @Override
    public PaymentOutcome recordPayment(io.floodgate.core.domain.PaymentCallback callback, Instant at) {
        return call(() -> delegate.recordPayment(callback, at));
    }

    @Override
    public List<Order> expireDue(Instant now, int max) {
        return call(() -> delegate.expireDue(now, max));
    }

    @Override
    public List<Order> unitsToReturn(int max) {
        return call(() -> delegate.unitsToReturn(max));
    }

    @Override
    public void unitsReturned(List<String> orderIds) {
        run(() -> delegate.unitsReturned(orderIds));
    }

    @Override
    public int stampEvents(Lock.Fence fence, int max) {
        return call(() -> delegate.stampEvents(fence, max));
    }

    @Override
    public List<io.floodgate.core.domain.OrderEvent> events(long after, int limit) {
        return call(() -> delegate.events(after, limit));
    }

    @Override
    public java.util.Map<io.floodgate.core.domain.PaymentState, Long> paymentCounts() {
        return call(delegate::paymentCounts);
    }

    @Override
    public boolean ping(Duration timeout) {
        return delegate.ping(timeout);
    }

    @Override
    public void close() {
        delegate.close();
    }
}
