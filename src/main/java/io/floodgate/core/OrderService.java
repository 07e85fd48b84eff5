package io.floodgate.core;

import io.floodgate.core.domain.Order;
import io.floodgate.core.domain.OrderIds;
import io.floodgate.core.domain.OrderStatus;
import io.floodgate.core.domain.PlaceOrder;
import io.floodgate.core.port.OrderLog;
import io.floodgate.core.port.OrderLog.AppendOutcome;
import io.floodgate.core.port.OrderStore;
import io.floodgate.core.port.StockLedger;
import io.floodgate.core.port.StockLedger.ReserveOutcome;

import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Predicate;

/**
 * The intake use case: reserve in the ledger, make durable in the log, then confirm; or, when the
 * order cannot be made durable, release, so that no rejected request leaves a reservation behind.
 *
 * <p>The one rule every path keeps: a reservation is released only when the log has said the
 * order is not and never will be durable; an order the log has made durable is never released.
 */
public final class OrderService {

    private final StockLedger ledger;
    private final OrderLog log;
    private final OrderStore store;
    private final Clock clock;
    private final OrderLog.Settlement settlement;
    /** How long a read outside any request waits for the log to catch up. */
    private static final java.time.Duration DEFAULT_READ_BUDGET = java.time.Duration.ofSeconds(1);

    public OrderService(StockLedger ledger, OrderLog log, OrderStore store, Clock clock) {
        this.ledger = Objects.requireNonNull(ledger, "ledger");
        this.log = Objects.requireNonNull(log, "log");
        this.store = Objects.requireNonNull(store, "store");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.settlement = new OrderLog.Settlement() {
            @Override
            public void stored(Order order) {
                ledger.confirm(order.sku(), order.idempotencyKey());
            }

            @Override
            public void dropped(Order order) {
                ledger.release(order.sku(), order.idempotencyKey());
            }
        };
    }

    /** How an accepted order request ended: a new order, or a replay of an earlier one. */
    public record Placed(Order order, boolean replayed) {
    }

    /**
     * Places an order, exactly once per {@code (sku, idempotencyKey)}.
     *
     * @throws RejectedException for every answer but success and replay
     */
    public Placed place(PlaceOrder request, String requestId, Deadline deadline) {
        long now = clock.millis();
        Order order = new Order(OrderIds.next(now), request.sku(), request.userId(), request.quantity(),
                OrderStatus.CONFIRMED, Instant.ofEpochMilli(now), requestId, request.idempotencyKey());

        ReserveOutcome reserved = ledger.reserve(order, deadline);
        switch (reserved) {
            case ReserveOutcome.Reserved r -> {
                // go on below
            }
            case ReserveOutcome.Replayed(String orderId) -> {
                return new Placed(replayedOrder(orderId, request), true);
            }
            case ReserveOutcome.KeyReused(String orderId) -> throw new RejectedException(
                    Rejection.IDEMPOTENCY_KEY_REUSED, "Idempotency-Key '" + request.idempotencyKey()
                    + "' already produced order " + orderId + " for item " + request.sku()
                    + " with a different userId or quantity");
            case ReserveOutcome.UnknownItem u -> throw unknownItem(request.sku());
            case ReserveOutcome.NotOnSale n -> throw new RejectedException(
                    Rejection.NOT_ON_SALE, "item " + request.sku() + " is not on sale now");
            case ReserveOutcome.LimitReached(long held, int limit) -> throw new RejectedException(
                    Rejection.PER_USER_LIMIT, "user " + request.userId() + " holds " + held + " of item "
                    + request.sku() + "; " + request.quantity() + " more would exceed the limit of " + limit);
            case ReserveOutcome.SoldOut(long available) -> throw new RejectedException(Rejection.SOLD_OUT,
                    available == 0 ? "item " + request.sku() + " has no stock left"
                            : "item " + request.sku() + " has " + available + " left, fewer than " + request.quantity());
            case ReserveOutcome.TimedOut t -> throw deadlineExceeded();
        }

        AppendOutcome appended;
        try {
            appended = log.append(order, deadline, settlement);
        } catch (RuntimeException e) {
            // The port promises not to throw once an order is durable; so it is not.
            ledger.release(order.sku(), order.idempotencyKey());
            throw e;
        }
        return switch (appended) {
            case AppendOutcome.Stored s -> {
                ledger.confirm(order.sku(), order.idempotencyKey());
                yield new Placed(order, false);
            }
            case AppendOutcome.Logged l -> {
                ledger.confirm(order.sku(), order.idempotencyKey());
                yield new Placed(order.withStatus(OrderStatus.ACCEPTED), false);
            }
            case AppendOutcome.InDoubt d -> throw new RejectedException(Rejection.DEADLINE_EXCEEDED,
                    "the request's time budget ran out while the order was being written; it may still"
                            + " complete: retry with the same Idempotency-Key to learn its fate");
            case AppendOutcome.NotLogged(AppendOutcome.Reason reason, String detail) -> {
                ledger.release(order.sku(), order.idempotencyKey());
                throw switch (reason) {
                    case FULL -> new RejectedException(Rejection.OVERLOADED,
                            "the order writer's queue is full: " + detail, 1);
                    case DEADLINE -> deadlineExceeded();
                    case UNAVAILABLE -> new RejectedException(Rejection.DEPENDENCY_UNAVAILABLE, detail, 1);
                };
            }
        };
    }

    private Order replayedOrder(String orderId, PlaceOrder request) {
        return findOrder(orderId).orElseThrow(() -> new DependencyUnavailableException("store",
                "order " + orderId + " for key " + request.idempotencyKey() + " is durable but not yet readable"));
    }

    /**
     * The order from the store; when the store does not have it, after the log has stored
     * everything it acknowledged before now (an order answered 202 a moment ago is readable at
     * once, from any instance).
     */
    private Optional<Order> findOrder(String orderId) {
        Optional<Order> stored = store.order(orderId);
        if (stored.isPresent()) {
            return stored;
        }
        awaitLogStored();
        return store.order(orderId);
    }

    private void awaitLogStored() {
        Deadline deadline = RequestContext.CURRENT.isBound() ? RequestContext.CURRENT.get().deadline()
                : Deadline.after(DEFAULT_READ_BUDGET);
        if (!log.awaitStored(deadline)) {
            throw new RejectedException(Rejection.DEADLINE_EXCEEDED, "the order log has not yet written every"
                    + " accepted order to the store; retry to read it");
        }
    }

    /** The order, if the caller may see it. */
    public Order order(String orderId, Predicate<String> mayAccessUser) {
        Order order = findOrder(orderId).orElseThrow(() -> unknownOrder(orderId));
        if (!mayAccessUser.test(order.userId())) {
            throw new RejectedException(Rejection.FORBIDDEN, "order " + orderId + " belongs to another user");
        }
        return order;
    }

    /** The user's orders, newest first, including those accepted by the log a moment ago. */
    public List<Order> ordersOfUser(String userId, int limit) {
        awaitLogStored();
        return store.ordersOfUser(userId, limit);
    }

    /**
     * Cancels the order and returns its units, exactly once however often it is called; every
     * call answers the cancelled order.
     */
    public Order cancel(String orderId, Predicate<String> mayAccessUser) {
        Order order = order(orderId, mayAccessUser);
        if (order.status() == OrderStatus.CANCELLED) {
            return order;
        }
        OrderStore.Cancellation cancellation = store.cancel(orderId, clock.instant())
                .orElseThrow(() -> unknownOrder(orderId));
        if (cancellation.cancelledNow()) {
            ledger.returnUnits(cancellation.order());
        }
        return cancellation.order();
    }

    static RejectedException unknownItem(String sku) {
        return new RejectedException(Rejection.UNKNOWN_ITEM, "there is no item " + sku);
    }

    private static RejectedException unknownOrder(String orderId) {
        return new RejectedException(Rejection.UNKNOWN_ORDER, "there is no order " + orderId);
    }

    private static RejectedException deadlineExceeded() {
        return new RejectedException(Rejection.DEADLINE_EXCEEDED,
                "the request's time budget ran out; nothing was reserved");
    }
}
