package io.floodgate.core.domain;

/** Where an order's payment stands (API.md, "Payments and order events"). */
public enum PaymentState {
    /** Waiting for the payment until {@code dueAt}; the order holds its units. */
    DUE,
    /** Paid before {@code dueAt}: final, the order keeps its units and can no longer be cancelled. */
    PAID,
    /**
     * No payment is due any more and none arrived: the window passed (the order is cancelled with
     * reason {@code PAYMENT_EXPIRED}), or the order was cancelled by request first; its units are
     * back.
     */
    EXPIRED,
    /** A successful payment arrived for an order already cancelled: the money must go back; the units stay free. */
    REFUND_DUE
}
