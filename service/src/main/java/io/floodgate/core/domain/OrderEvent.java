package io.floodgate.core.domain;

import java.time.Instant;
import java.util.Objects;

/**
 * One committed change of an order, from the transactional outbox: written in the same
 * transaction as the change, so there is exactly one per committed change and none for a change
 * that did not commit.
 *
 * @param position        the cursor: given by the relay in commit order, strictly increasing,
 *                        never reused; an order's events have rising positions in the order of
 *                        its changes
 * @param id              unique and stable: the order id and the order's version after the change
 * @param time            when the change was made (just before its commit)
 * @param changeRequestId the request that made the change (null for Floodgate's own, an expiry)
 * @param order           the order after the change
 */
public record OrderEvent(long position, String id, Type type, Instant time, String changeRequestId, Order order) {

    /** The kinds of change, with their CloudEvents type. */
    public enum Type {
        CREATED("io.floodgate.order.created"),
        PAID("io.floodgate.order.paid"),
        CANCELLED("io.floodgate.order.cancelled"),
        EXPIRED("io.floodgate.order.expired"),
        REFUND_DUE("io.floodgate.order.refund_due");

        private final String cloudEventType;

        Type(String cloudEventType) {
            this.cloudEventType = cloudEventType;
        }

        public String cloudEventType() {
            return cloudEventType;
        }
    }

    public OrderEvent {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(time, "time");
        Objects.requireNonNull(order, "order");
    }
}
