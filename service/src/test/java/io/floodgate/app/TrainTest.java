package io.floodgate.app;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code floodgate train}, the training run of the ahead-of-time cache ({@code bin/floodgate aot}):
 * serve's warm-up alone, in-process as {@link Main} runs it. That the warm-up leaves nothing
 * behind in the embedded, Redis and Kafka modes is {@link WarmUpTest}'s and
 * {@link DistributedWarmUpTest}'s to show; here, what the command adds: it serves nothing, touches
 * no real data, and says by its exit status whether the run trained.
 */
class TrainTest {

    @TempDir
    Path dataDir;

    @Test
    void trainsOnAScratchInstanceAndLeavesTheRealDataDirectoryUntouched() throws IOException {
        // the budget is a cap: the traffic ends when the JIT is quiet, and after 5 s at the least
        CliTest.Run r = CliTest.run(Map.of("FLOODGATE_DATA_DIR", dataDir.toString(), "FLOODGATE_WARMUP_SECONDS", "15"),
                "train");

        assertThat(r.status()).as(r.out() + r.err()).isZero();
        assertThat(r.out()).startsWith("floodgate: trained: ").contains("cleaned up: its folder")
                .doesNotContain("listening");
        long trained = Long.parseLong(r.out().replaceAll("(?s)^floodgate: trained: (\\d+) requests.*", "$1"));
        assertThat(trained).isPositive();
        // no real instance was started: it would have made its store here
        try (Stream<Path> files = Files.list(dataDir)) {
            assertThat(files).as("the real data directory").isEmpty();
        }
    }

    @Test
    void aWarmUpThatCannotStartItsScratchInstanceFailsTheRun() throws IOException {
        int closed;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closed = s.getLocalPort();
        }
        CliTest.Run r = CliTest.run(Map.of("FLOODGATE_DATA_DIR", dataDir.toString(), "FLOODGATE_WARMUP_SECONDS", "7",
                "FLOODGATE_REDIS_URL", "redis://127.0.0.1:" + closed + "/0"), "train");

        assertThat(r.status()).as(r.out() + r.err()).isEqualTo(1);
        assertThat(r.err()).startsWith("floodgate: the training run met a problem: ");
        assertThat(r.out()).doesNotContain("trained");
    }

    @Test
    void aBadConfigurationRunsNothing() throws IOException {
        CliTest.Run r = CliTest.run(Map.of("FLOODGATE_DATA_DIR", dataDir.toString(), "FLOODGATE_WARMUP_SECONDS", "forever"), "train");

        assertThat(r.status()).isEqualTo(2);
        assertThat(r.err()).contains("floodgate: FLOODGATE_WARMUP_SECONDS");
        try (Stream<Path> files = Files.list(dataDir)) {
            assertThat(files).isEmpty();
        }
    }
}
