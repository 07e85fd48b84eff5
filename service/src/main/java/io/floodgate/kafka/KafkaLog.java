package io.floodgate.kafka;

import io.floodgate.concurrent.Handoff;
import io.floodgate.core.Deadline;
import io.floodgate.core.DependencyUnavailableException;
import io.floodgate.core.RequestContext;
import io.floodgate.core.domain.Order;
import io.floodgate.core.port.OrderLog;
import io.floodgate.core.port.OrderStore;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.CreateTopicsOptions;
import org.apache.kafka.clients.admin.DescribeTopicsOptions;
import org.apache.kafka.clients.admin.ListConsumerGroupOffsetsOptions;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.LongAdder;

/**
 * The order log on Kafka: intake sends each reserved order to the order topic (keyed by sku, so
 * an item's orders keep their order in one partition) and answers 202 ACCEPTED once the brokers
 * acknowledged it ({@code acks=all}, idempotent producer: a retried send is written once);
 * {@link OrderWriters} carry the topic into the store.
 *
 * <h2>Fates</h2>
 * Every order sent ends in exactly one of these, decided by a {@link Handoff} between the request
 * thread and the producer's callback:
 * <ul>
 *   <li>acknowledged in time: {@code Logged}, the caller confirms;</li>
 *   <li>refused inside {@code send} (no metadata or buffer space within {@code maxBlock}, record
 *   too large): it was never appended, so {@code NotLogged}, and the caller releases;</li>
 *   <li>still open at the deadline: {@code InDoubt}; an acknowledgement that comes later confirms
 *   through the {@link LateFate};</li>
 *   <li>failed after it was appended (delivery timeout, broker lost): it may or may not be in the
 *   log, and no one can tell cheaply. Such orders are written to the store directly
 *   ({@link DirectStoreWriter}); a copy that did reach the log is then a no-op for the consumers,
 *   whose writes are idempotent. Only once stored are they confirmed; never released.</li>
 * </ul>
 * At most {@code maxInFlight} orders are between send and answer; one more is refused at once.
 *
 * <h2>Reading what was accepted</h2>
 * {@link #awaitStored} takes the topic's end offsets and waits until the writers' group has
 * committed past them: the writers commit only after the store transaction, so from then on every
 * order acknowledged before the call is readable. Two admin requests when caught up.
 */
final class KafkaLog implements KafkaOrderLog {

    private static final Logger LOG = LoggerFactory.getLogger(KafkaLog.class);
    static final String REQUEST_ID_HEADER = "floodgate-request-id";
    static final String ORDER_ID_HEADER = "floodgate-order-id";
    /** W3C Trace Context, the header name its Kafka binding uses. */
    static final String TRACEPARENT_HEADER = "traceparent";
    private static final long AWAIT_POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(5);

    private final KafkaOrderLogs.Settings settings;
    private final Admin admin;
    private final Producer<String, byte[]> producer;
    private final List<TopicPartition> partitions;
    private final OrderWriters writers;
    private final DirectStoreWriter directWriter;
    private final BacklogGauge backlog;
    private final Semaphore permits;
    private final LongAdder acknowledged = new LongAdder();
    private volatile boolean closed;

    private KafkaLog(KafkaOrderLogs.Settings settings, Admin admin, Producer<String, byte[]> producer,
                     OrderLog.Unstorable unstorable,
                     List<TopicPartition> partitions, OrderStore store) {
        this.settings = settings;
        this.admin = admin;
        this.producer = producer;
        this.partitions = partitions;
        this.permits = new Semaphore(settings.maxInFlight());
        this.directWriter = new DirectStoreWriter(store, settings.maxInFlight(), settings.maxBatch(),
                settings.directWriteRetention());
        this.writers = new OrderWriters(settings, store, unstorable, producer);
        this.backlog = new BacklogGauge(admin, new KafkaConsumer<>(readerProperties(settings)), settings.group(),
                partitions, BACKLOG_PERIOD, System::nanoTime, System::currentTimeMillis);
    }

    /** How often the backlog is measured: well under any sensible bound in seconds, two admin requests each. */
    private static final Duration BACKLOG_PERIOD = Duration.ofMillis(500);

    static KafkaLog start(KafkaOrderLogs.Settings settings, OrderStore store, OrderLog.Unstorable unstorable) {
        Admin admin = Admin.create(adminProperties(settings));
        Producer<String, byte[]> producer = null;
        try {
            List<TopicPartition> partitions = ensureTopics(admin, settings);
            producer = new KafkaProducer<>(producerProperties(settings));
            warmUp(producer, settings);
            KafkaLog log = new KafkaLog(settings, admin, producer, unstorable, partitions, store);
            log.writers.start();
            log.backlog.start();
            LOG.info("Kafka order log on {}: topic {} ({} partitions), dead letters to {}, group {} ({} consumers here)",
                    settings.bootstrap(), settings.topic(), partitions.size(), settings.deadLetterTopic(),
                    settings.group(), settings.consumers());
            return log;
        } catch (RuntimeException e) {
            if (producer != null) {
                producer.close(Duration.ZERO);
            }
            admin.close(Duration.ZERO);
            throw e;
        }
    }

    // ---------------------------------------------------------------- append

    @Override
    public AppendOutcome append(Order order, Deadline deadline, LateFate late) {
        if (closed) {
            return new AppendOutcome.NotLogged(AppendOutcome.Reason.UNAVAILABLE, "the Kafka order log is closed");
        }
        if (deadline.expired()) {
            return new AppendOutcome.NotLogged(AppendOutcome.Reason.DEADLINE, "deadline passed before sending");
        }
        if (!permits.tryAcquire()) {
            return new AppendOutcome.NotLogged(AppendOutcome.Reason.FULL,
                    settings.maxInFlight() + " orders are already waiting for Kafka");
        }
        Send send = new Send(order, late);
        send.inSend = true;
        try {
            producer.send(record(order), send);
        } catch (RuntimeException e) {
            // Thrown from send (serialization, closed producer): never appended, so no I/O thread
            // will answer it, and an answer the producer gave inside send came on this thread:
            // reading the state here races with nothing. Answer it as the producer would have.
            if (send.handoff.state() == Handoff.State.TAKEN) {
                send.onCompletion(null, e);
            }
            return refused(e);
        } finally {
            send.inSend = false;
        }
        return send.await(deadline);
    }

    private static AppendOutcome refused(Exception e) {
        return new AppendOutcome.NotLogged(AppendOutcome.Reason.UNAVAILABLE, "Kafka refused the order: " + describe(e));
    }

    private ProducerRecord<String, byte[]> record(Order order) {
        ProducerRecord<String, byte[]> record = new ProducerRecord<>(settings.topic(), null,
                order.createdAt().toEpochMilli(), order.sku(), OrderCodec.encode(order));
        record.headers().add(new RecordHeader(ORDER_ID_HEADER, order.orderId().getBytes(StandardCharsets.UTF_8)));
        if (order.requestId() != null) {
            record.headers().add(new RecordHeader(REQUEST_ID_HEADER, order.requestId().getBytes(StandardCharsets.UTF_8)));
        }
        // The caller's W3C trace context, passed on unchanged (Floodgate starts no span of its own),
        // so that a traced consumer of the topic joins the same trace.
        String traceparent = RequestContext.currentTraceparent();
        if (traceparent != null) {
            record.headers().add(new RecordHeader(TRACEPARENT_HEADER, traceparent.getBytes(StandardCharsets.US_ASCII)));
        }
        return record;
    }

    /** The producer's answer: {@code failure} null when acknowledged. */
    private record Answer(Exception failure, boolean refusedInSend) {
    }

    /**
     * One order between send and answer: a hand-off, taken from the start (the producer has the
     * record), between the request thread that waits and the producer's callback that completes.
     *
     * <p>Memory ordering: {@code sender} is final, so every thread that sees this {@code Send}
     * sees it. {@code inSend} is a plain field written and read by the sender thread only: the
     * callback compares threads first, so on any other thread (the producer's I/O thread) the
     * conjunction stops before reading it.
     */
    private final class Send implements Callback {
        final Order order;
        final LateFate late;
        final Handoff<Answer> handoff = Handoff.taken(this::answeredLate);
        final Thread sender = Thread.currentThread();
        /** True while {@link #sender} is inside {@code producer.send}; sender thread only. */
        boolean inSend;

        Send(Order order, LateFate late) {
            this.order = order;
            this.late = late;
        }

        @Override
        public void onCompletion(RecordMetadata metadata, Exception exception) {
            permits.release();
            if (exception == null) {
                acknowledged.increment();
            }
            // The producer reports a refusal inside send() through this callback, on the caller's
            // thread: such a record was never appended to a batch.
            boolean refused = exception != null && Thread.currentThread() == sender && inSend;
            handoff.complete(new Answer(exception, refused));
        }

        /** The caller left with InDoubt; this is the producer's I/O thread: never block it. */
        private void answeredLate(Answer answer) {
            if (answer.failure() == null) {
                Thread.ofVirtual().name("floodgate-kafka-late-ack").start(() -> late.stored(order));
            } else {
                LOG.warn("order {} failed in Kafka after its request gave up ({}); writing it to the store directly",
                        order.orderId(), describe(answer.failure()));
                directWriter.write(order, late);
            }
        }

        AppendOutcome await(Deadline deadline) {
            return switch (handoff.await(deadline.remainingNanos())) {
                case Handoff.Abandoned<Answer> inFlight -> AppendOutcome.IN_DOUBT;
                case Handoff.Withdrawn<Answer> never -> throw new IllegalStateException("a send cannot be withdrawn");
                case Handoff.Delivered<Answer>(Answer answer) when answer.failure() == null -> AppendOutcome.LOGGED;
                case Handoff.Delivered<Answer>(Answer answer) when answer.refusedInSend() -> refused(answer.failure());
                case Handoff.Delivered<Answer>(Answer answer) -> {
                    LOG.warn("order {} failed in Kafka after it was sent ({}); writing it to the store directly",
                            order.orderId(), describe(answer.failure()));
                    directWriter.write(order, late);
                    yield AppendOutcome.IN_DOUBT;
                }
            };
        }
    }

    // ---------------------------------------------------------------- reading what was accepted

    @Override
    public boolean awaitStored(Deadline deadline) {
        Map<TopicPartition, Long> ends = new HashMap<>();
        try {
            Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
            partitions.forEach(tp -> latest.put(tp, OffsetSpec.latest()));
            var listed = admin.listOffsets(latest, new ListOffsetsOptions().timeoutMs(timeoutMs(deadline)))
                    .all().get(deadline.remainingNanos(), TimeUnit.NANOSECONDS);
            listed.forEach((tp, info) -> {
                if (info.offset() > 0) {
                    ends.put(tp, info.offset());
                }
            });
            while (!ends.isEmpty()) {
                Map<TopicPartition, OffsetAndMetadata> committed = admin
                        .listConsumerGroupOffsets(settings.group(), new ListConsumerGroupOffsetsOptions()
                                .timeoutMs(timeoutMs(deadline)))
                        .partitionsToOffsetAndMetadata().get(deadline.remainingNanos(), TimeUnit.NANOSECONDS);
                ends.entrySet().removeIf(end -> {
                    OffsetAndMetadata done = committed.get(end.getKey());
                    return done != null && done.offset() >= end.getValue();
                });
                if (ends.isEmpty()) {
                    break;
                }
                if (deadline.remainingNanos() <= AWAIT_POLL_NANOS) {
                    return false;
                }
                TimeUnit.NANOSECONDS.sleep(AWAIT_POLL_NANOS);
            }
            return true;
        } catch (TimeoutException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } catch (ExecutionException e) {
            if (e.getCause() instanceof org.apache.kafka.common.errors.TimeoutException) {
                return false;
            }
            throw new DependencyUnavailableException("kafka", "cannot read the order log's offsets: "
                    + describe(e.getCause()), e.getCause());
        }
    }

    private static int timeoutMs(Deadline deadline) {
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE, deadline.remainingMillis()));
    }

    // ---------------------------------------------------------------- operations

    @Override
    public boolean ping(Duration timeout) {
        try {
            return !admin.describeCluster().nodes().get(timeout.toNanos(), TimeUnit.NANOSECONDS).isEmpty();
        } catch (ExecutionException | TimeoutException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    @Override
    public Stats stats() {
        OrderWriters.Counts counts = writers.counts();
        return new Stats(acknowledged.sum(), depth(), counts.stored(), counts.batches(), counts.storeRetries(),
                counts.deadLettered(), counts.failed(), directWriter.written());
    }

    @Override
    public Backlog backlog() {
        return backlog.current();
    }

    @Override
    public int depth() {
        return settings.maxInFlight() - permits.availablePermits();
    }

    @Override
    public void close() {
        close(Duration.ofSeconds(10));
    }

    /** Whatever the writers did not store stays in the log for the next writer. */
    @Override
    public void close(Duration timeout) {
        if (closed) {
            return;
        }
        closed = true;
        long start = System.nanoTime();
        producer.flush();
        writers.awaitIdle(Deadline.after(timeout.minusNanos(System.nanoTime() - start)));
        writers.close();
        backlog.close();
        directWriter.close(Duration.ofSeconds(2));
        producer.close(Duration.ofSeconds(2));
        admin.close(Duration.ofSeconds(2));
    }

    // ---------------------------------------------------------------- setup

    private static List<TopicPartition> ensureTopics(Admin admin, KafkaOrderLogs.Settings settings) {
        Map<String, String> configs = topicConfigs(settings);
        return ensureTopics(admin, settings.bootstrap(), List.of(
                new NewTopic(settings.topic(), settings.partitions(), settings.replicationFactor()).configs(configs),
                new NewTopic(settings.deadLetterTopic(), 1, settings.replicationFactor()).configs(configs)),
                startupTimeout(settings).toMillis());
    }

    /** What every topic Floodgate creates is configured with. */
    static Map<String, String> topicConfigs(KafkaOrderLogs.Settings settings) {
        return Map.of("min.insync.replicas", String.valueOf(settings.replicationFactor() >= 3 ? 2 : 1));
    }

    /**
     * Creates {@code topics} unless they exist, and answers the partitions of the first, waiting up
     * to {@code timeoutMs} for the brokers.
     */
    static List<TopicPartition> ensureTopics(Admin admin, String bootstrap, List<NewTopic> topics, long timeoutMs) {
        String first = topics.getFirst().name();
        try {
            // The admin client's own default API timeout is one request timeout: without these
            // options each call would give up after that, not after the timeout waited for here.
            for (var created : admin.createTopics(topics, new CreateTopicsOptions().timeoutMs((int) timeoutMs))
                    .values().entrySet()) {
                try {
                    created.getValue().get(timeoutMs, TimeUnit.MILLISECONDS);
                    LOG.info("created Kafka topic {}", created.getKey());
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof TopicExistsException)) {
                        throw e;
                    }
                }
            }
            TopicDescription description = describeCreated(admin, first, timeoutMs);
            List<TopicPartition> partitions = new ArrayList<>();
            description.partitions().forEach(p -> partitions.add(new TopicPartition(first, p.partition())));
            return List.copyOf(partitions);
        } catch (ExecutionException e) {
            throw new DependencyUnavailableException("kafka", "cannot create or describe topic " + first
                    + " on " + bootstrap + ": " + describe(e.getCause()), e.getCause());
        } catch (TimeoutException e) {
            throw new DependencyUnavailableException("kafka", "no Kafka broker answered at " + bootstrap
                    + " within " + timeoutMs + " ms", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DependencyUnavailableException("kafka", "interrupted while creating topics", e);
        }
    }

    /**
     * Describes a topic just created, once every partition has a leader. The controller answers
     * the creation before every broker's metadata holds the topic, so a describe right after may
     * be told the topic does not exist (seen in CI on a single broker): that answer is retried
     * until the timeout, any other is not. A partition without a leader yet would make the first
     * orders sent to it wait in the producer's retries, up to the delivery timeout, so start-up
     * waits for the leaders too; when the timeout passes first, it goes on with what it has.
     */
    private static TopicDescription describeCreated(Admin admin, String topic, long timeoutMs)
            throws ExecutionException, TimeoutException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        while (true) {
            long left = Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()));
            try {
                TopicDescription description = admin.describeTopics(List.of(topic),
                                new DescribeTopicsOptions().timeoutMs((int) left))
                        .allTopicNames().get(left, TimeUnit.MILLISECONDS).get(topic);
                boolean led = description.partitions().stream().allMatch(p -> p.leader() != null && !p.leader().isEmpty());
                if (led || System.nanoTime() > deadline) {
                    if (!led) {
                        LOG.warn("topic {}: not every partition has a leader after {} ms; the producer retries those",
                                topic, timeoutMs);
                    }
                    return description;
                }
                Thread.sleep(100);
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof UnknownTopicOrPartitionException) || System.nanoTime() > deadline) {
                    throw e;
                }
                Thread.sleep(100);
            }
        }
    }

    /**
     * How long start-up waits for the brokers (topics, first metadata): three request timeouts, and
     * at least 10 s, since a broker that has just started, or serves several starting instances
     * at once, may take longer than one order's request timeout to create a topic.
     */
    static Duration startupTimeout(KafkaOrderLogs.Settings settings) {
        Duration three = settings.requestTimeout().multipliedBy(3);
        return three.compareTo(Duration.ofSeconds(10)) < 0 ? Duration.ofSeconds(10) : three;
    }

    /**
     * Fetches the topic's metadata before the first order: a send blocks for metadata at most
     * {@code maxBlock}, far less than a cold producer needs to fetch it.
     */
    private static void warmUp(Producer<String, byte[]> producer, KafkaOrderLogs.Settings settings) {
        long giveUpAt = System.nanoTime() + startupTimeout(settings).toNanos();
        while (true) {
            try {
                producer.partitionsFor(settings.topic());
                return;
            } catch (org.apache.kafka.common.errors.TimeoutException e) {
                if (System.nanoTime() - giveUpAt > 0) {
                    throw new DependencyUnavailableException("kafka", "no metadata for topic " + settings.topic()
                            + " from " + settings.bootstrap(), e);
                }
            }
        }
    }

    /** See {@link KafkaOrderLogs#ping}. */
    static String ping(KafkaOrderLogs.Settings settings, Duration timeout) {
        Properties p = adminProperties(settings);
        p.put(AdminClientConfig.CLIENT_ID_CONFIG, "floodgate-check");
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) timeout.toMillis());
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) timeout.toMillis());
        Admin admin = Admin.create(p);
        try {
            int brokers = admin.describeCluster().nodes().get(timeout.toMillis() + 1_000, TimeUnit.MILLISECONDS).size();
            return brokers + (brokers == 1 ? " broker" : " brokers");
        } catch (ExecutionException e) {
            throw new DependencyUnavailableException("kafka", "no broker answered at " + settings.bootstrap() + ": "
                    + describe(e.getCause()), e.getCause());
        } catch (TimeoutException e) {
            throw new DependencyUnavailableException("kafka", "no broker answered at " + settings.bootstrap()
                    + " within " + timeout.toMillis() + " ms", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DependencyUnavailableException("kafka", "interrupted waiting for " + settings.bootstrap(), e);
        } finally {
            admin.close(Duration.ofSeconds(1));
        }
    }

    static Properties adminProperties(KafkaOrderLogs.Settings settings) {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, settings.bootstrap());
        p.put(AdminClientConfig.CLIENT_ID_CONFIG, "floodgate-admin");
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) settings.requestTimeout().toMillis());
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) settings.requestTimeout().toMillis());
        return p;
    }

    /** A consumer of no group, that only reads a record here and there (the backlog's oldest). */
    private static Properties readerProperties(KafkaOrderLogs.Settings settings) {
        Properties p = new Properties();
        p.put(org.apache.kafka.clients.consumer.ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, settings.bootstrap());
        p.put(org.apache.kafka.clients.consumer.ConsumerConfig.CLIENT_ID_CONFIG, "floodgate-backlog-reader");
        p.put(org.apache.kafka.clients.consumer.ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        p.put(org.apache.kafka.clients.consumer.ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 100);
        p.put(org.apache.kafka.clients.consumer.ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, 64 * 1024);
        p.put(org.apache.kafka.clients.consumer.ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG,
                org.apache.kafka.common.serialization.ByteArrayDeserializer.class);
        p.put(org.apache.kafka.clients.consumer.ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG,
                org.apache.kafka.common.serialization.ByteArrayDeserializer.class);
        return p;
    }

    private static Properties producerProperties(KafkaOrderLogs.Settings settings) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, settings.bootstrap());
        p.put(ProducerConfig.CLIENT_ID_CONFIG, "floodgate-orders");
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        p.put(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, 5);
        p.put(ProducerConfig.LINGER_MS_CONFIG, (int) settings.linger().toMillis());
        p.put(ProducerConfig.BATCH_SIZE_CONFIG, 64 * 1024);
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, settings.maxBlock().toMillis());
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, (int) settings.deliveryTimeout().toMillis());
        p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) settings.requestTimeout().toMillis());
        // bounded: maxInFlight orders of about 300 bytes fit many times over
        p.put(ProducerConfig.BUFFER_MEMORY_CONFIG, 64L * 1024 * 1024);
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
        return p;
    }

    static String describe(Throwable e) {
        if (e == null) {
            return "unknown failure";
        }
        return e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage());
    }
}
