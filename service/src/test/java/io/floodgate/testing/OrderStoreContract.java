package io.floodgate.testing;

import io.floodgate.core.DependencyUnavailableException;
import io.floodgate.core.RejectedException;
import io.floodgate.core.Rejection;
import io.floodgate.core.StaleFencingTokenException;
import io.floodgate.core.domain.ItemAudit;
import io.floodgate.core.domain.ItemSpec;
import io.floodgate.core.domain.Order;
import io.floodgate.core.domain.OrderIds;
import io.floodgate.core.domain.OrderEvent;
import io.floodgate.core.domain.OrderStatus;
import io.floodgate.core.domain.Payment;
import io.floodgate.core.domain.PaymentCallback;
import io.floodgate.core.domain.PaymentState;
import io.floodgate.core.domain.Price;
import io.floodgate.core.port.Lock.Fence;
import io.floodgate.core.port.OrderStore;
import io.floodgate.core.port.OrderStore.PaymentOutcome;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;

/**
 * The {@link OrderStore} contract, as behaviours every store must show: the embedded SQLite
 * store, MariaDB, PostgreSQL, the store sharded by user over either server, and the test double
 * ({@link TestOrderStore}) that other tests use in place of a store. Each runs it through a
 * subclass that says how to open a fresh, empty store (and how to throw it away). What only one
 * store does (where the sharded store puts an order) stays in that store's own test.
 *
 * <p>Randomised cases print their seed ({@link Seeds}) and replay with {@code -D<name>=<seed>}.
 */
public abstract class OrderStoreContract {

    protected static final Instant T0 = Instant.parse("2026-11-26T12:00:00Z");

    protected OrderStore store;

    /** A fresh, empty store. */
    protected abstract OrderStore open() throws Exception;

    /** Throws the store's data away after {@link OrderStore#close()} (drops its databases). */
    protected void discard() {
    }

    /**
     * Whether {@code (sku, idempotencyKey)} is unique per shard only (the sharded store: the ledger
     * is what keeps a key to one order across shards); then a test gives one key one user.
     */
    protected boolean keysUniquePerShardOnly() {
        return false;
    }

    /**
     * Whether the store gives each event its position as it is written (its write transactions run
     * one at a time: SQLite), so that events are visible as they commit and nothing is stamped.
     */
    protected boolean positionsAtCommit() {
        return false;
    }

    @BeforeEach
    void openStore() throws Exception {
        store = open();
    }

    @AfterEach
    void closeStore() {
        try {
            if (store != null) {
                store.close();
            }
        } finally {
            discard();
        }
    }

    protected static Order order(String sku, String key, String user, int qty, Instant at) {
        return new Order(OrderIds.next(at.toEpochMilli()), sku, user, qty, OrderStatus.CONFIRMED, at, "req-" + key, key);
    }

    private static ItemAudit audit(String sku, long storeSold) {
        return new ItemAudit(sku, 5, 5, storeSold, T0);
    }

    // ---- items

    @Test
    void itemsAreCreatedReplacedAndLockedOnceOrdered() {
        assertThat(store.putItem(new ItemSpec("S1", "Phone", 10, 1, T0, null))).isTrue();
        assertThat(store.putItem(new ItemSpec("S1", "Phone X", 20, 2, null, T0.plusSeconds(60)))).isFalse();
        List<ItemSpec> items = new ArrayList<>();
        store.forEachItem(items::add);
        assertThat(items).containsExactly(new ItemSpec("S1", "Phone X", 20, 2, null, T0.plusSeconds(60)));

        store.insertOrders(List.of(order("S1", "k1", "u1", 1, T0)));
        assertThatThrownBy(() -> store.putItem(new ItemSpec("S1", "Again", 5, 1, null, null)))
                .isInstanceOfSatisfying(RejectedException.class, e -> assertThat(e.rejection()).isEqualTo(Rejection.ITEM_LOCKED));
    }

    @Test
    void stockChangesAreKeptAndAnUnknownItemIsRefused() {
        store.putItem(new ItemSpec("S1", "Phone", 10, 5, null, null));
        store.addStock("S1", 5);
        store.addStock("S1", -3);
        List<ItemSpec> items = new ArrayList<>();
        store.forEachItem(items::add);
        assertThat(items).extracting(ItemSpec::stock).containsExactly(12L);
        assertThatThrownBy(() -> store.addStock("nope", 1)).isInstanceOfSatisfying(RejectedException.class,
                e -> assertThat(e.rejection()).isEqualTo(Rejection.UNKNOWN_ITEM));
    }

    // ---- orders

    @Test
    void anOrderNamingAnItemTheStoreDoesNotHaveIsRefusedNeverDroppedSilently() {
        store.putItem(new ItemSpec("S", "Phone", 10, 5, null, null));
        Order fine = order("S", "k1", "u1", 1, T0);
        Order orphan = order("GONE", "k2", "u1", 1, T0);
        // MariaDB's INSERT IGNORE once turned the foreign-key failure into a warning: the batch
        // committed and the orphan vanished
        assertThatThrownBy(() -> store.insertOrders(List.of(fine, orphan)))
                .isInstanceOfSatisfying(DependencyUnavailableException.class,
                        e -> assertThat(e.outcomeUnknown()).as("refused before commit").isFalse());
        assertThat(store.order(fine.orderId())).as("the batch is all or nothing").isEmpty();
        assertThat(store.knownItems(List.of("S", "GONE", "S"))).containsExactly("S");
        store.insertOrders(List.of(fine));
        assertThat(store.order(fine.orderId())).isPresent();
    }

    @Test
    void orderInsertsAreIdempotentByIdAndByKey() {
        store.putItem(new ItemSpec("S1", "Phone", 10, 5, null, null));
        Order first = order("S1", "k1", "u1", 2, T0);
        store.insertOrders(List.of(first));
        store.insertOrders(List.of(first));
        // same key, another id: ignored (the same user, so that the sharded store sees it in one shard)
        store.insertOrders(List.of(order("S1", "k1", "u1", 1, T0)));
        List<Order> all = new ArrayList<>();
        store.forEachOrder(all::add);
        assertThat(all).containsExactly(first);
        assertThat(store.order(first.orderId())).contains(first);
        assertThat(store.orderByKey("S1", "k1")).contains(first);
        assertThat(store.order("nope")).isEmpty();
        assertThat(store.orderByKey("S1", "nope")).isEmpty();
    }

    @Test
    void ordersOfManyUsersAreFoundByIdByKeyAndInPresentIds() {
        store.putItem(new ItemSpec("S1", "Phone", 100, 100, null, null));
        List<Order> placed = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            placed.add(order("S1", "k" + i, "user-" + i, 1 + i % 3, T0.plusMillis(i)));
        }
        store.insertOrders(placed);
        for (Order o : placed) {
            assertThat(store.order(o.orderId())).contains(o);
            assertThat(store.orderByKey("S1", o.idempotencyKey())).contains(o);
        }
        List<String> asked = new ArrayList<>(placed.stream().map(Order::orderId).toList());
        asked.add("missing");
        assertThat(store.presentIds(asked)).containsExactlyInAnyOrderElementsOf(
                placed.stream().map(Order::orderId).toList());
    }

    @Test
    void reinsertingABatchOfManyUsersInAnyOrderStoresEachOrderOnce() {
        store.putItem(new ItemSpec("S1", "Phone", 100, 100, null, null));
        List<Order> batch = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            batch.add(order("S1", "k-" + i, "user-" + i, 1, T0));
        }
        store.insertOrders(batch);
        store.insertOrders(batch);
        store.insertOrders(batch.reversed());
        List<Order> all = new ArrayList<>();
        store.forEachOrder(all::add);
        assertThat(all).containsExactlyInAnyOrderElementsOf(batch);
    }

    @Test
    void userOrdersComeNewestFirstUpToTheLimit() {
        store.putItem(new ItemSpec("S1", "Phone", 100, 100, null, null));
        List<Order> placed = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            placed.add(order("S1", "k" + i, "u1", 1, T0.plusMillis(i)));
        }
        store.insertOrders(placed);
        store.insertOrders(List.of(order("S1", "other", "u2", 1, T0)));
        assertThat(store.ordersOfUser("u1", 3)).containsExactly(placed.get(4), placed.get(3), placed.get(2));
        assertThat(store.ordersOfUser("nobody", 50)).isEmpty();
    }

    @Test
    void cancelHappensOnce() {
        store.putItem(new ItemSpec("S1", "Phone", 10, 5, null, null));
        Order o = order("S1", "k1", "u1", 1, T0);
        store.insertOrders(List.of(o));
        OrderStore.Cancellation first = store.cancel(o.orderId(), T0.plusSeconds(1)).orElseThrow();
        OrderStore.Cancellation second = store.cancel(o.orderId(), T0.plusSeconds(2)).orElseThrow();
        assertThat(first.cancelledNow()).isTrue();
        assertThat(first.order().status()).isEqualTo(OrderStatus.CANCELLED);
        assertThat(second.cancelledNow()).isFalse();
        assertThat(second.order().status()).isEqualTo(OrderStatus.CANCELLED);
        assertThat(store.order(o.orderId()).orElseThrow().status()).isEqualTo(OrderStatus.CANCELLED);
        assertThat(store.cancel("missing", T0)).isEmpty();
    }

    @Test
    void concurrentCancelsOfOneOrderCancelItExactlyOnce() throws Exception {
        store.putItem(new ItemSpec("S1", "Phone", 1_000, 1_000, null, null));
        long seed = Seeds.seed("store.cancels.seed");
        Random random = new Random(seed);
        for (int round = 0; round < 10; round++) {
            Order o = order("S1", "c" + round, "user-" + random.nextInt(40), 1, T0);
            store.insertOrders(List.of(o));
            int callers = 2 + random.nextInt(6);
            List<Future<OrderStore.Cancellation>> answers = new ArrayList<>();
            try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
                for (int c = 0; c < callers; c++) {
                    answers.add(pool.submit(() -> store.cancel(o.orderId(), T0.plusSeconds(1)).orElseThrow()));
                }
            }
            int now = 0;
            for (Future<OrderStore.Cancellation> a : answers) {
                now += a.get().cancelledNow() ? 1 : 0;
                assertThat(a.get().order().status()).isEqualTo(OrderStatus.CANCELLED);
            }
            assertThat(now).as("seed %d round %d: cancelled by exactly one of %d callers", seed, round, callers)
                    .isEqualTo(1);
        }
    }

    @Test
    void unitsSoldSumEveryLiveOrderOfEveryUserLeavingOutCancelledOnes() {
        store.putItem(new ItemSpec("S1", "Phone", 100, 100, null, null));
        store.putItem(new ItemSpec("S2", "Case", 100, 100, null, null));
        Order cancelled = order("S1", "c", "user-c", 7, T0);
        store.insertOrders(List.of(order("S1", "a", "user-a", 2, T0), order("S1", "b", "user-b", 3, T0), cancelled,
                order("S2", "d", "user-d", 1, T0)));
        store.cancel(cancelled.orderId(), T0);
        assertThat(store.unitsSoldBySku()).isEqualTo(Map.of("S1", 5L, "S2", 1L));
    }

    @Test
    void concurrentBatchesWithOverlappingKeysStoreEachKeyOnce() {
        store.putItem(new ItemSpec("S1", "Phone", 1000, 5, null, null));
        long seed = Seeds.seed("store.overlapping.seed");
        Random seeds = new Random(seed);
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int t = 0; t < 16; t++) {
                Random random = new Random(seeds.nextLong());
                pool.submit(() -> {
                    List<Order> batch = new ArrayList<>();
                    for (int i = 0; i < 50; i++) {
                        int key = random.nextInt(200);
                        // a key unique per shard only is given one user, as a client's retry does
                        String user = keysUniquePerShardOnly() ? "u" + key : "u" + i;
                        batch.add(order("S1", "k" + key, user, 1, T0));
                    }
                    store.insertOrders(batch);
                    return null;
                });
            }
        }
        List<Order> all = new ArrayList<>();
        store.forEachOrder(all::add);
        assertThat(all).as("seed %d", seed).extracting(Order::idempotencyKey).doesNotHaveDuplicates();
        assertThat(all).isNotEmpty();
    }

    @Test
    void concurrentDuplicatedBatchesFromManyVirtualThreadsStoreEveryOrderExactlyOnce() throws Exception {
        store.putItem(new ItemSpec("S1", "Phone", 1_000_000, 1_000, null, null));
        long seed = Seeds.seed("store.duplicated.seed");
        Random random = new Random(seed);
        List<Order> orders = new ArrayList<>();
        for (int i = 0; i < 600; i++) {
            String user = "user-" + random.nextInt(150);
            orders.add(order("S1", "k" + i, user, 1 + random.nextInt(3), T0.plusMillis(random.nextInt(10_000))));
        }
        // every order in at least two batches, the batches written at once from as many threads
        List<List<Order>> batches = new ArrayList<>();
        for (int copy = 0; copy < 2; copy++) {
            List<Order> shuffled = new ArrayList<>(orders);
            Collections.shuffle(shuffled, random);
            for (int from = 0; from < shuffled.size(); ) {
                int size = 1 + random.nextInt(40);
                batches.add(shuffled.subList(from, Math.min(shuffled.size(), from + size)));
                from += size;
            }
        }
        for (int extra = 0; extra < 40; extra++) {
            batches.add(List.of(orders.get(random.nextInt(orders.size())), orders.get(random.nextInt(orders.size()))));
        }
        Collections.shuffle(batches, random);
        AtomicInteger retries = new AtomicInteger();
        List<Future<?>> writers = new ArrayList<>();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (List<Order> batch : batches) {
                writers.add(pool.submit(() -> {
                    // as every writer does: a failed batch is written again, whole
                    for (int attempt = 1; ; attempt++) {
                        try {
                            store.insertOrders(batch);
                            return null;
                        } catch (DependencyUnavailableException e) {
                            retries.incrementAndGet();
                            if (attempt == 5) {
                                throw e;
                            }
                        }
                    }
                }));
            }
        }
        for (Future<?> writer : writers) {
            writer.get();
        }
        System.out.println(batches.size() + " batches from as many virtual threads, " + retries + " retried");
        List<Order> stored = Collections.synchronizedList(new ArrayList<>());
        store.forEachOrder(stored::add);
        assertThat(stored).as("seed %d", seed).containsExactlyInAnyOrderElementsOf(orders);
        long units = orders.stream().mapToLong(Order::quantity).sum();
        assertThat(store.unitsSoldBySku()).isEqualTo(Map.of("S1", units));
    }

    // ---- failed orders

    @Test
    void aFailedOrderReadsBackFailedByIdKeyAndUserAndHoldsNoUnits() {
        store.putItem(new ItemSpec("S", "Phone", 10, 5, null, null));
        Order live = order("S", "k1", "u1", 2, T0);
        store.insertOrders(List.of(live));
        Order failed = order("GONE", "k2", "u1", 3, T0.plusSeconds(1)).failed("UNKNOWN_ITEM");

        assertThat(store.recordFailedOrder(failed)).as("recorded now").isTrue();
        assertThat(store.recordFailedOrder(failed)).as("recorded once").isFalse();
        assertThat(store.recordFailedOrder(live.failed("UNKNOWN_ITEM"))).as("a stored order is not failed").isFalse();

        assertThat(store.order(failed.orderId())).hasValueSatisfying(o -> {
            assertThat(o.status()).isEqualTo(OrderStatus.FAILED);
            assertThat(o.statusReason()).isEqualTo("UNKNOWN_ITEM");
            assertThat(o.quantity()).isEqualTo(3);
        });
        assertThat(store.order(live.orderId())).hasValueSatisfying(o -> assertThat(o.status()).isEqualTo(OrderStatus.CONFIRMED));
        assertThat(store.orderByKey("GONE", "k2")).hasValueSatisfying(o -> assertThat(o.orderId()).isEqualTo(failed.orderId()));
        assertThat(store.ordersOfUser("u1", 10)).extracting(Order::orderId, Order::status)
                .containsExactly(tuple(failed.orderId(), OrderStatus.FAILED), tuple(live.orderId(), OrderStatus.CONFIRMED));
        assertThat(store.ordersOfUser("u1", 1)).extracting(Order::orderId).containsExactly(failed.orderId());
        List<Order> all = Collections.synchronizedList(new ArrayList<>());
        store.forEachOrder(all::add);
        assertThat(all).extracting(Order::orderId).containsExactlyInAnyOrder(live.orderId(), failed.orderId());
        assertThat(store.presentIds(List.of(live.orderId(), failed.orderId()))).containsExactly(live.orderId());
        assertThat(store.unitsSoldBySku()).containsExactly(Map.entry("S", 2L));
    }

    // ---- the reconciler's fenced writes

    @Test
    void anOrderReleasedByTheReconcilerIsNeverStoredAndAStoredOneIsNeverReleased() throws Exception {
        store.putItem(new ItemSpec("S", "Phone", 1_000, 1_000, null, null));
        Fence fence = new Fence("floodgate.reconciler", 1);
        Order stored = order("S", "k1", "u1", 1, T0);
        Order late = order("S", "k2", "u2", 1, T0);
        store.insertOrders(List.of(stored));
        assertThat(store.releaseUnstored(fence, List.of(stored, late))).containsExactly(late.orderId());
        store.insertOrders(List.of(late)); // the paused instance wakes and writes it
        assertThat(store.order(late.orderId())).as("released for good").isEmpty();
        assertThat(store.releaseUnstored(fence, List.of(stored, late))).as("decided once").containsExactly(late.orderId());
        Order retry = order("S", "k2", "u2", 1, T0.plusSeconds(9)); // the client's retry, a new order on the key
        store.insertOrders(List.of(retry));
        assertThat(store.orderByKey("S", "k2")).hasValueSatisfying(o -> assertThat(o.orderId()).isEqualTo(retry.orderId()));

        // the reconciler and a late writer at once, many times: exactly one of the two wins each
        long seed = Seeds.seed("store.fates.seed");
        Random random = new Random(seed);
        try (ExecutorService both = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int round = 0; round < 30; round++) {
                Order raced = order("S", "race-" + round, "u" + random.nextInt(50), 1, T0);
                var release = both.submit(() -> store.releaseUnstored(fence, List.of(raced)));
                var write = both.submit(() -> {
                    store.insertOrders(List.of(raced));
                    return null;
                });
                write.get();
                boolean released = release.get().contains(raced.orderId());
                assertThat(store.order(raced.orderId()).isPresent()).as("seed %d round %d: stored xor released", seed, round)
                        .isNotEqualTo(released);
            }
        }
    }

    @Test
    void fencedWritesTakeEqualAndNewerTokensAndRefuseOlderOnesChangingNothing() {
        store.putItem(new ItemSpec("S1", "Phone", 10, 5, null, null));
        store.recordAudit(new Fence("reconciler", 5), List.of(audit("S1", 5)));
        store.recordAudit(new Fence("reconciler", 5), List.of(audit("S1", 4)));
        store.recordAudit(new Fence("reconciler", 7), List.of(audit("S1", 3), audit("S2", 0)));
        store.recordAudit(new Fence("another-lock", 1), List.of(audit("S3", 1)));

        assertThatThrownBy(() -> store.recordAudit(new Fence("reconciler", 6), List.of(audit("S1", 99))))
                .isInstanceOfSatisfying(StaleFencingTokenException.class, e -> {
                    assertThat(e.token()).isEqualTo(6);
                    assertThat(e.newest()).isEqualTo(7);
                })
                .hasMessageContaining("reconciler");
        Order late = order("S1", "late", "u1", 1, T0);
        assertThatThrownBy(() -> store.insertOrders(new Fence("reconciler", 6), List.of(late)))
                .isInstanceOf(StaleFencingTokenException.class);
        assertThatThrownBy(() -> store.releaseUnstored(new Fence("reconciler", 6), List.of(late)))
                .isInstanceOf(StaleFencingTokenException.class);

        assertThat(store.recentAudits(10)).extracting(a -> a.fence().token(), a -> a.audit().storeSold())
                .containsExactly(tuple(1L, 1L), tuple(7L, 0L), tuple(7L, 3L), tuple(5L, 4L), tuple(5L, 5L));
        assertThat(store.recentAudits(10).getFirst().audit()).isEqualTo(audit("S3", 1));
        assertThat(store.recentAudits(10).get(1).audit().drift()).isEqualTo(5);
        assertThat(store.order(late.orderId())).isEmpty();

        List<Order> settled = new ArrayList<>();
        for (int i = 0; i < 6; i++) { // several users: a sharded store writes every shard
            settled.add(order("S1", "settled-" + i, "user-" + i, 1, T0));
        }
        store.insertOrders(new Fence("reconciler", 7), settled);
        for (Order o : settled) {
            assertThat(store.order(o.orderId())).contains(o);
        }
    }

    @Test
    void concurrentFencedWritersAreAcceptedOnlyInRisingTokenOrder() {
        long seed = Seeds.seed("fencing.writers.seed");
        Random seeds = new Random(seed);
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
                            store.recordAudit(new Fence("reconciler", token), List.of(audit(writer, token)));
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
        List<Long> tokensInCommitOrder = store.recentAudits(1000).reversed().stream()
                .map(a -> a.fence().token()).toList();
        assertThat(tokensInCommitOrder).as("seed %d", seed).hasSize(accepted.get()).isSorted();
        assertThat(accepted.get() + refused.size()).isEqualTo(120);
        assertThat(store.recentAudits(1000)).allSatisfy(a -> assertThat(a.audit().storeSold()).isEqualTo(a.fence().token()));
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
    @Test
    void mixedConcurrentWritersAreNeverRefusedForContention() {
        long seed = Seeds.seed("mixed.writers.seed");
        Random seeds = new Random(seed);
        List<Throwable> failures = Collections.synchronizedList(new ArrayList<>());
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int t = 0; t < 16; t++) {
                Random random = new Random(seeds.nextLong());
                String sku = "MX" + t;
                String user = "mx-user-" + t;
                pool.submit(() -> {
                    store.putItem(new ItemSpec(sku, "Mixed", 1000, 100, null, null));
                    List<Order> placed = new ArrayList<>();
                    for (int i = 0; i < 40; i++) {
                        try {
                            switch (random.nextInt(6)) {
                                case 0 -> store.putItem(new ItemSpec("D" + sku + "-" + i, "Defined", 10, 1, null, null));
                                case 1 -> {
                                    Order o = order(sku, sku + "-k" + i, user, 1, T0);
                                    store.insertOrders(List.of(o));
                                    placed.add(o);
                                }
                                case 2 -> {
                                    if (!placed.isEmpty()) {
                                        store.cancel(placed.removeLast().orderId(), T0.plusSeconds(1));
                                    }
                                }
                                case 3 -> store.recordAudit(new Fence("reconciler", 1), List.of(audit(sku, 1)));
                                case 4 -> store.addStock(sku, 1);
                                default -> store.unitsSoldBySku();
                            }
                        } catch (RuntimeException e) {
                            failures.add(e);
                        }
                    }
                    return null;
                });
            }
        }
        assertThat(failures).as("seed %d: writes refused while others wrote", seed).isEmpty();
    }

    // ---- lifecycle

    @Test
    void aClosedStoreFailsFastAndHonestly() {
        OrderStore s = store;
        assertThat(s.ping(Duration.ofSeconds(1))).isTrue();
        s.close();
        store = null;
        assertThat(s.ping(Duration.ofSeconds(1))).isFalse();
        assertThatThrownBy(() -> s.insertOrders(List.of(order("S1", "k", "u", 1, T0))))
                .isInstanceOf(DependencyUnavailableException.class)
                .hasMessageNotContaining("INSERT");
    }

    // ---- payments, expiry and the outbox

    private static final Duration WINDOW = Duration.ofSeconds(60);
    private static final Price PRICE = new Price(1_299, "EUR");
    private static final Fence RELAY = new Fence("floodgate.events", 1);

    private void windowedItem(String sku) {
        store.putItem(new ItemSpec(sku, "Paid " + sku, 1_000, 1_000, null, null, WINDOW, PRICE));
    }

    /** An order of {@code sku}, made at T0, due a window later. */
    private static Order dueOrder(String sku, String key, String user, int qty) {
        return order(sku, key, user, qty, T0).due(T0.plus(WINDOW));
    }

    private static PaymentCallback paid(String paymentId, Order o) {
        return new PaymentCallback(paymentId, o.orderId(), PaymentCallback.Status.SUCCEEDED,
                PRICE.amountMinor() * o.quantity(), PRICE.currency());
    }

    private Order stored(Order o) {
        return store.order(o.orderId()).orElseThrow();
    }

    /** Every event, after stamping whatever is committed. */
    private List<OrderEvent> allEvents() {
        while (store.stampEvents(RELAY, 1_000) > 0) {
            // stamp until nothing is left
        }
        List<OrderEvent> events = new ArrayList<>();
        long after = 0;
        while (true) {
            List<OrderEvent> page = store.events(after, 100);
            if (page.isEmpty()) {
                return events;
            }
            events.addAll(page);
            after = page.getLast().position();
        }
    }

    @Test
    void paymentTermsAreKeptWithTheItem() {
        windowedItem("P");
        List<ItemSpec> items = new ArrayList<>();
        store.forEachItem(items::add);
        assertThat(items).containsExactly(new ItemSpec("P", "Paid P", 1_000, 1_000, null, null, WINDOW, PRICE));
    }

    @Test
    void anUnpaidOrderExpiresOnceAtItsDueTimeAndOwesItsUnitsUntilTheyAreBack() {
        windowedItem("P");
        Order o = dueOrder("P", "k1", "user-1", 2);
        store.insertOrders(List.of(o));
        assertThat(stored(o).payment()).isEqualTo(Payment.due(T0.plus(WINDOW)));
        assertThat(stored(o).status()).isEqualTo(OrderStatus.CONFIRMED);

        assertThat(store.expireDue(T0.plus(WINDOW).minusMillis(1), 10)).as("not due yet").isEmpty();
        List<Order> expired = store.expireDue(T0.plus(WINDOW), 10);
        assertThat(expired).extracting(Order::orderId).containsExactly(o.orderId());
        Order after = stored(o);
        assertThat(after.status()).isEqualTo(OrderStatus.CANCELLED);
        assertThat(after.statusReason()).isEqualTo(Order.PAYMENT_EXPIRED);
        assertThat(after.payment().state()).isEqualTo(PaymentState.EXPIRED);
        assertThat(expired.getFirst()).isEqualTo(after);
        assertThat(store.unitsSoldBySku()).doesNotContainKey("P");
        assertThat(store.expireDue(T0.plus(WINDOW).plusSeconds(5), 10)).as("expired once").isEmpty();

        assertThat(store.unitsToReturn(10)).extracting(Order::orderId).containsExactly(o.orderId());
        store.unitsReturned(List.of(o.orderId()));
        assertThat(store.unitsToReturn(10)).isEmpty();
        assertThat(store.paymentCounts()).isEqualTo(Map.of(PaymentState.EXPIRED, 1L));
    }

    @Test
    void aPaymentBeforeTheDueTimePaysTheOrderOnceAndItsRetryAnswersTheSame() {
        windowedItem("P");
        Order o = dueOrder("P", "k1", "user-1", 3);
        store.insertOrders(List.of(o));
        PaymentCallback pay = paid("pay-1", o);

        var first = store.recordPayment(pay, T0.plusSeconds(10));
        assertThat(first).isInstanceOfSatisfying(PaymentOutcome.Applied.class, a -> {
            assertThat(a.expiredNow()).isFalse();
            assertThat(a.order().payment()).isEqualTo(new Payment(PaymentState.PAID, T0.plus(WINDOW), "pay-1",
                    T0.plusSeconds(10)));
            assertThat(a.order().status()).isEqualTo(OrderStatus.CONFIRMED);
        });
        assertThat(store.recordPayment(pay, T0.plusSeconds(20))).as("the same callback again").isEqualTo(first);
        assertThat(store.recordPayment(new PaymentCallback("pay-1", o.orderId(), PaymentCallback.Status.SUCCEEDED,
                1, "EUR"), T0.plusSeconds(20))).isInstanceOf(PaymentOutcome.PaymentIdReused.class);
        assertThat(store.recordPayment(paid("pay-2", o), T0.plusSeconds(20)))
                .isEqualTo(new PaymentOutcome.AlreadyPaid("pay-1"));

        OrderStore.Cancellation cancel = store.cancel(o.orderId(), T0.plusSeconds(30)).orElseThrow();
        assertThat(cancel.cancelledNow()).as("a paid order is not cancelled").isFalse();
        assertThat(cancel.order().payment().state()).isEqualTo(PaymentState.PAID);
        assertThat(store.expireDue(T0.plus(WINDOW).plusSeconds(1), 10)).as("a paid order never expires").isEmpty();
        assertThat(store.unitsSoldBySku()).containsEntry("P", 3L);
        assertThat(store.paymentCounts()).isEqualTo(Map.of(PaymentState.PAID, 1L));
    }

    @Test
    void aSuccessAtOrAfterTheDueTimeExpiresTheOrderAndTheMoneyIsOwedBack() {
        windowedItem("P");
        Order o = dueOrder("P", "k1", "user-1", 1);
        store.insertOrders(List.of(o));
        var late = store.recordPayment(paid("pay-late", o), T0.plus(WINDOW));
        assertThat(late).isInstanceOfSatisfying(PaymentOutcome.Applied.class, a -> {
            assertThat(a.expiredNow()).as("its units are owed back").isTrue();
            assertThat(a.order().status()).isEqualTo(OrderStatus.CANCELLED);
            assertThat(a.order().statusReason()).isEqualTo(Order.PAYMENT_EXPIRED);
            assertThat(a.order().payment().state()).isEqualTo(PaymentState.REFUND_DUE);
            assertThat(a.order().payment().paymentId()).isEqualTo("pay-late");
        });
        assertThat(store.unitsToReturn(10)).extracting(Order::orderId).containsExactly(o.orderId());
        assertThat(store.expireDue(T0.plus(WINDOW).plusSeconds(1), 10)).as("expired once").isEmpty();
        assertThat(store.recordPayment(paid("pay-late", o), T0.plus(WINDOW).plusSeconds(9))).as("retried")
                .isInstanceOfSatisfying(PaymentOutcome.Applied.class, a -> assertThat(a.expiredNow()).isFalse());
        assertThat(allEvents()).extracting(OrderEvent::type).containsExactly(OrderEvent.Type.CREATED,
                OrderEvent.Type.EXPIRED, OrderEvent.Type.REFUND_DUE);
    }

    @Test
    void aSuccessForAnOrderExpiredOrCancelledFirstIsRefundDueAndTakesNoUnitsBack() {
        windowedItem("P");
        Order expires = dueOrder("P", "k1", "user-1", 1);
        Order cancelled = dueOrder("P", "k2", "user-2", 1);
        store.insertOrders(List.of(expires, cancelled));
        OrderStore.Cancellation c = store.cancel(cancelled.orderId(), T0.plusSeconds(5)).orElseThrow();
        assertThat(store.expireDue(T0.plus(WINDOW), 10)).extracting(Order::orderId).containsExactly(expires.orderId());
        assertThat(c.cancelledNow()).isTrue();
        assertThat(c.order().statusReason()).isEqualTo(Order.CANCEL_REQUESTED);
        assertThat(c.order().payment().state()).as("no payment is due any more").isEqualTo(PaymentState.EXPIRED);

        for (Order o : List.of(expires, cancelled)) {
            var outcome = store.recordPayment(paid("pay-" + o.idempotencyKey(), o), T0.plus(WINDOW).plusSeconds(1));
            assertThat(outcome).isInstanceOfSatisfying(PaymentOutcome.Applied.class, a -> {
                assertThat(a.expiredNow()).isFalse();
                assertThat(a.order().payment().state()).isEqualTo(PaymentState.REFUND_DUE);
                assertThat(a.order().status()).isEqualTo(OrderStatus.CANCELLED);
            });
        }
        assertThat(store.unitsSoldBySku()).doesNotContainKey("P");
        assertThat(store.paymentCounts()).isEqualTo(Map.of(PaymentState.REFUND_DUE, 2L));
    }

    @Test
    void aFailedPaymentLeavesTheOrderDueAndIsRememberedByItsId() {
        windowedItem("P");
        Order o = dueOrder("P", "k1", "user-1", 1);
        store.insertOrders(List.of(o));
        PaymentCallback failed = new PaymentCallback("pay-f", o.orderId(), PaymentCallback.Status.FAILED,
                PRICE.amountMinor(), "EUR");
        assertThat(store.recordPayment(failed, T0.plusSeconds(1))).isInstanceOfSatisfying(PaymentOutcome.Applied.class,
                a -> assertThat(a.order().payment().state()).isEqualTo(PaymentState.DUE));
        assertThat(store.recordPayment(paid("pay-f", o), T0.plusSeconds(2))).as("the id names a failure")
                .isInstanceOf(PaymentOutcome.PaymentIdReused.class);
        assertThat(store.recordPayment(paid("pay-ok", o), T0.plusSeconds(3))).isInstanceOfSatisfying(
                PaymentOutcome.Applied.class, a -> assertThat(a.order().payment().state()).isEqualTo(PaymentState.PAID));
    }

    @Test
    void refusedPaymentsRecordNothing() {
        windowedItem("P");
        store.putItem(new ItemSpec("N", "No window", 10, 10, null, null));
        store.putItem(new ItemSpec("F", "Free price", 10, 10, null, null, WINDOW, null));
        Order o = dueOrder("P", "k1", "user-1", 2);
        Order plain = order("N", "k2", "user-2", 1, T0);
        Order anyPrice = dueOrder("F", "k3", "user-3", 1);
        store.insertOrders(List.of(o, plain, anyPrice));

        assertThat(store.recordPayment(new PaymentCallback("pay-1", o.orderId(), PaymentCallback.Status.SUCCEEDED,
                PRICE.amountMinor(), "EUR"), T0)).as("one unit's price for two")
                .isEqualTo(new PaymentOutcome.Mismatch(PRICE, 2));
        assertThat(store.recordPayment(new PaymentCallback("pay-1", o.orderId(), PaymentCallback.Status.SUCCEEDED,
                PRICE.amountMinor() * 2, "USD"), T0)).isEqualTo(new PaymentOutcome.Mismatch(PRICE, 2));
        assertThat(store.recordPayment(new PaymentCallback("pay-2", plain.orderId(), PaymentCallback.Status.SUCCEEDED,
                1, "EUR"), T0)).isInstanceOf(PaymentOutcome.NoPaymentDue.class);
        assertThat(store.recordPayment(new PaymentCallback("pay-3", "no-such-order", PaymentCallback.Status.SUCCEEDED,
                1, "EUR"), T0)).isInstanceOf(PaymentOutcome.UnknownOrder.class);
        assertThat(stored(o).payment().state()).isEqualTo(PaymentState.DUE);
        // the refused ids were not taken: the right callbacks under them go through
        assertThat(store.recordPayment(paid("pay-1", o), T0)).isInstanceOf(PaymentOutcome.Applied.class);
        assertThat(store.recordPayment(new PaymentCallback("pay-4", anyPrice.orderId(), PaymentCallback.Status.SUCCEEDED,
                5, "JPY"), T0)).as("no price: any amount").isInstanceOf(PaymentOutcome.Applied.class);
    }

    @Test
    void everyCommittedChangeHasExactlyOneEventInTheOrderOfTheChangesAndOnlyOnceStamped() {
        windowedItem("P");
        store.putItem(new ItemSpec("N", "No window", 100, 100, null, null));
        Order paidOrder = dueOrder("P", "k1", "user-1", 1);
        Order expired = dueOrder("P", "k2", "user-2", 1);
        Order cancelled = order("N", "k3", "user-3", 1, T0);
        Order plain = order("N", "k4", "user-4", 1, T0);
        store.insertOrders(List.of(paidOrder, expired, cancelled, plain));
        store.insertOrders(List.of(paidOrder, expired, cancelled, plain)); // written again: no second event
        store.insertOrders(List.of(order("N", "k4", "user-4", 1, T0))); // another id on a stored key: none
        if (positionsAtCommit()) {
            assertThat(store.events(0, 100)).as("each created event, visible as it commits").hasSize(4);
        } else {
            assertThat(store.events(0, 100)).as("nothing is visible before it is stamped").isEmpty();
        }

        store.recordPayment(paid("pay-1", paidOrder), T0.plusSeconds(1));
        store.recordPayment(paid("pay-1", paidOrder), T0.plusSeconds(2)); // the retry changes nothing
        store.cancel(cancelled.orderId(), T0.plusSeconds(3));
        store.cancel(cancelled.orderId(), T0.plusSeconds(4));
        store.expireDue(T0.plus(WINDOW), 10);
        store.expireDue(T0.plus(WINDOW), 10);

        List<OrderEvent> events = allEvents();
        assertThat(events).extracting(OrderEvent::id).doesNotHaveDuplicates();
        assertThat(events).extracting(OrderEvent::position).isSorted().doesNotHaveDuplicates();
        Map<String, List<OrderEvent.Type>> byOrder = new java.util.LinkedHashMap<>();
        events.forEach(e -> byOrder.computeIfAbsent(e.order().orderId(), k -> new ArrayList<>()).add(e.type()));
        assertThat(byOrder).containsOnly(
                Map.entry(paidOrder.orderId(), List.of(OrderEvent.Type.CREATED, OrderEvent.Type.PAID)),
                Map.entry(expired.orderId(), List.of(OrderEvent.Type.CREATED, OrderEvent.Type.EXPIRED)),
                Map.entry(cancelled.orderId(), List.of(OrderEvent.Type.CREATED, OrderEvent.Type.CANCELLED)),
                Map.entry(plain.orderId(), List.of(OrderEvent.Type.CREATED)));
        for (OrderEvent e : events) { // each event holds the order as its change left it
            switch (e.type()) {
                case CREATED -> assertThat(e.order().status()).isEqualTo(OrderStatus.CONFIRMED);
                case PAID -> assertThat(e.order().payment().state()).isEqualTo(PaymentState.PAID);
                case CANCELLED -> assertThat(e.order().statusReason()).isEqualTo(Order.CANCEL_REQUESTED);
                case EXPIRED -> assertThat(e.order().statusReason()).isEqualTo(Order.PAYMENT_EXPIRED);
                case REFUND_DUE -> assertThat(e.order().payment().state()).isEqualTo(PaymentState.REFUND_DUE);
            }
        }

        // a newer relay takes over: the old one is refused once there is something to stamp, the
        // cursor goes on without a gap
        long last = events.getLast().position();
        store.cancel(plain.orderId(), T0.plusSeconds(9));
        Fence newer = new Fence(RELAY.lockName(), 2);
        assertThat(store.stampEvents(newer, 100)).isEqualTo(positionsAtCommit() ? 0 : 1);
        assertThat(store.stampEvents(RELAY, 100)).as("nothing left to stamp: not even a stale relay writes").isZero();
        assertThat(store.events(last, 100)).extracting(OrderEvent::type, e -> e.order().orderId())
                .containsExactly(tuple(OrderEvent.Type.CANCELLED, plain.orderId()));
        assertThat(store.events(last + 1, 100)).isEmpty();
        if (!positionsAtCommit()) {
            Order later = order("N", "k5", "user-5", 1, T0);
            store.insertOrders(List.of(later));
            assertThatThrownBy(() -> store.stampEvents(RELAY, 100)).isInstanceOf(StaleFencingTokenException.class);
            assertThat(store.stampEvents(newer, 100)).isEqualTo(1);
        }
    }

    /**
     * {@code call}, again while the store refuses it before doing anything (a pool with no free
     * connection under this many racers): what every caller of the store does. A failure whose
     * outcome is unknown is not retried here: the test could not count what it did.
     */
    private static <T> T retried(java.util.function.Supplier<T> call) {
        for (int attempt = 1; ; attempt++) {
            try {
                return call.get();
            } catch (DependencyUnavailableException e) {
                if (e.outcomeUnknown() || attempt == 50) {
                    throw e;
                }
                java.util.concurrent.locks.LockSupport.parkNanos(java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(20));
            }
        }
    }

    /**
     * The races of a sale with payments, many rounds: payments (before and after the due time, some
     * twice), cancels and several instances' expiries of the same orders at once. Each order ends
     * in exactly one final state, its units are released by exactly one of the racers (or by none,
     * when paid in time), and its events tell that one story in order.
     */
    @Test
    void paymentsCancelsAndExpiriesRacingOnTheSameOrdersLeaveEachInExactlyOneFinalState() throws Exception {
        windowedItem("P");
        long seed = Seeds.seed("store.payment.race.seed");
        Random random = new Random(seed);
        Instant due = T0.plus(WINDOW);
        List<Order> all = new ArrayList<>();
        for (int round = 0; round < 12; round++) {
            List<Order> orders = new ArrayList<>();
            for (int i = 0; i < 16; i++) {
                orders.add(dueOrder("P", "r" + round + "-" + i, "user-" + random.nextInt(60), 1 + random.nextInt(3)));
            }
            store.insertOrders(orders);
            all.addAll(orders);
            Map<String, AtomicInteger> releases = new java.util.concurrent.ConcurrentHashMap<>();
            orders.forEach(o -> releases.put(o.orderId(), new AtomicInteger()));
            Map<String, PaymentOutcome> paidInTime = new java.util.concurrent.ConcurrentHashMap<>();
            List<java.util.concurrent.Callable<Void>> racers = new ArrayList<>();
            for (int e = 0; e < 3; e++) {
                racers.add(() -> {
                    retried(() -> store.expireDue(due.plusSeconds(1), 5))
                            .forEach(o -> releases.get(o.orderId()).incrementAndGet());
                    retried(() -> store.expireDue(due.plusSeconds(1), 100))
                            .forEach(o -> releases.get(o.orderId()).incrementAndGet());
                    return null;
                });
            }
            for (Order o : orders) {
                int what = random.nextInt(4);
                Instant payAt = random.nextBoolean() ? due.minusSeconds(1) : due.plusSeconds(1);
                int payments = what == 0 ? 0 : 1 + random.nextInt(2);
                for (int p = 0; p < payments; p++) {
                    racers.add(() -> {
                        PaymentOutcome outcome = retried(() -> store.recordPayment(paid("pay-" + o.idempotencyKey(), o), payAt));
                        if (outcome instanceof PaymentOutcome.Applied a) {
                            if (a.expiredNow()) {
                                releases.get(o.orderId()).incrementAndGet();
                            }
                            if (a.order().payment().state() == PaymentState.PAID) {
                                paidInTime.put(o.orderId(), outcome);
                            }
                        }
                        return null;
                    });
                }
                if (what == 3) {
                    racers.add(() -> {
                        if (retried(() -> store.cancel(o.orderId(), T0.plusSeconds(30))).orElseThrow().cancelledNow()) {
                            releases.get(o.orderId()).incrementAndGet();
                        }
                        return null;
                    });
                }
            }
            java.util.Collections.shuffle(racers, random);
            try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
                for (Future<Void> f : pool.invokeAll(racers)) {
                    f.get();
                }
            }
            store.expireDue(due.plusSeconds(2), 1_000).forEach(o -> releases.get(o.orderId()).incrementAndGet());
            for (Order o : orders) {
                Order end = stored(o);
                String context = "seed " + seed + " round " + round + " order " + o.idempotencyKey() + " " + end;
                boolean paidOnTime = end.payment().state() == PaymentState.PAID;
                assertThat(end.payment().state()).as(context).isNotEqualTo(PaymentState.DUE);
                assertThat(end.status()).as(context).isEqualTo(paidOnTime ? OrderStatus.CONFIRMED : OrderStatus.CANCELLED);
                assertThat(releases.get(o.orderId()).get()).as(context + ": units released by exactly one racer")
                        .isEqualTo(paidOnTime ? 0 : 1);
                assertThat(paidInTime.containsKey(o.orderId())).as(context + ": paid iff a payment was answered PAID")
                        .isEqualTo(paidOnTime);
            }
        }
        long live = all.stream().filter(o -> stored(o).payment().state() == PaymentState.PAID)
                .mapToLong(Order::quantity).sum();
        assertThat(store.unitsSoldBySku().getOrDefault("P", 0L)).as("seed %d: units held = units of paid orders", seed)
                .isEqualTo(live);
        Map<String, List<OrderEvent.Type>> stories = new java.util.HashMap<>();
        allEvents().forEach(e -> stories.computeIfAbsent(e.order().orderId(), k -> new ArrayList<>()).add(e.type()));
        for (Order o : all) {
            List<OrderEvent.Type> story = stories.get(o.orderId());
            assertThat(story).as("seed %d: events of %s", seed, stored(o)).isIn(
                    List.of(OrderEvent.Type.CREATED, OrderEvent.Type.PAID),
                    List.of(OrderEvent.Type.CREATED, OrderEvent.Type.EXPIRED),
                    List.of(OrderEvent.Type.CREATED, OrderEvent.Type.EXPIRED, OrderEvent.Type.REFUND_DUE),
                    List.of(OrderEvent.Type.CREATED, OrderEvent.Type.CANCELLED),
                    List.of(OrderEvent.Type.CREATED, OrderEvent.Type.CANCELLED, OrderEvent.Type.REFUND_DUE));
        }
    }

    @Test
    void theSameCallbackSentManyTimesAtOnceTakesEffectOnceAndEveryCopyIsAnsweredAlike() throws Exception {
        windowedItem("P");
        Order onTime = dueOrder("P", "k1", "user-1", 1);
        Order late = dueOrder("P", "k2", "user-2", 1);
        store.insertOrders(List.of(onTime, late));
        for (var sent : List.of(Map.entry(onTime, T0.plusSeconds(1)), Map.entry(late, T0.plus(WINDOW).plusSeconds(1)))) {
            List<Future<PaymentOutcome>> answers = new ArrayList<>();
            try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
                for (int i = 0; i < 8; i++) {
                    answers.add(pool.submit(() -> retried(() -> store.recordPayment(paid("pay-" + sent.getKey()
                            .idempotencyKey(), sent.getKey()), sent.getValue()))));
                }
            }
            int expiredNow = 0;
            for (Future<PaymentOutcome> a : answers) {
                assertThat(a.get()).isInstanceOf(PaymentOutcome.Applied.class);
                PaymentOutcome.Applied applied = (PaymentOutcome.Applied) a.get();
                assertThat(applied.order().payment()).isEqualTo(stored(sent.getKey()).payment());
                expiredNow += applied.expiredNow() ? 1 : 0;
            }
            assertThat(expiredNow).as("units owed back by exactly one copy of a late payment")
                    .isEqualTo(sent.getKey() == late ? 1 : 0);
        }
        assertThat(stored(onTime).payment().state()).isEqualTo(PaymentState.PAID);
        assertThat(stored(late).payment().state()).isEqualTo(PaymentState.REFUND_DUE);
        assertThat(allEvents()).extracting(OrderEvent::type).containsExactlyInAnyOrder(OrderEvent.Type.CREATED,
                OrderEvent.Type.CREATED, OrderEvent.Type.PAID, OrderEvent.Type.EXPIRED, OrderEvent.Type.REFUND_DUE);
    }
}
