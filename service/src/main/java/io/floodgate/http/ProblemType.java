package io.floodgate.http;

import io.floodgate.core.Rejection;

import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;

/**
 * How each of the core's rejections is told over HTTP: the status and title of API.md's error
 * table, and the RFC 9457 problem type ({@code /problems/sold-out}). The core decides why a
 * request is turned down; only this package knows what HTTP calls it.
 */
record ProblemType(int status, String title, String type) {

    private static final Map<Rejection, ProblemType> TYPES = new EnumMap<>(Rejection.class);

    static {
        define(Rejection.INVALID_REQUEST, 400, "Invalid request");
        define(Rejection.UNAUTHENTICATED, 401, "Unauthenticated");
        define(Rejection.FORBIDDEN, 403, "Forbidden");
        define(Rejection.UNKNOWN_ITEM, 404, "Unknown item");
        define(Rejection.UNKNOWN_ORDER, 404, "Unknown order");
        define(Rejection.NOT_FOUND, 404, "Not found");
        define(Rejection.METHOD_NOT_ALLOWED, 405, "Method not allowed");
        define(Rejection.SOLD_OUT, 409, "Sold out");
        define(Rejection.PER_USER_LIMIT, 409, "Per-user limit reached");
        define(Rejection.NOT_ON_SALE, 409, "Not on sale");
        define(Rejection.ITEM_LOCKED, 409, "Item locked");
        define(Rejection.ALREADY_PAID, 409, "Already paid");
        define(Rejection.NO_PAYMENT_DUE, 409, "No payment due");
        define(Rejection.PAYLOAD_TOO_LARGE, 413, "Payload too large");
        define(Rejection.UNSUPPORTED_MEDIA_TYPE, 415, "Unsupported media type");
        define(Rejection.IDEMPOTENCY_KEY_REUSED, 422, "Idempotency key reused");
        define(Rejection.PAYMENT_MISMATCH, 422, "Payment mismatch");
        define(Rejection.RATE_LIMITED, 429, "Rate limited");
        define(Rejection.INTERNAL, 500, "Internal error");
        define(Rejection.OVERLOADED, 503, "Overloaded");
        define(Rejection.DEPENDENCY_UNAVAILABLE, 503, "Dependency unavailable");
        define(Rejection.NOT_READY, 503, "Not ready");
        define(Rejection.DEADLINE_EXCEEDED, 504, "Deadline exceeded");
        for (Rejection r : Rejection.values()) {
            if (!TYPES.containsKey(r)) {
                throw new ExceptionInInitializerError("no HTTP status for rejection " + r);
            }
        }
    }

    private static void define(Rejection rejection, int status, String title) {
        TYPES.put(rejection, new ProblemType(status, title,
                "/problems/" + rejection.name().toLowerCase(Locale.ROOT).replace('_', '-')));
    }

    static ProblemType of(Rejection rejection) {
        return TYPES.get(rejection);
    }

    /** Whether the answer is the service's failure (5xx), not a verdict on the request. */
    static boolean isServiceFailure(Rejection rejection) {
        return of(rejection).status() >= 500;
    }
}
