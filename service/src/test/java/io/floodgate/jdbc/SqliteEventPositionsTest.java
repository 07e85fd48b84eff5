package io.floodgate.jdbc;

import io.floodgate.core.DependencyUnavailableException;
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
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;

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
        Path folder = dir.resolve("race-" + round);
        try (OrderStore store = JdbcStores.embedded(folder, Clock.systemUTC())) {
            store.putItem(new ItemSpec(SKU, "Racing", 1_000_000, 1_000_000, null, null));
            // a batch holding a doomed user's order fails after its events are written: it rolls
            // back, and none of its events may be seen, nor leave a gap
            sql(folder, "CREATE TRIGGER doomed AFTER INSERT ON order_events WHEN NEW.user_id LIKE 'doomed-%'"
                    + " BEGIN SELECT RAISE(ABORT, 'doomed'); END");
            int writers = 2 + random.nextInt(5); // the pool has 8 connections; the reader takes one
            java.util.Queue<Throwable> failures = new java.util.concurrent.ConcurrentLinkedQueue<>();
            Map<String, Integer> changes = new ConcurrentHashMap<>(); // order id -> its changes that committed
            List<OrderEvent> seen = new ArrayList<>();
            AtomicBoolean writing = new AtomicBoolean(true);
            SplittableRandom pages = random.split();
            Thread reader = Thread.ofVirtual().start(() -> collecting(failures, () -> {
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
            }));
            List<Thread> threads = new ArrayList<>();
            for (int w = 0; w < writers; w++) {
                SplittableRandom mine = random.split();
                int writer = w;
                threads.add(Thread.ofVirtual().start(() -> collecting(failures, () -> {
                    List<String> placed = new ArrayList<>();
                    for (int op = 0; op < 12; op++) {
                        if (placed.isEmpty() || mine.nextInt(3) > 0) {
                            boolean doomed = mine.nextInt(5) == 0;
                            List<Order> batch = new ArrayList<>();
                            for (int i = 1 + mine.nextInt(6); i > 0; i--) {
                                String key = "w" + writer + "-" + op + "-" + i;
                                String user = (doomed && i == 1 ? "doomed-" : "u-") + key;
                                batch.add(new Order(OrderIds.next(T0.toEpochMilli()), SKU, user, 1,
                                        OrderStatus.CONFIRMED, T0, "req-" + key, key));
                            }
                            if (doomed) {
                                assertThatThrownBy(() -> store.insertOrders(batch))
                                        .isInstanceOf(DependencyUnavailableException.class);
                                continue;
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
                })));
            }
            for (Thread t : threads) {
                t.join();
            }
            writing.set(false);
            reader.join();

            String of = "seed " + seed + ", round " + round + ", " + writers + " writers";
            assertThat(failures).as("%s: what the writers and the reader threw", of).isEmpty();
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

    /** Runs {@code work}, keeping what it throws for the test to fail on (a virtual thread's would vanish). */
    private static void collecting(java.util.Queue<Throwable> failures, Runnable work) {
        try {
            work.run();
        } catch (Throwable t) {
            failures.add(t);
        }
    }

    /** Runs statements on the store's file beside the store (SQLite, WAL mode: another connection). */
    private static void sql(Path folder, String... statements) throws Exception {
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + folder.resolve(JdbcStores.EMBEDDED_FILE));
             Statement s = c.createStatement()) {
            for (String statement : statements) {
                s.executeUpdate(statement);
            }
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
    void eventsAnEarlierVersionLeftForItsRelayComeFirstWhenTheStoreOpensInTheOrderTheyWereWritten() throws Exception {
        List<Order> orders = new ArrayList<>();
        try (OrderStore store = JdbcStores.embedded(dir, Clock.systemUTC())) {
            store.putItem(new ItemSpec(SKU, "Upgraded", 100, 100, null, null));
            for (int i = 0; i < 3; i++) {
                orders.add(new Order(OrderIds.next(T0.toEpochMilli()), SKU, "u" + i, 1, OrderStatus.CONFIRMED, T0,
                        "req-" + i, "k" + i));
            }
            store.insertOrders(orders);
            store.cancel(orders.get(2).orderId(), T0.plusSeconds(1));
            store.cancel(orders.get(0).orderId(), T0.plusSeconds(1));
        }
        // as an earlier version left it: its relay had stamped the first event, not the four after it
        sql(dir, "UPDATE order_events SET position = NULL WHERE seq > (SELECT MIN(seq) FROM order_events)",
                "INSERT INTO event_marks (name, position) VALUES ('stamped', 1) ON CONFLICT (name) DO UPDATE SET position = 1");
        try (OrderStore store = JdbcStores.embedded(dir, Clock.systemUTC())) {
            store.cancel(orders.get(1).orderId(), T0.plusSeconds(2)); // a change after the upgrade
            List<OrderEvent> events = store.events(0, 100);
            assertThat(events).extracting(OrderEvent::position).containsExactly(1L, 2L, 3L, 4L, 5L, 6L);
            assertThat(events).extracting(OrderEvent::type, e -> e.order().orderId()).containsExactly(
                    tuple(OrderEvent.Type.CREATED, orders.get(0).orderId()),
                    tuple(OrderEvent.Type.CREATED, orders.get(1).orderId()),
                    tuple(OrderEvent.Type.CREATED, orders.get(2).orderId()),
                    tuple(OrderEvent.Type.CANCELLED, orders.get(2).orderId()),
                    tuple(OrderEvent.Type.CANCELLED, orders.get(0).orderId()),
                    tuple(OrderEvent.Type.CANCELLED, orders.get(1).orderId()));
        }
    }
}
