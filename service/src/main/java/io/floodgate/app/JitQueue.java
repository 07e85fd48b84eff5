package io.floodgate.app;

import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
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
 *
 * <p><b>A method compiled over and over is not work in hand.</b> With the ahead-of-time cache's
 * method profiles (JEP 515), JDK 25.0.3 sometimes recompiles one hot method without end: after
 * one uncommon trap, {@code Http1Connection.route} was compiled at tier 2, then tier 4, then tier
 * 2 again, each new version replacing the last ("made not entrant: not used"), twice a second
 * for 5 to more than 50 s (issue 16, docs/BENCHMARKS.md). Its queue was never empty for long,
 * so the warm-up ran on for as long, and readiness came at 20-61 s instead of 8-17 s. So a
 * method seen in {@value #CHURN_COMPILES} or more distinct compilations ({@link Churn}) no
 * longer counts against idleness: a method's first life takes two or three (tier 3, or tier 2
 * while C2 is busy, then tier 4), a deoptimisation or two a few more, and anything new still
 * counts.
 */
final class JitQueue {

    /** How often the queue is read while waiting. */
    private static final Duration POLL = Duration.ofMillis(50);
    /** Without the diagnostic command: no compilation finished for this long means idle. */
    static final Duration QUIET = Duration.ofMillis(500);
    /** Distinct compilations of one method after which it counts as churn, not work in hand. */
    static final int CHURN_COMPILES = 6;

    private final BooleanSupplier idle;
    private final boolean readsTheQueues;
    private final Churn churn;

    private JitQueue(BooleanSupplier idle, boolean readsTheQueues, Churn churn) {
        this.idle = idle;
        this.readsTheQueues = readsTheQueues;
        this.churn = churn;
    }

    /** Whether it reads HotSpot's queues (else it goes by the compilation time, or says idle). */
    boolean readsTheQueues() {
        return readsTheQueues;
    }

    /** Compilers whose idleness {@code idle} tells (a test's stand-in). */
    static JitQueue of(BooleanSupplier idle) {
        return new JitQueue(idle, false, null);
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
                Churn churn = new Churn();
                return new JitQueue(() -> {
                    try {
                        return churn.idle((String) server.invoke(command, "compilerQueue", noArguments, signature));
                    } catch (JMException | RuntimeException e) {
                        return true; // cannot tell: do not hold readiness back for it
                    }
                }, true, churn);
            }
        } catch (JMException | RuntimeException e) {
            // no such command on this JVM: fall back to the compilation time
        }
        CompilationMXBean compilation = ManagementFactory.getCompilationMXBean();
        if (compilation == null || !compilation.isCompilationTimeMonitoringSupported()) {
            return new JitQueue(() -> true, false, null);
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
        }, false, null);
    }

    /**
     * Whether {@code Compiler.queue}'s output shows no compilation running and none queued. It
     * reads, in JDK 25: {@code Current compiles:} with a line per compilation running, then for
     * each compiler {@code C1 compile queue:} (or C2) and either {@code Empty} or a line per
     * queued method. A text it does not know counts as idle, so a changed format cannot hold
     * readiness back.
     */
    static boolean isIdle(String queue) {
        return entries(queue).isEmpty();
    }

    /** The lines of {@code Compiler.queue}'s output that name a compilation running or queued. */
    private static List<String> entries(String queue) {
        List<String> entries = new ArrayList<>();
        String section = "";
        for (String line : queue.split("\n")) {
            String text = line.strip();
            if (text.isEmpty()) {
                continue;
            }
            if (text.startsWith("Current compiles:") || text.endsWith("compile queue:")) {
                section = text;
            } else if (!section.isEmpty() && !text.equals("Empty")) {
                entries.add(text);
            }
        }
        return entries;
    }

    /** The method of the last look's compilation that counted as work, for a debug line ("" if none, or not known). */
    String lastWork() {
        return churn == null ? "" : churn.lastWork();
    }

    /** The methods compiled so often that their compilations no longer count (at most a few named). */
    List<String> churning() {
        return churn == null ? List.of() : churn.churning();
    }

    /** Whether the compilers are idle now: nothing compiling, nothing queued, but for churn ({@link Churn}). */
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

    /**
     * Reads {@code Compiler.queue}'s output as {@link #isIdle} does, and remembers the distinct
     * compilations (by compile id) it has seen of each method: a method seen in
     * {@value #CHURN_COMPILES} or more is churning, and its entries are passed over. A method is
     * its name and its size in bytecodes ({@code Compiler.queue} prints no signature, and the size
     * tells most overloads apart), and its on-stack replacements ({@code %}) count apart from its
     * ordinary compilations. An entry it cannot read (no compile id, no {@code ::} method name)
     * counts as work. Bounded: it tracks {@value #TRACKED_METHODS} methods at most (a warm-up
     * compiles a few thousand), and past that counts every untracked method's entries as work; the
     * warm-up drops it when it is done. Synchronized: cheap at a look every 50 ms, and safe
     * whichever thread looks.
     */
    static final class Churn {
        static final int TRACKED_METHODS = 20_000;
        private static final int NAMED = 3;
        /** A compile id, with the compiler's name glued in front under {@code -XX:+CIPrintCompilerName}. */
        private static final Pattern ID = Pattern.compile("(?:C\\d:)?(\\d{1,18})");

        private final Map<String, Set<Long>> compilesByMethod = new HashMap<>();
        private final Set<String> churning = new LinkedHashSet<>();
        private String lastWork = "";

        /** Whether nothing but churn is compiling or queued in {@code queue}. */
        synchronized boolean idle(String queue) {
            List<String> methods = new ArrayList<>();
            for (String entry : entries(queue)) {
                String method = method(entry);
                if (method == null) {
                    lastWork = entry.length() <= 200 ? entry : entry.substring(0, 200);
                    return false;
                }
                methods.add(method);
            }
            // judged after the whole look is counted: its own compilations count towards the churn
            for (String method : methods) {
                Set<Long> ids = compilesByMethod.get(method);
                if (ids == null || ids.size() < CHURN_COMPILES) {
                    lastWork = method;
                    return false;
                }
                churning.add(method);
            }
            lastWork = "";
            return true;
        }

        /** The entry's method (name, size, OSR or not), its compilation counted; null if unreadable. */
        private String method(String entry) {
            long id = -1;
            String name = null;
            String size = "";
            boolean osr = false;
            for (String token : entry.split("\\s+")) {
                Matcher digits = ID.matcher(token);
                if (id < 0 && name == null && digits.matches()) {
                    id = Long.parseLong(digits.group(1));
                } else if (name == null && token.equals("%")) {
                    osr = true;
                } else if (name == null && token.contains("::")) {
                    name = token;
                } else if (name != null && size.isEmpty() && token.startsWith("(")) {
                    size = " " + token + " bytes)";
                }
            }
            if (id < 0 || name == null) {
                return null;
            }
            String method = name + size + (osr ? " OSR" : "");
            Set<Long> ids = compilesByMethod.get(method);
            if (ids == null && compilesByMethod.size() < TRACKED_METHODS) {
                ids = new HashSet<>();
                compilesByMethod.put(method, ids);
            }
            if (ids != null && ids.size() < CHURN_COMPILES) {
                ids.add(id);
            }
            return method;
        }

        /** The method of the last look's compilation that counted as work ("" after an idle look). */
        synchronized String lastWork() {
            return lastWork;
        }

        synchronized List<String> churning() {
            return churning.stream().limit(NAMED).toList();
        }
    }
}
