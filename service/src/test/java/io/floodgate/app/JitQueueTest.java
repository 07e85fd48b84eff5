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
}
