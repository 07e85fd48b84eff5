package io.floodgate.kafka;

import io.floodgate.core.DependencyUnavailableException;
import io.floodgate.core.StaleFencingTokenException;
import io.floodgate.core.domain.OrderEvent;
import io.floodgate.core.port.EventPublisher;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.function.Function;

/**
 * The order events topic: each event a record keyed by order id (an order's events stay in order
 * in one partition), its value the CloudEvent in structured mode ({@code content-type:
 * application/cloudevents+json}), its position in the header {@value #POSITION_HEADER}.
 *
 * <h2>Exactly once, without a second ledger</h2>
 * Every batch is one Kafka transaction of a producer whose {@code transactional.id} is fixed per
 * topic: a consumer reading committed records ({@code isolation.level=read_committed}, as the
 * contract asks of one that follows the committed offset) sees a batch whole or not at all. A
 * relay that takes over calls {@code initTransactions}, which aborts whatever the previous one left
 * open and fences it: a paused relay that wakes is refused by the broker
 * ({@link ProducerFencedException}). Where publishing stopped is read back from the topic itself
 * (the highest position in a committed record of any partition), so there is no separate note of
 * it to fall out of step: a crash after the commit and before anything else is seen as published,
 * one before the commit as not.
 *
 * <p>Hand-written rather than Kafka Connect or Debezium: those relay a database's log by running
 * a cluster of their own; this is one producer transaction per batch in the process that already
 * relays, and the read-back is one bounded read of each partition's tail.
 */
final class KafkaEventPublisher implements EventPublisher {

    private static final Logger LOG = LoggerFactory.getLogger(KafkaEventPublisher.class);
    static final String POSITION_HEADER = "floodgate-position";
    private static final Header CONTENT_TYPE = new RecordHeader("content-type",
            "application/cloudevents+json".getBytes(StandardCharsets.UTF_8));

    private final KafkaOrderLogs.Settings settings;
    private final String topic;
    private final Function<OrderEvent, byte[]> render;
    private final List<TopicPartition> partitions;
    private final int maxBatch;
    /** The producer of the current tenure; a new one per resume (a fenced or failed one is closed). */
    private Producer<String, byte[]> producer;

    KafkaEventPublisher(KafkaOrderLogs.Settings settings, String topic, List<TopicPartition> partitions, int maxBatch,
                        Function<OrderEvent, byte[]> render) {
        this.settings = settings;
        this.topic = topic;
        this.partitions = partitions;
        this.maxBatch = maxBatch;
        this.render = render;
    }

    static KafkaEventPublisher start(KafkaOrderLogs.Settings settings, String topic, int partitionCount, int maxBatch,
                                     Function<OrderEvent, byte[]> render) {
        try (Admin admin = Admin.create(KafkaLog.adminProperties(settings))) {
            List<TopicPartition> partitions = KafkaLog.ensureTopics(admin, settings.bootstrap(),
                    List.of(new NewTopic(topic, partitionCount, settings.replicationFactor())
                            .configs(KafkaLog.topicConfigs(settings))),
                    KafkaLog.startupTimeout(settings).toMillis());
            LOG.info("order events go to Kafka topic {} ({} partitions)", topic, partitions.size());
            return new KafkaEventPublisher(settings, topic, partitions, maxBatch, render);
        }
    }

    @Override
    public synchronized long resume() {
        closeProducer();
        Producer<String, byte[]> fresh = new KafkaProducer<>(producerProperties());
        try {
            fresh.initTransactions(); // aborts what the last holder left open, and fences it
        } catch (KafkaException e) {
            fresh.close(Duration.ZERO);
            throw new DependencyUnavailableException("kafka", "cannot take over the events topic " + topic + ": "
                    + KafkaLog.describe(e), e);
        }
        producer = fresh;
        return lastPublished();
    }

    /** The highest position in a committed record of the topic; 0 when there is none. */
    private long lastPublished() {
        try (KafkaConsumer<String, byte[]> reader = new KafkaConsumer<>(readerProperties())) {
            reader.assign(partitions);
            Map<TopicPartition, Long> ends = reader.endOffsets(partitions, settings.requestTimeout().multipliedBy(3));
            long highest = 0;
            for (TopicPartition tp : partitions) {
                highest = Math.max(highest, lastPosition(reader, tp, ends.get(tp)));
            }
            return highest;
        } catch (KafkaException e) {
            throw new DependencyUnavailableException("kafka", "cannot read back the events topic " + topic + ": "
                    + KafkaLog.describe(e), e);
        }
    }

    /**
     * The highest position in a committed record of one partition: its tail read back, then more of
     * it while the tail held none (aborted batches and transaction markers take offsets too).
     */
    private long lastPosition(KafkaConsumer<String, byte[]> reader, TopicPartition tp, long end) {
        long window = 2L * maxBatch + 8;
        while (true) {
            long from = Math.max(0, end - window);
            reader.seek(tp, from);
            long highest = 0;
            long deadline = System.nanoTime() + settings.requestTimeout().multipliedBy(10).toNanos();
            while (reader.position(tp) < end) {
                if (System.nanoTime() > deadline) {
                    throw new DependencyUnavailableException("kafka", "reading back partition " + tp + " of " + topic
                            + " did not reach its end " + end + " in time");
                }
                for (ConsumerRecord<String, byte[]> r : reader.poll(Duration.ofMillis(200)).records(tp)) {
                    Header h = r.headers().lastHeader(POSITION_HEADER);
                    if (h != null) {
                        highest = Math.max(highest, Long.parseLong(new String(h.value(), StandardCharsets.US_ASCII)));
                    }
                }
            }
            if (highest > 0 || from == 0) {
                return highest;
            }
            window *= 4;
        }
    }

    @Override
    public synchronized void publish(List<OrderEvent> events) {
        if (producer == null) {
            throw new DependencyUnavailableException("kafka", "the events publisher must resume before it publishes");
        }
        try {
            producer.beginTransaction();
            for (OrderEvent e : events) {
                ProducerRecord<String, byte[]> record = new ProducerRecord<>(topic, e.order().orderId(), render.apply(e));
                record.headers().add(CONTENT_TYPE);
                record.headers().add(POSITION_HEADER, Long.toString(e.position()).getBytes(StandardCharsets.US_ASCII));
                producer.send(record);
            }
            producer.commitTransaction(); // flushes, and waits for the brokers
        } catch (ProducerFencedException e) {
            closeProducer();
            throw new StaleFencingTokenException("events topic " + topic, 0, 1);
        } catch (KafkaException e) {
            // whether the commit reached the coordinator is unknown: resume reads back what it holds
            closeProducer();
            throw new DependencyUnavailableException("kafka", "publishing " + events.size() + " events to " + topic
                    + " failed: " + KafkaLog.describe(e), e, true);
        }
    }

    private void closeProducer() {
        if (producer != null) {
            try {
                producer.close(Duration.ofSeconds(1));
            } catch (KafkaException e) {
                LOG.debug("closing the events producer failed", e);
            }
            producer = null;
        }
    }

    private Properties producerProperties() {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, settings.bootstrap());
        p.put(ProducerConfig.CLIENT_ID_CONFIG, "floodgate-events");
        p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "floodgate-events-" + topic);
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.LINGER_MS_CONFIG, 1);
        p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) settings.requestTimeout().toMillis());
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, (int) settings.deliveryTimeout().toMillis());
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, (int) KafkaLog.startupTimeout(settings).toMillis());
        p.put(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, 60_000);
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        return p;
    }

    private Properties readerProperties() {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, settings.bootstrap());
        p.put(ConsumerConfig.CLIENT_ID_CONFIG, "floodgate-events-readback");
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 2_000);
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        return p;
    }

    @Override
    public synchronized void close() {
        closeProducer();
    }
}
