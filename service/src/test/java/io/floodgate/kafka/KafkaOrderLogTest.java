package io.floodgate.kafka;

import io.floodgate.core.Deadline;
import io.floodgate.core.DependencyUnavailableException;
import io.floodgate.core.domain.ItemSpec;
import io.floodgate.core.domain.Order;
import io.floodgate.core.domain.OrderIds;
import io.floodgate.core.domain.OrderStatus;
import io.floodgate.core.port.OrderLog;
import io.floodgate.core.port.OrderLog.AppendOutcome;
import io.floodgate.core.port.OrderStore;
import io.floodgate.jdbc.JdbcStores;
import io.floodgate.testing.Seeds;
import io.floodgate.testing.TestOrderStore;
import io.floodgate.testing.TestFloodgate;
import io.floodgate.testing.TestKafka;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The Kafka order log against a real broker and a real (embedded) store: what is acknowledged
 * reaches the store exactly once, the store's outages are waited out, and records that can never
 * be stored go to the dead-letter topic with their reason instead of blocking their partition.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class KafkaOrderLogTest {

    private static final Clock CLOCK = Clock.systemUTC();

    private String bootstrap;
    private String topic;
    private Path dataDir;
    private OrderStore store;
    /** The store as the log sees it: the real one, steered to refuse writes or to be down. */
    private TestOrderStore flaky;
    private KafkaOrderLog log;
    private final OrderLog.LateFate ignore = new OrderLog.LateFate() {
        @Override
        public void stored(Order order) {
        }

        @Override
        public void dropped(Order order) {
        }
    };

    @BeforeEach
    void setUp() throws Exception {
        bootstrap = TestKafka.bootstrapOrSkip();
        topic = "fg-log-test-" + Long.toHexString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE);
        dataDir = Files.createTempDirectory("floodgate-kafka-log");
        store = JdbcStores.embedded(dataDir, CLOCK);
        flaky = TestOrderStore.over(store);
    }

    @AfterEach
    void tearDown() {
        if (log != null) {
            log.close(Duration.ofSeconds(5));
        }
        store.close();
        TestFloodgate.deleteRecursively(dataDir);
        TestKafka.deleteTopics(bootstrap, topic, topic + ".dlq");
    }

    /** Orders the log ended as unstorable, as the core would be told of them. */
    private final List<Order> failed = new CopyOnWriteArrayList<>();
    private final OrderLog.Unstorable recordFailed = (order, reason) -> {
        flaky.recordFailedOrder(order.failed(reason));
        failed.add(order);
    };

    private KafkaOrderLog start() {
        log = KafkaOrderLogs.start(KafkaOrderLogs.settings(bootstrap).topic(topic).group(topic).partitions(3)
                .consumers(2).build(), flaky, recordFailed);
        return log;
    }

    private static Order order(String sku, String user, String key) {
        long now = System.currentTimeMillis();
        return new Order(OrderIds.next(now), sku, user, 1, OrderStatus.CONFIRMED, Instant.ofEpochMilli(now),
                "req-" + key, key);
    }

    private void item(String sku) {
        store.putItem(new ItemSpec(sku, "Item " + sku, 1_000_000, 1_000, null, null));
    }

    @Test
    void everyAcknowledgedOrderReachesTheStoreExactlyOnceAndIsReadableAfterAwaitStored() throws Exception {
        long seed = Seeds.seed("kafka.log.seed");
        Random random = new Random(seed);
        List<String> skus = List.of("A", "B", "C", "D", "E");
        skus.forEach(this::item);
        start();

        int orders = 600 + random.nextInt(400);
        List<Order> sent = new ArrayList<>();
        for (int i = 0; i < orders; i++) {
            sent.add(order(skus.get(random.nextInt(skus.size())), "u" + random.nextInt(50), "k" + i));
        }
        // some orders are sent twice (a retried send must not make two orders)
        List<Order> sends = new ArrayList<>(sent);
        for (int i = 0; i < orders / 10; i++) {
            sends.add(sent.get(random.nextInt(sent.size())));
        }
        java.util.Collections.shuffle(sends, random);

        Map<String, AppendOutcome> outcomes = new ConcurrentHashMap<>();
        try (var threads = Executors.newVirtualThreadPerTaskExecutor()) {
            for (Order o : sends) {
                threads.submit(() -> outcomes.merge(o.orderId(),
                        log.append(o, Deadline.after(Duration.ofSeconds(20)), ignore),
                        (a, b) -> a instanceof AppendOutcome.Logged ? a : b));
            }
        }
        assertThat(outcomes.values()).as("seed %d", seed).allMatch(o -> o instanceof AppendOutcome.Logged);

        assertThat(log.awaitStored(Deadline.after(Duration.ofSeconds(60)))).as("caught up").isTrue();
        Map<String, Integer> stored = new HashMap<>();
        store.forEachOrder(o -> stored.merge(o.orderId(), 1, Integer::sum));
        assertThat(stored.keySet()).as("seed %d", seed).containsExactlyInAnyOrderElementsOf(
                sent.stream().map(Order::orderId).toList());
        assertThat(stored.values()).allMatch(n -> n == 1);
        Order one = sent.get(random.nextInt(sent.size()));
        assertThat(store.order(one.orderId())).hasValueSatisfying(o -> {
            assertThat(o.requestId()).isEqualTo(one.requestId());
            assertThat(o.idempotencyKey()).isEqualTo(one.idempotencyKey());
        });
        assertThat(log.stats().acknowledged()).isEqualTo(sends.size());
        assertThat(log.depth()).isZero();
    }

    @Test
    void aPoisonRecordGoesToTheDeadLetterTopicWithItsReasonAndThePartitionMovesOn() throws Exception {
        item("P");
        start();
        try (KafkaProducer<String, byte[]> raw = rawProducer()) {
            // same key as the order after it: same partition, just before it
            raw.send(new ProducerRecord<>(topic, "P", "{not an order".getBytes(StandardCharsets.UTF_8))).get();
        }
        Order after = order("P", "u1", "k-after");
        assertThat(log.append(after, Deadline.after(Duration.ofSeconds(10)), ignore)).isInstanceOf(AppendOutcome.Logged.class);

        assertThat(log.awaitStored(Deadline.after(Duration.ofSeconds(60)))).isTrue();
        assertThat(store.order(after.orderId())).as("the order behind the poison record").isPresent();
        List<ConsumerRecord<String, byte[]>> letters = readAll(topic + ".dlq", 1);
        assertThat(letters).hasSize(1);
        assertThat(header(letters.getFirst(), OrderWriters.DLQ_REASON_HEADER)).startsWith("poison record");
        assertThat(header(letters.getFirst(), OrderWriters.DLQ_SOURCE_HEADER)).startsWith(topic + "-");
        assertThat(new String(letters.getFirst().value(), StandardCharsets.UTF_8)).isEqualTo("{not an order");
        assertThat(log.stats().deadLettered()).isEqualTo(1);
    }

    @Test
    void anOrderNamingAnItemTheStoreDoesNotHaveEndsFailedOnceItsCopyIsDeadLetteredAndTheRestAreStored() throws Exception {
        item("R");
        start();
        Order unstorable = order("NO-SUCH-ITEM", "u1", "k-refused");
        List<Order> fine = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            fine.add(order("R", "u" + i, "k-fine-" + i));
        }
        assertThat(log.append(unstorable, Deadline.after(Duration.ofSeconds(10)), ignore)).isInstanceOf(AppendOutcome.Logged.class);
        for (Order o : fine) {
            assertThat(log.append(o, Deadline.after(Duration.ofSeconds(10)), ignore)).isInstanceOf(AppendOutcome.Logged.class);
        }
        assertThat(log.awaitStored(Deadline.after(Duration.ofSeconds(90)))).isTrue();
        assertThat(store.presentIds(fine.stream().map(Order::orderId).toList())).hasSize(fine.size());
        assertThat(failed).extracting(Order::orderId).containsExactly(unstorable.orderId());
        assertThat(store.order(unstorable.orderId())).as("reads back with a final status")
                .hasValueSatisfying(o -> {
                    assertThat(o.status()).isEqualTo(OrderStatus.FAILED);
                    assertThat(o.statusReason()).isEqualTo("UNKNOWN_ITEM");
                });
        List<ConsumerRecord<String, byte[]>> letters = readAll(topic + ".dlq", 1);
        assertThat(letters).hasSize(1);
        assertThat(header(letters.getFirst(), OrderWriters.DLQ_REASON_HEADER)).startsWith("UNKNOWN_ITEM");
        assertThat(header(letters.getFirst(), KafkaLog.ORDER_ID_HEADER)).isEqualTo(unstorable.orderId());
        assertThat(header(letters.getFirst(), KafkaLog.REQUEST_ID_HEADER)).isEqualTo(unstorable.requestId());
        assertThat(log.stats().failed()).isEqualTo(1);
    }

    @Test
    void aStoreThatRefusesWritesWhileItAnswersReadsIsWaitedOutNeverDeadLettered() throws Exception {
        // a write lock, a failover, a long migration: reads and pings go on, every write fails
        item("W");
        start();
        flaky.writesDown(true);
        List<Order> sent = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            Order o = order("W", "u" + i, "k" + i);
            assertThat(log.append(o, Deadline.after(Duration.ofSeconds(10)), ignore)).isInstanceOf(AppendOutcome.Logged.class);
            sent.add(o);
        }
        // far more attempts than any count a writer might once have given up after
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> log.stats().storeRetries() >= 8);
        assertThat(log.backlog().orders()).as("the backlog is measured while the store refuses").isPositive();
        flaky.writesDown(false);
        assertThat(log.awaitStored(Deadline.after(Duration.ofSeconds(60)))).isTrue();
        assertThat(store.presentIds(sent.stream().map(Order::orderId).toList())).hasSize(sent.size());
        assertThat(log.stats().deadLettered()).as("a store that is away is waited out, not dead-lettered").isZero();
        assertThat(failed).isEmpty();
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> log.backlog().orders() == 0);
    }

    @Test
    void anInstanceThatStartsDuringAnOutageReadsTheBacklogsTrueAgeAtOnce() throws Exception {
        item("A");
        start();
        flaky.writesDown(true);
        long minuteAgo = System.currentTimeMillis() - 60_000;
        for (int i = 0; i < 10; i++) {
            Order o = new Order(OrderIds.next(minuteAgo), "A", "u" + i, 1, OrderStatus.CONFIRMED,
                    Instant.ofEpochMilli(minuteAgo), "req-" + i, "k" + i);
            assertThat(log.append(o, Deadline.after(Duration.ofSeconds(10)), ignore)).isInstanceOf(AppendOutcome.Logged.class);
        }
        // a second instance starts now: it has seen no history, yet it must not read the backlog as new
        try (KafkaOrderLog fresh = KafkaOrderLogs.start(KafkaOrderLogs.settings(bootstrap).topic(topic).group(topic)
                .partitions(3).consumers(1).build(), flaky, recordFailed)) {
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30))
                    .until(() -> fresh.backlog().orders() == 10);
            assertThat(fresh.backlog().age()).as("the oldest order waits since it was made, a minute ago")
                    .isGreaterThan(Duration.ofSeconds(50));
        }
        flaky.writesDown(false);
        assertThat(log.awaitStored(Deadline.after(Duration.ofSeconds(60)))).isTrue();
    }

    @Test
    void whileTheStoreIsDownOrdersAreStillAcceptedAndAreStoredOnceItReturns() throws Exception {
        item("S");
        start();
        flaky.down(true);
        List<Order> sent = new CopyOnWriteArrayList<>();
        try (var threads = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < 200; i++) {
                int n = i;
                threads.submit(() -> {
                    Order o = order("S", "u" + n, "k" + n);
                    assertThat(log.append(o, Deadline.after(Duration.ofSeconds(20)), ignore)).isInstanceOf(AppendOutcome.Logged.class);
                    sent.add(o);
                });
            }
        }
        assertThat(log.awaitStored(Deadline.after(Duration.ofMillis(1500)))).as("nothing can be stored yet").isFalse();
        flaky.down(false);
        assertThat(log.awaitStored(Deadline.after(Duration.ofSeconds(60)))).isTrue();
        assertThat(store.presentIds(sent.stream().map(Order::orderId).toList())).hasSize(200);
        assertThat(log.stats().storeRetries()).isPositive();
        assertThat(log.stats().deadLettered()).as("an outage is waited out, not dead-lettered").isZero();
    }

    @Test
    void noBrokerIsAnHonestDependencyFailureAtStart() throws Exception {
        int port;
        try (ServerSocket socket = new ServerSocket(0)) {
            port = socket.getLocalPort();
        }
        String nowhere = "127.0.0.1:" + port;
        assertThatThrownBy(() -> KafkaOrderLogs.start(KafkaOrderLogs.settings(nowhere).requestTimeout(Duration.ofMillis(500))
                .deliveryTimeout(Duration.ofSeconds(1)).build(), store, recordFailed))
                .isInstanceOf(DependencyUnavailableException.class)
                .hasMessageContaining(nowhere);
    }

    // ---------------------------------------------------------------- helpers

    private KafkaProducer<String, byte[]> rawProducer() {
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        p.put("key.serializer", StringSerializer.class.getName());
        p.put("value.serializer", ByteArraySerializer.class.getName());
        return new KafkaProducer<>(p);
    }

    private List<ConsumerRecord<String, byte[]>> readAll(String fromTopic, int expected) {
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        p.put("group.id", fromTopic + "-reader");
        p.put("auto.offset.reset", "earliest");
        p.put("key.deserializer", StringDeserializer.class.getName());
        p.put("value.deserializer", ByteArrayDeserializer.class.getName());
        List<ConsumerRecord<String, byte[]>> records = new ArrayList<>();
        try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(p)) {
            consumer.subscribe(List.of(fromTopic));
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            // read until the expected records are in, then a little longer, to see any extra
            long quietUntil = Long.MAX_VALUE;
            while (System.nanoTime() - until < 0 && System.nanoTime() - quietUntil < 0) {
                consumer.poll(Duration.ofMillis(200)).forEach(records::add);
                if (records.size() >= expected && quietUntil == Long.MAX_VALUE) {
                    quietUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
                }
            }
        }
        return records;
    }

    private static String header(ConsumerRecord<String, byte[]> record, String name) {
        var header = record.headers().lastHeader(name);
        return header == null ? null : new String(header.value(), StandardCharsets.UTF_8);
    }
}
