package io.floodgate.app;

import io.floodgate.redis.RedisTestSupport;
import io.floodgate.testing.Api;
import io.floodgate.testing.DistributedMode;
import io.lettuce.core.KeyScanCursor;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.ScanArgs;
import io.lettuce.core.ScanCursor;
import io.lettuce.core.api.StatefulRedisConnection;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.GroupListing;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The warm-up of a distributed instance (issue 16): the Redis ledger, the Kafka order log and a
 * MariaDB store, all real. Its scratch instance runs on the same Redis and Kafka under names of
 * its own, and afterwards none of them is left; the real namespace, topics and database saw
 * nothing of it. Skipped without the services unless FLOODGATE_REQUIRE_SERVICES=1.
 */
class DistributedWarmUpTest {

    private static final String NAME = "(fg-warmup-[0-9a-f]{32})";
    private static final Pattern WARM_UP_LINE = Pattern.compile("warm-up: (\\d+) requests in .*");
    private static final Pattern NAMESPACE = Pattern.compile("Redis namespace " + NAME);
    private static final Pattern STATUSES = Pattern.compile("answers by status: \\{([^}]*)}");
    private static final Pattern KEYS = Pattern.compile("cleaned up: (\\d+) Redis keys;");
    private static final Pattern KAFKA = Pattern.compile("Kafka topics \\[([^\\]]*)\\] and group " + NAME);

    @Test
    void theWarmUpRunsOnRedisAndKafkaUnderItsOwnNamesAndLeavesNothingThereOrInTheRealData(@TempDir Path dir)
            throws Exception {
        try (DistributedMode mode = DistributedMode.createWithKafka()) {
            Map<String, String> env = new HashMap<>(mode.environment());
            env.put("FLOODGATE_WARMUP_SECONDS", "5"); // its scratch instance's start (topics, scripts) included
            try (ServiceProcess service = ServiceProcess.start(dir.resolve("data"), "distributed-warm-up", env)) {
                Api api = service.api();
                Api.Response first = api.get("/health/ready");
                assertThat(first.status()).as("ready right after listening: %s", first.body()).isEqualTo(503);
                assertThat(first.json().get("down").toString()).contains("warm-up");
                assertThat(api.putItem("REAL", "Real", 10, 1).status()).isEqualTo(201);

                List<Integer> seen = new ArrayList<>();
                await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(50)).until(() -> {
                    Api.Response ready = api.get("/health/ready");
                    seen.add(ready.status());
                    if (ready.status() == 503) {
                        assertThat(ready.json().get("down").toString()).as("503 only for the warm-up")
                                .contains("warm-up");
                    }
                    return ready.status() == 200;
                });
                assertThat(seen).doesNotContain(500);

                String line = warmUpLine(service.output());
                String name = group(NAMESPACE, line, 1);
                assertThat(group(STATUSES, line, 1)).as("orders went through the scratch Kafka log: %s", line)
                        .contains("202=");
                assertThat(Long.parseLong(group(KEYS, line, 1))).as("the scratch namespace had keys, deleted: %s", line)
                        .isPositive();
                assertThat(group(KAFKA, line, 1).split(", ")).as("both scratch topics deleted: %s", line)
                        .containsExactlyInAnyOrder(name, name + ".dlq");
                assertThat(group(KAFKA, line, 2)).isEqualTo(name);
                assertThat(line).doesNotContain("left on Kafka").doesNotContain("not deleted");

                // nothing of the scratch instance is left on Redis or Kafka
                assertThat(keys(name + ":*")).as("keys of the scratch namespace").isEmpty();
                try (Admin admin = admin(mode.kafkaBootstrap())) {
                    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
                        assertThat(admin.listTopics().names().get(10, TimeUnit.SECONDS))
                                .noneMatch(topic -> topic.startsWith(name));
                        assertThat(admin.listGroups().all().get(10, TimeUnit.SECONDS)).extracting(GroupListing::groupId)
                                .doesNotContain(name);
                    });

                    // and nothing of it reached the real data: topics, namespace, store
                    String topic = env.get("FLOODGATE_KAFKA_TOPIC");
                    assertThat(records(admin, topic)).as("records in the real order topic").isZero();
                    assertThat(records(admin, topic + ".dlq")).as("records in the real dead-letter topic").isZero();
                    assertThat(records(admin, mode.eventsTopic())).as("records in the real events topic").isZero();
                }
                String namespace = env.get("FLOODGATE_REDIS_NAMESPACE");
                assertThat(keys(namespace + ":*")).as("the real namespace holds the real item's keys only")
                        .isNotEmpty()
                        .noneMatch(key -> key.contains("{warm}") || key.contains("{gone}") || key.contains("{one}"));
                try (Connection db = DriverManager.getConnection(env.get("FLOODGATE_DB_URL"), "root", "")) {
                    assertThat(count(db, "orders")).as("orders in the real store").isZero();
                    assertThat(count(db, "order_events")).as("events in the real store").isZero();
                    assertThat(count(db, "failed_orders")).isZero();
                    assertThat(count(db, "items")).as("the real item alone").isEqualTo(1);
                }
                Api.Response item = api.get("/api/v1/items/REAL");
                assertThat(item.json().get("available").asLong()).as("the real item's stock").isEqualTo(10);

                // and the real instance serves, on its own log
                assertThat(api.order("k1", "u1", "REAL", 1).status()).isIn(201, 202);
            }
        }
    }

    @Test
    void aWarmUpCancelledWhileItRunsOnRedisStillDeletesItsKeys() throws Exception {
        RedisTestSupport.requireOrSkip(RedisTestSupport.URL);
        String namespace = RedisTestSupport.freshNamespace();
        Config real = Config.fromEnv(Map.of("FLOODGATE_REDIS_URL", RedisTestSupport.URL,
                "FLOODGATE_REDIS_NAMESPACE", namespace));
        WarmUp warmUp = new WarmUp(Duration.ofMinutes(10), real);
        String name = warmUp.scratchName();
        java.util.concurrent.CompletableFuture<WarmUp.Report> running = new java.util.concurrent.CompletableFuture<>();
        Thread.ofPlatform().name("warm-up-under-test").start(() -> {
            try {
                running.complete(warmUp.run());
            } catch (Throwable t) {
                running.completeExceptionally(t);
            }
        });
        try {
            await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(50))
                    .until(() -> keys(name + ":{warm}:*").size() > 0 || running.isDone());
            assertThat(running).as("still warming up when cancelled").isNotDone();

            warmUp.cancel(); // as a drain that comes during the warm-up does

            WarmUp.Report report = running.get(120, TimeUnit.SECONDS);
            // no claim on report.requests(): the cancel may come between the scratch instance's
            // first key (its item) and its first request (seen: 0 requests)
            assertThat(report.cleanup()).matches("[1-9][0-9]* Redis keys; its folder");
            assertThat(keys(name + ":*")).as("keys of the scratch namespace after the cancel").isEmpty();
            assertThat(keys(namespace + ":*")).as("the real namespace, never used").isEmpty();
        } finally {
            warmUp.cancel();
            RedisTestSupport.deleteNamespace(RedisTestSupport.URL, name);
        }
    }

    private static String warmUpLine(String output) {
        return output.lines().filter(l -> WARM_UP_LINE.matcher(l).find()).findFirst()
                .orElseThrow(() -> new AssertionError("no warm-up line in:\n" + output));
    }

    private static String group(Pattern pattern, String line, int group) {
        Matcher m = pattern.matcher(line);
        assertThat(m.find()).as("%s in %s", pattern, line).isTrue();
        return m.group(group);
    }

    private static List<String> keys(String pattern) {
        RedisClient client = RedisClient.create(RedisURI.create(RedisTestSupport.URL));
        try (StatefulRedisConnection<String, String> c = client.connect()) {
            List<String> keys = new ArrayList<>();
            ScanCursor cursor = ScanCursor.INITIAL;
            do {
                KeyScanCursor<String> page = c.sync().scan(cursor, ScanArgs.Builder.matches(pattern).limit(1000));
                keys.addAll(page.getKeys());
                cursor = page;
            } while (!cursor.isFinished());
            return keys;
        } finally {
            client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
        }
    }

    private static Admin admin(String bootstrap) {
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        return Admin.create(p);
    }

    /** The sum of the end offsets of the topic's partitions: 0 when nothing was ever written to it. */
    private static long records(Admin admin, String topic) throws Exception {
        if (!admin.listTopics().names().get(10, TimeUnit.SECONDS).contains(topic)) {
            return 0;
        }
        TopicDescription description = admin.describeTopics(Set.of(topic)).allTopicNames().get(10, TimeUnit.SECONDS)
                .get(topic);
        Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
        description.partitions().forEach(p -> latest.put(new TopicPartition(topic, p.partition()), OffsetSpec.latest()));
        return admin.listOffsets(latest).all().get(10, TimeUnit.SECONDS).values().stream()
                .mapToLong(info -> info.offset()).sum();
    }

    private static long count(Connection db, String table) throws Exception {
        try (Statement s = db.createStatement(); ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM " + table)) {
            rs.next();
            return rs.getLong(1);
        }
    }
}
