package io.floodgate.http;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.floodgate.testing.Api;
import io.floodgate.testing.TestFloodgate;
import io.floodgate.testing.TestKafka;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * W3C {@code traceparent}: a valid one's trace id becomes the request id (answer, order, logs,
 * the order's Kafka record, which also carries the header); a valid {@code X-Request-Id} still
 * wins; a malformed one is ignored and nothing of it is logged.
 */
class TraceparentHttpTest {

    private static final String TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
    private static final String TRACEPARENT = "00-" + TRACE_ID + "-00f067aa0ba902b7-01";

    @Test
    void aValidTraceparentsTraceIdIsTheRequestIdOfTheAnswerTheOrderAndTheLogLines() {
        List<ILoggingEvent> logged = captureRequestLogs(() -> {
            try (TestFloodgate floodgate = TestFloodgate.start()) {
                Api api = floodgate.api;
                assertThat(api.putItem("T1", "Traced", 5, 1).status()).isEqualTo(201);
                Api.Response placed = api.order("k-trace", "{\"userId\":\"u1\",\"sku\":\"T1\",\"quantity\":1}",
                        Map.of("traceparent", TRACEPARENT));
                assertThat(placed.status()).as("%s", placed).isEqualTo(201);
                assertThat(placed.header("X-Request-Id")).hasValue(TRACE_ID);
                assertThat(placed.json().path("requestId").asText()).isEqualTo(TRACE_ID);
                Api.Response read = api.get("/api/v1/orders/" + placed.json().path("orderId").asText());
                assertThat(read.json().path("requestId").asText()).as("the stored order keeps it").isEqualTo(TRACE_ID);

                Api.Response problem = api.send("GET", "/api/v1/items/NOPE", null, Map.of("traceparent", TRACEPARENT));
                assertThat(problem.status()).isEqualTo(404);
                assertThat(problem.json().path("requestId").asText()).isEqualTo(TRACE_ID);
            }
        });
        assertThat(logged).filteredOn(e -> e.getFormattedMessage().startsWith("POST /api/v1/orders"))
                .isNotEmpty()
                .allSatisfy(e -> assertThat(e.getMDCPropertyMap()).containsEntry("requestId", TRACE_ID));
    }

    @Test
    void aValidXRequestIdWinsOverTheTraceparent() {
        try (TestFloodgate floodgate = TestFloodgate.start()) {
            Api.Response r = floodgate.api.send("GET", "/health/live", null,
                    Map.of("X-Request-Id", "client-id-1", "traceparent", TRACEPARENT));
            assertThat(r.header("X-Request-Id")).hasValue("client-id-1");
            Api.Response invalidId = floodgate.api.send("GET", "/health/live", null,
                    Map.of("X-Request-Id", "not valid!", "traceparent", TRACEPARENT));
            assertThat(invalidId.header("X-Request-Id")).as("an invalid X-Request-Id falls to the trace").hasValue(TRACE_ID);
        }
    }

    @Test
    void aMalformedTraceparentIsIgnoredAndNeverReachesALogLine() {
        String evil = "00-" + TRACE_ID.toUpperCase() + "-00f067aa0ba902b7-01\",\"admin\":true";
        List<ILoggingEvent> logged = captureRequestLogs(() -> {
            try (TestFloodgate floodgate = TestFloodgate.start()) {
                Api.Response r = floodgate.api.send("GET", "/api/v1/items", null, Map.of("traceparent", evil));
                assertThat(r.status()).isEqualTo(200);
                assertThat(r.header("X-Request-Id")).hasValueSatisfying(id -> assertThat(id)
                        .matches("[0-9a-f]{24}").doesNotContainIgnoringCase(TRACE_ID));
            }
        });
        assertThat(logged).filteredOn(e -> e.getFormattedMessage().startsWith("GET /api/v1/items")).isNotEmpty()
                .allSatisfy(e -> {
                    assertThat(e.getMDCPropertyMap().get("requestId")).matches("[0-9a-f]{24}");
                    assertThat(e.getFormattedMessage()).doesNotContain("admin").doesNotContainIgnoringCase(TRACE_ID);
                });
    }

    @Test
    void theOrdersKafkaRecordCarriesTheTraceparentAndTheTraceIdAsRequestId() {
        String bootstrap = TestKafka.bootstrapOrSkip();
        String topic = "fg-trace-" + UUID.randomUUID();
        try (TestFloodgate floodgate = TestFloodgate.start(TestKafka.orderLogOn(bootstrap, topic))) {
            Api api = floodgate.api;
            assertThat(api.putItem("T2", "Traced", 5, 1).status()).isEqualTo(201);
            Api.Response placed = api.order("k-kafka", "{\"userId\":\"u1\",\"sku\":\"T2\",\"quantity\":1}",
                    Map.of("traceparent", TRACEPARENT));
            assertThat(placed.status()).as("%s", placed).isEqualTo(202);

            ConsumerRecord<byte[], byte[]> record = firstRecord(bootstrap, topic);
            assertThat(header(record, "traceparent")).isEqualTo(TRACEPARENT);
            assertThat(header(record, "floodgate-request-id")).isEqualTo(TRACE_ID);
            assertThat(header(record, "floodgate-order-id")).isEqualTo(placed.json().path("orderId").asText());
        } finally {
            TestKafka.deleteTopics(bootstrap, topic, topic + ".dlq");
        }
    }

    private static ConsumerRecord<byte[], byte[]> firstRecord(String bootstrap, String topic) {
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        p.put("key.deserializer", ByteArrayDeserializer.class.getName());
        p.put("value.deserializer", ByteArrayDeserializer.class.getName());
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(p)) {
            TopicPartition partition = new TopicPartition(topic, 0);
            consumer.assign(List.of(partition));
            consumer.seekToBeginning(List.of(partition));
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (System.nanoTime() - deadline < 0) {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    return r;
                }
            }
        }
        throw new AssertionError("no record on " + topic + " within 30 s");
    }

    private static String header(ConsumerRecord<byte[], byte[]> record, String name) {
        Header h = record.headers().lastHeader(name);
        return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }

    /** Runs {@code work} with the per-request DEBUG line of {@code Problems} captured. */
    private static List<ILoggingEvent> captureRequestLogs(Runnable work) {
        Logger logger = (Logger) LoggerFactory.getLogger(Problems.class);
        Level before = logger.getLevel();
        ListAppender<ILoggingEvent> appender = new ListAppender<>() {
            @Override
            protected void append(ILoggingEvent e) {
                e.prepareForDeferredProcessing(); // the MDC as it is now, on the request's thread
                super.append(e);
            }
        };
        appender.start();
        logger.addAppender(appender);
        logger.setLevel(Level.DEBUG);
        try {
            work.run();
        } finally {
            logger.detachAppender(appender);
            logger.setLevel(before);
        }
        return new ArrayList<>(appender.list);
    }
}
