package io.floodgate.redis;

import io.floodgate.testing.Services;
import io.lettuce.core.KeyScanCursor;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.ScanArgs;
import io.lettuce.core.ScanCursor;
import io.lettuce.core.api.StatefulRedisConnection;
import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Redis for tests: the machine's server (database 9, never db 0; each test in a namespace of its
 * own, deleted afterwards, never FLUSHDB), or a redis-server this test starts on a free port for
 * what would disturb others (restarts, pauses, a cluster). Follows {@link Services}: a machine
 * without Redis skips these tests unless FLOODGATE_REQUIRE_SERVICES=1.
 */
public final class RedisTestSupport {

    public static final String URL = System.getenv().getOrDefault("FLOODGATE_TEST_REDIS_URL", "redis://127.0.0.1:6379/9");

    private RedisTestSupport() {
    }

    public static void requireOrSkip(String url) {
        RedisClient client = RedisClient.create(RedisURI.create(url));
        try (StatefulRedisConnection<String, String> c = client.connect()) {
            c.sync().ping();
        } catch (RuntimeException e) {
            skipOrFail("Redis at " + url + " does not answer: " + e.getMessage(), e);
        } finally {
            client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
        }
    }

    public static void requireRedisServerBinary() {
        if (!Files.isExecutable(Path.of("/usr/bin/redis-server")) || !Files.isExecutable(Path.of("/usr/bin/redis-cli"))) {
            skipOrFail("redis-server and redis-cli are not installed in /usr/bin", null);
        }
    }

    private static void skipOrFail(String message, Throwable cause) {
        if (Services.required()) {
            throw new IllegalStateException(message + " (FLOODGATE_REQUIRE_SERVICES=1)", cause);
        }
        Assumptions.abort(message + "; skipped (set FLOODGATE_REQUIRE_SERVICES=1 to fail instead)");
    }

    public static String freshNamespace() {
        return "fgtest-" + Long.toString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE, 36);
    }

    /** GET, SET or DEL of one key on the server at {@code url}; the reply as text ("" for none). */
    public static String command(String url, String... args) {
        RedisClient client = RedisClient.create(RedisURI.create(url));
        try (StatefulRedisConnection<String, String> c = client.connect()) {
            Object reply = switch (args[0]) {
                case "GET" -> c.sync().get(args[1]);
                case "SET" -> c.sync().set(args[1], args[2]);
                case "DEL" -> c.sync().del(args[1]);
                default -> throw new IllegalArgumentException("GET, SET or DEL, not " + args[0]);
            };
            return reply == null ? "" : reply.toString();
        } finally {
            client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
        }
    }

    /** Deletes every key of {@code namespace} on a single server (SCAN + UNLINK; no FLUSHDB). */
    public static void deleteNamespace(String url, String namespace) {
        RedisClient client = RedisClient.create(RedisURI.create(url));
        try (StatefulRedisConnection<String, String> c = client.connect()) {
            ScanCursor cursor = ScanCursor.INITIAL;
            do {
                KeyScanCursor<String> page = c.sync().scan(cursor, ScanArgs.Builder.matches(namespace + ":*").limit(1000));
                if (!page.getKeys().isEmpty()) {
                    c.sync().unlink(page.getKeys().toArray(String[]::new));
                }
                cursor = page;
            } while (!cursor.isFinished());
        } finally {
            client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
        }
    }

    /** A free port {@code p} whose cluster bus port {@code p + 10000} is free too. */
    static int freePort() {
        for (int i = 0; i < 200; i++) {
            int port = 20_000 + ThreadLocalRandom.current().nextInt(30_000);
            if (free(port) && free(port + 10_000)) {
                return port;
            }
        }
        throw new IllegalStateException("no free port pair (p, p+10000) found in 20000-50000");
    }

    private static boolean free(int port) {
        try (ServerSocket s = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
            s.setReuseAddress(true);
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
