package io.floodgate.redis;

import com.fasterxml.jackson.databind.JsonNode;
import io.floodgate.testing.Api;
import io.floodgate.testing.Seeds;
import io.floodgate.testing.TestFloodgate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The Redis drill through the HTTP API: Floodgate on a redis-server of the test's own (and the
 * embedded store), the server killed in the middle of a burst of orders and started again, empty.
 * Orders are answered 201 or 503 {@code DEPENDENCY_UNAVAILABLE}, none past its deadline; the Redis
 * breaker opens and orders are then refused without reaching Redis; item reads answer the last
 * known view marked stale; once Redis is back the ledger is rebuilt from the store, orders are
 * taken again by themselves, and sold + available = stock.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class RedisOutageHttpTest {

    private static final int STOCK = 5_000;
    private static final int USERS = 40;
    private static final long DEADLINE_MS = 800;

    private record Acked(String orderId, int quantity) {
    }

    @Test
    void redisKilledMidBurstFailsOrdersFastServesStaleViewsAndRecoversWithNothingOversold() {
        RedisTestSupport.requireRedisServerBinary();
        long seed = Seeds.seed("redis.outage.seed");
        Random random = new Random(seed);
        try (RedisProcess redis = RedisProcess.start();
             TestFloodgate floodgate = TestFloodgate.start(Map.of(
                     "FLOODGATE_REDIS_URL", redis.url(),
                     "FLOODGATE_REQUEST_TIMEOUT_MS", Long.toString(DEADLINE_MS),
                     "FLOODGATE_BREAKER_OPEN_MS", "300",
                     "FLOODGATE_CLUSTER_RATE", "1000000"))) {
            Api api = floodgate.api;
            assertThat(api.putItem("R1", "Outage", STOCK, 1_000).status()).isEqualTo(201);
            assertThat(api.item("R1").json().has("stale")).as("a fresh view has no stale field").isFalse();

            List<Acked> acked = new CopyOnWriteArrayList<>();
            AtomicInteger sequence = new AtomicInteger();
            burst(api, 150, random, acked, sequence, -1, redis);
            assertThat(acked).as("seed %d: healthy burst", seed).isNotEmpty();

            int size = 300;
            burst(api, size, random, acked, sequence, random.nextInt(size / 2), redis); // Redis killed in it

            // The breaker opens; orders are then refused at admission, without a call to Redis.
            await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(10)).untilAsserted(() -> {
                int n = sequence.incrementAndGet();
                Api.Response r = api.order("key-" + n, "user-" + (n % USERS), "R1", 1);
                assertThat(r.status()).isEqualTo(503);
                assertThat(r.code()).isEqualTo("DEPENDENCY_UNAVAILABLE");
                assertThat(r.json().path("detail").asText()).contains("circuit open");
                assertThat(r.header("Retry-After")).isPresent();
            });
            JsonNode gauges = api.get("/api/v1/stats").json().path("metrics").path("gauges");
            assertThat(gauges.has("floodgate.circuit.state{dependency=redis,state=open}")).as(gauges.toString()).isTrue();

            // Reads answer the last known view, marked stale; an item never seen here cannot be answered.
            Api.Response item = api.item("R1");
            assertThat(item.status()).as(item.toString()).isEqualTo(200);
            assertThat(item.json().path("stale").asBoolean()).isTrue();
            assertThat(item.json().path("stock").asLong()).isEqualTo(STOCK);
            Api.Response items = api.get("/api/v1/items");
            assertThat(items.status()).as(items.toString()).isEqualTo(200);
            assertThat(items.json().path("items").get(0).path("stale").asBoolean()).isTrue();
            Api.Response unseen = api.item("NEVER-SEEN");
            assertThat(unseen.status()).as(unseen.toString()).isEqualTo(503);
            assertThat(unseen.code()).isEqualTo("DEPENDENCY_UNAVAILABLE");

            // Back, empty: the ledger is rebuilt from the store and orders resume by themselves.
            redis.startAgain();
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(50)).until(() -> {
                int n = sequence.incrementAndGet();
                Api.Response r = api.order("key-" + n, "user-" + (n % USERS), "R1", 1);
                if (r.status() == 201) {
                    acked.add(new Acked(r.json().path("orderId").asText(), 1));
                }
                return r.status() == 201;
            });
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(50)).until(() -> api.get("/api/v1/stats")
                    .json().path("metrics").path("gauges").path("floodgate.circuit.state{dependency=redis,state=closed}")
                    .asDouble() == 1.0);
            int after = burst(api, 100, random, acked, sequence, -1, redis);
            assertThat(after).as("seed %d: orders taken again once the breaker closed", seed).isGreaterThan(50);

            // Nothing oversold, nothing lost: the store holds every acknowledged order, and the
            // ledger's available is the stock less what the store sold.
            for (Acked a : acked) {
                assertThat(api.adminGet("/api/v1/orders/" + a.orderId()).status()).as("seed %d: order %s", seed, a.orderId())
                        .isEqualTo(200);
            }
            long ackedUnits = acked.stream().mapToLong(Acked::quantity).sum();
            await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
                long sold = storeSold(api);
                JsonNode view = api.item("R1").json();
                assertThat(view.has("stale")).isFalse();
                assertThat(sold + view.path("available").asLong()).as("seed %d: sold %d + available = stock", seed, sold)
                        .isEqualTo(STOCK);
                assertThat(sold).as("seed %d: every acknowledged unit is sold", seed).isGreaterThanOrEqualTo(ackedUnits);
            });
            System.out.println("seed " + seed + ": " + acked.size() + " orders acknowledged across the outage");
        }
    }

    /**
     * Fires {@code n} concurrent orders; the one numbered {@code killAt} kills Redis first. Every
     * order must be answered within its deadline (and some slack for a busy machine), with 201 or
     * 503 {@code DEPENDENCY_UNAVAILABLE} (504 when the deadline ran out on the way). Returns how many were
     * acknowledged.
     */
    private static int burst(Api api, int n, Random random, List<Acked> acked, AtomicInteger sequence, int killAt,
                              RedisProcess redis) {
        List<Throwable> failures = new CopyOnWriteArrayList<>();
        int before = acked.size();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < n; i++) {
                int index = i;
                int quantity = 1 + random.nextInt(3);
                pool.submit(() -> {
                  try {
                    if (index == killAt) {
                        redis.kill();
                    }
                    int k = sequence.incrementAndGet();
                    long start = System.nanoTime();
                    Api.Response r = api.order("key-" + k, "user-" + (k % USERS), "R1", quantity);
                    long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
                    assertThat(millis).as("order %d answered %s after %d ms: past its deadline", k, r, millis)
                            .isLessThan(DEADLINE_MS + 2_000);
                    assertThat(r.status()).as("order %d: %s", k, r).isIn(201, 503, 504);
                    if (r.status() == 201) {
                        acked.add(new Acked(r.json().path("orderId").asText(), quantity));
                    } else if (r.status() == 503) {
                        assertThat(r.code()).as("order %d: %s", k, r).isEqualTo("DEPENDENCY_UNAVAILABLE");
                    }
                  } catch (Throwable t) {
                    failures.add(t);
                  }
                });
            }
        }
        if (!failures.isEmpty()) {
            AssertionError error = new AssertionError(failures.size() + " of " + n + " orders went wrong; first: "
                    + failures.getFirst().getMessage(), failures.getFirst());
            throw error;
        }
        return acked.size() - before;
    }

    /** Units in the store's orders, read through the API, user by user. */
    private static long storeSold(Api api) {
        long sold = 0;
        for (int u = 0; u < USERS; u++) {
            Api.Response r = api.adminGet("/api/v1/users/user-" + u + "/orders?limit=500");
            assertThat(r.status()).as(r.toString()).isEqualTo(200);
            for (JsonNode o : r.json().path("orders")) {
                if (!"CANCELLED".equals(o.path("status").asText())) {
                    sold += o.path("quantity").asLong();
                }
            }
        }
        return sold;
    }
}
