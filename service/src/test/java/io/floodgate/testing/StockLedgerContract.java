package io.floodgate.testing;

import io.floodgate.core.Deadline;
import io.floodgate.core.RejectedException;
import io.floodgate.core.Rejection;
import io.floodgate.core.domain.ItemSpec;
import io.floodgate.core.domain.Order;
import io.floodgate.core.domain.OrderIds;
import io.floodgate.core.domain.OrderStatus;
import io.floodgate.core.port.Lock;
import io.floodgate.core.port.StockLedger;
import io.floodgate.core.port.StockLedger.ReserveOutcome;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The {@link StockLedger} contract, as behaviours every implementation must show: the in-process
 * ledger and the Redis ledger (on one server and on Redis Cluster) each run it through a subclass
 * that says how to build one and how to read a user's held units. Started as a copy of
 * {@code InMemoryStockLedgerTest}, so both implementations are held to what the embedded one does.
 */
public abstract class StockLedgerContract {

    protected static final Instant NOW = Instant.parse("2026-11-26T12:00:00Z");
    protected final MutableClock clock = new MutableClock(NOW);
    protected StockLedger ledger;

    /** A fresh, empty ledger on {@code clock}. */
    protected abstract StockLedger newLedger(MutableClock clock);

    /** Units {@code userId} holds of {@code sku}, as the implementation counts them. */
    protected abstract int held(String sku, String userId);

    @BeforeEach
    void openLedger() {
        ledger = newLedger(clock);
    }

    @AfterEach
    void closeLedger() {
        ledger.close();
    }

    protected void define(String sku, long stock, int limit, Instant startsAt, Instant endsAt) {
        ledger.beginDefinition(sku).commit(new ItemSpec(sku, "Item " + sku, stock, limit, startsAt, endsAt));
    }

    protected static Order order(String key, String user, String sku, int qty) {
        return new Order(OrderIds.next(NOW.toEpochMilli()), sku, user, qty, OrderStatus.CONFIRMED, NOW, "r", key);
    }

    protected static Deadline soon() {
        return Deadline.after(Duration.ofSeconds(5));
    }

    @Test
    void reservesUntilSoldOutAndNeverBeyond() {
        define("S", 3, 10, null, null);
        assertThat(ledger.reserve(order("k1", "u1", "S", 2), soon())).isEqualTo(ReserveOutcome.RESERVED);
        assertThat(ledger.reserve(order("k2", "u2", "S", 2), soon())).isInstanceOf(ReserveOutcome.SoldOut.class);
        assertThat(ledger.reserve(order("k3", "u2", "S", 1), soon())).isEqualTo(ReserveOutcome.RESERVED);
        assertThat(ledger.view("S").orElseThrow().available()).isZero();
    }

    @Test
    void pendingReservationsListsOnlyUnsettledOnesMadeBeforeTheCutoff() {
        define("S", 10, 10, null, null);
        define("T", 10, 10, null, null);
        Order pending = order("k1", "u1", "S", 2);
        ledger.reserve(pending, soon());
        ledger.reserve(order("k2", "u2", "S", 1), soon());
        ledger.confirm("S", "k2");
        ledger.reserve(order("k3", "u3", "S", 1), soon());
        ledger.release("S", "k3");
        Order other = order("k4", "u4", "T", 3);
        ledger.reserve(other, soon());

        assertThat(ledger.pendingReservations(NOW, 100)).as("the cutoff is exclusive").isEmpty();
        assertThat(ledger.pendingReservations(NOW.plusMillis(1), 100)).containsExactlyInAnyOrder(
                new StockLedger.Reservation("S", "k1", pending.orderId(), "u1", 2, NOW),
                new StockLedger.Reservation("T", "k4", other.orderId(), "u4", 3, NOW));
        assertThat(ledger.pendingReservations(NOW.plusMillis(1), 1)).as("at most max").hasSize(1);
    }

    @Test
    void perUserLimitAnswersBeforeSoldOut() {
        define("S", 1, 1, null, null);
        ledger.reserve(order("k1", "u1", "S", 1), soon());
        assertThat(ledger.reserve(order("k2", "u1", "S", 1), soon())).isInstanceOf(ReserveOutcome.LimitReached.class);
        assertThat(ledger.reserve(order("k3", "u2", "S", 1), soon())).isInstanceOf(ReserveOutcome.SoldOut.class);
    }

    @Test
    void releasedReservationFreesUnitsUserCountAndKey() {
        define("S", 1, 1, null, null);
        Order first = order("k1", "u1", "S", 1);
        ledger.reserve(first, soon());
        ledger.release("S", "k1");
        assertThat(ledger.view("S").orElseThrow().available()).isEqualTo(1);
        assertThat(held("S", "u1")).isZero();
        Order retry = order("k1", "u1", "S", 1);
        assertThat(ledger.reserve(retry, soon())).isEqualTo(ReserveOutcome.RESERVED);
    }

    @Test
    void confirmedKeyReplaysSameBodyAndRefusesDifferentOne() {
        define("S", 5, 5, null, null);
        Order first = order("k1", "u1", "S", 2);
        ledger.reserve(first, soon());
        ledger.confirm("S", "k1");
        assertThat(ledger.reserve(order("k1", "u1", "S", 2), soon()))
                .isEqualTo(new ReserveOutcome.Replayed(first.orderId()));
        assertThat(ledger.reserve(order("k1", "u1", "S", 1), soon()))
                .isEqualTo(new ReserveOutcome.KeyReused(first.orderId()));
        assertThat(ledger.reserve(order("k1", "u2", "S", 2), soon()))
                .isEqualTo(new ReserveOutcome.KeyReused(first.orderId()));
        assertThat(ledger.view("S").orElseThrow().available()).isEqualTo(3);
    }

    @Test
    void duplicateOfInFlightKeyWaitsAndReplaysOnlyAfterConfirm() throws Exception {
        define("S", 5, 5, null, null);
        Order first = order("k1", "u1", "S", 1);
        ledger.reserve(first, soon());
        CompletableFuture<ReserveOutcome> duplicate = CompletableFuture.supplyAsync(
                () -> ledger.reserve(order("k1", "u1", "S", 1), soon()), r -> Thread.ofVirtual().start(r));
        Thread.sleep(50);
        assertThat(duplicate).isNotDone();
        ledger.confirm("S", "k1");
        assertThat(duplicate.get(5, TimeUnit.SECONDS)).isEqualTo(new ReserveOutcome.Replayed(first.orderId()));
    }

    @Test
    void duplicateOfInFlightKeyIsJudgedAfreshWhenTheFirstIsReleased() throws Exception {
        define("S", 5, 5, null, null);
        ledger.reserve(order("k1", "u1", "S", 1), soon());
        CompletableFuture<ReserveOutcome> duplicate = CompletableFuture.supplyAsync(
                () -> ledger.reserve(order("k1", "u1", "S", 1), soon()), r -> Thread.ofVirtual().start(r));
        Thread.sleep(50);
        ledger.release("S", "k1");
        assertThat(duplicate.get(5, TimeUnit.SECONDS)).isEqualTo(ReserveOutcome.RESERVED);
        assertThat(ledger.view("S").orElseThrow().available()).isEqualTo(4);
    }

    @Test
    void duplicateOfInFlightKeyTimesOutWithinItsDeadline() {
        define("S", 5, 5, null, null);
        ledger.reserve(order("k1", "u1", "S", 1), soon());
        assertThat(ledger.reserve(order("k1", "u1", "S", 1), Deadline.after(Duration.ofMillis(20))))
                .isEqualTo(ReserveOutcome.TIMED_OUT);
    }

    @Test
    void saleWindowIsHalfOpenOnTheInjectedClock() {
        define("S", 5, 5, NOW.plusSeconds(10), NOW.plusSeconds(20));
        assertThat(ledger.reserve(order("k1", "u1", "S", 1), soon())).isEqualTo(ReserveOutcome.NOT_ON_SALE);
        assertThat(ledger.view("S").orElseThrow().state().name()).isEqualTo("UPCOMING");
        clock.advance(Duration.ofSeconds(10));
        assertThat(ledger.reserve(order("k2", "u1", "S", 1), soon())).isEqualTo(ReserveOutcome.RESERVED);
        clock.advance(Duration.ofSeconds(10));
        assertThat(ledger.reserve(order("k3", "u1", "S", 1), soon())).isEqualTo(ReserveOutcome.NOT_ON_SALE);
        assertThat(ledger.view("S").orElseThrow().state().name()).isEqualTo("ENDED");
    }

    @Test
    void cancelReturnsUnitsOnceAndLowersTheUsersCount() {
        define("S", 2, 1, null, null);
        Order o = order("k1", "u1", "S", 1);
        ledger.reserve(o, soon());
        ledger.confirm("S", "k1");
        ledger.returnUnits(o);
        ledger.returnUnits(o);
        assertThat(ledger.view("S").orElseThrow().available()).isEqualTo(2);
        assertThat(held("S", "u1")).isZero();
        assertThat(ledger.reserve(order("k2", "u1", "S", 1), soon())).isEqualTo(ReserveOutcome.RESERVED);
        // the cancelled key still names its order
        assertThat(ledger.reserve(order("k1", "u1", "S", 1), soon())).isEqualTo(new ReserveOutcome.Replayed(o.orderId()));
    }

    @Test
    void cancelBeforeConfirmIsNotUndoneByTheLateConfirm() {
        define("S", 2, 2, null, null);
        Order o = order("k1", "u1", "S", 1);
        ledger.reserve(o, soon());
        ledger.returnUnits(o);
        ledger.confirm("S", "k1");
        assertThat(ledger.view("S").orElseThrow().available()).isEqualTo(2);
        assertThat(held("S", "u1")).isZero();
    }

    @Test
    void itemWithAConfirmedOrderIsLockedEvenAfterCancel() {
        define("S", 2, 2, null, null);
        Order o = order("k1", "u1", "S", 1);
        ledger.reserve(o, soon());
        ledger.confirm("S", "k1");
        ledger.returnUnits(o);
        assertThatThrownBy(() -> ledger.beginDefinition("S"))
                .isInstanceOfSatisfying(RejectedException.class, e -> assertThat(e.rejection()).isEqualTo(Rejection.ITEM_LOCKED));
    }

    @Test
    void itemWithAReservationInFlightCannotBeRedefined() {
        define("S", 2, 2, null, null);
        ledger.reserve(order("k1", "u1", "S", 1), soon());
        assertThatThrownBy(() -> ledger.beginDefinition("S")).isInstanceOf(RejectedException.class);
        ledger.release("S", "k1");
        StockLedger.Definition d = ledger.beginDefinition("S");
        assertThat(d.creates()).isFalse();
        assertThat(d.commit(new ItemSpec("S", "New", 7, 3, null, null)).available()).isEqualTo(7);
    }

    @Test
    void reservationsWaitForADefinitionAndSeeTheNewSpec() throws Exception {
        define("S", 1, 1, null, null);
        StockLedger.Definition d = ledger.beginDefinition("S");
        CompletableFuture<ReserveOutcome> waiting = CompletableFuture.supplyAsync(
                () -> ledger.reserve(order("k1", "u1", "S", 5), soon()), r -> Thread.ofVirtual().start(r));
        Thread.sleep(30);
        assertThat(waiting).isNotDone();
        d.commit(new ItemSpec("S", "Bigger", 10, 5, null, null));
        assertThat(waiting.get(5, TimeUnit.SECONDS)).isEqualTo(ReserveOutcome.RESERVED);
        assertThat(ledger.view("S").orElseThrow().available()).isEqualTo(5);
    }

    @Test
    void abortedCreationLeavesNoItemAndWakesWaitersWithUnknownItem() throws Exception {
        StockLedger.Definition d = ledger.beginDefinition("N");
        CompletableFuture<ReserveOutcome> waiting = CompletableFuture.supplyAsync(
                () -> ledger.reserve(order("k1", "u1", "N", 1), soon()), r -> Thread.ofVirtual().start(r));
        Thread.sleep(30);
        d.abort();
        assertThat(waiting.get(5, TimeUnit.SECONDS)).isEqualTo(ReserveOutcome.UNKNOWN_ITEM);
        assertThat(ledger.view("N")).isEmpty();
    }

    @Test
    void negativeStockDeltaTakesOnlyAvailableUnits() {
        define("S", 3, 3, null, null);
        ledger.reserve(order("k1", "u1", "S", 2), soon());
        assertThatThrownBy(() -> ledger.adjustStock("S", -2))
                .isInstanceOfSatisfying(RejectedException.class, e -> assertThat(e.rejection()).isEqualTo(Rejection.SOLD_OUT));
        var view = ledger.adjustStock("S", -1);
        assertThat(view.available()).isZero();
        assertThat(view.spec().stock()).isEqualTo(2);
    }

    @Test
    void soldOutItemStillReplaysKnownKeysAndLimitsItsHolders() {
        define("S", 2, 1, null, NOW.plus(Duration.ofHours(1)));
        Order first = order("k1", "u1", "S", 1);
        ledger.reserve(first, soon());
        ledger.confirm("S", "k1");
        ledger.reserve(order("k2", "u2", "S", 1), soon());
        ledger.confirm("S", "k2");
        for (int i = 0; i < 3; i++) { // the first sold-out answer may set a local marker; later ones may use it
            assertThat(ledger.reserve(order("k3", "u3", "S", 1), soon())).isEqualTo(new ReserveOutcome.SoldOut(0));
        }
        assertThat(ledger.reserve(order("k1", "u1", "S", 1), soon())).isEqualTo(new ReserveOutcome.Replayed(first.orderId()));
        assertThat(ledger.reserve(order("k1", "u9", "S", 1), soon())).isEqualTo(new ReserveOutcome.KeyReused(first.orderId()));
        assertThat(ledger.reserve(order("k9", "u1", "S", 1), soon())).isEqualTo(new ReserveOutcome.LimitReached(1, 1));
        assertThat(ledger.reserve(order("k8", "u4", "S", 2), soon())).isEqualTo(new ReserveOutcome.LimitReached(0, 1));
        assertThat(ledger.reserve(order("k7", "u5", "S", 1), soon())).isEqualTo(new ReserveOutcome.SoldOut(0));
        clock.advance(Duration.ofHours(2));
        assertThat(ledger.reserve(order("k6", "u6", "S", 1), soon())).isEqualTo(ReserveOutcome.NOT_ON_SALE);
    }

    @Test
    void cancelOnASoldOutItemMakesItsUnitsAvailableAtOnce() {
        define("S", 1, 1, null, null);
        Order o = order("k1", "u1", "S", 1);
        ledger.reserve(o, soon());
        ledger.confirm("S", "k1");
        assertThat(ledger.reserve(order("k2", "u2", "S", 1), soon())).isInstanceOf(ReserveOutcome.SoldOut.class);
        assertThat(ledger.reserve(order("k3", "u3", "S", 1), soon())).isInstanceOf(ReserveOutcome.SoldOut.class);
        ledger.returnUnits(o);
        assertThat(ledger.reserve(order("k3", "u3", "S", 1), soon())).isEqualTo(ReserveOutcome.RESERVED);
    }

    @Test
    void restockOnASoldOutItemMakesTheNewUnitsAvailableAtOnce() {
        define("S", 1, 5, null, null);
        ledger.reserve(order("k1", "u1", "S", 1), soon());
        assertThat(ledger.reserve(order("k2", "u2", "S", 1), soon())).isInstanceOf(ReserveOutcome.SoldOut.class);
        assertThat(ledger.reserve(order("k2", "u2", "S", 1), soon())).isInstanceOf(ReserveOutcome.SoldOut.class);
        var view = ledger.adjustStock("S", 2);
        assertThat(view.available()).isEqualTo(2);
        assertThat(view.spec().stock()).isEqualTo(3);
        assertThat(ledger.reserve(order("k2", "u2", "S", 1), soon())).isEqualTo(ReserveOutcome.RESERVED);
    }

    @Test
    void viewsListCommittedItemsBySkuOnly() {
        define("B", 2, 1, null, null);
        define("A", 3, 1, NOW.plusSeconds(60), null);
        StockLedger.Definition pending = ledger.beginDefinition("C");
        assertThat(pending.creates()).isTrue();
        assertThat(ledger.views()).extracting(v -> v.spec().sku()).containsExactly("A", "B");
        assertThat(ledger.views().getFirst().state().name()).isEqualTo("UPCOMING");
        assertThat(ledger.view("C")).isEmpty();
        pending.abort();
        assertThat(ledger.views()).extracting(v -> v.spec().sku()).containsExactly("A", "B");
        var b = ledger.view("B").orElseThrow();
        assertThat(b.spec()).isEqualTo(new ItemSpec("B", "Item B", 2, 1, null, null));
        assertThat(b.available()).isEqualTo(2);
    }

    @Test
    void stockOfAnUnknownItemCannotBeAdjusted() {
        assertThatThrownBy(() -> ledger.adjustStock("nope", 5))
                .isInstanceOfSatisfying(RejectedException.class, e -> assertThat(e.rejection()).isEqualTo(Rejection.UNKNOWN_ITEM));
        assertThat(ledger.reserve(order("k1", "u1", "nope", 1), soon())).isEqualTo(ReserveOutcome.UNKNOWN_ITEM);
    }

    @Test
    void repairMovesTowardTheStoreOnlyWhereTheStoreIsSureAndLeavesReservationsInFlight() {
        define("S", 10, 5, null, null);
        Order stored = order("k1", "u1", "S", 1);
        ledger.reserve(stored, soon());                       // pending, yet its order is stored
        Order cancelled = order("k2", "u2", "S", 2);
        ledger.reserve(cancelled, soon());
        ledger.confirm("S", "k2");                            // live here, cancelled in the store
        Order inFlight = order("k3", "u3", "S", 3);
        ledger.reserve(inFlight, soon());                     // the store has not seen it: hands off
        Order missing = order("k4", "u4", "S", 2);            // in the store, lost by the ledger
        Order other = order("k1", "u9", "S", 1);              // another order on a key the ledger holds
        Lock.Fence fence = new Lock.Fence("floodgate.reconciler", 7);

        StockLedger.Repaired repaired = ledger.repair("S", java.util.List.of(stored,
                cancelled.withStatus(OrderStatus.CANCELLED), missing), fence);
        assertThat(repaired).isEqualTo(new StockLedger.Repaired(1, 2, 0));
        assertThat(ledger.view("S").orElseThrow().available()).as("10 - 1 stored - 3 in flight - 2 missing").isEqualTo(4);
        assertThat(held("S", "u2")).isZero();
        assertThat(held("S", "u4")).isEqualTo(2);
        assertThat(ledger.pendingReservations(NOW.plusSeconds(60), 10)).extracting(StockLedger.Reservation::orderId)
                .containsExactly(inFlight.orderId());
        assertThat(ledger.reserve(order("k4", "u4", "S", 2), soon())).isEqualTo(new ReserveOutcome.Replayed(missing.orderId()));

        assertThat(ledger.repair("S", java.util.List.of(stored, cancelled.withStatus(OrderStatus.CANCELLED), missing,
                other), fence)).as("idempotent; a key on another order is counted, not touched")
                .isEqualTo(new StockLedger.Repaired(0, 0, 1));
        assertThat(ledger.view("S").orElseThrow().available()).isEqualTo(4);
        assertThatThrownBy(() -> ledger.repair("S", java.util.List.of(), new Lock.Fence("floodgate.reconciler", 6)))
                .as("a deposed repairer").isInstanceOf(io.floodgate.core.StaleFencingTokenException.class);
    }
}
