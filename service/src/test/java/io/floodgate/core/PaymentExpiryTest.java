package io.floodgate.core;

import io.floodgate.core.domain.ItemSpec;
import io.floodgate.core.domain.Order;
import io.floodgate.core.domain.OrderIds;
import io.floodgate.core.domain.OrderStatus;
import io.floodgate.core.domain.PaymentState;
import io.floodgate.core.port.StockLedger;
import io.floodgate.memory.InMemoryStockLedger;
import io.floodgate.testing.MutableClock;
import io.floodgate.testing.TestOrderStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Expiry on a clock the test moves, over a real store and the in-process ledger: units come back
 * once, also when the ledger fails the first time or the instance dies between the store and the
 * ledger; lateness is reported from the due time.
 */
class PaymentExpiryTest {

    private static final Instant T0 = Instant.parse("2026-11-26T12:00:00Z");
    private static final Duration WINDOW = Duration.ofSeconds(30);

    private final MutableClock clock = new MutableClock(T0);
    private final TestOrderStore store = TestOrderStore.embedded(clock);
    private final InMemoryStockLedger ledger = new InMemoryStockLedger(clock);
    private final List<Long> lateness = new ArrayList<>();

    @AfterEach
    void close() {
        store.close();
    }

    /** Defines S (stock 10, a window) and places {@code n} one-unit orders through the ledger, as intake does. */
    private List<Order> place(int n) {
        ItemSpec spec = new ItemSpec("S", "S", 10, 10, null, null, WINDOW, null);
        if (ledger.view("S").isEmpty()) {
            ledger.beginDefinition("S").commit(spec);
            store.putItem(spec);
        }
        List<Order> orders = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Order o = new Order(OrderIds.next(clock.millis()), "S", "u" + i, 1, OrderStatus.CONFIRMED, clock.instant(),
                    "r", "k" + clock.millis() + "-" + i);
            assertThat(ledger.reserve(o, Deadline.after(Duration.ofSeconds(5))))
                    .isEqualTo(new StockLedger.ReserveOutcome.Reserved(WINDOW));
            Order due = o.due(o.createdAt().plus(WINDOW));
            store.insertOrders(List.of(due));
            ledger.confirm("S", o.idempotencyKey());
            orders.add(due);
        }
        return orders;
    }

    private PaymentExpiry expiry(StockLedger l) {
        return new PaymentExpiry(store, l, clock, new PaymentExpiry.Settings(Duration.ofMillis(100), 2), lateness::add);
    }

    private long available() {
        return ledger.view("S").orElseThrow().available();
    }

    @Test
    void dueOrdersExpireInBatchesAndTheirUnitsComeBackOnceWithTheirLateness() {
        List<Order> orders = place(5);
        PaymentExpiry expiry = expiry(ledger);
        assertThat(expiry.runOnce()).as("nothing due yet").isZero();
        clock.advance(WINDOW.plusMillis(250));
        assertThat(expiry.runOnce()).isEqualTo(5);
        assertThat(available()).isEqualTo(10);
        assertThat(expiry.runOnce()).isZero();
        assertThat(expiry.sweep()).isZero();
        assertThat(available()).as("once").isEqualTo(10);
        assertThat(lateness).hasSize(5).allMatch(ms -> ms == 250);
        for (Order o : orders) {
            assertThat(store.order(o.orderId()).orElseThrow().payment().state()).isEqualTo(PaymentState.EXPIRED);
        }
        assertThat(expiry.stats().expired()).isEqualTo(5);
        assertThat(expiry.stats().unitsReturned()).isEqualTo(5);
    }

    @Test
    void unitsTheLedgerRefusedOrADeadInstanceNeverReturnedAreReturnedByALaterSweepOnce() {
        List<Order> orders = place(3);
        clock.advance(WINDOW);
        java.util.Set<String> refused = java.util.Set.of(orders.get(0).orderId(), orders.get(1).orderId());
        java.util.concurrent.atomic.AtomicBoolean away = new java.util.concurrent.atomic.AtomicBoolean(true);
        StockLedger failing = new StockLedger() {
            // the ledger, failing the returns of two orders while "away" (Redis down): the rest goes through
            @Override public ReserveOutcome reserve(Order o, Deadline d) { return ledger.reserve(o, d); }
            @Override public void confirm(String sku, String key) { ledger.confirm(sku, key); }
            @Override public void release(String sku, String key) { ledger.release(sku, key); }
            @Override public void returnUnits(Order cancelled) {
                if (away.get() && refused.contains(cancelled.orderId())) {
                    throw new DependencyUnavailableException("redis", "away for the test");
                }
                ledger.returnUnits(cancelled);
            }
            @Override public Definition beginDefinition(String sku) { return ledger.beginDefinition(sku); }
            @Override public io.floodgate.core.domain.ItemView adjustStock(String sku, long d) { return ledger.adjustStock(sku, d); }
            @Override public java.util.Optional<io.floodgate.core.domain.ItemView> view(String sku) { return ledger.view(sku); }
            @Override public List<Reservation> pendingReservations(Instant before, int max) {
                return ledger.pendingReservations(before, max);
            }
            @Override public List<io.floodgate.core.domain.ItemView> views() { return ledger.views(); }
            @Override public Repaired repair(String sku, List<Order> durable, io.floodgate.core.port.Lock.Fence f) {
                return ledger.repair(sku, durable, f);
            }
        };
        PaymentExpiry expiry = expiry(failing);
        assertThat(expiry.runOnce()).isEqualTo(3);
        assertThat(available()).as("two returns failed").isEqualTo(8);
        assertThat(store.unitsToReturn(10)).extracting(Order::orderId).containsExactlyInAnyOrderElementsOf(refused);
        assertThat(expiry.stats().returnFailures()).isEqualTo(4); // the pass, and its sweep at start
        away.set(false);
        // another instance, started after this one died, sweeps what is owed
        PaymentExpiry next = expiry(ledger);
        assertThat(next.sweep()).isEqualTo(2);
        assertThat(available()).isEqualTo(10);
        assertThat(next.sweep()).isZero();
        assertThat(expiry.sweep()).isZero();
        assertThat(available()).as("returned once").isEqualTo(10);
    }
}
