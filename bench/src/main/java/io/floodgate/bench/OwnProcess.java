package io.floodgate.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.OperatingSystemMXBean;
import java.util.Locale;

/**
 * What the generator's own process may use and has used: file descriptors before a run with
 * thousands of connections, CPU time for the summary (on shared cores, a generator that burns
 * a core is a generator the server does not get).
 */
final class OwnProcess {

    /** Descriptors the JVM holds besides the connections (jars, logs, epoll, pipes), with room to spare. */
    static final long SPARE_DESCRIPTORS = 128;

    private OwnProcess() {
    }

    /**
     * Why {@code connections} connections to each of {@code targets} targets cannot be opened
     * by this process, or null if they can (or the JVM cannot say).
     */
    static String fileDescriptorProblem(int connections, int targets) {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.UnixOperatingSystemMXBean unix) {
            return fileDescriptorProblem(connections, targets, unix.getOpenFileDescriptorCount(), unix.getMaxFileDescriptorCount());
        }
        return null;
    }

    /** The check itself: null if {@code connections * targets} more descriptors fit under {@code max}. */
    static String fileDescriptorProblem(int connections, int targets, long open, long max) {
        long needed = (long) connections * targets + open + SPARE_DESCRIPTORS;
        if (max <= 0 || needed <= max) {
            return null;
        }
        long fit = Math.max(0, (max - open - SPARE_DESCRIPTORS) / Math.max(1, targets));
        return String.format(Locale.ROOT, "--connections %,d to %d target%s needs about %,d file descriptors, but this"
                        + " process may open %,d (%,d open already). Raise the limit before starting the bench"
                        + " (ulimit -n %d; the JVM lifts the soft limit to the hard one, ulimit -Hn, by itself)"
                        + " or use at most --connections %,d",
                connections, targets, targets == 1 ? "" : "s", needed, max, open, needed, fit);
    }

    /** CPU time this process has used, in nanoseconds; -1 where the JVM cannot say. */
    static long cpuNanos() {
        OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
        if (os instanceof com.sun.management.OperatingSystemMXBean sun) {
            return sun.getProcessCpuTime();
        }
        return -1;
    }
}
