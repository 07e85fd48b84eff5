package io.floodgate.http;

import com.fasterxml.jackson.databind.JsonNode;
import io.floodgate.core.OrderService;
import io.floodgate.core.RejectedException;
import io.floodgate.core.Rejection;
import io.floodgate.core.RequestContext;
import io.floodgate.core.domain.Order;
import io.floodgate.core.domain.OrderStatus;
import io.floodgate.core.domain.PlaceOrder;
import io.floodgate.flow.Admission;
import io.floodgate.observe.Metrics;
import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import org.slf4j.MDC;

import java.util.function.Predicate;

import static io.floodgate.http.Problems.json;
import static io.floodgate.http.RequestScope.withinDeadline;

/**
 * {@code /api/v1/orders} and a user's orders: placing (idempotent by key), reading, cancelling.
 * Checks run in the precedence API.md fixes: the request itself (400/413/415), then
 * authentication (401/403), then rate limits (429) and overload (503) in admission, then the
 * ledger's verdict in the core.
 */
final class OrderRoutes implements HttpService {

    static final HeaderName IDEMPOTENCY_KEY = HeaderNames.create("Idempotency-Key");
    static final HeaderName IDEMPOTENT_REPLAYED = HeaderNames.create("Idempotent-Replayed");

    private final OrderService orders;
    private final Admission admission;
    private final Auth auth;
    private final Bodies bodies;
    private final Problems problems;
    private final Metrics metrics;

    OrderRoutes(OrderService orders, Admission admission, Auth auth, Bodies bodies, Problems problems, Metrics metrics) {
        this.orders = orders;
        this.admission = admission;
        this.auth = auth;
        this.bodies = bodies;
        this.problems = problems;
        this.metrics = metrics;
    }

    @Override
    public void routing(HttpRules r) {
        r.post("/api/v1/orders", problems.endpoint("/api/v1/orders", this::place))
                .any("/api/v1/orders", problems.notAllowed("POST"));
        r.get("/api/v1/orders/{orderId}", problems.endpoint("/api/v1/orders/{orderId}", this::get))
                .head("/api/v1/orders/{orderId}", problems.head("/api/v1/orders/{orderId}", this::get))
                .any("/api/v1/orders/{orderId}", problems.notAllowed("GET, HEAD"));
        r.post("/api/v1/orders/{orderId}/cancel", problems.endpoint("/api/v1/orders/{orderId}/cancel", this::cancel))
                .any("/api/v1/orders/{orderId}/cancel", problems.notAllowed("POST"));
        r.get("/api/v1/users/{userId}/orders", problems.endpoint("/api/v1/users/{userId}/orders", this::ofUser))
                .head("/api/v1/users/{userId}/orders", problems.head("/api/v1/users/{userId}/orders", this::ofUser))
                .any("/api/v1/users/{userId}/orders", problems.notAllowed("GET, HEAD"));
    }

    private void place(ServerRequest req, ServerResponse res) {
        byte[] bytes = bodies.read(req);
        // the plain form by hand, anything else by Jackson: the same values, the same verdicts
        OrderBody plain = OrderBody.parse(bytes);
        JsonNode body = plain == null ? Json.flatObject(bytes) : null;
        String key = req.headers().first(IDEMPOTENCY_KEY).orElse(null);
        if (key == null) {
            throw Json.invalid("Idempotency-Key", "header is required");
        }
        if (!Ids.isIdempotencyKey(key)) {
            throw Json.invalid("Idempotency-Key", "must be 1-64 characters of [A-Za-z0-9._:-]");
        }
        String userId = plain != null ? plain.userId() : Json.requiredString(body, "userId");
        if (!Ids.isUserId(userId)) {
            throw Json.invalid("userId", "must be 1-64 characters of [A-Za-z0-9._:@-]");
        }
        String sku = plain != null ? plain.sku() : Json.requiredString(body, "sku");
        if (!Ids.isSku(sku)) {
            throw Json.invalid("sku", "must be 1-64 characters of [A-Za-z0-9._-]");
        }
        int quantity = plain != null ? plain.quantity() : (int) Json.requiredLong(body, "quantity", 1, 1000);
        auth.requireUser(req, userId);
        RequestContext context = RequestContext.CURRENT.get();
        OrderService.Placed placed;
        try (Admission.Permit permit = admission.admitOrder(userId, sku)) {
            try {
                placed = orders.place(new PlaceOrder(key, userId, sku, quantity), context.requestId(), context.deadline());
            } catch (RejectedException e) {
                if (ProblemType.isServiceFailure(e.rejection())) {
                    permit.dropped(); // timed out, shed or failed below: a sign of overload
                }
                throw e;
            } catch (RuntimeException e) {
                permit.dropped();
                throw e;
            }
        }
        Order order = placed.order();
        MDC.put(RequestScope.MDC_ORDER_ID, order.orderId());
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

    private void get(ServerRequest req, ServerResponse res) throws Exception {
        String orderId = orderId(req);
        Predicate<String> access = auth.orderAccess(req);
        try (Admission.Permit permit = admission.admitRead()) {
            json(res, 200, Json.order(withinDeadline(() -> orders.order(orderId, access))));
        }
    }

    private void cancel(ServerRequest req, ServerResponse res) throws Exception {
        String orderId = orderId(req);
        Predicate<String> access = auth.orderAccess(req);
        try (Admission.Permit permit = admission.admitCancel()) {
            json(res, 200, Json.order(withinDeadline(() -> orders.cancel(orderId, access))));
        }
    }

    /** The path's order id, in the MDC; a form no order id has is 404 (after auth, as for any order). */
    private String orderId(ServerRequest req) {
        String orderId = req.path().pathParameters().get("orderId");
        // decoded from the path, so anything a client typed: escaped before it reaches a log line
        MDC.put(RequestScope.MDC_ORDER_ID, LogText.of(orderId));
        if (!Ids.couldBeOrderId(orderId)) {
            auth.orderAccess(req);
            throw new RejectedException(Rejection.UNKNOWN_ORDER, "there is no order " + Json.abbreviate(orderId));
        }
        return orderId;
    }

    private void ofUser(ServerRequest req, ServerResponse res) throws Exception {
        String userId = req.path().pathParameters().get("userId");
        int limit = Json.intParameter("limit", req.query().contains("limit") ? req.query().get("limit") : null, 50, 1, 500);
        Predicate<String> access = auth.orderAccess(req);
        if (!Ids.isUserId(userId)) {
            throw new RejectedException(Rejection.NOT_FOUND, "there is no user " + Json.abbreviate(userId));
        }
        if (!access.test(userId)) {
            throw new RejectedException(Rejection.FORBIDDEN, "the token's subject is not user " + userId);
        }
        try (Admission.Permit permit = admission.admitRead()) {
            json(res, 200, Json.orders(withinDeadline(() -> orders.ordersOfUser(userId, limit))));
        }
    }
}
