package io.floodgate.testing;

import io.floodgate.redis.RedisTestSupport;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The distributed configuration for a test server: the Redis ledger (a fresh namespace in the
 * machine's Redis, db 9) and a fresh PostgreSQL database as the order store. Skipped where either
 * does not answer, unless FLOODGATE_REQUIRE_SERVICES=1.
 */
public final class DistributedMode implements AutoCloseable {

    private static final String PG_ADMIN = "jdbc:postgresql://127.0.0.1:5432/test";

    private final String database;
    private final String namespace;

    private DistributedMode(String database, String namespace) {
        this.database = database;
        this.namespace = namespace;
    }

    public static DistributedMode create() {
        Services.requireOrSkip(PG_ADMIN, "postgres", "PostgreSQL");
        RedisTestSupport.requireOrSkip(RedisTestSupport.URL);
        String suffix = Long.toHexString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE);
        String database = "fg_dist_" + suffix;
        execute("CREATE DATABASE " + database);
        return new DistributedMode(database, RedisTestSupport.freshNamespace());
    }

    /** Environment overrides for {@link TestFloodgate#start(Map)}. */
    public Map<String, String> environment() {
        return Map.of(
                "FLOODGATE_REDIS_URL", RedisTestSupport.URL,
                "FLOODGATE_REDIS_NAMESPACE", namespace,
                "FLOODGATE_DB_URL", "jdbc:postgresql://127.0.0.1:5432/" + database,
                "FLOODGATE_DB_USER", "postgres");
    }

    private static void execute(String sql) {
        try (Connection c = DriverManager.getConnection(PG_ADMIN, "postgres", ""); Statement s = c.createStatement()) {
            s.execute(sql);
        } catch (SQLException e) {
            throw new IllegalStateException("cannot run '" + sql + "': " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        RedisTestSupport.deleteNamespace(RedisTestSupport.URL, namespace);
        execute("DROP DATABASE IF EXISTS " + database + " WITH (FORCE)");
    }
}
