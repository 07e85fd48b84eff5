package io.floodgate.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A Kafka broker of the test's own, for drills that kill it: {@code scripts/kafka.sh} with its own
 * state directory ({@code KAFKA_DIR}) and its own free ports, never the shared broker of
 * {@link TestKafka}. The jars are resolved once into {@code libs/} of that directory and kept
 * across runs; the data is wiped at every {@link #start}. Killed and stopped by its own process
 * id (from the script's pid file), nothing else.
 */
public final class PrivateKafka implements AutoCloseable {

    private static final Path SCRIPT = Path.of("scripts", "kafka.sh");

    private final Path dir;
    private final int port;
    private final int controllerPort;

    private PrivateKafka(Path dir, int port, int controllerPort) {
        this.dir = dir;
        this.port = port;
        this.controllerPort = controllerPort;
    }

    /** Formats fresh storage under {@code dir} and starts the broker on free ports. */
    public static PrivateKafka start(Path dir) {
        try {
            Files.createDirectories(dir);
            TestFloodgate.deleteRecursively(dir.resolve("data"));
            Files.deleteIfExists(dir.resolve("cluster.id"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        int port = Ports.free();
        int controllerPort;
        do {
            controllerPort = Ports.free();
        } while (controllerPort == port);
        PrivateKafka kafka = new PrivateKafka(dir.toAbsolutePath(), port, controllerPort);
        kafka.startAgain();
        return kafka;
    }

    public String bootstrap() {
        return "127.0.0.1:" + port;
    }

    /** Starts the broker (again) on the same ports and data; returns once it answers metadata. */
    public void startAgain() {
        String out = script("start");
        if (!out.strip().endsWith(bootstrap())) {
            throw new IllegalStateException("scripts/kafka.sh start in " + dir + " printed '" + out.strip()
                    + "', not " + bootstrap());
        }
    }

    /** SIGKILL to the broker, then waits until it is gone. */
    public void kill9() {
        ProcessHandle broker = pid().flatMap(ProcessHandle::of)
                .orElseThrow(() -> new IllegalStateException("no private broker runs in " + dir));
        broker.destroyForcibly();
        try {
            broker.onExit().get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException("the private broker (pid " + broker.pid() + ") did not die", e);
        }
    }

    private java.util.Optional<Long> pid() {
        try {
            String text = Files.readString(dir.resolve("kafka.pid")).strip();
            return text.isEmpty() ? java.util.Optional.empty() : java.util.Optional.of(Long.parseLong(text));
        } catch (IOException | NumberFormatException e) {
            return java.util.Optional.empty();
        }
    }

    /** The broker's log, for failure messages. */
    public Path log() {
        return dir.resolve("server.log");
    }

    @Override
    public void close() {
        try {
            script("stop");
        } catch (RuntimeException e) {
            pid().flatMap(ProcessHandle::of).ifPresent(ProcessHandle::destroyForcibly);
        }
    }

    private String script(String action) {
        List<String> command = new ArrayList<>(List.of("bash", SCRIPT.toString(), action));
        ProcessBuilder builder = new ProcessBuilder(command);
        Map<String, String> env = builder.environment();
        env.put("KAFKA_DIR", dir.toString());
        env.put("KAFKA_PORT", Integer.toString(port));
        env.put("KAFKA_CONTROLLER_PORT", Integer.toString(controllerPort));
        env.put("KAFKA_HEAP", "-Xmx384m");
        Path err = dir.resolve("script-" + action + ".err");
        builder.redirectError(err.toFile());
        try {
            Process p = builder.start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(240, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException("scripts/kafka.sh " + action + " did not finish in 240 s");
            }
            if (p.exitValue() != 0) {
                throw new IllegalStateException("scripts/kafka.sh " + action + " exited " + p.exitValue() + ":\n"
                        + Files.readString(err));
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

}
