package io.floodgate.testing;

import io.floodgate.redis.RedisTestSupport;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The distributed configuration for a test server, on fresh resources of the machine's services:
 * the Redis ledger (a fresh namespace in db 9) and a fresh database as the order store, either
 * PostgreSQL with the direct log ({@link #create()}) or MariaDB with the Kafka order log on a
 * fresh topic and consumer group ({@link #createWithKafka()}). Skipped where a service does not
 * answer, unless FLOODGATE_REQUIRE_SERVICES=1.
 *
 * <p>Several servers started with the same {@link #environment()} share one sale, as separate
 * instances would.
 */
public final class DistributedMode implements AutoCloseable {

    private static final String PG_ADMIN = "jdbc:postgresql://127.0.0.1:5432/test";
    private static final String MARIADB_ADMIN = "jdbc:mariadb://127.0.0.1:3306/";

    private final String database;
    private final String namespace;
    private final String kafkaBootstrap;
    private final boolean mariadb;

    private DistributedMode(String database, String namespace, String kafkaBootstrap, boolean mariadb) {
        this.database = database;
        this.namespace = namespace;
        this.kafkaBootstrap = kafkaBootstrap;
        this.mariadb = mariadb;
    }

    /** Redis ledger, direct log, PostgreSQL store. */
    public static DistributedMode create() {
        Services.requireOrSkip(PG_ADMIN, "postgres", "PostgreSQL");
        RedisTestSupport.requireOrSkip(RedisTestSupport.URL);
        String database = "fg_dist_" + suffix();
        execute(PG_ADMIN, "postgres", "CREATE DATABASE " + database);
        return new DistributedMode(database, RedisTestSupport.freshNamespace(), null, false);
    }

    /** Redis ledger, Kafka order log, MariaDB store: the whole distributed stack. */
    public static DistributedMode createWithKafka() {
        Services.requireOrSkip(MARIADB_ADMIN + "test", "root", "MariaDB");
        RedisTestSupport.requireOrSkip(RedisTestSupport.URL);
        String bootstrap = TestKafka.bootstrapOrSkip();
        String database = "fg_dist_" + suffix();
        execute(MARIADB_ADMIN, "root", "CREATE DATABASE " + database);
        return new DistributedMode(database, RedisTestSupport.freshNamespace(), bootstrap, true);
    }

    private static String suffix() {
        return Long.toHexString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE);
    }

    /** Environment overrides for {@link TestFloodgate#start(Map)}. */
    public Map<String, String> environment() {
        Map<String, String> env = new HashMap<>();
        env.put("FLOODGATE_REDIS_URL", RedisTestSupport.URL);
        env.put("FLOODGATE_REDIS_NAMESPACE", namespace);
        if (mariadb) {
            env.put("FLOODGATE_DB_URL", "jdbc:mariadb://127.0.0.1:3306/" + database);
            env.put("FLOODGATE_DB_USER", "root");
        } else {
            env.put("FLOODGATE_DB_URL", "jdbc:postgresql://127.0.0.1:5432/" + database);
            env.put("FLOODGATE_DB_USER", "postgres");
        }
        if (kafkaBootstrap != null) {
            env.put("FLOODGATE_KAFKA_BOOTSTRAP", kafkaBootstrap);
            env.put("FLOODGATE_KAFKA_TOPIC", "fg-test-" + database);
            env.put("FLOODGATE_KAFKA_GROUP", "fg-test-" + database);
            env.put("FLOODGATE_KAFKA_PARTITIONS", "4");
            env.put("FLOODGATE_EVENTS_TOPIC", eventsTopic());
            env.put("FLOODGATE_EVENTS_PARTITIONS", "3");
        }
        return Map.copyOf(env);
    }

    /** The Kafka topic of order events, with Kafka. */
    public String eventsTopic() {
        return "fg-test-events-" + database;
    }

    /** The Kafka bootstrap, or null without Kafka. */
    public String kafkaBootstrap() {
        return kafkaBootstrap;
    }

    private static void execute(String url, String user, String sql) {
        try (Connection c = DriverManager.getConnection(url, user, ""); Statement s = c.createStatement()) {
            s.execute(sql);
        } catch (SQLException e) {
            throw new IllegalStateException("cannot run '" + sql + "': " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        RedisTestSupport.deleteNamespace(RedisTestSupport.URL, namespace);
        if (mariadb) {
            execute(MARIADB_ADMIN, "root", "DROP DATABASE IF EXISTS " + database);
        } else {
            execute(PG_ADMIN, "postgres", "DROP DATABASE IF EXISTS " + database + " WITH (FORCE)");
        }
        if (kafkaBootstrap != null) {
            TestKafka.deleteTopics(kafkaBootstrap, "fg-test-" + database, "fg-test-" + database + ".dlq", eventsTopic());
        }
    }
}
