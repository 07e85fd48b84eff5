package io.floodgate.core;

import io.floodgate.core.domain.ItemSpec;
import io.floodgate.core.domain.Order;
import io.floodgate.core.domain.OrderEvent;
import io.floodgate.core.domain.OrderIds;
import io.floodgate.core.domain.OrderStatus;
import io.floodgate.core.port.EventPublisher;
import io.floodgate.memory.InProcessLock;
import io.floodgate.testing.MutableClock;
import io.floodgate.testing.Seeds;
import io.floodgate.testing.TestOrderStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The relay against a topic in memory that fails as a broker does: a batch that committed but
 * whose answer was lost, a relay fenced by a newer one. Whatever happens, the topic holds each
 * event of the outbox once, in position order.
 */
class EventRelayTest {

    private static final Instant T0 = Instant.parse("2026-11-26T12:00:00Z");

    private final MutableClock clock = new MutableClock(T0);
    private final TestOrderStore store = TestOrderStore.embedded(clock);
    private final InProcessLock lock = new InProcessLock(clock);

    @AfterEach
    void close() {
        store.close();
    }

    /** A topic: what was committed, in order; a publisher's tenure ends when another resumes. */
    static final class MemoryTopic {
        final List<OrderEvent> committed = new ArrayList<>();
        int tenure;
        /** The next publish commits, then throws as if its answer was lost. */
        boolean loseNextAnswer;
        /** The next publish fails before anything is committed. */
        boolean failNext;

        EventPublisher publisher() {
            return new EventPublisher() {
                int mine = -1;

                @Override
                public long resume() {
                    synchronized (MemoryTopic.this) {
                        mine = ++tenure;
                        return committed.isEmpty() ? 0 : committed.getLast().position();
                    }
                }

                @Override
                public void publish(List<OrderEvent> events) {
                    synchronized (MemoryTopic.this) {
                        if (mine != tenure) {
                            throw new StaleFencingTokenException("topic", mine, tenure);
                        }
                        if (failNext) {
                            failNext = false;
                            throw new DependencyUnavailableException("kafka", "down for the test");
                        }
                        committed.addAll(events);
                        if (loseNextAnswer) {
                            loseNextAnswer = false;
                            throw new DependencyUnavailableException("kafka", "answer lost", null, true);
                        }
                    }
                }

                @Override
                public void close() {
                }
            };
        }
    }

    private List<Order> placeSome(int n, String prefix) {
        List<Order> orders = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            orders.add(new Order(OrderIds.next(clock.millis()), "S", "u" + i, 1, OrderStatus.CONFIRMED, clock.instant(),
                    "r", prefix + i));
        }
        store.insertOrders(orders);
        return orders;
    }

    private EventRelay relay(EventPublisher publisher, int batch) {
        return new EventRelay(store, lock, publisher, clock, new EventRelay.Settings(Duration.ofMillis(10), batch,
                Duration.ofSeconds(10)), ms -> { });
    }

    /** Passes, as the relay's loop makes them, until the topic holds every stamped event. */
    private void runUntilIdle(EventRelay relay, MemoryTopic topic) {
        for (int i = 0; i < 1_000; i++) {
            boolean busy = relay.runOnce();
            List<OrderEvent> outbox = store.events(0, 100_000);
            long published;
            synchronized (topic) {
                published = topic.committed.isEmpty() ? 0 : topic.committed.getLast().position();
            }
            if (!busy && (outbox.isEmpty() || outbox.getLast().position() == published)) {
                return;
            }
        }
        throw new AssertionError("the relay never caught up");
    }

    @Test
    void everyEventReachesTheTopicOnceInPositionOrderWhateverTheBrokerDoes() {
        store.putItem(new ItemSpec("S", "S", 1_000_000, 1_000_000, null, null));
        long seed = Seeds.seed("relay.faults.seed");
        Random random = new Random(seed);
        MemoryTopic topic = new MemoryTopic();
        EventRelay relay = relay(topic.publisher(), 5);
        List<Order> all = new ArrayList<>();
        for (int round = 0; round < 40; round++) {
            List<Order> placed = placeSome(1 + random.nextInt(12), "r" + round + "-");
            all.addAll(placed);
            if (random.nextBoolean()) {
                store.cancel(placed.getFirst().orderId(), clock.instant());
            }
            synchronized (topic) {
                topic.loseNextAnswer = random.nextInt(4) == 0;
                topic.failNext = !topic.loseNextAnswer && random.nextInt(5) == 0;
            }
            runUntilIdle(relay, topic);
        }
        runUntilIdle(relay, topic);
        List<OrderEvent> outbox = store.events(0, 100_000);
        assertThat(topic.committed).as("seed %d", seed).extracting(OrderEvent::id)
                .containsExactlyElementsOf(outbox.stream().map(OrderEvent::id).toList());
        assertThat(topic.committed).extracting(OrderEvent::position).isSorted().doesNotHaveDuplicates();
        assertThat(outbox).hasSize(all.size() + (int) outbox.stream()
                .filter(e -> e.type() == OrderEvent.Type.CANCELLED).count());
    }

    @Test
    void aRelayThatLostItsTenureStopsAndTheNewOneGoesOnWithoutARepeat() {
        store.putItem(new ItemSpec("S", "S", 1_000, 1_000, null, null));
        MemoryTopic topic = new MemoryTopic();
        EventRelay old = relay(topic.publisher(), 3);
        placeSome(4, "a");
        runUntilIdle(old, topic);
        assertThat(topic.committed).hasSize(4);
        clock.advance(Duration.ofSeconds(11)); // the old lease ran out: a new relay takes over
        EventRelay fresh = relay(topic.publisher(), 3);
        placeSome(5, "b");
        runUntilIdle(fresh, topic);
        old.runOnce(); // wakes: its lease is gone, it does nothing (and a stale publish would be refused)
        runUntilIdle(fresh, topic);
        assertThat(topic.committed).extracting(OrderEvent::id).doesNotHaveDuplicates().hasSize(9);
        assertThat(topic.committed).extracting(OrderEvent::position).isSorted();
        assertThat(fresh.stats().leader()).isTrue();
        assertThat(old.stats().leader()).isFalse();
    }
}
