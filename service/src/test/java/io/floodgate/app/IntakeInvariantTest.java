package io.floodgate.app;

import io.floodgate.core.CatalogService;
import io.floodgate.core.Deadline;
import io.floodgate.core.OrderService;
import io.floodgate.core.RejectedException;
import io.floodgate.core.Rejection;
import io.floodgate.core.domain.ItemSpec;
import io.floodgate.core.domain.ItemView;
import io.floodgate.core.domain.Order;
import io.floodgate.core.domain.OrderStatus;
import io.floodgate.core.domain.PlaceOrder;
import io.floodgate.core.port.OrderStore;
import io.floodgate.direct.GroupCommitOrderLog;
import io.floodgate.jdbc.JdbcStores;
import io.floodgate.memory.InMemoryStockLedger;
import io.floodgate.testing.Seeds;
import io.floodgate.testing.TestFloodgate;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The intake path end to end below HTTP, on the real embedded store with group commit: many
 * virtual threads placing orders (keys duplicated, sometimes concurrently), cancelling them and
 * restocking, over randomised rounds. Afterwards, in the ledger and in the store alike: sold +
 * available = stock per item, no user over the limit, one order per key; and a ledger rebuilt
 * from the store agrees with the live one.
 */
class IntakeInvariantTest {

    private static final int ROUNDS = 12;
    private static final int OPERATIONS = 2_500;
    private long cancelledOverall;

    @Test
    void ledgerAndStoreAgreeAndKeepTheInvariantsUnderConcurrentTraffic() throws Exception {
        long seed = Seeds.seed("intake.seed");
        for (int round = 0; round < ROUNDS; round++) {
            Path dir = Files.createTempDirectory("floodgate-intake");
            try {
                runRound(seed + round, dir);
            } finally {
                TestFloodgate.deleteRecursively(dir);
            }
        }
        assertThat(cancelledOverall).as("seed " + seed + ": cancellations raced the orders in some round").isPositive();
    }

    private void runRound(long seed, Path dir) throws Exception {
        String context = "seed " + seed;
        Random random = new Random(seed);
        Clock clock = Clock.systemUTC();
        OrderStore store = JdbcStores.embedded(dir, clock);
        InMemoryStockLedger ledger = InMemoryStockLedger.restoredFrom(store, clock);
        GroupCommitOrderLog log = new GroupCommitOrderLog(store, 10_000, 256);
        OrderService orders = new OrderService(ledger, log, store, clock);
        CatalogService catalog = new CatalogService(ledger, store);

        int itemCount = 1 + random.nextInt(3);
        Map<String, Integer> limits = new HashMap<>();
        for (int i = 0; i < itemCount; i++) {
            int limit = 1 + random.nextInt(3);
            limits.put("S" + i, limit);
            catalog.putItem(new ItemSpec("S" + i, "Item " + i, 20 + random.nextInt(300), limit, null, null));
        }
        int users = 5 + random.nextInt(80);
        int keys = 100 + random.nextInt(600);
        ConcurrentHashMap<String, String> orderIdByKey = new ConcurrentHashMap<>();
        CopyOnWriteArrayList<String> placedIds = new CopyOnWriteArrayList<>();
        CopyOnWriteArrayList<String> violations = new CopyOnWriteArrayList<>();

        long[] opSeeds = random.longs(OPERATIONS).toArray();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (long opSeed : opSeeds) {
                pool.submit(() -> {
                    Random r = new Random(opSeed);
                    String sku = "S" + r.nextInt(itemCount);
                    int op = r.nextInt(100);
                    if (op < 85) {
                        String key = "key-" + r.nextInt(keys);
                        int h = (sku + key).hashCode() & 0x7fffffff;
                        PlaceOrder request = new PlaceOrder(key, "user-" + h % users, sku, 1 + h % 2);
                        try {
                            OrderService.Placed placed = orders.place(request, "req", Deadline.after(Duration.ofSeconds(30)));
                            String prior = orderIdByKey.putIfAbsent(sku + "/" + key, placed.order().orderId());
                            if (prior != null && !prior.equals(placed.order().orderId())) {
                                violations.add(sku + "/" + key + " gave orders " + prior + " and " + placed.order().orderId());
                            }
                            if (!placed.replayed()) {
                                placedIds.add(placed.order().orderId());
                            }
                        } catch (RejectedException e) {
                            if (!Set.of(Rejection.SOLD_OUT, Rejection.PER_USER_LIMIT).contains(e.rejection())) {
                                violations.add("unexpected " + e.rejection() + ": " + e.detail());
                            }
                        }
                    } else if (op < 95) {
                        Thread.sleep(r.nextInt(40)); // let some orders land first, then race the rest
                        if (!placedIds.isEmpty()) {
                            orders.cancel(placedIds.get(r.nextInt(placedIds.size())), u -> true);
                        }
                    } else {
                        try {
                            catalog.adjustStock(sku, r.nextInt(9) - 4);
                        } catch (RejectedException e) {
                            // not enough available to remove: fine
                        }
                    }
                    return null;
                });
            }
        }
        assertThat(violations).as(context).isEmpty();

        // The store's view of every item.
        Map<String, Long> storeStock = new HashMap<>();
        store.forEachItem(spec -> storeStock.put(spec.sku(), spec.stock()));
        Map<String, Long> storeSold = new HashMap<>();
        Map<String, Integer> storeHeld = new HashMap<>();
        Set<String> storeKeys = new HashSet<>();
        List<Order> all = new ArrayList<>();
        store.forEachOrder(all::add);
        for (Order o : all) {
            assertThat(storeKeys.add(o.sku() + "/" + o.idempotencyKey())).as(context + ": one order per key").isTrue();
            if (o.status() != OrderStatus.CANCELLED) {
                storeSold.merge(o.sku(), (long) o.quantity(), Long::sum);
                storeHeld.merge(o.sku() + "/" + o.userId(), o.quantity(), Integer::sum);
            }
        }
        assertThat(all).as(context + ": every order placed is stored").hasSize(placedIds.size());
        cancelledOverall += all.stream().filter(o -> o.status() == OrderStatus.CANCELLED).count();
        for (ItemView view : ledger.views()) {
            String sku = view.spec().sku();
            long sold = storeSold.getOrDefault(sku, 0L);
            assertThat(view.spec().stock()).as(context + ": ledger stock of " + sku).isEqualTo(storeStock.get(sku));
            assertThat(view.available() + sold).as(context + ": sold + available = stock, " + sku)
                    .isEqualTo(view.spec().stock());
        }
        storeHeld.forEach((skuUser, held) -> assertThat(held).as(context + ": per-user limit " + skuUser)
                .isLessThanOrEqualTo(limits.get(skuUser.substring(0, skuUser.indexOf('/')))));

        // A ledger rebuilt from the store sees exactly what the live one does.
        List<ItemView> live = ledger.views();
        log.close();
        store.close();
        OrderStore reopened = JdbcStores.embedded(dir, clock);
        try {
            InMemoryStockLedger rebuilt = InMemoryStockLedger.restoredFrom(reopened, clock);
            assertThat(rebuilt.views()).as(context + ": rebuilt ledger").isEqualTo(live);
        } finally {
            reopened.close();
        }
    }
}
