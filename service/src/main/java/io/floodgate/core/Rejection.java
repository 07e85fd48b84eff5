package io.floodgate.core;

/**
 * Every way a request can be turned down, by the stable code of API.md. The core speaks these;
 * the HTTP layer knows their statuses and renders them (http.ProblemType).
 */
public enum Rejection {
    INVALID_REQUEST,
    UNAUTHENTICATED,
    FORBIDDEN,
    UNKNOWN_ITEM,
    UNKNOWN_ORDER,
    NOT_FOUND,
    METHOD_NOT_ALLOWED,
    SOLD_OUT,
    PER_USER_LIMIT,
    NOT_ON_SALE,
    ITEM_LOCKED,
    ALREADY_PAID,
    NO_PAYMENT_DUE,
    PAYLOAD_TOO_LARGE,
    UNSUPPORTED_MEDIA_TYPE,
    IDEMPOTENCY_KEY_REUSED,
    PAYMENT_MISMATCH,
    RATE_LIMITED,
    INTERNAL,
    OVERLOADED,
    DEPENDENCY_UNAVAILABLE,
    NOT_READY,
    DEADLINE_EXCEEDED
}
