package io.floodgate.app;

import io.floodgate.core.Deadline;
import io.floodgate.core.Reconciler;
import io.floodgate.core.domain.ItemAudit;
import io.floodgate.core.domain.ItemSpec;
import io.floodgate.core.domain.Order;
import io.floodgate.core.domain.OrderIds;
import io.floodgate.core.domain.OrderStatus;
import io.floodgate.core.port.Lock;
import io.floodgate.core.port.OrderLog;
import io.floodgate.core.port.OrderStore;
import io.floodgate.core.port.StockLedger.ReserveOutcome;
import io.floodgate.jdbc.JdbcStores;
import io.floodgate.memory.InMemoryStockLedger;
import io.floodgate.memory.InProcessLock;
import io.floodgate.testing.MutableClock;
import io.floodgate.testing.Seeds;
import io.floodgate.testing.TestFloodgate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The reconciler on real parts (the in-process ledger and lock, the embedded store) and an
 * injected clock: what a crash leaves pending is confirmed when its order is stored and released
 * when it is not, only after the grace period, only by the lock's holder; a deposed holder is
 * refused by the store's fence; the audit finds drift and only drift.
 */
class ReconcilerTest {

    private static final Duration GRACE = Duration.ofSeconds(60);
    private static final Duration LEASE = Duration.ofSeconds(15);

    private final MutableClock clock = new MutableClock(Instant.parse("2026-11-26T12:00:00Z"));
    private Path dir;
    private OrderStore store;
    private InMemoryStockLedger ledger;
    private InProcessLock lock;
    /** A log with nothing in flight: the direct log after a crash. */
    private final OrderLog caughtUp = new OrderLog() {
        @Override
        public AppendOutcome append(Order order, Deadline deadline, LateFate late) {
            throw new UnsupportedOperationException("the reconciler never appends");
        }

        @Override
        public int depth() {
            return 0;
        }

        @Override
        public void close() {
        }
    };

    @BeforeEach
    void setUp() throws Exception {
        dir = Files.createTempDirectory("floodgate-reconciler");
        store = JdbcStores.embedded(dir, clock);
        ledger = new InMemoryStockLedger(clock);
        lock = new InProcessLock(clock);
    }

    @AfterEach
    void tearDown() {
        lock.close();
        store.close();
        TestFloodgate.deleteRecursively(dir);
    }

    private Reconciler reconciler() {
        return new Reconciler(ledger, store, caughtUp, lock, clock,
                new Reconciler.Settings(Duration.ofSeconds(1), GRACE, LEASE, 1_000));
    }

    private void item(String sku, long stock) {
        ItemSpec spec = new ItemSpec(sku, "Item " + sku, stock, 1_000, null, null);
        store.putItem(spec);
        ledger.beginDefinition(sku).commit(spec);
    }

    private Order reserve(String sku, String key, int quantity) {
        Order order = new Order(OrderIds.next(clock.millis()), sku, "u-" + key, quantity, OrderStatus.CONFIRMED,
                clock.instant(), "r-" + key, key);
        assertThat(ledger.reserve(order, Deadline.after(Duration.ofSeconds(5)))).isEqualTo(ReserveOutcome.RESERVED);
        return order;
    }

    private long available(String sku) {
        return ledger.view(sku).orElseThrow().available();
    }

    @Test
    void aStaleReservationIsConfirmedWhenItsOrderIsStoredAndReleasedWhenNot() {
        item("S", 10);
        Order stored = reserve("S", "stored", 2);   // the crash came after the store write
        store.insertOrders(List.of(stored));
        Order lost = reserve("S", "lost", 3);       // the crash came before it
        clock.advance(GRACE.minusSeconds(1));
        Order young = reserve("S", "young", 1);     // still within its request's reach

        try (Reconciler reconciler = reconciler()) {
            assertThat(reconciler.runOnce()).as("nothing is old enough yet")
                    .isInstanceOfSatisfying(Reconciler.Pass.Done.class, d -> {
                        assertThat(d.confirmed()).isZero();
                        assertThat(d.released()).isZero();
                    });
            clock.advance(Duration.ofSeconds(2));
            Reconciler.Pass pass = reconciler.runOnce();
            assertThat(pass).isInstanceOf(Reconciler.Pass.Done.class);
            Reconciler.Pass.Done done = (Reconciler.Pass.Done) pass;
            assertThat(done.confirmed()).isEqualTo(1);
            assertThat(done.released()).isEqualTo(1);
        }
        assertThat(available("S")).as("3 units of the lost order back; 2 sold; 1 still pending").isEqualTo(10 - 2 - 1);
        assertThat(ledger.reserve(stored.withStatus(OrderStatus.CONFIRMED), Deadline.after(Duration.ofSeconds(1))))
                .as("the stored order's key replays").isEqualTo(new ReserveOutcome.Replayed(stored.orderId()));
        assertThat(ledger.pendingReservations(clock.instant().plusMillis(1), 10)).extracting(r -> r.orderId())
                .containsExactly(young.orderId());
        assertThat(lost.orderId()).isNotEqualTo(young.orderId());
    }

    @Test
    void aReservationReleasedAfterTheGraceIsNeverStoredByItsInstanceWakingLate() {
        item("S", 5);
        Order paused = reserve("S", "k", 1); // its instance freezes here, before the store write
        clock.advance(GRACE.plusSeconds(1));
        try (Reconciler reconciler = reconciler()) {
            assertThat(reconciler.runOnce()).isInstanceOfSatisfying(Reconciler.Pass.Done.class,
                    d -> assertThat(d.released()).isEqualTo(1));
        }
        // the buyer retried meanwhile: a new order on the same key, stored and confirmed
        Order retry = reserve("S", "k", 1);
        store.insertOrders(List.of(retry));
        ledger.confirm("S", "k");
        // the frozen instance wakes and writes its order: refused, the acknowledged retry stands
        store.insertOrders(List.of(paused));
        assertThat(store.order(paused.orderId())).isEmpty();
        assertThat(store.orderByKey("S", "k")).hasValueSatisfying(o -> assertThat(o.orderId()).isEqualTo(retry.orderId()));
        assertThat(available("S")).isEqualTo(4);
    }

    @Test
    void onlyTheLockHolderActsAndAFollowerTakesOverWhenTheLeaseRunsOut() {
        item("S", 5);
        reserve("S", "k", 1);
        clock.advance(GRACE.plusSeconds(1));
        try (Reconciler first = reconciler(); Reconciler second = reconciler()) {
            assertThat(first.runOnce()).isInstanceOf(Reconciler.Pass.Done.class);
            assertThat(second.runOnce()).isInstanceOf(Reconciler.Pass.Follower.class);
            assertThat(first.stats().leader()).isTrue();
            assertThat(second.stats().leader()).isFalse();
            // the first stops renewing (a paused process): its lease runs out on the clock
            clock.advance(LEASE.plusSeconds(1));
            assertThat(second.runOnce()).isInstanceOf(Reconciler.Pass.Done.class);
            assertThat(second.stats().leader()).isTrue();
        }
    }

    @Test
    void aDeposedLeaderThatStillBelievesItLeadsIsRefusedByTheStoreAndStepsDown() {
        item("S", 5);
        Lock.Lease old = ((Lock.Acquisition.Acquired) lock.tryAcquire(Reconciler.LOCK_NAME, LEASE)).lease();
        clock.advance(LEASE.plusSeconds(1));          // old's lease ran out; a new leader takes over
        try (Reconciler newLeader = reconciler()) {
            assertThat(newLeader.runOnce()).isInstanceOf(Reconciler.Pass.Done.class);
        }
        // the old holder wakes from its pause, still sure it holds the lock
        Lock believer = new Lock() {
            @Override
            public Acquisition tryAcquire(String name, Duration lease) {
                return new Acquisition.Acquired(new Lock.Lease() {
                    public String name() {
                        return old.name();
                    }

                    public long token() {
                        return old.token();
                    }

                    public boolean isHeld() {
                        return true;
                    }

                    public void onLost(Runnable listener) {
                    }

                    public void close() {
                    }
                });
            }

            @Override
            public void close() {
            }
        };
        Order pending = reserve("S", "k", 2);
        clock.advance(GRACE.plusSeconds(1));
        try (Reconciler stale = new Reconciler(ledger, store, caughtUp, believer, clock,
                new Reconciler.Settings(Duration.ofSeconds(1), GRACE, LEASE, 1_000))) {
            assertThat(stale.runOnce()).as("refused by the fence").isInstanceOf(Reconciler.Pass.Follower.class);
        }
        assertThat(ledger.pendingReservations(clock.instant(), 10)).as("the stale leader released nothing")
                .extracting(r -> r.orderId()).containsExactly(pending.orderId());
        assertThat(store.recentAudits(100)).allSatisfy(a -> assertThat(a.fence().token()).isGreaterThan(old.token()));
    }

    @Test
    void theAuditFindsNoDriftAfterARandomMixAndFindsAnOrderTheStoreLost() {
        long seed = Seeds.seed("reconciler.audit.seed");
        Random random = new Random(seed);
        item("A", 200);
        item("B", 200);
        Set<String> storedIds = new HashSet<>();
        List<Order> stored = new ArrayList<>();
        for (int i = 0; i < 150; i++) {
            String sku = random.nextBoolean() ? "A" : "B";
            Order o = reserve(sku, "k" + i, 1 + random.nextInt(3));
            switch (random.nextInt(4)) {
                case 0 -> ledger.release(sku, o.idempotencyKey());
                case 1 -> { // left pending: in flight at the audit
                }
                default -> {
                    store.insertOrders(List.of(o));
                    ledger.confirm(sku, o.idempotencyKey());
                    stored.add(o);
                    storedIds.add(o.orderId());
                }
            }
        }
        // some stored orders are cancelled, in the store and the ledger alike
        for (Order o : stored.subList(0, stored.size() / 5)) {
            ledger.returnUnits(store.cancel(o.orderId(), clock.instant()).orElseThrow().order());
        }
        try (Reconciler reconciler = reconciler()) {
            Reconciler.Pass.Done done = (Reconciler.Pass.Done) reconciler.runOnce();
            assertThat(done.audits()).as("seed %d", seed).extracting(ItemAudit::drift).containsOnly(0L);

            // a confirmed order the store does not have (what a broken log would leave)
            Order ghost = reserve("A", "ghost", 2);
            ledger.confirm("A", ghost.idempotencyKey());
            Reconciler.Pass.Done after = (Reconciler.Pass.Done) reconciler.runOnce();
            assertThat(after.audits()).filteredOn(a -> a.sku().equals("A")).extracting(ItemAudit::drift).containsExactly(2L);
            assertThat(reconciler.drift()).containsEntry("A", 2L).containsEntry("B", 0L);
            assertThat(reconciler.stats().driftUnits()).isEqualTo(2);
        }
        assertThat(storedIds).isNotEmpty();
    }

    @Test
    void anItemThatDriftsInTwoPassesInARowIsRepairedFromTheStoreAndThenAgrees() {
        item("S", 10);
        // a sale the ledger lost (a write a failed-over Redis never got): stored, unknown here
        Order lost = new Order(OrderIds.next(clock.millis()), "S", "u-lost", 2, OrderStatus.CONFIRMED, clock.instant(),
                "r-lost", "lost");
        store.insertOrders(List.of(lost));
        // a cancel whose second half (the ledger's) never happened
        Order sold = reserve("S", "sold", 1);
        store.insertOrders(List.of(sold));
        ledger.confirm("S", "sold");
        store.cancel(sold.orderId(), clock.instant());
        // a request in flight: reserved, not stored yet
        Order inFlight = reserve("S", "flight", 3);

        try (Reconciler reconciler = reconciler()) {
            Reconciler.Pass.Done first = (Reconciler.Pass.Done) reconciler.runOnce();
            assertThat(first.audits()).extracting(ItemAudit::drift).containsExactly(-1L); // 1 sold here, 2 there
            assertThat(available("S")).as("one pass is not enough to act on").isEqualTo(6);

            reconciler.runOnce(); // the same drift again: repaired
            assertThat(available("S")).as("10 - 2 lost - 3 in flight").isEqualTo(5);
            assertThat(reconciler.stats().repairedKeys()).isEqualTo(2);

            Reconciler.Pass.Done after = (Reconciler.Pass.Done) reconciler.runOnce();
            assertThat(after.audits()).extracting(ItemAudit::drift).containsExactly(0L);
        }
        assertThat(ledger.reserve(lost, Deadline.after(Duration.ofSeconds(1))))
                .isEqualTo(new ReserveOutcome.Replayed(lost.orderId()));
        assertThat(ledger.pendingReservations(clock.instant().plusMillis(1), 10)).extracting(r -> r.orderId())
                .as("the request in flight is left alone").containsExactly(inFlight.orderId());
        assertThat(ledger.held("S", "u-sold")).isZero();
    }

    @Test
    void aStandingDriftTheRepairCannotDecideIsRepairedOnceNotEveryPass() {
        item("A", 10);
        Order ghost = reserve("A", "ghost", 2);  // confirmed here, never stored: not the ledger's to undo
        ledger.confirm("A", ghost.idempotencyKey());
        try (Reconciler reconciler = reconciler()) {
            for (int i = 0; i < 5; i++) {
                reconciler.runOnce();
            }
            assertThat(reconciler.drift()).containsEntry("A", 2L);
            assertThat(available("A")).as("units of an order the store lacks stay held").isEqualTo(8);
            assertThat(reconciler.stats().repairedKeys()).isZero();
            assertThat(reconciler.stats().repairs()).as("one scan of the item's orders, not one a pass").isEqualTo(1);
        }
    }
}
