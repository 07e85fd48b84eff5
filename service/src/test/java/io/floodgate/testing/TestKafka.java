package io.floodgate.testing;

import org.junit.jupiter.api.Assumptions;

/**
 * The Kafka broker for tests: {@code FLOODGATE_TEST_KAFKA=host:port}, which {@code scripts/kafka.sh
 * start} prints (and {@code scripts/kafka.sh address} repeats). Unset, the cases that need Kafka
 * are skipped, unless FLOODGATE_REQUIRE_SERVICES=1 (as in CI), which makes them fail instead. Set,
 * it is a promise: a broker that does not answer there fails the test.
 */
public final class TestKafka {

    public static final String ENV = "FLOODGATE_TEST_KAFKA";

    private TestKafka() {
    }

    /** The bootstrap address, or skips (fails when services are required) when none is given. */
    public static String bootstrapOrSkip() {
        String bootstrap = System.getenv(ENV);
        if (bootstrap == null || bootstrap.isBlank()) {
            String message = ENV + " is not set (run scripts/kafka.sh start and export " + ENV
                    + "=$(scripts/kafka.sh address))";
            if (Services.required()) {
                throw new IllegalStateException(message + " but FLOODGATE_REQUIRE_SERVICES=1");
            }
            Assumptions.abort(message + "; skipped (set FLOODGATE_REQUIRE_SERVICES=1 to fail instead)");
        }
        return bootstrap.trim();
    }

    /**
     * Overrides for a test server whose order log is Kafka (on the embedded store and ledger): a
     * topic and consumer group of its own, one partition. Delete {@code topic} and its
     * {@code .dlq} afterwards.
     */
    public static java.util.Map<String, String> orderLogOn(String bootstrap, String topic) {
        return java.util.Map.of("FLOODGATE_KAFKA_BOOTSTRAP", bootstrap, "FLOODGATE_KAFKA_TOPIC", topic,
                "FLOODGATE_KAFKA_GROUP", topic, "FLOODGATE_KAFKA_PARTITIONS", "1");
    }

    /** Deletes the topics, best effort (a test's leftovers must not fill the broker's disk). */
    public static void deleteTopics(String bootstrap, String... topics) {
        java.util.Properties p = new java.util.Properties();
        p.put("bootstrap.servers", bootstrap);
        try (org.apache.kafka.clients.admin.Admin admin = org.apache.kafka.clients.admin.Admin.create(p)) {
            admin.deleteTopics(java.util.List.of(topics)).all().get(10, java.util.concurrent.TimeUnit.SECONDS);
        } catch (Exception e) {
            // best effort
        }
    }
}
