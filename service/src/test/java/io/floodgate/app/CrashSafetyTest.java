package io.floodgate.app;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.RepetitionInfo;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Crash safety, process-level: the service in its own JVM takes a burst of concurrent orders and
 * is SIGKILLed in the middle of it; restarted on the same data directory, it must still have
 * every order it acknowledged (201/200), exactly as acknowledged, one order per key, stock =
 * available + live units, no user over the limit; the acknowledged requests must replay; and the
 * requests whose outcome the kill made unknown must, retried with the same key, make at most one
 * order.
 *
 * <p>Randomized: the seed is printed, and {@code -Dcrash.seed=N} replays a run (the interleaving
 * of a concurrent burst is not reproducible, the scenario and the moment of the kill are).
 */
@org.junit.jupiter.api.Tag("drill")
class CrashSafetyTest {

    private static final long SEED = seed();
    private static final int CONCURRENCY = 48;

    @TempDir(cleanup = CleanupMode.ON_SUCCESS)
    Path tmp;

    private final List<ServiceProcess> processes = new ArrayList<>();

    private static long seed() {
        String configured = System.getProperty("crash.seed");
        long seed = configured == null || configured.isBlank() ? System.nanoTime() : Long.parseLong(configured.trim());
        System.out.println("CrashSafetyTest seed=" + seed + " (replay with -Dcrash.seed=" + seed + ")");
        return seed;
    }

    @AfterEach
    void killProcesses() {
        processes.forEach(ServiceProcess::close);
    }

    private ServiceProcess track(ServiceProcess process) {
        processes.add(process);
        return process;
    }

    @RepeatedTest(value = 3, name = "round {currentRepetition} of {totalRepetitions}")
    void acknowledgedOrdersSurviveSigkillInTheMiddleOfABurst(RepetitionInfo repetition) {
        int round = repetition.getCurrentRepetition();
        String context = "seed=" + SEED + " round=" + round;
        Random rnd = new Random(SEED ^ (round * 0x9E3779B97F4A7C15L));
        Path dataDir = tmp.resolve("round-" + round);

        OrderBurst burst = OrderBurst.random(rnd, context, "r" + round, 400, 1600);
        long estimatedAcks = Math.max(10, Math.min(burst.requests.size() / 2, burst.totalStock() * 2 / 3));
        int ackTarget = 5 + rnd.nextInt((int) (estimatedAcks * 4 / 5));
        int responseTarget = burst.requests.size() / 2 + rnd.nextInt(burst.requests.size() * 9 / 20);
        System.out.println(context + ": kill after " + ackTarget + " acks or " + responseTarget + " responses");

        ServiceProcess first = track(ServiceProcess.start(dataDir, "crash-r" + round + "-first"));
        burst.createItems(first.api());
        burst.run(first, OrderBurst.Stop.KILL, ackTarget, responseTarget, CONCURRENCY);
        int exitCode = first.kill9();
        String summary = burst.summary();
        System.out.println(summary + "; exit code " + exitCode);
        assertThat(exitCode).as("%s: the service should have died of our SIGKILL (137); output %s:%n%s",
                context, first.logFile(), ServiceProcess.tail(first.output(), 5000)).isEqualTo(137);
        assertThat(burst.acks).as("%s: nothing was acknowledged before the kill; %s", context, summary).isNotEmpty();

        ServiceProcess restarted = track(ServiceProcess.start(dataDir, "crash-r" + round + "-restart"));
        OrderBurst.AuditReport report = burst.audit(restarted.api());
        System.out.println(context + ": " + report);
        assertThat(report.violations())
                .as("%s: %s%nservice logs: %s, %s%nviolations:%s", context, summary, first.logFile(),
                        restarted.logFile(), OrderBurst.describe(report.violations(), 40))
                .isEmpty();

        assertThat(restarted.terminate()).as("%s: exit code of a SIGTERM after the audit; output %s", context,
                restarted.logFile()).isZero();
    }
}
