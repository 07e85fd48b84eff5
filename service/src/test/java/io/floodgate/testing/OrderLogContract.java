package io.floodgate.testing;

import io.floodgate.core.Deadline;
import io.floodgate.core.domain.ItemSpec;
import io.floodgate.core.domain.Order;
import io.floodgate.core.domain.OrderIds;
import io.floodgate.core.domain.OrderStatus;
import io.floodgate.core.port.OrderLog;
import io.floodgate.core.port.OrderLog.AppendOutcome;
import io.floodgate.core.port.OrderStore;
import io.floodgate.jdbc.JdbcStores;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The {@link OrderLog} contract, as behaviours every log must show whatever it writes through:
 * the group-commit writer (201, stored before it answers) and the Kafka log (202, the consumers
 * store it). Each runs it through a subclass that says how to build one over a real (embedded)
 * store. What is particular to one log (in-doubt commits, dead letters) stays in its own test.
 */
public abstract class OrderLogContract {

    protected Path dir;
    protected OrderStore store;
    protected OrderLog log;

    /** A fresh log writing into {@code store}. */
    protected abstract OrderLog newLog(OrderStore store);

    /**
     * Whether every append answered in doubt ends in the store all the same (the Kafka log: a late
     * acknowledgement is stored by the consumers, a failed send is written directly); the group
     * commit may instead drop an order it took at the deadline.
     */
    protected boolean inDoubtEndsStored() {
        return false;
    }

    /** Stops the log built by {@link #newLog}, giving it {@code timeout} to store what it took. */
    protected abstract void close(OrderLog log, Duration timeout);

    @BeforeEach
    void openLog() throws Exception {
        dir = Files.createTempDirectory("floodgate-log-contract");
        store = JdbcStores.embedded(dir, Clock.systemUTC());
        store.putItem(new ItemSpec("S", "Item S", 1_000_000, 1_000, null, null));
        log = newLog(store);
    }

    @AfterEach
    void closeLog() {
        close(log, Duration.ofSeconds(10));
        store.close();
        TestFloodgate.deleteRecursively(dir);
    }

    protected static Order order(String key) {
        long now = System.currentTimeMillis();
        return new Order(OrderIds.next(now), "S", "u-" + key, 1, OrderStatus.CONFIRMED, Instant.ofEpochMilli(now),
                "req-" + key, key);
    }

    private static final OrderLog.LateFate NO_LATE_FATE = new OrderLog.LateFate() {
        @Override
        public void stored(Order order) {
        }

        @Override
        public void dropped(Order order) {
        }
    };

    private static boolean durable(AppendOutcome outcome) {
        return outcome instanceof AppendOutcome.Stored || outcome instanceof AppendOutcome.Logged;
    }

    @Test
    void everyOrderMadeDurableIsInTheStoreOnceAfterAwaitStored() throws Exception {
        long seed = Seeds.seed("order.log.contract.seed");
        Random random = new Random(seed);
        int count = 300 + random.nextInt(300);
        Map<String, AppendOutcome> outcomes = new ConcurrentHashMap<>();
        List<Order> sent = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            sent.add(order("k" + i));
        }
        try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
            for (Order o : sent) {
                threads.submit(() -> outcomes.put(o.orderId(), log.append(o, Deadline.after(Duration.ofSeconds(30)),
                        NO_LATE_FATE)));
            }
        }
        // On a loaded machine some appends may end in doubt (the port allows it: the caller answers
        // that it does not know yet, and the log decides later); none may be refused outright, and
        // a log that answered in doubt for every order would be broken, not slow.
        List<String> durable = sent.stream().map(Order::orderId).filter(id -> durable(outcomes.get(id))).toList();
        assertThat(outcomes.values()).as("seed %d", seed)
                .allMatch(o -> durable(o) || o instanceof AppendOutcome.InDoubt);
        assertThat(durable).as("seed %d: orders made durable", seed).isNotEmpty();
        assertThat(log.awaitStored(Deadline.after(Duration.ofSeconds(60)))).isTrue();
        Map<String, Integer> stored = new HashMap<>();
        store.forEachOrder(o -> stored.merge(o.orderId(), 1, Integer::sum));
        assertThat(stored.keySet()).as("seed %d: every order made durable is stored", seed).containsAll(durable);
        assertThat(sent.stream().map(Order::orderId).toList()).as("seed %d: nothing stored that was not sent", seed)
                .containsAll(stored.keySet());
        assertThat(stored.values()).as("seed %d: stored once", seed).allMatch(n -> n == 1);
        if (inDoubtEndsStored()) {
            List<String> inDoubt = sent.stream().map(Order::orderId)
                    .filter(id -> outcomes.get(id) instanceof AppendOutcome.InDoubt).toList();
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(90))
                    .until(() -> store.presentIds(inDoubt).size() == inDoubt.size());
        }
    }

    @Test
    void theSameOrderAppendedTwiceIsStoredOnce() {
        Order o = order("twice");
        assertThat(durable(log.append(o, Deadline.after(Duration.ofSeconds(30)), NO_LATE_FATE))).isTrue();
        assertThat(durable(log.append(o, Deadline.after(Duration.ofSeconds(30)), NO_LATE_FATE))).isTrue();
        assertThat(log.awaitStored(Deadline.after(Duration.ofSeconds(60)))).isTrue();
        List<Order> all = new ArrayList<>();
        store.forEachOrder(all::add);
        assertThat(all).extracting(Order::orderId).containsExactly(o.orderId());
    }

    @Test
    void anOrderWhoseDeadlineHasPassedIsNotLoggedAndNeverStored() {
        Order late = order("late");
        Deadline spent = Deadline.after(Duration.ofNanos(1));
        while (!spent.expired()) {
            Thread.onSpinWait();
        }
        assertThat(log.append(late, spent, NO_LATE_FATE)).isInstanceOfSatisfying(AppendOutcome.NotLogged.class,
                n -> assertThat(n.reason()).isEqualTo(AppendOutcome.Reason.DEADLINE));
        Order next = order("next");
        assertThat(durable(log.append(next, Deadline.after(Duration.ofSeconds(30)), NO_LATE_FATE))).isTrue();
        assertThat(log.awaitStored(Deadline.after(Duration.ofSeconds(60)))).isTrue();
        assertThat(store.presentIds(List.of(late.orderId(), next.orderId()))).containsExactly(next.orderId());
    }

    @Test
    void aClosedLogRefusesNewOrdersAndHasStoredWhatItTook() {
        List<Order> taken = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            Order o = order("before-close-" + i);
            assertThat(durable(log.append(o, Deadline.after(Duration.ofSeconds(30)), NO_LATE_FATE))).isTrue();
            taken.add(o);
        }
        close(log, Duration.ofSeconds(30));
        assertThat(log.append(order("after-close"), Deadline.after(Duration.ofSeconds(5)), NO_LATE_FATE))
                .isInstanceOfSatisfying(AppendOutcome.NotLogged.class,
                        n -> assertThat(n.reason()).isEqualTo(AppendOutcome.Reason.UNAVAILABLE));
        assertThat(store.presentIds(taken.stream().map(Order::orderId).toList())).hasSize(taken.size());
    }

    @Test
    void anIdleLogHoldsNothingAndHasNoBacklog() throws Exception {
        assertThat(durable(log.append(order("one"), Deadline.after(Duration.ofSeconds(30)), NO_LATE_FATE))).isTrue();
        assertThat(log.awaitStored(Deadline.after(Duration.ofSeconds(60)))).isTrue();
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            assertThat(log.depth()).isZero();
            assertThat(log.backlog().orders()).isZero();
        });
    }
}
