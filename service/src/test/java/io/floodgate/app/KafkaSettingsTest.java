package io.floodgate.app;

import io.floodgate.kafka.KafkaOrderLogs;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The Kafka order log's timeouts fit inside the reconciler's grace period. The reconciler
 * releases a reservation older than the grace whose order is not in the store; if the producer
 * could still deliver the record after that (Kafka's delivery timeout was a fixed 10 s, against a
 * grace that may be as short as twice the request deadline), or the direct store writer still write it,
 * the order would be stored with its units released: stock sold twice. Found by the Kafka drill's
 * configuration (grace 5 s, deadline 2 s) in DistributedDrillTest.
 */
class KafkaSettingsTest {

    @ParameterizedTest(name = "grace {0} ms, max request timeout {1} ms")
    @CsvSource({"60000, 10000", "5000, 2000", "1000, 500", "20000, 10000", "86400000, 600000", "30000, 1000"})
    void deliveryAndStoreSettlementEndBeforeTheReconcilerMayReleaseTheReservation(long grace, long maxTimeout) {
        Map<String, String> env = new HashMap<>();
        env.put("FLOODGATE_KAFKA_BOOTSTRAP", "127.0.0.1:9092");
        env.put("FLOODGATE_RECONCILE_GRACE_MS", Long.toString(grace));
        env.put("FLOODGATE_MAX_REQUEST_TIMEOUT_MS", Long.toString(maxTimeout));
        env.put("FLOODGATE_REQUEST_TIMEOUT_MS", Long.toString(Math.min(1_000, maxTimeout)));
        KafkaOrderLogs.Settings s = Floodgate.kafkaSettings(Config.fromEnv(env));

        Duration lastWrite = Duration.ofMillis(maxTimeout).plus(s.deliveryTimeout()).plus(s.directWriteRetention());
        assertThat(lastWrite).as("deadline %s + delivery %s + direct store write %s against the grace", maxTimeout,
                s.deliveryTimeout(), s.directWriteRetention()).isLessThan(Duration.ofMillis(grace));
        assertThat(s.deliveryTimeout()).as("Kafka's rule").isGreaterThanOrEqualTo(s.requestTimeout().plus(s.linger()));
        assertThat(s.requestTimeout()).isPositive();
        assertThat(s.deliveryTimeout()).isLessThanOrEqualTo(Duration.ofSeconds(10));
    }

    @Test
    void theDefaultsKeepKafkasOwnTimeouts() {
        KafkaOrderLogs.Settings s = Floodgate.kafkaSettings(Config.fromEnv(Map.of("FLOODGATE_KAFKA_BOOTSTRAP", "127.0.0.1:9092")));
        assertThat(s.deliveryTimeout()).isEqualTo(Duration.ofSeconds(10));
        assertThat(s.requestTimeout()).isEqualTo(Duration.ofSeconds(3));
        assertThat(s.directWriteRetention()).isEqualTo(Duration.ofSeconds(25));
    }
}
