package io.floodgate.http;

import com.fasterxml.jackson.databind.JsonNode;
import io.floodgate.core.EventFeed;
import io.floodgate.core.PaymentService;
import io.floodgate.core.RejectedException;
import io.floodgate.core.Rejection;
import io.floodgate.core.domain.OrderEvent;
import io.floodgate.core.domain.PaymentCallback;
import io.floodgate.core.domain.Price;
import io.floodgate.flow.Admission;
import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import org.slf4j.MDC;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;

import static io.floodgate.http.Problems.json;
import static io.floodgate.http.RequestScope.withinDeadline;

/**
 * {@code POST /api/v1/payments/callback} (the payment provider, signed) and
 * {@code GET /api/v1/events} (the admin's order events, by cursor, long-poll or Server-Sent Events).
 *
 * <p>The callback's checks run in API.md's precedence: the request itself (413/415, then 400 for
 * the body's fields), then the signature over the raw bytes (401), then the callback's own rate
 * limit and concurrency cap (429/503: {@link Admission#admitPayment()}, apart from order placement's
 * limit), then the store's verdict.
 */
final class PaymentRoutes implements HttpService {

    static final HeaderName SIGNATURE = HeaderNames.create("Floodgate-Signature");
    private static final HeaderName LAST_EVENT_ID = HeaderNames.create("Last-Event-ID");
    private static final int DEFAULT_LIMIT = 100;
    private static final int MAX_LIMIT = 1_000;
    private static final int MAX_WAIT_SECONDS = 30;

    private final PaymentService payments;
    private final EventFeed events;
    /** Null when no secret is configured: callbacks are off (404). */
    private final PaymentSignatures signatures;
    private final Admission admission;
    private final Auth auth;
    private final Bodies bodies;
    private final Problems problems;

    PaymentRoutes(PaymentService payments, EventFeed events, PaymentSignatures signatures, Admission admission,
                  Auth auth, Bodies bodies, Problems problems) {
        this.payments = payments;
        this.events = events;
        this.signatures = signatures;
        this.admission = admission;
        this.auth = auth;
        this.bodies = bodies;
        this.problems = problems;
    }

    @Override
    public void routing(HttpRules r) {
        r.post("/api/v1/payments/callback", problems.endpoint("/api/v1/payments/callback", this::callback))
                .any("/api/v1/payments/callback", problems.notAllowed("POST"));
        r.get("/api/v1/events", problems.endpoint("/api/v1/events", this::events))
                .any("/api/v1/events", problems.notAllowed("GET"));
    }

    private void callback(ServerRequest req, ServerResponse res) throws Exception {
        if (signatures == null) {
            throw new RejectedException(Rejection.NOT_FOUND, "payment callbacks are off: no FLOODGATE_PAYMENT_SECRET is"
                    + " configured");
        }
        byte[] raw = bodies.read(req);
        PaymentCallback callback = parse(Json.flatObject(raw));
        MDC.put(RequestScope.MDC_ORDER_ID, callback.orderId());
        try {
            signatures.verify(req.headers().first(SIGNATURE).orElse(null), raw);
        } catch (PaymentSignatures.Refused e) {
            throw new RejectedException(Rejection.UNAUTHENTICATED, "the payment callback's signature was refused: "
                    + e.getMessage() + "; nothing was changed");
        }
        try (Admission.Permit permit = admission.admitPayment()) {
            json(res, 200, Json.order(withinDeadline(() -> payments.callback(callback))));
        }
    }

    private static PaymentCallback parse(JsonNode body) {
        String paymentId = Json.requiredString(body, "paymentId");
        if (!Ids.isIdempotencyKey(paymentId)) {
            throw Json.invalid("paymentId", "must be 1-64 characters of [A-Za-z0-9._:-]");
        }
        String orderId = Json.requiredString(body, "orderId");
        if (!Ids.couldBeOrderId(orderId)) {
            throw Json.invalid("orderId", "must be 1-64 characters of [A-Za-z0-9._:-]");
        }
        String status = Json.requiredString(body, "status");
        PaymentCallback.Status parsed = switch (status) {
            case "SUCCEEDED" -> PaymentCallback.Status.SUCCEEDED;
            case "FAILED" -> PaymentCallback.Status.FAILED;
            default -> throw Json.invalid("status", "must be SUCCEEDED or FAILED, was '" + Json.abbreviate(status) + "'");
        };
        long amount = Json.requiredLong(body, "amountMinor", 0, Price.MAX_AMOUNT_MINOR);
        String currency = Json.requiredString(body, "currency");
        if (!Price.isCurrencyCode(currency)) {
            throw Json.invalid("currency", "must be an ISO 4217 code such as EUR, was '" + Json.abbreviate(currency) + "'");
        }
        return new PaymentCallback(paymentId, orderId, parsed, amount, currency);
    }

    private void events(ServerRequest req, ServerResponse res) throws Exception {
        long after = cursor(req.headers().first(LAST_EVENT_ID).orElse(
                req.query().contains("after") ? req.query().get("after") : null));
        int limit = Json.intParameter("limit", req.query().contains("limit") ? req.query().get("limit") : null,
                DEFAULT_LIMIT, 1, MAX_LIMIT);
        boolean stream = req.headers().first(HeaderNames.ACCEPT).map(a -> a.contains("text/event-stream")).orElse(false);
        int wait = Json.intParameter("wait", req.query().contains("wait") ? req.query().get("wait") : null,
                stream ? MAX_WAIT_SECONDS : 0, 0, MAX_WAIT_SECONDS);
        auth.requireAdmin(req);
        List<OrderEvent> first;
        try (Admission.Permit permit = admission.admitRead()) {
            first = withinDeadline(() -> events.read(after, limit, Duration.ZERO));
        }
        if (stream) {
            stream(res, after, limit, first, Duration.ofSeconds(wait));
            return;
        }
        List<OrderEvent> found = first.isEmpty() && wait > 0 ? events.read(after, limit, Duration.ofSeconds(wait)) : first;
        long next = found.isEmpty() ? after : found.getLast().position();
        json(res, 200, Json.write(g -> {
            g.writeStartObject();
            g.writeArrayFieldStart("events");
            for (OrderEvent e : found) {
                Json.writeCloudEvent(g, e);
            }
            g.writeEndArray();
            g.writeStringField("next", Long.toString(next));
            g.writeEndObject();
        }));
    }

    /**
     * Server-Sent Events for {@code duration}: each event as it is stamped ({@code id:} its cursor,
     * {@code event:} its CloudEvents type), then the stream ends; a client's EventSource reconnects
     * with {@code Last-Event-ID} and goes on where it stopped. Bounded, so that a drain on shutdown
     * and the waiting readers' cap are never held for long.
     */
    private void stream(ServerResponse res, long after, int limit, List<OrderEvent> first, Duration duration) {
        res.status(200);
        res.header(HeaderNames.CONTENT_TYPE, "text/event-stream");
        res.header(HeaderNames.CACHE_CONTROL, "no-cache");
        long until = System.nanoTime() + duration.toNanos();
        long cursor = after;
        List<OrderEvent> batch = first;
        try (OutputStream out = res.outputStream()) {
            out.write(": floodgate order events\n\n".getBytes(StandardCharsets.UTF_8));
            out.flush();
            while (true) {
                for (OrderEvent e : batch) {
                    out.write(("id: " + e.position() + "\nevent: " + e.type().cloudEventType() + "\ndata: ")
                            .getBytes(StandardCharsets.UTF_8));
                    out.write(EventViews.cloudEvent(e));
                    out.write("\n\n".getBytes(StandardCharsets.UTF_8));
                    cursor = e.position();
                }
                out.flush();
                long left = until - System.nanoTime();
                if (left <= 0) {
                    return;
                }
                try {
                    batch = events.read(cursor, limit, Duration.ofNanos(left));
                } catch (RejectedException | io.floodgate.core.DependencyUnavailableException e) {
                    return; // too many waiting, or the store is away: the client reconnects from its last id
                }
            }
        } catch (IOException e) {
            // the client went away: nothing to answer
        }
    }

    /** The cursor: a position, decimal, 0 (or absent) for the start. */
    private static long cursor(String raw) {
        if (raw == null || raw.isEmpty()) {
            return 0;
        }
        try {
            long value = Long.parseLong(raw);
            if (value >= 0) {
                return value;
            }
        } catch (NumberFormatException e) {
            // below
        }
        throw Json.invalid("after", "must be a cursor from an earlier answer's next, was '" + Json.abbreviate(raw) + "'");
    }
}
