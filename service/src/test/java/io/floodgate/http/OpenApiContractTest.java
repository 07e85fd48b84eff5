package io.floodgate.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.IntNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import com.networknt.schema.Error;
import com.networknt.schema.InputFormat;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaLocation;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SchemaRegistryConfig;
import com.networknt.schema.dialect.Dialects;
import io.floodgate.testing.Api;
import io.floodgate.testing.TestFloodgate;
import io.floodgate.testing.TestKafka;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The OpenAPI document ({@code /openapi.yaml}, {@code service/src/main/resources/static/openapi.yaml})
 * against the server, both ways:
 * <ul>
 *   <li>every route the server answers, read from its routing ({@code Floodgate.routes()}), is
 *   described, and every described route is served: it is in the routing and, called over HTTP,
 *   is not answered by the catch-all (404 "no resource at ...") nor with 405;</li>
 *   <li>real answers, recorded from a scenario that walks every route through its successes and
 *   most of its problems, match their description: the status is listed for the operation, the
 *   content type is described, every required header is there and matches its schema, and a JSON
 *   body validates against its schema (JSON Schema 2020-12 with the OpenAPI 3.1 dialect, by
 *   networknt's json-schema-validator), <em>closed</em>: the test's copy of the document adds
 *   {@code unevaluatedProperties: false} to every object schema, so a field the server sends and
 *   the document does not describe fails here, while the published document stays open to
 *   additions as API.md promises clients.</li>
 * </ul>
 *
 * <p>Why networknt's validator: it implements 2020-12 (what OpenAPI 3.1 schemas are) with the
 * OpenAPI 3.1 dialect built in, resolves {@code $ref}s inside the document by JSON pointer, is on
 * Jackson 2 like the service (2.0.x; 3.x moved to Jackson 3), and is actively maintained.
 * swagger-request-validator targets 3.0 and openapi4j is unmaintained since 2021.
 */
class OpenApiContractTest {

    /**
     * Routes the document describes that the server does not serve yet, each listed so that the
     * test says exactly what is missing; once a route here is served, the test fails until it is
     * removed from this set. Empty: the check is strict both ways (the payments and events routes
     * of issue 13 were here until they landed).
     */
    private static final Set<String> PENDING = Set.of();

    private static final String DOCUMENT = "/static/openapi.yaml";
    private static final String IRI = "https://floodgate.test/openapi.json";
    private static final Set<String> METHODS = Set.of("get", "put", "post", "delete", "patch", "head", "options", "trace");
    private static final String JWT_SECRET = "openapi-test-jwt-secret-of-32-bytes-at-least";

    private static JsonNode spec;
    private static SchemaRegistry schemas;
    private static final Map<String, Schema> SCHEMA_CACHE = new ConcurrentHashMap<>();
    private static TestFloodgate floodgate;

    @BeforeAll
    static void load() {
        spec = readDocument();
        ObjectNode closed = spec.deepCopy();
        Closer.close(closed);
        String json = closed.toString();
        schemas = SchemaRegistry.withDialect(Dialects.getOpenApi31(), builder -> builder
                .schemas(Map.of(IRI, json))
                .schemaRegistryConfig(SchemaRegistryConfig.builder().formatAssertionsEnabled(true).build()));
        floodgate = TestFloodgate.start(Map.of("FLOODGATE_USER_RATE", "0.01", "FLOODGATE_USER_BURST", "4"));
    }

    @AfterAll
    static void stop() {
        if (floodgate != null) {
            floodgate.close();
        }
    }

    // ---- routes, both ways ----------------------------------------------------------------------

    @Test
    void everyRouteTheServerAnswersIsDescribedAndEveryDescribedRouteIsServed() {
        Set<String> served = new TreeSet<>(floodgate.routes());
        Set<String> described = describedRoutes();
        assertThat(served).as("routes read from the server's routing").isNotEmpty();

        assertThat(minus(served, described)).as("routes the server answers that /openapi.yaml does not describe")
                .isEmpty();
        Set<String> missing = minus(described, served);
        assertThat(minus(missing, PENDING)).as("routes /openapi.yaml describes that the server does not answer"
                + " (and that are not PENDING)").isEmpty();
        Set<String> nowServed = new TreeSet<>(PENDING);
        nowServed.retainAll(served);
        assertThat(nowServed).as("routes now served: remove them from OpenApiContractTest.PENDING").isEmpty();
        assertThat(minus(PENDING, described)).as("PENDING routes the document no longer describes").isEmpty();

        // Over HTTP too: what the routing lists is what answers.
        Api api = floodgate.api;
        api.putItem("ROUTE-1", "Route probe", 10, 5);
        Api.Response order = api.order("route-probe", "u-route", "ROUTE-1", 1);
        String orderId = order.json().path("orderId").asText();
        for (String route : described) {
            String method = route.substring(0, route.indexOf(' '));
            String path = route.substring(route.indexOf(' ') + 1)
                    .replace("{sku}", "ROUTE-1").replace("{orderId}", orderId).replace("{userId}", "u-route");
            Api.Response r = api.send(method, path, null, Map.of());
            if (PENDING.contains(route)) {
                assertThat(isUnmatched(r)).as("%s is PENDING, so it must not be answered yet: %s", route, r).isTrue();
            } else {
                assertThat(isUnmatched(r)).as("%s is answered by the catch-all: %s", route, r).isFalse();
                assertThat(r.status()).as("%s answered 405: %s", route, r).isNotEqualTo(405);
            }
        }
    }

    @Test
    void theServerServesTheDocumentAndTheDashboardLinksIt() throws IOException {
        Api.Response r = floodgate.api.get("/openapi.yaml");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.header("Content-Type")).hasValueSatisfying(ct -> assertThat(ct).startsWith("application/yaml"));
        try (InputStream in = OpenApiContractTest.class.getResourceAsStream(DOCUMENT)) {
            assertThat(r.body()).isEqualTo(new String(in.readAllBytes(), StandardCharsets.UTF_8));
        }
        assertThat(spec.path("openapi").asText()).startsWith("3.1.");
        assertThat(floodgate.api.get("/").body()).contains("href=\"/openapi.yaml\"");
    }

    // ---- recorded answers against their descriptions -------------------------------------------

    @Test
    void recordedAnswersMatchTheirDescriptions() {
        Recorder rec = new Recorder(floodgate.api);
        String admin = "Bearer " + TestFloodgate.ADMIN_TOKEN;
        Map<String, String> adminJson = Map.of("Authorization", admin, "Content-Type", "application/json");
        String sku = "OAS-" + UUID.randomUUID().toString().substring(0, 8);

        rec.call("GET", "/health/live", "/health/live", null, Map.of());
        rec.call("GET", "/health/ready", "/health/ready", null, Map.of());
        rec.call("GET", "/", "/", null, Map.of());
        rec.call("GET", "/openapi.yaml", "/openapi.yaml", null, Map.of());

        String item = "/api/v1/items/{sku}";
        rec.call("PUT", item, "/api/v1/items/" + sku, "{\"name\":\"Phone\",\"stock\":3,\"perUserLimit\":1,"
                + "\"startsAt\":\"2020-01-01T00:00:00Z\",\"endsAt\":null}", adminJson);                        // 201
        rec.call("PUT", item, "/api/v1/items/" + sku, "{\"name\":\"Phone X\",\"stock\":3,\"perUserLimit\":1}", adminJson); // 200
        rec.call("PUT", item, "/api/v1/items/" + sku, "{\"name\":\"Phone\",\"stock\":3}",
                Map.of("Content-Type", "application/json"));                                                  // 401
        rec.call("PUT", item, "/api/v1/items/" + sku, "{\"name\":\"Phone\",\"stock\":1.5}", adminJson);        // 400
        rec.call("PUT", item, "/api/v1/items/" + sku, "name=Phone", Map.of("Authorization", admin,
                "Content-Type", "text/plain"));                                                              // 415
        rec.call("PUT", item, "/api/v1/items/" + sku, "{\"name\":\"" + "x".repeat(17_000) + "\"}", adminJson);  // 413
        rec.call("PUT", item, "/api/v1/items/LATER-" + sku, "{\"name\":\"Later\",\"stock\":5,"
                + "\"startsAt\":\"2999-01-01T00:00:00Z\"}", adminJson);                                        // 201 UPCOMING
        rec.call("GET", item, "/api/v1/items/" + sku, null, Map.of());
        rec.call("GET", item, "/api/v1/items/NO-SUCH-ITEM", null, Map.of());                                  // 404
        rec.call("GET", "/api/v1/items", "/api/v1/items", null, Map.of());

        String stock = "/api/v1/items/{sku}/stock";
        rec.call("POST", stock, "/api/v1/items/" + sku + "/stock", "{\"delta\":2}", adminJson);                // 200
        rec.call("POST", stock, "/api/v1/items/" + sku + "/stock", "{\"delta\":-1000}", adminJson);            // 409
        rec.call("POST", stock, "/api/v1/items/NO-SUCH-ITEM/stock", "{\"delta\":1}", adminJson);               // 404

        String orders = "/api/v1/orders";
        Map<String, String> json = Map.of("Content-Type", "application/json");
        String placed = rec.call("POST", orders, orders, orderBody("u-1", sku, 1), with(json, "Idempotency-Key", "k-1"))
                .json().path("orderId").asText();                                                              // 201
        rec.call("POST", orders, orders, orderBody("u-1", sku, 1), with(json, "Idempotency-Key", "k-1"));      // 200 replay
        rec.call("POST", orders, orders, orderBody("u-1", sku, 2), with(json, "Idempotency-Key", "k-1"));      // 422
        rec.call("POST", orders, orders, orderBody("u-1", sku, 1), with(json, "Idempotency-Key", "k-2"));      // 409 limit
        rec.call("POST", orders, orders, orderBody("u-2", sku, 1), json);                                       // 400 no key
        rec.call("POST", orders, orders, orderBody("u-3", "NO-SUCH-ITEM", 1), with(json, "Idempotency-Key", "k-3")); // 404
        rec.call("POST", orders, orders, orderBody("u-4", "LATER-" + sku, 1), with(json, "Idempotency-Key", "k-4")); // 409
        for (int i = 5; i < 12; i++) {
            rec.call("POST", orders, orders, orderBody("u-" + i, sku, 1), with(json, "Idempotency-Key", "k-" + i));
        }                                                                                                      // 201s, 409 SOLD_OUT
        for (int i = 0; i < 8; i++) {
            rec.call("POST", orders, orders, orderBody("u-hot", "NO-SUCH-ITEM", 1),
                    with(json, "Idempotency-Key", "k-hot-" + i));                                              // 404s, then 429
        }
        rec.call("PUT", item, "/api/v1/items/" + sku, "{\"name\":\"Phone\",\"stock\":3}", adminJson);          // 409 locked

        String one = "/api/v1/orders/{orderId}";
        rec.call("GET", one, "/api/v1/orders/" + placed, null, Map.of());
        rec.call("GET", one, "/api/v1/orders/no-such-order", null, Map.of());                                  // 404
        String cancel = "/api/v1/orders/{orderId}/cancel";
        rec.call("POST", cancel, "/api/v1/orders/" + placed + "/cancel", null, Map.of());
        rec.call("POST", cancel, "/api/v1/orders/" + placed + "/cancel", null, Map.of());                      // same again
        rec.call("POST", cancel, "/api/v1/orders/no-such-order/cancel", null, Map.of());                       // 404
        String mine = "/api/v1/users/{userId}/orders";
        rec.call("GET", mine, "/api/v1/users/u-1/orders", null, Map.of());
        rec.call("GET", mine, "/api/v1/users/u-1/orders?limit=0", null, Map.of());                              // 400
        rec.call("GET", mine, "/api/v1/users/not!a!user/orders", null, Map.of());                               // 404

        rec.call("GET", "/api/v1/stats", "/api/v1/stats", null, Map.of());
        rec.call("GET", "/metrics", "/metrics", null, Map.of());
        rec.call("GET", "/debug/threads", "/debug/threads", null, Map.of("Authorization", admin));
        rec.call("GET", "/debug/threads", "/debug/threads", null, Map.of());                                   // 401
        rec.call("POST", "/debug/profile", "/debug/profile?seconds=0", null, Map.of("Authorization", admin));  // 400
        rec.call("POST", "/debug/profile", "/debug/profile?seconds=1", null, Map.of("Authorization", admin));  // 200
        rec.call("GET", "/api/v1/items", "/api/v1/items", null, Map.of("Request-Timeout", "soon"));           // 400

        // The two answers no operation has: 405 and the catch-all 404.
        rec.unbound("DELETE", "/api/v1/items", "/components/responses/MethodNotAllowed", 405);
        rec.unbound("GET", "/no/such/path", "/components/responses/NotFound", 404);

        // User auth: 401 without a token, 403 for an order in another user's name, 404 for reading another
        // user's order (as for an unknown id: docs/SECURITY.md).
        try (TestFloodgate auth = TestFloodgate.start(Map.of("FLOODGATE_USER_JWT_SECRET", JWT_SECRET))) {
            Recorder authed = new Recorder(auth.api);
            auth.api.putItem("AUTH-1", "Auth item", 10, 5);
            authed.call("POST", orders, orders, orderBody("u-a", "AUTH-1", 1), with(json, "Idempotency-Key", "k-a"));   // 401
            authed.call("POST", orders, orders, orderBody("u-a", "AUTH-1", 1),
                    with(with(json, "Idempotency-Key", "k-a"), "Authorization", "Bearer " + userToken("u-b")));     // 403
            String theirs = authed.call("POST", orders, orders, orderBody("u-a", "AUTH-1", 1),
                    with(with(json, "Idempotency-Key", "k-a2"), "Authorization", "Bearer " + userToken("u-a")))
                    .json().path("orderId").asText();                                                            // 201
            authed.call("GET", one, "/api/v1/orders/" + theirs, null, Map.of("Authorization", "Bearer " + userToken("u-b"))); // 404
            rec.absorb(authed);
        }

        rec.assertAllMatched();
        rec.assertSeen("POST /api/v1/orders", 200, 201, 400, 401, 403, 404, 409, 422, 429);
        rec.assertSeen("PUT /api/v1/items/{sku}", 200, 201, 400, 401, 409, 413, 415);
        rec.assertSeen("GET /api/v1/orders/{orderId}", 200, 404);
        rec.printCoverage();
    }

    @Test
    void anOrderAcceptedByTheKafkaLogMatchesItsDescription() {
        String bootstrap = TestKafka.bootstrapOrSkip();
        String topic = "fg-oas-" + UUID.randomUUID();
        try (TestFloodgate kafka = TestFloodgate.start(TestKafka.orderLogOn(bootstrap, topic))) {
            Recorder rec = new Recorder(kafka.api);
            kafka.api.putItem("K-1", "Kafka item", 5, 1);
            rec.call("POST", "/api/v1/orders", "/api/v1/orders", orderBody("u-k", "K-1", 1),
                    Map.of("Content-Type", "application/json", "Idempotency-Key", "k-kafka"));
            rec.assertAllMatched();
            rec.assertSeen("POST /api/v1/orders", 202);
        } finally {
            TestKafka.deleteTopics(bootstrap, topic, topic + ".dlq");
        }
    }

    // ---- the recorder ---------------------------------------------------------------------------

    /** One answer and what it was checked against. */
    private record Exchange(String route, String path, Api.Response response, List<String> problems) {
    }

    private static final class Recorder {
        private final Api api;
        private final List<Exchange> exchanges = new ArrayList<>();

        Recorder(Api api) {
            this.api = api;
        }

        Api.Response call(String method, String template, String path, String body, Map<String, String> headers) {
            Api.Response r = api.send(method, path, body, headers);
            String route = method + " " + template;
            JsonNode operation = spec.path("paths").path(template).path(method.toLowerCase(Locale.ROOT));
            List<String> problems = new ArrayList<>();
            if (operation.isMissingNode()) {
                problems.add("no operation " + route + " in the document");
            } else {
                String status = Integer.toString(r.status());
                JsonNode responses = operation.path("responses");
                if (!responses.has(status)) {
                    problems.add("status " + status + " is not described for " + route);
                } else {
                    String pointer = "/paths/" + escape(template) + "/" + method.toLowerCase(Locale.ROOT) + "/responses/" + status;
                    check(pointer, r, problems);
                }
            }
            exchanges.add(new Exchange(route, path, r, problems));
            return r;
        }

        /** An answer that belongs to no operation, checked against a response of components. */
        void unbound(String method, String path, String responsePointer, int expectedStatus) {
            Api.Response r = api.send(method, path, null, Map.of());
            List<String> problems = new ArrayList<>();
            if (r.status() != expectedStatus) {
                problems.add("expected " + expectedStatus);
            } else {
                check(responsePointer, r, problems);
            }
            exchanges.add(new Exchange(method + " " + path + " (" + responsePointer + ")", path, r, problems));
        }

        void absorb(Recorder other) {
            exchanges.addAll(other.exchanges);
        }

        /** Checks {@code r} against the response object at {@code pointer} (following {@code $ref}s). */
        private void check(String pointer, Api.Response r, List<String> problems) {
            Resolved response = resolve(pointer);
            // headers the description requires
            Iterator<Map.Entry<String, JsonNode>> headers = response.node.path("headers").fields();
            while (headers.hasNext()) {
                Map.Entry<String, JsonNode> h = headers.next();
                Resolved header = resolve(response.pointer + "/headers/" + escape(h.getKey()));
                var value = r.header(h.getKey());
                if (value.isEmpty()) {
                    if (header.node.path("required").asBoolean(false)) {
                        problems.add("required header " + h.getKey() + " is missing");
                    }
                    continue;
                }
                JsonNode instance = "integer".equals(resolve(header.pointer + "/schema").node.path("type").asText(""))
                        ? integerOrText(value.get()) : TextNode.valueOf(value.get());
                for (Error e : schema(header.pointer + "/schema").validate(instance)) {
                    problems.add("header " + h.getKey() + " '" + value.get() + "': " + e);
                }
            }
            // content type and body
            JsonNode content = response.node.path("content");
            String contentType = r.header("Content-Type").map(ct -> ct.split(";")[0].trim().toLowerCase(Locale.ROOT))
                    .orElse("");
            if (!content.has(contentType)) {
                problems.add("content type '" + contentType + "' is not described (described: " + names(content) + ")");
                return;
            }
            if (contentType.equals("application/json") || contentType.equals("application/problem+json")) {
                if (r.json().isMissingNode()) {
                    problems.add("the body is not JSON: " + r);
                    return;
                }
                String schemaPointer = response.pointer + "/content/" + escape(contentType) + "/schema";
                for (Error e : schema(schemaPointer).validate(r.body(), InputFormat.JSON)) {
                    problems.add("body: " + e);
                }
            }
        }

        void assertAllMatched() {
            List<String> failures = new ArrayList<>();
            for (Exchange e : exchanges) {
                if (!e.problems.isEmpty()) {
                    failures.add(e.route + " (" + e.path + ") -> " + e.response.status() + ": " + e.problems
                            + "\n    answer: " + abbreviate(e.response.body()));
                }
            }
            assertThat(failures).as("answers that do not match /openapi.yaml").isEmpty();
        }

        void assertSeen(String route, int... statuses) {
            Set<Integer> seen = new TreeSet<>();
            for (Exchange e : exchanges) {
                if (e.route.equals(route)) {
                    seen.add(e.response.status());
                }
            }
            for (int status : statuses) {
                assertThat(seen).as("the scenario meant to record %s -> %d", route, status).contains(status);
            }
        }

        void printCoverage() {
            Map<String, Set<String>> described = new LinkedHashMap<>();
            for (String route : describedRoutes()) {
                String method = route.substring(0, route.indexOf(' '));
                String path = route.substring(route.indexOf(' ') + 1);
                Set<String> statuses = new TreeSet<>();
                spec.path("paths").path(path).path(method.toLowerCase(Locale.ROOT)).path("responses").fieldNames()
                        .forEachRemaining(statuses::add);
                described.put(route, statuses);
            }
            for (Exchange e : exchanges) {
                Set<String> left = described.get(e.route);
                if (left != null) {
                    left.remove(Integer.toString(e.response.status()));
                }
            }
            StringBuilder b = new StringBuilder("Described answers this scenario did not record (needing faults or"
                    + " issue 13's routes):\n");
            described.forEach((route, left) -> b.append("  ").append(route).append(": ").append(left).append('\n'));
            System.out.print(b);
        }
    }

    // ---- the document ---------------------------------------------------------------------------

    private static JsonNode readDocument() {
        try (InputStream in = OpenApiContractTest.class.getResourceAsStream(DOCUMENT)) {
            assertThat(in).as("%s on the class path", DOCUMENT).isNotNull();
            return new YAMLMapper().readTree(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Set<String> describedRoutes() {
        Set<String> routes = new TreeSet<>();
        spec.path("paths").fields().forEachRemaining(path -> path.getValue().fieldNames().forEachRemaining(key -> {
            if (METHODS.contains(key)) {
                routes.add(key.toUpperCase(Locale.ROOT) + " " + path.getKey());
            }
        }));
        return routes;
    }

    /** A node of the document and its JSON pointer, after following any {@code $ref}. */
    private record Resolved(String pointer, JsonNode node) {
    }

    private static Resolved resolve(String pointer) {
        JsonNode node = spec.at(pointer);
        int hops = 0;
        while (node.has("$ref")) {
            String ref = node.get("$ref").asText();
            assertThat(ref).as("only local references in the document").startsWith("#/");
            pointer = ref.substring(1);
            node = spec.at(pointer);
            assertThat(++hops).as("a $ref chain from %s", pointer).isLessThan(10);
        }
        assertThat(node.isMissingNode()).as("%s is in the document", pointer).isFalse();
        return new Resolved(pointer, node);
    }

    private static Schema schema(String pointer) {
        return SCHEMA_CACHE.computeIfAbsent(pointer, p -> schemas.getSchema(SchemaLocation.of(IRI + "#" + p)));
    }

    private static JsonNode integerOrText(String value) {
        try {
            return IntNode.valueOf(Integer.parseInt(value.trim()));
        } catch (NumberFormatException e) {
            return TextNode.valueOf(value);
        }
    }

    /** JSON pointer escaping of one reference token (RFC 6901). */
    private static String escape(String token) {
        return token.replace("~", "~0").replace("/", "~1");
    }

    private static String names(JsonNode object) {
        List<String> names = new ArrayList<>();
        object.fieldNames().forEachRemaining(names::add);
        return names.toString();
    }

    private static boolean isUnmatched(Api.Response r) {
        return r.status() == 404 && "NOT_FOUND".equals(r.code())
                && r.json().path("detail").asText("").startsWith("no resource at");
    }

    private static Set<String> minus(Set<String> a, Set<String> b) {
        Set<String> out = new TreeSet<>(a);
        out.removeAll(b);
        return out;
    }

    private static Map<String, String> with(Map<String, String> headers, String name, String value) {
        Map<String, String> out = new LinkedHashMap<>(headers);
        out.put(name, value);
        return out;
    }

    private static String orderBody(String user, String sku, int quantity) {
        return "{\"userId\":\"" + user + "\",\"sku\":\"" + sku + "\",\"quantity\":" + quantity + "}";
    }

    private static String abbreviate(String s) {
        return s.length() <= 400 ? s : s.substring(0, 400) + "...";
    }

    private static String userToken(String sub) {
        long exp = Instant.now().plus(1, ChronoUnit.HOURS).getEpochSecond();
        String input = b64("{\"alg\":\"HS256\",\"typ\":\"JWT\"}") + "." + b64("{\"sub\":\"" + sub + "\",\"exp\":" + exp + "}");
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(JWT_SECRET.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
            return input + "." + Base64.getUrlEncoder().withoutPadding()
                    .encodeToString(mac.doFinal(input.getBytes(StandardCharsets.US_ASCII)));
        } catch (java.security.GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String b64(String s) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Closes the test's copy of the document: every object schema with {@code properties} and no
     * rule for other members gets {@code unevaluatedProperties: false}. A schema that is a member
     * of an {@code allOf} is inlined there unclosed (its container is closed instead), since a
     * closed member would refuse the other members' properties.
     */
    static final class Closer {
        private Closer() {
        }

        static void close(ObjectNode document) {
            JsonNode components = document.path("components").path("schemas");
            Set<String> names = new LinkedHashSet<>();
            components.fieldNames().forEachRemaining(names::add);
            for (String name : names) {
                closeSchema(document, components.get(name));
            }
        }

        private static void closeSchema(ObjectNode document, JsonNode schema) {
            if (!(schema instanceof ObjectNode s)) {
                return;
            }
            if (s.get("allOf") instanceof ArrayNode all) {
                for (int i = 0; i < all.size(); i++) {
                    JsonNode member = all.get(i);
                    if (member.has("$ref")) {
                        JsonNode target = document.at(member.get("$ref").asText().substring(1)).deepCopy();
                        all.set(i, target); // an unclosed copy
                    }
                    // the member's own nested objects may be closed; its top level may not
                    closeChildren(document, all.get(i));
                }
                if (!s.has("unevaluatedProperties")) {
                    s.put("unevaluatedProperties", false);
                }
                return;
            }
            if (s.has("properties") && !s.has("additionalProperties") && !s.has("unevaluatedProperties")) {
                s.put("unevaluatedProperties", false);
            }
            closeChildren(document, s);
        }

        private static void closeChildren(ObjectNode document, JsonNode s) {
            JsonNode properties = s.path("properties");
            properties.fields().forEachRemaining(p -> closeSchema(document, p.getValue()));
            closeSchema(document, s.path("items"));
            if (s.path("additionalProperties").isObject()) {
                closeSchema(document, s.get("additionalProperties"));
            }
            for (String applicator : List.of("oneOf", "anyOf")) {
                s.path(applicator).forEach(member -> closeSchema(document, member));
            }
        }
    }
}
