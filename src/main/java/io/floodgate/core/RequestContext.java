package io.floodgate.core;

/**
 * What travels with a request into every step and every log line: its id and its deadline.
 * Bound with {@link ScopedValue} by the HTTP layer for the virtual thread serving the request.
 */
public record RequestContext(String requestId, Deadline deadline) {

    public static final ScopedValue<RequestContext> CURRENT = ScopedValue.newInstance();

    /** The current request's id, or {@code null} outside a request. */
    public static String currentRequestId() {
        return CURRENT.isBound() ? CURRENT.get().requestId() : null;
    }
}
