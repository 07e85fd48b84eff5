package io.floodgate.jdbc;

import io.floodgate.core.DependencyUnavailableException;
import io.floodgate.core.RejectedException;
import io.floodgate.core.Rejection;
import io.floodgate.core.StaleFencingTokenException;
import io.floodgate.core.domain.ItemAudit;
import io.floodgate.core.domain.ItemSpec;
import io.floodgate.core.domain.Order;
import io.floodgate.core.domain.OrderIds;
import io.floodgate.core.domain.OrderStatus;
import io.floodgate.core.port.Lock.Fence;
import io.floodgate.core.port.OrderStore;
import io.floodgate.core.port.OrderStore.RecordedAudit;
import io.floodgate.testing.Seeds;
import io.floodgate.testing.ShardDatabases;
import io.floodgate.testing.TestFloodgate;
import org.junit.jupiter.api.AfterEach;
import io.floodgate.testing.Services;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;

/**
 * The order store's contract, on each engine it runs on: the embedded SQLite file and the
 * MariaDB and PostgreSQL servers of this machine (each test gets a database of its own), and the
 * store sharded by user over two databases of either server (two fresh ones per test).
 * Where a server does not answer, its cases are skipped, unless FLOODGATE_REQUIRE_SERVICES=1
 * (as in CI), which makes them fail instead.
 */
class JdbcOrderStoreTest {

    enum Engine {
        SQLITE, MARIADB, POSTGRESQL, SHARDED_MARIADB, SHARDED_POSTGRESQL;

        boolean sharded() {
            return this == SHARDED_MARIADB || this == SHARDED_POSTGRESQL;
        }
    }

    private OrderStore store;
    private Runnable cleanup = () -> { };

    private OrderStore open(Engine engine) throws Exception {
        String name = "fg_test_" + Long.toHexString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE);
        switch (engine) {
            case SQLITE -> {
                Path dir = Files.createTempDirectory("floodgate-store");
                store = JdbcStores.embedded(dir, Clock.systemUTC());
                cleanup = () -> TestFloodgate.deleteRecursively(dir);
            }
            case MARIADB -> {
                String admin = "jdbc:mariadb://127.0.0.1:3306/";
                Services.requireOrSkip(admin, "root", "MariaDB");
                execute(admin, "root", "CREATE DATABASE " + name);
                store = JdbcStores.connect(admin + name, "root", "", Clock.systemUTC());
                cleanup = () -> execute(admin, "root", "DROP DATABASE IF EXISTS " + name);
            }
            case POSTGRESQL -> {
                String admin = "jdbc:postgresql://127.0.0.1:5432/test";
                Services.requireOrSkip(admin, "postgres", "PostgreSQL");
                execute(admin, "postgres", "CREATE DATABASE " + name);
                store = JdbcStores.connect("jdbc:postgresql://127.0.0.1:5432/" + name, "postgres", "", Clock.systemUTC());
                cleanup = () -> execute(admin, "postgres", "DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
            }
            case SHARDED_MARIADB, SHARDED_POSTGRESQL -> {
                ShardDatabases dbs = ShardDatabases.create(engine == Engine.SHARDED_MARIADB
                        ? ShardDatabases.Server.MARIADB : ShardDatabases.Server.POSTGRESQL, 2);
                cleanup = dbs::close;
                store = JdbcStores.sharded(dbs.urls(), dbs.user(), "", Clock.systemUTC());
            }
        }
        return store;
    }

    private static void execute(String url, String user, String sql) {
        ShardDatabases.run(url, user, sql);
    }

    @AfterEach
    void tearDown() {
        if (store != null) {
            store.close();
        }
        cleanup.run();
    }

    private static final Instant T0 = Instant.parse("2026-11-26T12:00:00Z");

    private static Order order(String sku, String key, String user, int qty, Instant at) {
        return new Order(OrderIds.next(at.toEpochMilli()), sku, user, qty, OrderStatus.CONFIRMED, at, "req-" + key, key);
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void itemsAreCreatedReplacedAndLockedOnceOrdered(Engine engine) throws Exception {
        OrderStore s = open(engine);
        assertThat(s.putItem(new ItemSpec("S1", "Phone", 10, 1, T0, null))).isTrue();
        assertThat(s.putItem(new ItemSpec("S1", "Phone X", 20, 2, null, T0.plusSeconds(60)))).isFalse();
        List<ItemSpec> items = new ArrayList<>();
        s.forEachItem(items::add);
        assertThat(items).containsExactly(new ItemSpec("S1", "Phone X", 20, 2, null, T0.plusSeconds(60)));

        s.insertOrders(List.of(order("S1", "k1", "u1", 1, T0)));
        assertThatThrownBy(() -> s.putItem(new ItemSpec("S1", "Again", 5, 1, null, null)))
                .isInstanceOfSatisfying(RejectedException.class, e -> assertThat(e.rejection()).isEqualTo(Rejection.ITEM_LOCKED));
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void orderInsertsAreIdempotentByIdAndByKey(Engine engine) throws Exception {
        OrderStore s = open(engine);
        s.putItem(new ItemSpec("S1", "Phone", 10, 5, null, null));
        Order first = order("S1", "k1", "u1", 2, T0);
        s.insertOrders(List.of(first));
        s.insertOrders(List.of(first));
        // same key, another id: ignored (u9 shares u1's shard when sharded: keys are unique per shard)
        s.insertOrders(List.of(order("S1", "k1", "u9", 1, T0)));
        List<Order> all = new ArrayList<>();
        s.forEachOrder(all::add);
        assertThat(all).containsExactly(first);
        assertThat(s.order(first.orderId())).contains(first);
        assertThat(s.orderByKey("S1", "k1")).contains(first);
        assertThat(s.order("nope")).isEmpty();
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void concurrentBatchesWithOverlappingKeysStoreEachKeyOnce(Engine engine) throws Exception {
        OrderStore s = open(engine);
        s.putItem(new ItemSpec("S1", "Phone", 1000, 5, null, null));
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int t = 0; t < 16; t++) {
                pool.submit(() -> {
                    List<Order> batch = new ArrayList<>();
                    for (int i = 0; i < 50; i++) {
                        int key = ThreadLocalRandom.current().nextInt(200);
                        // sharded by user, a key is unique per shard: there the same key comes from the
                        // same user, as a client's retry does (across users, the ledger keeps keys unique)
                        String user = engine.sharded() ? "u" + key : "u" + i;
                        batch.add(order("S1", "k" + key, user, 1, T0));
                    }
                    s.insertOrders(batch);
                    return null;
                });
            }
        }
        List<Order> all = new ArrayList<>();
        s.forEachOrder(all::add);
        assertThat(all).extracting(Order::idempotencyKey).doesNotHaveDuplicates();
        assertThat(all).isNotEmpty();
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void userOrdersComeNewestFirstUpToTheLimit(Engine engine) throws Exception {
        OrderStore s = open(engine);
        s.putItem(new ItemSpec("S1", "Phone", 100, 100, null, null));
        List<Order> placed = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            placed.add(order("S1", "k" + i, "u1", 1, T0.plusMillis(i)));
        }
        s.insertOrders(placed);
        s.insertOrders(List.of(order("S1", "other", "u2", 1, T0)));
        assertThat(s.ordersOfUser("u1", 3)).containsExactly(placed.get(4), placed.get(3), placed.get(2));
        assertThat(s.ordersOfUser("nobody", 50)).isEmpty();
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void cancelHappensOnceAndStockChangesAreKept(Engine engine) throws Exception {
        OrderStore s = open(engine);
        s.putItem(new ItemSpec("S1", "Phone", 10, 5, null, null));
        Order o = order("S1", "k1", "u1", 1, T0);
        s.insertOrders(List.of(o));
        OrderStore.Cancellation first = s.cancel(o.orderId(), T0.plusSeconds(1)).orElseThrow();
        OrderStore.Cancellation second = s.cancel(o.orderId(), T0.plusSeconds(2)).orElseThrow();
        assertThat(first.cancelledNow()).isTrue();
        assertThat(second.cancelledNow()).isFalse();
        assertThat(second.order().status()).isEqualTo(OrderStatus.CANCELLED);
        assertThat(s.cancel("missing", T0)).isEmpty();

        s.addStock("S1", 5);
        s.addStock("S1", -3);
        List<ItemSpec> items = new ArrayList<>();
        s.forEachItem(items::add);
        assertThat(items.getFirst().stock()).isEqualTo(12);
        assertThatThrownBy(() -> s.addStock("nope", 1)).isInstanceOf(RejectedException.class);
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void aClosedStoreFailsFastAndHonestly(Engine engine) throws Exception {
        OrderStore s = open(engine);
        assertThat(s.ping(Duration.ofSeconds(1))).isTrue();
        s.close();
        store = null;
        assertThat(s.ping(Duration.ofSeconds(1))).isFalse();
        assertThatThrownBy(() -> s.insertOrders(List.of(order("S1", "k", "u", 1, T0))))
                .isInstanceOf(DependencyUnavailableException.class)
                .hasMessageNotContaining("INSERT");
    }

    private static ItemAudit audit(String sku, long storeSold) {
        return new ItemAudit(sku, 5, 5, storeSold, T0);
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void fencedWritesTakeEqualAndNewerTokensAndRefuseOlderOnesChangingNothing(Engine engine) throws Exception {
        OrderStore s = open(engine);
        s.putItem(new ItemSpec("S1", "Phone", 10, 5, null, null));
        s.recordAudit(new Fence("reconciler", 5), List.of(audit("S1", 5)));
        s.recordAudit(new Fence("reconciler", 5), List.of(audit("S1", 4)));
        s.recordAudit(new Fence("reconciler", 7), List.of(audit("S1", 3), audit("S2", 0)));
        s.recordAudit(new Fence("another-lock", 1), List.of(audit("S3", 1)));

        assertThatThrownBy(() -> s.recordAudit(new Fence("reconciler", 6), List.of(audit("S1", 99))))
                .isInstanceOfSatisfying(StaleFencingTokenException.class, e -> {
                    assertThat(e.token()).isEqualTo(6);
                    assertThat(e.newest()).isEqualTo(7);
                })
                .hasMessageContaining("reconciler");
        Order late = order("S1", "late", "u1", 1, T0);
        assertThatThrownBy(() -> s.insertOrders(new Fence("reconciler", 6), List.of(late)))
                .isInstanceOf(StaleFencingTokenException.class);

        assertThat(s.recentAudits(10)).extracting(a -> a.fence().token(), a -> a.audit().storeSold())
                .containsExactly(tuple(1L, 1L), tuple(7L, 0L),
                        tuple(7L, 3L), tuple(5L, 4L),
                        tuple(5L, 5L));
        assertThat(s.recentAudits(10).getFirst().audit()).isEqualTo(audit("S3", 1));
        assertThat(s.recentAudits(10).get(1).audit().drift()).isEqualTo(5);
        assertThat(s.order(late.orderId())).isEmpty();

        Order settled = order("S1", "settled", "u1", 1, T0);
        s.insertOrders(new Fence("reconciler", 7), List.of(settled));
        assertThat(s.order(settled.orderId())).contains(settled);
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void concurrentFencedWritersAreAcceptedOnlyInRisingTokenOrder(Engine engine) throws Exception {
        OrderStore s = open(engine);
        Random seeds = new Random(Seeds.seed("fencing.writers.seed"));
        List<Long> refused = Collections.synchronizedList(new ArrayList<>());
        AtomicInteger accepted = new AtomicInteger();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int t = 0; t < 12; t++) {
                Random random = new Random(seeds.nextLong());
                String writer = "w" + t;
                pool.submit(() -> {
                    for (int i = 0; i < 10; i++) {
                        long token = 1 + random.nextInt(500);
                        try {
                            s.recordAudit(new Fence("reconciler", token), List.of(audit(writer, token)));
                            accepted.incrementAndGet();
                        } catch (StaleFencingTokenException e) {
                            assertThat(e.newest()).isGreaterThan(token);
                            refused.add(token);
                        }
                    }
                    return null;
                });
            }
        }
        List<Long> tokensInCommitOrder = s.recentAudits(1000).reversed().stream()
                .map(a -> a.fence().token()).toList();
        assertThat(tokensInCommitOrder).hasSize(accepted.get()).isSorted();
        assertThat(accepted.get() + refused.size()).isEqualTo(120);
        assertThat(s.recentAudits(1000)).allSatisfy(a -> assertThat(a.audit().storeSold()).isEqualTo(a.fence().token()));
        long newest = tokensInCommitOrder.getLast();
        assertThat(refused).allSatisfy(token -> assertThat(token).isLessThan(newest));
    }

    /**
     * Every kind of write at once from many threads (item definitions that read before they
     * write, order batches, cancels, stock changes and fenced audits, as requests, the order
     * writer and the reconciler make them) each succeeds: none is refused because another holds
     * the database. On SQLite a transaction that reads first and then writes fails at once with
     * SQLITE_BUSY (no busy wait) when another wrote in between, unless it took the write lock at
     * its start.
     */
    @ParameterizedTest
    @EnumSource(Engine.class)
    void mixedConcurrentWritersAreNeverRefusedForContention(Engine engine) throws Exception {
        OrderStore s = open(engine);
        Random seeds = new Random(Seeds.seed("mixed.writers.seed"));
        List<Throwable> failures = Collections.synchronizedList(new ArrayList<>());
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int t = 0; t < 16; t++) {
                Random random = new Random(seeds.nextLong());
                String sku = "MX" + t;
                String user = "mx-user-" + t;
                pool.submit(() -> {
                    s.putItem(new ItemSpec(sku, "Mixed", 1000, 100, null, null));
                    List<Order> placed = new ArrayList<>();
                    for (int i = 0; i < 40; i++) {
                        try {
                            switch (random.nextInt(5)) {
                                case 0 -> s.putItem(new ItemSpec("D" + sku + "-" + i, "Defined", 10, 1, null, null));
                                case 1 -> {
                                    Order o = order(sku, sku + "-k" + i, user, 1, T0);
                                    s.insertOrders(List.of(o));
                                    placed.add(o);
                                }
                                case 2 -> {
                                    if (!placed.isEmpty()) {
                                        s.cancel(placed.removeLast().orderId(), T0.plusSeconds(1));
                                    }
                                }
                                case 3 -> s.recordAudit(new Fence("reconciler", 1), List.of(audit(sku, 1)));
                                default -> s.unitsSoldBySku();
                            }
                        } catch (RuntimeException e) {
                            failures.add(e);
                        }
                    }
                    return null;
                });
            }
        }
        assertThat(failures).as("writes refused while others wrote").isEmpty();
    }
}
