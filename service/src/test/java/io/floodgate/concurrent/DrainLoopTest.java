package io.floodgate.concurrent;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.random.RandomGenerator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** The worker is a real thread; its backoff never sleeps (a recording sleeper) and its clock is the test's. */
class DrainLoopTest {

    private static final long MS = 1_000_000;
    /** Delays at the top of each range, so they can be asserted exactly. */
    private static final Backoff BACKOFF = Backoff.exponential(Duration.ofMillis(10), Duration.ofMillis(40))
            .withRandom(new RandomGenerator() {
                @Override
                public long nextLong() {
                    return 0;
                }

                @Override
                public long nextLong(long bound) {
                    return bound - 1;
                }
            });

    private record Item(String name, long queuedAtNanos) {
    }

    private final List<List<String>> writes = new CopyOnWriteArrayList<>();
    private final List<Long> sleeps = new CopyOnWriteArrayList<>();
    private final List<String> givenUp = new CopyOnWriteArrayList<>();
    private final List<String> left = new CopyOnWriteArrayList<>();
    private final AtomicLong now = new AtomicLong(1_000 * MS);
    private final List<DrainLoop<Item>> started = new ArrayList<>();

    @AfterEach
    void stopLoops() {
        started.forEach(loop -> loop.close(Duration.ZERO, Duration.ofSeconds(5)));
    }

    private DrainLoop.Builder<Item> builder(int capacity, int maxBatch) {
        return DrainLoop.<Item>builder(Thread.ofVirtual().name("drain-loop-test"), capacity, maxBatch)
                .backoff(BACKOFF)
                .nanoTime(now::get)
                .sleeper(sleeps::add)
                .onStop(items -> items.forEach(i -> left.add(i.name())));
    }

    private DrainLoop<Item> start(DrainLoop.Builder<Item> builder, DrainLoop.Sink<Item> sink) {
        DrainLoop<Item> loop = builder.start(batch -> {
            writes.add(batch.stream().map(Item::name).toList());
            sink.write(batch);
        });
        started.add(loop);
        return loop;
    }

    private Item item(String name) {
        return new Item(name, now.get());
    }

    @Test
    void itemsAreWrittenInOrderInBatchesOfAtMostMaxBatch() throws Exception {
        Gate gate = new Gate();
        DrainLoop<Item> loop = start(builder(10, 3), batch -> gate.holdIf(batch, "1"));

        loop.offer(item("1"));
        gate.awaitWriter();
        for (int i = 2; i <= 7; i++) {
            assertThat(loop.offer(item(String.valueOf(i)))).isTrue();
        }
        assertThat(loop.size()).isEqualTo(6);
        gate.open();

        await().atMost(Duration.ofSeconds(10)).until(() -> writes.size() == 3);
        assertThat(writes).containsExactly(List.of("1"), List.of("2", "3", "4"), List.of("5", "6", "7"));
        assertThat(sleeps).isEmpty();
    }

    @Test
    void aFullQueueRefusesAtOnce() throws Exception {
        Gate gate = new Gate();
        DrainLoop<Item> loop = start(builder(2, 1), batch -> gate.holdIf(batch, "writing"));
        loop.offer(item("writing"));
        gate.awaitWriter();

        assertThat(loop.offer(item("a"))).isTrue();
        assertThat(loop.offer(item("b"))).isTrue();
        assertThat(loop.offer(item("c"))).isFalse();
        gate.open();
    }

    @Test
    void aFailedBatchIsRetriedWholeAfterBackingOffUntilItIsWritten() throws Exception {
        Gate gate = new Gate();
        AtomicInteger failuresLeft = new AtomicInteger(3);
        DrainLoop<Item> loop = start(builder(10, 10), batch -> {
            gate.holdIf(batch, "first");
            if (batch.getFirst().name().equals("a") && failuresLeft.getAndDecrement() > 0) {
                throw new IllegalStateException("store down");
            }
        });
        loop.offer(item("first"));
        gate.awaitWriter();
        loop.offer(item("a"));
        loop.offer(item("b"));
        gate.open();

        await().atMost(Duration.ofSeconds(10)).until(() -> writes.size() >= 5);
        assertThat(writes.subList(1, writes.size())).hasSize(4)
                .allSatisfy(batch -> assertThat(batch).containsExactly("a", "b"));
        assertThat(sleeps).containsExactly(10 * MS, 20 * MS, 40 * MS);
    }

    @Test
    void theBackoffStartsAgainAfterASuccess() {
        AtomicInteger calls = new AtomicInteger();
        DrainLoop<Item> loop = start(builder(10, 1), batch -> {
            int call = calls.incrementAndGet();
            if (call == 1 || call == 2 || call == 4) { // a fails twice, b once
                throw new IllegalStateException("store down");
            }
        });
        loop.offer(item("a"));
        loop.offer(item("b"));

        await().atMost(Duration.ofSeconds(10)).until(() -> calls.get() == 5);
        assertThat(sleeps).containsExactly(10 * MS, 20 * MS, 10 * MS);
    }

    @Test
    void afterAFailureItemsQueuedLongerThanTheRetentionAreGivenUpAndTheRestRetried() throws Exception {
        Gate gate = new Gate();
        AtomicInteger failuresLeft = new AtomicInteger(2);
        DrainLoop<Item> loop = start(builder(10, 10)
                .giveUpAfter(Duration.ofSeconds(60), Item::queuedAtNanos, (item, failure) -> {
                    assertThat(failure).hasMessage("store down");
                    givenUp.add(item.name());
                }), batch -> {
            gate.holdIf(batch, "first");
            if (!batch.getFirst().name().equals("first") && failuresLeft.getAndDecrement() > 0) {
                throw new IllegalStateException("store down");
            }
        });
        loop.offer(item("first"));
        gate.awaitWriter();
        loop.offer(new Item("old", now.get() - 61_000 * MS));
        loop.offer(new Item("fresh", now.get() - 1_000 * MS));
        gate.open();

        await().atMost(Duration.ofSeconds(10)).until(() -> writes.size() >= 4);
        assertThat(givenUp).containsExactly("old");
        assertThat(writes).containsExactly(List.of("first"), List.of("old", "fresh"), List.of("fresh"), List.of("fresh"));
        assertThat(sleeps).containsExactly(10 * MS, 20 * MS);
    }

    @Test
    void aBatchWhollyGivenUpLetsTheNextOneStartWithTheFirstDelay() {
        DrainLoop<Item> loop = start(builder(10, 1)
                .giveUpAfter(Duration.ZERO, Item::queuedAtNanos, (item, failure) -> givenUp.add(item.name())),
                batch -> {
                    throw new IllegalStateException("store down");
                });
        loop.offer(item("a"));
        loop.offer(item("b"));

        await().atMost(Duration.ofSeconds(10)).until(() -> givenUp.size() == 2);
        assertThat(givenUp).containsExactly("a", "b");
        assertThat(sleeps).isEmpty();
    }

    @Test
    void closeLetsTheWorkerEmptyTheQueueFirst() throws Exception {
        Gate gate = new Gate();
        DrainLoop<Item> loop = start(builder(10, 1), batch -> gate.holdIf(batch, "a"));
        loop.offer(item("a"));
        gate.awaitWriter();
        loop.offer(item("b"));
        loop.offer(item("c"));

        Thread closer = Thread.ofVirtual().start(() -> assertThat(loop.close(Duration.ofSeconds(10), Duration.ZERO)).isTrue());
        await().atMost(Duration.ofSeconds(10)).until(loop::isClosing);
        gate.open();

        assertThat(closer.join(Duration.ofSeconds(10))).isTrue();
        assertThat(writes).containsExactly(List.of("a"), List.of("b"), List.of("c"));
        assertThat(left).isEmpty();
    }

    @Test
    void aFailureWhileClosingStopsTheLoopAndHandsOverWhatIsLeft() throws Exception {
        Gate gate = new Gate();
        DrainLoop<Item> loop = start(builder(10, 1), batch -> {
            gate.holdIf(batch, "a");
            throw new IllegalStateException("store down");
        });
        loop.offer(item("a"));
        gate.awaitWriter();
        loop.offer(item("b"));

        Thread closer = Thread.ofVirtual().start(() -> loop.close(Duration.ofSeconds(10), Duration.ZERO));
        await().atMost(Duration.ofSeconds(10)).until(loop::isClosing);
        gate.open();

        assertThat(closer.join(Duration.ofSeconds(10))).isTrue();
        assertThat(writes).containsExactly(List.of("a"));
        assertThat(sleeps).isEmpty();
        assertThat(left).containsExactly("a", "b");
    }

    @Test
    void aWorkerThatDoesNotFinishInTimeIsInterruptedAndHandsOverWhatIsLeft() throws Exception {
        Gate neverOpened = new Gate(); // a store that never answers, until interrupted
        DrainLoop<Item> loop = start(builder(10, 1), batch -> neverOpened.holdIf(batch, "a"));
        loop.offer(item("a"));
        neverOpened.awaitWriter();
        loop.offer(item("b"));

        assertThat(loop.close(Duration.ofMillis(20), Duration.ofSeconds(10))).isFalse();
        assertThat(left).containsExactly("a", "b");
    }

    @Test
    void anInterruptDuringTheBackoffStopsTheLoop() {
        CountDownLatch sleeping = new CountDownLatch(1);
        DrainLoop<Item> loop = builder(10, 1)
                .sleeper(nanos -> {
                    sleeping.countDown();
                    TimeUnit.DAYS.sleep(1);
                })
                .start(batch -> {
                    throw new IllegalStateException("store down");
                });
        started.add(loop);
        loop.offer(item("a"));
        block(sleeping);

        assertThat(loop.close(Duration.ZERO, Duration.ofSeconds(10))).isFalse();
        assertThat(left).containsExactly("a");
    }

    @Test
    void anIdleLoopClosesPromptly() {
        DrainLoop<Item> loop = start(builder(10, 1), batch -> { });

        long start = System.nanoTime();
        assertThat(loop.close(Duration.ofSeconds(10), Duration.ZERO)).isTrue();
        assertThat(System.nanoTime() - start).isLessThan(TimeUnit.SECONDS.toNanos(5));
        assertThat(left).isEmpty();
    }

    @Test
    void aBadConfigurationIsRefusedWithTheValueThatWasWrong() {
        assertThatThrownBy(() -> DrainLoop.builder(Thread.ofVirtual(), 0, 1))
                .hasMessage("capacity must be >= 1, was 0");
        assertThatThrownBy(() -> DrainLoop.builder(Thread.ofVirtual(), 1, 0))
                .hasMessage("maxBatch must be >= 1, was 0");
        assertThatThrownBy(() -> DrainLoop.<String>builder(Thread.ofVirtual(), 1, 1).start(batch -> { }))
                .hasMessageContaining("needs a backoff");
        assertThatThrownBy(() -> DrainLoop.<String>builder(Thread.ofVirtual(), 1, 1)
                .giveUpAfter(Duration.ofSeconds(-1), s -> 0, (s, e) -> { }))
                .hasMessage("retention must not be negative, was PT-1S");
    }

    /** Holds the worker inside the write of a chosen item until the test opens it. */
    private static final class Gate {
        private final CountDownLatch entered = new CountDownLatch(1);
        private final CountDownLatch opened = new CountDownLatch(1);

        void holdIf(List<Item> batch, String firstItem) {
            if (batch.getFirst().name().equals(firstItem)) {
                entered.countDown();
                block(opened);
            }
        }

        void awaitWriter() throws InterruptedException {
            entered.await();
        }

        void open() {
            opened.countDown();
        }
    }

    /** Waits the way a blocking store call would: an interrupt fails the write. */
    private static void block(CountDownLatch latch) {
        try {
            latch.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

}
