package io.floodgate.core.domain;

import java.time.Instant;
import java.util.Objects;

/**
 * One order. {@code (sku, idempotencyKey)} identifies it as surely as {@code orderId}: a key
 * yields at most one order per item, ever.
 */
public record Order(String orderId, String sku, String userId, int quantity, OrderStatus status,
                    Instant createdAt, String requestId, String idempotencyKey) {

    public Order {
        Objects.requireNonNull(orderId, "orderId");
        Objects.requireNonNull(sku, "sku");
        Objects.requireNonNull(userId, "userId");
        Objects.requireNonNull(status, "status");
        Objects.requireNonNull(createdAt, "createdAt");
        Objects.requireNonNull(idempotencyKey, "idempotencyKey");
    }

    public Order withStatus(OrderStatus newStatus) {
        return new Order(orderId, sku, userId, quantity, newStatus, createdAt, requestId, idempotencyKey);
    }
}
