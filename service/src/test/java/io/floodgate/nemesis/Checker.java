package io.floodgate.nemesis;

import io.floodgate.nemesis.History.Op;
import io.floodgate.nemesis.History.Outcome;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Judges a nemesis run from what the clients were told (the {@link History}) against what the
 * system holds afterwards: the store's rows ({@code orders} and {@code failed_orders}, read over
 * JDBC) and the ledger's figures (Redis), once everything was healed and had time to settle.
 *
 * <p>What it checks, each a kind of {@link Report#violations}:
 * <ul>
 *   <li>{@code LOST}: an order acknowledged (201, 202, or 200 replay) is not in {@code orders}
 *       (a row in {@code failed_orders} counts as lost: every item of the run exists, so nothing
 *       acknowledged may end FAILED);</li>
 *   <li>{@code DUPLICATE}: a key has more than one order in the store, or an order is in both tables;</li>
 *   <li>{@code KEY_OUTCOME}: a key was acknowledged as two different orders, or, once acknowledged,
 *       was later answered as if unknown (refused, or acknowledged anew);</li>
 *   <li>{@code REFUSED_HOLDS}: a key only ever refused (4xx, 429, 503, a refused connection; never
 *       acknowledged, never in doubt) has an order in the store;</li>
 *   <li>{@code STRAY}: a stored order's key was never sent, or its item, user or quantity differ
 *       from the request;</li>
 *   <li>{@code OVERSOLD}: an item's live orders in the store hold more units than its stock;</li>
 *   <li>{@code USER_LIMIT}: a user's live orders of an item hold more than its per-user limit;</li>
 *   <li>{@code LEDGER}: after settling, store sold + ledger available differs from the stock, or
 *       reservations are still pending (more available is stock the ledger would sell twice;
 *       less is stock it lost);</li>
 *   <li>{@code CANCEL}: an order whose cancel was answered 200 CANCELLED is live in the store, an
 *       order nobody cancelled is cancelled, or an acknowledged order is unknown to a cancel;</li>
 *   <li>{@code LATE}: an answer came later than the request's deadline plus the stated slack (or
 *       never, within the client's timeout), unless the instance was paused (SIGSTOP) meanwhile;</li>
 *   <li>{@code CONTRACT}: an answer the API does not allow (a 500, a 400, a 200 without
 *       {@code Idempotent-Replayed}, a 201 that is not CONFIRMED...);</li>
 *   <li>{@code BACKLOG}: a new order was acknowledged while the order topic's backlog (accepted,
 *       not yet stored) was over the bound the run configured, in records or in age;</li>
 *   <li>{@code CRASH}: an instance died without being killed.</li>
 * </ul>
 */
final class Checker {

    private static final int EXAMPLES = 6;
    /** Examples kept of each kind for {@code violations.txt}. */
    private static final int ALL = 500;
    private static final long AROUND_MS = 5_000;
    private static final long BACKLOG_MARGIN_RECORDS = 300;
    private static final long BACKLOG_MARGIN_MS = 5_000;
    private static final Set<String> ORDER_REFUSALS = Set.of("SOLD_OUT", "PER_USER_LIMIT", "NOT_ON_SALE");

    /** The findings, and the figures of the table. */
    record Report(Map<String, Integer> faults, Map<String, String> figures, Map<String, List<String>> violations,
                  Map<String, Integer> violationCounts, List<String> duringFaults, List<String> harness,
                  Map<String, List<String>> allViolations) {

        /** Every violation found (up to {@value Checker#ALL} of each kind), for {@code violations.txt}. */
        String everyViolation() {
            StringBuilder b = new StringBuilder();
            allViolations.forEach((kind, list) -> {
                b.append(kind).append(": ").append(violationCounts.get(kind)).append('\n');
                list.forEach(e -> b.append("  - ").append(e.replace("\n", "\n    ")).append('\n'));
            });
            return b.isEmpty() ? "none\n" : b.toString();
        }

        boolean ok() {
            return violations.isEmpty() && harness.isEmpty();
        }

        String table() {
            StringBuilder b = new StringBuilder();
            b.append(String.format("%-42s %8s%n", "fault kind", "count"));
            faults.forEach((k, n) -> b.append(String.format("%-42s %8d%n", k, n)));
            b.append('\n');
            figures.forEach((k, v) -> b.append(String.format("%-42s %8s%n", k, v)));
            b.append("\nanswers while each kind of fault was on (ops started in its window):\n");
            duringFaults.forEach(l -> b.append(l).append('\n'));
            if (!harness.isEmpty()) {
                b.append("\nHARNESS PROBLEMS (the run itself went wrong, not the service):\n");
                harness.forEach(h -> b.append("  - ").append(h).append('\n'));
            }
            if (violations.isEmpty()) {
                b.append("\nviolations: none\n");
            } else {
                b.append("\nviolations:\n");
                violations.forEach((kind, examples) -> {
                    b.append(String.format("  %s: %d%n", kind, violationCounts.get(kind)));
                    examples.forEach(e -> b.append("    - ").append(e.replace("\n", "\n      ")).append('\n'));
                });
            }
            return b.toString();
        }
    }

    private final History.Read history;
    private final List<Cluster.StoredOrder> store;
    private final Map<String, Cluster.Ledger> ledger;
    private final Map<String, History.Item> items = new LinkedHashMap<>();
    private final Map<String, List<String>> violations = new TreeMap<>();
    private final Map<String, Integer> counts = new TreeMap<>();
    private final Map<String, List<String>> all = new TreeMap<>();

    private Checker(History.Read history, List<Cluster.StoredOrder> store, Map<String, Cluster.Ledger> ledger) {
        this.history = history;
        this.store = store;
        this.ledger = ledger;
        history.run().items().forEach(i -> items.put(i.sku(), i));
    }

    /**
     * @param ledger the ledger's figures per sku after settling (null: not read, no ledger check)
     * @param harness problems of the run itself, reported apart
     * @param crashes instances that died by themselves (violations of kind {@code CRASH})
     */
    static Report check(History.Read history, List<Cluster.StoredOrder> store, Map<String, Cluster.Ledger> ledger,
                        List<String> harness, List<String> crashes) {
        Checker checker = new Checker(history, store, ledger);
        crashes.forEach(c -> checker.violation("CRASH", c));
        return checker.run(harness);
    }

    private void violation(String kind, String example) {
        counts.merge(kind, 1, Integer::sum);
        List<String> examples = violations.computeIfAbsent(kind, k -> new ArrayList<>());
        if (examples.size() < EXAMPLES) {
            examples.add(example);
        }
        List<String> every = all.computeIfAbsent(kind, k -> new ArrayList<>());
        if (every.size() < ALL) {
            every.add(example);
        }
    }

    /** A violation about calls made from {@code from} to {@code to} (run time), with the faults on around then. */
    private void violation(String kind, String example, long from, long to) {
        List<String> on = new ArrayList<>();
        for (History.Fault f : history.faults()) {
            if (f.start() <= to && (f.end() < 0 || f.end() >= from - AROUND_MS)) {
                on.add(f.kind() + " #" + f.id() + " " + f.target() + " [" + f.start() + "-" + f.end() + " ms]");
            }
        }
        violation(kind, example + "\n(faults on from " + AROUND_MS / 1000 + " s before: "
                + (on.isEmpty() ? "none" : String.join(", ", on)) + ")");
    }

    private Report run(List<String> harness) {
        Map<String, List<Op>> byKey = new HashMap<>();
        Map<String, List<Op>> cancelsById = new HashMap<>();
        for (Op op : history.ops()) {
            if ("cancel".equals(op.op())) {
                cancelsById.computeIfAbsent(op.orderId(), k -> new ArrayList<>()).add(op);
            } else {
                byKey.computeIfAbsent(op.key(), k -> new ArrayList<>()).add(op);
            }
        }
        Map<String, Cluster.StoredOrder> storedById = new HashMap<>();
        Map<String, List<Cluster.StoredOrder>> storedByKey = new HashMap<>();
        for (Cluster.StoredOrder o : store) {
            Cluster.StoredOrder twice = storedById.put(o.orderId(), o);
            if (twice != null) {
                violation("DUPLICATE", "order " + o.orderId() + " is in the store twice: " + twice + " and " + o);
            }
            storedByKey.computeIfAbsent(o.sku() + "|" + o.key(), k -> new ArrayList<>()).add(o);
        }

        Map<String, Op> acked = new LinkedHashMap<>(); // order id -> first acknowledgement
        int inDoubtKeys = 0;
        int refusedKeys = 0;
        for (Map.Entry<String, List<Op>> e : byKey.entrySet()) {
            List<Op> ops = e.getValue();
            ops.sort(Comparator.comparingLong(Op::t0));
            Op first = ops.getFirst();
            Map<String, Op> ids = new LinkedHashMap<>();
            boolean doubt = false;
            for (Op op : ops) {
                contract(op);
                Outcome o = op.outcome();
                if (o == Outcome.ACK) {
                    ids.putIfAbsent(op.orderId(), op);
                    acked.putIfAbsent(op.orderId(), op);
                }
                doubt |= o == Outcome.IN_DOUBT;
            }
            if (ids.size() > 1) {
                violation("KEY_OUTCOME", "key " + e.getKey() + " was acknowledged as " + ids.size() + " orders:\n"
                        + String.join("\n", ids.values().stream().map(Op::toString).toList()), first.t0(), ops.getLast().t1());
            }
            Op firstAck = ops.stream().filter(op -> op.outcome() == Outcome.ACK).min(Comparator.comparingLong(Op::t1))
                    .orElse(null);
            if (firstAck != null) {
                for (Op later : ops) {
                    if (later.t0() <= firstAck.t1()) {
                        continue;
                    }
                    if (later.outcome() == Outcome.REFUSED) {
                        violation("KEY_OUTCOME", "key " + e.getKey() + " was acknowledged, then refused as if unknown:\n"
                                + firstAck + "\n" + later, firstAck.t0(), later.t1());
                        break;
                    }
                    if (later.outcome() == Outcome.ACK && later.status() != 200 && later.orderId().equals(firstAck.orderId())) {
                        violation("CONTRACT", "a key already acknowledged was answered " + later.status()
                                + ", not 200 (a replay):\n" + firstAck + "\n" + later);
                    }
                }
            }
            List<Cluster.StoredOrder> rows = storedByKey.getOrDefault(first.sku() + "|" + e.getKey(), List.of());
            if (rows.size() > 1) {
                violation("DUPLICATE", "key " + e.getKey() + " has " + rows.size() + " orders in the store: " + rows);
            }
            if (ids.isEmpty() && doubt) {
                inDoubtKeys++;
            }
            if (ids.isEmpty() && !doubt) {
                refusedKeys++;
                if (!rows.isEmpty()) {
                    violation("REFUSED_HOLDS", "key " + e.getKey() + " was only ever refused, yet the store holds "
                            + rows + "; its answers:\n" + String.join("\n", ops.stream().map(Op::toString).toList()),
                            first.t0(), ops.getLast().t1());
                }
            }
        }

        int lost = 0;
        for (Op ack : acked.values()) {
            Cluster.StoredOrder o = storedById.get(ack.orderId());
            if (o == null || "FAILED".equals(o.status())) {
                lost++;
                violation("LOST", "acknowledged order " + ack.orderId() + (o == null ? " is not in the store"
                        : " ended FAILED (" + o.reason() + ") in failed_orders") + ":\n" + ack
                        + (byKey.get(ack.key()).size() > 1 ? "\nother calls with its key:\n" + String.join("\n",
                        byKey.get(ack.key()).stream().filter(op -> op != ack).map(Op::toString).toList()) : ""),
                        ack.t0(), ack.t1());
            }
        }
        for (Op op : history.ops()) {
            Cluster.StoredOrder o = op.outcome() == Outcome.ACK && "order".equals(op.op()) ? storedById.get(op.orderId()) : null;
            if (o != null && (!o.key().equals(op.key()) || !o.sku().equals(op.sku()))) {
                violation("STRAY", "an answer named order " + op.orderId() + ", stored under another key or item: "
                        + o + "\n" + op, op.t0(), op.t1());
            }
        }

        Map<String, Long> sold = new TreeMap<>();
        Map<String, Long> held = new TreeMap<>();
        Map<String, List<Op>> liveAcks = new HashMap<>(); // sku or sku|user -> the calls that made live orders
        for (Cluster.StoredOrder o : store) {
            List<Op> ops = byKey.get(o.key());
            if (ops == null) {
                violation("STRAY", "stored order " + o + " has a key no client sent");
                continue;
            }
            Op sent = ops.getFirst();
            if (!sent.sku().equals(o.sku()) || !sent.user().equals(o.userId()) || sent.qty() != o.quantity()) {
                violation("STRAY", "stored order " + o + " does not match its request\n" + sent);
            }
            if (o.live()) {
                sold.merge(o.sku(), (long) o.quantity(), Long::sum);
                held.merge(o.sku() + "|" + o.userId(), (long) o.quantity(), Long::sum);
                Op made = acked.getOrDefault(o.orderId(), ops.getLast());
                liveAcks.computeIfAbsent(o.sku(), k -> new ArrayList<>()).add(made);
                liveAcks.computeIfAbsent(o.sku() + "|" + o.userId(), k -> new ArrayList<>()).add(made);
            }
        }
        long oversold = 0;
        for (History.Item item : items.values()) {
            long s = sold.getOrDefault(item.sku(), 0L);
            if (s > item.stock()) {
                oversold += s - item.stock();
                Op crossing = crossing(liveAcks.get(item.sku()), item.stock());
                violation("OVERSOLD", item + ": the store's live orders hold " + s + " units; the stock was passed by"
                        + " the order acknowledged in\n" + crossing, crossing.t0(), crossing.t1());
            }
            if (ledger != null) {
                Cluster.Ledger l = ledger.getOrDefault(item.sku(), Cluster.Ledger.MISSING);
                if (l == Cluster.Ledger.MISSING) {
                    violation("LEDGER", item.sku() + ": the ledger has no such item after settling");
                } else if (l.pendingKeys() != 0 || s + l.available() != item.stock()) {
                    long extra = s + l.available() - item.stock();
                    violation("LEDGER", item.sku() + ": stock " + item.stock() + ", store sold " + s
                            + ", ledger available " + l.available() + ", pending " + l.pendingKeys() + " keys ("
                            + (extra > 0 ? "the ledger would sell " + extra + " units past the stock"
                            : extra < 0 ? -extra + " units lost to sale" : "balanced but pending") + ")");
                }
            }
        }
        held.forEach((skuUser, units) -> {
            History.Item item = items.get(skuUser.substring(0, skuUser.indexOf('|')));
            if (item != null && units > item.perUserLimit()) {
                Op crossing = crossing(liveAcks.get(skuUser), item.perUserLimit());
                violation("USER_LIMIT", "user " + skuUser.substring(skuUser.indexOf('|') + 1) + " holds " + units
                        + " units of " + item + "; the limit was passed by the order acknowledged in\n" + crossing,
                        crossing.t0(), crossing.t1());
            }
        });

        cancels(cancelsById, storedById, acked);
        int[] late = late();
        long[] backlog = backlog();

        Map<String, String> figures = new LinkedHashMap<>();
        figures.put("client calls", Integer.toString(history.ops().size()));
        figures.put("keys", Integer.toString(byKey.size()));
        figures.put("orders acknowledged", Integer.toString(acked.size()));
        figures.put("acknowledged orders lost", Integer.toString(lost));
        figures.put("units oversold (store)", Long.toString(oversold));
        figures.put("keys left in doubt, never acknowledged", Integer.toString(inDoubtKeys));
        figures.put("keys only refused", Integer.toString(refusedKeys));
        figures.put("orders in the store (live)", Long.toString(store.stream().filter(Cluster.StoredOrder::live).count()));
        figures.put("cancel calls", Integer.toString(cancelsById.values().stream().mapToInt(List::size).sum()));
        figures.put("late answers excused (instance paused)", Integer.toString(late[1]));
        figures.put("slowest answer, ms", Integer.toString(late[0]));
        figures.put("largest order-topic backlog, records", Long.toString(backlog[0]));
        figures.put("oldest unstored record, s", Long.toString(backlog[1] / 1000));

        Map<String, Integer> faults = new LinkedHashMap<>();
        for (FaultKind k : FaultKind.values()) {
            faults.put(k.label, 0);
        }
        history.faults().forEach(f -> faults.merge(FaultKind.valueOf(f.kind()).label, 1, Integer::sum));
        faults.put("total", history.faults().size());
        List<String> problems = new ArrayList<>(harness);
        history.faults().stream().filter(f -> f.end() < 0).forEach(f -> problems.add("fault never ended: " + f));
        return new Report(faults, figures, violations, counts, duringFaults(), problems, all);
    }

    /** The call, in order of answers, whose order took the running total of units past {@code limit}. */
    private static Op crossing(List<Op> made, long limit) {
        List<Op> sorted = new ArrayList<>(made);
        sorted.sort(Comparator.comparingLong(Op::t1));
        long units = 0;
        for (Op op : sorted) {
            units += op.qty();
            if (units > limit) {
                return op;
            }
        }
        return sorted.getLast();
    }

    private void contract(Op op) {
        String why = switch (op.status()) {
            case -1 -> null;
            case 200 -> op.replayed() ? null : "a 200 without Idempotent-Replayed: true";
            case 201 -> "CONFIRMED".equals(op.view()) ? null : "a 201 whose order is " + op.view();
            case 202 -> "ACCEPTED".equals(op.view()) ? null : "a 202 whose order is " + op.view();
            case 409 -> ORDER_REFUSALS.contains(op.code()) ? null : "409 " + op.code();
            case 429 -> "RATE_LIMITED".equals(op.code()) ? null : "429 " + op.code();
            case 503 -> "OVERLOADED".equals(op.code()) || "DEPENDENCY_UNAVAILABLE".equals(op.code()) ? null
                    : "503 " + op.code();
            case 504 -> "DEADLINE_EXCEEDED".equals(op.code()) ? null : "504 " + op.code();
            default -> op.status() + " " + op.code();
        };
        if (why == null && op.outcome() == Outcome.ACK && op.orderId() == null) {
            why = "an acknowledgement without an order id";
        }
        if (why != null) {
            violation("CONTRACT", why + ":\n" + op, op.t0(), op.t1());
        }
    }

    private void cancels(Map<String, List<Op>> cancelsById, Map<String, Cluster.StoredOrder> storedById,
                         Map<String, Op> acked) {
        for (Map.Entry<String, List<Op>> e : cancelsById.entrySet()) {
            Cluster.StoredOrder o = storedById.get(e.getKey());
            for (Op op : e.getValue()) {
                if (op.status() == 200 && !"CANCELLED".equals(op.view())) {
                    violation("CONTRACT", "a cancel answered 200 with the order " + op.view() + ":\n" + op);
                } else if (op.status() == 200 && o != null && o.live()) {
                    violation("CANCEL", "order " + e.getKey() + " was cancelled (200) but the store has it " + o.status()
                            + ":\n" + op, op.t0(), op.t1());
                } else if (op.status() == 404) {
                    violation("CANCEL", "a cancel of acknowledged order " + e.getKey() + " found no such order:\n" + op,
                            op.t0(), op.t1());
                } else if (op.status() >= 0 && !Set.of(200, 404, 409, 429, 503, 504).contains(op.status())) {
                    violation("CONTRACT", "a cancel answered " + op.status() + " " + op.code() + ":\n" + op);
                }
            }
        }
        for (Op ack : acked.values()) {
            Cluster.StoredOrder o = storedById.get(ack.orderId());
            if (o != null && "CANCELLED".equals(o.status()) && !cancelsById.containsKey(ack.orderId())) {
                violation("CANCEL", "order " + ack.orderId() + " was never cancelled, yet the store has it CANCELLED:\n"
                        + ack);
            }
        }
    }

    /** Flags late answers; returns {slowest ms, late answers excused by a pause}. */
    private int[] late() {
        long bound = history.run().deadlineMs() + history.run().slackMs();
        int slowest = 0;
        int excused = 0;
        for (Op op : history.ops()) {
            slowest = (int) Math.max(slowest, op.millis());
            if (op.millis() <= bound && !"timeout".equals(op.error())) {
                continue;
            }
            if (pausedDuring(op)) {
                excused++;
            } else {
                violation("LATE", "answered after " + op.millis() + " ms (bound " + bound + " ms: deadline "
                        + history.run().deadlineMs() + " + slack " + history.run().slackMs() + "):\n" + op, op.t0(), op.t1());
            }
        }
        return new int[] {slowest, excused};
    }

    /**
     * The backlog bound: once the acknowledged orders not yet stored pass the bound the run gave
     * the service (in records or in age), no new order may be acknowledged until they drain. Judged
     * on the order topic as sampled once a second (end offsets against the writers' committed ones;
     * a record's age from the first sample that showed it), with a margin for the service's own
     * sampling and the orders in flight. An acknowledgement is judged against the samples on both
     * sides of it: a backlog drains (or builds) within the second between two samples, and the
     * service, which samples twice a second, may rightly have seen it drained when the sample
     * before still shows it whole; only a bound passed before and after the answer is a violation.
     * Returns {largest backlog, oldest age ms}.
     */
    private long[] backlog() {
        List<History.Gauge> gauges = history.gauges();
        long[] ages = new long[gauges.size()];
        long largest = 0;
        long oldest = 0;
        for (int i = 0; i < gauges.size(); i++) {
            History.Gauge g = gauges.get(i);
            for (int p = 0; p < g.end().length; p++) {
                if (g.committed()[p] >= g.end()[p]) {
                    continue;
                }
                for (int j = 0; j <= i; j++) { // the first sample that had this partition's oldest unstored record
                    History.Gauge earlier = gauges.get(j);
                    if (earlier.end().length > p && earlier.end()[p] > g.committed()[p]) {
                        ages[i] = Math.max(ages[i], g.t() - earlier.t());
                        break;
                    }
                }
            }
            largest = Math.max(largest, g.backlog());
            oldest = Math.max(oldest, ages[i]);
        }
        String maxOrders = history.run().settings().get("FLOODGATE_MAX_BACKLOG_ORDERS");
        String maxAgeSeconds = history.run().settings().get("FLOODGATE_MAX_BACKLOG_SECONDS");
        String maxAge = maxAgeSeconds == null ? null : Long.toString(Long.parseLong(maxAgeSeconds) * 1000);
        if (maxOrders == null || maxAge == null || gauges.isEmpty()) {
            return new long[] {largest, oldest};
        }
        long ordersOver = Long.parseLong(maxOrders) * 5 / 4 + BACKLOG_MARGIN_RECORDS;
        long ageOver = Long.parseLong(maxAge) + BACKLOG_MARGIN_MS;
        int g = 0;
        for (Op op : history.ops().stream().sorted(Comparator.comparingLong(Op::t0)).toList()) {
            while (g + 1 < gauges.size() && gauges.get(g + 1).t() <= op.t0()) {
                g++;
            }
            History.Gauge before = gauges.get(g);
            if (!"order".equals(op.op()) || (op.status() != 201 && op.status() != 202) || before.t() > op.t0()
                    || op.t0() - before.t() > 3_000) {
                continue;
            }
            int a = g;
            while (a + 1 < gauges.size() && gauges.get(a).t() < op.t1()) {
                a++;
            }
            History.Gauge after = gauges.get(a);
            boolean overAfter = after.t() >= op.t1() && after.t() - op.t1() <= 3_000
                    && (after.backlog() > ordersOver || ages[a] > ageOver);
            if ((before.backlog() > ordersOver || ages[g] > ageOver) && overAfter) {
                violation("BACKLOG", "a new order was acknowledged while " + before.backlog() + " records waited"
                        + " unstored, the oldest for " + ages[g] / 1000 + " s (bound " + maxOrders + " records, "
                        + Long.parseLong(maxAge) / 1000 + " s; judged over " + ordersOver + " and " + ageOver / 1000
                        + " s):\n" + op, op.t0(), op.t1());
            }
        }
        return new long[] {largest, oldest};
    }

    private boolean pausedDuring(Op op) {
        for (History.Fault f : history.faults()) {
            if (FaultKind.PAUSE_INSTANCE.name().equals(f.kind()) && f.target().startsWith("instance " + op.node())
                    && f.start() <= op.t1() && (f.end() < 0 || f.end() >= op.t0())) {
                return true;
            }
        }
        return false;
    }

    /** Per fault kind: the answers to order calls started while a fault of that kind was on. */
    private List<String> duringFaults() {
        List<String> lines = new ArrayList<>();
        lines.add(String.format("  %-40s %7s %6s %6s %6s %6s %8s %8s", "while", "calls", "ack%", "refus%", "notnow%",
                "doubt%", "p99 ms", "max ms"));
        Map<String, List<Op>> during = new LinkedHashMap<>();
        for (FaultKind k : FaultKind.values()) {
            during.put(k.label, new ArrayList<>());
        }
        List<Op> quiet = new ArrayList<>();
        for (Op op : history.ops()) {
            if (!"order".equals(op.op())) {
                continue;
            }
            boolean any = false;
            for (History.Fault f : history.faults()) {
                if (op.t0() >= f.start() && (f.end() < 0 || op.t0() <= f.end())) {
                    during.get(FaultKind.valueOf(f.kind()).label).add(op);
                    any = true;
                }
            }
            if (!any) {
                quiet.add(op);
            }
        }
        during.put("no fault", quiet);
        during.forEach((label, ops) -> {
            if (ops.isEmpty()) {
                lines.add(String.format("  %-40s %7d", label, 0));
                return;
            }
            Map<Outcome, Integer> by = new HashMap<>();
            ops.forEach(op -> by.merge(op.outcome(), 1, Integer::sum));
            long[] ms = ops.stream().mapToLong(Op::millis).sorted().toArray();
            double n = ops.size() / 100.0;
            lines.add(String.format("  %-40s %7d %6.1f %6.1f %6.1f %6.1f %8d %8d", label, ops.size(),
                    by.getOrDefault(Outcome.ACK, 0) / n, by.getOrDefault(Outcome.REFUSED, 0) / n,
                    by.getOrDefault(Outcome.NOT_TAKEN, 0) / n, by.getOrDefault(Outcome.IN_DOUBT, 0) / n,
                    ms[(int) Math.min(ms.length - 1, Math.ceil(ms.length * 0.99) - 1)], ms[ms.length - 1]));
        });
        return lines;
    }
}
