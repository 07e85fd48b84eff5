package io.floodgate.core;

/**
 * Every way a request can be turned down, with the HTTP status and stable code of API.md. The
 * core speaks these; the HTTP layer only renders them.
 */
public enum Rejection {
    INVALID_REQUEST(400, "Invalid request"),
    UNAUTHENTICATED(401, "Unauthenticated"),
    FORBIDDEN(403, "Forbidden"),
    UNKNOWN_ITEM(404, "Unknown item"),
    UNKNOWN_ORDER(404, "Unknown order"),
    NOT_FOUND(404, "Not found"),
    METHOD_NOT_ALLOWED(405, "Method not allowed"),
    SOLD_OUT(409, "Sold out"),
    PER_USER_LIMIT(409, "Per-user limit reached"),
    NOT_ON_SALE(409, "Not on sale"),
    ITEM_LOCKED(409, "Item locked"),
    PAYLOAD_TOO_LARGE(413, "Payload too large"),
    UNSUPPORTED_MEDIA_TYPE(415, "Unsupported media type"),
    IDEMPOTENCY_KEY_REUSED(422, "Idempotency key reused"),
    RATE_LIMITED(429, "Rate limited"),
    INTERNAL(500, "Internal error"),
    OVERLOADED(503, "Overloaded"),
    DEPENDENCY_UNAVAILABLE(503, "Dependency unavailable"),
    NOT_READY(503, "Not ready"),
    DEADLINE_EXCEEDED(504, "Deadline exceeded");

    private final int status;
    private final String title;
    private final String type;

    Rejection(int status, String title) {
        this.status = status;
        this.title = title;
        this.type = "/problems/" + name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    }

    public int status() {
        return status;
    }

    public String title() {
        return title;
    }

    /** The problem type URI reference, e.g. {@code /problems/sold-out}. */
    public String type() {
        return type;
    }
}
