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
