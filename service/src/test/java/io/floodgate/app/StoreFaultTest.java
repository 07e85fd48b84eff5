package io.floodgate.app;

import io.floodgate.testing.Api;
import io.floodgate.testing.Seeds;
import io.floodgate.testing.Services;
import io.floodgate.testing.TcpProxy;
import io.floodgate.testing.TestFloodgate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Fault drills on the order store: Floodgate on PostgreSQL through a TCP proxy that the test
 * cuts and slows in the middle of bursts. Each time: every request is answered (no hang), with
 * 201, or 503/504 and nothing lost; every order acknowledged is in the store; the breaker opens
 * and then closes by itself; and afterwards, in ledger and store alike, sold + available = stock.
 */
class StoreFaultTest {

    private static final String ADMIN = "jdbc:postgresql://127.0.0.1:5432/test";
    private String database;
    private TcpProxy proxy;
    private TestFloodgate floodgate;

    @BeforeEach
    void setUp() throws SQLException {
        Services.requireOrSkip(ADMIN, "postgres", "PostgreSQL");
        database = "fg_fault_" + Long.toHexString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE);
        execute(ADMIN, "CREATE DATABASE " + database);
        proxy = new TcpProxy("127.0.0.1", 5432);
        floodgate = TestFloodgate.start(Map.of(
                "FLOODGATE_DB_URL", "jdbc:postgresql://127.0.0.1:" + proxy.port() + "/" + database
                        + "?connectTimeout=2&socketTimeout=10",
                "FLOODGATE_DB_USER", "postgres",
                "FLOODGATE_REQUEST_TIMEOUT_MS", "800",
                "FLOODGATE_BREAKER_OPEN_MS", "300",
                "FLOODGATE_SLOW_CALL_MS", "400"));
    }

    @AfterEach
    void tearDown() throws SQLException {
        if (floodgate != null) {
            floodgate.close();
        }
        if (proxy != null) {
            proxy.close();
        }
        if (database != null) {
            execute(ADMIN, "DROP DATABASE IF EXISTS " + database + " WITH (FORCE)");
        }
    }

    private static void execute(String url, String sql) throws SQLException {
        try (Connection c = DriverManager.getConnection(url, "postgres", ""); Statement s = c.createStatement()) {
            s.execute(sql);
        }
    }

    private record Acked(String orderId, String key, String user, int quantity) {
    }

    @Test
    void storeCutAndSlowedMidBurstAnswersFastLosesNothingAndRecovers() throws Exception {
        long seed = Seeds.seed("fault.seed");
        Random random = new Random(seed);
        Api api = floodgate.api;
        assertThat(api.putItem("F1", "Fault", 5_000, 5).status()).isEqualTo(201);

        List<Acked> acked = new CopyOnWriteArrayList<>();
        Set<Integer> statuses = ConcurrentHashMap.newKeySet();
        AtomicInteger sequence = new AtomicInteger();

        burst(api, 200, random.nextLong(), acked, statuses, sequence);          // healthy
        assertThat(acked).as("seed %d: healthy burst", seed).isNotEmpty();

        proxy.cut();                                                             // store unreachable
        burst(api, 300, random.nextLong(), acked, statuses, sequence);
        assertThat(statuses).as("seed %d", seed).containsAnyOf(503, 504);
        awaitCircuitOpen(api, sequence, seed);                                   // the breaker opened on it
        proxy.heal();                                                            // half-open probes close it
        awaitRecovery(api, sequence, acked);

        proxy.delay(1_200);                                                      // store slow
        burst(api, 150, random.nextLong(), acked, statuses, sequence);
        proxy.heal();
        awaitRecovery(api, sequence, acked);

        System.out.println("seed " + seed + ": statuses seen " + statuses + ", " + acked.size() + " orders acknowledged");
        // Every acknowledged order is in the store, exactly as acknowledged.
        for (Acked a : acked) {
            Api.Response r = api.adminGet("/api/v1/orders/" + a.orderId());
            assertThat(r.status()).as("seed %d: acknowledged order %s", seed, a.orderId()).isEqualTo(200);
            assertThat(r.json().path("quantity").asInt()).isEqualTo(a.quantity());
            assertThat(r.json().path("userId").asText()).isEqualTo(a.user());
        }
        // Once doubtful writes have settled, ledger and store agree: sold + available = stock.
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        long sold;
        long available;
        do {
            Thread.sleep(100);
            sold = storeSold("F1");
            available = api.item("F1").json().path("available").asLong();
        } while (sold + available != 5_000 && System.nanoTime() < deadline);
        assertThat(sold + available).as("seed %d: sold %d + available %d = stock", seed, sold, available).isEqualTo(5_000);
        assertThat(sold).as("seed %d: the store has no order beyond those acknowledged or in doubt", seed)
                .isGreaterThanOrEqualTo(acked.stream().mapToLong(Acked::quantity).sum());
    }

    /** Fires {@code n} concurrent orders; every one must be answered, with 201 or an honest 5xx. */
    private void burst(Api api, int n, long seed, List<Acked> acked, Set<Integer> statuses, AtomicInteger sequence) {
        Random r = new Random(seed);
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < n; i++) {
                int qty = 1 + r.nextInt(2);
                pool.submit(() -> place(api, acked, statuses, sequence, qty));
            }
        }
    }

    private static void place(Api api, List<Acked> acked, Set<Integer> statuses, AtomicInteger sequence, int qty) {
        int n = sequence.incrementAndGet();
        String key = "key-" + n;
        String user = "user-" + (n % 700);
        Api.Response r = api.order(key, user, "F1", qty);
        statuses.add(r.status());
        assertThat(r.status()).as("order %s: %s", key, r).isIn(201, 503, 504);
        if (r.status() == 201) {
            acked.add(new Acked(r.json().path("orderId").asText(), key, user, qty));
        } else {
            assertThat(r.header("Content-Type")).hasValueSatisfying(t -> assertThat(t).contains("problem+json"));
        }
    }

    /**
     * Places orders until one is refused at admission because the store's breaker is open: a 503 or 504 by
     * the deadline alone would also pass the checks above, with a breaker that never opens.
     */
    private static void awaitCircuitOpen(Api api, AtomicInteger sequence, long seed) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (System.nanoTime() < deadline) {
            int n = sequence.incrementAndGet();
            Api.Response r = api.order("key-" + n, "user-" + (n % 700), "F1", 1);
            assertThat(r.status()).as("order during the cut: %s", r).isIn(503, 504);
            if (r.status() == 503 && r.json().path("detail").asText().contains("circuit open")) {
                assertThat(r.code()).isEqualTo("DEPENDENCY_UNAVAILABLE");
                return;
            }
            Thread.sleep(20);
        }
        throw new AssertionError("seed " + seed + ": the store's breaker did not open within 20 s of the cut");
    }

    /** Places orders until one succeeds again: the service resumes by itself. */
    private static void awaitRecovery(Api api, AtomicInteger sequence, List<Acked> acked) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        int before = acked.size();
        while (acked.size() == before && System.nanoTime() < deadline) {
            int n = sequence.incrementAndGet();
            Api.Response r = api.order("key-" + n, "user-" + (n % 700), "F1", 1);
            if (r.status() == 201) {
                acked.add(new Acked(r.json().path("orderId").asText(), "key-" + n, "user-" + (n % 700), 1));
            } else {
                Thread.sleep(50);
            }
        }
    }

    private long storeSold(String sku) throws SQLException {
        try (Connection c = DriverManager.getConnection("jdbc:postgresql://127.0.0.1:5432/" + database, "postgres", "");
             Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT COALESCE(SUM(quantity), 0) FROM orders WHERE sku = '" + sku
                     + "' AND status <> 'CANCELLED'")) {
            rs.next();
            return rs.getLong(1);
        }
    }
}
