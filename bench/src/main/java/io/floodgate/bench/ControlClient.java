package io.floodgate.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The bench's calls that are not load: creating the item, reading its view, listing a user's
 * orders. Off the hot path, so the JDK's HttpClient and Jackson, with a few retries for answers
 * that say "try again" (429, 503, 504, no answer), because a verification that gives up on the
 * first shed request would report the service's overload as a broken invariant. (A 504 on a read
 * is "the order log has not yet written every accepted order; retry to read it": seen through
 * nginx on a loaded machine, where the first list of a user's orders outlived its 1 s budget.)
 */
final class ControlClient implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int ATTEMPTS = 5;

    private final HttpClient client;
    private final URI base;
    private final String adminToken;
    private final Duration timeout;

    /** The item view of API.md. */
    record Item(String sku, long stock, long available, int perUserLimit, String state) {
        long sold() {
            return stock - available;
        }
    }

    /** One order as the store reports it. */
    record StoredOrder(String orderId, String sku, String userId, int quantity, String status, String requestId) {
        boolean cancelled() {
            return "CANCELLED".equals(status);
        }
    }

    /** A call that did not get the answer it needed: names the call and what came back. */
    static final class ControlException extends RuntimeException {
        ControlException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    ControlClient(URI base, String adminToken, Duration timeout) {
        this.client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(timeout).build();
        this.base = base;
        this.adminToken = adminToken;
        this.timeout = timeout;
    }

    URI base() {
        return base;
    }

    /** Creates or replaces the item (admin); 409 ITEM_LOCKED when it already had orders. */
    Item putItem(String sku, String name, long stock, int perUserLimit) {
        return putItem(sku, name, stock, perUserLimit, 0, 0);
    }

    /**
     * Creates or replaces the item with payment terms: a window of {@code windowSeconds} (0: none)
     * and a price of {@code priceMinor} EUR a unit (with a window only).
     */
    Item putItem(String sku, String name, long stock, int perUserLimit, int windowSeconds, long priceMinor) {
        String terms = windowSeconds <= 0 ? "" : ",\"paymentWindowSeconds\":" + windowSeconds
                + ",\"price\":{\"amountMinor\":" + priceMinor + ",\"currency\":\"EUR\"}";
        String body = "{\"name\":" + JSON.valueToTree(name) + ",\"stock\":" + stock + ",\"perUserLimit\":" + perUserLimit
                + terms + "}";
        HttpResponse<String> res = call("PUT", "/api/v1/items/" + sku, body, true);
        if (res.statusCode() != 200 && res.statusCode() != 201) {
            throw new ControlException("creating item " + sku + " at " + base + " was answered " + res.statusCode()
                    + ": " + abbreviate(res.body()), null);
        }
        return item(parse(res));
    }

    /** The item view, or empty on 404. */
    Optional<Item> item(String sku) {
        HttpResponse<String> res = call("GET", "/api/v1/items/" + sku, null, false);
        if (res.statusCode() == 404) {
            return Optional.empty();
        }
        if (res.statusCode() != 200) {
            throw new ControlException("GET /api/v1/items/" + sku + " at " + base + " was answered "
                    + res.statusCode() + ": " + abbreviate(res.body()), null);
        }
        return Optional.of(item(parse(res)));
    }

    /** {@code GET /health/live}: true on 200. */
    boolean live() {
        try {
            return call("GET", "/health/live", null, false).statusCode() == 200;
        } catch (ControlException e) {
            return false;
        }
    }

    /** A user's orders, newest first, at most 500 (the API's largest page). */
    List<StoredOrder> ordersOfUser(String userId) {
        HttpResponse<String> res = call("GET", "/api/v1/users/" + userId + "/orders?limit=500", null, true);
        if (res.statusCode() != 200) {
            throw new ControlException("GET /api/v1/users/" + userId + "/orders at " + base + " was answered "
                    + res.statusCode() + ": " + abbreviate(res.body()), null);
        }
        List<StoredOrder> orders = new ArrayList<>();
        for (JsonNode o : parse(res).path("orders")) {
            orders.add(new StoredOrder(o.path("orderId").asText(), o.path("sku").asText(), o.path("userId").asText(),
                    o.path("quantity").asInt(), o.path("status").asText(), o.path("requestId").asText(null)));
        }
        return orders;
    }

    /** The order view (admin), or empty on 404. */
    Optional<JsonNode> order(String orderId) {
        HttpResponse<String> res = call("GET", "/api/v1/orders/" + orderId, null, true);
        if (res.statusCode() == 404) {
            return Optional.empty();
        }
        if (res.statusCode() != 200) {
            throw new ControlException("GET /api/v1/orders/" + orderId + " at " + base + " was answered "
                    + res.statusCode() + ": " + abbreviate(res.body()), null);
        }
        return Optional.of(parse(res));
    }

    /** One page of order events after {@code cursor} (admin), waiting up to {@code waitSeconds} for the first. */
    record EventPage(List<JsonNode> events, String next) {
    }

    EventPage events(String cursor, int limit, int waitSeconds) {
        HttpResponse<String> res = call("GET", "/api/v1/events?after=" + cursor + "&limit=" + limit + "&wait="
                + waitSeconds, null, true);
        if (res.statusCode() != 200) {
            throw new ControlException("GET /api/v1/events at " + base + " was answered " + res.statusCode() + ": "
                    + abbreviate(res.body()), null);
        }
        JsonNode page = parse(res);
        List<JsonNode> events = new ArrayList<>();
        page.path("events").forEach(events::add);
        return new EventPage(events, page.path("next").asText(cursor));
    }

    /** The answer to a payment callback: its status, and the order's payment state when 200 (else the problem's code). */
    record CallbackAnswer(int status, String stateOrCode) {
    }

    /** Posts a signed payment callback (the provider's side), retried on 429 and 503 like every call here. */
    CallbackAnswer callback(String body, String signature) {
        HttpResponse<String> res = call("POST", "/api/v1/payments/callback", body, false,
                java.util.Map.of("Floodgate-Signature", signature));
        JsonNode answer = parse(res);
        return new CallbackAnswer(res.statusCode(), res.statusCode() == 200
                ? answer.path("payment").path("state").asText() : answer.path("code").asText());
    }

    private static Item item(JsonNode n) {
        return new Item(n.path("sku").asText(), n.path("stock").asLong(), n.path("available").asLong(),
                n.path("perUserLimit").asInt(1), n.path("state").asText());
    }

    private HttpResponse<String> call(String method, String path, String body, boolean admin) {
        return call(method, path, body, admin, java.util.Map.of());
    }

    private HttpResponse<String> call(String method, String path, String body, boolean admin,
                                      java.util.Map<String, String> headers) {
        IOException last = null;
        HttpResponse<String> res = null;
        for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
            HttpRequest.Builder b = HttpRequest.newBuilder(base.resolve(path)).timeout(timeout);
            headers.forEach(b::header);
            if (admin && adminToken != null) {
                b.header("Authorization", "Bearer " + adminToken);
            }
            if (body != null) {
                b.header("Content-Type", "application/json").method(method, HttpRequest.BodyPublishers.ofString(body));
            } else {
                b.method(method, HttpRequest.BodyPublishers.noBody());
            }
            try {
                res = client.send(b.build(), HttpResponse.BodyHandlers.ofString());
                if (res.statusCode() != 429 && res.statusCode() != 503 && res.statusCode() != 504) {
                    return res;
                }
            } catch (IOException e) {
                last = e;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new ControlException(method + " " + path + " at " + base + " was interrupted", e);
            }
            try {
                Thread.sleep(100L << attempt);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new ControlException(method + " " + path + " at " + base + " was interrupted", e);
            }
        }
        if (res != null) {
            return res;
        }
        throw new ControlException(method + " " + path + " at " + base + " got no answer after " + ATTEMPTS
                + " attempts: " + last, last);
    }

    private static JsonNode parse(HttpResponse<String> res) {
        try {
            return JSON.readTree(res.body());
        } catch (IOException e) {
            throw new ControlException("the answer from " + res.uri() + " is not JSON: " + abbreviate(res.body()), e);
        }
    }

    private static String abbreviate(String s) {
        return s == null ? "" : s.length() > 300 ? s.substring(0, 300) + "..." : s;
    }

    @Override
    public void close() {
        client.close();
    }
}
