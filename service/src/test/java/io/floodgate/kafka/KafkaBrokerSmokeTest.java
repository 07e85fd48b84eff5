package io.floodgate.kafka;

import io.floodgate.testing.TestKafka;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Proves the test broker works from Java the way the Kafka order log will use it: a topic made
 * with AdminClient, an idempotent producer ({@code acks=all}) keying records by item, a consumer
 * in a consumer group. Every record is in the log exactly once, each item's records sit in one
 * partition in the order they were sent, and the group's committed offsets cover them all.
 * Needs FLOODGATE_TEST_KAFKA (see {@link TestKafka}); the topic and group are unique to the run
 * and deleted afterwards.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class KafkaBrokerSmokeTest {

    private static final int PARTITIONS = 3;
    private static final int ITEMS = 20;
    private static final int PER_ITEM = 50;
    private static final int RECORDS = ITEMS * PER_ITEM;

    /** One consumed record: which item, its sequence number within the item, and where it was. */
    private record Seen(String item, int seq, int partition, long offset) {
    }

    @Test
    void everyRecordArrivesOnceAndInOrderPerItem() throws Exception {
        String bootstrap = TestKafka.bootstrapOrSkip();
        String run = UUID.randomUUID().toString();
        String topic = "floodgate-smoke-" + run;
        String group = "floodgate-smoke-" + run;

        try (Admin admin = Admin.create(adminConfig(bootstrap))) {
            try {
                admin.describeCluster().nodes().get(15, TimeUnit.SECONDS);
            } catch (ExecutionException | TimeoutException e) {
                throw new AssertionError("no Kafka broker answers at " + TestKafka.ENV + "=" + bootstrap
                        + " (scripts/kafka.sh status)", e);
            }
            admin.createTopics(List.of(new NewTopic(topic, PARTITIONS, (short) 1))).all().get(30, TimeUnit.SECONDS);
            try {
                awaitLeaders(admin, topic);
                Map<String, Integer> sentTo = produce(bootstrap, topic);
                List<Seen> seen = consume(bootstrap, topic, group);
                checkLog(sentTo, seen);

                Map<TopicPartition, OffsetAndMetadata> committed =
                        admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get(15, TimeUnit.SECONDS);
                Map<Integer, Long> counts = new TreeMap<>();
                seen.forEach(s -> counts.merge(s.partition(), 1L, Long::sum));
                Map<Integer, Long> committedByPartition = new TreeMap<>();
                committed.forEach((tp, om) -> {
                    if (om != null && om.offset() > 0) {
                        committedByPartition.put(tp.partition(), om.offset());
                    }
                });
                assertThat(committedByPartition).as("group %s committed offsets", group).isEqualTo(counts);
            } finally {
                try {
                    admin.deleteConsumerGroups(List.of(group)).all().get(15, TimeUnit.SECONDS);
                } catch (ExecutionException e) {
                    // the group may not exist when consuming failed early; the topic still goes
                }
                admin.deleteTopics(List.of(topic)).all().get(30, TimeUnit.SECONDS);
            }
        }
    }

    /**
     * Waits until every partition of the new topic has a leader. A topic is created before its
     * partitions are served; records sent in between wait in the producer for metadata, and once
     * (in CI) a partition's batch waited out the whole delivery timeout there.
     */
    private static void awaitLeaders(Admin admin, String topic) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            TopicDescription d;
            try {
                d = admin.describeTopics(List.of(topic)).allTopicNames().get(15, TimeUnit.SECONDS).get(topic);
            } catch (ExecutionException e) {
                // just created: the broker's metadata may not hold the topic yet (seen in CI)
                if (!(e.getCause() instanceof UnknownTopicOrPartitionException) || System.nanoTime() > deadline) {
                    throw e;
                }
                Thread.sleep(100);
                continue;
            }
            List<Integer> leaderless = d.partitions().stream()
                    .filter(p -> p.leader() == null || p.leader().isEmpty()).map(TopicPartitionInfo::partition).toList();
            if (d.partitions().size() == PARTITIONS && leaderless.isEmpty()) {
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("topic " + topic + " has partitions without a leader after 30 s: " + leaderless
                        + " (scripts/kafka.sh logs)");
            }
            Thread.sleep(100);
        }
    }

    /** Sends item-major interleaved records; returns the partition each item's records went to. */
    private static Map<String, Integer> produce(String bootstrap, String topic) throws Exception {
        Properties p = common(bootstrap, "floodgate-smoke-producer");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.LINGER_MS_CONFIG, 5);
        p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000);
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 30_000);
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());

        List<Future<RecordMetadata>> sends = new ArrayList<>(RECORDS);
        List<String> keys = new ArrayList<>(RECORDS);
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(p)) {
            for (int seq = 0; seq < PER_ITEM; seq++) {
                for (int i = 0; i < ITEMS; i++) {
                    String item = "item-" + i;
                    sends.add(producer.send(new ProducerRecord<>(topic, item, item + ":" + seq)));
                    keys.add(item);
                }
            }
            producer.flush();
        }
        Map<String, Set<Integer>> partitions = new HashMap<>();
        for (int n = 0; n < sends.size(); n++) {
            RecordMetadata md = sends.get(n).get(30, TimeUnit.SECONDS);
            partitions.computeIfAbsent(keys.get(n), k -> new HashSet<>()).add(md.partition());
        }
        Map<String, Integer> sentTo = new HashMap<>();
        partitions.forEach((item, set) -> {
            assertThat(set).as("partitions the producer wrote %s to", item).hasSize(1);
            sentTo.put(item, set.iterator().next());
        });
        return sentTo;
    }

    /** Reads until every record has come, commits, then keeps polling a while for any extra. */
    private static List<Seen> consume(String bootstrap, String topic, String group) {
        Properties p = common(bootstrap, "floodgate-smoke-consumer");
        p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());

        List<Seen> seen = new ArrayList<>(RECORDS);
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(p)) {
            consumer.subscribe(List.of(topic));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (seen.size() < RECORDS && System.nanoTime() < deadline) {
                consumer.poll(Duration.ofMillis(200)).forEach(r -> seen.add(seen(r)));
            }
            assertThat(seen).as("records consumed within 60 s").hasSize(RECORDS);
            consumer.commitSync(Duration.ofSeconds(15));
            long quiet = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(1_000);
            while (System.nanoTime() < quiet) {
                consumer.poll(Duration.ofMillis(200)).forEach(r -> seen.add(seen(r)));
            }
        }
        return seen;
    }

    private static Seen seen(ConsumerRecord<String, String> r) {
        String[] parts = r.value().split(":", 2);
        assertThat(parts[0]).as("value %s under key %s", r.value(), r.key()).isEqualTo(r.key());
        return new Seen(r.key(), Integer.parseInt(parts[1]), r.partition(), r.offset());
    }

    private static void checkLog(Map<String, Integer> sentTo, List<Seen> seen) {
        assertThat(seen).as("records consumed, with no extra ones after the last").hasSize(RECORDS);
        assertThat(seen.stream().map(s -> s.item() + ":" + s.seq()).distinct().count())
                .as("distinct records").isEqualTo(RECORDS);
        assertThat(new HashSet<>(sentTo.values())).as("partitions in use").hasSizeGreaterThan(1);

        Map<String, List<Seen>> byItem = new TreeMap<>();
        Map<Integer, List<Long>> offsets = new TreeMap<>();
        for (Seen s : seen) {
            byItem.computeIfAbsent(s.item(), k -> new ArrayList<>()).add(s);
            offsets.computeIfAbsent(s.partition(), k -> new ArrayList<>()).add(s.offset());
        }
        assertThat(byItem).hasSize(ITEMS);
        byItem.forEach((item, list) -> {
            assertThat(list).as("partition of every %s record", item)
                    .allSatisfy(s -> assertThat(s.partition()).isEqualTo(sentTo.get(item)));
            assertThat(list.stream().map(Seen::seq).toList()).as("%s in consumed order", item)
                    .isEqualTo(IntStream.range(0, PER_ITEM).boxed().toList());
        });
        // no gaps and no repeats: each partition's log is exactly the records sent to it
        offsets.forEach((partition, list) -> assertThat(list).as("offsets read from partition %d", partition)
                .isEqualTo(IntStream.range(0, list.size()).mapToObj(i -> (long) i).toList()));
    }

    private static Properties adminConfig(String bootstrap) {
        Properties p = common(bootstrap, "floodgate-smoke-admin");
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000);
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 15_000);
        return p;
    }

    private static Properties common(String bootstrap, String clientId) {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(AdminClientConfig.CLIENT_ID_CONFIG, clientId);
        return p;
    }
}
