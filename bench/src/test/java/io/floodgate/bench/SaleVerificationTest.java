package io.floodgate.bench;

import io.floodgate.testing.Seeds;
import io.floodgate.testing.TestFloodgate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The bench against a real Floodgate: a short sale passes every check and exits 0, and the same
 * verification fails (exit status 1) when the results it is given are made inconsistent with what
 * the service did.
 */
class SaleVerificationTest {

    private static TestFloodgate floodgate;

    @BeforeAll
    static void start() {
        floodgate = TestFloodgate.start();
    }

    @AfterAll
    static void stop() {
        floodgate.close();
    }

    private static Plan plan(String runId, long seed, int requests, boolean verify) {
        return new Plan(runId, List.of(URI.create(floodgate.api.base())), Plan.Scenario.SALE, "S-" + runId, true,
                200, 1, 1_000, 1, 16, 0, Duration.ofSeconds(60), requests, false, 0.1, Duration.ofSeconds(10),
                Plan.Client.RAW, Duration.ZERO, TestFloodgate.ADMIN_TOKEN, null, seed, verify, false);
    }

    private static PrintStream sink(ByteArrayOutputStream b) {
        return new PrintStream(b, true, StandardCharsets.UTF_8);
    }

    @Test
    void aShortSaleSellsExactlyTheStockAndPassesEveryCheck(@org.junit.jupiter.api.io.TempDir Path reports) {
        long seed = Seeds.seed("bench.sale.seed");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = Bench.run(new String[]{"--target", floodgate.api.base(), "--admin-token", TestFloodgate.ADMIN_TOKEN,
                "--stock", "200", "--users", "1000", "--requests", "2000", "--no-stop-on-sold-out", "--concurrency", "16",
                "--retry-share", "0.1", "--seed", Long.toString(seed), "--report-dir", reports.toString()},
                sink(out), sink(err), Map.of());
        String summary = out.toString(StandardCharsets.UTF_8);
        System.out.println(summary);
        System.out.println(err.toString(StandardCharsets.UTF_8));

        assertThat(status).as("exit status; stderr: %s", err).isEqualTo(Bench.OK);
        assertThat(summary).contains("2,000 requests").contains("all invariants hold").doesNotContain("FAIL");
        assertThat(summary).contains("PASS never oversold: 200 of 200 units sold");
        assertThat(summary).contains("409 SOLD_OUT");
        assertThat(reports.resolve("report.json")).exists();
        assertThat(reports.resolve("report.html")).exists();
    }

    @Test
    void theReportsDescribeTheRun(@org.junit.jupiter.api.io.TempDir Path reports) throws Exception {
        long seed = Seeds.seed("bench.report.seed");
        Plan plan = plan("rep" + Long.toUnsignedString(seed % 1000), seed, 300, true);
        plan = new Plan(plan.runId(), plan.targets(), plan.scenario(), plan.sku(), true, 50, 1, 200, 1, 8, 0,
                plan.duration(), 300, false, 0.1, plan.timeout(), Plan.Client.JDK, Duration.ZERO, plan.adminToken(),
                reports, seed, true, false);
        Bench.Result result = Bench.execute(plan, sink(new ByteArrayOutputStream()), sink(new ByteArrayOutputStream()));
        assertThat(result.summary().exitCode()).isZero();
        String json = Files.readString(reports.resolve("report.json"));
        var tree = io.floodgate.testing.Api.JSON.readTree(json);
        assertThat(tree.path("requests").asLong()).isEqualTo(300);
        // 50 units at one per order: exactly 50 new orders acknowledged, whatever else happened
        assertThat(tree.path("latencyByKind").path("ACKNOWLEDGED").path("latency").path("count").asLong()).isEqualTo(50);
        assertThat(tree.path("goodput").asDouble()).isCloseTo(50 / tree.path("seconds").asDouble(),
                org.assertj.core.api.Assertions.within(1e-6));
        assertThat(tree.path("admitted").path("count").asLong())
                .isEqualTo(300 - tree.path("byKind").path("SHED").asLong());
        assertThat(tree.path("clientBacklog").isNull()).as("a closed loop has no client backlog").isTrue();
        assertThat(json).doesNotContain(TestFloodgate.ADMIN_TOKEN);
        String html = Files.readString(reports.resolve("report.html"));
        assertThat(html).contains("<svg").contains("Throughput").contains("Latency distribution").contains("PASS")
                .contains("Goodput").contains("admitted (all but shed)").contains("acknowledged")
                .doesNotContain("<script").doesNotContain("http://cdn").doesNotContain("https://");
    }

    @Test
    void theVerificationFailsWhenTheResultsDisagreeWithTheStore() throws Exception {
        long seed = Seeds.seed("bench.tamper.seed");
        Plan plan = plan("tamper" + Long.toUnsignedString(seed % 1000), seed, 600, true);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Bench.Result result = Bench.execute(plan, sink(out), sink(new ByteArrayOutputStream()));
        assertThat(result.summary().exitCode()).as(out.toString(StandardCharsets.UTF_8)).isZero();
        KeyBook honest = result.keys();
        assertThat(honest.acks()).hasSize(200);

        try (ControlClient control = new ControlClient(plan.targets().getFirst(), plan.adminToken(), Duration.ofSeconds(10))) {
            Verifier verifier = new Verifier(control, new Names(plan.runId()), plan.sku(), plan.quantity());

            // the bench claims an order the service never made
            KeyBook forged = copy(honest, null);
            long seq = honest.issued() - 1;
            forged.acknowledged(seq, "no-such-order", 3, 1, false);
            Verification v1 = verifier.verify(forged, 0, result.stopReason(), false);
            assertFailed(v1, "acknowledged orders are stored", "no-such-order");
            assertThat(Bench.exitCode(v1)).isEqualTo(Bench.INVARIANT_FAILED);

            // the bench forgets an order it was given: the store holds an order for a rejected key
            KeyBook.Ack dropped = honest.acks().values().iterator().next();
            Verification v2 = verifier.verify(copy(honest, dropped.seq()), 0, result.stopReason(), false);
            assertFailed(v2, "no order without an acknowledgement", dropped.orderId());
            assertFailed(v2, "units sold = units acknowledged", "200 units in the store");
            assertThat(Bench.exitCode(v2)).isEqualTo(Bench.INVARIANT_FAILED);

            // a replay named another order than the key's first one
            KeyBook conflicting = copy(honest, null);
            conflicting.acknowledged(dropped.seq(), "some-other-order", dropped.user(), 1, true);
            Verification v3 = verifier.verify(conflicting, 0, result.stopReason(), false);
            assertFailed(v3, "replays return the original order", "some-other-order");

            // the unaltered results still pass: the failures above are the tampering, not the checks
            Verification honestAgain = verifier.verify(honest, 0, result.stopReason(), false);
            assertThat(honestAgain.passed()).as(honestAgain.checks().toString()).isTrue();
            assertThat(Bench.exitCode(honestAgain)).isZero();
        }
    }

    private static void assertFailed(Verification v, String check, String detail) {
        assertThat(v.passed()).isFalse();
        assertThat(v.checks()).filteredOn(c -> c.name().equals(check))
                .singleElement()
                .satisfies(c -> {
                    assertThat(c.verdict()).isEqualTo(Verification.Verdict.FAIL);
                    assertThat(c.detail()).contains(detail);
                });
    }

    /** A copy of what the run was told, without the acknowledgement of {@code dropSeq} (if not null). */
    private static KeyBook copy(KeyBook book, Long dropSeq) {
        KeyBook copy = new KeyBook(book.users());
        copy.issued(book.issued());
        for (int u = 0; u < book.users(); u++) {
            if (book.wasTouched(u)) {
                copy.touched(u);
            }
        }
        book.acks().values().stream().filter(a -> dropSeq == null || a.seq() != dropSeq)
                .forEach(a -> copy.acknowledged(a.seq(), a.orderId(), a.user(), a.quantity(), false));
        book.unknownKeys().forEach(copy::unknown);
        return copy;
    }
}
