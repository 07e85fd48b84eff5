package io.floodgate.core.domain;

/** A validated order request: who wants how many of what, under which idempotency key. */
public record PlaceOrder(String idempotencyKey, String userId, String sku, int quantity) {
}
