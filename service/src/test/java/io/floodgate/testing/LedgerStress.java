package io.floodgate.testing;

import io.floodgate.core.Deadline;
import io.floodgate.core.RejectedException;
import io.floodgate.core.domain.ItemSpec;
import io.floodgate.core.domain.ItemView;
import io.floodgate.core.domain.Order;
import io.floodgate.core.domain.OrderIds;
import io.floodgate.core.domain.OrderStatus;
import io.floodgate.core.port.StockLedger;
import io.floodgate.core.port.StockLedger.ReserveOutcome;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code LedgerStressTest}'s randomized round, for any {@link StockLedger}: virtual threads
 * reserving (with duplicated keys), confirming, releasing, cancelling and restocking at once; then
 * stock = available + units of live orders per item, no user over the limit, one order per key.
 */
public final class LedgerStress {

    /** Units a user holds of an item, as the ledger under test counts them. */
    @FunctionalInterface
    public interface Held {
        int of(StockLedger ledger, String sku, String userId);
    }

    private LedgerStress() {
    }

    private record Confirmed(Order order, AtomicBoolean cancelled) {
    }

    /** Runs one round on a fresh ledger from {@code ledgers}; {@code held} reads a user's units of an item. */
    public static void runRound(long seed, int operations, Supplier<StockLedger> ledgers, Held held) throws Exception {
        runRound(seed, operations, ledgers, held, ledger -> { });
    }

    /**
     * As above, calling {@code quiesce} after the operations and before the checks: a ledger that
     * finishes work in the background (retried settlements) waits for it there. Operations that
     * throw (a dependency failed) count as not done, as a client would see them.
     */
    public static void runRound(long seed, int operations, Supplier<StockLedger> ledgers, Held held,
                                java.util.function.Consumer<StockLedger> quiesce) throws Exception {
        try (StockLedger ledger = ledgers.get()) {
            runRound(seed, operations, ledger, held, quiesce);
        }
    }

    private static void runRound(long seed, int operations, StockLedger ledger, Held held,
                                 java.util.function.Consumer<StockLedger> quiesce) throws Exception {
        String context = "seed " + seed;
        Random random = new Random(seed);
        int itemCount = 1 + random.nextInt(4);
        Map<String, Integer> limits = new HashMap<>();
        for (int i = 0; i < itemCount; i++) {
            String sku = "S" + i;
            int limit = 1 + random.nextInt(4);
            limits.put(sku, limit);
            ledger.beginDefinition(sku).commit(new ItemSpec(sku, sku, random.nextInt(150), limit, null, null));
        }
        int users = 1 + random.nextInt(60);
        int keys = 50 + random.nextInt(400);

        ConcurrentHashMap<String, Confirmed> confirmedByKey = new ConcurrentHashMap<>();
        CopyOnWriteArrayList<String> violations = new CopyOnWriteArrayList<>();
        List<Confirmed> confirmedList = new CopyOnWriteArrayList<>();

        long[] opSeeds = random.longs(operations).toArray();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (long opSeed : opSeeds) {
                pool.submit(() -> {
                    Random r = new Random(opSeed);
                    String sku = "S" + r.nextInt(itemCount);
                    int op = r.nextInt(100);
                    if (op < 80) {
                        String key = "k" + r.nextInt(keys);
                        // The same key always carries the same body, as a client retry would.
                        int keyHash = (sku + key).hashCode() & 0x7fffffff;
                        String user = "u" + keyHash % users;
                        int qty = 1 + keyHash % 2;
                        Order order = new Order(OrderIds.next(System.currentTimeMillis()), sku, user, qty,
                                OrderStatus.CONFIRMED, Instant.now(), "r", key);
                        ReserveOutcome outcome = ledger.reserve(order, Deadline.after(Duration.ofSeconds(30)));
                        if (outcome == ReserveOutcome.RESERVED) {
                            if (ThreadLocalRandom.current().nextBoolean()) {
                                Thread.yield();
                            }
                            if (r.nextInt(10) < 8) {
                                Confirmed c = new Confirmed(order, new AtomicBoolean());
                                Confirmed prior = confirmedByKey.putIfAbsent(sku + "/" + key, c);
                                if (prior != null) {
                                    violations.add("key " + sku + "/" + key + " reserved twice: " + prior.order.orderId()
                                            + " and " + order.orderId());
                                }
                                confirmedList.add(c);
                                ledger.confirm(sku, key);
                            } else {
                                ledger.release(sku, key);
                            }
                        } else if (outcome instanceof ReserveOutcome.Replayed(String orderId)) {
                            Confirmed c = confirmedByKey.get(sku + "/" + key);
                            if (c == null || !c.order.orderId().equals(orderId)) {
                                violations.add("replay of " + sku + "/" + key + " named " + orderId + " but confirmed was " + c);
                            }
                        } else if (outcome instanceof ReserveOutcome.KeyReused) {
                            violations.add("same body was called a reused key: " + sku + "/" + key);
                        }
                    } else if (op < 92) {
                        if (!confirmedList.isEmpty()) {
                            Confirmed c = confirmedList.get(r.nextInt(confirmedList.size()));
                            if (c.cancelled.compareAndSet(false, true)) {
                                ledger.returnUnits(c.order);
                            }
                        }
                    } else {
                        try {
                            ledger.adjustStock(sku, r.nextInt(11) - 5);
                        } catch (RejectedException soldOut) {
                            // fewer available than the removal asked for: fine
                        }
                    }
                    return null;
                });
            }
        }

        quiesce.accept(ledger);
        assertThat(violations).as(context).isEmpty();
        for (ItemView view : ledger.views()) {
            String sku = view.spec().sku();
            long live = 0;
            Map<String, Integer> heldByUser = new HashMap<>();
            for (Confirmed c : confirmedList) {
                if (c.order.sku().equals(sku) && !c.cancelled.get()) {
                    live += c.order.quantity();
                    heldByUser.merge(c.order.userId(), c.order.quantity(), Integer::sum);
                }
            }
            assertThat(view.available()).as(context + ": available of " + sku).isGreaterThanOrEqualTo(0);
            assertThat(view.spec().stock()).as(context + ": stock = available + live units, " + sku)
                    .isEqualTo(view.available() + live);
            for (int u = 0; u < users; u++) {
                String user = "u" + u;
                int expected = heldByUser.getOrDefault(user, 0);
                assertThat(held.of(ledger, sku, user)).as(context + ": held by " + user + " of " + sku).isEqualTo(expected);
                assertThat(expected).as(context + ": limit of " + user + " on " + sku).isLessThanOrEqualTo(limits.get(sku));
            }
        }
        List<String> ids = new ArrayList<>();
        confirmedList.forEach(c -> ids.add(c.order.orderId()));
        assertThat(ids).as(context).doesNotHaveDuplicates();
    }
}
