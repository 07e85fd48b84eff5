package io.floodgate.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.MissingNode;
import io.floodgate.testing.Api;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Predicate;
import java.util.function.Supplier;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Shared pieces of the black-box HTTP contract tests: the shapes API.md fixes (problem, item and
 * order views), a raw-bytes client for what {@link Api} cannot send or read (invalid UTF-8,
 * chunked bodies, binary answers), and a bounded wait for views that API.md lets lag.
 *
 * <p>Only the HTTP contract is used here: nothing from the main code but what goes over the wire.
 */
final class HttpTestSupport {

    /** X-Request-Id and Idempotency-Key: 1-64 of {@code [A-Za-z0-9._:-]}. */
    static final Pattern REQUEST_ID = Pattern.compile("[A-Za-z0-9._:-]{1,64}");

    /** The fields of API.md's views. API.md may grow by adding fields: add them here when it does. */
    static final Set<String> PROBLEM_FIELDS = Set.of("type", "title", "status", "code", "detail", "requestId");
    static final Set<String> ITEM_FIELDS = Set.of("sku", "name", "stock", "available", "perUserLimit",
            "startsAt", "endsAt", "state");
    static final Set<String> ORDER_FIELDS = Set.of("orderId", "sku", "userId", "quantity", "status",
            "createdAt", "requestId");

    /** API.md: "In item views, available and state may lag by at most one second." */
    static final Duration VIEW_LAG = Duration.ofMillis(1_500);

    static final String ADMIN = "Bearer " + io.floodgate.testing.TestFloodgate.ADMIN_TOKEN;

    private static final HttpClient RAW = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .build();

    private HttpTestSupport() {
    }

    // ---- raw requests -----------------------------------------------------------------------

    /** An answer read as bytes, whatever it is. */
    record Reply(int status, HttpHeaders headers, byte[] bytes, JsonNode json) {
        Optional<String> header(String name) {
            return headers.firstValue(name);
        }

        String text() {
            return new String(bytes, StandardCharsets.UTF_8);
        }

        String code() {
            return json.path("code").asText(null);
        }

        @Override
        public String toString() {
            String t = text();
            return status + " " + (t.length() > 300 ? t.substring(0, 300) + "..." : t);
        }
    }

    /**
     * Sends {@code body} as is ({@code null}: none). {@code chunked} sends it without a
     * Content-Length, as a chunked stream.
     */
    static Reply send(Api api, String method, String path, byte[] body, Map<String, String> headers, boolean chunked) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(api.base() + path)).timeout(Duration.ofSeconds(60));
        headers.forEach(b::header);
        HttpRequest.BodyPublisher publisher;
        if (body == null) {
            publisher = HttpRequest.BodyPublishers.noBody();
        } else if (chunked) {
            publisher = HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(body));
        } else {
            publisher = HttpRequest.BodyPublishers.ofByteArray(body);
        }
        b.method(method, publisher);
        try {
            HttpResponse<byte[]> r = RAW.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
            JsonNode json;
            try {
                json = r.body().length == 0 ? MissingNode.getInstance() : Api.JSON.readTree(r.body());
            } catch (IOException e) {
                json = MissingNode.getInstance();
            }
            return new Reply(r.statusCode(), r.headers(), r.body(), json == null ? MissingNode.getInstance() : json);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    static Reply send(Api api, String method, String path, byte[] body, Map<String, String> headers) {
        return send(api, method, path, body, headers, false);
    }

    static Map<String, String> headers(String... namesAndValues) {
        Map<String, String> h = new LinkedHashMap<>();
        for (int i = 0; i < namesAndValues.length; i += 2) {
            h.put(namesAndValues[i], namesAndValues[i + 1]);
        }
        return h;
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    // ---- shapes -------------------------------------------------------------------------------

    /** Asserts an RFC 9457 problem of API.md: status, code, content type, fields, request id. */
    static void assertProblem(Api.Response r, int status, String code) {
        assertProblem(r.status(), r.header("Content-Type"), r.header("X-Request-Id"), r.json(), r.toString(), status, code);
    }

    static void assertProblem(Reply r, int status, String code) {
        assertProblem(r.status(), r.header("Content-Type"), r.header("X-Request-Id"), r.json(), r.toString(), status, code);
    }

    private static void assertProblem(int actualStatus, Optional<String> contentType, Optional<String> requestId,
                                      JsonNode json, String described, int status, String code) {
        assertThat(actualStatus).as("status of %s", described).isEqualTo(status);
        assertProblemShape(actualStatus, contentType, requestId, json, described);
        assertThat(json.path("code").asText()).as("code of %s", described).isEqualTo(code);
    }

    /** The shape every 4xx and 5xx has, whatever its code. */
    static void assertProblemShape(int actualStatus, Optional<String> contentType, Optional<String> requestId,
                                   JsonNode json, String described) {
        assertThat(contentType).as("Content-Type of %s", described).hasValueSatisfying(
                ct -> assertThat(ct.toLowerCase()).startsWith("application/problem+json"));
        assertThat(json.isObject()).as("problem body is a JSON object: %s", described).isTrue();
        assertThat(fieldNames(json)).as("problem fields of %s", described).containsAll(PROBLEM_FIELDS);
        assertThat(json.get("type").isTextual() && !json.get("type").asText().isEmpty())
                .as("type is a non-empty string: %s", described).isTrue();
        assertThat(json.get("title").isTextual() && !json.get("title").asText().isEmpty())
                .as("title is a non-empty string: %s", described).isTrue();
        assertThat(json.get("status").isInt()).as("status is an integer: %s", described).isTrue();
        assertThat(json.get("status").asInt()).as("status field of %s", described).isEqualTo(actualStatus);
        assertThat(json.get("code").isTextual()).as("code is a string: %s", described).isTrue();
        assertThat(json.get("detail").isTextual()).as("detail is a string: %s", described).isTrue();
        assertThat(requestId).as("X-Request-Id of %s", described).isPresent();
        assertThat(json.get("requestId").asText()).as("requestId of %s equals the X-Request-Id header", described)
                .isEqualTo(requestId.orElseThrow());
        String detail = json.get("detail").asText();
        assertThat(detail).as("no internals leak in %s", described)
                .doesNotContain("Exception", "\tat ", "java.lang.", "io.floodgate.", "com.fasterxml", "org.sqlite", "SQLITE");
    }

    static Set<String> fieldNames(JsonNode node) {
        Set<String> names = new TreeSet<>();
        Iterator<String> it = node.fieldNames();
        it.forEachRemaining(names::add);
        return names;
    }

    static List<JsonNode> elements(JsonNode array) {
        List<JsonNode> list = new ArrayList<>();
        array.elements().forEachRemaining(list::add);
        return list;
    }

    /**
     * Calls until the answer satisfies {@code until}, for at most {@link #VIEW_LAG}; returns the
     * last answer. For reads that API.md lets lag (available, state); the embedded ledger answers
     * at once, so this returns on the first call there.
     */
    static Api.Response eventually(Supplier<Api.Response> call, Predicate<Api.Response> until) {
        long deadline = System.nanoTime() + VIEW_LAG.toNanos();
        Api.Response r = call.get();
        while (!until.test(r) && System.nanoTime() - deadline < 0) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return r;
            }
            r = call.get();
        }
        return r;
    }

    /** The item view, once its {@code available} reads {@code expected} (or after the allowed lag). */
    static JsonNode itemWithAvailable(Api api, String sku, long expected) {
        Api.Response r = eventually(() -> api.item(sku), x -> x.json().path("available").asLong(-1) == expected);
        assertThat(r.status()).as("GET item %s: %s", sku, r).isEqualTo(200);
        return r.json();
    }

    static String repeat(char c, int n) {
        return String.valueOf(c).repeat(n);
    }
}
