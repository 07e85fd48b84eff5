package io.floodgate.kafka;

import io.floodgate.core.domain.ItemSpec;
import io.floodgate.core.domain.Order;
import io.floodgate.core.domain.OrderIds;
import io.floodgate.core.domain.OrderStatus;
import io.floodgate.core.port.OrderLog;
import io.floodgate.testing.TestOrderStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The direct store writer: an order whose Kafka send failed after it was appended is written to
 * the store, waiting out a store that refuses writes for a while (a transient failure is never a
 * reason to give up within the retention), once however often its copy arrives, and its caller's
 * late fate is told "stored" once.
 */
class DirectStoreWriterTest {

    private final TestOrderStore store = TestOrderStore.embedded();
    private final Map<String, AtomicInteger> storedTold = new ConcurrentHashMap<>();
    private final AtomicInteger droppedTold = new AtomicInteger();
    private final OrderLog.LateFate late = new OrderLog.LateFate() {
        @Override
        public void stored(Order order) {
            storedTold.computeIfAbsent(order.orderId(), id -> new AtomicInteger()).incrementAndGet();
        }

        @Override
        public void dropped(Order order) {
            droppedTold.incrementAndGet();
        }
    };
    private final DirectStoreWriter writer = new DirectStoreWriter(store, 64, 16, Duration.ofMinutes(5));

    DirectStoreWriterTest() {
        store.putItem(new ItemSpec("S", "Item S", 1_000, 1_000, null, null));
    }

    @AfterEach
    void close() {
        writer.close(Duration.ofSeconds(5));
        store.close();
    }

    private static Order order(String key) {
        long now = System.currentTimeMillis();
        return new Order(OrderIds.next(now), "S", "u-" + key, 1, OrderStatus.CONFIRMED, Instant.ofEpochMilli(now),
                "req-" + key, key);
    }

    @Test
    void aStoreThatRefusesWritesForAWhileIsWaitedOutAndEveryOrderIsStoredOnce() throws Exception {
        store.writesDown(true);
        List<Order> orders = List.of(order("a"), order("b"), order("c"));
        orders.forEach(o -> writer.write(o, late));
        // several backoff rounds against a store that refuses every write
        await().atMost(Duration.ofSeconds(30)).until(() -> store.insertAttempts().size() >= 3);
        assertThat(storedTold).as("nothing is confirmed while the store refuses").isEmpty();
        assertThat(store.presentIds(orders.stream().map(Order::orderId).toList())).isEmpty();

        store.writesDown(false);
        await().atMost(Duration.ofSeconds(30)).until(() -> storedTold.size() == orders.size());
        assertThat(store.presentIds(orders.stream().map(Order::orderId).toList()))
                .containsExactlyInAnyOrderElementsOf(orders.stream().map(Order::orderId).toList());
        assertThat(storedTold.values()).allMatch(n -> n.get() == 1);
        assertThat(droppedTold).hasValue(0);
        assertThat(writer.written()).isEqualTo(orders.size());
    }

    @Test
    void anOrderWhoseCopyTheConsumersAlreadyStoredIsStoredOnceAndConfirmed() {
        Order o = order("twice");
        store.insertOrders(List.of(o)); // the log's copy reached the store first
        writer.write(o, late);
        await().atMost(Duration.ofSeconds(30)).until(() -> storedTold.containsKey(o.orderId()));
        List<Order> all = new java.util.ArrayList<>();
        store.forEachOrder(all::add);
        assertThat(all).extracting(Order::orderId).containsExactly(o.orderId());
        assertThat(storedTold.get(o.orderId())).hasValue(1);
    }
}
