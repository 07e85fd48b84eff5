package io.floodgate.observe;

import com.sun.management.HotSpotDiagnosticMXBean;
import jdk.jfr.Configuration;
import jdk.jfr.Recording;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.ParseException;
import java.time.Duration;

/** Thread dumps (virtual threads included) and Flight Recorder profiles, on demand. */
public final class Diagnostics {

    private Diagnostics() {
    }

    /** A plain-text dump of every thread, virtual threads included (JDK's thread dump format). */
    public static String threadDump() throws IOException {
        HotSpotDiagnosticMXBean bean = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
        Path dir = Files.createTempDirectory("floodgate-threads");
        Path file = dir.resolve("threads.txt");
        try {
            bean.dumpThreads(file.toString(), HotSpotDiagnosticMXBean.ThreadDumpFormat.TEXT_PLAIN);
            return Files.readString(file);
        } finally {
            Files.deleteIfExists(file);
            Files.deleteIfExists(dir);
        }
    }

    /**
     * The events of the JDK's settings that carry what a profile must not: the environment (where
     * the admin token, the JWT and payment secrets and the database password live), system
     * properties and the JVM's arguments (where an operator may have put them too), and other
     * processes' command lines. A profile is a file people share; it holds none of these.
     */
    static final java.util.List<String> SECRET_BEARING_EVENTS = java.util.List.of(
            "jdk.InitialEnvironmentVariable", "jdk.InitialSystemProperty", "jdk.JVMInformation",
            "jdk.SystemProcess", "jdk.ProcessStart");

    /**
     * Records a JDK Flight Recorder profile (the JDK's "profile" settings: CPU samples, allocation,
     * locks, I/O; without {@link #SECRET_BEARING_EVENTS}) for {@code duration} and returns the
     * {@code .jfr} file's bytes. Blocks the calling (virtual) thread for the duration.
     */
    public static byte[] profile(Duration duration) throws IOException, InterruptedException {
        Configuration settings;
        try {
            settings = Configuration.getConfiguration("profile");
        } catch (ParseException e) {
            throw new IOException("the JDK's JFR 'profile' settings cannot be read", e);
        }
        Path file = Files.createTempFile("floodgate-profile", ".jfr");
        try (Recording recording = new Recording(settings)) {
            recording.setName("floodgate-on-demand");
            SECRET_BEARING_EVENTS.forEach(recording::disable);
            recording.setToDisk(true);
            recording.start();
            Thread.sleep(duration);
            recording.stop();
            recording.dump(file);
            return Files.readAllBytes(file);
        } finally {
            Files.deleteIfExists(file);
        }
    }
}
