package io.floodgate.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.MissingNode;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/** A small client of the Floodgate HTTP API for tests, over the JDK's HttpClient. */
public final class Api {

    public static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient CLIENT = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .build();

    private final String base;
    private final String adminToken;
    private final Duration timeout;

    public Api(String base, String adminToken) {
        this(base, adminToken, Duration.ofSeconds(60));
    }

    /** A client whose requests give up after {@code timeout} (an {@link java.net.http.HttpTimeoutException}). */
    public Api(String base, String adminToken, Duration timeout) {
        this.base = base;
        this.adminToken = adminToken;
        this.timeout = timeout;
    }

    public String base() {
        return base;
    }

    public String adminToken() {
        return adminToken;
    }

    /** One response: status, headers, raw body and the body as JSON (missing when not JSON). */
    public record Response(int status, HttpResponse<String> raw, JsonNode json) {
        public Optional<String> header(String name) {
            return raw.headers().firstValue(name);
        }

        public String body() {
            return raw.body();
        }

        public String code() {
            return json.path("code").asText(null);
        }

        @Override
        public String toString() {
            return status + " " + raw.body();
        }
    }

    public Response send(String method, String path, String body, Map<String, String> headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(timeout);
        headers.forEach(b::header);
        b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        try {
            HttpResponse<String> r = CLIENT.send(b.build(), HttpResponse.BodyHandlers.ofString());
            JsonNode json;
            try {
                json = r.body().isEmpty() ? MissingNode.getInstance() : JSON.readTree(r.body());
            } catch (IOException e) {
                json = MissingNode.getInstance();
            }
            return new Response(r.statusCode(), r, json == null ? MissingNode.getInstance() : json);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    public Response get(String path) {
        return send("GET", path, null, Map.of());
    }

    public Response adminGet(String path) {
        return send("GET", path, null, Map.of("Authorization", "Bearer " + adminToken));
    }

    public Response putItem(String sku, String json) {
        return send("PUT", "/api/v1/items/" + sku, json, Map.of("Content-Type", "application/json",
                "Authorization", "Bearer " + adminToken));
    }

    public Response putItem(String sku, String name, long stock, int perUserLimit) {
        return putItem(sku, "{\"name\":\"" + name + "\",\"stock\":" + stock + ",\"perUserLimit\":" + perUserLimit + "}");
    }

    public Response addStock(String sku, long delta) {
        return send("POST", "/api/v1/items/" + sku + "/stock", "{\"delta\":" + delta + "}",
                Map.of("Content-Type", "application/json", "Authorization", "Bearer " + adminToken));
    }

    public Response order(String key, String userId, String sku, int quantity) {
        return order(key, "{\"userId\":\"" + userId + "\",\"sku\":\"" + sku + "\",\"quantity\":" + quantity + "}", Map.of());
    }

    public Response order(String key, String body, Map<String, String> extraHeaders) {
        Map<String, String> headers = new LinkedHashMap<>();
        headers.put("Content-Type", "application/json");
        if (key != null) {
            headers.put("Idempotency-Key", key);
        }
        headers.putAll(extraHeaders);
        return send("POST", "/api/v1/orders", body, headers);
    }

    public Response cancel(String orderId) {
        return send("POST", "/api/v1/orders/" + orderId + "/cancel", null, Map.of("Authorization", "Bearer " + adminToken));
    }

    public Response item(String sku) {
        return get("/api/v1/items/" + sku);
    }
}
