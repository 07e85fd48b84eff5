package io.floodgate.core.domain;

public enum OrderStatus {
    /** Reserved and recorded in a durable log; the store has it shortly. */
    ACCEPTED,
    /** In the order store. */
    CONFIRMED,
    /** Cancelled; its units went back to {@code available}. */
    CANCELLED
}
