package io.floodgate.bench;

import java.io.IOException;
import java.net.URI;
import java.util.List;

/**
 * How the load reaches the targets. A transport hands each worker a {@link Channel} of its own
 * (one keep-alive connection per target for the raw client), so that the hot path shares nothing
 * between workers but the transport's immutable setup.
 */
interface Transport extends AutoCloseable {

    /** A new channel for one worker; only that worker uses it. */
    Channel channel();

    @Override
    void close();

    /** One worker's way to the targets. Not thread-safe; sends block until the answer is read. */
    interface Channel extends AutoCloseable {
        /**
         * Sends {@code request} to target {@code target} (an index into the plan's targets) and
         * waits for the whole answer.
         *
         * @throws IOException when no answer came (refused, reset, or none complete within the
         *                     client timeout, a {@link java.net.SocketTimeoutException}): the outcome is unknown
         */
        Reply send(int target, Request request) throws IOException;

        /**
         * Opens this channel's connections now rather than on first use, so that connecting is
         * not charged to the run. Does nothing where the transport pools connections itself.
         */
        default void connect() throws IOException {
        }

        @Override
        void close();
    }

    /**
     * One request of the load. {@code body} is null for a GET; {@code idempotencyKey} and
     * {@code requestId} are null when not sent.
     */
    record Request(String method, String path, String idempotencyKey, String requestId, byte[] body) {
    }

    /** One answer: status, body text, and whether {@code Idempotent-Replayed: true} came with it. */
    record Reply(int status, String body, boolean replayed) {
    }

    static Transport of(Plan.Client client, List<URI> targets, java.time.Duration timeout) {
        return switch (client) {
            case RAW -> new RawTransport(targets, timeout);
            case JDK -> new JdkTransport(targets, timeout);
        };
    }
}
