package io.floodgate.app;

import io.floodgate.testing.Api;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The warm-up before ready (issue 16): it drives every kind of answer it means to warm, and it
 * leaves nothing behind; an instance that warms up says so in its readiness until it is done.
 */
class WarmUpTest {

    private static final Pattern PERSISTED = Pattern.compile("(?m)^floodgate_orders_persisted_total(?:\\{[^}]*})?\\s+([0-9.E]+)");

    @Test
    void theMixMeetsEveryAnswerItMeansToWarmAndNoServerError() throws Exception {
        WarmUp.Report report = new WarmUp(Duration.ofSeconds(4)).run(); // the scratch instance's start included

        assertThat(report.problem()).isNull();
        assertThat(report.requests()).isPositive();
        assertThat(report.byStatus().keySet()).as("new orders, replays, refusals, bad input, unknown orders")
                .contains(201, 200, 409, 400, 404);
        // 503 (shed) and 504 (deadline) are honest answers of a busy machine; 500 or a broken exchange is a bug
        assertThat(report.byStatus().keySet()).as("no server error, no broken exchange: " + report.byStatus())
                .allMatch(status -> status >= 200 && status < 500 || status == 503 || status == 504);
        assertThat(report.trafficEnded()).isNotNull();
        assertThat(report.settle()).as("after the traffic it looked at the JIT's queues").isNotNull();
    }

    @Test
    void aWarmUpCancelledBeforeItBeginsMakesNothing() throws Exception {
        Path tmp = Path.of(System.getProperty("java.io.tmpdir"));
        List<Path> before = scratchFolders(tmp);
        WarmUp warmUp = new WarmUp(Duration.ofMinutes(10), null, () -> JitQueue.of(() -> false));
        warmUp.cancel();

        WarmUp.Report report = warmUp.run();

        assertThat(report.requests()).isZero();
        assertThat(report.problem()).isEqualTo("cancelled before it began");
        assertThat(warmUp.awaitCleanedUp(Duration.ZERO)).isTrue();
        assertThat(scratchFolders(tmp)).as("no scratch folder made").isSubsetOf(before);
    }

    @Test
    void theTrafficEndsOnceTheJitIsQuietNotAtTheBudget() throws Exception {
        Duration budget = Duration.ofMinutes(10);
        WarmUp.Report report = new WarmUp(budget, null, () -> JitQueue.of(() -> true)).run();

        assertThat(report.problem()).isNull();
        assertThat(report.trafficEnded()).startsWith("the JIT quiet after");
        assertThat(report.requests()).as("it ran its least traffic first").isPositive();
        assertThat(report.jitIdle()).isTrue();
        assertThat(report.took()).isLessThan(budget);
    }

    @Test
    void aJitThatStaysBusyEndsTheTrafficAtTheBudgetAndTheWaitAtItsLimit() throws Exception {
        WarmUp.Report report = new WarmUp(Duration.ofSeconds(4), null, () -> JitQueue.of(() -> false)).run();

        assertThat(report.problem()).isNull();
        assertThat(report.trafficEnded()).isEqualTo("the budget");
        assertThat(report.jitIdle()).as("still busy when the wait gave up").isFalse();
        assertThat(report.settle()).isGreaterThanOrEqualTo(WarmUp.SETTLE_LIMIT);
    }

    @Test
    void readinessWaitsForTheWarmUpWhichLeavesNothingBehind(@TempDir Path dir) throws Exception {
        Path before = Path.of(System.getProperty("java.io.tmpdir"));
        List<Path> scratchBefore = scratchFolders(before);
        try (ServiceProcess service = ServiceProcess.start(dir.resolve("data"), "warm-up",
                Map.of("FLOODGATE_WARMUP_SECONDS", "4"))) {
            Api api = service.api();
            Api.Response first = api.get("/health/ready");
            assertThat(first.status()).as("ready right after listening: %s", first.body()).isEqualTo(503);
            assertThat(first.code()).isEqualTo("NOT_READY");
            assertThat(first.json().get("down").toString()).contains("warm-up");
            // a caller that does not wait is served meanwhile, by the real instance
            assertThat(api.putItem("REAL", "Real", 10, 1).status()).isEqualTo(201);

            List<Integer> seen = new ArrayList<>();
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(50)).until(() -> {
                int status = api.get("/health/ready").status();
                seen.add(status);
                return status == 200;
            });
            assertThat(seen).as("503 until ready, then 200 for good").doesNotContain(500);
            assertThat(service.output()).contains("warm-up: ");

            // nothing of the warm-up reached the real instance: its items, its orders, its metrics
            Api.Response items = api.get("/api/v1/items");
            assertThat(items.json().get("items")).hasSize(1);
            assertThat(items.json().get("items").get(0).get("sku").asText()).isEqualTo("REAL");
            assertThat(items.json().get("items").get(0).get("available").asLong()).isEqualTo(10);
            Matcher persisted = PERSISTED.matcher(api.get("/metrics").body());
            assertThat(persisted.find()).as("the real instance's metrics").isTrue();
            assertThat(Double.parseDouble(persisted.group(1))).as("orders stored by the real instance").isZero();
            assertThat(api.order("k1", "u1", "REAL", 1).status()).isEqualTo(201);
        }
        assertThat(scratchFolders(before)).as("the scratch store is deleted").isSubsetOf(scratchBefore);
    }

    @Test
    void theScratchConfigurationCarriesNothingThatCouldReachRealData(@TempDir Path dir) {
        // every value that names real data or a secret is marked REAL (secrets: sekret); hosts are not
        Config real = Config.fromEnv(Map.ofEntries(
                Map.entry("FLOODGATE_HOST", "0.0.0.0"),
                Map.entry("FLOODGATE_PORT", "8080"),
                Map.entry("FLOODGATE_DATA_DIR", "/var/lib/REAL"),
                Map.entry("FLOODGATE_ADMIN_TOKEN", "sekret-admin-token-REAL"),
                Map.entry("FLOODGATE_USER_JWT_SECRET", "sekret-jwt-secret-of-at-least-32-bytes-REAL"),
                Map.entry("FLOODGATE_DB_URL", "jdbc:mariadb://dbhost:3306/REALdb"),
                Map.entry("FLOODGATE_DB_USER", "REALuser"),
                Map.entry("FLOODGATE_DB_PASSWORD", "sekret-db-REAL"),
                Map.entry("FLOODGATE_DB_SHARDS", "jdbc:mariadb://dbhost:3306/REALdb,jdbc:mariadb://dbhost:3306/REALdb1"),
                Map.entry("FLOODGATE_LOCK_URL", "zk://zkhost:2181/REALlocks"),
                Map.entry("FLOODGATE_PAYMENT_SECRET", "sekret-payment-secret-REAL"),
                Map.entry("FLOODGATE_REDIS_URL", "redis://:sekretpw@redishost:6379/3"),
                Map.entry("FLOODGATE_REDIS_NAMESPACE", "REALns"),
                Map.entry("FLOODGATE_CLUSTER_RATE", "500"),
                Map.entry("FLOODGATE_INSTANCES", "3"),
                Map.entry("FLOODGATE_KAFKA_BOOTSTRAP", "kafkahost:9092"),
                Map.entry("FLOODGATE_KAFKA_TOPIC", "REAL.orders"),
                Map.entry("FLOODGATE_KAFKA_GROUP", "REAL-writers"),
                Map.entry("FLOODGATE_KAFKA_PARTITIONS", "12"),
                Map.entry("FLOODGATE_KAFKA_CONSUMERS", "2"),
                Map.entry("FLOODGATE_EVENTS_TOPIC", "REAL.events"),
                Map.entry("FLOODGATE_WARMUP_SECONDS", "10")));

        Config scratch = WarmUp.scratchConfig(real, "fg-warmup-0123abcd", dir, "scratch-token");

        assertThat(scratch.toString()).as("no real name anywhere in it").doesNotContain("REAL");
        assertThat(scratch.store().dbUrl()).isNull();
        assertThat(scratch.store().shards()).isEmpty();
        assertThat(scratch.store().dbPassword()).isNull();
        assertThat(scratch.store().dataDir()).isEqualTo(dir);
        assertThat(scratch.lock()).as("no lock service, so no leader election beside the real ones").isNull();
        assertThat(scratch.payments().secrets()).isEmpty();
        assertThat(scratch.http().userJwtSecret()).isNull();
        assertThat(scratch.http().adminToken()).isEqualTo("scratch-token");
        assertThat(scratch.http().host()).isEqualTo("127.0.0.1");
        assertThat(scratch.http().port()).isZero();
        assertThat(scratch.warmUp()).isZero();
        // the same servers, its own names
        assertThat(scratch.redis().url()).isEqualTo("redis://:sekretpw@redishost:6379/3");
        assertThat(scratch.redis().namespace()).isEqualTo("fg-warmup-0123abcd");
        assertThat(scratch.admission().clusterRate()).as("the cluster rate's path is warmed too").isPositive();
        assertThat(scratch.kafka().bootstrap()).isEqualTo("kafkahost:9092");
        assertThat(scratch.kafka().topic()).isEqualTo("fg-warmup-0123abcd");
        assertThat(scratch.kafka().group()).isEqualTo("fg-warmup-0123abcd");
        assertThat(Floodgate.kafkaSettings(scratch).deadLetterTopic()).isEqualTo("fg-warmup-0123abcd.dlq");
        assertThat(scratch.payments().eventsTopic()).startsWith("fg-warmup-0123abcd");
    }

    @Test
    void anEmbeddedInstanceWarmsUpEmbedded(@TempDir Path dir) {
        Config scratch = WarmUp.scratchConfig(Config.fromEnv(Map.of()), "fg-warmup-00", dir, "t");

        assertThat(scratch.redis()).isNull();
        assertThat(scratch.kafka()).isNull();
        assertThat(scratch.store().dbUrl()).isNull();
    }

    @Test
    void aScratchNameThatIsNotMarkedAsOneIsRefused(@TempDir Path dir) {
        Config real = Config.fromEnv(Map.of("FLOODGATE_REDIS_URL", "redis://127.0.0.1:6379/9"));
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> WarmUp.scratchConfig(real, "fg", dir, "t"))
                .isInstanceOf(IllegalArgumentException.class);
        Config sameNamespace = Config.fromEnv(Map.of("FLOODGATE_REDIS_URL", "redis://127.0.0.1:6379/9",
                "FLOODGATE_REDIS_NAMESPACE", "fg-warmup-ab"));
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> WarmUp.scratchConfig(sameNamespace, "fg-warmup-ab",
                dir, "t")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aRedisThatDoesNotAnswerEndsTheWarmUpSoftlyInOneLineWithoutThePassword() throws Exception {
        int closed = io.floodgate.testing.Ports.free();
        Config real = Config.fromEnv(Map.of("FLOODGATE_REDIS_URL", "redis://:sekretpw@127.0.0.1:" + closed + "/9"));
        List<String> lines;
        List<String> everything;
        WarmUp.Report report;
        try (io.floodgate.testing.LogCapture log = io.floodgate.testing.LogCapture.capture()) {
            WarmUp warmUp = new WarmUp(Duration.ofSeconds(30), real); // it fails long before
            report = warmUp.run();
            assertThat(warmUp.awaitCleanedUp(Duration.ZERO)).as("cleaned up before run() returned").isTrue();
            lines = log.events().stream().filter(e -> e.getLoggerName().equals(WarmUp.class.getName()))
                    .map(e -> e.getFormattedMessage()).toList();
            everything = log.events().stream().map(e -> e.getFormattedMessage()
                    + (e.getThrowableProxy() == null ? "" : " " + e.getThrowableProxy().getMessage())).toList();
        }

        assertThat(report.requests()).isZero();
        assertThat(report.problem()).as("what it met").contains("did not start").contains("redis");
        assertThat(report.cleanup()).contains("Redis keys of namespace " + report.scratchName() + " not deleted");
        assertThat(lines).as("one line from the warm-up").hasSize(1);
        assertThat(lines.getFirst()).contains(report.scratchName()).doesNotContain("\n").hasSizeLessThan(2_000);
        assertThat(everything).as("no log line of the warm-up or its scratch instance quotes the password")
                .noneMatch(line -> line.contains("sekretpw"));
    }

    @Test
    void aKafkaThatDoesNotAnswerEndsTheWarmUpAtItsBudgetAndTheLateStartCleansUp() throws Exception {
        int closed = io.floodgate.testing.Ports.free();
        Config real = Config.fromEnv(Map.of("FLOODGATE_KAFKA_BOOTSTRAP", "127.0.0.1:" + closed));
        List<Path> scratchBefore = scratchFolders(Path.of(System.getProperty("java.io.tmpdir")));
        WarmUp warmUp = new WarmUp(Duration.ofSeconds(1), real);

        WarmUp.Report report = warmUp.run();

        // the start waits for brokers for 10 s at least: the budget (1 s) ends first, and run() returns
        assertThat(report.problem()).contains("did not start within the budget");
        assertThat(report.requests()).isZero();
        assertThat(warmUp.awaitCleanedUp(Duration.ofMinutes(2))).as("the late start closes and cleans up").isTrue();
        assertThat(scratchFolders(Path.of(System.getProperty("java.io.tmpdir")))).isSubsetOf(scratchBefore);
    }

    private static List<Path> scratchFolders(Path tmp) throws Exception {
        try (Stream<Path> files = Files.list(tmp)) {
            return files.filter(p -> p.getFileName().toString().startsWith("floodgate-warmup-")).toList();
        }
    }
}
