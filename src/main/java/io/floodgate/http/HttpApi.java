package io.floodgate.http;

import com.fasterxml.jackson.databind.JsonNode;
import io.floodgate.core.CatalogService;
import io.floodgate.core.Deadline;
import io.floodgate.core.DependencyUnavailableException;
import io.floodgate.core.OrderService;
import io.floodgate.core.RejectedException;
import io.floodgate.core.Rejection;
import io.floodgate.core.RequestContext;
import io.floodgate.core.domain.ItemSpec;
import io.floodgate.core.domain.ItemView;
import io.floodgate.core.domain.Order;
import io.floodgate.core.domain.OrderStatus;
import io.floodgate.core.domain.PlaceOrder;
import io.floodgate.flow.Admission;
import io.floodgate.observe.Diagnostics;
import io.floodgate.observe.Metrics;
import io.helidon.http.DirectHandler;
import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.http.HttpMediaType;
import io.helidon.webserver.http.DirectHandlers;
import io.helidon.webserver.http.Handler;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * The HTTP contract of API.md on Helidon SE: routes, request parsing and validation, auth,
 * problem+json errors, request ids and deadlines. Everything here is translation; decisions are
 * the core's ({@link OrderService}, {@link CatalogService}) and admission's ({@link Admission}).
 *
 * <p>Checks run in the precedence API.md fixes: the request itself (400/413/415), then
 * authentication (401/403), then rate limits (429), then overload (503), then the ledger.
 */
public final class HttpApi {

    private static final Logger LOG = LoggerFactory.getLogger(HttpApi.class);

    static final HeaderName X_REQUEST_ID = HeaderNames.create("X-Request-Id");
    static final HeaderName IDEMPOTENCY_KEY = HeaderNames.create("Idempotency-Key");
    static final HeaderName IDEMPOTENT_REPLAYED = HeaderNames.create("Idempotent-Replayed");
    static final HeaderName REQUEST_TIMEOUT = HeaderNames.create("Request-Timeout");
    private static final String JSON = "application/json";
    private static final String PROBLEM_JSON = "application/problem+json";
    private static final String MDC_REQUEST_ID = "requestId";
    private static final String MDC_ORDER_ID = "orderId";

    /** What the HTTP layer is told by configuration. */
    public record Settings(String adminToken, String userJwtSecret, int maxBodyBytes,
                           Duration defaultTimeout, Duration maxTimeout) {
        public Settings {
            Objects.requireNonNull(adminToken, "adminToken");
            if (maxBodyBytes < 1) {
                throw new IllegalArgumentException("maxBodyBytes must be >= 1, was " + maxBodyBytes);
            }
        }
    }

    private final OrderService orders;
    private final CatalogService catalog;
    private final Admission admission;
    private final Supplier<List<String>> downDependencies;
    private final Metrics metrics;
    private final Settings settings;
    private final byte[] adminToken;
    private final Jwt jwt;
    private final AtomicInteger inFlight = new AtomicInteger();
    private final byte[] dashboard;
    private final Clock clock;

    public HttpApi(OrderService orders, CatalogService catalog, Admission admission,
                   Supplier<List<String>> downDependencies, Metrics metrics, Settings settings, Clock clock) {
        this.orders = orders;
        this.catalog = catalog;
        this.admission = admission;
        this.downDependencies = downDependencies;
        this.metrics = metrics;
        this.settings = settings;
        this.adminToken = settings.adminToken().getBytes(StandardCharsets.UTF_8);
        this.jwt = settings.userJwtSecret() == null ? null : new Jwt(settings.userJwtSecret(), Json.MAPPER, clock);
        this.dashboard = resource("/static/index.html");
        this.clock = clock;
        metrics.gauge("floodgate.http.in.flight", "HTTP requests being served", inFlight::get);
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
                default -> "the HTTP request is malformed";
            };
            metrics.rejection(rejection.name());
            DirectHandler.TransportResponse.Builder response = DirectHandler.TransportResponse.builder()
                    .status(io.helidon.http.Status.create(rejection.status()))
                    .header(HeaderNames.CONTENT_TYPE, PROBLEM_JSON)
                    .header(X_REQUEST_ID, requestId);
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

    /** Requests being served now; the drain on shutdown waits for this to reach zero. */
    public int inFlight() {
        return inFlight.get();
    }

    public void routing(HttpRouting.Builder r) {
        r.addFilter((chain, req, res) -> {
            String requestId = req.headers().first(X_REQUEST_ID).filter(Ids::isKey).orElseGet(Ids::newRequestId);
            res.header(X_REQUEST_ID, requestId);
            inFlight.incrementAndGet();
            MDC.put(MDC_REQUEST_ID, requestId);
            try {
                Deadline deadline;
                try {
                    deadline = deadline(req);
                } catch (RejectedException e) {
                    problem(res, e.rejection(), e.detail(), requestId, 0, null);
                    return;
                }
                ScopedValue.where(RequestContext.CURRENT, new RequestContext(requestId, deadline)).run(chain::proceed);
            } finally {
                MDC.remove(MDC_REQUEST_ID);
                MDC.remove(MDC_ORDER_ID);
                inFlight.decrementAndGet();
            }
        });

        r.post("/api/v1/orders", endpoint("/api/v1/orders", this::placeOrder))
                .any("/api/v1/orders", notAllowed("POST"));
        r.get("/api/v1/orders/{orderId}", endpoint("/api/v1/orders/{orderId}", this::getOrder))
                .any("/api/v1/orders/{orderId}", notAllowed("GET"));
        r.post("/api/v1/orders/{orderId}/cancel", endpoint("/api/v1/orders/{orderId}/cancel", this::cancelOrder))
                .any("/api/v1/orders/{orderId}/cancel", notAllowed("POST"));
        r.get("/api/v1/users/{userId}/orders", endpoint("/api/v1/users/{userId}/orders", this::userOrders))
                .any("/api/v1/users/{userId}/orders", notAllowed("GET"));

        r.get("/api/v1/items", endpoint("/api/v1/items", this::listItems))
                .any("/api/v1/items", notAllowed("GET"));
        r.get("/api/v1/items/{sku}", endpoint("/api/v1/items/{sku}", this::getItem))
                .put("/api/v1/items/{sku}", endpoint("/api/v1/items/{sku}", this::putItem))
                .any("/api/v1/items/{sku}", notAllowed("GET, PUT"));
        r.post("/api/v1/items/{sku}/stock", endpoint("/api/v1/items/{sku}/stock", this::adjustStock))
                .any("/api/v1/items/{sku}/stock", notAllowed("POST"));

        r.get("/api/v1/stats", endpoint("/api/v1/stats", this::stats))
                .any("/api/v1/stats", notAllowed("GET"));

        r.get("/health/live", endpoint("/health/live", (req, res) -> json(res, 200, "{\"status\":\"UP\"}".getBytes(StandardCharsets.US_ASCII))))
                .any("/health/live", notAllowed("GET"));
        r.get("/health/ready", endpoint("/health/ready", this::ready))
                .any("/health/ready", notAllowed("GET"));
        r.get("/metrics", endpoint("/metrics", (req, res) -> {
            res.header(HeaderNames.CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
            res.send(metrics.scrape().getBytes(StandardCharsets.UTF_8));
        })).any("/metrics", notAllowed("GET"));
        r.get("/", endpoint("/", (req, res) -> {
            try (Admission.Permit permit = admission.admitRead()) {
                res.header(HeaderNames.CONTENT_TYPE, "text/html; charset=utf-8");
                res.send(dashboard);
            }
        })).any("/", notAllowed("GET"));
        r.get("/debug/threads", endpoint("/debug/threads", this::threads))
                .any("/debug/threads", notAllowed("GET"));
        r.post("/debug/profile", endpoint("/debug/profile", this::profile))
                .any("/debug/profile", notAllowed("POST"));

        r.any(endpoint("unmatched", (req, res) -> {
            throw new RejectedException(Rejection.NOT_FOUND, "no resource at " + Json.abbreviate(req.path().path()));
        }));
    }

    // ---- orders ---------------------------------------------------------------------------

    private void placeOrder(ServerRequest req, ServerResponse res) {
        JsonNode body = Json.flatObject(body(req));
        String key = req.headers().first(IDEMPOTENCY_KEY).orElse(null);
        if (key == null) {
            throw Json.invalid("Idempotency-Key", "header is required");
        }
        if (!Ids.isKey(key)) {
            throw Json.invalid("Idempotency-Key", "must be 1-64 characters of [A-Za-z0-9._:-]");
        }
        String userId = Json.requiredString(body, "userId");
        if (!Ids.isUserId(userId)) {
            throw Json.invalid("userId", "must be 1-64 characters of [A-Za-z0-9._:@-]");
        }
        String sku = Json.requiredString(body, "sku");
        if (!Ids.isSku(sku)) {
            throw Json.invalid("sku", "must be 1-64 characters of [A-Za-z0-9._-]");
        }
        int quantity = (int) Json.requiredLong(body, "quantity", 1, 1000);
        if (jwt != null) {
            String subject = userSubject(req);
            if (!subject.equals(userId)) {
                throw new RejectedException(Rejection.FORBIDDEN, "the token's subject is not userId " + userId);
            }
        }
        RequestContext context = RequestContext.CURRENT.get();
        OrderService.Placed placed;
        try (Admission.Permit permit = admission.admitOrder(userId, sku)) {
            try {
                placed = orders.place(new PlaceOrder(key, userId, sku, quantity), context.requestId(), context.deadline());
            } catch (RejectedException e) {
                if (e.rejection().status() >= 500) {
                    permit.dropped(); // timed out, shed or failed below: a sign of overload
                }
                throw e;
            } catch (RuntimeException e) {
                permit.dropped();
                throw e;
            }
        }
        Order order = placed.order();
        MDC.put(MDC_ORDER_ID, order.orderId());
        res.header(HeaderNames.LOCATION, "/api/v1/orders/" + order.orderId());
        if (placed.replayed()) {
            metrics.order("replayed");
            res.header(IDEMPOTENT_REPLAYED, "true");
            json(res, 200, Json.order(order));
        } else if (order.status() == OrderStatus.ACCEPTED) {
            metrics.order("accepted");
            json(res, 202, Json.order(order));
        } else {
            metrics.order("created");
            json(res, 201, Json.order(order));
        }
    }

    private void getOrder(ServerRequest req, ServerResponse res) throws Exception {
        String orderId = req.path().pathParameters().get("orderId");
        MDC.put(MDC_ORDER_ID, Json.abbreviate(orderId));
        Predicate<String> access = orderAccess(req);
        if (!Ids.isKey(orderId)) {
            throw unknownOrder(orderId);
        }
        try (Admission.Permit permit = admission.admitRead()) {
            json(res, 200, Json.order(withinDeadline(() -> orders.order(orderId, access))));
        }
    }

    private void cancelOrder(ServerRequest req, ServerResponse res) throws Exception {
        String orderId = req.path().pathParameters().get("orderId");
        MDC.put(MDC_ORDER_ID, Json.abbreviate(orderId));
        Predicate<String> access = orderAccess(req);
        if (!Ids.isKey(orderId)) {
            throw unknownOrder(orderId);
        }
        try (Admission.Permit permit = admission.admitCancel()) {
            json(res, 200, Json.order(withinDeadline(() -> orders.cancel(orderId, access))));
        }
    }

    /**
     * Runs store-bound work on a virtual thread of its own and waits for it no longer than the
     * request's deadline: JDBC timeouts count in whole seconds and a dead server's socket may
     * block longer, but the client is answered on time. Work that outlives its request finishes
     * in the background with the same effect (a cancel still returns its units), which is what a
     * 504 promises: the client may retry and find out.
     */
    private static <T> T withinDeadline(java.util.concurrent.Callable<T> work) throws Exception {
        RequestContext context = RequestContext.CURRENT.get();
        String requestId = context.requestId();
        java.util.concurrent.FutureTask<T> task = new java.util.concurrent.FutureTask<>(() -> {
            MDC.put(MDC_REQUEST_ID, requestId);
            try {
                return ScopedValue.where(RequestContext.CURRENT, context).call(work::call);
            } finally {
                MDC.remove(MDC_REQUEST_ID);
            }
        });
        Thread.ofVirtual().start(task);
        try {
            return task.get(context.deadline().remainingNanos(), java.util.concurrent.TimeUnit.NANOSECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            throw new RejectedException(Rejection.DEADLINE_EXCEEDED,
                    "the request's time budget ran out waiting for the store; retry to learn the outcome");
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof Exception cause) {
                throw cause;
            }
            throw e;
        }
    }

    private static RejectedException unknownOrder(String orderId) {
        return new RejectedException(Rejection.UNKNOWN_ORDER, "there is no order " + Json.abbreviate(orderId));
    }

    private void userOrders(ServerRequest req, ServerResponse res) throws Exception {
        String userId = req.path().pathParameters().get("userId");
        int limit = 50;
        if (req.query().contains("limit")) {
            String raw = req.query().get("limit");
            try {
                limit = Integer.parseInt(raw);
            } catch (NumberFormatException e) {
                limit = -1;
            }
            if (limit < 1 || limit > 500) {
                throw Json.invalid("limit", "must be an integer from 1 to 500, was '" + Json.abbreviate(raw) + "'");
            }
        }
        Predicate<String> access = orderAccess(req);
        if (!Ids.isUserId(userId)) {
            throw new RejectedException(Rejection.NOT_FOUND, "there is no user " + Json.abbreviate(userId));
        }
        if (!access.test(userId)) {
            throw new RejectedException(Rejection.FORBIDDEN, "the token's subject is not user " + userId);
        }
        int max = limit;
        try (Admission.Permit permit = admission.admitRead()) {
            json(res, 200, Json.orders(withinDeadline(() -> orders.ordersOfUser(userId, max))));
        }
    }

    /**
     * Who may see or cancel which user's orders: anyone when user auth is off; with it on, the
     * admin any user, a user token its own subject only.
     *
     * @throws RejectedException {@code UNAUTHENTICATED} when auth is on and no valid token came
     */
    private Predicate<String> orderAccess(ServerRequest req) {
        if (jwt == null || isAdmin(req)) {
            return user -> true;
        }
        String subject = userSubject(req);
        return subject::equals;
    }

    private String userSubject(ServerRequest req) {
        String token = bearer(req).orElseThrow(() -> new RejectedException(Rejection.UNAUTHENTICATED,
                "a user token is required: Authorization: Bearer <token>"));
        return jwt.subject(token).orElseThrow(() -> new RejectedException(Rejection.UNAUTHENTICATED,
                "the user token is invalid or expired"));
    }

    // ---- items ----------------------------------------------------------------------------

    private void listItems(ServerRequest req, ServerResponse res) {
        try (Admission.Permit permit = admission.admitRead()) {
            json(res, 200, Json.items(catalog.items()));
        }
    }

    private void getItem(ServerRequest req, ServerResponse res) {
        String sku = req.path().pathParameters().get("sku");
        try (Admission.Permit permit = admission.admitRead()) {
            ItemView view = (Ids.isSku(sku) ? catalog.item(sku) : Optional.<ItemView>empty())
                    .orElseThrow(() -> new RejectedException(Rejection.UNKNOWN_ITEM, "there is no item " + Json.abbreviate(sku)));
            json(res, 200, Json.item(view));
        }
    }

    private void putItem(ServerRequest req, ServerResponse res) throws Exception {
        String sku = req.path().pathParameters().get("sku");
        JsonNode body = Json.flatObject(body(req));
        if (!Ids.isSku(sku)) {
            throw Json.invalid("sku", "in the path must be 1-64 characters of [A-Za-z0-9._-]");
        }
        String name = Json.requiredString(body, "name");
        int nameLength = name.codePointCount(0, name.length());
        if (nameLength < 1 || nameLength > 200) {
            throw Json.invalid("name", "must be 1-200 characters, was " + nameLength);
        }
        long stock = Json.requiredLong(body, "stock", 0, 1_000_000_000L);
        int perUserLimit = (int) Json.optionalLong(body, "perUserLimit", 1, 1_000_000, 1);
        var startsAt = Json.optionalInstant(body, "startsAt");
        var endsAt = Json.optionalInstant(body, "endsAt");
        if (startsAt != null && endsAt != null && !endsAt.isAfter(startsAt)) {
            throw Json.invalid("endsAt", "must be after startsAt");
        }
        requireAdmin(req);
        ItemSpec spec = new ItemSpec(sku, name, stock, perUserLimit, startsAt, endsAt);
        CatalogService.Defined defined = withinDeadline(() -> catalog.putItem(spec));
        json(res, defined.created() ? 201 : 200, Json.item(defined.item()));
    }

    private void adjustStock(ServerRequest req, ServerResponse res) throws Exception {
        String sku = req.path().pathParameters().get("sku");
        JsonNode body = Json.flatObject(body(req));
        long delta = Json.requiredLong(body, "delta", -1_000_000_000L, 1_000_000_000L);
        requireAdmin(req);
        if (!Ids.isSku(sku)) {
            throw new RejectedException(Rejection.UNKNOWN_ITEM, "there is no item " + Json.abbreviate(sku));
        }
        json(res, 200, Json.item(withinDeadline(() -> catalog.adjustStock(sku, delta))));
    }

    // ---- operations -----------------------------------------------------------------------

    private void ready(ServerRequest req, ServerResponse res) {
        List<String> down = downDependencies.get();
        if (down.isEmpty()) {
            json(res, 200, "{\"status\":\"UP\"}".getBytes(StandardCharsets.US_ASCII));
            return;
        }
        problem(res, Rejection.NOT_READY, "not ready: " + String.join(", ", down) + " not answering",
                RequestContext.currentRequestId(), 0, g -> {
                    g.writeArrayFieldStart("down");
                    for (String d : down) {
                        g.writeString(d);
                    }
                    g.writeEndArray();
                });
    }

    /** The dashboard's figures: items, readiness and {@link Metrics#snapshot()}, read at once. */
    private void stats(ServerRequest req, ServerResponse res) {
        json(res, 200, Json.stats(clock.instant(), catalog.items(), downDependencies.get(), metrics.snapshot()));
    }

    private void threads(ServerRequest req, ServerResponse res) throws IOException {
        requireAdmin(req);
        res.header(HeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8");
        res.send(Diagnostics.threadDump().getBytes(StandardCharsets.UTF_8));
    }

    private void profile(ServerRequest req, ServerResponse res) throws IOException, InterruptedException {
        int seconds = 10;
        if (req.query().contains("seconds")) {
            String raw = req.query().get("seconds");
            try {
                seconds = Integer.parseInt(raw);
            } catch (NumberFormatException e) {
                seconds = -1;
            }
            if (seconds < 1 || seconds > 120) {
                throw Json.invalid("seconds", "must be an integer from 1 to 120, was '" + Json.abbreviate(raw) + "'");
            }
        }
        requireAdmin(req);
        byte[] jfr = Diagnostics.profile(Duration.ofSeconds(seconds));
        res.header(HeaderNames.CONTENT_TYPE, "application/octet-stream");
        res.header(HeaderNames.CONTENT_DISPOSITION, "attachment; filename=\"floodgate-" + System.currentTimeMillis() + ".jfr\"");
        res.send(jfr);
    }

    // ---- plumbing -------------------------------------------------------------------------

    @FunctionalInterface
    private interface Endpoint {
        void handle(ServerRequest req, ServerResponse res) throws Exception;
    }

    /** Wraps a route: rejections and failures become problems, and every answer is measured. */
    private Handler endpoint(String route, Endpoint endpoint) {
        return (req, res) -> {
            long start = System.nanoTime();
            try {
                endpoint.handle(req, res);
            } catch (RejectedException e) {
                problem(res, e.rejection(), e.detail(), RequestContext.currentRequestId(), e.retryAfterSeconds(), null);
            } catch (DependencyUnavailableException e) {
                problem(res, Rejection.DEPENDENCY_UNAVAILABLE, "the " + e.dependency()
                        + " is unavailable; nothing was changed", RequestContext.currentRequestId(), 1, null);
            } catch (Exception e) {
                LOG.error("unexpected failure on {} {}", req.prologue().method().text(), route, e);
                if (!res.isSent()) {
                    problem(res, Rejection.INTERNAL, "an unexpected error occurred; nothing was changed",
                            RequestContext.currentRequestId(), 0, null);
                }
            } finally {
                long nanos = System.nanoTime() - start;
                metrics.request(route, req.prologue().method().text(), res.status().code(), nanos);
                if (LOG.isDebugEnabled()) {
                    LOG.debug("{} {} -> {} in {} us", req.prologue().method().text(), route, res.status().code(), nanos / 1_000);
                }
            }
        };
    }

    private Handler notAllowed(String allow) {
        return endpoint("unmatched", (req, res) -> {
            res.header(HeaderNames.ALLOW, allow);
            throw new RejectedException(Rejection.METHOD_NOT_ALLOWED,
                    req.prologue().method().text() + " is not allowed here; allowed: " + allow);
        });
    }

    private void problem(ServerResponse res, Rejection rejection, String detail, String requestId,
                         long retryAfterSeconds, Json.Body extra) {
        metrics.rejection(rejection.name());
        res.status(rejection.status());
        if (retryAfterSeconds > 0) {
            res.header(HeaderNames.RETRY_AFTER, Long.toString(retryAfterSeconds));
        }
        res.header(HeaderNames.CONTENT_TYPE, PROBLEM_JSON);
        res.send(Json.problem(rejection, detail, requestId, extra));
    }

    private static void json(ServerResponse res, int status, byte[] body) {
        res.status(status);
        res.header(HeaderNames.CONTENT_TYPE, JSON);
        res.send(body);
    }

    /** Reads a JSON body of at most the configured size: 413 above it, 415 if it is not JSON. */
    private byte[] body(ServerRequest req) {
        OptionalLong declared = req.headers().contentLength();
        if (declared.isPresent() && declared.getAsLong() > settings.maxBodyBytes()) {
            throw tooLarge();
        }
        Optional<HttpMediaType> type;
        try {
            type = req.headers().contentType();
        } catch (RuntimeException e) { // not a media type at all
            throw new RejectedException(Rejection.UNSUPPORTED_MEDIA_TYPE, "the body must be application/json, was '"
                    + Json.abbreviate(req.headers().first(HeaderNames.CONTENT_TYPE).orElse("")) + "'");
        }
        if (type.isEmpty() || !"application".equalsIgnoreCase(type.get().type())
                || !"json".equalsIgnoreCase(type.get().subtype())) {
            throw new RejectedException(Rejection.UNSUPPORTED_MEDIA_TYPE, "the body must be application/json, was "
                    + type.map(t -> "'" + Json.abbreviate(t.mediaType().text()) + "'").orElse("no Content-Type"));
        }
        if (!req.content().hasEntity()) {
            return new byte[0];
        }
        try (InputStream in = req.content().inputStream()) {
            if (declared.isPresent() && declared.getAsLong() >= 0 && !req.headers().contains(HeaderNames.TRANSFER_ENCODING)) {
                // Exactly the declared length: readNBytes(max + 1) allocated and zeroed a 16 KB
                // chunk per request for an 80-byte order, 9% of the CPU when most were shed. Not
                // with Transfer-Encoding, where the body is chunked whatever Content-Length says
                // (Helidon refuses that pair as malformed before routing; this holds regardless).
                return in.readNBytes((int) declared.getAsLong());
            }
            byte[] bytes = in.readNBytes(settings.maxBodyBytes() + 1);
            if (bytes.length > settings.maxBodyBytes()) {
                throw tooLarge();
            }
            return bytes;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private RejectedException tooLarge() {
        return new RejectedException(Rejection.PAYLOAD_TOO_LARGE,
                "the body is larger than " + settings.maxBodyBytes() + " bytes");
    }

    private Deadline deadline(ServerRequest req) {
        Optional<String> header = req.headers().first(REQUEST_TIMEOUT);
        long millis = settings.defaultTimeout().toMillis();
        if (header.isPresent()) {
            try {
                millis = Long.parseLong(header.get().trim());
            } catch (NumberFormatException e) {
                millis = -1;
            }
            if (millis < 1) {
                throw Json.invalid("Request-Timeout", "must be a positive integer of milliseconds");
            }
            millis = Math.min(millis, settings.maxTimeout().toMillis());
        }
        return Deadline.afterMillis(millis);
    }

    private Optional<String> bearer(ServerRequest req) {
        return req.headers().first(HeaderNames.AUTHORIZATION)
                .filter(h -> h.regionMatches(true, 0, "Bearer ", 0, 7))
                .map(h -> h.substring(7).trim())
                .filter(t -> !t.isEmpty());
    }

    private boolean isAdmin(ServerRequest req) {
        return bearer(req).map(t -> MessageDigest.isEqual(t.getBytes(StandardCharsets.UTF_8), adminToken)).orElse(false);
    }

    private void requireAdmin(ServerRequest req) {
        if (!isAdmin(req)) {
            throw new RejectedException(Rejection.UNAUTHENTICATED, "an admin token is required: Authorization: Bearer <admin token>");
        }
    }

    private static byte[] resource(String path) {
        try (InputStream in = HttpApi.class.getResourceAsStream(path)) {
            if (in == null) {
                throw new IllegalStateException("resource " + path + " is missing from the build");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
