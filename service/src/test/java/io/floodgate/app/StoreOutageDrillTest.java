package io.floodgate.app;

import com.fasterxml.jackson.databind.JsonNode;
import io.floodgate.redis.RedisTestSupport;
import io.floodgate.testing.Api;
import io.floodgate.testing.DistributedMode;
import io.floodgate.testing.Resources;
import io.floodgate.testing.Seeds;
import io.floodgate.testing.TestFloodgate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The store refusing writes for a while (a write lock, as during a failover or a long migration:
 * MariaDB's {@code FLUSH TABLES WITH READ LOCK} held by one session makes every write wait while
 * reads go on) in distributed mode (Redis ledger, Kafka order log, MariaDB store), with buyers
 * coming all along. This drill once lost acknowledged orders: after three refusals "while the
 * store answered", the consumers sent them to the dead-letter topic. Now:
 * <ul>
 *   <li>every order answered 201/202 (or replayed 200) is in the store once the lock is lifted,
 *   exactly once, and none was dead-lettered or failed;</li>
 *   <li>while the store is away, intake keeps taking orders until the backlog passes its bound,
 *   then answers 503 {@code DEPENDENCY_UNAVAILABLE} (nothing reserved), and takes orders again once
 *   the backlog has drained;</li>
 *   <li>with Redis emptied while the store is locked, the ledger is not rebuilt until the log has
 *   drained into the store, and no unit is sold twice: the store never holds more than the stock,
 *   and after settling store sold + ledger available = stock.</li>
 * </ul>
 */
@org.junit.jupiter.api.Tag("drill")
class StoreOutageDrillTest {

    private static final String SKU = "DRILL";
    private static final int STOCK = 2_000;
    private static final int BACKLOG_BOUND = 300;
    private static final Duration LOCK = Duration.ofSeconds(15);
    private static final String MARIADB = "jdbc:mariadb://127.0.0.1:3306/";

    @org.junit.jupiter.api.extension.RegisterExtension
    final Resources resources = new Resources();

    @Test
    @Timeout(value = 240, unit = TimeUnit.SECONDS)
    void aStoreWriteLockedMidSaleLosesNoAcknowledgedOrderAndBoundsTheBacklog() throws Exception {
        Drill drill = drill("lock");
        drill.run(() -> { });
        drill.check();
        assertThat(drill.refusedForBacklog.get()).as("orders refused once the backlog passed its bound").isPositive();
    }

    @Test
    @Timeout(value = 240, unit = TimeUnit.SECONDS)
    void redisEmptiedWhileTheStoreIsLockedIsRebuiltOnlyFromAStoreThatHoldsEveryAcknowledgedOrder() throws Exception {
        Drill drill = drill("lock-and-flush");
        drill.run(() -> RedisTestSupport.deleteNamespace(RedisTestSupport.URL, drill.namespace));
        drill.check();
    }

    private Drill drill(String name) {
        DistributedMode mode = DistributedMode.createWithKafka();
        resources.track(mode);
        Map<String, String> env = new HashMap<>(mode.environment());
        env.put("FLOODGATE_MAX_BACKLOG_ORDERS", Integer.toString(BACKLOG_BOUND));
        env.put("FLOODGATE_REQUEST_TIMEOUT_MS", "2000");
        env.put("FLOODGATE_MAX_REQUEST_TIMEOUT_MS", "2000");
        env.put("FLOODGATE_RECONCILE_PERIOD_MS", "500");
        env.put("FLOODGATE_RECONCILE_GRACE_MS", "8000");
        TestFloodgate server = TestFloodgate.start(env);
        resources.track(server);
        return new Drill(name, Seeds.seed("drill.store." + name + ".seed"), server, env);
    }

    private static final class Drill {
        final String name;
        final long seed;
        final TestFloodgate server;
        final Map<String, String> env;
        final String namespace;
        final Map<String, String> acknowledged = new ConcurrentHashMap<>();
        final AtomicInteger refusedForBacklog = new AtomicInteger();
        final AtomicInteger soldOut = new AtomicInteger();

        Drill(String name, long seed, TestFloodgate server, Map<String, String> env) {
            this.name = name;
            this.seed = seed;
            this.server = server;
            this.env = env;
            this.namespace = env.get("FLOODGATE_REDIS_NAMESPACE");
        }

        /** Buyers all along; the store write-locked for {@link #LOCK} from the first second, {@code whileLocked} run then. */
        void run(Runnable whileLocked) throws Exception {
            Api api = server.api;
            assertThat(api.putItem(SKU, "Drill", STOCK, 1).status()).isEqualTo(201);
            int soldBeforeTheLock;
            Random random = new Random(seed);
            AtomicBoolean buying = new AtomicBoolean(true);
            AtomicInteger nextUser = new AtomicInteger();
            try (ExecutorService buyers = Executors.newVirtualThreadPerTaskExecutor()) {
                try {
                    for (int t = 0; t < 32; t++) {
                        long buyerSeed = random.nextLong();
                        buyers.submit(() -> buy(api, buying, nextUser, new Random(buyerSeed)));
                    }
                    LockSupport.parkNanos(Duration.ofSeconds(1).toNanos());
                    try (Connection lock = DriverManager.getConnection(MARIADB, "root", "");
                         Statement s = lock.createStatement()) {
                        // FTWRL waits for statements in flight; not for a day (the server's default)
                        s.execute("SET SESSION lock_wait_timeout = 60");
                        s.execute("FLUSH TABLES WITH READ LOCK");
                        soldBeforeTheLock = acknowledged.size();
                        System.out.println("drill " + name + " (seed " + seed + "): store write-locked after "
                                + soldBeforeTheLock + " orders");
                        whileLocked.run();
                        LockSupport.parkNanos(LOCK.toNanos());
                        s.execute("UNLOCK TABLES");
                        System.out.println("drill " + name + ": store unlocked; " + acknowledged.size()
                                + " orders acknowledged so far, " + refusedForBacklog.get() + " refused for the backlog");
                    }
                    // buyers go on until the stock is gone (or a bound on the drill's length)
                    await().atMost(Duration.ofSeconds(120)).until(() -> soldOut.get() > 50);
                } finally {
                    buying.set(false); // also when the drill failed: the buyers stop, the executor closes
                }
            }
            assertThat(soldBeforeTheLock).as("the outage came in the middle of the sale").isLessThan(STOCK / 2);
        }

        private void buy(Api api, AtomicBoolean buying, AtomicInteger nextUser, Random random) {
            while (buying.get() && !Thread.currentThread().isInterrupted()) {
                String user = "u" + nextUser.incrementAndGet();
                String key = "k-" + user;
                for (int attempt = 0; attempt < 20 && buying.get(); attempt++) {
                    Api.Response r;
                    try {
                        r = api.order(key, user, SKU, 1);
                    } catch (RuntimeException e) {
                        continue; // no answer: retried with the same key
                    }
                    if (r.status() == 200 || r.status() == 201 || r.status() == 202) {
                        String orderId = r.json().get("orderId").asText();
                        String before = acknowledged.putIfAbsent(key, orderId);
                        assertThat(before == null || before.equals(orderId)).as("key %s answered two orders", key).isTrue();
                        // a buyer every 100 ms or so: the sale outlasts the outage, at about 300 orders a second
                        LockSupport.parkNanos(Duration.ofMillis(50 + random.nextInt(100)).toNanos());
                        break;
                    }
                    if (r.status() == 409) {
                        soldOut.incrementAndGet();
                        break;
                    }
                    if (r.status() == 503 && "DEPENDENCY_UNAVAILABLE".equals(r.code())
                            && r.json().path("detail").asText().contains("store is behind")) {
                        refusedForBacklog.incrementAndGet();
                    }
                    LockSupport.parkNanos(Duration.ofMillis(50 + random.nextInt(200)).toNanos());
                }
            }
        }

        void check() throws SQLException {
            Api api = server.api;
            // settle: the log drained into the store, the ledger agrees with it
            await().atMost(Duration.ofSeconds(120)).untilAsserted(() -> {
                assertThat(gauge(api, "floodgate_log_backlog_orders")).isZero();
                assertThat(storeSold() + available(api)).as("store sold + ledger available").isEqualTo(STOCK);
            });
            Set<String> stored = new HashSet<>();
            Map<String, Long> ordersPerKey = new HashMap<>();
            try (Connection c = DriverManager.getConnection(env.get("FLOODGATE_DB_URL"), "root", "");
                 Statement s = c.createStatement();
                 ResultSet rs = s.executeQuery("SELECT order_id, idempotency_key FROM orders WHERE sku = '" + SKU + "'")) {
                while (rs.next()) {
                    stored.add(rs.getString(1));
                    ordersPerKey.merge(rs.getString(2), 1L, Long::sum);
                }
            }
            assertThat(acknowledged.values()).as("drill %s, seed %d: every acknowledged order is in the store", name, seed)
                    .allMatch(stored::contains);
            assertThat(ordersPerKey.values()).as("one order per key").allMatch(n -> n == 1);
            assertThat(stored.size()).as("never more sold than the stock").isLessThanOrEqualTo(STOCK);
            assertThat(counter(api, "floodgate_kafka_dead_lettered_total")).as("nothing dead-lettered").isZero();
            assertThat(counter(api, "floodgate_orders_failed_total")).as("nothing failed").isZero();
            System.out.println("drill " + name + " (seed " + seed + "): " + acknowledged.size() + " acknowledged, "
                    + stored.size() + " stored, " + refusedForBacklog.get() + " refused for the backlog");
        }

        private long storeSold() throws SQLException {
            try (Connection c = DriverManager.getConnection(env.get("FLOODGATE_DB_URL"), "root", "");
                 Statement s = c.createStatement();
                 ResultSet rs = s.executeQuery("SELECT COALESCE(SUM(quantity), 0) FROM orders WHERE sku = '" + SKU
                         + "' AND status <> 'CANCELLED'")) {
                rs.next();
                return rs.getLong(1);
            }
        }

        private static long available(Api api) {
            JsonNode item = api.item(SKU).json();
            return item.get("available").asLong();
        }
    }

    static double gauge(Api api, String name) {
        return metric(api, name);
    }

    static double counter(Api api, String name) {
        return metric(api, name);
    }

    /** The value of an unlabelled metric in /metrics, 0 when absent. */
    private static double metric(Api api, String name) {
        for (String line : api.get("/metrics").body().split("\n")) {
            if (line.startsWith(name + " ") || line.startsWith(name + "{")) {
                return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return 0;
    }
}
