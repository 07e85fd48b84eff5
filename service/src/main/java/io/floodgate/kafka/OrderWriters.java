package io.floodgate.kafka;

import io.floodgate.concurrent.Backoff;
import io.floodgate.core.Deadline;
import io.floodgate.core.domain.Order;
import io.floodgate.core.port.OrderLog;
import io.floodgate.core.port.OrderStore;
import org.apache.kafka.clients.consumer.CommitFailedException;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
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
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * The consumers that carry the order topic into the store: each polls a batch, writes it in one
 * idempotent store transaction, and only then commits the batch's offsets. A crash anywhere
 * between means the batch is polled again and written again, which changes nothing.
 *
 * <h2>Every acknowledged order reaches the store, or ends visibly</h2>
 * A record is either an order the store can take, or it can never be stored; there is no third
 * kind, and nothing is set aside for failing a number of times.
 * <ul>
 *   <li><b>The store fails</b> (down, read-only, write-locked, slow, failing over): a transient
 *   failure, whatever the store answers to pings. The batch stays held and is tried again with
 *   backoff for as long as it takes; the consumer pauses its partitions and keeps polling, so the
 *   group keeps the member and nothing is read past the batch. The backlog grows in Kafka, where
 *   it is durable, and intake refuses new orders once it passes its bound
 *   ({@code OrderService.BacklogBound}).</li>
 *   <li><b>A record that can never be stored</b>, known by positive evidence, never by a count:
 *   it does not decode to an order (a poison record: {@link OrderCodec} checks every field
 *   against what the store takes), or it names an item the store answers it does not have. A
 *   poison record goes to the dead-letter topic with headers saying why and where it came from
 *   ({@code floodgate-dlq-reason}, {@code floodgate-dlq-source}). An order naming a missing item
 *   is first ended through {@link OrderLog.Unstorable} (recorded FAILED, its units returned, once),
 *   then copied to the dead-letter topic for operators; the partition moves on.</li>
 * </ul>
 * Request id and order id ride in each record's headers and are put in the MDC while the record
 * is handled, so the consumer's log lines carry them.
 */
final class OrderWriters implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(OrderWriters.class);
    static final String DLQ_REASON_HEADER = "floodgate-dlq-reason";
    static final String DLQ_SOURCE_HEADER = "floodgate-dlq-source";
    /** Items the store has told this instance it has; bounded, as a hostile producer may name any number. */
    private static final int MAX_KNOWN_ITEMS = 100_000;
    /** Between attempts at a batch the store refused. */
    private static final Backoff STORE_BACKOFF = Backoff.exponential(Duration.ofMillis(50), Duration.ofSeconds(5));
    /** Between attempts at sending a dead letter the brokers did not acknowledge. */
    private static final Backoff DEAD_LETTER_BACKOFF = Backoff.exponential(Duration.ofMillis(100), Duration.ofSeconds(5));
    private static final Duration MAX_PAUSE_POLL = Duration.ofMillis(100);

    record Counts(long stored, long batches, long storeRetries, long deadLettered, long failed) {
    }

    private final KafkaOrderLogs.Settings settings;
    private final OrderStore store;
    private final OrderLog.Unstorable unstorable;
    private final Producer<String, byte[]> deadLetters;
    private final Set<String> knownItems = ConcurrentHashMap.newKeySet();
    /** Filled by {@link #start}, read by {@link #close}: the lifecycle thread only; no lock guards them. */
    private final List<Thread> threads = new ArrayList<>();
    private final List<Consumer<String, byte[]>> consumers = new ArrayList<>();
    private final AtomicInteger busy = new AtomicInteger();
    private final LongAdder stored = new LongAdder();
    private final LongAdder batches = new LongAdder();
    private final LongAdder storeRetries = new LongAdder();
    private final LongAdder deadLettered = new LongAdder();
    private final LongAdder failed = new LongAdder();
    private volatile boolean running = true;

    OrderWriters(KafkaOrderLogs.Settings settings, OrderStore store, OrderLog.Unstorable unstorable,
                 Producer<String, byte[]> deadLetters) {
        this.settings = settings;
        this.store = store;
        this.unstorable = unstorable;
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
        return new Counts(stored.sum(), batches.sum(), storeRetries.sum(), deadLettered.sum(), failed.sum());
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
        // Partitions taken from this writer while it held a batch (a rebalance during a long retry:
        // an instance paused, killed or joining). Their offsets in that batch are not committed:
        // the partition's next owner may already have stored and committed past them, and a
        // commit of the older batch's offsets, accepted if the partition came back to this writer
        // meanwhile, would move the group's offset backwards, and leave it there for good once
        // the partition gets no new records (the backlog never drains, and a ledger waiting for
        // the log to catch up is never rebuilt: found by the nemesis). Confined to the writer's
        // thread, where the consumer calls the listener.
        Set<TopicPartition> revokedDuringBatch = new HashSet<>();
        try {
            consumer.subscribe(List.of(settings.topic()), new ConsumerRebalanceListener() {
                @Override
                public void onPartitionsRevoked(java.util.Collection<TopicPartition> partitions) {
                    revokedDuringBatch.addAll(partitions);
                }

                @Override
                public void onPartitionsAssigned(java.util.Collection<TopicPartition> partitions) {
                }

                @Override
                public void onPartitionsLost(java.util.Collection<TopicPartition> partitions) {
                    revokedDuringBatch.addAll(partitions);
                }
            });
            while (running) {
                ConsumerRecords<String, byte[]> polled = consumer.poll(Duration.ofMillis(200));
                if (polled.isEmpty()) {
                    continue;
                }
                busy.incrementAndGet();
                revokedDuringBatch.clear();
                try {
                    if (handle(consumer, polled)) {
                        commit(consumer, polled, revokedDuringBatch);
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

    /**
     * Writes the orders, ending those that name items the store does not have; tries again until
     * done, however long the store is away. False only when stopped before done.
     */
    private boolean write(Consumer<String, byte[]> consumer, List<Order> orders,
                          List<ConsumerRecord<String, byte[]>> sources) {
        List<Order> toStore = new ArrayList<>(orders);
        List<ConsumerRecord<String, byte[]>> storing = new ArrayList<>(sources);
        for (int retry = 0; running; retry++) {
            try {
                Set<String> missing = missingItems(toStore);
                for (int i = toStore.size() - 1; i >= 0 && !missing.isEmpty(); i--) {
                    Order order = toStore.get(i);
                    if (missing.contains(order.sku())) {
                        if (!endUnstorable(consumer, order, storing.get(i), "UNKNOWN_ITEM",
                                "the store has no item " + order.sku())) {
                            return false;
                        }
                        toStore.remove(i);
                        storing.remove(i);
                    }
                }
                store.insertOrders(toStore);
                stored.add(toStore.size());
                batches.increment();
                if (LOG.isDebugEnabled()) {
                    for (ConsumerRecord<String, byte[]> source : storing) {
                        withRecordContext(source, () -> LOG.debug("order stored from {}-{}@{}", source.topic(),
                                source.partition(), source.offset()));
                    }
                }
                if (retry > 0) {
                    LOG.info("the store took {} orders from Kafka after {} attempts", toStore.size(), retry + 1);
                }
                resumeAll(consumer);
                return true;
            } catch (RuntimeException e) {
                storeRetries.increment();
                // an item deleted after it was seen: the next attempt asks the store again
                knownItems.clear();
                Duration delay = STORE_BACKOFF.delay(retry);
                LOG.warn("the store does not take {} orders from Kafka (attempt {}: {}); they stay in the log, unread past,"
                        + " and are tried again in {} ms", toStore.size(), retry + 1, e.getMessage(), delay.toMillis());
                if (!pauseAndWait(consumer, delay)) {
                    return false;
                }
            }
        }
        return false;
    }

    /** The items of {@code orders} that the store answers it does not have (it throws when it does not answer). */
    private Set<String> missingItems(List<Order> orders) {
        Set<String> asked = new HashSet<>();
        for (Order o : orders) {
            if (!knownItems.contains(o.sku())) {
                asked.add(o.sku());
            }
        }
        if (asked.isEmpty()) {
            return Set.of();
        }
        Set<String> known = store.knownItems(asked);
        if (knownItems.size() + known.size() > MAX_KNOWN_ITEMS) {
            knownItems.clear();
        }
        knownItems.addAll(known);
        asked.removeAll(known);
        return asked;
    }

    /**
     * Ends an acknowledged order that can never be stored: failed through {@link #unstorable}
     * (recorded, units returned; idempotent, so a crash before the commit repeats it harmlessly),
     * then a copy to the dead-letter topic. Throws when the store cannot record it yet.
     */
    private boolean endUnstorable(Consumer<String, byte[]> consumer, Order order, ConsumerRecord<String, byte[]> source,
                                  String code, String why) {
        withRecordContext(source, () -> unstorable.failed(order, code));
        failed.increment();
        return deadLetter(consumer, source, code + ": " + why + "; the order is recorded FAILED and its units returned");
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
        for (int retry = 0; running; retry++) {
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
                if (!pauseAndWait(consumer, DEAD_LETTER_BACKOFF.delay(retry))) {
                    return false;
                }
            }
        }
        return false;
    }

    /**
     * Commits the batch's offsets, but for partitions taken from this writer while it held the
     * batch: their next owner reads them from the group's offset again (writing them is
     * idempotent) and commits them itself.
     */
    private void commit(Consumer<String, byte[]> consumer, ConsumerRecords<String, byte[]> polled,
                        Set<TopicPartition> revoked) {
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        for (TopicPartition partition : polled.partitions()) {
            if (revoked.contains(partition)) {
                continue;
            }
            List<ConsumerRecord<String, byte[]>> records = polled.records(partition);
            offsets.put(partition, new OffsetAndMetadata(records.getLast().offset() + 1));
        }
        if (!revoked.isEmpty()) {
            LOG.info("partitions {} changed owner while this writer held a batch; their offsets are left to their"
                    + " owner", revoked);
        }
        if (offsets.isEmpty()) {
            return;
        }
        try {
            consumer.commitSync(offsets, settings.requestTimeout());
        } catch (CommitFailedException e) {
            // the partitions moved to another writer, which writes the batch again: idempotent
            LOG.info("offsets not committed, the group rebalanced: {}", e.getMessage());
        } catch (WakeupException e) {
            throw e;
        } catch (RuntimeException e) {
            // the writer's position is past the batch: go back to it, so that it is read, written
            // (to no effect) and committed again, rather than left behind a stuck group offset
            LOG.warn("offsets not committed ({}); the batch is read and written again, to no effect",
                    KafkaLog.describe(e));
            for (TopicPartition partition : offsets.keySet()) {
                if (consumer.assignment().contains(partition)) {
                    consumer.seek(partition, polled.records(partition).getFirst().offset());
                }
            }
        }
    }

    /**
     * Backs off for {@code delay} without leaving the group: pauses the partitions and keeps
     * polling (at most 100 ms a poll, so a close is seen). False when stopped meanwhile.
     */
    private boolean pauseAndWait(Consumer<String, byte[]> consumer, Duration delay) {
        consumer.pause(consumer.assignment());
        Duration poll = delay.compareTo(MAX_PAUSE_POLL) < 0 ? delay : MAX_PAUSE_POLL;
        long until = System.nanoTime() + delay.toNanos();
        while (running && System.nanoTime() - until < 0) {
            ConsumerRecords<String, byte[]> none = consumer.poll(poll);
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
