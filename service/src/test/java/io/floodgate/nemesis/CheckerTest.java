package io.floodgate.nemesis;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The nemesis checker on histories written by hand: a run where everything holds passes, and each
 * kind of violation the run exists to catch is reported, with the history line behind it.
 */
class CheckerTest {

    private static final History.Item HOT = new History.Item("hot", 3, 2, 0, true);
    private static final History.Item COLD = new History.Item("cold", 100, 3, 0, false);

    @TempDir
    Path dir;

    private final List<History.Op> ops = new ArrayList<>();
    private final List<History.Fault> faults = new ArrayList<>();
    private final List<History.Gauge> gauges = new ArrayList<>();
    private final Map<String, String> settings = new HashMap<>();
    private final List<Cluster.StoredOrder> store = new ArrayList<>();
    private final Map<String, Cluster.Ledger> ledger = new HashMap<>(Map.of(
            "hot", new Cluster.Ledger(3, 0, 0), "cold", new Cluster.Ledger(100, 0, 0)));

    private void op(String key, String sku, String user, int qty, long t0, long t1, int status, String code,
                    String orderId, int node) {
        String view = switch (status) {
            case 201 -> "CONFIRMED";
            case 202, 200 -> "ACCEPTED";
            default -> null;
        };
        ops.add(new History.Op(ops.size() + 1, "order", "new", 0, node, key, sku, user, qty, t0, t1, status, code,
                orderId, view, status == 200, null));
    }

    private void stored(String orderId, String key, String sku, String user, int qty, String status) {
        store.add(new Cluster.StoredOrder(orderId, sku, key, user, qty, status, null));
    }

    private void ledger(String sku, long available) {
        ledger.put(sku, new Cluster.Ledger(available, 0, 0));
    }

    private Checker.Report check() {
        Path file = dir.resolve("history.jsonl");
        try (History h = History.create(file)) {
            h.run(new History.Run(7, 1_500, 5_000, 3, List.of(HOT, COLD), settings));
            ops.forEach(h::op);
            faults.forEach(h::fault);
            gauges.forEach(h::gauge);
        }
        return Checker.check(History.read(file), store, ledger, List.of(), List.of());
    }

    @Test
    void aRunWhereEveryAnswerIsBorneOutByTheStorePasses() {
        op("k1", "hot", "u1", 2, 0, 10, 201, null, "o1", 0);
        op("k1", "hot", "u1", 2, 20, 30, 200, null, "o1", 1);       // a replay: the same order
        op("k2", "hot", "u2", 2, 0, 10, 409, "SOLD_OUT", null, 0);   // refused, holds nothing
        op("k3", "hot", "u3", 1, 0, 1_600, 504, "DEADLINE_EXCEEDED", null, 2); // in doubt: may exist
        op("k4", "cold", "u4", 1, 0, 10, 503, "DEPENDENCY_UNAVAILABLE", null, 0);
        stored("o1", "k1", "hot", "u1", 2, "CONFIRMED");
        stored("o3", "k3", "hot", "u3", 1, "CONFIRMED");
        ledger("hot", 0);

        Checker.Report report = check();

        assertThat(report.violations()).isEmpty();
        assertThat(report.ok()).isTrue();
        assertThat(report.figures()).containsEntry("orders acknowledged", "1").containsEntry("keys only refused", "2");
    }

    @Test
    void anAcknowledgedOrderMissingFromTheStoreOrEndedFailedIsLost() {
        op("k1", "cold", "u1", 1, 0, 10, 202, null, "o1", 0);
        op("k2", "cold", "u2", 1, 0, 10, 202, null, "o2", 0);
        store.add(new Cluster.StoredOrder("o2", "cold", "k2", "u2", 1, "FAILED", "STORE_REFUSED"));
        faults.add(new History.Fault(1, FaultKind.STORE_CUT.name(), "-", 0, 5, "cut"));
        ledger("cold", 100);

        Checker.Report report = check();

        assertThat(report.violationCounts()).containsEntry("LOST", 2);
        assertThat(String.join("\n", report.violations().get("LOST")))
                .contains("o1 is not in the store", "o2 ended FAILED (STORE_REFUSED)", "\"key\":\"k1\"", "STORE_CUT #1");
        assertThat(report.figures()).containsEntry("acknowledged orders lost", "2");
    }

    @Test
    void aKeyAcknowledgedAsTwoOrdersOrRefusedOnceKnownHasMoreThanOneOutcome() {
        op("k1", "cold", "u1", 1, 0, 10, 202, null, "o1", 0);
        op("k1", "cold", "u1", 1, 20, 30, 202, null, "o9", 1);      // a replay judged afresh
        op("k2", "cold", "u2", 1, 0, 10, 201, null, "o2", 0);
        op("k2", "cold", "u2", 1, 20, 30, 409, "PER_USER_LIMIT", null, 2); // the ledger forgot the key
        stored("o1", "k1", "cold", "u1", 1, "CONFIRMED");
        stored("o2", "k2", "cold", "u2", 1, "CONFIRMED");
        ledger("cold", 98);

        Checker.Report report = check();

        assertThat(report.violationCounts()).containsEntry("KEY_OUTCOME", 2).containsEntry("LOST", 1);
        assertThat(String.join("\n", report.violations().get("KEY_OUTCOME")))
                .contains("k1 was acknowledged as 2 orders", "k2 was acknowledged, then refused");
    }

    @Test
    void aKeyOnlyEverRefusedMustHoldNothing() {
        op("k1", "cold", "u1", 1, 0, 10, 503, "DEPENDENCY_UNAVAILABLE", null, 0);
        op("k1", "cold", "u1", 1, 20, 30, 409, "SOLD_OUT", null, 1);
        stored("o1", "k1", "cold", "u1", 1, "CONFIRMED");
        ledger("cold", 99);

        assertThat(check().violationCounts()).containsOnlyKeys("REFUSED_HOLDS");
    }

    @Test
    void soldPastTheStockOrPastAUsersLimitAndALedgerThatDoesNotAddUpAreReported() {
        op("k1", "hot", "u1", 2, 0, 10, 201, null, "o1", 0);
        op("k2", "hot", "u1", 1, 0, 20, 201, null, "o2", 0);
        op("k3", "hot", "u3", 1, 0, 30, 201, null, "o3", 1);
        stored("o1", "k1", "hot", "u1", 2, "CONFIRMED");
        stored("o2", "k2", "hot", "u1", 1, "CONFIRMED");
        stored("o3", "k3", "hot", "u3", 1, "CONFIRMED");
        ledger("hot", 1);                                            // 4 sold + 1 available, stock 3
        ledger.put("cold", new Cluster.Ledger(100, 1, 1));           // balanced, but a reservation pending

        Checker.Report report = check();

        assertThat(report.violationCounts()).containsEntry("OVERSOLD", 1).containsEntry("USER_LIMIT", 1)
                .containsEntry("LEDGER", 2);
        assertThat(report.violations().get("OVERSOLD").getFirst()).contains("hold 4 units", "\"key\":\"k3\"");
        assertThat(report.violations().get("USER_LIMIT").getFirst()).contains("u1 holds 3 units", "\"key\":\"k2\"");
        assertThat(String.join("\n", report.violations().get("LEDGER")))
                .contains("the ledger would sell 2 units past the stock", "balanced but pending");
        assertThat(report.figures()).containsEntry("units oversold (store)", "1");
    }

    @Test
    void anAnswerPastDeadlinePlusSlackIsLateUnlessItsInstanceWasPaused() {
        op("k1", "cold", "u1", 1, 0, 7_000, 201, null, "o1", 0);
        op("k2", "cold", "u2", 1, 100, 9_000, 201, null, "o2", 1);
        ops.add(new History.Op(99, "order", "new", 0, 2, "k3", "cold", "u3", 1, 0, 10_000, -1, null, null, null,
                false, "timeout"));
        faults.add(new History.Fault(1, FaultKind.PAUSE_INSTANCE.name(), "instance 1", 50, 8_000, "paused"));
        stored("o1", "k1", "cold", "u1", 1, "CONFIRMED");
        stored("o2", "k2", "cold", "u2", 1, "CONFIRMED");
        ledger("cold", 98);

        Checker.Report report = check();

        assertThat(report.violationCounts()).containsOnlyKeys("LATE").containsEntry("LATE", 2);
        assertThat(report.figures()).containsEntry("late answers excused (instance paused)", "1");
    }

    @Test
    void aCancelAnsweredCancelledMustBeCancelledInTheStoreAndNothingElseMayBe() {
        op("k1", "cold", "u1", 1, 0, 10, 201, null, "o1", 0);
        op("k2", "cold", "u2", 1, 0, 10, 201, null, "o2", 0);
        ops.add(new History.Op(50, "cancel", "cancel", 0, 1, "k1", "cold", "u1", 1, 20, 30, 200, null, "o1",
                "CANCELLED", false, null));
        stored("o1", "k1", "cold", "u1", 1, "CONFIRMED");
        stored("o2", "k2", "cold", "u2", 1, "CANCELLED");
        ledger("cold", 99);

        Checker.Report report = check();

        assertThat(report.violationCounts()).containsOnlyKeys("CANCEL").containsEntry("CANCEL", 2);
    }

    @Test
    void answersTheApiDoesNotAllowBreakTheContract() {
        op("k1", "cold", "u1", 1, 0, 10, 500, "INTERNAL", null, 0);
        ops.add(new History.Op(9, "order", "new", 0, 0, "k2", "cold", "u2", 1, 0, 10, 200, null, "o2", "ACCEPTED",
                false, null));                                       // a 200 without Idempotent-Replayed
        stored("o2", "k2", "cold", "u2", 1, "CONFIRMED");
        ledger("cold", 99);

        Checker.Report report = check();

        assertThat(report.violationCounts()).containsOnlyKeys("CONTRACT").containsEntry("CONTRACT", 2);
    }

    @Test
    void aNewOrderAcknowledgedWhileTheBacklogIsOverItsBoundIsReported() {
        settings.put("FLOODGATE_MAX_BACKLOG_ORDERS", "100");
        settings.put("FLOODGATE_MAX_BACKLOG_SECONDS", "2");
        gauges.add(new History.Gauge(0, new long[] {0, 0}, new long[] {0, 0}));
        gauges.add(new History.Gauge(1_000, new long[] {40, 0}, new long[] {0, 0}));
        gauges.add(new History.Gauge(9_000, new long[] {60, 0}, new long[] {0, 0})); // 60 records, the oldest 8 s old
        gauges.add(new History.Gauge(10_000, new long[] {60, 0}, new long[] {0, 0})); // and still there after k3
        gauges.add(new History.Gauge(11_000, new long[] {60, 0}, new long[] {60, 0})); // drained
        op("k5", "cold", "u5", 1, 10_900, 10_910, 202, null, "o5", 0); // over before, drained after: not judged
        stored("o5", "k5", "cold", "u5", 1, "CONFIRMED");
        op("k1", "cold", "u1", 1, 500, 510, 202, null, "o1", 0);     // backlog empty then
        op("k2", "cold", "u2", 1, 1_500, 1_510, 202, null, "o2", 0); // 40 records, 0.5 s old: under the bound
        op("k3", "cold", "u3", 1, 9_500, 9_510, 202, null, "o3", 0); // past the bound in age
        op("k4", "cold", "u4", 1, 9_600, 9_610, 200, null, "o1", 0); // a replay is no new order
        stored("o1", "k1", "cold", "u1", 1, "CONFIRMED");
        stored("o2", "k2", "cold", "u2", 1, "CONFIRMED");
        stored("o3", "k3", "cold", "u3", 1, "CONFIRMED");
        ledger("cold", 96);

        Checker.Report report = check();

        assertThat(report.violationCounts()).containsOnlyKeys("BACKLOG", "STRAY").containsEntry("BACKLOG", 1);
        assertThat(report.violations().get("BACKLOG").getFirst()).contains("the oldest for 8 s", "\"key\":\"k3\"");
        assertThat(report.figures()).containsEntry("largest order-topic backlog, records", "60")
                .containsEntry("oldest unstored record, s", "9");
    }
}
