package io.floodgate.app;

import io.floodgate.core.port.OrderStore;
import io.floodgate.jdbc.JdbcStores;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The {@code floodgate} command line, run in-process as {@link Main} runs it. */
class CliTest {

    @TempDir
    Path dataDir;

    /** Runs the command line; returns exit status, standard output and standard error. */
    static Run run(Map<String, String> env, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = Cli.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8), env);
        return new Run(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    record Run(int status, String out, String err) {
        String all() {
            return out + err;
        }
    }

    private Map<String, String> embedded(String... more) {
        Map<String, String> env = new HashMap<>();
        env.put("FLOODGATE_DATA_DIR", dataDir.toString());
        for (int i = 0; i < more.length; i += 2) {
            env.put(more[i], more[i + 1]);
        }
        return env;
    }

    /** A loopback port nothing listens on (bound, then let go). */
    private static int closedPort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    @Test
    void helpListsEveryCommand() {
        Run r = run(Map.of(), "--help");
        assertThat(r.status()).isZero();
        assertThat(r.out()).contains("Usage: floodgate", "serve", "bench", "check-config", "train", "completion",
                "--version");
    }

    @Test
    void versionNamesTheBuildAndTheJavaThatRunsIt() {
        Run r = run(Map.of(), "--version");
        assertThat(r.status()).isZero();
        assertThat(r.out()).containsPattern("^floodgate \\d+\\.\\d+\\.\\d+")
                .contains("Java " + Runtime.version().feature())
                .doesNotContain("${project.version}");
    }

    @Test
    void anUnknownCommandIsAUsageError() {
        Run r = run(Map.of(), "frobnicate");
        assertThat(r.status()).isEqualTo(2);
        assertThat(r.err()).contains("frobnicate");
    }

    @Test
    void benchPointsToTheLoadGeneratorsOwnJar() {
        Run r = run(Map.of(), "bench", "--help");
        assertThat(r.status()).isEqualTo(2);
        assertThat(r.out()).isEmpty();
        assertThat(r.err()).contains("bin/floodgate bench", "floodgate-bench.jar").hasLineCount(1);
    }

    @Test
    void theCompletionScriptCompletesCommandsAndTheirOptions() {
        Run r = run(Map.of(), "completion");
        assertThat(r.status()).isZero();
        assertThat(r.out()).startsWith("#!/usr/bin/env bash")
                .contains("complete -F _complete_floodgate", "check-config", "--timeout", "bench");
    }

    @Test
    void serveRefusesABadConfigurationNamingEveryVariable() {
        Run r = run(embedded("FLOODGATE_PORT", "http", "FLOODGATE_USER_BURST", "0"), "serve");
        assertThat(r.status()).isEqualTo(2);
        assertThat(r.err()).contains("floodgate: FLOODGATE_PORT must be an integer", "floodgate: FLOODGATE_USER_BURST");
    }

    @Test
    void checkConfigNamesEveryBadVariableAndReachesNothing() {
        Run r = run(embedded("FLOODGATE_PORT", "70000", "FLOODGATE_USER_RATE", "fast",
                "FLOODGATE_REDIS_URL", "http://127.0.0.1:6379"), "check-config");
        assertThat(r.status()).isEqualTo(CheckConfig.CONFIG_ERROR);
        assertThat(r.out()).contains("Problems (3)", "FLOODGATE_PORT must be from 0 to 65535, was 70000",
                "FLOODGATE_USER_RATE must be a number", "FLOODGATE_REDIS_URL: Redis URL must start with redis://")
                .doesNotContain("Dependencies");
    }

    @Test
    void checkConfigFailsWhenRedisDoesNotAnswer() throws IOException {
        int port = closedPort();
        Run r = run(embedded("FLOODGATE_REDIS_URL", "redis://127.0.0.1:" + port + "/0"), "check-config", "--timeout", "2");
        assertThat(r.status()).as(r.all()).isEqualTo(CheckConfig.DEPENDENCY_DOWN);
        assertThat(r.out()).containsPattern("ok +store")
                .containsPattern("FAILED +redis +redis://127.0.0.1:" + port)
                .contains("1 of 2 dependencies did not answer");
    }

    @Test
    void checkConfigNamesTheLockServiceAndFailsWhenItDoesNotAnswer() throws IOException {
        int port = closedPort();
        Run r = run(embedded("FLOODGATE_LOCK_URL", "etcd://127.0.0.1:" + port + "/fg"), "check-config", "--timeout", "2");
        assertThat(r.status()).as(r.all()).isEqualTo(CheckConfig.DEPENDENCY_DOWN);
        assertThat(r.out()).contains("lock:       etcd etcd://127.0.0.1:" + port + "/fg")
                .containsPattern("FAILED +lock +etcd://127.0.0.1:" + port)
                .contains("1 of 2 dependencies did not answer");
    }

    @Test
    void checkConfigPassesOnTheEmbeddedDefault() {
        Run r = run(embedded(), "check-config");
        assertThat(r.status()).as(r.all()).isEqualTo(CheckConfig.OK);
        assertThat(r.out()).contains("ledger:     in-process", "order log:  direct", "lock:       in-process")
                .containsPattern("ok +store +embedded, in " + dataDir.toAbsolutePath().normalize())
                .contains("the configuration is valid and every dependency answers");
    }

    @Test
    void checkConfigReportsAnEmbeddedStoreHeldByAnotherProcess() {
        try (OrderStore held = JdbcStores.embedded(dataDir, Clock.systemUTC())) {
            Run r = run(embedded(), "check-config");
            assertThat(r.status()).as(r.all()).isEqualTo(CheckConfig.DEPENDENCY_DOWN);
            assertThat(r.out()).containsPattern("FAILED +store").contains("is in use by another Floodgate process");
        }
    }

    @Test
    void checkConfigNeverPrintsASecret() throws IOException {
        List<String> secrets = List.of("admin-token-4f1c", "db-password-77a", "jwt-secret-0b9e-padded-to-32-bytes-or-more",
                "payment-secret-e5d2", "redis-password-19c", "url-password-3d8");
        int port = closedPort();
        Map<String, String> env = embedded(
                "FLOODGATE_ADMIN_TOKEN", "admin-token-4f1c",
                "FLOODGATE_DB_PASSWORD", "db-password-77a",
                "FLOODGATE_USER_JWT_SECRET", "jwt-secret-0b9e-padded-to-32-bytes-or-more",
                "FLOODGATE_PAYMENT_SECRET", "payment-secret-e5d2",
                "FLOODGATE_REDIS_URL", "redis://floodgate:redis-password-19c@127.0.0.1:" + port + "/0");
        // reaching the dependencies (the database refuses, Redis does not answer)
        env.put("FLOODGATE_DB_URL", "jdbc:mariadb://127.0.0.1:" + port + "/floodgate?user=fg&password=url-password-3d8");
        Run reached = run(env, "check-config", "--timeout", "1");
        assertThat(reached.status()).as(reached.all()).isEqualTo(CheckConfig.DEPENDENCY_DOWN);
        assertThat(reached.out()).contains("FLOODGATE_ADMIN_TOKEN=***", "FLOODGATE_DB_PASSWORD=***",
                "FLOODGATE_USER_JWT_SECRET=***", "FLOODGATE_PAYMENT_SECRET=***", "redis://floodgate:***@127.0.0.1",
                "password=***");
        // and refusing the configuration, whose messages quote the values
        env.put("FLOODGATE_DB_URL", "mariadb://fg:url-password-3d8@127.0.0.1/floodgate");
        Run refused = run(env, "check-config");
        assertThat(refused.status()).as(refused.all()).isEqualTo(CheckConfig.CONFIG_ERROR);
        assertThat(refused.out()).contains("FLOODGATE_DB_URL");
        for (String secret : secrets) {
            assertThat(reached.all()).doesNotContain(secret);
            assertThat(refused.all()).doesNotContain(secret);
        }
    }
}
