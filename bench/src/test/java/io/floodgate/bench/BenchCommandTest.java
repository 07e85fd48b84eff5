package io.floodgate.bench;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class BenchCommandTest {

    private static Plan plan(Map<String, String> env, String... args) {
        BenchCommand command = new BenchCommand();
        new CommandLine(command).parseArgs(args);
        return command.plan(env);
    }

    /** Runs the command as main would; returns exit status and standard error. */
    private static Run run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = Bench.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8), Map.of());
        return new Run(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private record Run(int status, String out, String err) {
    }

    @Test
    void defaultsDescribeTheStandardFlashSale() {
        Plan p = plan(Map.of("FLOODGATE_ADMIN_TOKEN", "t"));
        assertThat(p.targets()).containsExactly(URI.create("http://127.0.0.1:8080"));
        assertThat(p.scenario()).isEqualTo(Plan.Scenario.SALE);
        assertThat(p.stock()).isEqualTo(10_000);
        assertThat(p.users()).isEqualTo(50_000);
        assertThat(p.concurrency()).isEqualTo(256);
        assertThat(p.openLoop()).isFalse();
        assertThat(p.stopOnSoldOut()).isTrue();
        assertThat(p.createItem()).isTrue();
        assertThat(p.sku()).isEqualTo("bench-" + p.runId());
        assertThat(p.adminToken()).isEqualTo("t");
        assertThat(p.client()).isEqualTo(Plan.Client.RAW);
    }

    @Test
    void optionsAreReadAsGiven() {
        Plan p = plan(Map.of(), "--target", "http://a:1,http://b:2", "--sku", "S1", "--existing", "--rate", "2500",
                "--duration", "1.5s", "--requests", "2000", "--no-stop-on-sold-out", "--retry-share", "0.2",
                "--client", "JDK", "--seed", "42", "--no-verify", "-c", "8");
        assertThat(p.targets()).containsExactly(URI.create("http://a:1"), URI.create("http://b:2"));
        assertThat(p.createItem()).isFalse();
        assertThat(p.openLoop()).isTrue();
        assertThat(p.duration()).isEqualTo(Duration.ofMillis(1500));
        assertThat(p.maxRequests()).isEqualTo(2000);
        assertThat(p.stopOnSoldOut()).isFalse();
        assertThat(p.retryShare()).isEqualTo(0.2);
        assertThat(p.client()).isEqualTo(Plan.Client.JDK);
        assertThat(p.seed()).isEqualTo(42);
        assertThat(p.verify()).isFalse();
        assertThat(p.concurrency()).isEqualTo(8);
    }

    @Test
    void badValuesAreUsageErrorsThatNameTheOptionAndTheValue() {
        record Case(List<String> args, String message) {
        }
        List<Case> cases = List.of(
                new Case(List.of("--concurrency", "0"), "--concurrency must be from 1 to 100,000, was 0"),
                new Case(List.of("--users", "0"), "--users must be from 1 to 100,000,000, was 0"),
                new Case(List.of("--stock", "-1"), "--stock must be from 0 to 1,000,000,000, was -1"),
                new Case(List.of("--rate", "-5"), "--rate must be from 0 (closed loop) to 10,000,000 per second, was -5.0"),
                new Case(List.of("--retry-share", "1.5"), "--retry-share must be from 0 to below 1, was 1.5"),
                new Case(List.of("--quantity", "1001"), "--quantity must be from 1 to 1000, was 1001"),
                new Case(List.of("--duration", "10x"), "'10x' is not a duration"),
                new Case(List.of("--duration", "0s"), "--duration must be positive, was 0s"),
                new Case(List.of("--client", "curl"), "--client must be raw or jdk, was 'curl'"),
                new Case(List.of("--scenario", "soak"), "--scenario must be sale or live, was 'soak'"),
                new Case(List.of("--target", "ftp://x:1"), "--target must be an http://host:port URL, was 'ftp://x:1'"),
                new Case(List.of("--target", "http://x:1/api"), "--target must have no path"),
                new Case(List.of("--sku", "no spaces"), "--sku must be 1-64 characters of [A-Za-z0-9._-], was 'no spaces'"),
                new Case(List.of("--warmup", "5s"), "--warmup in a sale sells stock before the run"),
                new Case(List.of("--existing"), "--existing needs --sku"),
                new Case(List.of("--per-user-limit", "501"), "--per-user-limit 501 is over 500"),
                new Case(List.of("--bogus"), "Unknown option: '--bogus'"));
        for (Case c : cases) {
            List<String> args = new java.util.ArrayList<>(c.args());
            args.addAll(List.of("--admin-token", "t"));
            Run r = run(args.toArray(String[]::new));
            assertThat(r.status()).as("exit status for %s", c.args()).isEqualTo(Bench.USAGE);
            assertThat(r.err()).as("message for %s", c.args()).contains(c.message());
        }
    }

    @Test
    void creatingAnItemWithoutTheAdminTokenSaysHowToGetOne() {
        assertThatThrownBy(() -> plan(Map.of()))
                .isInstanceOf(Plan.InvalidPlanException.class)
                .hasMessageContaining("--admin-token")
                .hasMessageContaining("FLOODGATE_ADMIN_TOKEN")
                .hasMessageContaining("--existing");
        assertThat(plan(Map.of(), "--sku", "S1", "--existing").adminToken()).isNull();
        assertThat(plan(Map.of(), "--scenario", "live").scenario()).isEqualTo(Plan.Scenario.LIVE);
    }

    @Test
    void helpIsNotAnError() {
        Run r = run("--help");
        assertThat(r.status()).isZero();
        assertThat(r.out()).contains("--concurrency").contains("--rate").contains("--report-dir");
    }

    @Test
    void anUnreachableTargetCannotRun() throws Exception {
        int port;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Run r = run("--target", "http://127.0.0.1:" + port, "--admin-token", "t", "--no-progress");
        assertThat(r.status()).isEqualTo(Bench.CANNOT_RUN);
        assertThat(r.err()).contains("http://127.0.0.1:" + port).contains("does not answer");
    }

    @Test
    void durationsParseAndPrintAsTyped() {
        assertThat(Durations.parse("500ms")).isEqualTo(Duration.ofMillis(500));
        assertThat(Durations.parse("30s")).isEqualTo(Duration.ofSeconds(30));
        assertThat(Durations.parse("2m")).isEqualTo(Duration.ofMinutes(2));
        assertThat(Durations.parse("1h")).isEqualTo(Duration.ofHours(1));
        assertThat(Durations.format(Duration.ofSeconds(90))).isEqualTo("90s");
        assertThat(Durations.format(Duration.ofMinutes(2))).isEqualTo("2m");
        assertThat(Durations.format(Duration.ofMillis(1500))).isEqualTo("1500ms");
    }
}
