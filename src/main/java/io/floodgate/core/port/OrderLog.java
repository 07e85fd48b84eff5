package io.floodgate.core.port;

import io.floodgate.core.Deadline;
import io.floodgate.core.domain.Order;

/**
 * Carries reserved orders durably from intake to the order store. {@link #append} returns only
 * when the order is durable (stored or logged) or certainly never will be.
 */
public interface OrderLog extends AutoCloseable {

    AppendOutcome append(Order order, Deadline deadline);

    /** Orders accepted but not yet written, for metrics and admission. */
    int depth();

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
    }
}
