package io.floodgate.testing;

import io.floodgate.app.Config;
import io.floodgate.app.Floodgate;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Map;
import java.util.stream.Stream;

/**
 * A real Floodgate, in this JVM, on a free port, with its own data directory: the server the
 * contract tests talk to over HTTP.
 */
public final class TestFloodgate implements AutoCloseable {

    public static final String ADMIN_TOKEN = "test-admin-token";

    private final Path dataDir;
    private final boolean ownsDataDir;
    private final Floodgate floodgate;
    private final Map<String, String> env;
    public final Api api;

    private TestFloodgate(Path dataDir, boolean ownsDataDir, Map<String, String> env, Clock clock) {
        this.dataDir = dataDir;
        this.ownsDataDir = ownsDataDir;
        this.env = env;
        this.floodgate = Floodgate.start(Config.fromEnv(env), clock);
        this.api = new Api("http://127.0.0.1:" + floodgate.port(), ADMIN_TOKEN);
    }

    /** Starts with defaults but generous rate limits (tests that check limits set their own). */
    public static TestFloodgate start() {
        return start(Map.of());
    }

    public static TestFloodgate start(Map<String, String> overrides) {
        return start(overrides, Clock.systemUTC());
    }

    public static TestFloodgate start(Map<String, String> overrides, Clock clock) {
        try {
            Path dir = Files.createTempDirectory("floodgate-test");
            return new TestFloodgate(dir, true, environment(dir, overrides), clock);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Starts on an existing data directory, which the caller owns. */
    public static TestFloodgate startOn(Path dataDir, Map<String, String> overrides) {
        return new TestFloodgate(dataDir, false, environment(dataDir, overrides), Clock.systemUTC());
    }

    private static Map<String, String> environment(Path dir, Map<String, String> overrides) {
        Map<String, String> env = new HashMap<>();
        env.put("FLOODGATE_PORT", "0");
        env.put("FLOODGATE_HOST", "127.0.0.1");
        env.put("FLOODGATE_DATA_DIR", dir.toString());
        env.put("FLOODGATE_ADMIN_TOKEN", ADMIN_TOKEN);
        env.put("FLOODGATE_USER_RATE", "1000000");
        env.put("FLOODGATE_USER_BURST", "1000000");
        env.put("FLOODGATE_REQUEST_TIMEOUT_MS", "10000");
        env.put("FLOODGATE_MAX_IN_FLIGHT", "100000");
        env.put("FLOODGATE_WRITER_QUEUE", "100000");
        env.putAll(overrides);
        return env;
    }

    public Path dataDir() {
        return dataDir;
    }

    public int port() {
        return floodgate.port();
    }

    public Map<String, String> env() {
        return env;
    }

    /** The routes the server answers, from its routing ({@code Floodgate.routes()}). */
    public java.util.List<String> routes() {
        return floodgate.routes();
    }

    /** Stops the server, keeping the data directory. */
    public void stop() {
        floodgate.close();
    }

    @Override
    public void close() {
        floodgate.close();
        if (ownsDataDir) {
            deleteRecursively(dataDir);
        }
    }

    public static void deleteRecursively(Path dir) {
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // best effort: it is a temp directory
        }
    }
}
