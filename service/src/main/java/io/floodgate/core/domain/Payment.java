package io.floodgate.core.domain;

import java.time.Instant;
import java.util.Objects;

/**
 * The payment side of an order on an item with a payment window.
 *
 * @param paymentId the provider's id of the payment that took effect (PAID, REFUND_DUE); null before
 * @param paidAt    when that payment was recorded; null before
 */
public record Payment(PaymentState state, Instant dueAt, String paymentId, Instant paidAt) {

    public Payment {
        Objects.requireNonNull(state, "state");
        Objects.requireNonNull(dueAt, "dueAt");
    }

    /** A payment due at {@code dueAt}. */
    public static Payment due(Instant dueAt) {
        return new Payment(PaymentState.DUE, dueAt, null, null);
    }
}
