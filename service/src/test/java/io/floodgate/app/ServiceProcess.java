package io.floodgate.app;

import io.floodgate.testing.Api;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Floodgate as a child process: the real {@link Main} in its own JVM (the JDK running the tests,
 * on the test class path), so that tests can SIGKILL it, SIGTERM it, and start it again on the
 * same data directory.
 *
 * <p>The child's stdout and stderr (merged) go to a file under {@code target/service-process/}
 * for debugging; {@link #output()} reads it back. Every child is also killed by a shutdown hook
 * of the test JVM, so none outlives a crashed or interrupted test run.
 */
public final class ServiceProcess implements AutoCloseable {

    public static final String ADMIN_TOKEN = "process-test-admin-token";
    public static final Duration START_TIMEOUT = Duration.ofSeconds(60);
    public static final Duration EXIT_TIMEOUT = Duration.ofSeconds(90);

    private static final Pattern RECONCILER_LEADER =
            Pattern.compile("(?m)^floodgate_reconciler_leader(?:\\{[^}]*\\})? (\\S+)$");
    private static final Pattern LISTENING = Pattern.compile("Floodgate listening on (http://[^\\s:]+):(\\d+)");
    private static final Path LOG_DIR = Path.of("target", "service-process");
    private static final AtomicInteger SEQUENCE = new AtomicInteger();
    private static final Set<Process> LIVE = ConcurrentHashMap.newKeySet();
    private static final int MAX_HEAD_CHARS = 1 << 20;

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> LIVE.forEach(Process::destroyForcibly),
                "service-process-reaper"));
    }

    private final String label;
    private final Path dataDir;
    private final Path logFile;
    private final Process process;
    private final Thread pump;
    private final CompletableFuture<String> listening = new CompletableFuture<>();
    private final StringBuilder head = new StringBuilder();
    private volatile Api api;
    private volatile int port;

    private ServiceProcess(String label, Path dataDir, Map<String, String> overrides) {
        this.label = label;
        this.dataDir = dataDir;
        try {
            Files.createDirectories(LOG_DIR);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        this.logFile = LOG_DIR.resolve(String.format("%03d-%s.log", SEQUENCE.incrementAndGet(),
                label.replaceAll("[^A-Za-z0-9._-]", "_")));

        List<String> command = new ArrayList<>();
        command.add(javaExecutable());
        command.add("-Xmx384m");
        command.add("-XX:+UseSerialGC");
        command.add("-XX:TieredStopAtLevel=1");
        command.add("-Xshare:auto");
        command.add("--enable-native-access=ALL-UNNAMED");
        command.add("-cp");
        command.add(classPath());
        command.add(Main.class.getName());

        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        Map<String, String> env = builder.environment();
        env.keySet().removeIf(name -> name.startsWith("FLOODGATE_"));
        env.putAll(environment(dataDir, overrides));
        try {
            this.process = builder.start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + command, e);
        }
        LIVE.add(process);
        this.pump = Thread.ofPlatform().daemon().name("service-process-pump-" + label).start(this::pumpOutput);
    }

    /** The environment of a test service: a free port, this data dir, no rate limits to speak of. */
    public static Map<String, String> environment(Path dataDir, Map<String, String> overrides) {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("FLOODGATE_PORT", "0");
        env.put("FLOODGATE_HOST", "127.0.0.1");
        env.put("FLOODGATE_DATA_DIR", dataDir.toAbsolutePath().toString());
        env.put("FLOODGATE_ADMIN_TOKEN", ADMIN_TOKEN);
        env.put("FLOODGATE_USER_RATE", "1000000");
        env.put("FLOODGATE_USER_BURST", "1000000");
        env.put("FLOODGATE_REQUEST_TIMEOUT_MS", "10000");
        env.put("FLOODGATE_WARMUP_SECONDS", "0"); // tests that want a warm-up ask for one
        env.putAll(overrides);
        return env;
    }

    /** Starts the service and waits until it listens. */
    public static ServiceProcess start(Path dataDir, String label) {
        return start(dataDir, label, Map.of());
    }

    public static ServiceProcess start(Path dataDir, String label, Map<String, String> overrides) {
        ServiceProcess service = launch(dataDir, label, overrides);
        try {
            service.awaitListening(START_TIMEOUT);
            return service;
        } catch (RuntimeException | Error e) {
            service.close();
            throw e;
        }
    }

    /** Starts the process without waiting for anything (for processes expected to fail). */
    public static ServiceProcess launch(Path dataDir, String label, Map<String, String> overrides) {
        return new ServiceProcess(label, dataDir, overrides);
    }

    /** Waits for the "listening" line; fails with the output so far if it does not come. */
    public ServiceProcess awaitListening(Duration timeout) {
        String base;
        try {
            base = listening.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            String out = headSoFar();
            close();
            throw new AssertionError(label + ": no 'Floodgate listening on' line within " + timeout.toSeconds()
                    + " s; output so far (" + logFile + "):\n" + out);
        } catch (ExecutionException e) {
            int code = awaitExit(Duration.ofSeconds(30));
            throw new AssertionError(label + ": exited with code " + code + " before listening; output ("
                    + logFile + "):\n" + output());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
        this.api = new Api(base, ADMIN_TOKEN);
        return this;
    }

    /** Whether this instance leads the reconciler now, by its metric {@code floodgate_reconciler_leader}. */
    public boolean leadsTheReconciler() {
        Matcher m = RECONCILER_LEADER.matcher(api().get("/metrics").body());
        return m.find() && Double.parseDouble(m.group(1)) == 1.0;
    }

    public Api api() {
        if (api == null) {
            throw new IllegalStateException(label + " is not listening");
        }
        return api;
    }

    public int port() {
        return port;
    }

    public long pid() {
        return process.pid();
    }

    public Path dataDir() {
        return dataDir;
    }

    public Path logFile() {
        return logFile;
    }

    public String label() {
        return label;
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /**
     * Sends SIGKILL and does not wait: usable from inside a burst of requests. (Through the
     * process handle: {@link Process#destroyForcibly()} would also close our end of the output
     * pipe and lose what the process wrote last.)
     */
    public void sendKill() {
        process.toHandle().destroyForcibly();
    }

    /** Sends SIGTERM and does not wait (through the handle, for the reason above). */
    public void sendTerm() {
        process.toHandle().destroy();
    }

    /**
     * SIGSTOP: the process freezes where it is (a long GC pause, a stalled VM) until
     * {@link #sendCont()}; the kernel still accepts connections for it, nothing answers them.
     */
    public void sendStop() {
        signal("STOP");
    }

    /** SIGCONT: a process frozen by {@link #sendStop()} runs on. */
    public void sendCont() {
        signal("CONT");
    }

    private void signal(String name) {
        io.floodgate.testing.Commands.run(List.of("/bin/kill", "-" + name, Long.toString(process.pid())),
                Duration.ofSeconds(10));
    }

    /** SIGKILL, then waits for the process to be gone; returns its exit code (137 on Linux). */
    public int kill9() {
        sendKill();
        return awaitExit(Duration.ofSeconds(60));
    }

    /** SIGTERM (a drain), then waits for the exit; returns the exit code. */
    public int terminate() {
        sendTerm();
        return awaitExit(EXIT_TIMEOUT);
    }

    /**
     * Waits for the process to exit and for its output to be written; returns the exit code. If it
     * does not exit in time it is killed and the wait fails with its output.
     */
    public int awaitExit(Duration timeout) {
        boolean exited;
        try {
            exited = process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
        if (!exited) {
            close();
            throw new AssertionError(label + ": did not exit within " + timeout.toSeconds()
                    + " s (killed now); output (" + logFile + "):\n" + tail(output(), 20_000));
        }
        joinPump();
        LIVE.remove(process);
        return process.exitValue();
    }

    /** Everything the process printed so far (stdout and stderr, merged). */
    public String output() {
        try {
            return Files.readString(logFile, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return headSoFar();
        }
    }

    /** Kills the process if it still runs; keeps the data directory. */
    @Override
    public void close() {
        if (process.isAlive()) {
            sendKill();
            try {
                process.waitFor(60, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        joinPump();
        if (!process.isAlive()) {
            LIVE.remove(process);
        }
    }

    @Override
    public String toString() {
        return "ServiceProcess[" + label + ", pid " + process.pid() + ", " + (api == null ? "-" : api.base()) + "]";
    }

    private void joinPump() {
        try {
            pump.join(Duration.ofSeconds(10));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void pumpOutput() {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
             BufferedWriter out = Files.newBufferedWriter(logFile, StandardCharsets.UTF_8)) {
            String line;
            while ((line = in.readLine()) != null) {
                out.write(line);
                out.newLine();
                if (!in.ready()) {
                    out.flush();
                }
                if (!listening.isDone()) {
                    synchronized (head) {
                        if (head.length() < MAX_HEAD_CHARS) {
                            head.append(line).append('\n');
                        }
                    }
                    Matcher m = LISTENING.matcher(line);
                    if (m.find()) {
                        port = Integer.parseInt(m.group(2));
                        listening.complete(m.group(1) + ":" + m.group(2));
                    }
                }
            }
            out.flush();
        } catch (IOException e) {
            // the stream was closed under us (by close()); nothing more to copy
        } finally {
            listening.completeExceptionally(new IllegalStateException(label + ": output ended before listening"));
        }
    }

    private String headSoFar() {
        synchronized (head) {
            return head.toString();
        }
    }

    static String tail(String s, int chars) {
        return s.length() <= chars ? s : "...\n" + s.substring(s.length() - chars);
    }

    private static String javaExecutable() {
        return ProcessHandle.current().info().command()
                .orElseGet(() -> Path.of(System.getProperty("java.home"), "bin", "java").toString());
    }

    /**
     * The class path of this test JVM, for the child. Surefire may start the test JVM from a
     * manifest-only jar, in which case {@code java.class.path} names just that jar; it then puts
     * the real class path in {@code surefire.test.class.path}, which is used instead.
     */
    static String classPath() {
        String javaClassPath = System.getProperty("java.class.path", "");
        String surefire = System.getProperty("surefire.test.class.path");
        if (surefire != null && !surefire.isBlank() && !containsClassesOf(javaClassPath)) {
            return surefire;
        }
        if (javaClassPath.isBlank() && surefire != null) {
            return surefire;
        }
        return javaClassPath;
    }

    private static boolean containsClassesOf(String classPath) {
        for (String entry : classPath.split(File.pathSeparator)) {
            Path p = Path.of(entry);
            if (Files.isDirectory(p) && Files.exists(p.resolve("io/floodgate/app/Main.class"))) {
                return true;
            }
            if (entry.endsWith("floodgate.jar")) {
                return true;
            }
        }
        return false;
    }
}
