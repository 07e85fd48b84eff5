package io.floodgate.flow;

import io.floodgate.core.Deadline;
import io.floodgate.core.domain.ItemView;
import io.floodgate.core.domain.Order;
import io.floodgate.core.port.StockLedger;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;

import java.util.List;
import java.util.Optional;

/**
 * A {@link StockLedger} (the Redis one) behind a circuit breaker: reservations, views, definitions
 * and stock changes record into it and are refused at once while it is open.
 *
 * <p>{@code confirm}, {@code release} and {@code returnUnits} bypass it: they never fail their
 * caller (the ledger retries them in the background until Redis takes them), and refusing one
 * would leave a reservation unsettled. A definition's {@code commit} and {@code abort} follow the
 * {@code beginDefinition} that the breaker let through.
 *
 * <p>A reservation that the local sold-out marker answers never reaches Redis, yet counts as a
 * fast success: on a sold-out item the breaker opens later, only once the recheck requests fail.
 */
final class GuardedStockLedger implements StockLedger {

    private static final String DEPENDENCY = "redis";

    private final StockLedger delegate;
    private final CircuitBreaker breaker;

    GuardedStockLedger(StockLedger delegate, CircuitBreaker breaker) {
        this.delegate = delegate;
        this.breaker = breaker;
    }

    @Override
    public ReserveOutcome reserve(Order order, Deadline deadline) {
        return BreakerCalls.call(breaker, DEPENDENCY, () -> delegate.reserve(order, deadline));
    }

    @Override
    public void confirm(String sku, String idempotencyKey) {
        delegate.confirm(sku, idempotencyKey);
    }

    @Override
    public void release(String sku, String idempotencyKey) {
        delegate.release(sku, idempotencyKey);
    }

    @Override
    public void returnUnits(Order cancelled) {
        delegate.returnUnits(cancelled);
    }

    @Override
    public Definition beginDefinition(String sku) {
        return BreakerCalls.call(breaker, DEPENDENCY, () -> delegate.beginDefinition(sku));
    }

    @Override
    public ItemView adjustStock(String sku, long delta) {
        return BreakerCalls.call(breaker, DEPENDENCY, () -> delegate.adjustStock(sku, delta));
    }

    @Override
    public java.util.List<Reservation> pendingReservations(java.time.Instant reservedBefore, int max) {
        // the reconciler's scan: behind the breaker like any read
        return BreakerCalls.call(breaker, DEPENDENCY, () -> delegate.pendingReservations(reservedBefore, max));
    }

    @Override
    public Optional<ItemView> view(String sku) {
        return BreakerCalls.call(breaker, DEPENDENCY, () -> delegate.view(sku));
    }

    @Override
    public List<ItemView> views() {
        return BreakerCalls.call(breaker, DEPENDENCY, delegate::views);
    }

    @Override
    public Repaired repair(String sku, List<io.floodgate.core.domain.Order> durable, io.floodgate.core.port.Lock.Fence fence) {
        return BreakerCalls.call(breaker, DEPENDENCY, () -> delegate.repair(sku, durable, fence));
    }

    @Override
    public void close() {
        delegate.close();
    }
}
