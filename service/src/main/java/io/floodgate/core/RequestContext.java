package io.floodgate.core;

import java.util.concurrent.Callable;

/**
 * What travels with a request into every step and every log line: its id and its deadline, and
 * the W3C trace context it joined, if any (its trace id is then the request id).
 * Bound with {@link ScopedValue} by the HTTP layer for the virtual thread serving the request.
 *
 * <p>A scoped value is not inherited by a thread the request starts; work handed to another
 * thread takes the context along with {@link #carry}.
 */
public record RequestContext(String requestId, Deadline deadline, String traceparent) {

    public static final ScopedValue<RequestContext> CURRENT = ScopedValue.newInstance();

    /** A request that joined no trace. */
    public RequestContext(String requestId, Deadline deadline) {
        this(requestId, deadline, null);
    }

    /**
     * The W3C {@code traceparent} the request came with, already checked by the HTTP layer (null:
     * none, or a malformed one), for outbound records to carry; null outside a request.
     */
    public static String currentTraceparent() {
        return CURRENT.isBound() ? CURRENT.get().traceparent() : null;
    }

    /** The current request's id, or {@code null} outside a request. */
    public static String currentRequestId() {
        return CURRENT.isBound() ? CURRENT.get().requestId() : null;
    }

    /**
     * {@code task}, to run on another thread with the calling thread's request context bound, as
     * it is now; outside a request, {@code task} itself (it runs with none). The context is read
     * here, not when the task runs, so the task keeps its request's deadline even if it starts
     * after the request was answered.
     */
    public static <T> Callable<T> carry(Callable<T> task) {
        if (!CURRENT.isBound()) {
            return task;
        }
        RequestContext context = CURRENT.get();
        return () -> ScopedValue.where(CURRENT, context).call(task::call);
    }
}
