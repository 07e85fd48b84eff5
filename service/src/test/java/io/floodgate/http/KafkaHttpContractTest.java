package io.floodgate.http;

import com.fasterxml.jackson.databind.JsonNode;
import io.floodgate.testing.Api;
import io.floodgate.testing.DistributedMode;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The HTTP contract suite, unchanged but for 202 ACCEPTED where the direct log answers 201,
 * against the whole distributed stack: the Redis ledger, the Kafka order log and a MariaDB order
 * store (see {@link io.floodgate.testing.DistributedMode#createWithKafka()}); and the order events
 * on their Kafka topic.
 */
class KafkaHttpContractTest extends HttpContractTest {

    private DistributedMode mode;

    @Override
    protected DistributedMode mode() {
        mode = DistributedMode.createWithKafka();
        return mode;
    }

    @Override
    protected boolean acceptsBeforeStoring() {
        return true;
    }

    /**
     * What the events endpoint shows, the topic holds too: each event once (to a consumer that
     * reads committed records), keyed by its order's id, an order's events in the order of its
     * changes.
     */
    @Test
    void theEventsTopicCarriesEachEventOnceKeyedByOrderInOrderPerOrder() throws Exception {
        Api api = suiteApi();
        String sku = paidItem(10, 10, 60);
        JsonNode paid = placed(api.order(unique("k"), unique("u"), sku, 1));
        JsonNode cancelled = placed(api.order(unique("k"), unique("u"), sku, 1));
        assertThat(pay(unique("pay"), paid).status()).isEqualTo(200);
        assertThat(api.cancel(cancelled.get("orderId").asText()).status()).isEqualTo(200);
        List<JsonNode> feed = new ArrayList<>();
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> {
            feed.clear();
            feed.addAll(eventsAfter("0"));
            return feed.stream().filter(e -> e.get("subject").asText().equals(cancelled.get("orderId").asText()))
                    .count() == 2;
        });
        Set<String> expected = feed.stream().map(e -> e.get("id").asText()).collect(Collectors.toSet());

        Properties p = new Properties();
        p.put("bootstrap.servers", mode.kafkaBootstrap());
        p.put("isolation.level", "read_committed");
        p.put("auto.offset.reset", "earliest");
        p.put("group.id", "contract-reader-" + unique("g"));
        p.put("key.deserializer", StringDeserializer.class.getName());
        p.put("value.deserializer", ByteArrayDeserializer.class.getName());
        List<ConsumerRecord<String, byte[]>> records = new ArrayList<>();
        try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(p)) {
            consumer.subscribe(List.of(mode.eventsTopic()));
            long until = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (System.nanoTime() - until < 0) {
                consumer.poll(Duration.ofMillis(200)).forEach(records::add);
                Set<String> seen = new java.util.HashSet<>();
                for (ConsumerRecord<String, byte[]> r : records) {
                    seen.add(Api.JSON.readTree(r.value()).get("id").asText());
                }
                if (seen.containsAll(expected)) {
                    break;
                }
            }
        }
        List<JsonNode> published = new ArrayList<>();
        Map<String, List<Long>> positionsByKey = new HashMap<>();
        for (ConsumerRecord<String, byte[]> r : records) {
            JsonNode e = Api.JSON.readTree(r.value());
            published.add(e);
            assertThat(r.key()).as("keyed by order id").isEqualTo(e.get("subject").asText());
            assertThat(new String(r.headers().lastHeader("content-type").value(), StandardCharsets.UTF_8))
                    .isEqualTo("application/cloudevents+json");
            positionsByKey.computeIfAbsent(r.key(), k -> new ArrayList<>()).add(e.get("floodgateposition").asLong());
        }
        assertThat(published).extracting(e -> e.get("id").asText()).as("each event once").doesNotHaveDuplicates()
                .containsAll(expected);
        assertThat(positionsByKey.values()).as("an order's events in order").allSatisfy(ps -> assertThat(ps).isSorted());
        Map<String, JsonNode> byId = new HashMap<>();
        feed.forEach(e -> byId.put(e.get("id").asText(), e));
        for (JsonNode e : published) {
            if (byId.containsKey(e.get("id").asText())) {
                assertThat(e).as("the same event as the endpoint's").isEqualTo(byId.get(e.get("id").asText()));
            }
        }
    }
}
