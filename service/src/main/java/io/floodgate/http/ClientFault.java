package io.floodgate.http;

import io.floodgate.core.Rejection;
import io.helidon.http.HttpException;
import io.helidon.http.RequestException;

/**
 * A request the client got wrong below the level of its content: its body's framing (a chunk size
 * that is not hexadecimal, a trailer that is not a field), met while the body is read. The answer
 * is a 4xx problem and the connection is closed after it, since where the next request would
 * start is no longer known. {@code kind} is a name from a closed set, for the rate-limited log and
 * nothing else; the message is safe to show the client.
 */
final class ClientFault extends RuntimeException {

    private final Rejection rejection;
    private final String kind;

    ClientFault(Rejection rejection, String kind, String message) {
        super(message, null, false, false);
        this.rejection = rejection;
        this.kind = kind;
    }

    Rejection rejection() {
        return rejection;
    }

    String kind() {
        return kind;
    }

    /** Helidon's refusal of what it was reading, in the contract's terms. */
    static ClientFault from(RequestException e) {
        return of(e.status().code(), e.safeMessage() ? e.getMessage() : null);
    }

    static ClientFault from(HttpException e) {
        return of(e.status().code(), null);
    }

    private static ClientFault of(int status, String message) {
        if (status == 413) {
            return new ClientFault(Rejection.PAYLOAD_TOO_LARGE, "too-large", "the request body is too large");
        }
        return new ClientFault(Rejection.INVALID_REQUEST, "framing", "the request body's framing is malformed"
                + (message == null ? "" : ": " + LogText.of(message)));
    }
}
