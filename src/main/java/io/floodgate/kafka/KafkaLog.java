package io.floodgate.kafka;

import io.floodgate.core.Deadline;
import io.floodgate.core.DependencyUnavailableException;
import io.floodgate.core.domain.Order;
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
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TopicExistsException;
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
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * The order log on Kafka: intake sends each reserved order to the order topic (keyed by sku, so
 * an item's orders keep their order in one partition) and answers 202 ACCEPTED once the brokers
 * acknowledged it ({@code acks=all}, idempotent producer: a retried send is written once);
 * {@link OrderWriters} carry the topic into the store.
 *
 * <h2>Fates</h2>
 * Every order sent ends in exactly one of these, decided by CAS between the request thread and
 * the producer's callback:
 * <ul>
 *   <li>acknowledged in time: {@code Logged}, the caller confirms;</li>
 *   <li>refused inside {@code send} (no metadata or buffer space within {@code maxBlock}, record
 *   too large): it was never appended, so {@code NotLogged}, and the caller releases;</li>
 *   <li>still open at the deadline: {@code InDoubt}; an acknowledgement that comes later confirms
 *   through the {@link Settlement};</li>
 *   <li>failed after it was appended (delivery timeout, broker lost): it may or may not be in the
 *   log, and no one can tell cheaply. Such orders are written to the store directly
 *   ({@link StoreSettler}); a copy that did reach the log is then a no-op for the consumers,
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
    private static final long AWAIT_POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(5);

    private final KafkaOrderLogs.Settings settings;
    private final Admin admin;
    private final Producer<String, byte[]> producer;
    private final List<TopicPartition> partitions;
    private final OrderWriters writers;
    private final StoreSettler settler;
    private final Semaphore permits;
    private final LongAdder acknowledged = new LongAdder();
    private volatile boolean closed;

    private KafkaLog(KafkaOrderLogs.Settings settings, Admin admin, Producer<String, byte[]> producer,
                     List<TopicPartition> partitions, OrderStore store) {
        this.settings = settings;
        this.admin = admin;
        this.producer = producer;
        this.partitions = partitions;
        this.permits = new Semaphore(settings.maxInFlight());
        this.settler = new StoreSettler(store, settings.maxInFlight(), settings.maxBatch(), settings.settleRetention());
        this.writers = new OrderWriters(settings, store, producer);
    }

    static KafkaLog start(KafkaOrderLogs.Settings settings, OrderStore store) {
        Admin admin = Admin.create(adminProperties(settings));
        Producer<String, byte[]> producer = null;
        try {
            List<TopicPartition> partitions = ensureTopics(admin, settings);
            producer = new KafkaProducer<>(producerProperties(settings));
            warmUp(producer, settings);
            KafkaLog log = new KafkaLog(settings, admin, producer, partitions, store);
            log.writers.start();
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
    public AppendOutcome append(Order order, Deadline deadline, Settlement late) {
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
        send.sender = Thread.currentThread();
        send.inSend = true;
        try {
            producer.send(record(order), send);
        } catch (RuntimeException e) {
            // thrown from send (serialization, closed producer): never appended
            if (send.state.compareAndSet(Send.WAITING, Send.ANSWERED)) {
                permits.release();
            }
            return new AppendOutcome.NotLogged(AppendOutcome.Reason.UNAVAILABLE, "Kafka refused the order: " + describe(e));
        } finally {
            send.inSend = false;
        }
        return send.await(deadline);
    }

    private ProducerRecord<String, byte[]> record(Order order) {
        ProducerRecord<String, byte[]> record = new ProducerRecord<>(settings.topic(), null,
                order.createdAt().toEpochMilli(), order.sku(), OrderCodec.encode(order));
        record.headers().add(new RecordHeader(ORDER_ID_HEADER, order.orderId().getBytes(StandardCharsets.UTF_8)));
        if (order.requestId() != null) {
            record.headers().add(new RecordHeader(REQUEST_ID_HEADER, order.requestId().getBytes(StandardCharsets.UTF_8)));
        }
        return record;
    }

    /** One order between send and answer. */
    private final class Send implements Callback {
        static final int WAITING = 0;
        static final int ANSWERED = 1;
        static final int ABANDONED = 2;

        final Order order;
        final Settlement late;
        final AtomicInteger state = new AtomicInteger(WAITING);
        final CountDownLatch done = new CountDownLatch(1);
        Thread sender;
        volatile boolean inSend;
        volatile Exception failure;
        volatile boolean refusedInSend;

        Send(Order order, Settlement late) {
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
            boolean refused = exception != null && inSend && Thread.currentThread() == sender;
            failure = exception;
            refusedInSend = refused;
            if (state.compareAndSet(WAITING, ANSWERED)) {
                done.countDown();
                return;
            }
            // The caller left with InDoubt; this is the producer's I/O thread: never block it.
            if (exception == null) {
                Thread.ofVirtual().name("floodgate-kafka-late-ack").start(() -> late.stored(order));
            } else {
                LOG.warn("order {} failed in Kafka after its request gave up ({}); writing it to the store directly",
                        order.orderId(), describe(exception));
                settler.settle(order, late);
            }
        }

        AppendOutcome await(Deadline deadline) {
            try {
                if (!done.await(deadline.remainingNanos(), TimeUnit.NANOSECONDS)
                        && state.compareAndSet(WAITING, ABANDONED)) {
                    return AppendOutcome.IN_DOUBT;
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                if (state.compareAndSet(WAITING, ABANDONED)) {
                    return AppendOutcome.IN_DOUBT;
                }
            }
            awaitUninterruptibly();
            Exception e = failure;
            if (e == null) {
                return AppendOutcome.LOGGED;
            }
            if (refusedInSend) {
                return new AppendOutcome.NotLogged(AppendOutcome.Reason.UNAVAILABLE, "Kafka refused the order: " + describe(e));
            }
            LOG.warn("order {} failed in Kafka after it was sent ({}); writing it to the store directly",
                    order.orderId(), describe(e));
            settler.settle(order, late);
            return AppendOutcome.IN_DOUBT;
        }

        private void awaitUninterruptibly() {
            boolean interrupted = false;
            while (true) {
                try {
                    done.await();
                    break;
                } catch (InterruptedException ie) {
                    interrupted = true;
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
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
                counts.deadLettered(), settler.settled());
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
        settler.close(Duration.ofSeconds(2));
        producer.close(Duration.ofSeconds(2));
        admin.close(Duration.ofSeconds(2));
    }

    // ---------------------------------------------------------------- setup

    private static List<TopicPartition> ensureTopics(Admin admin, KafkaOrderLogs.Settings settings) {
        Map<String, String> configs = Map.of(
                "min.insync.replicas", String.valueOf(settings.replicationFactor() >= 3 ? 2 : 1));
        List<NewTopic> topics = List.of(
                new NewTopic(settings.topic(), settings.partitions(), settings.replicationFactor()).configs(configs),
                new NewTopic(settings.deadLetterTopic(), 1, settings.replicationFactor()).configs(configs));
        long timeoutMs = startupTimeout(settings).toMillis();
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
            TopicDescription description = admin.describeTopics(List.of(settings.topic()),
                            new DescribeTopicsOptions().timeoutMs((int) timeoutMs)).allTopicNames()
                    .get(timeoutMs, TimeUnit.MILLISECONDS).get(settings.topic());
            List<TopicPartition> partitions = new ArrayList<>();
            description.partitions().forEach(p -> partitions.add(new TopicPartition(settings.topic(), p.partition())));
            return List.copyOf(partitions);
        } catch (ExecutionException e) {
            throw new DependencyUnavailableException("kafka", "cannot create or describe topic " + settings.topic()
                    + " on " + settings.bootstrap() + ": " + describe(e.getCause()), e.getCause());
        } catch (TimeoutException e) {
            throw new DependencyUnavailableException("kafka", "no Kafka broker answered at " + settings.bootstrap()
                    + " within " + timeoutMs + " ms", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DependencyUnavailableException("kafka", "interrupted while creating topics", e);
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

    private static Properties adminProperties(KafkaOrderLogs.Settings settings) {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, settings.bootstrap());
        p.put(AdminClientConfig.CLIENT_ID_CONFIG, "floodgate-admin");
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) settings.requestTimeout().toMillis());
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) settings.requestTimeout().toMillis());
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
