package io.floodgate.app;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/** Reading the JIT's queues for the warm-up's last step (issue 16). */
class JitQueueTest {

    /** {@code jcmd PID Compiler.queue} on JDK 25 with nothing to do. */
    private static final String IDLE = "Current compiles: \n\nC1 compile queue:\nEmpty\n\nC2 compile queue:\nEmpty\n\n";

    @Test
    void emptyQueuesAndNoCompilationRunningAreIdle() {
        assertThat(JitQueue.isIdle(IDLE)).isTrue();
    }

    @Test
    void aCompilationRunningIsNotIdle() {
        assertThat(JitQueue.isIdle("""
                Current compiles:\s
                C2 CompilerThread0  1468   !   4       com.sun.tools.javac.jvm.ClassReader::classSigToType (530 bytes)

                C1 compile queue:
                Empty

                C2 compile queue:
                Empty
                """)).isFalse();
    }

    @Test
    void methodsWaitingInEitherQueueAreNotIdle() {
        String c2 = """
                Current compiles:\s

                C1 compile queue:
                Empty

                C2 compile queue:
                1456       4       java.lang.StringBuilder::<init> (7 bytes)
                1460       4       com.sun.tools.javac.code.Type$MethodType::getTag (4 bytes)
                """;
        String c1 = """
                Current compiles:\s

                C1 compile queue:
                1531       3       java.util.stream.AbstractPipeline::isParallel (8 bytes)

                C2 compile queue:
                Empty
                """;
        assertThat(JitQueue.isIdle(c2)).isFalse();
        assertThat(JitQueue.isIdle(c1)).isFalse();
    }

    @Test
    void aTextOfAnotherFormatDoesNotHoldReadinessBack() {
        assertThat(JitQueue.isIdle("")).isTrue();
        assertThat(JitQueue.isIdle("Compiler.queue: no such command\n")).isTrue();
    }

    @Test
    void thisJvmsQueuesAreReadAndTheWaitEndsWhenToldTo() throws InterruptedException {
        JitQueue queue = JitQueue.platform();

        assertThat(queue.readsTheQueues()).as("HotSpot's Compiler.queue through the platform MBean server").isTrue();
        long begin = System.nanoTime();
        assertThat(queue.awaitIdle(Duration.ofMinutes(10), () -> true)).isFalse();
        assertThat(Duration.ofNanos(System.nanoTime() - begin)).as("a stop ends the wait at once, not at its limit")
                .isLessThan(Duration.ofMinutes(1));
    }

    /** One look at the queues: {@code route} compiling with the given id, a tier-2 compile of it queued. */
    private static String routeCompiling(int id) {
        return "Current compiles: \n"
                + "C2 CompilerThread0  " + id + "   !   4       io.helidon.webserver.http1.Http1Connection::route (598 bytes)\n\n"
                + "C1 compile queue:\n"
                + (id + 1) + "   !   2       io.helidon.webserver.http1.Http1Connection::route (598 bytes)\n\n"
                + "C2 compile queue:\nEmpty\n\n";
    }

    @Test
    void aMethodCompiledAgainAndAgainStopsCountingAsWorkAndAnythingElseStillCounts() {
        JitQueue.Churn churn = new JitQueue.Churn();
        // the same compilations seen in many looks are two compilations, not churn
        for (int look = 0; look < 50; look++) {
            assertThat(churn.idle(routeCompiling(100))).as("look %d", look).isFalse();
        }
        assertThat(churn.churning()).isEmpty();
        // tier 4, tier 2, tier 4, ...: the recompile cycle seen with the AOT cache's profiles (issue 16)
        assertThat(churn.idle(routeCompiling(200))).isFalse();
        assertThat(churn.idle(routeCompiling(300))).as("the sixth distinct compilation").isTrue();
        assertThat(churn.churning()).containsExactly("io.helidon.webserver.http1.Http1Connection::route (598 bytes)");
        assertThat(churn.idle(IDLE)).isTrue();

        String withNewWork = routeCompiling(400).replace("C2 compile queue:\nEmpty",
                "C2 compile queue:\n1460       4       io.floodgate.http.OrderRoutes::place (612 bytes)");
        assertThat(churn.idle(withNewWork)).as("another method queued is work in hand").isFalse();
        assertThat(churn.idle("Current compiles: \nC2 CompilerThread0 something unreadable\n"))
                .as("an entry it cannot read counts as work").isFalse();
    }

    @Test
    void churnIsTrackedForABoundedNumberOfMethods() {
        JitQueue.Churn churn = new JitQueue.Churn();
        for (int m = 0; m < JitQueue.Churn.TRACKED_METHODS; m++) {
            churn.idle("C2 compile queue:\n" + m + "       4       a.B::m" + m + " (5 bytes)\n");
        }
        String untracked = "C2 compile queue:\n%d       4       a.B::beyond (5 bytes)\n";
        for (int id = 0; id < 2 * JitQueue.CHURN_COMPILES; id++) {
            assertThat(churn.idle(untracked.formatted(1_000_000 + id))).as("a method past the cap counts as work").isFalse();
        }
    }

    @Test
    void overloadsAndOnStackReplacementsCountApartAndAnIdleLookForgetsTheLastWork() {
        JitQueue.Churn churn = new JitQueue.Churn();
        // five compilations of StringBuilder::append, of three different sizes, and three OSRs of a loop
        String[] looks = {
                "C2 compile queue:\n11       4       java.lang.StringBuilder::append (8 bytes)\n",
                "C2 compile queue:\n12       4       java.lang.StringBuilder::append (8 bytes)\n",
                "C2 compile queue:\n13       4       java.lang.StringBuilder::append (15 bytes)\n",
                "C2 compile queue:\n14       4       java.lang.StringBuilder::append (15 bytes)\n",
                "C2 compile queue:\n15       4       java.lang.StringBuilder::append (22 bytes)\n",
                "C1 compile queue:\n16 %     3       io.floodgate.app.WarmUp::drive @ 42 (310 bytes)\n",
                "C2 compile queue:\n17 %     4       io.floodgate.app.WarmUp::drive @ 42 (310 bytes)\n",
                "C2 compile queue:\n18       4       io.floodgate.app.WarmUp::drive (310 bytes)\n",
        };
        for (String look : looks) {
            assertThat(churn.idle(look)).as(look).isFalse();
        }
        assertThat(churn.churning()).isEmpty();
        assertThat(churn.lastWork()).isEqualTo("io.floodgate.app.WarmUp::drive (310 bytes)");
        assertThat(churn.idle(IDLE)).isTrue();
        assertThat(churn.lastWork()).as("an idle look has no work to name").isEmpty();
    }

    @Test
    void aCompileIdPrintedWithItsCompilersNameIsReadAsTheId() {
        JitQueue.Churn churn = new JitQueue.Churn();
        for (int id = 1460; id < 1460 + JitQueue.CHURN_COMPILES - 1; id++) {
            // -XX:+CIPrintCompilerName glues the compiler's name to ids of four digits
            assertThat(churn.idle("C2 compile queue:\nC2:" + id + "   4       java.lang.String::hashCode (60 bytes)\n")).isFalse();
        }
        assertThat(churn.idle("C2 compile queue:\nC2:9999   4       java.lang.String::hashCode (60 bytes)\n"))
                .as("the sixth distinct id, not the tier (4) read six times").isTrue();
    }
}
