package io.floodgate.http;

import io.floodgate.concurrent.Deadlines;
import io.floodgate.core.Deadline;
import io.floodgate.core.RejectedException;
import io.floodgate.core.Rejection;
import io.floodgate.core.RequestContext;
import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.Filter;
import io.helidon.webserver.http.FilterChain;
import io.helidon.webserver.http.RoutingRequest;
import io.helidon.webserver.http.RoutingResponse;
import org.slf4j.MDC;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What travels with every request: its id (the client's {@code X-Request-Id} when valid, else the
 * trace id of a valid W3C {@code traceparent}, so that Floodgate joins the caller's trace, else a
 * fresh one; echoed on the answer, in the MDC of every log line, in the order and its Kafka
 * record, with the {@code traceparent} itself) and its deadline (the
 * {@code Request-Timeout} it asked for, capped; bound in {@link RequestContext#CURRENT} for every
 * step and every outbound call's timeout). Counts the requests in flight, which the drain waits
 * for.
 */
final class RequestScope implements Filter {

    static final HeaderName X_REQUEST_ID = HeaderNames.create("X-Request-Id");
    static final HeaderName REQUEST_TIMEOUT = HeaderNames.create("Request-Timeout");
    static final HeaderName TRACEPARENT = HeaderNames.create("traceparent");
    static final String MDC_REQUEST_ID = "requestId";
    static final String MDC_ORDER_ID = "orderId";

    private final Duration defaultTimeout;
    private final Duration maxTimeout;
    private final Problems problems;
    private final AtomicInteger inFlight = new AtomicInteger();

    RequestScope(Duration defaultTimeout, Duration maxTimeout, Problems problems) {
        this.defaultTimeout = defaultTimeout;
        this.maxTimeout = maxTimeout;
        this.problems = problems;
    }

    @Override
    public void filter(FilterChain chain, RoutingRequest req, RoutingResponse res) {
        // A traceparent that is not exactly W3C's is ignored (TraceParent): nothing of it is used.
        String traceparent = req.headers().contains(TRACEPARENT)
                ? TraceParent.valid(req.headers().first(TRACEPARENT).orElse(null)) : null;
        String requestId = req.headers().first(X_REQUEST_ID).filter(Ids::isRequestId)
                .orElseGet(() -> traceparent != null ? TraceParent.traceId(traceparent) : Ids.newRequestId());
        res.header(X_REQUEST_ID, requestId);
        inFlight.incrementAndGet();
        MDC.put(MDC_REQUEST_ID, requestId);
        try {
            Deadline deadline;
            try {
                deadline = deadline(req.headers().first(REQUEST_TIMEOUT));
            } catch (RejectedException e) {
                problems.sendUnscoped(req.prologue().method() == io.helidon.http.Method.HEAD ? new HeadResponse(res) : res,
                        e.rejection(), e.detail(), requestId);
                return;
            }
            ScopedValue.where(RequestContext.CURRENT, new RequestContext(requestId, deadline, traceparent)).run(chain::proceed);
        } finally {
            MDC.remove(MDC_REQUEST_ID);
            MDC.remove(MDC_ORDER_ID);
            inFlight.decrementAndGet();
        }
    }

    /** Requests being served now. */
    int inFlight() {
        return inFlight.get();
    }

    private Deadline deadline(Optional<String> header) {
        long millis = defaultTimeout.toMillis();
        if (header.isPresent()) {
            try {
                millis = Long.parseLong(header.get().trim());
            } catch (NumberFormatException e) {
                millis = -1;
            }
            if (millis < 1) {
                throw Json.invalid("Request-Timeout", "must be a positive integer of milliseconds");
            }
            millis = Math.min(millis, maxTimeout.toMillis());
        }
        return Deadline.afterMillis(millis);
    }

    /**
     * Runs store-bound work on a virtual thread of its own and waits for it no longer than the
     * request's deadline: JDBC timeouts count in whole seconds and a dead server's socket may
     * block longer, but the client is answered on time. Work that outlives its request finishes
     * in the background with the same effect (a cancel still returns its units), which is what a
     * 504 promises: the client may retry and find out.
     */
    static <T> T withinDeadline(Callable<T> work) throws Exception {
        RequestContext context = RequestContext.CURRENT.get();
        String requestId = context.requestId();
        Callable<T> carried = RequestContext.carry(() -> {
            MDC.put(MDC_REQUEST_ID, requestId);
            try {
                return work.call();
            } finally {
                MDC.remove(MDC_REQUEST_ID);
            }
        });
        CompletableFuture<T> result = new CompletableFuture<>();
        Thread.ofVirtual().start(() -> {
            try {
                result.complete(carried.call());
            } catch (Throwable t) {
                result.completeExceptionally(t);
            }
        });
        try {
            // no timed park (Deadlines): a timed wait per read cost a delay-scheduler task on JDK 25
            return Deadlines.get(result, context.deadline().remainingNanos());
        } catch (TimeoutException e) {
            throw new RejectedException(Rejection.DEADLINE_EXCEEDED,
                    "the request's time budget ran out waiting for the store; retry to learn the outcome");
        } catch (ExecutionException e) {
            if (e.getCause() instanceof Exception cause) {
                throw cause;
            }
            throw e;
        }
    }
}
