package io.floodgate.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.floodgate.testing.Api;
import io.floodgate.testing.PaymentProvider;
import io.floodgate.testing.Seeds;
import io.floodgate.testing.TestFloodgate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import io.floodgate.testing.DistributedMode;
import org.junit.jupiter.api.Test;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;

import static io.floodgate.http.HttpTestSupport.ADMIN;
import static io.floodgate.http.HttpTestSupport.ITEM_FIELDS;
import static io.floodgate.http.HttpTestSupport.ORDER_FIELDS;
import static io.floodgate.http.HttpTestSupport.REQUEST_ID;
import static io.floodgate.http.HttpTestSupport.assertProblem;
import static io.floodgate.http.HttpTestSupport.elements;
import static io.floodgate.http.HttpTestSupport.fieldNames;
import static io.floodgate.http.HttpTestSupport.headers;
import static io.floodgate.http.HttpTestSupport.itemWithAvailable;
import static io.floodgate.http.HttpTestSupport.repeat;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The HTTP contract of API.md, black box, over real HTTP against an in-process server: items,
 * orders, idempotency, sale windows, limits, cancellation, request ids, problems, operations,
 * rate limiting and user auth.
 */
@org.junit.jupiter.api.TestInstance(org.junit.jupiter.api.TestInstance.Lifecycle.PER_CLASS)
class HttpContractTest {

    private static final AtomicInteger SEQ = new AtomicInteger();
    private static final String JWT_SECRET = "contract-test-secret-0123456789abcdef";

    private static TestFloodgate server;
    private static Api api;
    private static TestFloodgate jwtServer;
    private static PaymentProvider provider;

    private static DistributedMode distributed;
    /** What a new order is answered with: 201 CONFIRMED by the direct log, 202 ACCEPTED by Kafka. */
    private static int ackStatus = 201;
    private static String ackState = "CONFIRMED";

    /**
     * The backing services of the mode this suite runs in: none here (the embedded default);
     * subclasses run the same suite against other modes by returning theirs.
     */
    protected DistributedMode mode() {
        return null;
    }

    /** Whether a new order is answered 202 ACCEPTED (a log that answers before the store). */
    protected boolean acceptsBeforeStoring() {
        return false;
    }

    @BeforeAll
    void start() {
        ackStatus = acceptsBeforeStoring() ? 202 : 201;
        ackState = acceptsBeforeStoring() ? "ACCEPTED" : "CONFIRMED";
        distributed = mode();
        server = startInSuiteMode(Map.of());
        api = server.api;
        provider = new PaymentProvider(api);
    }

    /** Another server in the suite's mode: in a distributed one, a second instance sharing the sale. */
    private static TestFloodgate startInSuiteMode(Map<String, String> overrides) {
        Map<String, String> env = new java.util.HashMap<>(distributed == null ? Map.of() : distributed.environment());
        env.put("FLOODGATE_PAYMENT_SECRET", PaymentProvider.SECRET);
        env.put("FLOODGATE_EXPIRY_PERIOD_MS", "100");
        env.putAll(overrides);
        return TestFloodgate.start(env);
    }

    @AfterAll
    void stop() {
        if (jwtServer != null) {
            jwtServer.close();
            jwtServer = null;
        }
        if (server != null) {
            server.close();
            server = null;
        }
        if (distributed != null) {
            distributed.close();
            distributed = null;
        }
    }

    /** The suite's server's client, for what a subclass adds. */
    protected static Api suiteApi() {
        return api;
    }

    /** The suite's payment provider (signs with the secret the suite's server has). */
    protected static PaymentProvider suiteProvider() {
        return provider;
    }

    /** Every event readable after {@code cursor}, following the cursor page by page. */
    protected static List<JsonNode> eventsAfter(String cursor) {
        List<JsonNode> events = new ArrayList<>();
        String at = cursor;
        while (true) {
            Api.Response page = api.adminGet("/api/v1/events?after=" + at + "&limit=1000");
            assertThat(page.status()).as("%s", page).isEqualTo(200);
            events.addAll(elements(page.json().get("events")));
            String next = page.json().get("next").asText();
            if (next.equals(at)) {
                return events;
            }
            at = next;
        }
    }

    protected static String unique(String prefix) {
        return prefix + "-" + SEQ.incrementAndGet();
    }

    private static String newItem(long stock, int perUserLimit) {
        String sku = unique("S");
        Api.Response r = api.putItem(sku, "Item " + sku, stock, perUserLimit);
        assertThat(r.status()).as("PUT item %s: %s", sku, r).isEqualTo(201);
        return sku;
    }

    protected static JsonNode placed(Api.Response r) {
        assertThat(r.status()).as("order placement: %s", r).isEqualTo(ackStatus);
        assertThat(r.json().path("status").asText()).isEqualTo(ackState);
        return r.json();
    }

    /**
     * The same order as {@code placed}: equal views, except that an order answered 202 ACCEPTED
     * may read CONFIRMED once the log has stored it.
     */
    private static void assertSameOrder(JsonNode actual, JsonNode placed) {
        if (ackState.equals("ACCEPTED")) {
            assertThat(actual.path("status").asText()).isIn("ACCEPTED", "CONFIRMED");
            ObjectNode a = actual.deepCopy();
            ObjectNode p = placed.deepCopy();
            a.remove("status");
            p.remove("status");
            assertThat(a).isEqualTo(p);
        } else {
            assertThat(actual).isEqualTo(placed);
        }
    }

    private static String orderBody(String userId, String sku, int quantity) {
        return "{\"userId\":\"" + userId + "\",\"sku\":\"" + sku + "\",\"quantity\":" + quantity + "}";
    }

    // ==== items ====================================================================================

    @Test
    void putItemCreatesWith201ThenReplacesWith200AndReturnsTheItemView() {
        String sku = unique("S");
        Api.Response created = api.putItem(sku, "{\"name\":\"Phone X\",\"stock\":1000,\"perUserLimit\":2,"
                + "\"startsAt\":\"2020-01-01T00:00:00Z\",\"endsAt\":null}");
        assertThat(created.status()).as("%s", created).isEqualTo(201);
        assertThat(created.header("Content-Type")).hasValueSatisfying(ct -> assertThat(ct).startsWith("application/json"));
        JsonNode v = created.json();
        assertThat(fieldNames(v)).as("item view fields").isEqualTo(new TreeSet<>(ITEM_FIELDS));
        assertThat(v.get("sku").asText()).isEqualTo(sku);
        assertThat(v.get("name").asText()).isEqualTo("Phone X");
        assertThat(v.get("stock").isIntegralNumber()).isTrue();
        assertThat(v.get("stock").asLong()).isEqualTo(1000);
        assertThat(v.get("available").isIntegralNumber()).isTrue();
        assertThat(v.get("available").asLong()).isEqualTo(1000);
        assertThat(v.get("perUserLimit").asInt()).isEqualTo(2);
        assertThat(v.get("startsAt").asText()).isEqualTo("2020-01-01T00:00:00Z");
        assertThat(v.get("endsAt").isNull()).as("endsAt is JSON null").isTrue();
        assertThat(v.get("state").asText()).isEqualTo("ON_SALE");

        Api.Response got = api.item(sku);
        assertThat(got.status()).isEqualTo(200);
        assertThat(got.json()).isEqualTo(v);

        Api.Response replaced = api.putItem(sku, "{\"name\":\"Phone Y\",\"stock\":5}");
        assertThat(replaced.status()).as("%s", replaced).isEqualTo(200);
        JsonNode w = replaced.json();
        assertThat(fieldNames(w)).isEqualTo(new TreeSet<>(ITEM_FIELDS));
        assertThat(w.get("name").asText()).isEqualTo("Phone Y");
        assertThat(w.get("stock").asLong()).isEqualTo(5);
        assertThat(w.get("available").asLong()).isEqualTo(5);
        assertThat(w.get("perUserLimit").asInt()).as("perUserLimit defaults to 1").isEqualTo(1);
        assertThat(w.get("startsAt").isNull()).isTrue();
        assertThat(w.get("endsAt").isNull()).isTrue();
        assertThat(w.get("state").asText()).isEqualTo("ON_SALE");
        assertThat(api.item(sku).json()).isEqualTo(w);
    }

    @Test
    void itemTimestampsWithAnOffsetAreAnsweredInUtc() {
        String sku = unique("S");
        Api.Response r = api.putItem(sku, "{\"name\":\"n\",\"stock\":1,"
                + "\"startsAt\":\"2020-01-01T13:00:00+01:00\",\"endsAt\":\"2099-01-01T00:00:00-02:00\"}");
        assertThat(r.status()).as("%s", r).isEqualTo(201);
        assertThat(Instant.parse(r.json().get("startsAt").asText())).isEqualTo(Instant.parse("2020-01-01T12:00:00Z"));
        assertThat(r.json().get("startsAt").asText()).endsWith("Z");
        assertThat(Instant.parse(r.json().get("endsAt").asText())).isEqualTo(Instant.parse("2099-01-01T02:00:00Z"));
        assertThat(r.json().get("endsAt").asText()).endsWith("Z");
        assertThat(r.json().get("state").asText()).isEqualTo("ON_SALE");
    }

    @Test
    void itemsListReturnsEveryItemViewInAnItemsArray() {
        String a = newItem(3, 1);
        String b = newItem(4, 2);
        Api.Response r = api.get("/api/v1/items");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.header("Content-Type")).hasValueSatisfying(ct -> assertThat(ct).startsWith("application/json"));
        assertThat(r.json().path("items").isArray()).as("%s", r).isTrue();
        List<JsonNode> items = elements(r.json().get("items"));
        for (JsonNode item : items) { // the payment terms are there only on items that have them
            assertThat(fieldNames(item)).containsAll(ITEM_FIELDS)
                    .isSubsetOf(new TreeSet<>(List.of("sku", "name", "stock", "available", "perUserLimit", "startsAt",
                            "endsAt", "state", "paymentWindowSeconds", "price")));
        }
        assertThat(items).filteredOn(i -> i.get("sku").asText().equals(a)).singleElement()
                .isEqualTo(api.item(a).json());
        assertThat(items).filteredOn(i -> i.get("sku").asText().equals(b)).singleElement()
                .satisfies(i -> {
                    assertThat(i.get("stock").asLong()).isEqualTo(4);
                    assertThat(i.get("perUserLimit").asInt()).isEqualTo(2);
                });
    }

    @Test
    void replacingAnItemThatHasHadAnOrderIs409ItemLockedEvenAfterTheOrderIsCancelled() {
        String sku = newItem(10, 1);
        JsonNode order = placed(api.order(unique("k"), unique("u"), sku, 1));

        Api.Response locked = api.putItem(sku, "New name", 50, 3);
        assertProblem(locked, 409, "ITEM_LOCKED");

        Api.Response cancelled = api.cancel(order.get("orderId").asText());
        assertThat(cancelled.status()).as("%s", cancelled).isEqualTo(200);
        JsonNode before = itemWithAvailable(api, sku, 10);

        Api.Response stillLocked = api.putItem(sku, "New name", 50, 3);
        assertProblem(stillLocked, 409, "ITEM_LOCKED");
        JsonNode after = api.item(sku).json();
        assertThat(after).as("a refused replacement changes nothing").isEqualTo(before);
        assertThat(after.get("name").asText()).isEqualTo("Item " + sku);
        assertThat(after.get("stock").asLong()).isEqualTo(10);
    }

    @Test
    void replacingAnItemWhoseOrderAttemptsWereAllRejectedIs200() {
        String sku = newItem(0, 1);
        assertProblem(api.order(unique("k"), unique("u"), sku, 1), 409, "SOLD_OUT");
        Api.Response replaced = api.putItem(sku, "Restocked", 7, 1);
        assertThat(replaced.status()).as("a rejected attempt is not an order: %s", replaced).isEqualTo(200);
        assertThat(replaced.json().get("available").asLong()).isEqualTo(7);
    }

    @Test
    void stockDeltaAddsToStockAndAvailableAndANegativeDeltaRemovesAvailableUnitsOnly() {
        String sku = newItem(10, 5);
        placed(api.order(unique("k"), unique("u"), sku, 3));
        itemWithAvailable(api, sku, 7);

        Api.Response added = api.addStock(sku, 5);
        assertThat(added.status()).as("%s", added).isEqualTo(200);
        assertThat(fieldNames(added.json())).isEqualTo(new TreeSet<>(ITEM_FIELDS));
        assertThat(added.json().get("stock").asLong()).isEqualTo(15);
        assertThat(added.json().get("available").asLong()).isEqualTo(12);

        Api.Response removed = api.addStock(sku, -12);
        assertThat(removed.status()).as("%s", removed).isEqualTo(200);
        assertThat(removed.json().get("stock").asLong()).as("sold units stay in stock").isEqualTo(3);
        assertThat(removed.json().get("available").asLong()).isEqualTo(0);
        assertThat(itemWithAvailable(api, sku, 0).get("state").asText()).isEqualTo("SOLD_OUT");

        Api.Response zero = api.addStock(sku, 0);
        assertThat(zero.status()).isEqualTo(200);
        assertThat(zero.json().get("stock").asLong()).isEqualTo(3);
    }

    @Test
    void negativeDeltaBeyondAvailableIs409SoldOutAndChangesNothing() {
        String sku = newItem(10, 5);
        placed(api.order(unique("k"), unique("u"), sku, 4));
        JsonNode before = itemWithAvailable(api, sku, 6);

        assertProblem(api.addStock(sku, -7), 409, "SOLD_OUT");
        assertThat(api.item(sku).json()).isEqualTo(before);

        Api.Response exact = api.addStock(sku, -6);
        assertThat(exact.status()).as("%s", exact).isEqualTo(200);
        assertThat(exact.json().get("stock").asLong()).isEqualTo(4);
        assertThat(exact.json().get("available").asLong()).isEqualTo(0);
    }

    @Test
    void unknownItemIs404UnknownItemOnReadStockAndOrder() {
        String sku = unique("NOPE");
        assertProblem(api.item(sku), 404, "UNKNOWN_ITEM");
        assertProblem(api.item(repeat('a', 65)), 404, "UNKNOWN_ITEM");
        assertProblem(api.addStock(sku, 5), 404, "UNKNOWN_ITEM");
        assertProblem(api.addStock(sku, -5), 404, "UNKNOWN_ITEM");
        assertProblem(api.order(unique("k"), unique("u"), sku, 1), 404, "UNKNOWN_ITEM");
        assertProblem(api.item(sku), 404, "UNKNOWN_ITEM");
    }

    @Test
    void adminEndpointsWithoutOrWithAWrongTokenAre401Unauthenticated() {
        String sku = unique("S");
        String body = "{\"name\":\"n\",\"stock\":5}";
        List<Map<String, String>> badAuth = List.of(
                headers("Content-Type", "application/json"),
                headers("Content-Type", "application/json", "Authorization", "Bearer wrong-token"),
                headers("Content-Type", "application/json", "Authorization", ADMIN + "x"),
                headers("Content-Type", "application/json", "Authorization", "Basic dGVzdDp0ZXN0"),
                headers("Content-Type", "application/json", "Authorization", TestFloodgate.ADMIN_TOKEN),
                headers("Content-Type", "application/json", "Authorization", "Bearer "));
        for (Map<String, String> h : badAuth) {
            assertProblem(api.send("PUT", "/api/v1/items/" + sku, body, h), 401, "UNAUTHENTICATED");
        }
        assertProblem(api.item(sku), 404, "UNKNOWN_ITEM");

        String existing = newItem(5, 1);
        JsonNode before = api.item(existing).json();
        for (Map<String, String> h : badAuth) {
            assertProblem(api.send("PUT", "/api/v1/items/" + existing, body, h), 401, "UNAUTHENTICATED");
            assertProblem(api.send("POST", "/api/v1/items/" + existing + "/stock", "{\"delta\":5}", h),
                    401, "UNAUTHENTICATED");
            assertProblem(api.send("POST", "/api/v1/items/" + existing + "/stock", "{\"delta\":-5}", h),
                    401, "UNAUTHENTICATED");
        }
        assertThat(api.item(existing).json()).isEqualTo(before);

        assertProblem(api.get("/debug/threads"), 401, "UNAUTHENTICATED");
        assertProblem(api.send("GET", "/debug/threads", null, headers("Authorization", "Bearer nope")),
                401, "UNAUTHENTICATED");
        assertProblem(api.send("POST", "/debug/profile?seconds=1", null, Map.of()), 401, "UNAUTHENTICATED");
        assertProblem(api.send("POST", "/debug/profile?seconds=1", null, headers("Authorization", "Bearer nope")),
                401, "UNAUTHENTICATED");
    }

    // ==== orders ===================================================================================

    @Test
    void placingAnOrderAnswers201ConfirmedWithLocationAndTheOrderView() {
        String sku = newItem(10, 2);
        String user = unique("u-42");
        String requestId = unique("req.id:X");
        Instant before = Instant.now().truncatedTo(ChronoUnit.MILLIS);
        Api.Response r = api.order(unique("key"), orderBody(user, sku, 2), Map.of("X-Request-Id", requestId));
        Instant after = Instant.now();

        assertThat(r.status()).as("%s", r).isEqualTo(ackStatus);
        assertThat(r.header("Content-Type")).hasValueSatisfying(ct -> assertThat(ct).startsWith("application/json"));
        assertThat(r.header("Idempotent-Replayed")).as("a first placement is no replay").isEmpty();
        JsonNode o = r.json();
        assertThat(fieldNames(o)).as("order view fields").isEqualTo(new TreeSet<>(ORDER_FIELDS));
        String orderId = o.get("orderId").asText();
        assertThat(orderId).isNotEmpty().hasSizeLessThanOrEqualTo(64);
        assertThat(r.header("Location")).hasValue("/api/v1/orders/" + orderId);
        assertThat(o.get("sku").asText()).isEqualTo(sku);
        assertThat(o.get("userId").asText()).isEqualTo(user);
        assertThat(o.get("quantity").isIntegralNumber()).isTrue();
        assertThat(o.get("quantity").asInt()).isEqualTo(2);
        assertThat(o.get("status").asText()).isEqualTo(ackState);
        assertThat(o.get("requestId").asText()).isEqualTo(requestId);
        assertThat(r.header("X-Request-Id")).hasValue(requestId);
        String createdAt = o.get("createdAt").asText();
        assertThat(createdAt).as("RFC 3339 in UTC").endsWith("Z");
        assertThat(Instant.parse(createdAt)).isBetween(before.minusSeconds(1), after.plusSeconds(1));

        itemWithAvailable(api, sku, 8);
    }

    @Test
    void getOrderReturnsTheOrderView() {
        String sku = newItem(10, 1);
        JsonNode o = placed(api.order(unique("k"), unique("u"), sku, 1));
        Api.Response got = api.get("/api/v1/orders/" + o.get("orderId").asText());
        assertThat(got.status()).as("%s", got).isEqualTo(200);
        assertSameOrder(got.json(), o);
    }

    @Test
    void replayWithSameKeyReturns200AndSameOrder() {
        String sku = newItem(10, 5);
        String key = unique("key");
        String user = unique("u");
        Api.Response first = api.order(key, user, sku, 2);
        JsonNode o = placed(first);

        for (int i = 0; i < 2; i++) {
            Api.Response replay = api.order(key, user, sku, 2);
            assertThat(replay.status()).as("%s", replay).isEqualTo(200);
            assertThat(replay.header("Idempotent-Replayed")).hasValue("true");
            assertSameOrder(replay.json(), o);
            if (ackStatus == 201) {
                assertThat(replay.body()).as("byte for byte").isEqualTo(first.body());
            }
            assertThat(replay.header("Location")).isEqualTo(first.header("Location"));
            assertThat(replay.header("X-Request-Id")).as("the replay has its own request id")
                    .isNotEqualTo(first.header("X-Request-Id"));
        }
        JsonNode item = itemWithAvailable(api, sku, 8);
        assertThat(item.get("available").asLong()).as("reserved once").isEqualTo(8);
        assertThat(elements(api.get("/api/v1/users/" + user + "/orders").json().get("orders"))).hasSize(1);
    }

    @Test
    void sameKeyWithDifferentQuantityOrUserIs422AndChangesNothing() {
        String sku = newItem(10, 5);
        String key = unique("key");
        String user = unique("u");
        placed(api.order(key, user, sku, 2));
        JsonNode before = itemWithAvailable(api, sku, 8);

        assertProblem(api.order(key, user, sku, 3), 422, "IDEMPOTENCY_KEY_REUSED");
        String other = unique("u");
        assertProblem(api.order(key, other, sku, 2), 422, "IDEMPOTENCY_KEY_REUSED");
        assertThat(api.item(sku).json()).isEqualTo(before);
        assertThat(elements(api.get("/api/v1/users/" + other + "/orders").json().get("orders"))).isEmpty();
        assertThat(elements(api.get("/api/v1/users/" + user + "/orders").json().get("orders"))).hasSize(1);
    }

    @Test
    void sameKeyForAnotherItemIsANewOrderBecauseKeysArePerItem() {
        String a = newItem(10, 5);
        String b = newItem(10, 5);
        String key = unique("key");
        String user = unique("u");
        JsonNode first = placed(api.order(key, user, a, 1));
        JsonNode second = placed(api.order(key, user, b, 1));
        assertThat(second.get("orderId").asText()).isNotEqualTo(first.get("orderId").asText());
        itemWithAvailable(api, a, 9);
        itemWithAvailable(api, b, 9);
    }

    @Test
    void orderForMoreThanIsAvailableIs409SoldOutAndTheRejectedKeyIsJudgedAfreshLater() {
        String sku = newItem(2, 10);
        String key = unique("key");
        String user = unique("u");
        assertProblem(api.order(key, user, sku, 3), 409, "SOLD_OUT");
        itemWithAvailable(api, sku, 2);

        placed(api.order(unique("k"), unique("u"), sku, 2));
        JsonNode soldOut = itemWithAvailable(api, sku, 0);
        assertThat(soldOut.get("state").asText()).isEqualTo("SOLD_OUT");
        assertProblem(api.order(unique("k"), unique("u"), sku, 1), 409, "SOLD_OUT");

        assertThat(api.addStock(sku, 3).status()).isEqualTo(200);
        Api.Response retry = api.order(key, user, sku, 3);
        assertThat(retry.status()).as("a rejected key holds nothing: %s", retry).isEqualTo(ackStatus);
        assertThat(retry.header("Idempotent-Replayed")).isEmpty();
        itemWithAvailable(api, sku, 0);
    }

    @Test
    void orderOverThePerUserLimitIs409PerUserLimit() {
        String sku = newItem(100, 2);
        String user = unique("u");
        assertProblem(api.order(unique("k"), user, sku, 3), 409, "PER_USER_LIMIT");
        placed(api.order(unique("k"), user, sku, 2));
        assertProblem(api.order(unique("k"), user, sku, 1), 409, "PER_USER_LIMIT");
        itemWithAvailable(api, sku, 98);
        placed(api.order(unique("k"), unique("u"), sku, 2));
        itemWithAvailable(api, sku, 96);
    }

    @Test
    void perUserLimitIsJudgedBeforeSoldOut() {
        String sku = newItem(1, 1);
        assertProblem(api.order(unique("k"), unique("u"), sku, 2), 409, "PER_USER_LIMIT");
        String user = unique("u");
        placed(api.order(unique("k"), user, sku, 1));
        assertProblem(api.order(unique("k"), user, sku, 1), 409, "PER_USER_LIMIT");
        assertProblem(api.order(unique("k"), unique("u"), sku, 1), 409, "SOLD_OUT");
    }

    @Test
    void replayIsAnsweredBeforeSoldOutAndPerUserLimit() {
        String sku = newItem(1, 1);
        String key = unique("key");
        String user = unique("u");
        JsonNode o = placed(api.order(key, user, sku, 1));
        Api.Response replay = api.order(key, user, sku, 1);
        assertThat(replay.status()).as("%s", replay).isEqualTo(200);
        assertSameOrder(replay.json(), o);
        assertProblem(api.order(key, user, sku, 2), 422, "IDEMPOTENCY_KEY_REUSED");
    }

    @Test
    void orderBeforeStartsAtIs409NotOnSaleAndTheItemIsUpcoming() {
        String sku = unique("S");
        String startsAt = Instant.now().plus(1, ChronoUnit.DAYS).truncatedTo(ChronoUnit.SECONDS).toString();
        Api.Response put = api.putItem(sku, "{\"name\":\"later\",\"stock\":5,\"perUserLimit\":1,\"startsAt\":\""
                + startsAt + "\",\"endsAt\":null}");
        assertThat(put.status()).as("%s", put).isEqualTo(201);
        assertThat(put.json().get("state").asText()).isEqualTo("UPCOMING");
        assertThat(put.json().get("startsAt").asText()).isEqualTo(startsAt);

        assertProblem(api.order(unique("k"), unique("u"), sku, 1), 409, "NOT_ON_SALE");
        assertProblem(api.order(unique("k"), unique("u"), sku, 1000), 409, "NOT_ON_SALE");
        JsonNode item = api.item(sku).json();
        assertThat(item.get("state").asText()).isEqualTo("UPCOMING");
        assertThat(item.get("available").asLong()).isEqualTo(5);
    }

    @Test
    void orderAfterEndsAtIs409NotOnSaleAndTheItemIsEnded() {
        String sku = unique("S");
        Api.Response put = api.putItem(sku, "{\"name\":\"past\",\"stock\":5,\"perUserLimit\":1,"
                + "\"startsAt\":\"2020-01-01T00:00:00Z\",\"endsAt\":\"2020-01-02T00:00:00Z\"}");
        assertThat(put.status()).as("a window wholly in the past is allowed: %s", put).isEqualTo(201);
        assertThat(put.json().get("state").asText()).isEqualTo("ENDED");
        assertProblem(api.order(unique("k"), unique("u"), sku, 1), 409, "NOT_ON_SALE");
        assertProblem(api.order(unique("k"), unique("u"), sku, 1000), 409, "NOT_ON_SALE");
        JsonNode item = api.item(sku).json();
        assertThat(item.get("state").asText()).isEqualTo("ENDED");
        assertThat(item.get("available").asLong()).isEqualTo(5);

        String openStart = unique("S");
        Api.Response ended = api.putItem(openStart, "{\"name\":\"gone\",\"stock\":5,\"endsAt\":\"2021-06-01T00:00:00Z\"}");
        assertThat(ended.status()).as("%s", ended).isEqualTo(201);
        assertThat(ended.json().get("state").asText()).isEqualTo("ENDED");
        assertProblem(api.order(unique("k"), unique("u"), openStart, 1), 409, "NOT_ON_SALE");
    }

    @Test
    void cancelAnswers200CancelledOnceAndAgainReturnsTheUnitsAndFreesThePerUserLimit() {
        String sku = newItem(5, 1);
        String user = unique("u");
        JsonNode o = placed(api.order(unique("k"), user, sku, 1));
        String orderId = o.get("orderId").asText();
        itemWithAvailable(api, sku, 4);
        assertProblem(api.order(unique("k"), user, sku, 1), 409, "PER_USER_LIMIT");

        Api.Response cancelled = api.cancel(orderId);
        assertThat(cancelled.status()).as("%s", cancelled).isEqualTo(200);
        JsonNode c = cancelled.json();
        TreeSet<String> cancelledFields = new TreeSet<>(ORDER_FIELDS);
        cancelledFields.add("cancelReason");
        assertThat(fieldNames(c)).isEqualTo(cancelledFields);
        assertThat(c.get("status").asText()).isEqualTo("CANCELLED");
        assertThat(c.get("cancelReason").asText()).as("every cancelled order says why").isEqualTo("REQUESTED");
        assertThat(c.get("orderId").asText()).isEqualTo(orderId);
        assertThat(c.get("sku").asText()).isEqualTo(sku);
        assertThat(c.get("userId").asText()).isEqualTo(user);
        assertThat(c.get("quantity").asInt()).isEqualTo(1);
        itemWithAvailable(api, sku, 5);

        for (int i = 0; i < 2; i++) {
            Api.Response again = api.cancel(orderId);
            assertThat(again.status()).as("%s", again).isEqualTo(200);
            assertThat(again.json()).as("the same cancelled order view every time").isEqualTo(c);
        }
        assertThat(api.item(sku).json().get("available").asLong()).as("units returned exactly once").isEqualTo(5);
        Api.Response got = api.get("/api/v1/orders/" + orderId);
        assertThat(got.status()).isEqualTo(200);
        assertThat(got.json().get("status").asText()).isEqualTo("CANCELLED");

        JsonNode second = placed(api.order(unique("k"), user, sku, 1));
        itemWithAvailable(api, sku, 4);
        List<JsonNode> orders = elements(api.get("/api/v1/users/" + user + "/orders").json().get("orders"));
        assertThat(orders).extracting(n -> n.get("orderId").asText())
                .containsExactly(second.get("orderId").asText(), orderId);
        assertThat(orders).extracting(n -> n.get("status").asText()).containsExactly("CONFIRMED", "CANCELLED");
    }

    @Test
    void unknownOrderIs404UnknownOrderWhateverTheIdLooksLike() {
        List<String> ids = List.of(
                UUID.randomUUID().toString(),
                "0193f0c2-0000-7000-8000-000000000000",
                "x",
                repeat('a', 64),
                repeat('a', 65),
                repeat('b', 100),
                repeat('9', 1000),
                "a%20b",
                "%C3%A9t%C3%A9",
                "%F0%9F%98%80",
                "%00",
                "%25",
                "'%20OR%20'1'='1",
                "%22%3E%3Cscript%3E",
                "a;b",
                "a:b@c",
                "~",
                "...",
                "%FF%FE");
        for (String id : ids) {
            Api.Response got = api.get("/api/v1/orders/" + id);
            assertProblem(got, 404, "UNKNOWN_ORDER");
            Api.Response cancel = api.cancel(id);
            assertProblem(cancel, 404, "UNKNOWN_ORDER");
        }
    }

    @Test
    void userOrdersAreListedNewestFirstAndLimitCutsTheList() {
        String user = unique("u@example.com");
        List<String> placedIds = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            String sku = newItem(10, 10);
            placedIds.add(placed(api.order(unique("k"), user, sku, 1 + i)).get("orderId").asText());
        }
        List<String> newestFirst = placedIds.reversed();

        Api.Response all = api.get("/api/v1/users/" + user + "/orders");
        assertThat(all.status()).as("%s", all).isEqualTo(200);
        assertThat(fieldNames(all.json())).contains("orders");
        List<JsonNode> orders = elements(all.json().get("orders"));
        for (JsonNode o : orders) {
            assertThat(fieldNames(o)).isEqualTo(new TreeSet<>(ORDER_FIELDS));
            assertThat(o.get("userId").asText()).isEqualTo(user);
        }
        assertThat(orders).extracting(o -> o.get("orderId").asText()).containsExactlyElementsOf(newestFirst);

        Api.Response one = api.get("/api/v1/users/" + user + "/orders?limit=1");
        assertThat(one.status()).isEqualTo(200);
        assertThat(elements(one.json().get("orders"))).extracting(o -> o.get("orderId").asText())
                .containsExactly(newestFirst.getFirst());
        Api.Response two = api.get("/api/v1/users/" + user + "/orders?limit=2");
        assertThat(elements(two.json().get("orders"))).extracting(o -> o.get("orderId").asText())
                .containsExactlyElementsOf(newestFirst.subList(0, 2));
        Api.Response max = api.get("/api/v1/users/" + user + "/orders?limit=500");
        assertThat(max.status()).isEqualTo(200);
        assertThat(elements(max.json().get("orders"))).hasSize(4);
    }

    @Test
    void userWithNoOrdersHasAnEmptyList() {
        Api.Response r = api.get("/api/v1/users/" + unique("nobody") + "/orders");
        assertThat(r.status()).as("%s", r).isEqualTo(200);
        assertThat(r.json().path("orders").isArray()).isTrue();
        assertThat(r.json().get("orders").size()).isZero();
    }

    @Test
    void userOrdersLimitOutsideOneTo500Is400() {
        String user = unique("u");
        for (String limit : List.of("0", "501", "-1", "abc", "", "1.5", "1e2", "99999999999", "%20", "50x")) {
            Api.Response r = api.get("/api/v1/users/" + user + "/orders?limit=" + limit);
            assertProblem(r, 400, "INVALID_REQUEST");
            assertThat(r.json().get("detail").asText()).as("detail names the field").contains("limit");
        }
    }

    // ==== request ids, problems, routing =========================================================

    @Test
    void validRequestIdIsEchoedOnSuccessAndOnProblems() {
        for (String id : List.of("abc", "A-Z_0.9:x", repeat('r', 64), "0")) {
            Api.Response ok = api.send("GET", "/health/live", null, Map.of("X-Request-Id", id));
            assertThat(ok.status()).isEqualTo(200);
            assertThat(ok.header("X-Request-Id")).hasValue(id);

            Api.Response notFound = api.send("GET", "/api/v1/items/" + unique("NOPE"), null, Map.of("X-Request-Id", id));
            assertProblem(notFound, 404, "UNKNOWN_ITEM");
            assertThat(notFound.header("X-Request-Id")).hasValue(id);
            assertThat(notFound.json().get("requestId").asText()).isEqualTo(id);
        }
    }

    @Test
    void invalidOrMissingRequestIdIsReplacedWithAFreshOne() {
        List<String> invalid = List.of(repeat('r', 65), "has space", "bad/char", "semi;colon", "quote\"d", "a,b");
        for (String id : invalid) {
            Api.Response ok = api.send("GET", "/health/live", null, Map.of("X-Request-Id", id));
            assertThat(ok.header("X-Request-Id")).as("for %s", id).hasValueSatisfying(fresh -> {
                assertThat(fresh).isNotEqualTo(id);
                assertThat(fresh).matches(REQUEST_ID);
            });
            Api.Response problem = api.send("GET", "/nowhere", null, Map.of("X-Request-Id", id));
            assertProblem(problem, 404, "NOT_FOUND");
            assertThat(problem.header("X-Request-Id").orElseThrow()).isNotEqualTo(id).matches(REQUEST_ID);
        }
        Api.Response a = api.get("/health/live");
        Api.Response b = api.get("/health/live");
        assertThat(a.header("X-Request-Id")).hasValueSatisfying(id -> assertThat(id).matches(REQUEST_ID));
        assertThat(b.header("X-Request-Id")).hasValueSatisfying(id -> assertThat(id).matches(REQUEST_ID));
        assertThat(a.header("X-Request-Id")).isNotEqualTo(b.header("X-Request-Id"));
    }

    @Test
    void orderViewCarriesTheFreshRequestIdWhenTheClientSentAnInvalidOne() {
        String sku = newItem(5, 1);
        Api.Response r = api.order(unique("k"), orderBody(unique("u"), sku, 1), Map.of("X-Request-Id", "not valid"));
        JsonNode o = placed(r);
        assertThat(o.get("requestId").asText()).isEqualTo(r.header("X-Request-Id").orElseThrow()).matches(REQUEST_ID);
    }

    @Test
    void unknownPathsAre404NotFound() {
        for (String path : List.of("/nope", "/api", "/api/v1", "/api/v1/nope", "/api/v2/items", "/api/v1/items/S/x",
                "/api/v1/orders/x/cancel/y", "/api/v1/users/u/orders/x", "/health", "/debug", "/metrics/x")) {
            assertProblem(api.get(path), 404, "NOT_FOUND");
            assertProblem(api.send("POST", path, "{}", Map.of("Content-Type", "application/json")), 404, "NOT_FOUND");
        }
    }

    @Test
    void wrongMethodsAre405MethodNotAllowed() {
        record Call(String method, String path) {
        }
        List<Call> calls = List.of(
                new Call("GET", "/api/v1/orders"),
                new Call("PUT", "/api/v1/orders"),
                new Call("DELETE", "/api/v1/orders"),
                new Call("DELETE", "/api/v1/orders/x"),
                new Call("PUT", "/api/v1/orders/x"),
                new Call("GET", "/api/v1/orders/x/cancel"),
                new Call("POST", "/api/v1/users/u/orders"),
                new Call("POST", "/api/v1/items"),
                new Call("DELETE", "/api/v1/items/S"),
                new Call("POST", "/api/v1/items/S"),
                new Call("PATCH", "/api/v1/items/S"),
                new Call("GET", "/api/v1/items/S/stock"),
                new Call("PUT", "/api/v1/items/S/stock"),
                new Call("POST", "/health/live"),
                new Call("DELETE", "/health/ready"),
                new Call("POST", "/metrics"),
                new Call("POST", "/"),
                new Call("POST", "/debug/threads"),
                new Call("GET", "/debug/profile"));
        for (Call c : calls) {
            Api.Response r = api.send(c.method(), c.path(), null, Map.of("Authorization", ADMIN));
            assertProblem(r, 405, "METHOD_NOT_ALLOWED");
            assertThat(r.header("Allow")).as("Allow on %s %s", c.method(), c.path()).isPresent();
        }
    }

    // ==== operations ===============================================================================

    @Test
    void healthEndpointsAnswer200() {
        assertThat(api.get("/health/live").status()).isEqualTo(200);
        Api.Response ready = api.get("/health/ready");
        assertThat(ready.status()).as("%s", ready).isEqualTo(200);
    }

    @Test
    void metricsArePrometheusTextCountingHttpRequests() {
        api.get("/health/live");
        api.item(unique("NOPE"));
        Api.Response r = api.get("/metrics");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.header("Content-Type")).hasValueSatisfying(ct -> assertThat(ct).startsWith("text/plain"));
        assertThat(r.body()).contains("# TYPE ").contains("floodgate_http_requests");
        assertThat(r.body().lines().filter(l -> l.startsWith("floodgate_http_requests")))
                .as("request series carry route and status").anySatisfy(l -> assertThat(l)
                        .contains("route=\"/health/live\"").contains("status=\"200\""));
    }

    @Test
    void dashboardIsAnHtmlPage() {
        Api.Response r = api.get("/");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.header("Content-Type")).hasValueSatisfying(ct -> assertThat(ct).startsWith("text/html"));
        assertThat(r.body().toLowerCase()).contains("<html");
    }

    @Test
    void threadDumpNeedsTheAdminTokenAndListsThreads() {
        assertProblem(api.get("/debug/threads"), 401, "UNAUTHENTICATED");
        Api.Response r = api.adminGet("/debug/threads");
        assertThat(r.status()).as("%s", r.status()).isEqualTo(200);
        assertThat(r.header("Content-Type")).hasValueSatisfying(ct -> assertThat(ct).startsWith("text/plain"));
        assertThat(r.body()).as("a thread dump").contains("Thread");
    }

    @Test
    void profileNeedsTheAdminTokenTakesOneTo120SecondsAndReturnsAJfrRecording() {
        for (String seconds : List.of("0", "121", "-1", "abc", "", "1.5")) {
            Api.Response r = api.send("POST", "/debug/profile?seconds=" + seconds, null, Map.of("Authorization", ADMIN));
            assertProblem(r, 400, "INVALID_REQUEST");
            assertThat(r.json().get("detail").asText()).contains("seconds");
        }
        assertProblem(api.send("POST", "/debug/profile?seconds=1", null, Map.of()), 401, "UNAUTHENTICATED");

        HttpTestSupport.Reply jfr = HttpTestSupport.send(api, "POST", "/debug/profile?seconds=1", null,
                Map.of("Authorization", ADMIN));
        assertThat(jfr.status()).isEqualTo(200);
        assertThat(jfr.bytes().length).isGreaterThan(4);
        assertThat(Arrays.copyOf(jfr.bytes(), 4)).as("JFR magic")
                .isEqualTo(new byte[]{'F', 'L', 'R', 0});
    }

    // ==== rate limiting ===========================================================================

    @Test
    void fourthRapidOrderOfOneUserIs429RateLimitedWithRetryAfterAndReservesNothing() {
        try (TestFloodgate limited = startInSuiteMode(Map.of(
                "FLOODGATE_USER_RATE", "1", "FLOODGATE_USER_BURST", "3"))) {
            Api a = limited.api;
            String sku = "RL-1";
            Api.Response put = a.putItem(sku, "Rate limited", 100, 100);
            assertThat(put.status()).as("%s", put).isEqualTo(201);
            // warm the path with another user so that the four below run back to back
            Api.Response warm = a.order("warm-1", "warm-up", sku, 1);
            assertThat(warm.status()).as("the warm-up order: %s", warm).isEqualTo(ackStatus);

            String user = "rl-user";
            for (int i = 1; i <= 3; i++) {
                Api.Response r = a.order("rl-" + i, user, sku, 1);
                assertThat(r.status()).as("order %d of the burst: %s", i, r).isEqualTo(ackStatus);
            }
            JsonNode before = itemWithAvailable(a, sku, 96);
            Api.Response limitedResponse = a.order("rl-4", user, sku, 1);
            assertProblem(limitedResponse, 429, "RATE_LIMITED");
            assertThat(limitedResponse.header("Retry-After")).as("Retry-After in seconds")
                    .hasValueSatisfying(v -> assertThat(Long.parseLong(v.trim())).isGreaterThanOrEqualTo(1));

            assertThat(a.item(sku).json()).as("the 429 reserved nothing").isEqualTo(before);
            assertThat(elements(a.get("/api/v1/users/" + user + "/orders").json().get("orders"))).hasSize(3);

            Api.Response other = a.order("other-1", "rl-other", sku, 1);
            assertThat(other.status()).as("another user is unaffected: %s", other).isEqualTo(ackStatus);
            itemWithAvailable(a, sku, 95);
        }
    }

    @Test
    void aHotItemOverItsOwnRateIs429RateLimitedWithRetryAfterWhileOtherItemsSell() {
        try (TestFloodgate limited = startInSuiteMode(Map.of("FLOODGATE_ITEM_RATE", "2"))) { // burst 2, one more every 0.5 s
            Api a = limited.api;
            assertThat(a.putItem("HOT-1", "Hot", 100, 100).status()).isEqualTo(201);
            assertThat(a.putItem("COLD-1", "Cold", 100, 100).status()).isEqualTo(201);
            Api.Response warm = a.order("hot-warm", "warm-up", "COLD-1", 1);
            assertThat(warm.status()).as("the warm-up order: %s", warm).isEqualTo(ackStatus);

            long start = System.nanoTime();
            int admitted = 0;
            Api.Response refused = null;
            for (int i = 1; i <= 50 && refused == null; i++) { // distinct users: only the item's bucket can refuse
                Api.Response r = a.order("hot-" + i, "hot-user-" + i, "HOT-1", 1);
                if (r.status() == 429) {
                    refused = r;
                } else {
                    assertThat(r.status()).as("order %d: %s", i, r).isEqualTo(ackStatus);
                    admitted++;
                }
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            assertThat(refused).as("a burst on one item meets its bucket").isNotNull();
            assertProblem(refused, 429, "RATE_LIMITED");
            assertThat(refused.json().path("detail").asText()).contains("HOT-1");
            assertThat(refused.header("Retry-After")).as("Retry-After in seconds")
                    .hasValueSatisfying(v -> assertThat(Long.parseLong(v.trim())).isGreaterThanOrEqualTo(1));
            assertThat(admitted).as("the burst, plus what refilled in %.2f s", seconds)
                    .isBetween(2, 2 + (int) Math.ceil(seconds * 2));
            itemWithAvailable(a, "HOT-1", 100 - admitted); // the 429 reserved nothing

            Api.Response cold = a.order("cold-1", "cold-user", "COLD-1", 1);
            assertThat(cold.status()).as("another item is unaffected: %s", cold).isEqualTo(ackStatus);
        }
    }

    // ==== user auth ===============================================================================

    private static synchronized Api jwtApi() {
        if (jwtServer == null) {
            jwtServer = startInSuiteMode(Map.of("FLOODGATE_USER_JWT_SECRET", JWT_SECRET));
            Api a = jwtServer.api;
            assertThat(a.putItem("JWT-1", "Auth item", 1000, 1000).status()).isEqualTo(201);
        }
        return jwtServer.api;
    }

    private static String b64(String s) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    private static String sign(String secret, String signingInput) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
            return Base64.getUrlEncoder().withoutPadding()
                    .encodeToString(mac.doFinal(signingInput.getBytes(StandardCharsets.US_ASCII)));
        } catch (java.security.GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String hs256(String secret, String claims) {
        String input = b64("{\"alg\":\"HS256\",\"typ\":\"JWT\"}") + "." + b64(claims);
        return input + "." + sign(secret, input);
    }

    private static String userToken(String sub) {
        long exp = Instant.now().plus(1, ChronoUnit.HOURS).getEpochSecond();
        return hs256(JWT_SECRET, "{\"sub\":\"" + sub + "\",\"exp\":" + exp + "}");
    }

    private static Map<String, String> bearer(String token) {
        return Map.of("Authorization", "Bearer " + token);
    }

    private static Api.Response authedOrder(Api a, String key, String user, int quantity, Map<String, String> auth) {
        return a.order(key, orderBody(user, "JWT-1", quantity), auth);
    }

    @Test
    void withUserAuthAnOrderNeedsAValidTokenWhoseSubjectIsTheUser() {
        Api a = jwtApi();
        String user = unique("ju");
        JsonNode before = a.item("JWT-1").json();
        long exp = Instant.now().plus(1, ChronoUnit.HOURS).getEpochSecond();
        String claims = "{\"sub\":\"" + user + "\",\"exp\":" + exp + "}";
        String valid = userToken(user);
        String[] parts = valid.split("\\.");

        assertProblem(authedOrder(a, unique("k"), user, 1, Map.of()), 401, "UNAUTHENTICATED");
        assertProblem(authedOrder(a, unique("k"), user, 1, bearer(userToken(unique("someone-else")))), 403, "FORBIDDEN");
        assertProblem(authedOrder(a, unique("k"), user, 1, bearer(hs256("not-the-secret", claims))),
                401, "UNAUTHENTICATED");
        String algNone = b64("{\"alg\":\"none\",\"typ\":\"JWT\"}") + "." + b64(claims) + ".";
        assertProblem(authedOrder(a, unique("k"), user, 1, bearer(algNone)), 401, "UNAUTHENTICATED");
        String algNoneSigned = b64("{\"alg\":\"none\"}") + "." + b64(claims) + "." + parts[2];
        assertProblem(authedOrder(a, unique("k"), user, 1, bearer(algNoneSigned)), 401, "UNAUTHENTICATED");
        String tampered = parts[0] + "." + b64(claims.replace(user, user + "x")) + "." + parts[2];
        assertProblem(authedOrder(a, unique("k"), user + "x", 1, bearer(tampered)), 401, "UNAUTHENTICATED");
        String expired = hs256(JWT_SECRET, "{\"sub\":\"" + user + "\",\"exp\":"
                + Instant.now().minus(1, ChronoUnit.HOURS).getEpochSecond() + "}");
        assertProblem(authedOrder(a, unique("k"), user, 1, bearer(expired)), 401, "UNAUTHENTICATED");
        for (String garbage : List.of("abc", "a.b", "a.b.c", "...", parts[0] + "." + parts[1])) {
            assertProblem(authedOrder(a, unique("k"), user, 1, bearer(garbage)), 401, "UNAUTHENTICATED");
        }
        assertProblem(authedOrder(a, unique("k"), user, 1, Map.of("Authorization", "Basic " + valid)),
                401, "UNAUTHENTICATED");
        assertProblem(authedOrder(a, unique("k"), user, 1, bearer(TestFloodgate.ADMIN_TOKEN)), 401, "UNAUTHENTICATED");

        assertThat(a.item("JWT-1").json()).as("no rejected request reserved anything").isEqualTo(before);

        Api.Response ok = authedOrder(a, unique("k"), user, 1, bearer(valid));
        assertThat(ok.status()).as("%s", ok).isEqualTo(ackStatus);
        assertThat(ok.json().get("userId").asText()).isEqualTo(user);
        itemWithAvailable(a, "JWT-1", before.get("available").asLong() - 1);
    }

    @Test
    void withUserAuthABadRequestIs400BeforeAuthentication() {
        Api a = jwtApi();
        Api.Response r = a.order(unique("k"), "{\"userId\":\"x\",\"sku\":\"JWT-1\",\"quantity\":0}", Map.of());
        assertProblem(r, 400, "INVALID_REQUEST");
        assertProblem(a.order(null, orderBody("x", "JWT-1", 1), Map.of()), 400, "INVALID_REQUEST");
    }

    @Test
    void withUserAuthTheAdminReadsAndCancelsAnyOrderAndAUserOnlyTheirOwn() {
        Api a = jwtApi();
        String owner = unique("owner");
        String intruder = unique("intruder");
        JsonNode o = placed(authedOrder(a, unique("k"), owner, 2, bearer(userToken(owner))));
        String path = "/api/v1/orders/" + o.get("orderId").asText();

        Api.Response own = a.send("GET", path, null, bearer(userToken(owner)));
        assertThat(own.status()).as("%s", own).isEqualTo(200);
        assertSameOrder(own.json(), o);
        // another user's order is answered as one that does not exist: 404, the same detail (SECURITY.md)
        Api.Response foreign = a.send("GET", path, null, bearer(userToken(intruder)));
        assertProblem(foreign, 404, "UNKNOWN_ORDER");
        String unknownPath = "/api/v1/orders/" + UUID.randomUUID();
        Api.Response unknown = a.send("GET", unknownPath, null, bearer(userToken(intruder)));
        assertProblem(unknown, 404, "UNKNOWN_ORDER");
        assertThat(foreign.json().get("detail").asText().replace(o.get("orderId").asText(), "ID"))
                .isEqualTo(unknown.json().get("detail").asText().replace(unknownPath.substring(15), "ID"));
        assertProblem(a.send("GET", path, null, Map.of()), 401, "UNAUTHENTICATED");
        assertProblem(a.send("GET", path, null, bearer(hs256("forged", "{\"sub\":\"" + owner + "\"}"))),
                401, "UNAUTHENTICATED");

        assertProblem(a.send("GET", "/api/v1/users/" + owner + "/orders", null, bearer(userToken(intruder))),
                403, "FORBIDDEN");
        assertProblem(a.send("GET", "/api/v1/users/" + owner + "/orders", null, Map.of()), 401, "UNAUTHENTICATED");
        Api.Response list = a.send("GET", "/api/v1/users/" + owner + "/orders", null, bearer(userToken(owner)));
        assertThat(list.status()).isEqualTo(200);
        assertThat(elements(list.json().get("orders"))).extracting(n -> n.get("orderId").asText())
                .containsExactly(o.get("orderId").asText());
        Api.Response adminList = a.adminGet("/api/v1/users/" + owner + "/orders");
        assertThat(adminList.status()).isEqualTo(200);
        assertThat(adminList.json()).isEqualTo(list.json());

        assertProblem(a.send("POST", path + "/cancel", null, bearer(userToken(intruder))), 404, "UNKNOWN_ORDER");
        assertProblem(a.send("POST", path + "/cancel", null, Map.of()), 401, "UNAUTHENTICATED");
        assertThat(a.adminGet(path).json().get("status").asText()).as("still confirmed").isEqualTo("CONFIRMED");

        Api.Response adminRead = a.adminGet(path);
        assertThat(adminRead.status()).isEqualTo(200);
        assertSameOrder(adminRead.json(), o);
        long available = a.item("JWT-1").json().get("available").asLong();
        Api.Response adminCancel = a.cancel(o.get("orderId").asText());
        assertThat(adminCancel.status()).as("%s", adminCancel).isEqualTo(200);
        assertThat(adminCancel.json().get("status").asText()).isEqualTo("CANCELLED");
        itemWithAvailable(a, "JWT-1", available + 2);

        JsonNode second = placed(authedOrder(a, unique("k"), owner, 1, bearer(userToken(owner))));
        Api.Response selfCancel = a.send("POST", "/api/v1/orders/" + second.get("orderId").asText() + "/cancel",
                null, bearer(userToken(owner)));
        assertThat(selfCancel.status()).as("the order's own user may cancel: %s", selfCancel).isEqualTo(200);
        assertThat(selfCancel.json().get("status").asText()).isEqualTo("CANCELLED");

        assertProblem(a.adminGet("/api/v1/orders/" + UUID.randomUUID()), 404, "UNKNOWN_ORDER");
    }

    // ==== payments and order events ===============================================================

    private static final long PRICE = 129_900;

    /** An item with a payment window and a price of {@value #PRICE} EUR a unit. */
    protected static String paidItem(long stock, int perUserLimit, int windowSeconds) {
        String sku = unique("P");
        Api.Response r = api.putItem(sku, "{\"name\":\"Paid " + sku + "\",\"stock\":" + stock + ",\"perUserLimit\":"
                + perUserLimit + ",\"paymentWindowSeconds\":" + windowSeconds
                + ",\"price\":{\"amountMinor\":" + PRICE + ",\"currency\":\"EUR\"}}");
        assertThat(r.status()).as("PUT paid item %s: %s", sku, r).isEqualTo(201);
        return sku;
    }

    protected static Api.Response pay(String paymentId, JsonNode order) {
        return provider.succeeded(paymentId, order.get("orderId").asText(), PRICE * order.get("quantity").asLong(), "EUR");
    }

    /** The order as it reads now. */
    private static JsonNode read(JsonNode order) {
        Api.Response r = api.adminGet("/api/v1/orders/" + order.get("orderId").asText());
        assertThat(r.status()).as("GET order: %s", r).isEqualTo(200);
        return r.json();
    }

    /** The order once its payment reads {@code state}, waiting for the expiry (a few seconds at most). */
    private static JsonNode awaitPaymentState(JsonNode order, String state) {
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(30))
                .pollInterval(java.time.Duration.ofMillis(100))
                .until(() -> read(order).path("payment").path("state").asText().equals(state));
        return read(order);
    }

    private static void assertPayment(JsonNode view, String state, String paymentId) {
        JsonNode payment = view.get("payment");
        assertThat(payment).as("payment of %s", view).isNotNull();
        assertThat(fieldNames(payment)).isEqualTo(new TreeSet<>(List.of("state", "dueAt", "paymentId", "paidAt")));
        assertThat(payment.get("state").asText()).as("%s", view).isEqualTo(state);
        if (paymentId == null) {
            assertThat(payment.get("paymentId").isNull()).as("%s", view).isTrue();
            assertThat(payment.get("paidAt").isNull()).as("%s", view).isTrue();
        } else {
            assertThat(payment.get("paymentId").asText()).isEqualTo(paymentId);
            Instant.parse(payment.get("paidAt").asText());
        }
    }

    @Test
    void anItemWithAPaymentWindowAndAPriceShowsThemAndBadTermsAre400ChangingNothing() {
        String sku = paidItem(5, 1, 90);
        JsonNode v = api.item(sku).json();
        assertThat(v.get("paymentWindowSeconds").asLong()).isEqualTo(90);
        assertThat(v.get("price").get("amountMinor").asLong()).isEqualTo(PRICE);
        assertThat(v.get("price").get("currency").asText()).isEqualTo("EUR");
        for (String bad : List.of("\"paymentWindowSeconds\":0", "\"paymentWindowSeconds\":86401",
                "\"paymentWindowSeconds\":1.5", "\"paymentWindowSeconds\":\"60\"",
                "\"price\":{\"amountMinor\":-1,\"currency\":\"EUR\"}",
                "\"price\":{\"amountMinor\":1000000000001,\"currency\":\"EUR\"}",
                "\"price\":{\"amountMinor\":1,\"currency\":\"EURO\"}", "\"price\":{\"amountMinor\":1,\"currency\":\"eur\"}",
                "\"price\":{\"amountMinor\":1}", "\"price\":12")) {
            Api.Response r = api.putItem(sku, "{\"name\":\"n\",\"stock\":1," + bad + "}");
            assertProblem(r, 400, "INVALID_REQUEST");
        }
        assertThat(api.item(sku).json()).as("refused definitions changed nothing").isEqualTo(v);
    }

    @Test
    void anOrderPaidBeforeItsDueTimeIsPaidKeepsItsUnitsAndCannotBeCancelled() {
        String sku = paidItem(10, 5, 60);
        Api.Response placedResponse = api.order(unique("k"), unique("u"), sku, 2);
        JsonNode order = placed(placedResponse);
        assertPayment(order, "DUE", null);
        assertThat(Instant.parse(order.get("payment").get("dueAt").asText()))
                .isEqualTo(Instant.parse(order.get("createdAt").asText()).plusSeconds(60));

        String paymentId = unique("pay");
        Api.Response paid = pay(paymentId, order);
        assertThat(paid.status()).as("%s", paid).isEqualTo(200);
        assertPayment(paid.json(), "PAID", paymentId);
        assertThat(paid.json().get("orderId").asText()).isEqualTo(order.get("orderId").asText());
        assertThat(paid.json().get("status").asText()).isIn("CONFIRMED", "ACCEPTED");
        assertPayment(read(order), "PAID", paymentId);

        Api.Response cancel = api.cancel(order.get("orderId").asText());
        assertProblem(cancel, 409, "ALREADY_PAID");
        assertPayment(read(order), "PAID", paymentId);
        itemWithAvailable(api, sku, 8);
    }

    @Test
    void anOrderNeverPaidExpiresAtItsDueTimeAndItsUnitsComeBackOnce() {
        String sku = paidItem(3, 3, 1);
        JsonNode order = placed(api.order(unique("k"), unique("u"), sku, 2));
        itemWithAvailable(api, sku, 1);
        JsonNode expired = awaitPaymentState(order, "EXPIRED");
        assertThat(expired.get("status").asText()).isEqualTo("CANCELLED");
        assertThat(expired.get("cancelReason").asText()).isEqualTo("PAYMENT_EXPIRED");
        assertPayment(expired, "EXPIRED", null);
        assertThat(itemWithAvailable(api, sku, 3).get("available").asLong()).isEqualTo(3);
        Api.Response cancel = api.cancel(order.get("orderId").asText());
        assertThat(cancel.status()).as("cancelling an expired order changes nothing: %s", cancel).isEqualTo(200);
        assertThat(cancel.json().get("cancelReason").asText()).isEqualTo("PAYMENT_EXPIRED");
        assertThat(itemWithAvailable(api, sku, 3).get("available").asLong()).as("returned once").isEqualTo(3);
    }

    @Test
    void theSameCallbackTwiceAnswersTheSameAndAnotherPaymentOfAPaidOrderIs409() {
        String sku = paidItem(10, 5, 60);
        JsonNode order = placed(api.order(unique("k"), unique("u"), sku, 1));
        String paymentId = unique("pay");
        Api.Response first = pay(paymentId, order);
        assertThat(first.status()).as("%s", first).isEqualTo(200);
        Api.Response again = pay(paymentId, order);
        assertThat(again.status()).as("%s", again).isEqualTo(200);
        assertThat(again.json()).isEqualTo(first.json());

        assertProblem(provider.succeeded(paymentId, order.get("orderId").asText(), PRICE + 1, "EUR"), 422,
                "IDEMPOTENCY_KEY_REUSED");
        assertProblem(provider.send(PaymentProvider.body(paymentId, order.get("orderId").asText(), "FAILED", PRICE, "EUR")),
                422, "IDEMPOTENCY_KEY_REUSED");
        JsonNode other = placed(api.order(unique("k"), unique("u"), sku, 1));
        assertProblem(pay(paymentId, other), 422, "IDEMPOTENCY_KEY_REUSED");
        assertProblem(pay(unique("pay"), order), 409, "ALREADY_PAID");
        assertPayment(read(order), "PAID", paymentId);
        assertPayment(read(other), "DUE", null);
    }

    @Test
    void aPaymentAfterExpiryIsRefundDueAndTakesNoUnitsBack() {
        String sku = paidItem(1, 1, 1);
        JsonNode order = placed(api.order(unique("k"), unique("u"), sku, 1));
        awaitPaymentState(order, "EXPIRED");
        itemWithAvailable(api, sku, 1);
        String paymentId = unique("pay");
        Api.Response late = pay(paymentId, order);
        assertThat(late.status()).as("%s", late).isEqualTo(200);
        assertPayment(late.json(), "REFUND_DUE", paymentId);
        assertThat(late.json().get("status").asText()).isEqualTo("CANCELLED");
        assertThat(late.json().get("cancelReason").asText()).isEqualTo("PAYMENT_EXPIRED");
        assertThat(itemWithAvailable(api, sku, 1).get("available").asLong()).as("the unit stays free").isEqualTo(1);
        JsonNode next = placed(api.order(unique("k"), unique("u"), sku, 1));
        assertThat(next.get("orderId").asText()).as("and can be sold again").isNotEqualTo(order.get("orderId").asText());
    }

    @Test
    void aCancelledOrderThatIsPaidAfterIsRefundDue() {
        String sku = paidItem(2, 2, 60);
        JsonNode order = placed(api.order(unique("k"), unique("u"), sku, 2));
        Api.Response cancelled = api.cancel(order.get("orderId").asText());
        assertThat(cancelled.status()).as("%s", cancelled).isEqualTo(200);
        assertThat(cancelled.json().get("cancelReason").asText()).isEqualTo("REQUESTED");
        itemWithAvailable(api, sku, 2);
        String paymentId = unique("pay");
        Api.Response paid = pay(paymentId, order);
        assertThat(paid.status()).as("%s", paid).isEqualTo(200);
        assertPayment(paid.json(), "REFUND_DUE", paymentId);
        assertThat(paid.json().get("cancelReason").asText()).isEqualTo("REQUESTED");
        assertThat(itemWithAvailable(api, sku, 2).get("available").asLong()).isEqualTo(2);
    }

    @Test
    void aBadOrMissingSignatureIs401AndChangesNothing() {
        String sku = paidItem(5, 5, 60);
        JsonNode order = placed(api.order(unique("k"), unique("u"), sku, 1));
        String paymentId = unique("pay");
        String body = PaymentProvider.body(paymentId, order.get("orderId").asText(), "SUCCEEDED", PRICE, "EUR");
        long now = System.currentTimeMillis() / 1000;
        PaymentProvider forger = new PaymentProvider(api, "not-the-secret-0123456789abcdef");
        assertProblem(provider.send(body, null), 401, "UNAUTHENTICATED");
        assertProblem(provider.send(body, forger.header(now, body)), 401, "UNAUTHENTICATED");
        assertProblem(provider.send(body + " ", provider.header(now, body)), 401,
                "UNAUTHENTICATED"); // one byte more than was signed
        assertProblem(provider.send(body, "t=" + now + ",v1=zz"), 401, "UNAUTHENTICATED");
        assertProblem(provider.send(body, "v1=" + PaymentProvider.sign(PaymentProvider.SECRET, now, body)), 401,
                "UNAUTHENTICATED");
        Api.Response refused = provider.send(body, forger.header(now, body));
        assertThat(refused.body()).doesNotContain(PaymentProvider.SECRET)
                .doesNotContain(PaymentProvider.sign(PaymentProvider.SECRET, now, body));
        assertPayment(read(order), "DUE", null);
        // a rotation: the old secret's signature beside the new one's passes
        Api.Response rotated = provider.send(body, forger.header(now, body) + ",v1="
                + PaymentProvider.sign(PaymentProvider.SECRET, now, body));
        assertThat(rotated.status()).as("%s", rotated).isEqualTo(200);
        assertPayment(rotated.json(), "PAID", paymentId);
    }

    @Test
    void aCallbackSignedLongAgoOrInTheFutureIs401() {
        String sku = paidItem(5, 5, 60);
        JsonNode order = placed(api.order(unique("k"), unique("u"), sku, 1));
        String body = PaymentProvider.body(unique("pay"), order.get("orderId").asText(), "SUCCEEDED", PRICE, "EUR");
        long now = System.currentTimeMillis() / 1000;
        assertProblem(provider.send(body, provider.header(now - 400, body)), 401, "UNAUTHENTICATED");
        assertProblem(provider.send(body, provider.header(now + 400, body)), 401, "UNAUTHENTICATED");
        assertPayment(read(order), "DUE", null);
        assertThat(provider.send(body, provider.header(now - 5, body)).status()).isEqualTo(200);
    }

    @Test
    void refusedCallbacksAreAnsweredByCodeAndChangeNothing() {
        String paidSku = paidItem(5, 5, 60);
        String plainSku = newItem(5, 5);
        JsonNode order = placed(api.order(unique("k"), unique("u"), paidSku, 2));
        JsonNode plain = placed(api.order(unique("k"), unique("u"), plainSku, 1));
        String id = order.get("orderId").asText();
        assertThat(plain.has("payment")).as("an order with no window has no payment").isFalse();

        assertProblem(provider.succeeded(unique("pay"), id, PRICE, "EUR"), 422, "PAYMENT_MISMATCH");
        assertProblem(provider.succeeded(unique("pay"), id, PRICE * 2, "USD"), 422, "PAYMENT_MISMATCH");
        assertProblem(provider.succeeded(unique("pay"), plain.get("orderId").asText(), 1, "EUR"), 409, "NO_PAYMENT_DUE");
        assertProblem(provider.succeeded(unique("pay"), UUID.randomUUID().toString(), 1, "EUR"), 404, "UNKNOWN_ORDER");
        assertProblem(provider.send("{\"paymentId\":\"p\",\"orderId\":\"" + id + "\",\"status\":\"MAYBE\","
                + "\"amountMinor\":1,\"currency\":\"EUR\"}"), 400, "INVALID_REQUEST");
        assertProblem(provider.send("{\"paymentId\":\"bad id\",\"orderId\":\"" + id + "\",\"status\":\"FAILED\","
                + "\"amountMinor\":1,\"currency\":\"EUR\"}"), 400, "INVALID_REQUEST");
        assertProblem(provider.send("{\"paymentId\":\"p\",\"orderId\":\"" + id + "\",\"status\":\"FAILED\","
                + "\"amountMinor\":1.5,\"currency\":\"EUR\"}"), 400, "INVALID_REQUEST");
        Api.Response failed = provider.send(PaymentProvider.body(unique("pay"), id, "FAILED", PRICE * 2, "EUR"));
        assertThat(failed.status()).as("%s", failed).isEqualTo(200);
        assertPayment(failed.json(), "DUE", null);
        assertPayment(read(order), "DUE", null);
        itemWithAvailable(api, paidSku, 3);
    }

    @Test
    void withoutAPaymentSecretTheCallbackIs404() {
        try (TestFloodgate off = startInSuiteMode(Map.of("FLOODGATE_PAYMENT_SECRET", ""))) {
            PaymentProvider toNowhere = new PaymentProvider(off.api);
            assertProblem(toNowhere.succeeded("pay-1", UUID.randomUUID().toString(), 1, "EUR"), 404, "NOT_FOUND");
        }
    }

    @Test
    void orderEventsFollowACursorAsCloudEventsOnePerChangeInOrder() {
        String sku = paidItem(10, 10, 60);
        Api.Response start = api.adminGet("/api/v1/events?limit=1000");
        assertThat(start.status()).as("%s", start).isEqualTo(200);
        String cursor = drain(start.json().get("next").asText());

        JsonNode paidOrder = placed(api.order(unique("k"), unique("u"), sku, 1));
        JsonNode cancelledOrder = placed(api.order(unique("k"), unique("u"), sku, 1));
        String paymentId = unique("pay");
        assertThat(pay(paymentId, paidOrder).status()).isEqualTo(200);
        assertThat(pay(paymentId, paidOrder).status()).as("a retry is no change").isEqualTo(200);
        assertThat(api.cancel(cancelledOrder.get("orderId").asText()).status()).isEqualTo(200);
        assertThat(api.cancel(cancelledOrder.get("orderId").asText()).status()).isEqualTo(200);

        List<JsonNode> events = new ArrayList<>();
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(30)).until(() -> {
            Api.Response page = api.adminGet("/api/v1/events?after=" + events.stream().reduce((a, b) -> b)
                    .map(e -> e.get("floodgateposition").asText()).orElse(cursor) + "&wait=1&limit=1000");
            assertThat(page.status()).as("%s", page).isEqualTo(200);
            elements(page.json().get("events")).stream()
                    .filter(e -> e.get("subject").asText().equals(paidOrder.get("orderId").asText())
                            || e.get("subject").asText().equals(cancelledOrder.get("orderId").asText()))
                    .forEach(events::add);
            return events.size() >= 4;
        });
        // in order per order (two orders' changes may commit either way round: with the Kafka log a
        // payment may land before the other order is stored)
        assertThat(events).filteredOn(e -> e.get("subject").asText().equals(paidOrder.get("orderId").asText()))
                .extracting(e -> e.get("type").asText())
                .containsExactly("io.floodgate.order.created", "io.floodgate.order.paid");
        assertThat(events).filteredOn(e -> e.get("subject").asText().equals(cancelledOrder.get("orderId").asText()))
                .extracting(e -> e.get("type").asText())
                .containsExactly("io.floodgate.order.created", "io.floodgate.order.cancelled");
        assertThat(events).extracting(e -> e.get("floodgateposition").asLong()).isSorted().doesNotHaveDuplicates();
        for (JsonNode e : events) {
            assertThat(e.get("specversion").asText()).isEqualTo("1.0");
            assertThat(e.get("source").asText()).isEqualTo("/floodgate");
            assertThat(e.get("datacontenttype").asText()).isEqualTo("application/json");
            Instant.parse(e.get("time").asText());
            assertThat(e.get("data").get("orderId").asText()).isEqualTo(e.get("subject").asText());
        }
        assertThat(events).extracting(e -> e.get("id").asText()).doesNotHaveDuplicates();
        assertThat(events).filteredOn(e -> e.get("type").asText().equals("io.floodgate.order.paid")).singleElement()
                .satisfies(e -> assertThat(e.get("data").get("payment").get("state").asText()).isEqualTo("PAID"));
        assertThat(events).filteredOn(e -> e.get("type").asText().equals("io.floodgate.order.cancelled")).singleElement()
                .satisfies(e -> assertThat(e.get("data").get("status").asText()).isEqualTo("CANCELLED"));
        assertThat(eventsAfter(events.getLast().get("floodgateposition").asText()))
                .as("nothing more came of the retries")
                .noneMatch(e -> e.get("subject").asText().equals(paidOrder.get("orderId").asText())
                        || e.get("subject").asText().equals(cancelledOrder.get("orderId").asText()));
    }

    /** The cursor after every event now readable from {@code cursor} on. */
    private static String drain(String cursor) {
        List<JsonNode> events = eventsAfter(cursor);
        return events.isEmpty() ? cursor : events.getLast().get("floodgateposition").asText();
    }

    @Test
    void theEventsEndpointIsForTheAdminChecksItsParametersAndStreamsServerSentEvents() throws Exception {
        assertProblem(api.get("/api/v1/events"), 401, "UNAUTHENTICATED");
        assertProblem(api.adminGet("/api/v1/events?limit=0"), 400, "INVALID_REQUEST");
        assertProblem(api.adminGet("/api/v1/events?limit=1001"), 400, "INVALID_REQUEST");
        assertProblem(api.adminGet("/api/v1/events?wait=31"), 400, "INVALID_REQUEST");
        assertProblem(api.adminGet("/api/v1/events?after=-1"), 400, "INVALID_REQUEST");
        assertProblem(api.adminGet("/api/v1/events?after=abc"), 400, "INVALID_REQUEST");

        String cursor = drain("0");
        String sku = paidItem(5, 5, 60);
        JsonNode order = placed(api.order(unique("k"), unique("u"), sku, 1));
        Api.Response sse = api.send("GET", "/api/v1/events?wait=2&after=" + cursor, null, Map.of("Authorization", "Bearer "
                + api.adminToken(), "Accept", "text/event-stream"));
        assertThat(sse.status()).as("%s", sse).isEqualTo(200);
        assertThat(sse.header("Content-Type")).hasValueSatisfying(ct -> assertThat(ct).startsWith("text/event-stream"));
        assertThat(sse.body()).contains("id: ").contains("event: io.floodgate.order.created")
                .contains(order.get("orderId").asText());
        String firstData = sse.body().lines().filter(l -> l.startsWith("data: ")).findFirst().orElseThrow();
        assertThat(Api.JSON.readTree(firstData.substring(6)).get("specversion").asText()).isEqualTo("1.0");
    }

    /**
     * Payments and the expiry of the same orders at once, many rounds: callbacks arrive around the
     * due time, some twice, while the expiry runs. At every audit, stock = available + the units of
     * live orders (due or paid), each order is in exactly one final state, and that state agrees
     * with what every callback was answered.
     */
    @Test
    void paymentsRacingTheExpiryOfTheSameOrdersKeepTheStockAndOneFinalStatePerOrder() throws Exception {
        long seed = Seeds.seed("payments.race.seed");
        java.util.Random random = new java.util.Random(seed);
        long stock = 200;
        String sku = paidItem(stock, (int) stock, 1);
        List<JsonNode> orders = new ArrayList<>();
        Map<String, List<String>> answers = new java.util.concurrent.ConcurrentHashMap<>();
        for (int round = 0; round < 10; round++) {
            List<JsonNode> batch = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                batch.add(placed(api.order(unique("k"), unique("u"), sku, 1 + random.nextInt(2))));
            }
            orders.addAll(batch);
            List<java.util.concurrent.Callable<Void>> callbacks = new ArrayList<>();
            for (JsonNode o : batch) {
                Instant due = Instant.parse(o.get("payment").get("dueAt").asText());
                int tries = random.nextInt(3); // 0: never paid
                String paymentId = unique("pay");
                for (int t = 0; t < tries; t++) {
                    long delayMs = Math.max(0, java.time.Duration.between(Instant.now(), due).toMillis()
                            - 300 + random.nextInt(700));
                    callbacks.add(() -> {
                        Thread.sleep(delayMs);
                        Api.Response r = pay(paymentId, o);
                        answers.computeIfAbsent(o.get("orderId").asText(), k -> new java.util.concurrent.CopyOnWriteArrayList<>())
                                .add(r.status() + " " + r.json().path("payment").path("state").asText(""));
                        return null;
                    });
                }
            }
            try (java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
                for (var f : pool.invokeAll(callbacks)) {
                    f.get();
                }
            }
            for (JsonNode o : batch) { // every order settles: paid, or expired by the expiry
                org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(30))
                        .until(() -> !read(o).get("payment").get("state").asText().equals("DUE"));
            }
            long live = 0;
            for (JsonNode o : orders) {
                JsonNode now = read(o);
                String state = now.get("payment").get("state").asText();
                String context = "seed " + seed + " round " + round + ": " + now + " answered " + answers.get(o.get("orderId").asText());
                assertThat(state).as(context).isIn("PAID", "EXPIRED", "REFUND_DUE");
                assertThat(now.get("status").asText()).as(context).isEqualTo(state.equals("PAID") ? "CONFIRMED" : "CANCELLED");
                List<String> told = answers.getOrDefault(o.get("orderId").asText(), List.of());
                assertThat(told).as(context + ": every callback was answered 200 with the final state")
                        .allMatch(a -> a.equals("200 " + state));
                if (state.equals("PAID")) {
                    live += now.get("quantity").asLong();
                }
            }
            itemWithAvailable(api, sku, stock - live);
            assertThat(api.item(sku).json().get("available").asLong()).as("seed %d round %d: stock = available + live units",
                    seed, round).isEqualTo(stock - live);
        }
    }
}
