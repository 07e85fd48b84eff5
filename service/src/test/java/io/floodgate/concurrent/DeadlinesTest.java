package io.floodgate.concurrent;

import io.floodgate.testing.Seeds;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.SplittableRandom;
import java.util.concurrent.locks.LockSupport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The shared deadline watch: a watch is due exactly from its deadline, wakes its thread, and is gone once closed. */
class DeadlinesTest {

    /** Ticks once an hour: every sweep here is the test's own call, at the time it says. */
    private final Deadlines deadlines = new Deadlines(Duration.ofHours(1), "deadlines-test");

    @Test
    void aWatchIsDueFromItsDeadlineAndWakesItsThread() throws Exception {
        long deadline = System.nanoTime() + Duration.ofHours(1).toNanos();
        Deadlines.Watch[] watch = new Deadlines.Watch[1];
        Thread parked = Thread.ofVirtual().unstarted(() -> {
            while (!watch[0].due()) {
                LockSupport.park();
            }
        });
        watch[0] = deadlines.watch(deadline, parked);
        parked.start();

        deadlines.sweep(deadline - 1);
        assertThat(watch[0].due()).isFalse();
        assertThat(parked.join(Duration.ofMillis(50))).as("still parked before its deadline").isFalse();

        deadlines.sweep(deadline);
        assertThat(watch[0].due()).isTrue();
        assertThat(parked.join(Duration.ofSeconds(10))).as("woken at its deadline").isTrue();
        watch[0].close();
        assertThat(deadlines.watching()).isZero();
    }

    @Test
    void aDeadlineAlreadyPastIsDueWithoutASweep() {
        try (Deadlines.Watch watch = deadlines.watch(System.nanoTime() - 1, Thread.currentThread())) {
            assertThat(watch.due()).isTrue();
            assertThat(deadlines.watching()).isOne();
        }
        assertThat(deadlines.watching()).isZero();
    }

    @Test
    void theSharedWatchWakesAParkedThreadOnItsOwn() throws Exception {
        long begin = System.nanoTime();
        Thread parked = Thread.ofVirtual().start(() -> {
            try (Deadlines.Watch watch = Deadlines.SHARED.watch(System.nanoTime() + Duration.ofMillis(30).toNanos(),
                    Thread.currentThread())) {
                while (!watch.due()) {
                    LockSupport.park();
                }
            }
        });
        assertThat(parked.join(Duration.ofSeconds(10))).isTrue();
        assertThat(System.nanoTime() - begin).isGreaterThanOrEqualTo(Duration.ofMillis(30).toNanos());
    }

    @Test
    void getReturnsAFuturesValueWhenItComesAndTimesOutWhenItDoesNot() throws Exception {
        java.util.concurrent.CompletableFuture<String> done = java.util.concurrent.CompletableFuture.completedFuture("now");
        assertThat(Deadlines.get(done, 1)).isEqualTo("now");

        java.util.concurrent.CompletableFuture<String> later = new java.util.concurrent.CompletableFuture<>();
        Thread.ofVirtual().start(() -> {
            LockSupport.parkNanos(Duration.ofMillis(20).toNanos());
            later.complete("later");
        });
        assertThat(Deadlines.get(later, Duration.ofMinutes(1).toNanos())).isEqualTo("later");

        java.util.concurrent.CompletableFuture<String> never = new java.util.concurrent.CompletableFuture<>();
        long begin = System.nanoTime();
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> Deadlines.get(never, Duration.ofMillis(30).toNanos()))
                .isInstanceOf(java.util.concurrent.TimeoutException.class);
        assertThat(System.nanoTime() - begin).isGreaterThanOrEqualTo(Duration.ofMillis(30).toNanos());

        java.util.concurrent.CompletableFuture<String> failed = new java.util.concurrent.CompletableFuture<>();
        Thread.ofVirtual().start(() -> failed.completeExceptionally(new IllegalStateException("refused")));
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> Deadlines.get(failed, Duration.ofMinutes(1).toNanos()))
                .isInstanceOf(java.util.concurrent.ExecutionException.class).hasRootCauseMessage("refused");
    }

    @Test
    void manyGettersAllWakeWithTheirValues() throws Exception {
        int n = 2_000;
        java.util.List<java.util.concurrent.CompletableFuture<Integer>> futures = new java.util.ArrayList<>();
        java.util.concurrent.atomic.AtomicInteger got = new java.util.concurrent.atomic.AtomicInteger();
        try (var threads = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < n; i++) {
                java.util.concurrent.CompletableFuture<Integer> f = new java.util.concurrent.CompletableFuture<>();
                futures.add(f);
                int value = i;
                threads.submit(() -> {
                    if (Deadlines.get(f, Duration.ofMinutes(1).toNanos()) == value) {
                        got.incrementAndGet();
                    }
                    return null;
                });
            }
            for (int i = 0; i < n; i++) {
                futures.get(i).complete(i);
            }
            threads.shutdown();
            assertThat(threads.awaitTermination(60, java.util.concurrent.TimeUnit.SECONDS)).as("every getter woke").isTrue();
        }
        assertThat(got.get()).isEqualTo(n);
    }

    /**
     * The seed chooses, per round, whether the waiter comes once the watch thread is parked
     * untimed, or at once (while it ticks, counts empty ticks, or is on its way to park), and the
     * deadline; not the threads' interleaving, which is the machine's.
     */
    @Test
    void anIdleWatchThreadParksUntilAWaiterComesAndNoWaiterIsMissed() throws Exception {
        long seed = Seeds.seed("deadlines.idle.seed");
        SplittableRandom random = new SplittableRandom(seed);
        Deadlines ticking = new Deadlines(Duration.ofNanos(Duration.ofMillis(1).toNanos() / Deadlines.IDLE_TICKS),
                "deadlines-idle-test"); // idle after about a millisecond without waiters
        for (int round = 0; round < 400; round++) {
            Thread watchThread = ticking.watchThread();
            if (watchThread != null && random.nextBoolean()) {
                // nobody waits: the watch thread parks without a timeout (no tick)
                await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(1))
                        .until(() -> watchThread.getState() == Thread.State.WAITING);
            } else if (random.nextBoolean()) {
                LockSupport.parkNanos(random.nextLong(0, Duration.ofMillis(2).toNanos())); // around the idle switch
            }
            long deadline = System.nanoTime() + random.nextLong(0, Duration.ofMillis(2).toNanos());
            Thread waiter = Thread.ofVirtual().start(() -> {
                try (Deadlines.Watch watch = ticking.watch(deadline, Thread.currentThread())) {
                    while (!watch.due()) {
                        LockSupport.park();
                    }
                }
            });
            assertThat(waiter.join(Duration.ofSeconds(30)))
                    .as("round %d: the waiter was woken at its deadline (seed %d)", round, seed).isTrue();
        }
        assertThat(ticking.watching()).isZero();
    }
}
