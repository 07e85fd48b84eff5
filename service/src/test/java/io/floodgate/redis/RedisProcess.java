package io.floodgate.redis;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * A redis-server of the test's own, on a free port, with no persistence (as on this machine):
 * stopping it loses everything, which is what the restart tests need. Stopped by process id.
 */
public final class RedisProcess implements AutoCloseable {

    private final int port;
    private final Path dir;
    private final List<String> extraArgs;
    private Process process;

    private RedisProcess(int port, Path dir, List<String> extraArgs) {
        this.port = port;
        this.dir = dir;
        this.extraArgs = extraArgs;
    }

    public static RedisProcess start(String... extraArgs) {
        try {
            RedisProcess p = new RedisProcess(RedisTestSupport.freePort(), Files.createTempDirectory("fg-redis"),
                    List.of(extraArgs));
            p.startAgain();
            return p;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public int port() {
        return port;
    }

    public String url() {
        return "redis://127.0.0.1:" + port;
    }

    Path dir() {
        return dir;
    }

    /** Starts the server (again, empty) on the same port; returns once it answers PING. */
    public void startAgain() {
        startAgain(extraArgs);
    }

    /**
     * Starts the server again, empty, as a primary: without the {@code --replicaof} it may have
     * been started with (a replica that was promoted, then restarted).
     */
    void startAgainAsPrimary() {
        List<String> args = new ArrayList<>(extraArgs);
        int at = args.indexOf("--replicaof");
        if (at >= 0) {
            args.subList(at, Math.min(args.size(), at + 3)).clear();
        }
        startAgain(args);
    }

    private void startAgain(List<String> args) {
        List<String> command = new ArrayList<>(List.of("/usr/bin/redis-server", "--port", Integer.toString(port),
                "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir.toString(),
                "--daemonize", "no", "--loglevel", "warning"));
        command.addAll(args);
        try {
            process = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(dir.resolve("redis-" + port + ".log").toFile()).start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + command, e);
        }
        awaitPing();
    }

    private void awaitPing() {
        RedisClient client = RedisClient.create(RedisURI.create("127.0.0.1", port));
        try {
            for (int i = 0; i < 200; i++) {
                try (StatefulRedisConnection<String, String> c = client.connect()) {
                    if ("PONG".equals(c.sync().ping())) {
                        return;
                    }
                } catch (RuntimeException notYet) {
                    LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(25));
                }
            }
            throw new IllegalStateException("redis-server on port " + port + " did not answer PING; see " + dir);
        } finally {
            client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
        }
    }

    /** Kills the server (SIGKILL): with no persistence, everything it held is gone. */
    public void kill() {
        if (process != null && process.isAlive()) {
            process.destroyForcibly();
            try {
                process.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Sends the server a signal ({@code STOP}: frozen, as in a long pause; {@code CONT}: thawed). */
    public void signal(String name) {
        run(List.of("/bin/kill", "-" + name, Long.toString(process.pid())));
    }

    /** Runs redis-cli against this server with {@code args}; returns its output. */
    String cli(String... args) {
        List<String> command = new ArrayList<>(List.of("/usr/bin/redis-cli", "-p", Integer.toString(port)));
        command.addAll(List.of(args));
        return run(command);
    }

    static String run(List<String> command) {
        return io.floodgate.testing.Commands.run(command, Duration.ofSeconds(60));
    }

    @Override
    public void close() {
        kill();
        io.floodgate.testing.TestFloodgate.deleteRecursively(dir);
    }
}
