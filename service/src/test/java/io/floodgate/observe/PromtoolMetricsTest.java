package io.floodgate.observe;

import io.floodgate.testing.Services;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code /metrics} of a running service, after traffic, passes {@code promtool check metrics}
 * (Prometheus' own linter, from Debian's {@code prometheus} package): the exposition parses, and
 * names, types, units and help follow Prometheus' conventions. Skipped when promtool is not
 * installed, unless FLOODGATE_REQUIRE_SERVICES=1 (CI installs it).
 */
class PromtoolMetricsTest {

    @Test
    void theEmbeddedServicesMetricsPassPromtool() throws Exception {
        String promtool = promtoolOrSkip();
        check(promtool, Scrapes.embedded(), "embedded");
    }

    @Test
    void theDistributedServicesMetricsPassPromtool() throws Exception {
        String promtool = promtoolOrSkip();
        check(promtool, Scrapes.distributed(), "distributed");
    }

    private static void check(String promtool, String exposition, String label) throws Exception {
        assertThat(Scrapes.names(exposition)).as("the %s scrape has Floodgate's metrics", label)
                .contains("floodgate_http_requests_seconds_bucket", "floodgate_orders_total", "floodgate_rejections_total",
                        "process_cpu_seconds_total", "system_cpus_available")
                .doesNotContain("process_cpu_time_ns_total", "system_cpu_count");
        Path file = Files.createTempFile("floodgate-metrics-" + label, ".txt");
        Path out = Files.createTempFile("promtool-" + label, ".txt");
        try {
            Files.writeString(file, exposition, StandardCharsets.UTF_8);
            Process p = new ProcessBuilder(promtool, "check", "metrics")
                    .redirectInput(file.toFile())
                    .redirectErrorStream(true)
                    .redirectOutput(out.toFile())
                    .start();
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("promtool finished").isTrue();
            String said = Files.readString(out, StandardCharsets.UTF_8);
            assertThat(p.exitValue()).as("promtool check metrics on the %s scrape (kept in %s) said:%n%s", label, file,
                    said).isZero();
            Files.deleteIfExists(file);
        } finally {
            Files.deleteIfExists(out);
        }
    }

    static String promtoolOrSkip() throws IOException {
        for (String dir : (System.getenv().getOrDefault("PATH", "") + File.pathSeparator + "/usr/bin").split(File.pathSeparator)) {
            File candidate = new File(dir, "promtool");
            if (candidate.canExecute()) {
                return candidate.getPath();
            }
        }
        String message = "promtool is not installed (Debian: apt-get install prometheus)";
        if (Services.required()) {
            throw new IllegalStateException(message + " but FLOODGATE_REQUIRE_SERVICES=1");
        }
        Assumptions.abort(message + "; skipped (set FLOODGATE_REQUIRE_SERVICES=1 to fail instead)");
        return null;
    }
}
