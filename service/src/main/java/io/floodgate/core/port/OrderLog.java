package io.floodgate.core.port;

import io.floodgate.core.Deadline;
import io.floodgate.core.domain.Order;

/**
 * Carries reserved orders durably from intake to the order store. {@link #append} returns only
 * when the order is durable (stored or logged) or certainly never will be.
 */
public interface OrderLog extends AutoCloseable {

    /**
     * Makes {@code order} durable, waiting at most until {@code deadline}. When the deadline passes
     * while the order's fate is still open, the answer is {@link AppendOutcome.InDoubt} and the log
     * reports the fate later, once, to {@code late}.
     */
    AppendOutcome append(Order order, Deadline deadline, LateFate late);

    /** Told the fate of orders whose callers stopped waiting. */
    interface LateFate {
        /** The order is durable after all. */
        void stored(Order order);

        /** The order is not durable and never will be. */
        void dropped(Order order);
    }

    /**
     * Told of orders the log acknowledged that can never be stored (a record whose item the store
     * does not have): they must end visibly, never vanish. The log calls it before it moves past
     * the order, and again if it throws.
     */
    interface Unstorable {
        /**
         * Records {@code order} as failed for {@code reason} and returns its units. Idempotent.
         *
         * @throws io.floodgate.core.DependencyUnavailableException when it cannot yet (the store
         *         does not answer); the log tries again later and does not move past the order
         */
        void failed(Order order, String reason);
    }

    /**
     * Waits until every order this log acknowledged ({@link AppendOutcome.Logged}) before the call,
     * on any instance, is in the order store, or until {@code deadline}.
     *
     * <p>A log that answers only once an order is stored (the direct log) is always caught up. A
     * log that answers earlier (Kafka: 202 ACCEPTED) uses this to make an accepted order readable
     * and cancellable at once, and to let a ledger rebuild from a store that holds everything.
     *
     * @return true when caught up, false when the deadline passed first
     */
    default boolean awaitStored(Deadline deadline) {
        return true;
    }

    /** Orders accepted but not yet written, for metrics and admission. */
    int depth();

    /**
     * Orders this log acknowledged, on every instance, that the store does not have yet, as last
     * measured (a log that answers only once an order is stored has none). Intake refuses new
     * orders while it is over its bound, so that a long store outage is a bounded promise.
     */
    default Backlog backlog() {
        return Backlog.NONE;
    }

    /**
     * @param orders acknowledged and not yet stored
     * @param age    how long the oldest of them has waited (zero when there are none)
     */
    record Backlog(long orders, java.time.Duration age) {
        public static final Backlog NONE = new Backlog(0, java.time.Duration.ZERO);

        public Backlog {
            if (orders < 0 || age == null || age.isNegative()) {
                throw new IllegalArgumentException("a backlog is some orders and a non-negative age, was " + orders
                        + " orders, " + age);
            }
        }
    }

    /** Stops taking orders and makes durable everything already taken. */
    @Override
    void close();

    sealed interface AppendOutcome {
        /** In the order store: the client gets 201 CONFIRMED. */
        record Stored() implements AppendOutcome {
        }

        /** In a durable log, on its way to the store: the client gets 202 ACCEPTED. */
        record Logged() implements AppendOutcome {
        }

        /**
         * The deadline passed while the order was being written; its fate goes to the
         * {@link LateFate}. The caller must neither confirm nor release.
         */
        record InDoubt() implements AppendOutcome {
        }

        /** Not durable and never will be: the caller releases the reservation. */
        record NotLogged(Reason reason, String detail) implements AppendOutcome {
        }

        enum Reason {
            /** The log's bounded queue is full. */
            FULL,
            /** The deadline passed before the order was taken for writing. */
            DEADLINE,
            /** The log or store failed. */
            UNAVAILABLE
        }

        AppendOutcome STORED = new Stored();
        AppendOutcome LOGGED = new Logged();
        AppendOutcome IN_DOUBT = new InDoubt();
    }
}
