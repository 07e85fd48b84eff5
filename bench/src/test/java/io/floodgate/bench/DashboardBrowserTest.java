package io.floodgate.bench;

import io.floodgate.testing.TestFloodgate;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The dashboard in a real browser: headless Chromium loads GET / from a real server while orders
 * come in (a short bench run in this JVM), at two moments, and the numbers on the page must have
 * moved between them. Leaves a screenshot at target/dashboard.png. Skipped where
 * /usr/bin/chromium is not installed (.ci/run installs it).
 *
 * <p>A test of the service's dashboard, kept in the bench module because the load generator
 * drives it: the service's tests cannot see the load generator, and this module's tests see both.
 */
class DashboardBrowserTest {

    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");

    @Test
    void theDashboardShowsOrdersAsTheyComeIn(@TempDir Path profile) throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(CHROMIUM), "no " + CHROMIUM + "; apt-get install -y chromium");
        try (TestFloodgate floodgate = TestFloodgate.start(java.util.Map.of("FLOODGATE_PAYMENT_SECRET",
                io.floodgate.testing.PaymentProvider.SECRET))) {
            String base = floodgate.api.base();
            bench(base, "DASH", 300, 150);
            // three orders awaiting payment, one of them paid
            assertThat(floodgate.api.putItem("PAYD", "{\"name\":\"Paid\",\"stock\":10,\"perUserLimit\":10,"
                    + "\"paymentWindowSeconds\":600}").status()).isEqualTo(201);
            String paidOrder = null;
            for (int i = 0; i < 3; i++) {
                paidOrder = floodgate.api.order("pay-k" + i, "pay-u" + i, "PAYD", 1).json().get("orderId").asText();
            }
            assertThat(new io.floodgate.testing.PaymentProvider(floodgate.api).succeeded("pay-1", paidOrder, 0, "EUR")
                    .status()).isEqualTo(200);
            String first = browse(profile.resolve("a"), base, "--dump-dom");
            long sold1 = number(first, "sold-DASH");
            long orders1 = number(first, "orders-total");
            assertThat(sold1).as("units sold shown after the first run").isEqualTo(150);
            assertThat(orders1).isGreaterThanOrEqualTo(150);
            assertThat(first).contains("id=\"health\" class=\"pill up\"").contains("SOLD_OUT");
            assertThat(number(first, "payments-due")).as("due").isEqualTo(2);
            assertThat(number(first, "payments-paid")).as("paid").isEqualTo(1);
            assertThat(number(first, "payments-expired")).isZero();
            assertThat(number(first, "payments-refund-due")).isZero();

            bench(base, "DASH2", 400, 250);
            String second = browse(profile.resolve("b"), base, "--dump-dom");
            assertThat(number(second, "orders-total")).as("orders taken moved").isGreaterThan(orders1);
            assertThat(number(second, "sold-DASH2")).isEqualTo(250);
            assertThat(number(second, "sold-DASH")).isEqualTo(sold1);
            assertThat(number(second, "rejections-SOLD_OUT")).isGreaterThan(number(first, "rejections-SOLD_OUT"));
            assertThat(second).contains("<svg").contains("admission.limit");

            // the picture is taken while a sale is running, so that the charts have something to show
            Path screenshot = Path.of("target", "dashboard.png").toAbsolutePath();
            Files.createDirectories(screenshot.getParent()); // the root's target/, which no build makes
            Files.deleteIfExists(screenshot);
            Thread sale = Thread.ofVirtual().start(() -> Bench.run(new String[]{"--target", base, "--admin-token",
                            TestFloodgate.ADMIN_TOKEN, "--sku", "LIVE", "--stock", "100000", "--users", "5000", "--rate", "200",
                            "--concurrency", "8", "--duration", "8s", "--no-verify", "--no-progress"},
                    new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
                    new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8), Map.of()));
            Thread.sleep(2_000);
            browse(profile.resolve("c"), base, "--screenshot=" + screenshot);
            sale.join();
            assertThat(screenshot).exists();
            assertThat(Files.size(screenshot)).isGreaterThan(10_000);
        }
    }

    /** A short sale on a fresh item, in this JVM; it must verify. */
    private static void bench(String base, String sku, int requests, int stock) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int status = Bench.run(new String[]{"--target", base, "--admin-token", TestFloodgate.ADMIN_TOKEN, "--sku", sku,
                        "--stock", Integer.toString(stock), "--users", "2000", "--requests", Integer.toString(requests),
                        "--no-stop-on-sold-out", "--concurrency", "8", "--no-progress"},
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
                Map.of());
        assertThat(status).as(out.toString(StandardCharsets.UTF_8)).isZero();
    }

    /** Runs headless Chromium on the dashboard, letting its script run for a few (virtual) seconds. */
    private static String browse(Path profile, String base, String what) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(CHROMIUM.toString(), "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-dev-shm-usage", "--user-data-dir=" + profile, "--window-size=1300,1500",
                "--virtual-time-budget=4000", what, base + "/"));
        Process p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        byte[] dom = p.getInputStream().readAllBytes();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException("chromium did not finish within 120 s: " + command);
        }
        assertThat(p.exitValue()).as("chromium exit status for %s", command).isZero();
        return new String(dom, StandardCharsets.UTF_8);
    }

    /** The number shown in the element with this id (thousands separators allowed). */
    private static long number(String dom, String id) {
        Matcher m = Pattern.compile("id=\"" + Pattern.quote(id) + "\"[^>]*>([0-9,]+)<").matcher(dom);
        assertThat(m.find()).as("element #%s with a number in the page:%n%s", id, dom).isTrue();
        return Long.parseLong(m.group(1).replace(",", ""));
    }
}
