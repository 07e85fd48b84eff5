package io.floodgate.app;

import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import javax.management.JMException;
import javax.management.MBeanServer;
import javax.management.ObjectName;

/**
 * Whether the JIT compilers have work in hand, for the warm-up's last step: its traffic queues
 * hundreds of methods for compilation, and on two cores the compiler threads fall behind while
 * that traffic runs. Measured on the distributed mode (issue 16), the sale that opened right
 * after a 10 s warm-up still saw the hottest request methods ({@code Http1Connection.route}, the
 * order route, the body reader) compiled by C2 in its own first seconds, and its p99 came from
 * there. So the warm-up stops its traffic and waits, boundedly, until the queues are empty.
 *
 * <p>The queues are read from HotSpot's {@code Compiler.queue} diagnostic command (what
 * {@code jcmd PID Compiler.queue} prints), through the platform MBean server: no JDK API says
 * how many methods wait. On a JVM without that command, the JIT counts as idle once its total
 * compilation time has not grown for {@link #QUIET}.
 */
final class JitQueue {

    /** How often the queue is read while waiting. */
    private static final Duration POLL = Duration.ofMillis(50);
    /** Without the diagnostic command: no compilation finished for this long means idle. */
    static final Duration QUIET = Duration.ofMillis(500);

    private final BooleanSupplier idle;
    private final boolean readsTheQueues;

    private JitQueue(BooleanSupplier idle, boolean readsTheQueues) {
        this.idle = idle;
        this.readsTheQueues = readsTheQueues;
    }

    /** Whether it reads HotSpot's queues (else it goes by the compilation time, or says idle). */
    boolean readsTheQueues() {
        return readsTheQueues;
    }

    /** Compilers whose idleness {@code idle} tells (a test's stand-in). */
    static JitQueue of(BooleanSupplier idle) {
        return new JitQueue(idle, false);
    }

    /** The running JVM's compilers. */
    static JitQueue platform() {
        MBeanServer server = ManagementFactory.getPlatformMBeanServer();
        try {
            ObjectName command = new ObjectName("com.sun.management:type=DiagnosticCommand");
            if (server.isRegistered(command)) {
                Object[] noArguments = {null};
                String[] signature = {String[].class.getName()};
                server.invoke(command, "compilerQueue", noArguments, signature); // refused here, not later
                return new JitQueue(() -> {
                    try {
                        return isIdle((String) server.invoke(command, "compilerQueue", noArguments, signature));
                    } catch (JMException | RuntimeException e) {
                        return true; // cannot tell: do not hold readiness back for it
                    }
                }, true);
            }
        } catch (JMException | RuntimeException e) {
            // no such command on this JVM: fall back to the compilation time
        }
        CompilationMXBean compilation = ManagementFactory.getCompilationMXBean();
        if (compilation == null || !compilation.isCompilationTimeMonitoringSupported()) {
            return new JitQueue(() -> true, false);
        }
        long[] last = {compilation.getTotalCompilationTime(), System.nanoTime()};
        return new JitQueue(() -> {
            long total = compilation.getTotalCompilationTime();
            long now = System.nanoTime();
            if (total != last[0]) {
                last[0] = total;
                last[1] = now;
                return false;
            }
            return now - last[1] >= QUIET.toNanos();
        }, false);
    }

    /**
     * Whether {@code Compiler.queue}'s output shows no compilation running and none queued. It
     * reads, in JDK 25: {@code Current compiles:} with a line per compilation running, then for
     * each compiler {@code C1 compile queue:} (or C2) and either {@code Empty} or a line per
     * queued method. A text it does not know counts as idle, so a changed format cannot hold
     * readiness back.
     */
    static boolean isIdle(String queue) {
        String section = "";
        for (String line : queue.split("\n")) {
            String text = line.strip();
            if (text.isEmpty()) {
                continue;
            }
            if (text.startsWith("Current compiles:") || text.endsWith("compile queue:")) {
                section = text;
            } else if (!section.isEmpty() && !text.equals("Empty")) {
                return false;
            }
        }
        return true;
    }

    /** Whether the compilers are idle now: nothing compiling, nothing queued. */
    boolean idleNow() {
        return idle.getAsBoolean();
    }

    /**
     * Waits until the compilers are idle, {@code limit} at most, or until {@code stop} says so.
     *
     * @return whether they were idle when it returned
     */
    boolean awaitIdle(Duration limit, BooleanSupplier stop) throws InterruptedException {
        long until = System.nanoTime() + limit.toNanos();
        while (!stop.getAsBoolean()) {
            if (idle.getAsBoolean()) {
                return true;
            }
            long left = until - System.nanoTime();
            if (left <= 0) {
                return false;
            }
            TimeUnit.NANOSECONDS.sleep(Math.min(left, POLL.toNanos()));
        }
        return false;
    }
}
