package io.floodgate.kafka;

import io.floodgate.core.port.OrderLog;
import io.floodgate.core.port.OrderStore;

import java.time.Duration;
import java.util.Objects;

/**
 * Builds the Kafka order log. Everything else in this package is package-private.
 *
 * <pre>{@code
 * KafkaOrderLog log = KafkaOrderLogs.start(KafkaOrderLogs.settings("127.0.0.1:9092").build(), store);
 * }</pre>
 */
public final class KafkaOrderLogs {

    private KafkaOrderLogs() {
    }

    /**
     * Connects, creates the topics if they are missing, and starts the consumers that write the
     * log into {@code store}. Returns once the producer can send.
     *
     * @param unstorable told of each acknowledged order that can never be stored (its item is
     *                   missing), before the consumers move past it
     *
     * @throws io.floodgate.core.DependencyUnavailableException when no broker answers
     */
    public static KafkaOrderLog start(Settings settings, OrderStore store, OrderLog.Unstorable unstorable) {
        Objects.requireNonNull(settings, "settings");
        Objects.requireNonNull(store, "store");
        Objects.requireNonNull(unstorable, "unstorable");
        return KafkaLog.start(settings, store, unstorable);
    }

    /**
     * Whether a Kafka broker answers at the settings' bootstrap, reached as the log's own admin
     * client would reach it, within {@code timeout}; creates no topic and starts no consumer: for
     * {@code floodgate check-config}.
     *
     * @return what answered, e.g. {@code 1 broker}
     * @throws io.floodgate.core.DependencyUnavailableException when no broker answers
     */
    /**
     * The publisher of order events to {@code topic} (created with {@code partitions} unless it
     * exists), on the brokers of {@code settings}, each event's value rendered by {@code render}.
     * Each batch is one transaction (at most {@code maxBatch} events); consumers read committed.
     */
    public static io.floodgate.core.port.EventPublisher eventPublisher(Settings settings, String topic, int partitions,
            int maxBatch, java.util.function.Function<io.floodgate.core.domain.OrderEvent, byte[]> render) {
        return KafkaEventPublisher.start(settings, topic, partitions, maxBatch, render);
    }

    public static String ping(Settings settings, Duration timeout) {
        Objects.requireNonNull(settings, "settings");
        return KafkaLog.ping(settings, timeout);
    }

    /**
     * Deletes the settings' order topic, its dead-letter topic and the writers' consumer group,
     * within {@code timeout}: for a log that is closed for good (the warm-up's scratch one; its
     * consumers must have closed first, or the group cannot go). Never the log of a live instance.
     *
     * @return what went and, for what did not, why
     */
    public static Deleted delete(Settings settings, Duration timeout) throws InterruptedException {
        Objects.requireNonNull(settings, "settings");
        Objects.requireNonNull(timeout, "timeout");
        return LogDeletion.delete(settings, timeout);
    }

    /**
     * What {@link #delete} did.
     *
     * @param topics   the topics that are gone (deleted now, or not there)
     * @param group    whether the consumer group is gone
     * @param problems for each topic or group that is still there, why (empty when all went)
     */
    public record Deleted(java.util.List<String> topics, boolean group, java.util.List<String> problems) {
    }

    public static Settings.Builder settings(String bootstrap) {
        return new Settings.Builder(bootstrap);
    }

    /**
     * How the log uses Kafka. Defaults suit production; tests shorten them.
     *
     * @param bootstrap         {@code host:port[,host:port...]}
     * @param topic             the order topic; the dead-letter topic is {@code topic + ".dlq"}
     * @param partitions        partitions of the order topic when this log creates it (an item's
     *                          orders share one partition: they are keyed by sku)
     * @param replicationFactor replicas per partition when this log creates the topics
     * @param group             the consumer group of the writers (all instances share it)
     * @param consumers         consumer threads on this instance
     * @param maxInFlight       orders sent and not yet acknowledged, at most; one more is refused at
     *                          once (503 OVERLOADED), never queued
     * @param deliveryTimeout   how long the producer keeps trying one record (Kafka's
     *                          {@code delivery.timeout.ms}); after it the record's fate is decided
     *                          through the store
     * @param requestTimeout    one broker request's timeout ({@code request.timeout.ms})
     * @param maxBlock          the longest a send may block for metadata or buffer space
     *                          ({@code max.block.ms}); keep it far below request deadlines
     * @param linger            how long the producer waits to fill a batch ({@code linger.ms})
     * @param maxBatch          records per consumer poll, and so per store transaction
     * @param directWriteRetention   how long an order whose send failed ambiguously is retried into
     *                          the store before it is left, reserved, to the reconciler; keep it
     *                          well below the reconciler's grace period
     */
    public record Settings(String bootstrap, String topic, int partitions, short replicationFactor, String group,
                           int consumers, int maxInFlight, Duration deliveryTimeout, Duration requestTimeout,
                           Duration maxBlock, Duration linger, int maxBatch, Duration directWriteRetention) {

        public String deadLetterTopic() {
            return topic + ".dlq";
        }

        public static final class Builder {
            private final String bootstrap;
            private String topic = "floodgate.orders";
            private int partitions = 12;
            private short replicationFactor = 1;
            private String group = "floodgate-order-writers";
            private int consumers = 2;
            private int maxInFlight = 20_000;
            private Duration deliveryTimeout = Duration.ofSeconds(10);
            private Duration requestTimeout = Duration.ofSeconds(3);
            private Duration maxBlock = Duration.ofMillis(100);
            private Duration linger = Duration.ofMillis(1);
            private int maxBatch = 500;
            private Duration directWriteRetention = Duration.ofSeconds(30);

            Builder(String bootstrap) {
                if (bootstrap == null || !bootstrap.matches("[^,\\s]+:\\d{1,5}(,[^,\\s]+:\\d{1,5})*")) {
                    throw new IllegalArgumentException("Kafka bootstrap must be host:port[,host:port...], was "
                            + bootstrap);
                }
                this.bootstrap = bootstrap;
            }

            public Builder topic(String topic) {
                if (topic == null || !topic.matches("[A-Za-z0-9._-]{1,200}")) {
                    throw new IllegalArgumentException("topic must be 1-200 of [A-Za-z0-9._-], was " + topic);
                }
                this.topic = topic;
                return this;
            }

            public Builder partitions(int partitions) {
                this.partitions = atLeastOne("partitions", partitions);
                return this;
            }

            public Builder replicationFactor(int replicationFactor) {
                if (replicationFactor < 1 || replicationFactor > Short.MAX_VALUE) {
                    throw new IllegalArgumentException("replicationFactor must be >= 1, was " + replicationFactor);
                }
                this.replicationFactor = (short) replicationFactor;
                return this;
            }

            public Builder group(String group) {
                if (group == null || group.isBlank()) {
                    throw new IllegalArgumentException("group must not be blank");
                }
                this.group = group;
                return this;
            }

            public Builder consumers(int consumers) {
                this.consumers = atLeastOne("consumers", consumers);
                return this;
            }

            public Builder maxInFlight(int maxInFlight) {
                this.maxInFlight = atLeastOne("maxInFlight", maxInFlight);
                return this;
            }

            public Builder deliveryTimeout(Duration timeout) {
                this.deliveryTimeout = positive("deliveryTimeout", timeout);
                return this;
            }

            public Builder requestTimeout(Duration timeout) {
                this.requestTimeout = positive("requestTimeout", timeout);
                return this;
            }

            public Builder maxBlock(Duration maxBlock) {
                this.maxBlock = positive("maxBlock", maxBlock);
                return this;
            }

            public Builder linger(Duration linger) {
                if (linger == null || linger.isNegative()) {
                    throw new IllegalArgumentException("linger must be >= 0, was " + linger);
                }
                this.linger = linger;
                return this;
            }

            public Builder maxBatch(int maxBatch) {
                this.maxBatch = atLeastOne("maxBatch", maxBatch);
                return this;
            }

            public Builder directWriteRetention(Duration retention) {
                this.directWriteRetention = positive("directWriteRetention", retention);
                return this;
            }

            public Settings build() {
                if (deliveryTimeout.compareTo(requestTimeout.plus(linger)) < 0) {
                    // Kafka's own rule (delivery.timeout.ms >= linger.ms + request.timeout.ms), said early
                    throw new IllegalArgumentException("deliveryTimeout (" + deliveryTimeout + ") must be at least"
                            + " requestTimeout + linger (" + requestTimeout.plus(linger) + ")");
                }
                return new Settings(bootstrap, topic, partitions, replicationFactor, group, consumers, maxInFlight,
                        deliveryTimeout, requestTimeout, maxBlock, linger, maxBatch, directWriteRetention);
            }

            private static int atLeastOne(String name, int value) {
                if (value < 1) {
                    throw new IllegalArgumentException(name + " must be >= 1, was " + value);
                }
                return value;
            }

            private static Duration positive(String name, Duration d) {
                if (d == null || d.isNegative() || d.isZero()) {
                    throw new IllegalArgumentException(name + " must be positive, was " + d);
                }
                return d;
            }
        }
    }
}
