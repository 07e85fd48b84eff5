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
    private final OrderLog.LateFate lateFate;
    /** How long a read outside any request waits for the log to catch up. */
    private static final java.time.Duration DEFAULT_READ_BUDGET = java.time.Duration.ofSeconds(1);

    /**
     * How far the order log may run ahead of the store before intake stops taking orders: an
     * outage of the store is then a bounded promise (so many orders, so many seconds), not an
     * unbounded one. Over either bound new orders are refused with 503
     * {@code DEPENDENCY_UNAVAILABLE}, nothing reserved, until the backlog is back under three
     * quarters of both (so that intake does not flap at the edge).
     */
    public record BacklogBound(long maxOrders, java.time.Duration maxAge) {
        public static final BacklogBound NONE = new BacklogBound(Long.MAX_VALUE, java.time.Duration.ofDays(36_500));

        public BacklogBound {
            if (maxOrders < 1) {
                throw new IllegalArgumentException("maxOrders must be >= 1, was " + maxOrders);
            }
            if (maxAge == null || maxAge.isNegative() || maxAge.isZero()) {
                throw new IllegalArgumentException("maxAge must be positive, was " + maxAge);
            }
        }

        boolean over(OrderLog.Backlog backlog) {
            return backlog.orders() > maxOrders || backlog.age().compareTo(maxAge) > 0;
        }

        boolean wellUnder(OrderLog.Backlog backlog) {
            return backlog.orders() <= maxOrders / 4 * 3 && backlog.age().compareTo(maxAge.dividedBy(4).multipliedBy(3)) <= 0;
        }
    }

    private static final System.Logger LOG = System.getLogger(OrderService.class.getName());
    private final BacklogBound backlogBound;
    /** Whether intake refuses for the backlog now; a benign race: two readers may each decide once more. */
    private volatile boolean refusingForBacklog;

    public OrderService(StockLedger ledger, OrderLog log, OrderStore store, Clock clock) {
        this(ledger, log, store, clock, BacklogBound.NONE);
    }

    public OrderService(StockLedger ledger, OrderLog log, OrderStore store, Clock clock, BacklogBound backlogBound) {
        this.backlogBound = Objects.requireNonNull(backlogBound, "backlogBound");
        this.ledger = Objects.requireNonNull(ledger, "ledger");
        this.log = Objects.requireNonNull(log, "log");
        this.store = Objects.requireNonNull(store, "store");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.lateFate = new OrderLog.LateFate() {
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
        refuseWhileTheStoreIsBehind();
        long now = clock.millis();
        Order order = new Order(OrderIds.next(now), request.sku(), request.userId(), request.quantity(),
                OrderStatus.CONFIRMED, Instant.ofEpochMilli(now), requestId, request.idempotencyKey());

        ReserveOutcome reserved = ledger.reserve(order, deadline);
        switch (reserved) {
            case ReserveOutcome.Reserved(java.time.Duration paymentWindow) -> {
                if (paymentWindow != null) { // the window the reservation was made under
                    order = order.due(order.createdAt().plus(paymentWindow));
                }
            }
            case ReserveOutcome.Replayed(String orderId) -> {
                return new Placed(replayedOrder(orderId, request), true);
            }
            // Only that the key is taken: the order it produced may be another user's, and its id
            // is theirs to know (issue 17).
            case ReserveOutcome.KeyReused k -> throw new RejectedException(
                    Rejection.IDEMPOTENCY_KEY_REUSED, "Idempotency-Key '" + request.idempotencyKey()
                    + "' is already taken for item " + request.sku() + " by a request with a different userId or"
                    + " quantity; use a new key for a new order");
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

        return append(order, deadline);
    }

    /** Makes the reserved order durable, then confirms; or releases when it never will be. */
    private Placed append(Order order, Deadline deadline) {
        AppendOutcome appended;
        try {
            appended = log.append(order, deadline, lateFate);
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

    private void refuseWhileTheStoreIsBehind() {
        OrderLog.Backlog backlog = log.backlog();
        boolean refuse = refusingForBacklog ? !backlogBound.wellUnder(backlog) : backlogBound.over(backlog);
        if (refuse != refusingForBacklog) {
            refusingForBacklog = refuse;
            LOG.log(System.Logger.Level.WARNING, (refuse ? "refusing new orders: " : "taking new orders again: ")
                    + backlog.orders() + " accepted orders are not in the store yet, the oldest for "
                    + backlog.age().toMillis() + " ms (bound " + backlogBound.maxOrders() + " orders, "
                    + backlogBound.maxAge().toSeconds() + " s)");
        }
        if (refuse) {
            throw new RejectedException(Rejection.DEPENDENCY_UNAVAILABLE, "the order store is behind: "
                    + backlog.orders() + " accepted orders are not stored yet, the oldest for "
                    + backlog.age().toSeconds() + " s; no new order is taken until it catches up; nothing was reserved",
                    BACKLOG_RETRY_AFTER_SECONDS);
        }
    }

    /** A backlog drains in seconds once the store is back; a client that waits longer than that gains nothing. */
    private static final long BACKLOG_RETRY_AFTER_SECONDS = 5;

    /** Whether intake is refusing new orders because the store is behind the log (for metrics). */
    public boolean refusingForBacklog() {
        return refusingForBacklog;
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
        awaitLogStored(log);
    }

    /**
     * Waits, within the request's deadline (a second outside any request), until {@code log} has
     * stored every order it acknowledged before now.
     *
     * @throws RejectedException {@code DEADLINE_EXCEEDED} when it has not by then
     */
    static void awaitLogStored(OrderLog log) {
        Deadline deadline = RequestContext.CURRENT.isBound() ? RequestContext.CURRENT.get().deadline()
                : Deadline.after(DEFAULT_READ_BUDGET);
        if (!log.awaitStored(deadline)) {
            throw new RejectedException(Rejection.DEADLINE_EXCEEDED, "the order log has not yet written every"
                    + " accepted order to the store; retry to read it");
        }
    }

    /**
     * The order, if the caller may see it. An order the caller may not see is answered exactly as
     * one that does not exist (404, same detail): the answer tells a user nothing about other
     * users' orders, not even that an id names one (docs/SECURITY.md).
     */
    public Order order(String orderId, Predicate<String> mayAccessUser) {
        Order order = findOrder(orderId).orElseThrow(() -> unknownOrder(orderId));
        if (!mayAccessUser.test(order.userId())) {
            throw unknownOrder(orderId);
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
     *
     * <p>Two steps, the store's cancel and the ledger's return, and a process can die between
     * them (or the store's commit can be in doubt and the caller retry). So every call, also one
     * that finds the order already cancelled, asks the ledger to return the units: the ledger's
     * return is idempotent by order (a second one finds the units back and changes nothing), and
     * the retry finishes what the first call started. The store's answer alone would leave the
     * units held for good by a ledger that is never rebuilt from the store (Redis).
     */
    public Order cancel(String orderId, Predicate<String> mayAccessUser) {
        Order order = order(orderId, mayAccessUser);
        if (order.status().holdsUnits() && !paid(order)) {
            order = store.cancel(orderId, clock.instant()).orElseThrow(() -> unknownOrder(orderId)).order();
        }
        if (paid(order)) { // paid before the cancel came: the order is final and keeps its units
            throw new RejectedException(Rejection.ALREADY_PAID, "order " + orderId + " is paid (payment "
                    + order.payment().paymentId() + ") and can no longer be cancelled");
        }
        ledger.returnUnits(order);
        return order;
    }

    private static boolean paid(Order order) {
        return order.payment() != null && order.payment().state() == io.floodgate.core.domain.PaymentState.PAID;
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
