package io.floodgate.redis;

import io.floodgate.core.Deadline;
import io.floodgate.core.DependencyUnavailableException;
import io.floodgate.core.RejectedException;
import io.floodgate.core.Rejection;
import io.floodgate.core.domain.ItemSpec;
import io.floodgate.core.domain.Order;
import io.floodgate.core.domain.OrderIds;
import io.floodgate.core.domain.OrderStatus;
import io.floodgate.core.port.StockLedger.ReserveOutcome;
import io.floodgate.testing.MutableClock;
import io.floodgate.testing.TestOrderStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * What only the Redis ledger has: the local sold-out marker, the epoch markers and the rebuild
 * from the store when Redis comes back empty, and failing fast (never hanging) when Redis does not
 * answer. Destructive cases (kill, pause) run on a redis-server of their own.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RedisLedgerTest {

    private static final Instant NOW = Instant.parse("2026-11-26T12:00:00Z");
    private final MutableClock clock = new MutableClock(NOW);
    private final AtomicLong ticker = new AtomicLong();
    private final TestOrderStore store = TestOrderStore.embedded();
    private final List<AutoCloseable> closeAfter = new ArrayList<>();
    private final List<String> namespaces = new ArrayList<>();

    @BeforeAll
    static void redisAnswers() {
        RedisTestSupport.requireOrSkip(RedisTestSupport.URL);
    }

    @AfterEach
    void cleanUp() throws Exception {
        for (AutoCloseable c : closeAfter.reversed()) {
            c.close();
        }
        namespaces.forEach(ns -> RedisTestSupport.deleteNamespace(RedisTestSupport.URL, ns));
        store.close();
    }

    private RedisStockLedger ledger(String namespace, RedisLedgers.Settings.Builder settings) {
        RedisStockLedger ledger = RedisStockLedger.open(settings.namespace(namespace).build(), clock, store, ticker::get);
        closeAfter.add(ledger);
        return ledger;
    }

    private RedisStockLedger sharedRedisLedger(String namespace) {
        namespaces.add(namespace);
        return ledger(namespace,
                RedisLedgers.settings(RedisTestSupport.URL).soldOutRecheck(Duration.ofSeconds(1)));
    }

    /** Defines the item in the store and the ledger, as CatalogService does. */
    private void define(RedisStockLedger ledger, ItemSpec spec) {
        var definition = ledger.beginDefinition(spec.sku());
        store.putItem(spec);
        definition.commit(spec);
    }

    private static Order order(String key, String user, String sku, int qty) {
        return new Order(OrderIds.next(NOW.toEpochMilli()), sku, user, qty, OrderStatus.CONFIRMED, NOW, "r", key);
    }

    /** Reserves, stores and confirms, as OrderService does. */
    private Order place(RedisStockLedger ledger, String key, String user, String sku, int qty) {
        Order o = order(key, user, sku, qty);
        assertThat(ledger.reserve(o, soon())).as("reserve of " + key).isEqualTo(ReserveOutcome.RESERVED);
        store.insertOrders(List.of(o));
        ledger.confirm(sku, key);
        return o;
    }

    private static Deadline soon() {
        return Deadline.after(Duration.ofSeconds(5));
    }

    // ------------------------------------------------------------------ sold-out marker

    @Test
    void aCallInsideAGuardedScopeReportsRedisOwnTimeForTheBreaker() {
        RedisStockLedger ledger = sharedRedisLedger(RedisTestSupport.freshNamespace());
        define(ledger, new ItemSpec("T", "Timed", 5, 1, null, null));
        io.floodgate.core.DependencyTime time = new io.floodgate.core.DependencyTime();
        ScopedValue.where(io.floodgate.core.DependencyTime.CURRENT, time).run(() -> ledger.view("T"));
        // the reply's callback runs on Lettuce's thread just after the caller is woken
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(5))
                .until(() -> time.nanosOr(-1) >= 0);
        assertThat(time.nanosOr(-1)).as("Redis's own time, recorded").isBetween(0L, java.util.concurrent.TimeUnit.SECONDS.toNanos(5));
    }

    @Test
    void soldOutItemRejectsWithoutTouchingRedis() {
        RedisStockLedger ledger = sharedRedisLedger(RedisTestSupport.freshNamespace());
        define(ledger, new ItemSpec("S", "Phone", 2, 1, null, null));
        place(ledger, "k1", "u1", "S", 1);
        place(ledger, "k2", "u2", "S", 1);
        assertThat(ledger.reserve(order("k3", "u3", "S", 1), soon())).isEqualTo(new ReserveOutcome.SoldOut(0));
        assertThat(ledger.soldOutMarked("S")).as("marker set by the sold-out answer").isTrue();

        long callsBefore = ledger.redisCalls();
        for (int i = 0; i < 1_000; i++) {
            assertThat(ledger.reserve(order("flood-" + i, "fan-" + i, "S", 1), soon()))
                    .isEqualTo(new ReserveOutcome.SoldOut(0));
        }
        assertThat(ledger.redisCalls()).as("Redis commands for 1,000 sold-out requests").isEqualTo(callsBefore);
        assertThat(ledger.stats().soldOutLocalAnswers()).isEqualTo(1_000);

        // Requests that owe another answer still go to Redis, and get it.
        assertThat(ledger.reserve(order("k9", "u1", "S", 1), soon())).isEqualTo(new ReserveOutcome.LimitReached(1, 1));
        assertThat(ledger.reserve(order("k1", "u1", "S", 1), soon())).isInstanceOf(ReserveOutcome.Replayed.class);
        assertThat(ledger.redisCalls()).isEqualTo(callsBefore + 2);
    }

    @Test
    void soldOutMarkerLapsesAfterTheRecheckSoStockReturnedByAnotherInstanceIsSold() {
        String ns = RedisTestSupport.freshNamespace();
        RedisStockLedger a = sharedRedisLedger(ns);
        RedisStockLedger b = sharedRedisLedger(ns);
        define(a, new ItemSpec("S", "Phone", 1, 1, null, null));
        Order sold = place(a, "k1", "u1", "S", 1);
        assertThat(a.reserve(order("k2", "u2", "S", 1), soon())).isInstanceOf(ReserveOutcome.SoldOut.class);
        assertThat(a.soldOutMarked("S")).isTrue();

        b.returnUnits(sold); // the unit comes back through the other instance; a cannot see it
        assertThat(a.reserve(order("k2", "u2", "S", 1), soon())).as("within the recheck")
                .isInstanceOf(ReserveOutcome.SoldOut.class);

        ticker.addAndGet(Duration.ofSeconds(1).toNanos());
        assertThat(a.reserve(order("k2", "u2", "S", 1), soon())).as("after the recheck").isEqualTo(ReserveOutcome.RESERVED);
    }

    /**
     * Found by the nemesis: after Redis restarted empty, an instance rebuilt sooner sold a unit the
     * lost server had held and acknowledged its key; the key's replay on an instance that still had
     * its sold-out marker from before the loss was answered SOLD_OUT. A marker goes when the loss is
     * noticed, not when this instance's own rebuild ends.
     */
    @Test
    void soldOutMarkersGoWhenTheLossOfRedisIsNoticed() {
        String ns = RedisTestSupport.freshNamespace();
        namespaces.add(ns);
        RedisStockLedger ledger = ledger(ns, RedisLedgers.settings(RedisTestSupport.URL).epochCheckPeriod(Duration.ZERO));
        define(ledger, new ItemSpec("S", "Phone", 1, 1, null, null));
        place(ledger, "k1", "u1", "S", 1);
        assertThat(ledger.reserve(order("k2", "u2", "S", 1), soon())).isInstanceOf(ReserveOutcome.SoldOut.class);
        assertThat(ledger.soldOutMarked("S")).isTrue();

        RedisTestSupport.command(RedisTestSupport.URL, "DEL", ns + ":epoch"); // as on a restart
        ledger.rebuild().checkMarkers();

        assertThat(ledger.soldOutMarked("S")).as("the marker of the lost server").isFalse();
    }

    // ------------------------------------------------------------------ losing Redis

    @Test
    void emptiedRedisAnswersUnavailableUntilRebuiltFromTheStore() throws Exception {
        String ns = RedisTestSupport.freshNamespace();
        RedisStockLedger ledger = sharedRedisLedger(ns);
        define(ledger, new ItemSpec("S", "Phone", 10, 2, null, null));
        define(ledger, new ItemSpec("T", "Case", 5, 5, NOW.plusSeconds(3600), null));
        Order kept = place(ledger, "k1", "u1", "S", 2);
        Order cancelled = place(ledger, "k2", "u2", "S", 1);
        store.cancel(cancelled.orderId(), NOW);
        ledger.returnUnits(cancelled);
        assertThat(ledger.reserve(order("k3", "u3", "S", 1), soon())).isEqualTo(ReserveOutcome.RESERVED); // never stored

        TestOrderStore.Gate scans = store.hold(TestOrderStore.Op.FOR_EACH_ORDER, TestOrderStore.Phase.BEFORE);
        RedisTestSupport.deleteNamespace(RedisTestSupport.URL, ns); // what a restart without persistence does

        assertThatThrownBy(() -> ledger.reserve(order("k4", "u4", "S", 1), soon()))
                .isInstanceOfSatisfying(DependencyUnavailableException.class,
                        e -> assertThat(e.dependency()).isEqualTo("redis"))
                .hasMessageContaining("no epoch marker");
        assertThat(scans.awaitEntered(Duration.ofSeconds(30))).as("a rebuild started").isTrue();
        assertThatThrownBy(() -> ledger.reserve(order("k4", "u4", "S", 1), soon()))
                .as("while the rebuild is still reading the store")
                .isInstanceOf(DependencyUnavailableException.class);
        scans.open();

        awaitRebuilt(() -> ledger.view("S").isPresent());
        var s = ledger.view("S").orElseThrow();
        assertThat(s.available()).as("10 less the one live order's 2").isEqualTo(8);
        assertThat(ledger.held("S", "u1")).isEqualTo(2);
        assertThat(ledger.held("S", "u2")).isZero();
        assertThat(ledger.held("S", "u3")).as("the unstored reservation is gone with Redis").isZero();
        assertThat(ledger.view("T").orElseThrow().spec().startsAt()).isEqualTo(NOW.plusSeconds(3600));
        assertThat(ledger.views()).hasSize(2);
        assertThat(ledger.reserve(order("k1", "u1", "S", 2), soon())).isEqualTo(new ReserveOutcome.Replayed(kept.orderId()));
        assertThat(ledger.reserve(order("k2", "u2", "S", 1), soon())).isEqualTo(new ReserveOutcome.Replayed(cancelled.orderId()));
        assertThat(ledger.reserve(order("k9", "u1", "S", 1), soon())).isEqualTo(new ReserveOutcome.LimitReached(2, 2));
        assertThat(ledger.reserve(order("k3", "u3", "S", 1), soon())).as("its key is free again")
                .isEqualTo(ReserveOutcome.RESERVED);
        assertThatThrownBy(() -> ledger.beginDefinition("S")).as("locked by its orders, after the rebuild as before")
                .isInstanceOfSatisfying(RejectedException.class, e -> assertThat(e.rejection()).isEqualTo(Rejection.ITEM_LOCKED));
    }

    @Test
    void aReplicaPromotedBehindRefusesUntilRepairedAndThenCountsTheOrdersItMissed() {
        try (RedisSentinels group = RedisSentinels.start()) {
            RedisStockLedger ledger = ledger("fg", RedisLedgers.settings(group.url(0)).epochCheckPeriod(Duration.ZERO));
            define(ledger, new ItemSpec("S", "Phone", 5, 1, null, null));
            Order first = place(ledger, "k1", "u1", "S", 1);
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> group.replica()
                    .cli("HGET", "fg:{S}:keys", "k1").contains(first.orderId()));

            // two more orders reach the primary only; then it dies and the replica is promoted
            List<Order> missed = new ArrayList<>();
            group.failOverToALaggingReplica(() -> {
                missed.add(place(ledger, "k2", "u2", "S", 1));
                missed.add(place(ledger, "k3", "u3", "S", 1));
            });

            // The promoted replica has the item with 4 available: selling now would sell two units twice.
            long firstAnswer = awaitAnswer(() -> ledger.view("S").orElseThrow().available());
            assertThat(firstAnswer).as("the first answer after the failover counts the missed orders").isEqualTo(2);
            assertThat(ledger.reserve(order("k2", "u2", "S", 1), soon())).as("the missed order, replayed")
                    .isEqualTo(new ReserveOutcome.Replayed(missed.getFirst().orderId()));
            assertThat(ledger.reserve(order("k9", "u3", "S", 1), soon())).as("u3's missed unit counts to its limit")
                    .isEqualTo(new ReserveOutcome.LimitReached(1, 1));
            place(ledger, "k4", "u4", "S", 1);
            place(ledger, "k5", "u5", "S", 1);
            assertThat(ledger.reserve(order("k6", "u6", "S", 1), soon())).as("exactly the stock sold")
                    .isEqualTo(new ReserveOutcome.SoldOut(0));
        }
    }

    @Test
    void aMarkerCopiedFromAnotherServerIsNotTrustedTheLedgerIsRepaired() {
        String ns = RedisTestSupport.freshNamespace();
        RedisStockLedger ledger = ledger(ns, RedisLedgers.settings(RedisTestSupport.URL).epochCheckPeriod(Duration.ZERO));
        namespaces.add(ns);
        define(ledger, new ItemSpec("S", "Phone", 5, 5, null, null));
        Order stored = order("k1", "u1", "S", 2);
        store.insertOrders(List.of(stored)); // durable, but the ledger never heard of it (a lost write)

        // what a replica holds after a full resync: its old primary's marker
        RedisTestSupport.command(RedisTestSupport.URL, "SET", ns + ":epoch", "0123456789abcdef0123456789abcdef01234567 then");
        ledger.rebuild().checkMarkers();

        awaitRebuilt(() -> ledger.view("S").orElseThrow().available() == 3);
        assertThat(ledger.reserve(order("k1", "u1", "S", 2), soon())).isEqualTo(new ReserveOutcome.Replayed(stored.orderId()));
        assertThat(RedisTestSupport.command(RedisTestSupport.URL, "GET", ns + ":epoch")).as("remarked by this server")
                .doesNotContain("0123456789abcdef");
    }

    /**
     * Found by the nemesis (seed 777): a replica promoted by a failover holds a copy of the marker
     * naming its old primary, and it sold a unit to a user whose earlier order it had missed before
     * the watcher's next check. Every script checks that the marker names the server it runs on,
     * so the very next reservation is refused; the watcher is off here, so nothing else could.
     */
    @Test
    void aMarkerCopiedFromAnotherServerRefusesTheVeryNextReservation() {
        String ns = RedisTestSupport.freshNamespace();
        RedisStockLedger ledger = ledger(ns, RedisLedgers.settings(RedisTestSupport.URL).epochCheckPeriod(Duration.ZERO));
        namespaces.add(ns);
        define(ledger, new ItemSpec("S", "Phone", 5, 2, null, null));
        Order missed = order("k1", "u1", "S", 2);
        store.insertOrders(List.of(missed)); // reserved and stored, but lost with the old primary

        RedisTestSupport.command(RedisTestSupport.URL, "SET", ns + ":epoch", "0123456789abcdef0123456789abcdef01234567 then");
        assertThatThrownBy(() -> ledger.reserve(order("k2", "u1", "S", 1), soon()))
                .as("u1 already holds its limit in the store; the promoted ledger must not sell to it")
                .isInstanceOf(DependencyUnavailableException.class).hasMessageContaining("no epoch marker");

        awaitRebuilt(() -> ledger.view("S").orElseThrow().available() == 3);
        assertThat(ledger.reserve(order("k2", "u1", "S", 1), soon())).as("the limit counts the missed order")
                .isEqualTo(new ReserveOutcome.LimitReached(2, 2));
    }

    @Test
    void aRepairConfirmsStoredPendingKeysReturnsCancelledOnesAndLeavesReservationsInFlight() {
        String ns = RedisTestSupport.freshNamespace();
        RedisStockLedger ledger = sharedRedisLedger(ns);
        define(ledger, new ItemSpec("S", "Phone", 10, 5, null, null));
        Order pendingButStored = order("k1", "u1", "S", 1);
        assertThat(ledger.reserve(pendingButStored, soon())).isEqualTo(ReserveOutcome.RESERVED);
        store.insertOrders(List.of(pendingButStored)); // its request died before confirming
        Order cancelledInStore = place(ledger, "k2", "u2", "S", 2);
        store.cancel(cancelledInStore.orderId(), NOW); // its cancel died before the ledger heard of it
        Order inFlight = order("k3", "u3", "S", 3);
        assertThat(ledger.reserve(inFlight, soon())).isEqualTo(ReserveOutcome.RESERVED);
        assertThat(ledger.view("S").orElseThrow().available()).isEqualTo(4);

        RedisTestSupport.command(RedisTestSupport.URL, "DEL", ns + ":epoch"); // as on a promoted replica
        var rebuilt = ledger.rebuildFrom(store);

        assertThat(rebuilt.repairedKeys()).isEqualTo(2);
        assertThat(ledger.view("S").orElseThrow().available()).as("10 - 1 stored - 3 in flight").isEqualTo(6);
        assertThat(ledger.held("S", "u2")).isZero();
        assertThat(ledger.pendingReservations(NOW.plusSeconds(60), 10)).extracting(r -> r.orderId())
                .as("the reservation in flight is left to its request").containsExactly(inFlight.orderId());
        assertThat(ledger.reserve(order("k1", "u1", "S", 1), soon()))
                .isEqualTo(new ReserveOutcome.Replayed(pendingButStored.orderId()));
    }

    @Test
    void anOrderReservedBeforeTheLossAndMadeDurableDuringTheQuietPeriodIsCounted() {
        String ns = RedisTestSupport.freshNamespace();
        namespaces.add(ns);
        RedisStockLedger ledger = ledger(ns, RedisLedgers.settings(RedisTestSupport.URL)
                .rebuildQuiet(Duration.ofSeconds(2)).epochCheckPeriod(Duration.ZERO));
        define(ledger, new ItemSpec("S", "Phone", 5, 5, null, null));
        Order inFlight = order("k1", "u1", "S", 2);
        assertThat(ledger.reserve(inFlight, soon())).isEqualTo(ReserveOutcome.RESERVED);

        RedisTestSupport.deleteNamespace(RedisTestSupport.URL, ns); // Redis lost it, reservation and all
        assertThatThrownBy(() -> ledger.reserve(order("k2", "u2", "S", 1), soon()))
                .isInstanceOf(DependencyUnavailableException.class); // noticed: the rebuild waits out the quiet period
        // the request that reserved k1 is still making its order durable: stored now, then confirmed
        store.insertOrders(List.of(inFlight));
        ledger.confirm("S", "k1");

        long available = awaitAnswer(() -> ledger.view("S").orElseThrow().available());
        assertThat(available).as("the order made durable after the loss is counted by the rebuild").isEqualTo(3);
        assertThat(ledger.reserve(order("k1", "u1", "S", 2), soon())).isEqualTo(new ReserveOutcome.Replayed(inFlight.orderId()));
    }

    @Test
    void aLedgerThatCannotBeRebuiltAtStartStartsUnavailableAndIsRebuiltOnceItCan() {
        String ns = RedisTestSupport.freshNamespace();
        namespaces.add(ns);
        java.util.concurrent.atomic.AtomicBoolean logDown = new java.util.concurrent.atomic.AtomicBoolean(true);
        store.putItem(new ItemSpec("S", "Phone", 5, 5, null, null));
        RedisStockLedger ledger = ledger(ns, RedisLedgers.settings(RedisTestSupport.URL).beforeRebuild(() -> {
            if (logDown.get()) {
                throw new DependencyUnavailableException("kafka", "the order log cannot drain: the store is write-locked");
            }
        }));
        assertThatThrownBy(() -> ledger.reserve(order("k1", "u1", "S", 1), soon()))
                .as("no marker yet: refused, not sold from an empty ledger").isInstanceOf(DependencyUnavailableException.class);
        logDown.set(false);
        awaitRebuilt(() -> ledger.reserve(order("k1", "u1", "S", 1), soon()) == ReserveOutcome.RESERVED);
        assertThat(ledger.view("S").orElseThrow().available()).isEqualTo(4);
    }

    @Test
    void aCancelThatFindsRedisEmptiedIsRetriedUntilTheRebuildIsDoneAndReturnsItsUnits() throws Exception {
        String ns = RedisTestSupport.freshNamespace();
        RedisStockLedger ledger = sharedRedisLedger(ns);
        define(ledger, new ItemSpec("S", "Phone", 3, 3, null, null));
        Order o = place(ledger, "k1", "u1", "S", 2);

        TestOrderStore.Gate scanned = store.hold(TestOrderStore.Op.FOR_EACH_ORDER, TestOrderStore.Phase.AFTER);
        RedisTestSupport.deleteNamespace(RedisTestSupport.URL, ns);
        assertThatThrownBy(() -> ledger.reserve(order("k9", "u9", "S", 1), soon()))
                .isInstanceOf(DependencyUnavailableException.class); // starts the rebuild
        assertThat(scanned.awaitEntered(Duration.ofSeconds(30))).as("the rebuild read the orders").isTrue();

        // The rebuild has read the order as live; now it is cancelled, in the store and then in the
        // ledger, which still has no epoch marker: the units must come back once it has one.
        Order cancelled = store.cancel(o.orderId(), NOW).orElseThrow().order();
        ledger.returnUnits(cancelled);
        scanned.open();

        awaitRebuilt(() -> ledger.view("S").isPresent());
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
            assertThat(ledger.view("S").orElseThrow().available()).as("the cancelled order's units are back").isEqualTo(3);
            assertThat(ledger.held("S", "u1")).isZero();
        });
        assertThat(ledger.reserve(order("k1", "u1", "S", 2), soon())).as("the key still names the cancelled order")
                .isEqualTo(new ReserveOutcome.Replayed(o.orderId()));
    }

    @Test
    void aRetryOfAKeyLeftPendingWhoseOrderIsStoredConfirmsAndReplaysIt() {
        String ns = RedisTestSupport.freshNamespace();
        RedisStockLedger crashed = sharedRedisLedger(ns);
        RedisStockLedger other = sharedRedisLedger(ns);
        define(crashed, new ItemSpec("S", "Phone", 5, 5, null, null));
        Order o = order("k1", "u1", "S", 1);
        assertThat(crashed.reserve(o, soon())).isEqualTo(ReserveOutcome.RESERVED);
        store.insertOrders(List.of(o)); // durable; its instance dies before it confirms

        assertThat(other.reserve(order("k1", "u1", "S", 1), Deadline.after(Duration.ofSeconds(3))))
                .as("a retry on another instance replays the stored order, not waits out its deadline")
                .isEqualTo(new ReserveOutcome.Replayed(o.orderId()));
        assertThat(other.pendingReservations(NOW.plusSeconds(60), 10)).as("confirmed").isEmpty();

        // A pending key whose order is not stored is left alone: its request may still be writing it.
        Order inFlight = order("k2", "u2", "S", 1);
        assertThat(crashed.reserve(inFlight, soon())).isEqualTo(ReserveOutcome.RESERVED);
        assertThat(other.reserve(order("k2", "u2", "S", 1), Deadline.after(Duration.ofMillis(400))))
                .isEqualTo(ReserveOutcome.TIMED_OUT);
        assertThat(other.pendingReservations(NOW.plusSeconds(60), 10)).extracting(r -> r.orderId())
                .containsExactly(inFlight.orderId());
        assertThat(other.view("S").orElseThrow().available()).isEqualTo(3);
    }

    @Test
    void twoInstancesRebuildingAtOnceCountEveryOrderOnce() throws Exception {
        String ns = RedisTestSupport.freshNamespace();
        RedisStockLedger a = sharedRedisLedger(ns);
        RedisStockLedger b = sharedRedisLedger(ns);
        define(a, new ItemSpec("S", "Phone", 1_000, 1_000, null, null));
        for (int i = 0; i < 600; i++) { // more than two restore chunks
            place(i % 2 == 0 ? a : b, "k" + i, "u" + (i % 7), "S", 1);
        }
        TestOrderStore.Gate scans = store.hold(TestOrderStore.Op.FOR_EACH_ORDER, TestOrderStore.Phase.BEFORE);
        RedisTestSupport.deleteNamespace(RedisTestSupport.URL, ns);
        assertThatThrownBy(() -> a.reserve(order("x", "ux", "S", 1), soon())).isInstanceOf(DependencyUnavailableException.class);
        assertThatThrownBy(() -> b.reserve(order("x", "ux", "S", 1), soon())).isInstanceOf(DependencyUnavailableException.class);
        scans.open(); // both rebuilds now restore the same orders at once

        awaitRebuilt(() -> a.view("S").isPresent() && b.view("S").isPresent());
        a.rebuildFrom(store); // and a third, after the fact, changes nothing
        assertThat(b.view("S").orElseThrow().available()).isEqualTo(400);
        int held = 0;
        for (int u = 0; u < 7; u++) {
            held += a.held("S", "u" + u);
        }
        assertThat(held).isEqualTo(600);
    }

    @Test
    void scriptsFlushedFromRedisAreSentAgain() {
        RedisTestSupport.requireRedisServerBinary();
        RedisProcess server = RedisProcess.start();
        closeAfter.add(server);
        RedisStockLedger ledger = ledger("fg", RedisLedgers.settings(server.url()));
        define(ledger, new ItemSpec("S", "Phone", 3, 1, null, null));
        server.cli("script", "flush");
        assertThat(ledger.reserve(order("k1", "u1", "S", 1), soon())).isEqualTo(ReserveOutcome.RESERVED);
        assertThat(ledger.views()).hasSize(1);
    }

    @Test
    void rebuildLeavesItemsRedisStillHasAlone() {
        RedisStockLedger ledger = sharedRedisLedger(RedisTestSupport.freshNamespace());
        define(ledger, new ItemSpec("S", "Phone", 10, 5, null, null));
        assertThat(ledger.reserve(order("k1", "u1", "S", 3), soon())).isEqualTo(ReserveOutcome.RESERVED);
        store.putItem(new ItemSpec("S", "Stale", 99, 1, null, null));

        var rebuilt = ledger.rebuildFrom(store);

        assertThat(rebuilt.restoredItems()).isZero();
        var s = ledger.view("S").orElseThrow();
        assertThat(s.spec().name()).isEqualTo("Phone");
        assertThat(s.available()).as("the pending reservation, which the store has not seen, still holds").isEqualTo(7);
        assertThat(ledger.held("S", "u1")).isEqualTo(3);
    }

    @Test
    void killedRedisFailsFastAndARestartedEmptyOneIsRebuilt() {
        RedisTestSupport.requireRedisServerBinary();
        RedisProcess server = RedisProcess.start();
        closeAfter.add(server);
        RedisStockLedger ledger = ledger("fg", RedisLedgers.settings(server.url()));
        define(ledger, new ItemSpec("S", "Phone", 3, 1, null, null));
        Order kept = place(ledger, "k1", "u1", "S", 1);

        server.kill();
        for (int i = 0; i < 3; i++) {
            assertThatThrownBy(() -> ledger.reserve(order("k2", "u2", "S", 1), Deadline.after(Duration.ofSeconds(30))))
                    .as("while Redis is down: an error, not a wait for the 30 s deadline")
                    .isInstanceOfSatisfying(DependencyUnavailableException.class,
                            e -> assertThat(e.dependency()).isEqualTo("redis"));
        }
        ledger.confirm("S", "k-unknown"); // settlements never throw; this one is retried in the background

        server.startAgain(); // empty: no persistence
        awaitRebuilt(() -> ledger.reserve(order("k1", "u1", "S", 1), soon()) instanceof ReserveOutcome.Replayed);
        assertThat(ledger.reserve(order("k1", "u1", "S", 1), soon())).isEqualTo(new ReserveOutcome.Replayed(kept.orderId()));
        assertThat(ledger.view("S").orElseThrow().available()).isEqualTo(2);
        assertThat(ledger.reserve(order("k2", "u2", "S", 1), soon())).isEqualTo(ReserveOutcome.RESERVED);
    }

    @Test
    void reserveWhoseReplyIsLateTimesOutAndLeavesNoReservation() {
        RedisTestSupport.requireRedisServerBinary();
        RedisProcess server = RedisProcess.start();
        closeAfter.add(server);
        RedisStockLedger ledger = ledger("fg",
                RedisLedgers.settings(server.url()).maxCommandTimeout(Duration.ofMillis(300)));
        define(ledger, new ItemSpec("S", "Phone", 5, 5, null, null));

        server.cli("client", "pause", "1500", "write"); // Redis takes the command but runs it only later
        assertThat(ledger.reserve(order("k1", "u1", "S", 1), Deadline.after(Duration.ofMillis(100))))
                .as("the request's own deadline ran out first").isEqualTo(ReserveOutcome.TIMED_OUT);
        assertThatThrownBy(() -> ledger.reserve(order("k2", "u2", "S", 2), Deadline.after(Duration.ofSeconds(30))))
                .as("Redis is slower than maxCommandTimeout: 503, not a 30 s wait")
                .isInstanceOfSatisfying(DependencyUnavailableException.class, e -> assertThat(e.outcomeUnknown()).isTrue());

        // Both reservations ran once the pause ended; both were undone by the owner-checked release.
        awaitRebuilt(() -> ledger.unsettled() == 0 && ledger.view("S").orElseThrow().available() == 5);
        assertThat(ledger.held("S", "u1")).isZero();
        assertThat(ledger.held("S", "u2")).isZero();
        assertThat(ledger.reserve(order("k1", "u1", "S", 1), soon())).as("the key is free").isEqualTo(ReserveOutcome.RESERVED);
    }

    /** The first answer {@code call} gives without DependencyUnavailableException (polling; bounded by the test's timeout). */
    private static <T> T awaitAnswer(Supplier<T> call) {
        while (true) {
            try {
                return call.get();
            } catch (DependencyUnavailableException notYet) {
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
            }
        }
    }

    /** Polls (no time assertion: the test's own timeout bounds it) until {@code done} holds. */
    private static void awaitRebuilt(Supplier<Boolean> done) {
        while (true) {
            try {
                if (done.get()) {
                    return;
                }
            } catch (DependencyUnavailableException notYet) {
                // still rebuilding, or still reconnecting
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
        }
    }
}
