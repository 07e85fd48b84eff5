package io.floodgate.kafka;

import io.floodgate.core.Deadline;
import io.floodgate.core.domain.Order;
import io.floodgate.core.port.OrderStore;
import org.apache.kafka.clients.consumer.CommitFailedException;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * The consumers that carry the order topic into the store: each polls a batch, writes it in one
 * idempotent store transaction, and only then commits the batch's offsets. A crash anywhere
 * between means the batch is polled again and written again, which changes nothing.
 *
 * <h2>Failures</h2>
 * <ul>
 *   <li>The store is down: the batch is retried with backoff and jitter for as long as it takes;
 *   the consumer pauses its partitions and keeps polling so the group does not evict it.</li>
 *   <li>A poison record (not an order) or one the store keeps refusing while it answers everything
 *   else: it goes to the dead-letter topic with headers saying why and where it came from
 *   ({@code floodgate-dlq-reason}, {@code floodgate-dlq-source}), and the partition moves on. It
 *   is never dropped silently, and never blocks its partition for more than a few attempts.</li>
 * </ul>
 * Request id and order id ride in each record's headers and are put in the MDC while the record
 * is handled, so the consumer's log lines carry them.
 */
final class OrderWriters implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(OrderWriters.class);
    static final String DLQ_REASON_HEADER = "floodgate-dlq-reason";
    static final String DLQ_SOURCE_HEADER = "floodgate-dlq-source";
    /** Attempts at a batch, while the store answers pings, before its records are tried one by one. */
    private static final int ATTEMPTS_BEFORE_SPLIT = 3;
    private static final long MAX_BACKOFF_MILLIS = 5_000;

    record Counts(long stored, long batches, long storeRetries, long deadLettered) {
    }

    private final KafkaOrderLogs.Settings settings;
    private final OrderStore store;
    private final Producer<String, byte[]> deadLetters;
    private final List<Thread> threads = new ArrayList<>();
    private final List<Consumer<String, byte[]>> consumers = new ArrayList<>();
    private final AtomicInteger busy = new AtomicInteger();
    private final LongAdder stored = new LongAdder();
    private final LongAdder batches = new LongAdder();
    private final LongAdder storeRetries = new LongAdder();
    private final LongAdder deadLettered = new LongAdder();
    private volatile boolean running = true;

    OrderWriters(KafkaOrderLogs.Settings settings, OrderStore store, Producer<String, byte[]> deadLetters) {
        this.settings = settings;
        this.store = store;
        this.deadLetters = deadLetters;
    }

    void start() {
        for (int i = 0; i < settings.consumers(); i++) {
            Consumer<String, byte[]> consumer = new KafkaConsumer<>(consumerProperties(settings, i));
            consumers.add(consumer);
            // platform threads: a handful, each blocking in poll and in the store's driver
            threads.add(Thread.ofPlatform().daemon().name("floodgate-kafka-writer-" + i)
                    .start(() -> run(consumer)));
        }
    }

    Counts counts() {
        return new Counts(stored.sum(), batches.sum(), storeRetries.sum(), deadLettered.sum());
    }

    /** Waits until no consumer holds an unwritten batch and none is polled within a short while. */
    void awaitIdle(Deadline deadline) {
        long idleSince = System.nanoTime();
        long lastStored = stored.sum();
        while (!deadline.expired()) {
            long now = System.nanoTime();
            if (busy.get() > 0 || stored.sum() != lastStored) {
                idleSince = now;
                lastStored = stored.sum();
            } else if (now - idleSince > TimeUnit.MILLISECONDS.toNanos(300)) {
                return;
            }
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private void run(Consumer<String, byte[]> consumer) {
        try {
            consumer.subscribe(List.of(settings.topic()));
            while (running) {
                ConsumerRecords<String, byte[]> polled = consumer.poll(Duration.ofMillis(200));
                if (polled.isEmpty()) {
                    continue;
                }
                busy.incrementAndGet();
                try {
                    if (handle(consumer, polled)) {
                        commit(consumer, polled);
                    }
                } finally {
                    busy.decrementAndGet();
                }
            }
        } catch (WakeupException e) {
            // closing
        } catch (RuntimeException e) {
            LOG.error("Kafka order writer stopped by an unexpected failure; its partitions go to the other writers", e);
        } finally {
            try {
                consumer.close(Duration.ofSeconds(2));
            } catch (RuntimeException e) {
                LOG.debug("closing a Kafka consumer failed", e);
            }
        }
    }

    /** Writes the batch to the store (dead-lettering what must be); false when stopped before done. */
    private boolean handle(Consumer<String, byte[]> consumer, ConsumerRecords<String, byte[]> polled) {
        List<Order> orders = new ArrayList<>(polled.count());
        List<ConsumerRecord<String, byte[]>> sources = new ArrayList<>(polled.count());
        for (ConsumerRecord<String, byte[]> record : polled) {
            try {
                orders.add(OrderCodec.decode(record.value()));
                sources.add(record);
            } catch (OrderCodec.PoisonRecordException e) {
                if (!deadLetter(consumer, record, "poison record: " + e.getMessage())) {
                    return false;
                }
            }
        }
        if (orders.isEmpty()) {
            return true;
        }
        return write(consumer, orders, sources);
    }

    private boolean write(Consumer<String, byte[]> consumer, List<Order> orders,
                          List<ConsumerRecord<String, byte[]>> sources) {
        long backoffMillis = 50;
        int refusedWhileUp = 0;
        while (running) {
            try {
                store.insertOrders(orders);
                stored.add(orders.size());
                batches.increment();
                if (LOG.isDebugEnabled()) {
                    for (ConsumerRecord<String, byte[]> source : sources) {
                        withRecordContext(source, () -> LOG.debug("order stored from {}-{}@{}", source.topic(),
                                source.partition(), source.offset()));
                    }
                }
                resumeAll(consumer);
                return true;
            } catch (RuntimeException e) {
                storeRetries.increment();
                if (store.ping(Duration.ofSeconds(1)) && ++refusedWhileUp >= ATTEMPTS_BEFORE_SPLIT) {
                    // the store answers, yet refuses this batch: find the records it refuses
                    if (orders.size() == 1) {
                        resumeAll(consumer);
                        return deadLetter(consumer, sources.getFirst(), "the store refused it "
                                + refusedWhileUp + " times: " + e.getMessage());
                    }
                    for (int i = 0; i < orders.size(); i++) {
                        if (!write(consumer, List.of(orders.get(i)), List.of(sources.get(i)))) {
                            return false;
                        }
                    }
                    return true;
                }
                LOG.warn("cannot write {} orders from Kafka to the store ({}); retrying in about {} ms",
                        orders.size(), e.getMessage(), backoffMillis);
                if (!pauseAndWait(consumer, backoffMillis)) {
                    return false;
                }
                backoffMillis = Math.min(MAX_BACKOFF_MILLIS, backoffMillis * 2);
            }
        }
        return false;
    }

    /**
     * Sends {@code record} to the dead-letter topic with its reason, waiting for the brokers'
     * acknowledgement (retrying while they do not answer); false when stopped before it was sent.
     */
    private boolean deadLetter(Consumer<String, byte[]> consumer, ConsumerRecord<String, byte[]> record, String reason) {
        ProducerRecord<String, byte[]> letter = new ProducerRecord<>(settings.deadLetterTopic(), null,
                record.timestamp(), record.key(), record.value());
        for (Header header : record.headers()) {
            letter.headers().add(header);
        }
        letter.headers().add(new RecordHeader(DLQ_REASON_HEADER, reason.getBytes(StandardCharsets.UTF_8)));
        letter.headers().add(new RecordHeader(DLQ_SOURCE_HEADER, (record.topic() + "-" + record.partition() + "@"
                + record.offset()).getBytes(StandardCharsets.UTF_8)));
        long backoffMillis = 100;
        while (running) {
            try {
                deadLetters.send(letter).get(settings.deliveryTimeout().toMillis() + 1_000, TimeUnit.MILLISECONDS);
                deadLettered.increment();
                withRecordContext(record, () -> LOG.error("record {}-{}@{} sent to dead-letter topic {}: {}",
                        record.topic(), record.partition(), record.offset(), settings.deadLetterTopic(), reason));
                return true;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            } catch (Exception e) {
                LOG.warn("cannot send record {}-{}@{} to the dead-letter topic yet: {}", record.topic(),
                        record.partition(), record.offset(), KafkaLog.describe(e));
                if (!pauseAndWait(consumer, backoffMillis)) {
                    return false;
                }
                backoffMillis = Math.min(MAX_BACKOFF_MILLIS, backoffMillis * 2);
            }
        }
        return false;
    }

    private void commit(Consumer<String, byte[]> consumer, ConsumerRecords<String, byte[]> polled) {
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        for (TopicPartition partition : polled.partitions()) {
            List<ConsumerRecord<String, byte[]>> records = polled.records(partition);
            offsets.put(partition, new OffsetAndMetadata(records.getLast().offset() + 1));
        }
        try {
            consumer.commitSync(offsets, settings.requestTimeout());
        } catch (CommitFailedException e) {
            // the partitions moved to another writer, which writes the batch again: idempotent
            LOG.info("offsets not committed, the group rebalanced: {}", e.getMessage());
        } catch (WakeupException e) {
            throw e;
        } catch (RuntimeException e) {
            LOG.warn("offsets not committed ({}); the batch will be written again, to no effect", KafkaLog.describe(e));
        }
    }

    /** Backs off without leaving the group: pauses the partitions and keeps polling. */
    private boolean pauseAndWait(Consumer<String, byte[]> consumer, long backoffMillis) {
        consumer.pause(consumer.assignment());
        long sleep = backoffMillis + ThreadLocalRandom.current().nextLong(backoffMillis / 2 + 1);
        long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(sleep);
        while (running && System.nanoTime() - until < 0) {
            ConsumerRecords<String, byte[]> none = consumer.poll(Duration.ofMillis(Math.min(100, sleep)));
            if (!none.isEmpty()) {
                // a partition assigned during the pause is not paused yet; its records come again later
                consumer.pause(consumer.assignment());
                none.partitions().forEach(tp -> consumer.seek(tp, none.records(tp).getFirst().offset()));
            }
        }
        return running;
    }

    private static void resumeAll(Consumer<String, byte[]> consumer) {
        if (!consumer.paused().isEmpty()) {
            consumer.resume(consumer.paused());
        }
    }

    private static void withRecordContext(ConsumerRecord<String, byte[]> record, Runnable action) {
        Header requestId = record.headers().lastHeader(KafkaLog.REQUEST_ID_HEADER);
        Header orderId = record.headers().lastHeader(KafkaLog.ORDER_ID_HEADER);
        if (requestId != null) {
            MDC.put("requestId", new String(requestId.value(), StandardCharsets.UTF_8));
        }
        if (orderId != null) {
            MDC.put("orderId", new String(orderId.value(), StandardCharsets.UTF_8));
        }
        try {
            action.run();
        } finally {
            MDC.remove("requestId");
            MDC.remove("orderId");
        }
    }

    @Override
    public void close() {
        running = false;
        consumers.forEach(Consumer::wakeup);
        for (Thread thread : threads) {
            try {
                if (!thread.join(Duration.ofSeconds(5))) {
                    LOG.warn("Kafka order writer {} did not stop within 5 s", thread.getName());
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private static Properties consumerProperties(KafkaOrderLogs.Settings settings, int index) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, settings.bootstrap());
        p.put(ConsumerConfig.GROUP_ID_CONFIG, settings.group());
        p.put(ConsumerConfig.CLIENT_ID_CONFIG, "floodgate-writer-" + index);
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, settings.maxBatch());
        // a writer that dies (kill -9) hands its partitions on after this, not Kafka's default 45 s
        p.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, 10_000);
        p.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, 2_000);
        p.put(ConsumerConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) Math.max(5_000, settings.requestTimeout().toMillis()));
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        return p;
    }
}
