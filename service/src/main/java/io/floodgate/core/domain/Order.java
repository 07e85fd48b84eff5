package io.floodgate.core.domain;

import java.time.Instant;
import java.util.Objects;

/**
 * One order. {@code (sku, idempotencyKey)} identifies it as surely as {@code orderId}: a key
 * yields at most one order per item, ever.
 *
 * @param statusReason why the order has its status, where the status has reasons: for
 *                     {@link OrderStatus#FAILED} what made it unstorable (e.g. {@code UNKNOWN_ITEM});
 *                     for {@link OrderStatus#CANCELLED} {@link #CANCEL_REQUESTED} or
 *                     {@link #PAYMENT_EXPIRED}; null otherwise
 * @param payment      the payment, for an order on an item with a payment window; null otherwise
 */
public record Order(String orderId, String sku, String userId, int quantity, OrderStatus status,
                    Instant createdAt, String requestId, String idempotencyKey, String statusReason,
                    Payment payment) {

    /** Cancelled because someone asked (the buyer, the admin). */
    public static final String CANCEL_REQUESTED = "REQUESTED";
    /** Cancelled by Floodgate: no successful payment by the due time. */
    public static final String PAYMENT_EXPIRED = "PAYMENT_EXPIRED";

    public Order(String orderId, String sku, String userId, int quantity, OrderStatus status, Instant createdAt,
                 String requestId, String idempotencyKey) {
        this(orderId, sku, userId, quantity, status, createdAt, requestId, idempotencyKey, null, null);
    }

    public Order(String orderId, String sku, String userId, int quantity, OrderStatus status, Instant createdAt,
                 String requestId, String idempotencyKey, String statusReason) {
        this(orderId, sku, userId, quantity, status, createdAt, requestId, idempotencyKey, statusReason, null);
    }

    public Order {
        Objects.requireNonNull(orderId, "orderId");
        Objects.requireNonNull(sku, "sku");
        Objects.requireNonNull(userId, "userId");
        Objects.requireNonNull(status, "status");
        Objects.requireNonNull(createdAt, "createdAt");
        Objects.requireNonNull(idempotencyKey, "idempotencyKey");
    }

    /** This order in another status (its payment kept; the reason dropped). */
    public Order withStatus(OrderStatus newStatus) {
        return new Order(orderId, sku, userId, quantity, newStatus, createdAt, requestId, idempotencyKey, null, payment);
    }

    /** This order with a payment due at {@code dueAt}. */
    public Order due(Instant dueAt) {
        return new Order(orderId, sku, userId, quantity, status, createdAt, requestId, idempotencyKey, statusReason,
                Payment.due(dueAt));
    }

    /** This order as one that can never be stored, and why. */
    public Order failed(String reason) {
        return new Order(orderId, sku, userId, quantity, OrderStatus.FAILED, createdAt, requestId, idempotencyKey,
                Objects.requireNonNull(reason, "reason"), null);
    }

    /** Whether a payment is still awaited: the order holds its units until it is paid or its window passes. */
    public boolean paymentDue() {
        return payment != null && payment.state() == PaymentState.DUE && status.holdsUnits();
    }
}
