package io.floodgate.app;

import com.fasterxml.jackson.databind.JsonNode;
import io.floodgate.testing.Api;
import io.floodgate.testing.DistributedMode;
import io.floodgate.testing.PaymentProvider;
import io.floodgate.testing.Resources;
import io.floodgate.testing.Seeds;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Expiry survives SIGKILL: the service, in its own JVM, holds orders awaiting payment (some paid,
 * most not) and is killed (kill -9) around their due time, while it may be expiring them; a new
 * process on the same data (the embedded store, or PostgreSQL and the Redis ledger, where units
 * of orders expired before the kill but not yet returned are returned by the next process) must
 * expire every unpaid order exactly once (one expired event each), keep every paid one, and give
 * the units back exactly once: available = stock - units of paid orders.
 *
 * <p>Randomised: the seed is printed; {@code -Dpayment.crash.seed=N} replays the scenario and the
 * moment of the kill.
 */
@Tag("drill")
class PaymentCrashTest {

    private static final int WINDOW_SECONDS = 5;

    @TempDir(cleanup = CleanupMode.ON_SUCCESS)
    Path tmp;

    @RegisterExtension
    final Resources resources = new Resources();

    @Test
    void everyDueOrderStillExpiresOnceAfterAKillOnTheEmbeddedStore() throws Exception {
        run("embedded", Map.of());
    }

    @Test
    void everyDueOrderStillExpiresOnceAndItsUnitsComeBackAfterAKillWithRedisAndPostgres() throws Exception {
        DistributedMode mode = resources.track(DistributedMode.create());
        run("distributed", mode.environment());
    }

    private void run(String name, Map<String, String> backing) throws Exception {
        long seed = Seeds.seed("payment.crash.seed");
        Random random = new Random(seed);
        Map<String, String> env = new HashMap<>(backing);
        env.put("FLOODGATE_PAYMENT_SECRET", PaymentProvider.SECRET);
        env.put("FLOODGATE_EXPIRY_PERIOD_MS", "100");
        env.put("FLOODGATE_EXPIRY_BATCH", "25"); // many small transactions: a kill lands between them
        Path data = tmp.resolve(name);

        ServiceProcess first = resources.track(ServiceProcess.start(data, "payment-crash-" + name + "-first", env));
        Api api = first.api();
        String sku = "PAY-" + name;
        int stock = 400;
        assertThat(api.putItem(sku, "{\"name\":\"Paid\",\"stock\":" + stock + ",\"perUserLimit\":10,"
                + "\"paymentWindowSeconds\":" + WINDOW_SECONDS + ",\"price\":{\"amountMinor\":500,\"currency\":\"EUR\"}}")
                .status()).isEqualTo(201);
        PaymentProvider provider = new PaymentProvider(api);
        List<JsonNode> orders = new ArrayList<>();
        try (ExecutorService pool = Executors.newFixedThreadPool(16, Thread.ofVirtual().factory())) {
            List<Future<Api.Response>> placing = new ArrayList<>();
            for (int i = 0; i < 300; i++) {
                int n = i;
                placing.add(pool.submit(() -> {
                    Api.Response r = api.order("k" + n, "u" + (n % 97), sku, 1);
                    for (int attempt = 0; attempt < 20 && r.status() == 503; attempt++) {
                        Thread.sleep(50); // shed while the limit learns: the same key again
                        r = api.order("k" + n, "u" + (n % 97), sku, 1);
                    }
                    return r;
                }));
            }
            for (Future<Api.Response> f : placing) {
                Api.Response r = f.get();
                assertThat(r.status()).as("%s", r).isIn(200, 201, 202);
                orders.add(r.json());
            }
        }
        // what each paid order was answered: PAID, or REFUND_DUE for a payment that came too late
        Map<String, String> answered = new HashMap<>();
        for (JsonNode o : orders) {
            if (random.nextInt(4) == 0) {
                String paymentId = "pay-" + o.get("orderId").asText();
                Api.Response r = provider.succeeded(paymentId, o.get("orderId").asText(), 500, "EUR");
                assertThat(r.status()).as("%s", r).isEqualTo(200);
                answered.put(o.get("orderId").asText(), r.json().get("payment").get("state").asText());
            }
        }
        Instant lastDue = orders.stream().map(o -> Instant.parse(o.get("payment").get("dueAt").asText()))
                .max(Instant::compareTo).orElseThrow();
        Instant firstDue = orders.stream().map(o -> Instant.parse(o.get("payment").get("dueAt").asText()))
                .min(Instant::compareTo).orElseThrow();
        // the kill: from just before the first due time to just after the last, while it expires
        long killAt = firstDue.toEpochMilli() - 300 + random.nextLong(
                Math.max(1, lastDue.toEpochMilli() - firstDue.toEpochMilli() + 600));
        Thread.sleep(Math.max(0, killAt - System.currentTimeMillis()));
        assertThat(first.kill9()).as("killed by our SIGKILL").isEqualTo(137);
        System.out.println(name + ": " + orders.size() + " orders, " + answered.size() + " paid, killed "
                + (killAt - firstDue.toEpochMilli()) + " ms after the first due time (seed " + seed + ")");

        ServiceProcess second = resources.track(ServiceProcess.start(data, "payment-crash-" + name + "-restart", env));
        Api after = second.api();
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(250))
                .until(() -> orders.stream().noneMatch(o -> state(after, o).equals("DUE")));
        long paidUnits = 0;
        for (JsonNode o : orders) {
            String id = o.get("orderId").asText();
            JsonNode now = after.adminGet("/api/v1/orders/" + id).json();
            String expected = answered.getOrDefault(id, "EXPIRED");
            assertThat(now.get("payment").get("state").asText()).as("seed %d: %s", seed, now).isEqualTo(expected);
            if (expected.equals("PAID")) {
                paidUnits += now.get("quantity").asLong();
            } else {
                assertThat(now.get("cancelReason").asText()).isEqualTo("PAYMENT_EXPIRED");
            }
        }
        long expectedAvailable = stock - paidUnits;
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
                assertThat(after.item(sku).json().get("available").asLong())
                        .as("seed %d: stock = available + units of paid orders", seed).isEqualTo(expectedAvailable));

        Map<String, List<String>> stories = new HashMap<>();
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> {
            stories.clear();
            String cursor = "0";
            while (true) {
                Api.Response page = after.adminGet("/api/v1/events?after=" + cursor + "&limit=1000");
                for (JsonNode e : page.json().get("events")) {
                    stories.computeIfAbsent(e.get("subject").asText(), k -> new ArrayList<>()).add(e.get("type").asText());
                }
                String next = page.json().get("next").asText();
                if (next.equals(cursor)) {
                    break;
                }
                cursor = next;
            }
            return orders.stream().allMatch(o -> stories.getOrDefault(o.get("orderId").asText(), List.of()).size()
                    == story(answered.get(o.get("orderId").asText())).size());
        });
        for (JsonNode o : orders) {
            String id = o.get("orderId").asText();
            assertThat(stories.get(id)).as("seed %d: events of %s", seed, id).isEqualTo(story(answered.get(id)));
        }
        assertThat(second.terminate()).isZero();
    }

    /** The events an order must have, by what its payment was answered (null: never paid). */
    private static List<String> story(String answered) {
        if (answered == null) {
            return List.of("io.floodgate.order.created", "io.floodgate.order.expired");
        }
        return answered.equals("PAID") ? List.of("io.floodgate.order.created", "io.floodgate.order.paid")
                : List.of("io.floodgate.order.created", "io.floodgate.order.expired", "io.floodgate.order.refund_due");
    }

    private static String state(Api api, JsonNode order) {
        return api.adminGet("/api/v1/orders/" + order.get("orderId").asText()).json().path("payment").path("state").asText();
    }
}
