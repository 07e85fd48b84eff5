package io.floodgate.core.domain;

public enum OrderStatus {
    /** Reserved and recorded in a durable log; the store has it shortly. */
    ACCEPTED,
    /** In the order store. */
    CONFIRMED,
    /** Cancelled; its units went back to {@code available}. */
    CANCELLED,
    /**
     * Acknowledged, but it can never be stored (its log record names an item the store does not
     * have): final, its units went back to {@code available}, its key stays spent.
     */
    FAILED;

    /** Whether an order in this status holds its units (counts as sold, and toward its user's limit). */
    public boolean holdsUnits() {
        return this == ACCEPTED || this == CONFIRMED;
    }
}
