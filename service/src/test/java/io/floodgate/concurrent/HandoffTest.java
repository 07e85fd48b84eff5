package io.floodgate.concurrent;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class HandoffTest {

    private final List<String> late = new ArrayList<>();

    @Test
    void aResultDeliveredBeforeTheDeadlineGoesToTheWaiter() {
        Handoff<String> handoff = Handoff.queued(late::add);
        assertThat(handoff.take()).isTrue();
        handoff.complete("stored");

        assertThat(handoff.await(0)).isEqualTo(new Handoff.Delivered<>("stored"));
        assertThat(handoff.state()).isEqualTo(Handoff.State.DELIVERED);
        assertThat(late).isEmpty();
    }

    @Test
    void aWaiterThatLeavesBeforeTheTakeWithdrawsTheWorkAndTheCompleterSkipsIt() {
        Handoff<String> handoff = Handoff.queued(late::add);

        assertThat(handoff.await(0)).isEqualTo(new Handoff.Withdrawn<>());
        assertThat(handoff.take()).isFalse();
        assertThat(handoff.state()).isEqualTo(Handoff.State.WITHDRAWN);
        assertThat(late).isEmpty();
    }

    @Test
    void aWaiterThatLeavesAfterTheTakeLeavesTheResultToTheLatePath() {
        Handoff<String> handoff = Handoff.queued(late::add);
        handoff.take();

        assertThat(handoff.await(0)).isEqualTo(new Handoff.Abandoned<>());
        handoff.complete("stored");

        assertThat(late).containsExactly("stored");
        assertThat(handoff.state()).isEqualTo(Handoff.State.COMPLETED_LATE);
    }

    @Test
    void aTakenHandOffCannotBeWithdrawnOnlyAbandoned() {
        Handoff<String> handoff = Handoff.taken(late::add);

        assertThat(handoff.take()).isFalse();
        assertThat(handoff.await(0)).isEqualTo(new Handoff.Abandoned<>());
        handoff.complete("acknowledged");
        assertThat(late).containsExactly("acknowledged");
    }

    @Test
    void onlyOneCompleterTakesTheWork() {
        Handoff<String> handoff = Handoff.queued(late::add);

        assertThat(handoff.take()).isTrue();
        assertThat(handoff.take()).isFalse();
    }

    @Test
    void completingTwiceOrWithoutATakeIsABug() {
        Handoff<String> untaken = Handoff.queued(late::add);
        assertThatThrownBy(() -> untaken.complete("x"))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("QUEUED");

        Handoff<String> done = Handoff.taken(late::add);
        done.complete("x");
        assertThatThrownBy(() -> done.complete("y"))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("DELIVERED");
        assertThat(late).isEmpty();
    }

    @Test
    void aSecondWaiterCannotLeaveAgain() {
        Handoff<String> handoff = Handoff.queued(late::add);
        handoff.await(0);

        assertThatThrownBy(() -> handoff.await(0))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("only one waiter");
    }

    @Test
    void theLatePathsFailureReachesTheCompleter() {
        Handoff<String> handoff = Handoff.taken(r -> {
            throw new IllegalArgumentException("late action failed");
        });
        handoff.await(0);

        assertThatThrownBy(() -> handoff.complete("x")).hasMessage("late action failed");
        assertThat(handoff.state()).isEqualTo(Handoff.State.COMPLETED_LATE);
    }

    @Test
    void aBlockedWaiterWakesWithTheResult() throws Exception {
        Handoff<String> handoff = Handoff.queued(late::add);
        AtomicReference<Handoff.Waited<String>> waited = new AtomicReference<>();
        Thread waiter = Thread.ofVirtual().start(() -> waited.set(handoff.await(TimeUnit.MINUTES.toNanos(1))));

        handoff.take();
        handoff.complete("stored");

        assertThat(waiter.join(Duration.ofSeconds(10))).isTrue();
        assertThat(waited.get()).isEqualTo(new Handoff.Delivered<>("stored"));
    }

    @Test
    void anInterruptedWaiterLeavesAndKeepsItsInterruptStatus() throws Exception {
        Handoff<String> handoff = Handoff.queued(late::add);
        handoff.take();
        AtomicReference<Handoff.Waited<String>> waited = new AtomicReference<>();
        AtomicReference<Boolean> stillInterrupted = new AtomicReference<>();
        CountDownLatch started = new CountDownLatch(1);
        Thread waiter = Thread.ofVirtual().start(() -> {
            started.countDown();
            waited.set(handoff.await(TimeUnit.MINUTES.toNanos(1)));
            stillInterrupted.set(Thread.currentThread().isInterrupted());
        });
        started.await();
        waiter.interrupt();

        assertThat(waiter.join(Duration.ofSeconds(10))).isTrue();
        assertThat(waited.get()).isEqualTo(new Handoff.Abandoned<>());
        assertThat(stillInterrupted.get()).isTrue();
    }

    @Test
    void aWaiterWhoseDeadlinePassesLeavesAndTheLatePathGetsTheResult() throws Exception {
        Handoff<String> handoff = Handoff.queued(late::add);
        handoff.take();
        AtomicReference<Handoff.Waited<String>> waited = new AtomicReference<>();
        long begin = System.nanoTime();
        Thread waiter = Thread.ofVirtual().start(() -> waited.set(handoff.await(TimeUnit.MILLISECONDS.toNanos(20))));

        assertThat(waiter.join(Duration.ofSeconds(10))).as("woken by the deadline watch").isTrue();
        assertThat(System.nanoTime() - begin).as("not before its deadline").isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(20));
        assertThat(waited.get()).isEqualTo(new Handoff.Abandoned<>());
        handoff.complete("stored late");
        assertThat(late).containsExactly("stored late");
    }

    /**
     * Waiters with a long timeout and completers that deliver at random moments: every waiter
     * must get its result, so a lost wake-up (the completer missing a waiter that is about to
     * park) shows as a waiter still parked when the test gives up.
     */
    @Test
    void noWakeUpIsLostBetweenAWaiterAndItsCompleter() throws Exception {
        long seed = io.floodgate.testing.Seeds.seed("handoff.wakeup.seed");
        java.util.SplittableRandom random = new java.util.SplittableRandom(seed);
        int n = 5_000;
        List<Handoff<Integer>> handoffs = new ArrayList<>();
        java.util.concurrent.atomic.AtomicInteger delivered = new java.util.concurrent.atomic.AtomicInteger();
        try (var threads = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < n; i++) {
                Handoff<Integer> handoff = Handoff.queued(x -> { });
                handoffs.add(handoff);
                int spins = random.nextInt(200);
                int value = i;
                threads.submit(() -> {
                    if (handoff.await(TimeUnit.MINUTES.toNanos(1)) instanceof Handoff.Delivered<Integer>(Integer v) && v == value) {
                        delivered.incrementAndGet();
                    }
                });
                threads.submit(() -> {
                    for (int s = 0; s < spins; s++) {
                        Thread.onSpinWait();
                    }
                    if (spins % 3 == 0) {
                        Thread.yield();
                    }
                    handoff.take();
                    handoff.complete(value);
                });
            }
            threads.shutdown();
            assertThat(threads.awaitTermination(60, TimeUnit.SECONDS)).as("every waiter woke (seed %d)", seed).isTrue();
        }
        assertThat(delivered.get()).as("seed %d", seed).isEqualTo(n);
    }

    /** Deadlines and deliveries racing: each taken hand-off ends once, with the waiter or the late path. */
    @Test
    void aDeadlineRacingTheDeliveryEndsEachHandOffOnce() throws Exception {
        long seed = io.floodgate.testing.Seeds.seed("handoff.deadline.seed");
        java.util.SplittableRandom random = new java.util.SplittableRandom(seed);
        int n = 2_000;
        java.util.concurrent.atomic.AtomicInteger toWaiter = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.atomic.AtomicInteger toLatePath = new java.util.concurrent.atomic.AtomicInteger();
        try (var threads = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < n; i++) {
                Handoff<Integer> handoff = Handoff.taken(x -> toLatePath.incrementAndGet());
                long timeout = random.nextLong(TimeUnit.MILLISECONDS.toNanos(3));
                long delay = random.nextLong(TimeUnit.MILLISECONDS.toNanos(3));
                threads.submit(() -> {
                    if (handoff.await(timeout) instanceof Handoff.Delivered<Integer>) {
                        toWaiter.incrementAndGet();
                    }
                });
                threads.submit(() -> {
                    java.util.concurrent.locks.LockSupport.parkNanos(delay);
                    handoff.complete(1);
                });
            }
        }
        assertThat(toWaiter.get() + toLatePath.get()).as("seed %d", seed).isEqualTo(n);
        assertThat(toWaiter.get()).as("some delivered in time (seed %d)", seed).isPositive();
        assertThat(toLatePath.get()).as("some left to the late path (seed %d)", seed).isPositive();
    }

    @Test
    void anUninterruptibleWaiterWaitsThroughInterruptsForTheResult() throws Exception {
        Handoff<String> handoff = Handoff.queued(late::add);
        handoff.take();
        AtomicReference<String> got = new AtomicReference<>();
        AtomicReference<Boolean> stillInterrupted = new AtomicReference<>();
        Thread waiter = Thread.ofVirtual().start(() -> {
            got.set(handoff.awaitUninterruptibly());
            stillInterrupted.set(Thread.currentThread().isInterrupted());
        });
        waiter.interrupt();
        assertThat(waiter.join(Duration.ofMillis(50))).as("returned before the result").isFalse();

        handoff.complete("drained");

        assertThat(waiter.join(Duration.ofSeconds(10))).isTrue();
        assertThat(got.get()).isEqualTo("drained");
        assertThat(stillInterrupted.get()).isTrue();
    }

    @Test
    void everyTransitionStartsWhereTheDiagramSays() {
        assertThat(Handoff.Transition.values()).extracting(t -> t.from + "->" + t.to).containsExactly(
                "QUEUED->TAKEN", "QUEUED->WITHDRAWN", "TAKEN->ABANDONED", "TAKEN->DELIVERED", "ABANDONED->COMPLETED_LATE");
    }
}
