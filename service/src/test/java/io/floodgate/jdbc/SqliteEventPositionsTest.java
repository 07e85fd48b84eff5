package io.floodgate.jdbc;

import io.floodgate.core.domain.ItemSpec;
import io.floodgate.core.domain.Order;
import io.floodgate.core.domain.OrderEvent;
import io.floodgate.core.domain.OrderIds;
import io.floodgate.core.domain.OrderStatus;
import io.floodgate.core.port.Lock;
import io.floodgate.core.port.OrderStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.LongStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The embedded store gives each order event its position as it is written, in the transaction of
 * its change ({@link Dialect#positionsAtCommit}): no relay stamps them after the commit, and a
 * reader sees them as they commit. What that rests on, SQLite's one writer at a time, is what these
 * tests race: a reader that follows the cursor while writers commit must miss nothing and see
 * nothing twice, and every order's events must come in the order of its changes.
 *
 * <p>Randomised: the seed is printed; {@code -Dsqlite.positions.seed=N} replays it.
 */
class SqliteEventPositionsTest {

    private static final String SKU = "N";
    private static final Instant T0 = Instant.parse("2026-12-05T12:00:00Z");

    @TempDir(cleanup = CleanupMode.ON_SUCCESS)
    Path dir;

    @Test
    void aReaderFollowingTheCursorWhileWritersRaceSeesEveryEventOnceInCommitOrder() throws Exception {
        long seed = Long.getLong("sqlite.positions.seed", System.nanoTime());
        System.out.println("SqliteEventPositionsTest seed " + seed + " (-Dsqlite.positions.seed=" + seed + " replays it)");
        SplittableRandom seeds = new SplittableRandom(seed);
        for (int round = 0; round < 6; round++) {
            race(round, seeds.split(), seed);
        }
    }

    private void race(int round, SplittableRandom random, long seed) throws Exception {
        try (OrderStore store = JdbcStores.embedded(dir.resolve("race-" + round), Clock.systemUTC())) {
            store.putItem(new ItemSpec(SKU, "Racing", 1_000_000, 1_000_000, null, null));
            int writers = 2 + random.nextInt(7);
            Map<String, Integer> changes = new ConcurrentHashMap<>(); // order id -> its changes that committed
            List<OrderEvent> seen = new ArrayList<>();
            AtomicBoolean writing = new AtomicBoolean(true);
            SplittableRandom pages = random.split();
            Thread reader = Thread.ofVirtual().start(() -> {
                long after = 0;
                while (true) {
                    boolean done = !writing.get(); // read before the page: a page read after the end sees all
                    List<OrderEvent> page = store.events(after, 1 + pages.nextInt(40));
                    seen.addAll(page);
                    if (!page.isEmpty()) {
                        after = page.getLast().position();
                    } else if (done) {
                        return;
                    } else {
                        sleepMillis(pages.nextInt(3));
                    }
                }
            });
            List<Thread> threads = new ArrayList<>();
            for (int w = 0; w < writers; w++) {
                SplittableRandom mine = random.split();
                int writer = w;
                threads.add(Thread.ofVirtual().start(() -> {
                    List<String> placed = new ArrayList<>();
                    for (int op = 0; op < 12; op++) {
                        if (placed.isEmpty() || mine.nextInt(3) > 0) {
                            List<Order> batch = new ArrayList<>();
                            for (int i = 1 + mine.nextInt(6); i > 0; i--) {
                                String key = "w" + writer + "-" + op + "-" + i;
                                batch.add(new Order(OrderIds.next(T0.toEpochMilli()), SKU, "u-" + key, 1,
                                        OrderStatus.CONFIRMED, T0, "req-" + key, key));
                            }
                            store.insertOrders(batch);
                            batch.forEach(o -> {
                                placed.add(o.orderId());
                                changes.put(o.orderId(), 1);
                            });
                        } else {
                            String id = placed.get(mine.nextInt(placed.size()));
                            if (store.cancel(id, T0.plusSeconds(1)).orElseThrow().cancelledNow()) {
                                changes.merge(id, 1, Integer::sum);
                            }
                        }
                    }
                }));
            }
            for (Thread t : threads) {
                t.join();
            }
            writing.set(false);
            reader.join();

            String of = "seed " + seed + ", round " + round + ", " + writers + " writers";
            long expected = changes.values().stream().mapToLong(Integer::longValue).sum();
            assertThat(seen).as("%s: positions, as the reader met them", of).extracting(OrderEvent::position)
                    .containsExactlyElementsOf(LongStream.rangeClosed(1, expected).boxed().toList());
            Map<String, List<OrderEvent.Type>> byOrder = new HashMap<>();
            seen.forEach(e -> byOrder.computeIfAbsent(e.order().orderId(), k -> new ArrayList<>()).add(e.type()));
            assertThat(byOrder.keySet()).as(of).isEqualTo(changes.keySet());
            changes.forEach((id, n) -> assertThat(byOrder.get(id)).as("%s: events of %s", of, id)
                    .isEqualTo(n == 1 ? List.of(OrderEvent.Type.CREATED)
                            : List.of(OrderEvent.Type.CREATED, OrderEvent.Type.CANCELLED)));
            assertThat(store.stampEvents(new Lock.Fence("floodgate.events", 1), 100))
                    .as("%s: nothing for a relay to stamp", of).isZero();
        }
    }

    private static void sleepMillis(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    @Test
    void eventsAnEarlierVersionLeftForItsRelayComeFirstWhenTheStoreOpens() throws Exception {
        List<Order> orders = new ArrayList<>();
        try (OrderStore store = JdbcStores.embedded(dir, Clock.systemUTC())) {
            store.putItem(new ItemSpec(SKU, "Upgraded", 100, 100, null, null));
            for (int i = 0; i < 3; i++) {
                orders.add(new Order(OrderIds.next(T0.toEpochMilli()), SKU, "u" + i, 1, OrderStatus.CONFIRMED, T0,
                        "req-" + i, "k" + i));
            }
            store.insertOrders(orders);
            store.cancel(orders.get(0).orderId(), T0.plusSeconds(1));
        }
        // as an earlier version left it: its relay had stamped the first event, not the others
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + dir.resolve(JdbcStores.EMBEDDED_FILE));
             Statement s = c.createStatement()) {
            s.executeUpdate("UPDATE order_events SET position = NULL WHERE seq > (SELECT MIN(seq) FROM order_events)");
            s.executeUpdate("INSERT INTO event_marks (name, position) VALUES ('stamped', 1)"
                    + " ON CONFLICT (name) DO UPDATE SET position = 1");
        }
        try (OrderStore store = JdbcStores.embedded(dir, Clock.systemUTC())) {
            store.cancel(orders.get(1).orderId(), T0.plusSeconds(2)); // a change after the upgrade
            List<OrderEvent> events = store.events(0, 100);
            assertThat(events).extracting(OrderEvent::position).containsExactly(1L, 2L, 3L, 4L, 5L);
            assertThat(events.getLast()).extracting(OrderEvent::type, e -> e.order().orderId())
                    .containsExactly(OrderEvent.Type.CANCELLED, orders.get(1).orderId());
            assertThat(events.subList(0, 4)).extracting(OrderEvent::type).containsExactlyInAnyOrder(
                    OrderEvent.Type.CREATED, OrderEvent.Type.CREATED, OrderEvent.Type.CREATED, OrderEvent.Type.CANCELLED);
            assertThat(events.subList(0, 4)).filteredOn(e -> e.order().orderId().equals(orders.get(0).orderId()))
                    .extracting(OrderEvent::type).containsExactly(OrderEvent.Type.CREATED, OrderEvent.Type.CANCELLED);
        }
    }
}
