package io.floodgate.http;

import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.floodgate.testing.Api;
import io.floodgate.testing.TestFloodgate;
import org.assertj.core.api.SoftAssertions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.math.BigInteger;
import java.net.http.HttpHeaders;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static io.floodgate.http.HttpTestSupport.ADMIN;
import static io.floodgate.http.HttpTestSupport.REQUEST_ID;
import static io.floodgate.http.HttpTestSupport.assertProblem;
import static io.floodgate.http.HttpTestSupport.assertProblemShape;
import static io.floodgate.http.HttpTestSupport.elements;
import static io.floodgate.http.HttpTestSupport.repeat;
import static io.floodgate.http.HttpTestSupport.utf8;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Crafted and random bad input, black box over HTTP: every bad request to the order and item
 * endpoints gets exactly the status and code API.md gives it, and changes nothing; a few hundred
 * random mutations of a valid order are each answered as the contract says (checked against a
 * model of the ledger), never 5xx, and leave stock = available + units of live orders.
 *
 * <p>Replay a fuzz run with {@code -Dfuzz.seed=<seed printed at the start>}.
 */
class BadInputTest {

    private static final String ITEM = "BAD-1";
    private static final String REPLACEABLE = "BAD-PUT";
    private static final String USER = "bad-user";
    private static final String VALID_ORDER = "{\"userId\":\"" + USER + "\",\"sku\":\"" + ITEM + "\",\"quantity\":1}";
    private static final String VALID_ITEM = "{\"name\":\"Replaced\",\"stock\":99,\"perUserLimit\":3}";
    private static final int MAX_BODY = 16 * 1024;
    private static final AtomicInteger KEYS = new AtomicInteger();

    private static TestFloodgate server;
    private static Api api;

    @BeforeAll
    static void start() {
        server = TestFloodgate.start();
        api = server.api;
        assertThat(api.putItem(ITEM, "Bad input target", 50, 5).status()).isEqualTo(201);
        assertThat(api.putItem(REPLACEABLE, "Original", 7, 2).status()).isEqualTo(201);
        assertThat(api.order("fixture-1", USER, ITEM, 1).status()).isEqualTo(201);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    // ==== crafted cases =============================================================================

    /** One bad request and the one answer API.md gives it; {@code field} is what detail must name. */
    record Case(String name, String method, String path, Map<String, String> headers, byte[] body, boolean chunked,
                int status, String code, String field) {
    }

    private static Arguments named(String name, Case c) {
        return Arguments.of(Named.of(name, new Case(name, c.method(), c.path(), c.headers(), c.body(), c.chunked(),
                c.status(), c.code(), c.field())));
    }

    private static String freshKey() {
        return "bad-key-" + KEYS.incrementAndGet();
    }

    private static Map<String, String> orderHeaders(String key) {
        Map<String, String> h = new LinkedHashMap<>();
        h.put("Content-Type", "application/json");
        if (key != null) {
            h.put("Idempotency-Key", key);
        }
        return h;
    }

    private static Arguments order(String name, String body, String field) {
        return named("order: " + name, new Case(null, "POST", "/api/v1/orders", orderHeaders(freshKey()), utf8(body), false,
                400, "INVALID_REQUEST", field));
    }

    private static Arguments orderBytes(String name, byte[] body, String field) {
        return named("order: " + name, new Case(null, "POST", "/api/v1/orders", orderHeaders(freshKey()), body, false,
                400, "INVALID_REQUEST", field));
    }

    private static Arguments orderWithQuantity(String raw) {
        return order("quantity " + abbreviate(raw), "{\"userId\":\"" + USER + "\",\"sku\":\"" + ITEM + "\",\"quantity\":"
                + raw + "}", "quantity");
    }

    private static Arguments orderWithUserId(String name, String rawJsonValue) {
        return order("userId " + name, "{\"userId\":" + rawJsonValue + ",\"sku\":\"" + ITEM + "\",\"quantity\":1}", "userId");
    }

    private static Arguments orderWithSku(String name, String rawJsonValue) {
        return order("sku " + name, "{\"userId\":\"" + USER + "\",\"sku\":" + rawJsonValue + ",\"quantity\":1}", "sku");
    }

    private static Arguments orderWithKey(String name, String key) {
        return named("order: Idempotency-Key " + name, new Case(null, "POST", "/api/v1/orders", orderHeaders(key),
                utf8(VALID_ORDER), false, 400, "INVALID_REQUEST", "Idempotency-Key"));
    }

    private static Arguments orderWithContentType(String contentType) {
        Map<String, String> h = orderHeaders(freshKey());
        if (contentType == null) {
            h.remove("Content-Type");
        } else {
            h.put("Content-Type", contentType);
        }
        return named("order: Content-Type " + contentType, new Case(null, "POST", "/api/v1/orders", h, utf8(VALID_ORDER), false,
                415, "UNSUPPORTED_MEDIA_TYPE", null));
    }

    private static Map<String, String> adminJson() {
        Map<String, String> h = new LinkedHashMap<>();
        h.put("Content-Type", "application/json");
        h.put("Authorization", ADMIN);
        return h;
    }

    private static Arguments put(String name, String body, String field) {
        return named("put item: " + name, new Case(null, "PUT", "/api/v1/items/" + REPLACEABLE, adminJson(), utf8(body), false,
                400, "INVALID_REQUEST", field));
    }

    private static Arguments putWith(String field, String rawJsonValue) {
        Map<String, String> fields = new LinkedHashMap<>();
        fields.put("name", "\"Replaced\"");
        fields.put("stock", "99");
        fields.put("perUserLimit", "3");
        fields.put(field, rawJsonValue);
        StringBuilder json = new StringBuilder("{");
        fields.forEach((k, v) -> json.append(json.length() > 1 ? "," : "").append('"').append(k).append("\":").append(v));
        return put(field + " " + abbreviate(rawJsonValue), json.append('}').toString(), field);
    }

    private static Arguments putWithContentType(String contentType) {
        Map<String, String> h = adminJson();
        if (contentType == null) {
            h.remove("Content-Type");
        } else {
            h.put("Content-Type", contentType);
        }
        return named("put item: Content-Type " + contentType, new Case(null, "PUT", "/api/v1/items/" + REPLACEABLE, h,
                utf8(VALID_ITEM), false, 415, "UNSUPPORTED_MEDIA_TYPE", null));
    }

    private static Arguments stock(String name, String body, String field) {
        return named("stock: " + name, new Case(null, "POST", "/api/v1/items/" + ITEM + "/stock", adminJson(), utf8(body), false,
                400, "INVALID_REQUEST", field));
    }

    private static Arguments delta(String raw) {
        return stock("delta " + abbreviate(raw), "{\"delta\":" + raw + "}", "delta");
    }

    private static String padded(String json, int size) {
        return json.substring(0, json.length() - 1) + " ".repeat(size - json.length()) + "}";
    }

    private static String abbreviate(String s) {
        return s.length() <= 40 ? s : s.substring(0, 37) + "...";
    }

    static Stream<Arguments> badRequests() {
        List<Arguments> cases = new ArrayList<>();

        // ---- POST /api/v1/orders: the body as JSON -------------------------------------------
        cases.add(order("truncated object", VALID_ORDER.substring(0, VALID_ORDER.length() - 1), "body"));
        cases.add(order("not JSON at all", "userId=bad-user&sku=BAD-1&quantity=1", "body"));
        cases.add(order("single quotes", VALID_ORDER.replace('"', '\''), "body"));
        cases.add(order("unquoted names", "{userId:\"bad-user\",sku:\"BAD-1\",quantity:1}", "body"));
        cases.add(order("trailing comma inside", "{\"userId\":\"bad-user\",\"sku\":\"BAD-1\",\"quantity\":1,}", "body"));
        cases.add(order("comment", "{/* hi */\"userId\":\"bad-user\",\"sku\":\"BAD-1\",\"quantity\":1}", "body"));
        cases.add(order("top-level array", "[" + VALID_ORDER + "]", "body"));
        cases.add(order("top-level string", "\"" + VALID_ORDER.replace("\"", "\\\"") + "\"", "body"));
        cases.add(order("top-level number", "1", "body"));
        cases.add(order("top-level null", "null", "body"));
        cases.add(order("top-level true", "true", "body"));
        cases.add(order("trailing garbage", VALID_ORDER + " x", "body"));
        cases.add(order("a second object", VALID_ORDER + "{}", "body"));
        cases.add(order("the same object twice", VALID_ORDER + VALID_ORDER, "body"));
        cases.add(order("trailing comma after", VALID_ORDER + ",", "body"));
        cases.add(order("duplicate userId", "{\"userId\":\"bad-user\",\"userId\":\"other\",\"sku\":\"BAD-1\",\"quantity\":1}", "body"));
        cases.add(order("duplicate quantity", "{\"userId\":\"bad-user\",\"sku\":\"BAD-1\",\"quantity\":1,\"quantity\":1}", "body"));
        cases.add(order("duplicate sku", "{\"sku\":\"BAD-1\",\"userId\":\"bad-user\",\"sku\":\"BAD-1\",\"quantity\":1}", "body"));
        cases.add(order("empty body", "", "body"));
        cases.add(order("whitespace only", "   \n ", "body"));
        cases.add(order("empty object", "{}", "userId"));
        cases.add(order("deeply nested", "{\"userId\":" + "[".repeat(5_000) + "]".repeat(5_000) + "}", null));
        cases.add(order("raw control character in a string", "{\"userId\":\"bad\u0001user\",\"sku\":\"BAD-1\",\"quantity\":1}", null));
        cases.add(orderBytes("invalid UTF-8", new byte[]{'{', '"', 'u', 's', 'e', 'r', 'I', 'd', '"', ':', '"',
                (byte) 0xC3, (byte) 0x28, '"', '}'}, null));
        cases.add(orderBytes("NUL bytes", new byte[]{0, 0, 0, 0}, "body"));
        cases.add(order("NaN quantity", "{\"userId\":\"bad-user\",\"sku\":\"BAD-1\",\"quantity\":NaN}", null));
        cases.add(order("leading zero quantity", "{\"userId\":\"bad-user\",\"sku\":\"BAD-1\",\"quantity\":01}", null));
        cases.add(order("hex quantity", "{\"userId\":\"bad-user\",\"sku\":\"BAD-1\",\"quantity\":0x1}", null));
        cases.add(order("plus-signed quantity", "{\"userId\":\"bad-user\",\"sku\":\"BAD-1\",\"quantity\":+1}", null));

        // ---- quantity: types and range ---------------------------------------------------------
        for (String q : List.of("\"1\"", "1.0", "1e3", "1E0", "1.5", "0.9999", "true", "[1]", "{\"n\":1}", "\"\"",
                "0", "-0", "-1", "1001", "2147483648", "4294967297", "9223372036854775807", "9223372036854775808",
                "-9223372036854775809", "99999999999999999999", "-99999999999999999999", "1" + "0".repeat(500))) {
            cases.add(orderWithQuantity(q));
        }
        cases.add(order("quantity null", "{\"userId\":\"bad-user\",\"sku\":\"BAD-1\",\"quantity\":null}", "quantity"));
        cases.add(order("quantity missing", "{\"userId\":\"bad-user\",\"sku\":\"BAD-1\"}", "quantity"));
        cases.add(order("quantity misspelt", "{\"userId\":\"bad-user\",\"sku\":\"BAD-1\",\"Quantity\":1}", "quantity"));

        // ---- userId ------------------------------------------------------------------------------
        cases.add(order("userId missing", "{\"sku\":\"BAD-1\",\"quantity\":1}", "userId"));
        cases.add(orderWithUserId("null", "null"));
        cases.add(orderWithUserId("empty", "\"\""));
        cases.add(orderWithUserId("65 characters", "\"" + repeat('u', 65) + "\""));
        cases.add(orderWithUserId("with a space", "\"bad user\""));
        cases.add(orderWithUserId("with a slash", "\"bad/user\""));
        cases.add(orderWithUserId("with a hash", "\"bad#user\""));
        cases.add(orderWithUserId("with a plus", "\"bad+user\""));
        cases.add(orderWithUserId("non-ASCII", "\"b\u00e4d-user\""));
        cases.add(orderWithUserId("escaped NUL", "\"bad\\u0000user\""));
        cases.add(orderWithUserId("lone surrogate", "\"bad\\ud800\""));
        cases.add(orderWithUserId("a number", "42"));
        cases.add(orderWithUserId("an array", "[\"bad-user\"]"));
        cases.add(orderWithUserId("an object", "{\"id\":\"bad-user\"}"));
        cases.add(orderWithUserId("a boolean", "true"));

        // ---- sku ----------------------------------------------------------------------------------
        cases.add(order("sku missing", "{\"userId\":\"bad-user\",\"quantity\":1}", "sku"));
        cases.add(orderWithSku("null", "null"));
        cases.add(orderWithSku("empty", "\"\""));
        cases.add(orderWithSku("65 characters", "\"" + repeat('S', 65) + "\""));
        cases.add(orderWithSku("with a space", "\"BAD 1\""));
        cases.add(orderWithSku("with a colon", "\"BAD:1\""));
        cases.add(orderWithSku("with an at sign", "\"BAD@1\""));
        cases.add(orderWithSku("with a slash", "\"BAD/1\""));
        cases.add(orderWithSku("non-ASCII", "\"B\u00c4D-1\""));
        cases.add(orderWithSku("a number", "1"));

        // ---- Idempotency-Key ------------------------------------------------------------------------
        cases.add(orderWithKey("missing", null));
        cases.add(orderWithKey("empty", ""));
        cases.add(orderWithKey("65 characters", repeat('k', 65)));
        cases.add(orderWithKey("with an inner space", "a b"));
        cases.add(orderWithKey("with a slash", "a/b"));
        cases.add(orderWithKey("with an at sign", "a@b"));
        cases.add(orderWithKey("with a comma", "k1,k2"));
        cases.add(orderWithKey("non-ASCII", "k\u00e9"));

        // ---- Content-Type and size -------------------------------------------------------------------
        cases.add(orderWithContentType(null));
        cases.add(orderWithContentType("text/plain"));
        cases.add(orderWithContentType("application/xml"));
        cases.add(orderWithContentType("application/x-www-form-urlencoded"));
        cases.add(orderWithContentType("application/json-patch+json"));
        cases.add(orderWithContentType("text/json"));
        cases.add(orderWithContentType("*/*"));
        // not even a media type: still "a body that is not application/json"
        cases.add(orderWithContentType("application"));
        cases.add(orderWithContentType("json"));
        cases.add(orderWithContentType("/json"));
        cases.add(orderWithContentType("application/json; charset"));
        cases.add(named("order: body of 16 KiB + 1 byte", new Case(null, "POST", "/api/v1/orders", orderHeaders(freshKey()),
                utf8(padded(VALID_ORDER, MAX_BODY + 1)), false, 413, "PAYLOAD_TOO_LARGE", null)));
        cases.add(named("order: chunked body of 16 KiB + 1 byte", new Case(null, "POST", "/api/v1/orders", orderHeaders(freshKey()),
                utf8(padded(VALID_ORDER, MAX_BODY + 1)), true, 413, "PAYLOAD_TOO_LARGE", null)));
        cases.add(named("order: 100 KiB of garbage", new Case(null, "POST", "/api/v1/orders", orderHeaders(freshKey()),
                utf8(repeat('x', 100 * 1024)), false, 413, "PAYLOAD_TOO_LARGE", null)));

        // ---- PUT /api/v1/items/{sku} ----------------------------------------------------------------
        cases.add(put("truncated object", VALID_ITEM.substring(0, VALID_ITEM.length() - 1), "body"));
        cases.add(put("top-level array", "[" + VALID_ITEM + "]", "body"));
        cases.add(put("trailing garbage", VALID_ITEM + "]", "body"));
        cases.add(put("a second object", VALID_ITEM + VALID_ITEM, "body"));
        cases.add(put("duplicate stock", "{\"name\":\"Replaced\",\"stock\":99,\"stock\":98}", "body"));
        cases.add(put("duplicate name", "{\"name\":\"Replaced\",\"name\":\"Again\",\"stock\":99}", "body"));
        cases.add(put("empty body", "", "body"));
        cases.add(put("empty object", "{}", "name"));
        cases.add(put("name missing", "{\"stock\":99}", "name"));
        cases.add(putWith("name", "null"));
        cases.add(putWith("name", "\"\""));
        cases.add(putWith("name", "\"" + repeat('n', 201) + "\""));
        cases.add(putWith("name", "5"));
        cases.add(putWith("name", "[\"Replaced\"]"));
        cases.add(put("stock missing", "{\"name\":\"Replaced\"}", "stock"));
        for (String s : List.of("null", "\"1\"", "1.0", "1e3", "99.5", "true", "-1", "1000000001",
                "9223372036854775808", "99999999999999999999", "[99]")) {
            cases.add(putWith("stock", s));
        }
        for (String p : List.of("0", "-1", "1000001", "\"1\"", "1.5", "1.0", "1e2", "false", "{}")) {
            cases.add(putWith("perUserLimit", p));
        }
        for (String t : List.of("\"2026-11-26T12:00:00\"", "\"2026-11-26\"", "\"12:00:00Z\"", "\"yesterday\"", "\"\"",
                "1700000000", "true", "\"2026-11-26 12:00:00Z\"", "\"2026-02-30T00:00:00Z\"",
                "\"2026-11-26T25:00:00Z\"", "\"2026-11-26T12:00:00+25:00\"",
                // a year RFC 3339 cannot write (4 digits only), and past what milliseconds can count
                "\"+999999999-12-31T23:59:59Z\"", "\"-999999999-01-01T00:00:00Z\"")) {
            cases.add(putWith("startsAt", t));
            cases.add(putWith("endsAt", t));
        }
        cases.add(put("endsAt equal to startsAt", "{\"name\":\"Replaced\",\"stock\":99,"
                + "\"startsAt\":\"2030-01-01T00:00:00Z\",\"endsAt\":\"2030-01-01T00:00:00Z\"}", "endsAt"));
        cases.add(put("endsAt before startsAt", "{\"name\":\"Replaced\",\"stock\":99,"
                + "\"startsAt\":\"2030-01-01T00:00:00Z\",\"endsAt\":\"2029-12-31T23:59:59Z\"}", "endsAt"));
        cases.add(put("endsAt equal to startsAt in another offset", "{\"name\":\"Replaced\",\"stock\":99,"
                + "\"startsAt\":\"2030-01-01T00:00:00Z\",\"endsAt\":\"2030-01-01T01:00:00+01:00\"}", "endsAt"));
        for (String sku : List.of(repeat('s', 65), "bad:sku", "bad@sku", "bad%20sku", "bad%C3%A9", "bad~sku")) {
            cases.add(named("put item: path sku " + abbreviate(sku), new Case(null, "PUT", "/api/v1/items/" + sku, adminJson(),
                    utf8(VALID_ITEM), false, 400, "INVALID_REQUEST", "sku")));
        }
        cases.add(putWithContentType(null));
        cases.add(putWithContentType("text/plain"));
        cases.add(putWithContentType("application/xml"));
        cases.add(putWithContentType("application"));
        cases.add(named("put item: body of 16 KiB + 1 byte", new Case(null, "PUT", "/api/v1/items/" + REPLACEABLE, adminJson(),
                utf8(padded(VALID_ITEM, MAX_BODY + 1)), false, 413, "PAYLOAD_TOO_LARGE", null)));
        cases.add(named("put item: bad body without a token is 400 before 401", new Case(null, "PUT",
                "/api/v1/items/" + REPLACEABLE, Map.of("Content-Type", "application/json"),
                utf8("{\"name\":\"Replaced\",\"stock\":-1}"), false, 400, "INVALID_REQUEST", "stock")));

        // ---- POST /api/v1/items/{sku}/stock -----------------------------------------------------------
        cases.add(stock("truncated object", "{\"delta\":5", "body"));
        cases.add(stock("top-level array", "[{\"delta\":5}]", "body"));
        cases.add(stock("top-level number", "5", "body"));
        cases.add(stock("trailing garbage", "{\"delta\":5}x", "body"));
        cases.add(stock("duplicate delta", "{\"delta\":5,\"delta\":-5}", "body"));
        cases.add(stock("empty body", "", "body"));
        cases.add(stock("empty object", "{}", "delta"));
        for (String d : List.of("null", "\"5\"", "5.0", "1e3", "-2.5", "true", "[5]", "1000000001", "-1000000001",
                "9223372036854775808", "99999999999999999999", "-99999999999999999999")) {
            cases.add(delta(d));
        }
        Map<String, String> noType = adminJson();
        noType.remove("Content-Type");
        cases.add(named("stock: no Content-Type", new Case(null, "POST", "/api/v1/items/" + ITEM + "/stock", noType,
                utf8("{\"delta\":5}"), false, 415, "UNSUPPORTED_MEDIA_TYPE", null)));
        Map<String, String> text = adminJson();
        text.put("Content-Type", "text/plain");
        cases.add(named("stock: Content-Type text/plain", new Case(null, "POST", "/api/v1/items/" + ITEM + "/stock", text,
                utf8("{\"delta\":5}"), false, 415, "UNSUPPORTED_MEDIA_TYPE", null)));
        cases.add(named("stock: body of 16 KiB + 1 byte", new Case(null, "POST", "/api/v1/items/" + ITEM + "/stock", adminJson(),
                utf8(padded("{\"delta\":5}", MAX_BODY + 1)), false, 413, "PAYLOAD_TOO_LARGE", null)));
        cases.add(named("stock: bad body with a wrong token is 400 before 401", new Case(null, "POST",
                "/api/v1/items/" + ITEM + "/stock", Map.of("Content-Type", "application/json", "Authorization", "Bearer nope"),
                utf8("{\"delta\":\"5\"}"), false, 400, "INVALID_REQUEST", "delta")));
        return cases.stream();
    }

    /** What a bad request must not touch: every item, and the fixture user's orders. */
    private static Map<String, JsonNode> snapshot() {
        Map<String, JsonNode> s = new TreeMap<>();
        Api.Response items = api.get("/api/v1/items");
        assertThat(items.status()).isEqualTo(200);
        s.put("items", items.json());
        s.put(ITEM, api.item(ITEM).json());
        s.put(REPLACEABLE, api.item(REPLACEABLE).json());
        Api.Response orders = api.get("/api/v1/users/" + USER + "/orders?limit=500");
        assertThat(orders.status()).isEqualTo(200);
        s.put("orders of " + USER, orders.json());
        return s;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badRequests")
    void badRequestIsAnsweredWithItsExactProblemAndChangesNothing(Case c) {
        Map<String, JsonNode> before = snapshot();
        HttpTestSupport.Reply r = HttpTestSupport.send(api, c.method(), c.path(), c.body(), c.headers(), c.chunked());
        Map<String, JsonNode> after = snapshot();
        SoftAssertions soft = new SoftAssertions();
        soft.check(() -> assertProblem(r, c.status(), c.code()));
        if (c.field() != null) {
            soft.assertThat(r.json().path("detail").asText()).as("detail names the field: %s", r).contains(c.field());
        }
        soft.assertThat(after).as("state after %s %s", c.method(), c.path()).isEqualTo(before);
        try {
            soft.assertAll();
        } catch (AssertionError e) {
            throw new AssertionError("[" + c.name() + "] " + e.getMessage(), e);
        }
    }

    @Test
    void bodyOfExactlyTheLimitIsAccepted() {
        String user = "limit-user";
        String body = padded("{\"userId\":\"" + user + "\",\"sku\":\"" + ITEM + "\",\"quantity\":1}", MAX_BODY);
        assertThat(utf8(body)).hasSize(MAX_BODY);
        Api.Response r = api.order(freshKey(), body, Map.of());
        assertThat(r.status()).as("%s", r).isEqualTo(201);
        assertThat(api.cancel(r.json().get("orderId").asText()).status()).isEqualTo(200);
    }

    @Test
    void unknownFieldsAreIgnoredAndCharsetParametersAccepted() {
        String user = "extra-user";
        Api.Response r = api.order(freshKey(), "{\"userId\":\"" + user + "\",\"sku\":\"" + ITEM
                        + "\",\"quantity\":1,\"coupon\":{\"x\":[1,2.5,null]},\"note\":\"\u00e9\"}",
                Map.of("Content-Type", "application/json; charset=utf-8"));
        assertThat(r.status()).as("%s", r).isEqualTo(201);
        assertThat(api.cancel(r.json().get("orderId").asText()).status()).isEqualTo(200);
    }

    // ==== requests refused before they reach a route =============================================

    /** Sends raw bytes on a fresh connection and reads one HTTP/1.1 answer. */
    private static HttpTestSupport.Reply rawExchange(String request) {
        RawHttp.Reply r = RawHttp.exchange(server.port(), request);
        assertThat(r.status()).as("an answer, not a closed connection").isPositive();
        return new HttpTestSupport.Reply(r.status(), HttpHeaders.of(r.headers(), (x, y) -> true), r.body(), r.json());
    }

    @Test
    void requestsRefusedBeforeRoutingAreProblemJsonWithARequestIdToo() {
        Map<String, JsonNode> before = snapshot();
        SoftAssertions soft = new SoftAssertions();
        // declared over the server's own transport limit (1 MiB): refused before the body is read
        HttpTestSupport.Reply huge = rawExchange("POST /api/v1/orders HTTP/1.1\r\nHost: localhost\r\n"
                + "Content-Type: application/json\r\nIdempotency-Key: huge-1\r\nContent-Length: 2097152\r\n"
                + "Connection: close\r\n\r\n");
        soft.check(() -> assertProblem(huge, 413, "PAYLOAD_TOO_LARGE"));
        HttpTestSupport.Reply badLength = rawExchange("POST /api/v1/orders HTTP/1.1\r\nHost: localhost\r\n"
                + "Content-Type: application/json\r\nIdempotency-Key: len-1\r\nContent-Length: abc\r\n"
                + "Connection: close\r\n\r\n" + VALID_ORDER);
        soft.check(() -> assertProblem(badLength, 400, "INVALID_REQUEST"));
        HttpTestSupport.Reply badEscape = rawExchange("GET /api/v1/orders/%ZZ HTTP/1.1\r\nHost: localhost\r\n"
                + "Connection: close\r\n\r\n");
        soft.check(() -> {
            assertThat(badEscape.status()).as("%s", badEscape).isIn(400, 404);
            assertProblemShape(badEscape.status(), badEscape.header("Content-Type"), badEscape.header("X-Request-Id"),
                    badEscape.json(), badEscape.toString());
        });
        HttpTestSupport.Reply longUri = rawExchange("GET /api/v1/orders/" + repeat('o', 20_000) + " HTTP/1.1\r\n"
                + "Host: localhost\r\nConnection: close\r\n\r\n");
        soft.check(() -> {
            assertThat(longUri.status()).as("%s", longUri).isBetween(400, 499);
            assertProblemShape(longUri.status(), longUri.header("Content-Type"), longUri.header("X-Request-Id"),
                    longUri.json(), longUri.toString());
        });
        soft.assertAll();
        assertThat(snapshot()).isEqualTo(before);
    }

    /**
     * A request with both Transfer-Encoding and Content-Length is refused as malformed before it reaches a
     * route (request smuggling's raw material), whatever its body: so the body is never read by a length
     * that does not frame it. Checked here because {@code HttpApi.body} reads a body by its declared length.
     */
    @Test
    void aBodyWithBothTransferEncodingAndContentLengthIsRefusedAsMalformed() {
        Map<String, JsonNode> before = snapshot();
        for (String body : List.of(VALID_ORDER, VALID_ORDER + "GARBAGE", padded(VALID_ORDER, MAX_BODY + 1))) {
            HttpTestSupport.Reply r = rawExchange("POST /api/v1/orders HTTP/1.1\r\nHost: localhost\r\n"
                    + "Content-Type: application/json\r\nIdempotency-Key: " + freshKey() + "\r\n"
                    + "Transfer-Encoding: chunked\r\nContent-Length: " + utf8(VALID_ORDER).length + "\r\n"
                    + "Connection: close\r\n\r\n" + Integer.toHexString(utf8(body).length) + "\r\n" + body
                    + "\r\n0\r\n\r\n");
            assertProblem(r, 400, "INVALID_REQUEST");
        }
        assertThat(snapshot()).isEqualTo(before);
    }

    // ==== fuzz ======================================================================================

    private static final ObjectMapper STRICT = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();
    private static final Pattern USER_ID = Pattern.compile("[A-Za-z0-9._:@-]{1,64}");
    private static final Pattern SKU = Pattern.compile("[A-Za-z0-9._-]{1,64}");
    private static final List<String> FUZZ_USERS = List.of("fz-1", "fz-2", "fz:3@x");
    private static final List<String> FUZZ_SKUS = List.of("FUZZ-A", "FUZZ-B");

    /** The ledger as the contract describes it, for the fuzz items. */
    private static final class ItemModel {
        long stock;
        long available;
        final int perUserLimit;
        final Map<String, Integer> held = new HashMap<>();
        /** Keys that produced an order: key to order view. */
        final Map<String, JsonNode> keys = new HashMap<>();

        ItemModel(long stock, int perUserLimit) {
            this.stock = stock;
            this.available = stock;
            this.perUserLimit = perUserLimit;
        }
    }

    /** What the contract says a request gets: a status and, for problems, a code. */
    private record Expected(int status, String code) {
    }

    private static final Expected INVALID = new Expected(400, "INVALID_REQUEST");

    @Test
    void randomMutationsOfAValidOrderAreAnsweredAsTheContractSaysAndKeepStockConsistent() {
        String fixed = System.getProperty("fuzz.seed");
        long seed = fixed != null && !fixed.isBlank() ? Long.parseLong(fixed.trim()) : System.nanoTime();
        System.out.println("BadInputTest seed=" + seed);
        Random rnd = new Random(seed);

        Map<String, ItemModel> model = new LinkedHashMap<>();
        model.put("FUZZ-A", new ItemModel(100_000, 40));
        model.put("FUZZ-B", new ItemModel(5, 2));
        model.forEach((sku, m) -> assertThat(api.putItem(sku, "Fuzz " + sku, m.stock, m.perUserLimit).status())
                .as("seed=%d: PUT %s", seed, sku).isEqualTo(201));
        Set<String> knownSkus = new HashSet<>();
        elements(api.get("/api/v1/items").json().get("items")).forEach(i -> knownSkus.add(i.get("sku").asText()));

        List<String> usedKeys = new ArrayList<>();
        List<JsonNode> created = new ArrayList<>();
        Map<String, String> cancelled = new HashMap<>();
        int iterations = Integer.getInteger("fuzz.iterations", 600);
        Map<Integer, Integer> statuses = new TreeMap<>();

        List<Map.Entry<String, byte[]>> productive = new ArrayList<>();
        for (int i = 0; i < iterations; i++) {
            String key;
            String contentType;
            byte[] body;
            if (!productive.isEmpty() && rnd.nextInt(8) == 0) {
                // the same key again: the very same body (a replay), or another user or quantity (422)
                Map.Entry<String, byte[]> prior = productive.get(rnd.nextInt(productive.size()));
                key = prior.getKey();
                contentType = "application/json";
                ObjectNode copy = (ObjectNode)
                        parseQuietly(prior.getValue()).deepCopy();
                switch (rnd.nextInt(3)) {
                    case 0 -> copy.put("quantity", copy.get("quantity").asInt() % 3 + 1);
                    case 1 -> copy.put("userId", copy.get("userId").asText() + "x");
                    default -> {
                    }
                }
                body = utf8(copy.toString());
            } else {
                key = fuzzKey(rnd, i, usedKeys);
                contentType = fuzzContentType(rnd);
                body = fuzzBody(rnd);
            }
            if (key != null) {
                usedKeys.add(key);
            }
            Map<String, String> headers = new LinkedHashMap<>();
            if (contentType != null) {
                headers.put("Content-Type", contentType);
            }
            if (key != null) {
                headers.put("Idempotency-Key", key);
            }
            String described = "seed=" + seed + " iteration " + i + ": key=" + (key == null ? "(none)" : "'" + key + "'")
                    + " Content-Type=" + contentType + " body=" + printable(body);

            Expected expected = expect(body, key, contentType, knownSkus, model);
            HttpTestSupport.Reply r = HttpTestSupport.send(api, "POST", "/api/v1/orders", body, headers);
            statuses.merge(r.status(), 1, Integer::sum);
            String answer = described + " -> " + r;

            assertThat(r.status()).as("never 5xx: %s", answer).isLessThan(500);
            if (r.status() >= 400) {
                assertThat(r.status()).as("%s", answer).isBetween(400, 499);
                assertProblemShape(r.status(), r.header("Content-Type"), r.header("X-Request-Id"), r.json(), answer);
            } else {
                assertThat(r.status()).as("%s", answer).isIn(200, 201);
            }
            if (expected != null) {
                assertThat(r.status()).as("status: %s", answer).isEqualTo(expected.status());
                if (expected.code() != null) {
                    assertThat(r.code()).as("code: %s", answer).isEqualTo(expected.code());
                }
            }

            if (r.status() == 201 || r.status() == 200) {
                JsonNode order = r.json();
                JsonNode request = parseQuietly(body);
                String sku = order.path("sku").asText();
                assertThat(order.path("userId").asText()).as("%s", answer).isEqualTo(request.get("userId").asText());
                assertThat(sku).as("%s", answer).isEqualTo(request.get("sku").asText());
                assertThat(order.path("quantity").asLong()).as("%s", answer).isEqualTo(request.get("quantity").asLong());
                assertThat(r.header("Location")).as("%s", answer).hasValue("/api/v1/orders/" + order.path("orderId").asText());
                ItemModel m = model.get(sku);
                if (r.status() == 201) {
                    assertThat(order.path("status").asText()).as("%s", answer).isEqualTo("CONFIRMED");
                    created.add(order);
                    productive.add(Map.entry(key, body));
                    if (m != null) {
                        int q = order.get("quantity").asInt();
                        m.available -= q;
                        m.held.merge(order.get("userId").asText(), q, Integer::sum);
                        m.keys.put(key, order);
                    }
                } else {
                    assertThat(r.header("Idempotent-Replayed")).as("%s", answer).hasValue("true");
                    if (m != null) {
                        JsonNode original = m.keys.get(key);
                        assertThat(original).as("a replay of a known key: %s", answer).isNotNull();
                        assertThat(order.get("orderId").asText()).as("%s", answer).isEqualTo(original.get("orderId").asText());
                        String status = cancelled.containsKey(original.get("orderId").asText()) ? "CANCELLED" : "CONFIRMED";
                        assertThat(order.get("status").asText()).as("%s", answer).isEqualTo(status);
                        assertThat(order.get("createdAt")).as("%s", answer).isEqualTo(original.get("createdAt"));
                        assertThat(order.get("requestId")).as("%s", answer).isEqualTo(original.get("requestId"));
                    }
                }
            }

            // now and then, cancel a random order (sometimes one already cancelled)
            if (!created.isEmpty() && rnd.nextInt(20) == 0) {
                JsonNode victim = created.get(rnd.nextInt(created.size()));
                String orderId = victim.get("orderId").asText();
                Api.Response c = api.cancel(orderId);
                assertThat(c.status()).as("seed=%d cancel %s: %s", seed, orderId, c).isEqualTo(200);
                assertThat(c.json().get("status").asText()).as("seed=%d cancel %s: %s", seed, orderId, c)
                        .isEqualTo("CANCELLED");
                if (cancelled.put(orderId, orderId) == null) {
                    ItemModel m = model.get(victim.get("sku").asText());
                    if (m != null) {
                        int q = victim.get("quantity").asInt();
                        m.available += q;
                        m.held.merge(victim.get("userId").asText(), -q, Integer::sum);
                    }
                }
            }
        }
        System.out.println("BadInputTest seed=" + seed + " statuses=" + statuses);

        // the invariant, from three sides: the model, the item view, and the orders in the store
        Map<String, Long> liveUnits = new HashMap<>();
        Map<String, Set<String>> usersBySku = new HashMap<>();
        for (JsonNode o : created) {
            String sku = o.get("sku").asText();
            usersBySku.computeIfAbsent(sku, k -> new HashSet<>()).add(o.get("userId").asText());
            if (!cancelled.containsKey(o.get("orderId").asText())) {
                liveUnits.merge(sku, o.get("quantity").asLong(), Long::sum);
            }
        }
        for (Map.Entry<String, ItemModel> e : model.entrySet()) {
            String sku = e.getKey();
            ItemModel m = e.getValue();
            long live = liveUnits.getOrDefault(sku, 0L);
            JsonNode item = HttpTestSupport.itemWithAvailable(api, sku, m.available);
            long stock = item.get("stock").asLong();
            long available = item.get("available").asLong();
            assertThat(stock).as("seed=%d: %s stock", seed, sku).isEqualTo(m.stock);
            assertThat(available).as("seed=%d: %s available", seed, sku).isEqualTo(m.available);
            assertThat(stock).as("seed=%d: %s stock == available + live units", seed, sku).isEqualTo(available + live);

            long stored = 0;
            int storedOrders = 0;
            for (String user : usersBySku.getOrDefault(sku, Set.of())) {
                Api.Response list = api.get("/api/v1/users/" + user + "/orders?limit=500");
                assertThat(list.status()).as("seed=%d: orders of %s: %s", seed, user, list).isEqualTo(200);
                for (JsonNode o : elements(list.json().get("orders"))) {
                    if (o.get("sku").asText().equals(sku)) {
                        storedOrders++;
                        if (!o.get("status").asText().equals("CANCELLED")) {
                            stored += o.get("quantity").asLong();
                        }
                    }
                }
            }
            long createdHere = created.stream().filter(o -> o.get("sku").asText().equals(sku)).count();
            assertThat(storedOrders).as("seed=%d: %s orders in the store", seed, sku).isEqualTo((int) createdHere);
            assertThat(stock).as("seed=%d: %s stock == available + live units in the store", seed, sku)
                    .isEqualTo(available + stored);
        }
    }

    /** The contract's answer to a fuzzed order request, or null when it cannot be told. */
    private static Expected expect(byte[] body, String key, String contentType, Set<String> knownSkus,
                                   Map<String, ItemModel> model) {
        if (body.length > MAX_BODY) {
            return new Expected(413, "PAYLOAD_TOO_LARGE");
        }
        if (contentType == null || !contentType.toLowerCase(Locale.ROOT).replaceAll(";.*", "").trim().equals("application/json")) {
            return new Expected(415, "UNSUPPORTED_MEDIA_TYPE");
        }
        JsonNode node = parseQuietly(body);
        if (node == null || !node.isObject()) {
            return INVALID;
        }
        if (key == null || !REQUEST_ID.matcher(key).matches()) {
            return INVALID;
        }
        JsonNode userId = node.get("userId");
        if (userId == null || !userId.isTextual() || !USER_ID.matcher(userId.textValue()).matches()) {
            return INVALID;
        }
        JsonNode sku = node.get("sku");
        if (sku == null || !sku.isTextual() || !SKU.matcher(sku.textValue()).matches()) {
            return INVALID;
        }
        JsonNode quantity = node.get("quantity");
        if (quantity == null || !quantity.isIntegralNumber()) {
            return INVALID;
        }
        BigInteger q = quantity.bigIntegerValue();
        if (q.compareTo(BigInteger.ONE) < 0 || q.compareTo(BigInteger.valueOf(1000)) > 0) {
            return INVALID;
        }
        if (!knownSkus.contains(sku.textValue())) {
            return new Expected(404, "UNKNOWN_ITEM");
        }
        ItemModel m = model.get(sku.textValue());
        if (m == null) {
            return null;
        }
        String user = userId.textValue();
        int qty = q.intValue();
        JsonNode prior = m.keys.get(key);
        if (prior != null) {
            return prior.get("userId").asText().equals(user) && prior.get("quantity").asInt() == qty
                    ? new Expected(200, null) : new Expected(422, "IDEMPOTENCY_KEY_REUSED");
        }
        if (m.held.getOrDefault(user, 0) + qty > m.perUserLimit) {
            return new Expected(409, "PER_USER_LIMIT");
        }
        if (m.available < qty) {
            return new Expected(409, "SOLD_OUT");
        }
        return new Expected(201, null);
    }

    private static JsonNode parseQuietly(byte[] body) {
        if (body.length == 0) {
            return null;
        }
        try {
            return STRICT.readTree(body);
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    private static String fuzzKey(Random rnd, int i, List<String> used) {
        int roll = rnd.nextInt(100);
        if (roll < 70 || used.isEmpty() && roll < 85) {
            return "fz-" + i;
        }
        if (roll < 85) {
            return used.get(rnd.nextInt(used.size()));
        }
        if (roll < 88) {
            return null;
        }
        // printable ASCII, possibly with inner spaces; never leading or trailing whitespace (HTTP trims it)
        StringBuilder k = new StringBuilder();
        int length = rnd.nextInt(70);
        for (int c = 0; c < length; c++) {
            k.append(rnd.nextInt(10) == 0 ? ' ' : (char) (0x21 + rnd.nextInt(0x7E - 0x21 + 1)));
        }
        return k.toString().strip();
    }

    private static String fuzzContentType(Random rnd) {
        return switch (rnd.nextInt(40)) {
            case 0 -> null;
            case 1 -> "text/plain";
            case 2 -> "application/json; charset=utf-8";
            case 3 -> "Application/JSON";
            case 4 -> "application/xml";
            default -> "application/json";
        };
    }

    private static byte[] fuzzBody(Random rnd) {
        List<String[]> fields = new ArrayList<>();
        fields.add(new String[]{"userId", quote(FUZZ_USERS.get(rnd.nextInt(FUZZ_USERS.size())))});
        fields.add(new String[]{"sku", quote(FUZZ_SKUS.get(rnd.nextInt(FUZZ_SKUS.size())))});
        fields.add(new String[]{"quantity", Integer.toString(1 + rnd.nextInt(3))});

        int structural = rnd.nextInt(4);
        for (int s = 0; s < structural; s++) {
            switch (rnd.nextInt(6)) {
                case 0, 1 -> fields.get(rnd.nextInt(fields.size()))[1] = randomValue(rnd, 0);
                case 2 -> {
                    if (!fields.isEmpty()) {
                        fields.remove(rnd.nextInt(fields.size()));
                    }
                }
                case 3 -> fields.add(rnd.nextInt(fields.size() + 1), new String[]{randomName(rnd), randomValue(rnd, 0)});
                case 4 -> {
                    if (!fields.isEmpty()) {
                        String[] f = fields.get(rnd.nextInt(fields.size()));
                        f[0] = rnd.nextBoolean() ? f[0].toUpperCase(Locale.ROOT) : f[0] + "_";
                    }
                }
                default -> Collections.shuffle(fields, rnd);
            }
        }
        StringBuilder json = new StringBuilder("{");
        for (int f = 0; f < fields.size(); f++) {
            if (f > 0) {
                json.append(rnd.nextInt(8) == 0 ? " , " : ",");
            }
            json.append(quote(fields.get(f)[0])).append(rnd.nextInt(8) == 0 ? " : " : ":").append(fields.get(f)[1]);
        }
        json.append('}');
        String text = json.toString();

        if (rnd.nextBoolean()) {
            int textual = 1 + rnd.nextInt(3);
            for (int t = 0; t < textual; t++) {
                text = mutateText(rnd, text);
            }
        }
        byte[] bytes = utf8(text);
        if (bytes.length > 0 && rnd.nextInt(25) == 0) {
            bytes[rnd.nextInt(bytes.length)] = (byte) rnd.nextInt(256);
        }
        return bytes;
    }

    private static String mutateText(Random rnd, String text) {
        if (text.isEmpty()) {
            return randomChar(rnd);
        }
        int at = rnd.nextInt(text.length());
        return switch (rnd.nextInt(9)) {
            case 0 -> text.substring(0, at) + text.substring(at + 1);
            case 1 -> text.substring(0, at) + randomChar(rnd) + text.substring(at);
            case 2 -> text.substring(0, at) + randomChar(rnd) + text.substring(at + 1);
            case 3 -> {
                int end = Math.min(text.length(), at + 1 + rnd.nextInt(10));
                yield text.substring(0, end) + text.substring(at, end) + text.substring(end);
            }
            case 4 -> text.substring(0, at);
            case 5 -> text + randomChar(rnd) + (rnd.nextBoolean() ? "" : randomValue(rnd, 0));
            case 6 -> "[" + text + "]";
            case 7 -> text.substring(0, at) + " \n\t\r".charAt(rnd.nextInt(4)) + text.substring(at);
            default -> text.replaceFirst("\\d+", randomNumber(rnd));
        };
    }

    private static String randomChar(Random rnd) {
        String structural = "{}[]\":,\\ 0123456789-+.eEtfn";
        return switch (rnd.nextInt(4)) {
            case 0 -> String.valueOf(structural.charAt(rnd.nextInt(structural.length())));
            case 1 -> String.valueOf((char) (0x20 + rnd.nextInt(0x5F)));
            case 2 -> String.valueOf((char) rnd.nextInt(0x20));
            default -> new String(Character.toChars(randomCodePoint(rnd)));
        };
    }

    private static int randomCodePoint(Random rnd) {
        return switch (rnd.nextInt(5)) {
            case 0 -> 0xA0 + rnd.nextInt(0x60);
            case 1 -> 0x4E00 + rnd.nextInt(0x5000);
            case 2 -> 0x1F600 + rnd.nextInt(0x50);
            case 3 -> 0x0400 + rnd.nextInt(0x100);
            default -> 0x10000 + rnd.nextInt(0xF0000);
        };
    }

    private static String randomName(Random rnd) {
        return switch (rnd.nextInt(6)) {
            case 0 -> "userId";
            case 1 -> "sku";
            case 2 -> "quantity";
            case 3 -> "extra";
            case 4 -> "Quantity";
            default -> randomString(rnd, rnd.nextInt(12));
        };
    }

    private static String randomValue(Random rnd, int depth) {
        return switch (rnd.nextInt(depth > 2 ? 9 : 11)) {
            case 0 -> randomNumber(rnd);
            case 1 -> Integer.toString(rnd.nextInt(1010) - 3);
            case 2 -> quote(FUZZ_USERS.get(rnd.nextInt(FUZZ_USERS.size())));
            case 3 -> quote(List.of("FUZZ-A", "FUZZ-B", "NOPE-1", "fuzz-a").get(rnd.nextInt(4)));
            case 4 -> quote(randomString(rnd, rnd.nextInt(70)));
            case 5 -> quote(validChars(rnd, rnd.nextInt(68)));
            case 6 -> List.of("true", "false", "null", "\"\"").get(rnd.nextInt(4));
            case 7 -> List.of("NaN", "Infinity", "-Infinity", "undefined", "0x10", "+1", "01", ".5", "1.", "--1")
                    .get(rnd.nextInt(10));
            case 8 -> quote(Integer.toString(1 + rnd.nextInt(3)));
            case 9 -> "[" + randomValue(rnd, depth + 1) + (rnd.nextBoolean() ? "," + randomValue(rnd, depth + 1) : "") + "]";
            default -> "{" + quote(randomName(rnd)) + ":" + randomValue(rnd, depth + 1) + "}";
        };
    }

    private static String randomNumber(Random rnd) {
        return switch (rnd.nextInt(8)) {
            case 0 -> Integer.toString(1 + rnd.nextInt(1000));
            case 1 -> Long.toString(rnd.nextLong());
            case 2 -> (rnd.nextBoolean() ? "-" : "") + new BigInteger(64 + rnd.nextInt(100), rnd);
            case 3 -> (1 + rnd.nextInt(1000)) + ".0";
            case 4 -> rnd.nextInt(10) + "e" + rnd.nextInt(4);
            case 5 -> Double.toString(rnd.nextDouble() * 2000 - 500);
            case 6 -> Integer.toString(rnd.nextInt());
            default -> List.of("0", "-0", "1000", "1001", "-1", "2147483648", "9223372036854775808").get(rnd.nextInt(7));
        };
    }

    /** A random string as JSON string content: escapes, quotes, unicode, control characters. */
    private static String randomString(Random rnd, int length) {
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < length; i++) {
            switch (rnd.nextInt(8)) {
                case 0 -> s.append(List.of("\\n", "\\\"", "\\\\", "\\u0041", "\\u0000", "\\ud800", "\\ud83d\\ude00", "\\/")
                        .get(rnd.nextInt(8)));
                case 1 -> s.appendCodePoint(randomCodePoint(rnd));
                case 2 -> s.append((char) rnd.nextInt(0x20));
                case 3 -> s.append("\"\\".charAt(rnd.nextInt(2)));
                default -> s.append((char) (0x20 + rnd.nextInt(0x5F)));
            }
        }
        return s.toString();
    }

    private static String validChars(Random rnd, int length) {
        String alphabet = "ABCabcxyz019._:@-";
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < length; i++) {
            s.append(alphabet.charAt(rnd.nextInt(alphabet.length())));
        }
        return s.toString();
    }

    private static String quote(String s) {
        return "\"" + s + "\"";
    }

    /** The body as a Java string literal would show it, so that a failure can be read and replayed. */
    private static String printable(byte[] body) {
        StringBuilder s = new StringBuilder("\"");
        String text = new String(body, StandardCharsets.UTF_8);
        for (int i = 0; i < text.length() && s.length() < 600; i++) {
            char c = text.charAt(i);
            if (c == '"' || c == '\\') {
                s.append('\\').append(c);
            } else if (c < 0x20 || c >= 0x7F) {
                s.append(String.format("\\u%04x", (int) c));
            } else {
                s.append(c);
            }
        }
        return s.append(s.length() >= 600 ? "...\"" : "\"").append(" (").append(body.length).append(" bytes)").toString();
    }
}
