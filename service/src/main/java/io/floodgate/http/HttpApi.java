package io.floodgate.http;

import io.floodgate.core.CatalogService;
import io.floodgate.core.EventFeed;
import io.floodgate.core.PaymentService;
import io.floodgate.core.domain.PaymentState;
import io.floodgate.core.OrderService;
import io.floodgate.core.RejectedException;
import io.floodgate.core.Rejection;
import io.floodgate.flow.Admission;
import io.floodgate.observe.Metrics;
import io.helidon.http.DirectHandler;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.DirectHandlers;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http.HttpService;

import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * The HTTP contract of API.md on Helidon SE. Everything here is translation; decisions are the
 * core's ({@link OrderService}, {@link CatalogService}) and admission's ({@link Admission}).
 *
 * <p>The pieces, each in its own class: {@link RequestScope} (the filter every request passes:
 * request id, deadline, in-flight count), {@link Auth} (admin and user tokens), {@link Bodies}
 * (JSON bodies within their size), {@link Problems} (answers, problem+json, the wrapper every
 * route runs in) with {@link ProblemType} (a rejection's status), and one Helidon
 * {@link io.helidon.webserver.http.HttpService} per resource: {@link OrderRoutes},
 * {@link ItemRoutes}, {@link OperationRoutes}. Below the routes, {@link Edge} bounds connections and
 * holds requests to HTTP/1.1's framing before Helidon parses them (docs/SECURITY.md).
 */
public final class HttpApi {

    /** What the HTTP layer is told by configuration. */
    public record Settings(String adminToken, String userJwtSecret, int maxBodyBytes,
                           Duration defaultTimeout, Duration maxTimeout, Duration bodyTimeout,
                           Duration jwtMaxLifetime, Duration jwtClockSkew) {
        public Settings {
            Objects.requireNonNull(adminToken, "adminToken");
            if (maxBodyBytes < 1) {
                throw new IllegalArgumentException("maxBodyBytes must be >= 1, was " + maxBodyBytes);
            }
        }

        /** With the edge's defaults: a body may take 10 s, a user token live a day, clocks differ a minute. */
        public Settings(String adminToken, String userJwtSecret, int maxBodyBytes, Duration defaultTimeout,
                        Duration maxTimeout) {
            this(adminToken, userJwtSecret, maxBodyBytes, defaultTimeout, maxTimeout, Duration.ofSeconds(10),
                    Duration.ofDays(1), Duration.ofSeconds(60));
        }

        /** Without the secrets. */
        @Override
        public String toString() {
            return "Settings[adminToken=***, userJwtSecret=" + (userJwtSecret == null ? null : "***") + ", maxBodyBytes="
                    + maxBodyBytes + ", defaultTimeout=" + defaultTimeout + ", maxTimeout=" + maxTimeout + ", bodyTimeout="
                    + bodyTimeout + ", jwtMaxLifetime=" + jwtMaxLifetime + ", jwtClockSkew=" + jwtClockSkew + "]";
        }
    }

    private final Metrics metrics;
    private final Problems problems;
    private final RequestScope scope;
    private final OrderRoutes orderRoutes;
    private final ItemRoutes itemRoutes;
    private final OperationRoutes operationRoutes;
    private final PaymentRoutes paymentRoutes;

    /**
     * Payments and order events, for the HTTP layer.
     *
     * @param secrets   the callback's HMAC secrets (several during a rotation); empty: callbacks are off (404)
     * @param tolerance how far a callback's signed time may be from now
     * @param counts    orders by payment state, for the dashboard (the caller keeps it cheap)
     */
    public record Payments(PaymentService service, EventFeed events, List<String> secrets, Duration tolerance,
                           Supplier<Map<PaymentState, Long>> counts) {
        public Payments {
            Objects.requireNonNull(service, "service");
            Objects.requireNonNull(events, "events");
            secrets = List.copyOf(secrets);
            Objects.requireNonNull(tolerance, "tolerance");
            Objects.requireNonNull(counts, "counts");
        }

        /** Without the secrets. */
        @Override
        public String toString() {
            return "Payments[secrets=" + secrets.size() + " x ***, tolerance=" + tolerance + "]";
        }
    }

    /** Without payments: the callback and the events are 404. */
    public HttpApi(OrderService orders, CatalogService catalog, Admission admission,
                   Supplier<List<String>> downDependencies, Metrics metrics, Settings settings, Clock clock) {
        this(orders, catalog, null, admission, downDependencies, metrics, settings, clock);
    }

    /** @param payments null: no payments (the callback and the events are 404) */
    public HttpApi(OrderService orders, CatalogService catalog, Payments payments, Admission admission,
                   Supplier<List<String>> downDependencies, Metrics metrics, Settings settings, Clock clock) {
        this.metrics = metrics;
        this.problems = new Problems(metrics);
        this.scope = new RequestScope(settings.defaultTimeout(), settings.maxTimeout(), problems);
        Auth auth = new Auth(settings.adminToken(), settings.userJwtSecret() == null ? null
                : new Jwt(settings.userJwtSecret(), Json.MAPPER, clock,
                        new Jwt.Policy(settings.jwtMaxLifetime(), settings.jwtClockSkew())));
        Bodies bodies = new Bodies(settings.maxBodyBytes(), settings.bodyTimeout());
        this.orderRoutes = new OrderRoutes(orders, admission, auth, bodies, problems, metrics);
        this.itemRoutes = new ItemRoutes(catalog, admission, auth, bodies, problems);
        this.operationRoutes = new OperationRoutes(catalog, admission, downDependencies, metrics, auth, problems, clock,
                payments == null ? Map::of : payments.counts());
        this.paymentRoutes = payments == null ? null : new PaymentRoutes(payments.service(), payments.events(),
                payments.secrets().isEmpty() ? null : new PaymentSignatures(payments.secrets(), payments.tolerance(), clock),
                admission, auth, bodies, problems);
        metrics.gauge("floodgate.http.in.flight", "HTTP requests being served", scope::inFlight);
    }

    /**
     * Answers for requests Helidon rejects before routing (a malformed request line or headers, a
     * body over the server's hard cap), as problem+json with a request id like every other error.
     */
    public DirectHandlers directHandlers() {
        DirectHandler handler = (request, event, status, headers, message) -> {
            Rejection rejection = switch (status.code()) {
                case 413 -> Rejection.PAYLOAD_TOO_LARGE;
                case 500 -> Rejection.INTERNAL;
                case 503 -> Rejection.OVERLOADED; // the server's own refusal (a listener limit, shutting down)
                default -> Rejection.INVALID_REQUEST;
            };
            String requestId = Ids.newRequestId();
            String detail = switch (rejection) {
                case PAYLOAD_TOO_LARGE -> "the request is too large";
                case INTERNAL -> "an unexpected error occurred; nothing was changed";
                case OVERLOADED -> "the server cannot take this request now; nothing was changed, retry shortly";
                default -> "the HTTP request is malformed" + reason(message);
            };
            metrics.rejection(rejection.name());
            DirectHandler.TransportResponse.Builder response = DirectHandler.TransportResponse.builder()
                    .status(io.helidon.http.Status.create(ProblemType.of(rejection).status()))
                    .header(HeaderNames.CONTENT_TYPE, Problems.PROBLEM_JSON)
                    .header(RequestScope.X_REQUEST_ID, requestId);
            if (rejection == Rejection.OVERLOADED) {
                response.header(HeaderNames.RETRY_AFTER, "1");
            }
            return response.entity(Json.problem(rejection, detail, requestId, null))
                    .keepAlive(false)
                    .build();
        };
        DirectHandlers.Builder builder = DirectHandlers.builder();
        for (DirectHandler.EventType type : DirectHandler.EventType.values()) {
            builder.addHandler(type, handler);
        }
        return builder.build();
    }

    /** Every resource's routes, in the order they are matched; the catch-all for unknown paths comes after. */
    private HttpService[] services() {
        return paymentRoutes == null
                ? new HttpService[] {orderRoutes, itemRoutes, operationRoutes}
                : new HttpService[] {orderRoutes, itemRoutes, operationRoutes, paymentRoutes};
    }

    /**
     * The routes this API answers, as {@code "METHOD /path/{param}"} (sorted), read from the same
     * routing rules the server registers; every other path is 404 and every other method on these
     * paths 405. The OpenAPI document ({@code /openapi.yaml}) describes exactly these.
     */
    public List<String> routes() {
        return RouteTable.of(services());
    }

    /**
     * Why a request was refused before routing, as Helidon or {@link EdgeRules} said it, for the
     * problem's detail: escaped and bounded, and left out when it looks like it could name code.
     */
    private static String reason(String message) {
        if (message == null || message.isBlank() || message.contains("Exception") || message.contains("java.")
                || message.contains("io.helidon")) {
            return "";
        }
        return ": " + LogText.of(message);
    }

    /** Requests being served now; the drain on shutdown waits for this to reach zero. */
    public int inFlight() {
        return scope.inFlight();
    }

    public void routing(HttpRouting.Builder r) {
        r.addFilter(scope);
        r.register(services());
        r.any(problems.endpoint("unmatched", (req, res) -> {
            throw new RejectedException(Rejection.NOT_FOUND, "no resource at " + Json.abbreviate(req.path().path()));
        }));
    }
}
