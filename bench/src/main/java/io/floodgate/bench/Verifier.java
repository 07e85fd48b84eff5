package io.floodgate.bench;

import io.floodgate.bench.ControlClient.Item;
import io.floodgate.bench.ControlClient.StoredOrder;
import io.floodgate.bench.Verification.Check;
import io.floodgate.bench.Verification.Verdict;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;

/**
 * Checks a finished sale through the API only, as any client could: it lists the orders of every
 * user the run sent a request for, and holds them against what the run was told ({@link KeyBook})
 * and what the item view says.
 *
 * <p>The link between an order in the store and the request that made it is the request id: the
 * bench sends {@code X-Request-Id: <run>-<seq>:<attempt>} with {@code Idempotency-Key:
 * <run>-<seq>}, and the store keeps the id of the creating request. So "one order per key" and
 * "no order for a request that was turned down" are checkable from outside.
 *
 * <p>Assumes nothing else orders the item for this run's users while it runs (their ids are
 * unique to the run), and reads the item view until it agrees with the store or stops changing,
 * since API.md lets the view lag by up to a second.
 */
final class Verifier {

    private static final int LISTING_CONCURRENCY = 32;
    private static final int EXAMPLES = 5;
    private static final Duration STEADY = Duration.ofSeconds(3);

    private final ControlClient control;
    private final Names names;
    private final String sku;
    private final int quantity;

    Verifier(ControlClient control, Names names, String sku, int quantity) {
        this.control = control;
        this.names = names;
        this.sku = sku;
        this.quantity = quantity;
    }

    /**
     * @param soldBefore   units of the item sold before the run started
     * @param stopReason   why the load stopped (a sold-out stop adds a check)
     * @param sawRelease   whether any answer could have released a reservation (a 5xx or no answer)
     */
    Verification verify(KeyBook keys, long soldBefore, LoadDriver.StopReason stopReason, boolean sawRelease)
            throws InterruptedException {
        Listing listing = listOrders(keys);
        List<StoredOrder> stored = listing.orders();
        Map<Long, KeyBook.Ack> acks = keys.acks();
        Set<Long> unknown = keys.unknownKeys();
        List<Check> checks = new ArrayList<>();
        if (listing.truncatedUsers() > 0) {
            checks.add(new Check("every order listed", Verdict.SKIP, listing.truncatedUsers() + " users have 500"
                    + " orders or more (the API's largest page), so some of their orders were not seen"));
        }

        Map<String, StoredOrder> byId = new HashMap<>();
        for (StoredOrder o : stored) {
            byId.put(o.orderId(), o);
        }
        long storeUnits = stored.stream().filter(o -> !o.cancelled()).mapToLong(StoredOrder::quantity).sum();

        // 1. every acknowledged order is in the store, as acknowledged (invariant 4)
        List<String> missing = new ArrayList<>();
        long ackedUnits = 0;
        for (KeyBook.Ack ack : acks.values()) {
            ackedUnits += ack.quantity();
            StoredOrder o = byId.get(ack.orderId());
            if (o == null) {
                missing.add("order " + ack.orderId() + " (key " + names.key(ack.seq()) + ", user "
                        + names.user(ack.user()) + ") is not in the store");
            } else if (!o.userId().equals(names.user(ack.user())) || o.quantity() != ack.quantity()) {
                missing.add("order " + ack.orderId() + " is stored for user " + o.userId() + " x" + o.quantity()
                        + ", acknowledged for " + names.user(ack.user()) + " x" + ack.quantity());
            }
        }
        checks.add(check("acknowledged orders are stored", missing,
                acks.size() + " acknowledged orders, all in the store"));

        // 2 and 3. every stored order traces back to one key that was acknowledged or unanswered
        List<String> unpromised = new ArrayList<>();
        List<String> duplicates = new ArrayList<>();
        Map<Long, String> orderOfKey = new HashMap<>();
        long lostAcks = 0;
        for (StoredOrder o : stored) {
            long seq = names.seqOfRequestId(o.requestId());
            if (seq < 0 || seq >= keys.issued()) {
                unpromised.add("order " + o.orderId() + " of user " + o.userId() + " has request id '" + o.requestId()
                        + "', which this run never sent");
                continue;
            }
            String earlier = orderOfKey.putIfAbsent(seq, o.orderId());
            if (earlier != null) {
                duplicates.add("key " + names.key(seq) + " has orders " + earlier + " and " + o.orderId());
            }
            KeyBook.Ack ack = acks.get(seq);
            if (ack != null) {
                if (!ack.orderId().equals(o.orderId())) {
                    duplicates.add("key " + names.key(seq) + " was acknowledged as order " + ack.orderId()
                            + " but the store also has order " + o.orderId() + " for it");
                }
            } else if (unknown.contains(seq)) {
                lostAcks++;
            } else {
                unpromised.add("order " + o.orderId() + " exists for key " + names.key(seq)
                        + ", whose every request was answered with a rejection");
            }
        }
        checks.add(check("no order without an acknowledgement", unpromised,
                stored.size() + " stored orders, each acknowledged" + (lostAcks > 0
                        ? " or made by a request whose answer was lost (" + lostAcks + ")" : "")));
        checks.add(check("one order per idempotency key", duplicates,
                orderOfKey.size() + " keys with an order, one order each"));

        // 4. replays name the original order
        checks.add(check("replays return the original order", keys.conflicts(),
                keys.replaysMatched() + " repeated acknowledgements, each naming the key's first order"));

        // 5. per-user limit (invariant 2)
        Item item = control.item(sku).orElse(null);
        if (item == null) {
            checks.add(new Check("item still exists", Verdict.FAIL, "GET /api/v1/items/" + sku + " is 404"));
            return new Verification(checks, new Verification.Figures(0, 0, soldBefore, stored.size(), storeUnits,
                    acks.size(), ackedUnits, lostAcks, unknown.size(), listedUsers(keys), keys.replaysMatched()));
        }
        Map<String, Long> unitsByUser = new HashMap<>();
        for (StoredOrder o : stored) {
            if (!o.cancelled()) {
                unitsByUser.merge(o.userId(), (long) o.quantity(), Long::sum);
            }
        }
        List<String> overLimit = new ArrayList<>();
        unitsByUser.forEach((user, units) -> {
            if (units > item.perUserLimit()) {
                overLimit.add("user " + user + " holds " + units + " units, over the limit of " + item.perUserLimit());
            }
        });
        checks.add(check("no user over the per-user limit", overLimit,
                unitsByUser.size() + " buyers, none over " + item.perUserLimit()));

        // 6. store and item view agree (invariant 1), allowing the view its second of lag
        Item steady = steadyView(item, soldBefore + storeUnits);
        long viewSold = steady.sold() - soldBefore;
        checks.add(viewSold == storeUnits
                ? new Check("store and item view agree", Verdict.PASS, "item view: " + steady.stock() + " stock - "
                + steady.available() + " available = " + steady.sold() + " sold; store: " + storeUnits
                + " units in this run's orders" + (soldBefore > 0 ? " + " + soldBefore + " sold before" : ""))
                : new Check("store and item view agree", Verdict.FAIL, "item view says " + viewSold
                + " units sold in this run (stock " + steady.stock() + ", available " + steady.available()
                + (soldBefore > 0 ? ", " + soldBefore + " sold before" : "") + "), the store holds " + storeUnits));

        // 7. never oversold
        long soldTotal = soldBefore + storeUnits;
        checks.add(soldTotal <= steady.stock()
                ? new Check("never oversold", Verdict.PASS, soldTotal + " of " + steady.stock() + " units sold")
                : new Check("never oversold", Verdict.FAIL, soldTotal + " units sold, stock is " + steady.stock()));

        // 8. units sold = units acknowledged (plus orders whose answer was lost)
        long lostUnits = 0;
        for (StoredOrder o : stored) {
            long seq = names.seqOfRequestId(o.requestId());
            if (!o.cancelled() && seq >= 0 && !acks.containsKey(seq) && unknown.contains(seq)) {
                lostUnits += o.quantity();
            }
        }
        long cancelledAcked = 0;
        for (KeyBook.Ack ack : acks.values()) {
            StoredOrder o = byId.get(ack.orderId());
            if (o != null && o.cancelled()) {
                cancelledAcked += ack.quantity();
            }
        }
        long expected = ackedUnits - cancelledAcked + lostUnits;
        checks.add(storeUnits == expected
                ? new Check("units sold = units acknowledged", Verdict.PASS, storeUnits + " units sold, "
                + ackedUnits + " acknowledged" + (lostUnits > 0 ? " + " + lostUnits + " whose answer was lost" : "")
                + (cancelledAcked > 0 ? " - " + cancelledAcked + " cancelled since" : ""))
                : new Check("units sold = units acknowledged", Verdict.FAIL, storeUnits + " units in the store, but "
                + ackedUnits + " acknowledged" + (lostUnits > 0 ? " + " + lostUnits + " whose answer was lost" : "")
                + (cancelledAcked > 0 ? " - " + cancelledAcked + " cancelled" : "") + " = " + expected));

        // 9. a sold-out answer meant the stock was gone
        if (stopReason == LoadDriver.StopReason.SOLD_OUT || "SOLD_OUT".equals(steady.state())) {
            if (steady.available() < quantity) {
                checks.add(new Check("sold out = all stock sold", Verdict.PASS, "the run was told SOLD_OUT and "
                        + soldTotal + " of " + steady.stock() + " units are sold"));
            } else if (sawRelease) {
                checks.add(new Check("sold out = all stock sold", Verdict.SKIP, steady.available() + " units are"
                        + " available after a SOLD_OUT answer; the run saw 5xx answers or lost answers, which may"
                        + " have released reservations after it"));
            } else {
                checks.add(new Check("sold out = all stock sold", Verdict.FAIL, "the run was told SOLD_OUT, yet "
                        + steady.available() + " units are available and nothing the run saw released any"));
            }
        }
        return new Verification(checks, new Verification.Figures(steady.stock(), steady.available(), soldBefore,
                stored.size(), storeUnits, acks.size(), ackedUnits, lostAcks, unknown.size(), listedUsers(keys),
                keys.replaysMatched()));
    }

    private static long listedUsers(KeyBook keys) {
        long n = 0;
        for (int u = 0; u < keys.users(); u++) {
            if (keys.wasTouched(u)) {
                n++;
            }
        }
        return n;
    }

    /** Reads the item view until it agrees with {@code expectedSold}, or has not moved for the steady time. */
    private Item steadyView(Item first, long expectedSold) throws InterruptedException {
        Item item = first;
        long deadline = System.nanoTime() + STEADY.toNanos();
        while (item.sold() != expectedSold && System.nanoTime() - deadline < 0) {
            Thread.sleep(100);
            item = control.item(sku).orElse(item);
        }
        return item;
    }

    private record Listing(List<StoredOrder> orders, long truncatedUsers) {
    }

    /** Lists the orders of the item for every touched user, {@value #LISTING_CONCURRENCY} at a time. */
    private Listing listOrders(KeyBook keys) throws InterruptedException {
        ConcurrentLinkedQueue<StoredOrder> found = new ConcurrentLinkedQueue<>();
        java.util.concurrent.atomic.LongAdder truncated = new java.util.concurrent.atomic.LongAdder();
        Semaphore permits = new Semaphore(LISTING_CONCURRENCY);
        List<Future<?>> calls = new ArrayList<>();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int u = 0; u < keys.users(); u++) {
                if (!keys.wasTouched(u)) {
                    continue;
                }
                String user = names.user(u);
                permits.acquire();
                calls.add(pool.submit(() -> {
                    try {
                        List<StoredOrder> orders = control.ordersOfUser(user);
                        if (orders.size() >= 500) {
                            truncated.increment();
                        }
                        for (StoredOrder o : orders) {
                            if (o.sku().equals(sku)) {
                                found.add(o);
                            }
                        }
                    } finally {
                        permits.release();
                    }
                    return null;
                }));
            }
            for (Future<?> f : calls) {
                try {
                    f.get();
                } catch (java.util.concurrent.ExecutionException e) {
                    throw e.getCause() instanceof RuntimeException r ? r
                            : new ControlClient.ControlException("listing orders failed: " + e.getCause(), e.getCause());
                }
            }
        }
        return new Listing(new ArrayList<>(found), truncated.sum());
    }

    private static Check check(String name, List<String> problems, String whenFine) {
        if (problems.isEmpty()) {
            return new Check(name, Verdict.PASS, whenFine);
        }
        List<String> shown = problems.subList(0, Math.min(EXAMPLES, problems.size()));
        return new Check(name, Verdict.FAIL, problems.size() + " found, e.g. " + String.join("; ", shown));
    }
}
