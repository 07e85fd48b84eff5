package io.floodgate.nemesis;

import io.floodgate.app.ServiceProcess;
import io.floodgate.redis.RedisSentinels;
import io.floodgate.testing.Api;
import io.floodgate.testing.Ports;
import io.floodgate.testing.PrivateKafka;
import io.floodgate.testing.PrivateMariaDb;
import io.floodgate.testing.TcpProxy;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The distributed deployment a nemesis run attacks, all of it the run's own and on free loopback
 * ports: three Floodgate instances (child JVMs, each on a fixed port across restarts, as behind a
 * load balancer), Redis as a primary, a replica and three sentinels ({@link RedisSentinels}), a
 * Kafka broker ({@link PrivateKafka}), and a MariaDB server ({@link PrivateMariaDb}) that the
 * instances reach through a {@link TcpProxy}.
 *
 * <p>The MariaDB server is private because the write-lock fault ({@code FLUSH TABLES WITH READ
 * LOCK}) stops every write on a whole server: on the machine's shared server it would stall
 * everybody else's tests, and their writes would make the lock wait.
 *
 * <p>Besides starting and breaking things, it reads the truth afterwards: the store's tables
 * (JDBC, directly, never through the proxy), the ledger's keys (Redis, through the sentinels)
 * and the order topic's backlog (Kafka's admin API).
 */
final class Cluster implements AutoCloseable {

    static final String DATABASE = "floodgate";
    private static final Pattern LEADS = Pattern.compile("^(\\S+) .*this instance now leads the reconciler");
    private static final Pattern STEPS_DOWN = Pattern.compile(
            "^(\\S+) .*(reconciler lost the lock|a newer reconciler holds the lock)");

    /** One Floodgate instance: its port and data directory stay, the process changes at each restart. */
    static final class Node {
        final int index;
        final int port;
        final Path dataDir;
        final Api api;
        volatile ServiceProcess process;
        volatile boolean paused;
        int starts;

        Node(int index, int port, Path dataDir, Duration clientTimeout) {
            this.index = index;
            this.port = port;
            this.dataDir = dataDir;
            this.api = new Api("http://127.0.0.1:" + port, ServiceProcess.ADMIN_TOKEN, clientTimeout);
        }
    }

    /** The ledger's own figures for an item. */
    record Ledger(long available, long pendingKeys, long pendingUnits) {
        static final Ledger MISSING = new Ledger(Long.MIN_VALUE, -1, -1);
    }

    /** A row of {@code orders} or of {@code failed_orders} ({@code status} FAILED, {@code reason} set). */
    record StoredOrder(String orderId, String sku, String key, String userId, int quantity, String status, String reason) {
        boolean live() {
            return !"CANCELLED".equals(status) && !"FAILED".equals(status);
        }
    }

    private final List<AutoCloseable> resources = new ArrayList<>();
    final List<Node> nodes = new ArrayList<>();
    final Map<String, String> env = new HashMap<>();
    private final String namespace;
    private final String topic;
    private final String group;
    PrivateMariaDb db;
    TcpProxy proxy;
    RedisSentinels redis;
    PrivateKafka kafka;
    private RedisClient redisClient;

    private Cluster(String tag) {
        namespace = "nem" + tag;
        topic = "nemesis-" + tag;
        group = "nemesis-" + tag;
    }

    private void open(Path runDir, Map<String, String> settings, int nodeCount, Duration clientTimeout)
            throws Exception {
        try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
            Future<PrivateMariaDb> mariadb = threads.submit(() -> track(PrivateMariaDb.start()));
            Future<RedisSentinels> sentinels = threads.submit(() -> track(RedisSentinels.start()));
            Future<PrivateKafka> broker = threads.submit(() -> track(PrivateKafka.start(Path.of("target", "nemesis-kafka"))));
            db = mariadb.get();
            redis = sentinels.get();
            kafka = broker.get();
        }
        db.createDatabase(DATABASE);
        proxy = track(new TcpProxy("127.0.0.1", db.port()));
        env.putAll(settings);
        env.put("FLOODGATE_DB_URL", "jdbc:mariadb://127.0.0.1:" + proxy.port() + "/" + DATABASE);
        env.put("FLOODGATE_DB_USER", "root");
        env.put("FLOODGATE_REDIS_URL", redis.url(0));
        env.put("FLOODGATE_REDIS_NAMESPACE", namespace);
        env.put("FLOODGATE_KAFKA_BOOTSTRAP", kafka.bootstrap());
        env.put("FLOODGATE_KAFKA_TOPIC", topic);
        env.put("FLOODGATE_KAFKA_GROUP", group);
        env.put("FLOODGATE_KAFKA_PARTITIONS", "4");
        for (int i = 0; i < nodeCount; i++) {
            nodes.add(new Node(i, Ports.free(), runDir.resolve("node-" + i), clientTimeout));
        }
        redisClient = RedisClient.create(RedisURI.create(redis.url(0)));
    }

    /** Starts everything; node 0 first (it migrates the store and creates the topics), then the others. */
    static Cluster start(Path runDir, String tag, Map<String, String> settings, int nodeCount, Duration clientTimeout) {
        Cluster c = new Cluster(tag);
        try {
            c.open(runDir, settings, nodeCount, clientTimeout);
            c.startNode(c.nodes.getFirst());
            Cluster cluster = c;
            try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
                List<Future<?>> started = new ArrayList<>();
                for (Node n : c.nodes.subList(1, nodeCount)) {
                    started.add(threads.submit(() -> cluster.startNode(n)));
                }
                for (Future<?> f : started) {
                    f.get();
                }
            }
            return c;
        } catch (RuntimeException | Error e) {
            c.close();
            throw e;
        } catch (java.util.concurrent.ExecutionException e) {
            c.close();
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            if (e.getCause() instanceof Error err) {
                throw err;
            }
            throw new IllegalStateException("starting the cluster failed: " + e.getCause(), e.getCause());
        } catch (Exception e) {
            c.close();
            throw new IllegalStateException("starting the cluster failed: " + e, e);
        }
    }

    private <T extends AutoCloseable> T track(T resource) {
        synchronized (resources) {
            resources.add(resource);
        }
        return resource;
    }

    String namespace() {
        return namespace;
    }

    // ------------------------------------------------------------------ instances

    /** Starts (or starts again) an instance on its port and data directory; waits until it listens. */
    void startNode(Node n) {
        Map<String, String> nodeEnv = new HashMap<>(env);
        nodeEnv.put("FLOODGATE_PORT", Integer.toString(n.port));
        n.starts++;
        n.process = track(ServiceProcess.start(n.dataDir, "nemesis-" + namespace + "-" + n.index + "." + n.starts, nodeEnv));
        n.paused = false;
    }

    /** SIGKILL; returns the exit code (137 expected). */
    int kill(Node n) {
        return n.process.kill9();
    }

    /**
     * Starts a killed instance again, retrying for up to {@code atMost} (a start can fail while a
     * dependency is down); returns how many attempts failed.
     */
    int restart(Node n, Duration atMost) {
        long deadline = System.nanoTime() + atMost.toNanos();
        int failures = 0;
        while (true) {
            try {
                startNode(n);
                return failures;
            } catch (RuntimeException | AssertionError e) {
                failures++;
                if (System.nanoTime() - deadline > 0) {
                    throw new IllegalStateException("instance " + n.index + " did not start again within "
                            + atMost.toSeconds() + " s: " + e.getMessage(), e);
                }
                sleep(2_000);
            }
        }
    }

    void pause(Node n) {
        if (!n.process.isAlive()) {
            throw new IllegalStateException("instance " + n.index + " is not running (a start that failed?): "
                    + n.process.logFile());
        }
        n.process.sendStop();
        n.paused = true;
    }

    void resume(Node n) {
        if (n.process.isAlive()) {
            n.process.sendCont();
        }
        n.paused = false;
    }

    /**
     * The instance that leads the reconciler now, as far as the logs tell: the one whose latest
     * "now leads" line is the newest and not followed by a line saying it stepped down; -1 if none.
     */
    int leader() {
        int best = -1;
        String bestAt = "";
        for (Node n : nodes) {
            String leads = null;
            String down = null;
            try (var lines = Files.lines(n.process.logFile())) {
                for (String line : (Iterable<String>) lines::iterator) {
                    Matcher m = LEADS.matcher(line);
                    if (m.find()) {
                        leads = m.group(1);
                    } else if ((m = STEPS_DOWN.matcher(line)).find()) {
                        down = m.group(1);
                    }
                }
            } catch (IOException | UncheckedIOException e) {
                continue;
            }
            if (leads != null && (down == null || down.compareTo(leads) < 0) && leads.compareTo(bestAt) > 0) {
                best = n.index;
                bestAt = leads;
            }
        }
        return best;
    }

    // ------------------------------------------------------------------ healing and settling

    /** Undoes whatever a fault left behind: every instance running, the broker up, the store open. */
    void healAll() {
        proxy.heal();
        for (Node n : nodes) {
            if (n.paused) {
                resume(n);
            }
        }
        try {
            kafka.startAgain(); // a no-op when it runs
        } catch (RuntimeException e) {
            System.out.println("nemesis: starting the broker again at the end failed: " + e.getMessage());
        }
        for (Node n : nodes) {
            if (!n.process.isAlive()) {
                restart(n, Duration.ofMinutes(3)); // after the broker: an instance cannot start without it
            }
        }
    }

    /** What still moves, or null when the system is quiet and its accounts agree. */
    String unsettled(List<History.Item> items, long healedAtEpochMillis) {
        List<String> off = new ArrayList<>();
        for (Node n : nodes) {
            try {
                int status = n.api.get("/health/ready").status();
                if (status != 200) {
                    off.add("instance " + n.index + " not ready (" + status + ")");
                }
            } catch (RuntimeException e) {
                off.add("instance " + n.index + " does not answer: " + e.getMessage());
            }
        }
        long backlog = backlog();
        if (backlog != 0) {
            off.add("order topic backlog " + (backlog < 0 ? "unknown" : backlog + " records"));
        }
        Map<String, Long> sold = soldBySku();
        Map<String, long[]> audits = latestAudits();
        for (History.Item item : items) {
            Ledger l = ledger(item.sku());
            long s = sold.getOrDefault(item.sku(), 0L);
            if (l.pendingKeys() != 0 || s + l.available() != item.stock()) {
                off.add(item.sku() + ": stock " + item.stock() + ", store sold " + s + ", ledger available "
                        + (l == Ledger.MISSING ? "missing" : l.available()) + ", pending " + l.pendingKeys());
            }
            long[] a = audits.get(item.sku());
            if (a == null || a[1] < healedAtEpochMillis || a[0] != 0) {
                off.add(item.sku() + ": " + (a == null || a[1] < healedAtEpochMillis ? "no audit since the healing"
                        : "last audit drift " + a[0]));
            }
        }
        return off.isEmpty() ? null : String.join("; ", off);
    }

    // ------------------------------------------------------------------ the truth

    /** Every row of {@code orders} and {@code failed_orders} for the given items. */
    List<StoredOrder> storeOrders(List<History.Item> items) {
        List<StoredOrder> rows = new ArrayList<>();
        List<String> skus = items.stream().map(History.Item::sku).toList();
        query("SELECT order_id, sku, idempotency_key, user_id, quantity, status FROM orders", rs -> {
            if (skus.contains(rs.getString(2))) {
                rows.add(new StoredOrder(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4),
                        rs.getInt(5), rs.getString(6), null));
            }
        });
        query("SELECT order_id, sku, idempotency_key, user_id, quantity, reason FROM failed_orders", rs -> {
            if (skus.contains(rs.getString(2))) {
                rows.add(new StoredOrder(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4),
                        rs.getInt(5), "FAILED", rs.getString(6)));
            }
        });
        return rows;
    }

    private Map<String, Long> soldBySku() {
        Map<String, Long> sold = new TreeMap<>();
        query("SELECT sku, SUM(quantity) FROM orders WHERE status <> 'CANCELLED' GROUP BY sku",
                rs -> sold.put(rs.getString(1), rs.getLong(2)));
        return sold;
    }

    /** The newest audit per sku: {drift, audited_at}. */
    private Map<String, long[]> latestAudits() {
        Map<String, long[]> latest = new HashMap<>();
        query("SELECT a.sku, a.drift, a.audited_at FROM audits a JOIN (SELECT sku, MAX(id) id FROM audits GROUP BY sku) m"
                + " ON a.id = m.id", rs -> latest.put(rs.getString(1), new long[] {rs.getLong(2), rs.getLong(3)}));
        return latest;
    }

    private interface RowReader {
        void read(ResultSet rs) throws SQLException;
    }

    private void query(String sql, RowReader reader) {
        try (Connection c = DriverManager.getConnection(db.url(DATABASE), "root", "");
             Statement s = c.createStatement();
             ResultSet rs = s.executeQuery(sql)) {
            while (rs.next()) {
                reader.read(rs);
            }
        } catch (SQLException e) {
            throw new IllegalStateException("cannot read the store (" + sql + "): " + e.getMessage(), e);
        }
    }

    /** The ledger's available units and pending reservations of an item (see KeySpace). */
    Ledger ledger(String sku) {
        try (StatefulRedisConnection<String, String> c = redisClient.connect()) {
            c.setTimeout(Duration.ofSeconds(3));
            RedisCommands<String, String> r = c.sync();
            String prefix = namespace + ":{" + sku + "}:";
            String avail = r.hget(prefix + "item", "avail");
            long pendingKeys = r.zcard(prefix + "pending");
            long pendingUnits = 0;
            for (String key : r.zrange(prefix + "pending", 0, -1)) {
                String entry = r.hget(prefix + "keys", key);
                if (entry != null) {
                    pendingUnits += Long.parseLong(entry.split("\\|", 4)[2]);
                }
            }
            return avail == null ? Ledger.MISSING : new Ledger(Long.parseLong(avail), pendingKeys, pendingUnits);
        } catch (RuntimeException e) {
            return Ledger.MISSING;
        }
    }

    /** Records of the order topic not yet committed by the writers' group; -1 when Kafka does not answer. */
    long backlog() {
        Properties config = new Properties();
        config.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrap());
        config.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "3000");
        config.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "5000");
        try (Admin admin = Admin.create(config)) {
            long[][] offsets = offsets(admin);
            if (offsets == null) {
                return -1;
            }
            long backlog = 0;
            for (int p = 0; p < offsets[0].length; p++) {
                backlog += offsets[0][p] - offsets[1][p];
            }
            return backlog;
        }
    }

    /** An admin client for {@link #offsets}; quiet about a broker that is down (the sampler's own). */
    Admin admin() {
        ((ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger("org.apache.kafka"))
                .setLevel(ch.qos.logback.classic.Level.ERROR);
        Properties config = new Properties();
        config.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrap());
        config.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "2000");
        config.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "3000");
        return Admin.create(config);
    }

    /**
     * The order topic's end offsets and the writers' committed offsets, per partition:
     * {@code {end[], committed[]}}; null when Kafka does not answer.
     */
    long[][] offsets(Admin admin) {
        try {
            var description = admin.describeTopics(List.of(topic)).allTopicNames().get(3, TimeUnit.SECONDS).get(topic);
            int partitions = description.partitions().size();
            Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
            for (int p = 0; p < partitions; p++) {
                latest.put(new TopicPartition(topic, p), OffsetSpec.latest());
            }
            var ends = admin.listOffsets(latest).all().get(3, TimeUnit.SECONDS);
            Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets(group)
                    .partitionsToOffsetAndMetadata().get(3, TimeUnit.SECONDS);
            long[][] offsets = new long[2][partitions];
            for (int p = 0; p < partitions; p++) {
                TopicPartition tp = new TopicPartition(topic, p);
                offsets[0][p] = ends.get(tp).offset();
                OffsetAndMetadata c = committed.get(tp);
                offsets[1][p] = c == null ? 0 : c.offset();
            }
            return offsets;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        } catch (Exception e) {
            return null;
        }
    }

    /** Epoch milliseconds, for comparing with the times the store records. */
    static long epochMillis() {
        return Instant.now().toEpochMilli();
    }

    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Where the instances wrote their logs. */
    List<Path> logs() {
        List<Path> logs = new ArrayList<>();
        synchronized (resources) {
            for (AutoCloseable r : resources) {
                if (r instanceof ServiceProcess p) {
                    logs.add(p.logFile());
                }
            }
        }
        return logs;
    }

    @Override
    public void close() {
        for (Node n : nodes) {
            if (n.paused && n.process != null) {
                try {
                    n.process.sendCont();
                } catch (RuntimeException ignored) {
                    // killed below anyway
                }
            }
        }
        if (redisClient != null) {
            redisClient.shutdown(Duration.ZERO, Duration.ofSeconds(1));
        }
        List<AutoCloseable> reversed;
        synchronized (resources) {
            reversed = new ArrayList<>(resources);
        }
        Collections.reverse(reversed);
        for (AutoCloseable r : reversed) {
            try {
                r.close();
            } catch (Exception e) {
                System.out.println("nemesis: closing " + r + " failed: " + e);
            }
        }
    }
}
