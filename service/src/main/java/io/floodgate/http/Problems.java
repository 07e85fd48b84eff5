package io.floodgate.http;

import io.floodgate.core.DependencyUnavailableException;
import io.floodgate.core.RejectedException;
import io.floodgate.core.Rejection;
import io.floodgate.core.RequestContext;
import io.floodgate.observe.Metrics;
import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import io.helidon.http.HttpException;
import io.helidon.http.Method;
import io.helidon.http.RequestException;
import io.helidon.webserver.CloseConnectionException;
import io.helidon.webserver.http.Handler;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.event.Level;

import java.util.concurrent.TimeUnit;

/**
 * Every answer goes out through here: JSON bodies, RFC 9457 problems (counted by code), and the
 * wrapper every route runs in ({@link #endpoint}), which turns the core's rejections and failures
 * into problems and measures each answer. What a problem says is true: "nothing was changed"
 * only when that is known.
 */
final class Problems {

    private static final Logger LOG = LoggerFactory.getLogger(Problems.class);
    private static final long MINUTE = TimeUnit.MINUTES.toNanos(1);
    private static final RateLimitedLog CLIENT_LOG = new RateLimitedLog(LOG, MINUTE, System::nanoTime);
    private static final RateLimitedLog SERVER_LOG = new RateLimitedLog(LOG, MINUTE, System::nanoTime);
    static final String JSON = "application/json";
    static final String PROBLEM_JSON = "application/problem+json";

    /** A route's work; may throw, and the wrapper answers. */
    @FunctionalInterface
    interface Endpoint {
        void handle(ServerRequest req, ServerResponse res) throws Exception;
    }

    private final Metrics metrics;

    Problems(Metrics metrics) {
        this.metrics = metrics;
    }

    /** Wraps a route: rejections and failures become problems, and every answer is measured. */
    Handler endpoint(String route, Endpoint endpoint) {
        Metrics.RouteTimers timers = metrics.route(route);
        return (req, response) -> {
            long start = System.nanoTime();
            // an answer to HEAD never has a body, whatever answers it (a GET route, a 405, a 404)
            ServerResponse res = req.prologue().method() == Method.HEAD && !(response instanceof HeadResponse)
                    ? new HeadResponse(response) : response;
            try {
                endpoint.handle(req, res);
            } catch (RejectedException e) {
                send(res, e.rejection(), e.detail(), e.retryAfterSeconds(), null);
            } catch (DependencyUnavailableException e) {
                send(res, Rejection.DEPENDENCY_UNAVAILABLE, "the " + e.dependency() + " is unavailable; "
                        + (e.outcomeUnknown() ? "the change may or may not have happened: retry to learn its outcome"
                                : "nothing was changed"), 1, null);
            } catch (CloseConnectionException e) {
                // the edge dropped the connection (a phase ran out of time): nothing can be answered
                res.status(408);
                throw e;
            } catch (ClientFault e) {
                clientFault(res, route, e);
            } catch (RequestException e) {
                // Helidon's verdict on what the client sent, met while reading it (a chunk size that is
                // not one): the client's mistake, not the server's
                if (e.status().code() >= 500) {
                    unexpected(req, res, route, e);
                } else {
                    clientFault(res, route, ClientFault.from(e));
                }
            } catch (HttpException e) {
                if (e.status().code() >= 500) {
                    unexpected(req, res, route, e);
                } else {
                    clientFault(res, route, ClientFault.from(e));
                }
            } catch (Exception e) {
                unexpected(req, res, route, e);
            } finally {
                long nanos = System.nanoTime() - start;
                timers.record(req.prologue().method().text(), res.status().code(), nanos);
                if (LOG.isDebugEnabled()) {
                    LOG.debug("{} {} -> {} in {} us", LogText.of(req.prologue().method().text()), route,
                            res.status().code(), nanos / 1_000);
                }
            }
        };
    }

    /**
     * The route for HEAD on a GET route: the GET's endpoint, answered as HEAD ({@link HeadResponse}:
     * its status, headers and Content-Length, no body), measured under its own method.
     */
    Handler head(String route, Endpoint get) {
        return endpoint(route, get);
    }

    /**
     * A request the client got wrong in a way that leaves the connection unusable (its body's
     * framing is broken): answered as a problem, the connection closed after the answer, logged at
     * most once a minute per kind at INFO, and never as the server's error.
     */
    private void clientFault(ServerResponse res, String route, ClientFault fault) {
        CLIENT_LOG.log(Level.INFO, "client-fault " + fault.kind(), "refused a malformed request on {}: {}", route,
                fault.getMessage());
        if (!res.isSent()) {
            res.header(HeaderValues.CONNECTION_CLOSE);
            send(res, fault.rejection(), fault.getMessage(), 0, null);
        }
        // Helidon 4.5 keeps the connection for the next request whatever the answer's Connection header
        // says; where that request would start is unknown, so end the connection here
        EdgeConnection connection = EdgeConnection.current();
        if (connection != null) {
            connection.closeAfterThisRequest();
        }
    }

    /** The server's own failure: 500, logged with its stack, at most once a minute per route and kind. */
    private void unexpected(ServerRequest req, ServerResponse res, String route, Exception e) {
        SERVER_LOG.log(Level.ERROR, route + " " + e.getClass().getName(), "unexpected failure on {} {}",
                LogText.of(req.prologue().method().text()), route, e);
        if (!res.isSent()) {
            send(res, Rejection.INTERNAL, "an unexpected error occurred; nothing was changed", 0, null);
        }
    }

    /** 405 with the methods the path takes. */
    Handler notAllowed(String allow) {
        return endpoint("unmatched", (req, res) -> {
            res.header(HeaderNames.ALLOW, allow);
            throw new RejectedException(Rejection.METHOD_NOT_ALLOWED,
                    Json.abbreviate(req.prologue().method().text()) + " is not allowed here; allowed: " + allow);
        });
    }

    /** Sends the problem for {@code rejection}, with the current request's id. */
    void send(ServerResponse res, Rejection rejection, String detail, long retryAfterSeconds, Json.Body extra) {
        metrics.rejection(rejection.name());
        res.status(ProblemType.of(rejection).status());
        if (retryAfterSeconds > 0) {
            res.header(HeaderNames.RETRY_AFTER, Long.toString(retryAfterSeconds));
        }
        res.header(HeaderNames.CONTENT_TYPE, PROBLEM_JSON);
        res.send(Json.problem(rejection, detail, RequestContext.currentRequestId(), extra));
    }

    /** Sends a problem before a request context exists (the filter's own refusals). */
    void sendUnscoped(ServerResponse res, Rejection rejection, String detail, String requestId) {
        metrics.rejection(rejection.name());
        res.status(ProblemType.of(rejection).status());
        res.header(HeaderNames.CONTENT_TYPE, PROBLEM_JSON);
        res.send(Json.problem(rejection, detail, requestId, null));
    }

    static void json(ServerResponse res, int status, byte[] body) {
        res.status(status);
        res.header(HeaderNames.CONTENT_TYPE, JSON);
        res.send(body);
    }
}
