package io.floodgate.app;

import com.fasterxml.jackson.databind.JsonNode;
import io.floodgate.testing.Api;
import io.floodgate.testing.DistributedMode;
import io.floodgate.testing.PaymentProvider;
import io.floodgate.testing.Resources;
import io.floodgate.testing.Seeds;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The outbox relay survives SIGKILL: a service on the whole distributed stack (Kafka order log,
 * Redis ledger, MariaDB) takes a stream of orders, payments and cancels and relays their events to
 * the Kafka topic; it is killed (kill -9) at a random moment while doing so, and a new process on
 * the same store and topic takes over. A consumer that reads committed records then sees every
 * event of the store's outbox exactly once, in order per order; and a reader that followed the
 * HTTP cursor before the kill goes on after it without a gap or a repeat.
 */
@Tag("drill")
class EventRelayCrashTest {

    @TempDir(cleanup = CleanupMode.ON_SUCCESS)
    Path tmp;

    @RegisterExtension
    final Resources resources = new Resources();

    @Test
    void aRelayKilledMidStreamResumesWithoutGapsOrDuplicates() throws Exception {
        long seed = Seeds.seed("relay.crash.seed");
        Random random = new Random(seed);
        DistributedMode mode = resources.track(DistributedMode.createWithKafka());
        Map<String, String> env = new HashMap<>(mode.environment());
        env.put("FLOODGATE_PAYMENT_SECRET", PaymentProvider.SECRET);
        env.put("FLOODGATE_EVENTS_RELAY_BATCH", "7"); // many small transactions: the kill lands among them
        Path data = tmp.resolve("relay");

        ServiceProcess first = resources.track(ServiceProcess.start(data, "relay-crash-first", env));
        Api api = first.api();
        assertThat(api.putItem("R", "{\"name\":\"Relayed\",\"stock\":100000,\"perUserLimit\":1000,"
                + "\"paymentWindowSeconds\":600}").status()).isEqualTo(201);
        PaymentProvider provider = new PaymentProvider(api);
        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger changes = new AtomicInteger();
        List<JsonNode> followedBefore = new ArrayList<>();
        try (ExecutorService load = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int w = 0; w < 4; w++) {
                int worker = w;
                load.submit(() -> {
                    for (int i = 0; !stop.get(); i++) {
                        try {
                            Api.Response r = api.order("w" + worker + "-" + i, "u" + worker, "R", 1);
                            if (r.status() != 202) {
                                continue;
                            }
                            changes.incrementAndGet();
                            String id = r.json().get("orderId").asText();
                            if (i % 3 == 0) {
                                provider.succeeded("pay-" + id, id, 0, "EUR");
                            } else if (i % 3 == 1) {
                                api.cancel(id);
                            }
                        } catch (RuntimeException e) {
                            return null; // the process is gone
                        }
                    }
                    return null;
                });
            }
            // follow the cursor over HTTP while the load runs, then kill at a random moment
            long killAfterMs = 1_500 + random.nextInt(2_500);
            long until = System.currentTimeMillis() + killAfterMs;
            String cursor = "0";
            while (System.currentTimeMillis() < until) {
                Api.Response page = api.adminGet("/api/v1/events?after=" + cursor + "&limit=50");
                page.json().get("events").forEach(followedBefore::add);
                cursor = page.json().get("next").asText();
            }
            assertThat(first.kill9()).isEqualTo(137);
            stop.set(true);
        }
        System.out.println("killed after " + changes.get() + " orders; " + followedBefore.size()
                + " events followed over HTTP before the kill (seed " + seed + ")");

        ServiceProcess second = resources.track(ServiceProcess.start(data, "relay-crash-restart", env));
        Api after = second.api();
        assertThat(after.order("after-restart", "u9", "R", 1).status()).isEqualTo(202);

        // the HTTP cursor goes on where it stopped: the whole feed starts with what was followed
        List<JsonNode> feed = new ArrayList<>();
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> {
            feed.clear();
            String at = "0";
            while (true) {
                Api.Response page = after.adminGet("/api/v1/events?after=" + at + "&limit=1000");
                page.json().get("events").forEach(feed::add);
                String next = page.json().get("next").asText();
                if (next.equals(at)) {
                    break;
                }
                at = next;
            }
            return feed.stream().anyMatch(e -> e.get("data").path("userId").asText().equals("u9"));
        });
        assertThat(feed.subList(0, followedBefore.size())).as("no event of the prefix moved or vanished")
                .isEqualTo(followedBefore);
        assertThat(feed).extracting(e -> e.get("id").asText()).doesNotHaveDuplicates();

        // the topic: every event of the feed, once
        Map<String, JsonNode> byId = new HashMap<>();
        feed.forEach(e -> byId.put(e.get("id").asText(), e));
        Properties p = new Properties();
        p.put("bootstrap.servers", mode.kafkaBootstrap());
        p.put("isolation.level", "read_committed");
        p.put("auto.offset.reset", "earliest");
        p.put("group.id", "relay-crash-reader-" + seed);
        p.put("key.deserializer", StringDeserializer.class.getName());
        p.put("value.deserializer", ByteArrayDeserializer.class.getName());
        List<String> published = new ArrayList<>();
        Map<String, List<Long>> positionsByOrder = new HashMap<>();
        try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(p)) {
            consumer.subscribe(List.of(mode.eventsTopic()));
            long until = System.nanoTime() + Duration.ofSeconds(90).toNanos();
            long quietUntil = Long.MAX_VALUE; // once all are in, a little longer, to see any repeat
            while (System.nanoTime() - until < 0 && System.nanoTime() - quietUntil < 0) {
                if (quietUntil == Long.MAX_VALUE && published.containsAll(byId.keySet())) {
                    quietUntil = System.nanoTime() + Duration.ofSeconds(2).toNanos();
                }
                for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    JsonNode e = Api.JSON.readTree(r.value());
                    published.add(e.get("id").asText());
                    positionsByOrder.computeIfAbsent(r.key(), k -> new ArrayList<>()).add(e.get("floodgateposition").asLong());
                }
            }
        }
        assertThat(published).as("seed %d: each event once on the topic", seed).doesNotHaveDuplicates()
                .containsExactlyInAnyOrderElementsOf(byId.keySet());
        assertThat(positionsByOrder.values()).allSatisfy(ps -> assertThat(ps).isSorted());
        assertThat(second.terminate()).isZero();
    }
}
