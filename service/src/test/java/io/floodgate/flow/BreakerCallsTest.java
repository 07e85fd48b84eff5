package io.floodgate.flow;

import io.floodgate.core.DependencyTime;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The slow-call rate of a breaker counts the dependency's own time where its adapter measured it:
 * a call that is slow only because its thread waited (for a carrier, on a saturated machine) does
 * not open the breaker, and a dependency that reports itself slow does, however fast the call
 * returned. Without a measurement the wall time counts.
 */
class BreakerCallsTest {

    private static final Duration SLOW = Duration.ofMillis(50);

    private static CircuitBreaker breaker() {
        return CircuitBreaker.of("test", Breakers.config(SLOW, Duration.ofSeconds(30)));
    }

    /**
     * Thirty calls at once (more than the breaker's minimum, all inside its window), each taking
     * {@code wall} and reporting {@code own}.
     */
    private static CircuitBreaker.State afterCalls(Duration wall, Duration own) throws InterruptedException {
        CircuitBreaker b = breaker();
        List<Thread> calls = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            calls.add(Thread.ofVirtual().start(() -> BreakerCalls.call(b, "test", () -> {
                if (own != null) {
                    DependencyTime.record(own.toNanos());
                }
                LockSupport.parkNanos(wall.toNanos());
                return "ok";
            })));
        }
        for (Thread call : calls) {
            call.join();
        }
        if (b.getState() == CircuitBreaker.State.CLOSED) { // and not merely for want of calls to judge
            assertThat(b.getMetrics().getNumberOfBufferedCalls()).isGreaterThanOrEqualTo(Breakers.MIN_CALLS);
        }
        return b.getState();
    }

    @Test
    void callsSlowOnlyByTheirWallClockDoNotOpenTheBreakerWhenTheDependencyReportsItselfFast() throws InterruptedException {
        assertThat(afterCalls(Duration.ofMillis(80), Duration.ofMillis(1))).isEqualTo(CircuitBreaker.State.CLOSED);
    }

    @Test
    void withoutAMeasurementTheWallClockCountsAndSlowCallsOpenIt() throws InterruptedException {
        assertThat(afterCalls(Duration.ofMillis(80), null)).isEqualTo(CircuitBreaker.State.OPEN);
    }

    @Test
    void aDependencyReportingItselfSlowOpensItHoweverFastTheCallsReturned() throws InterruptedException {
        assertThat(afterCalls(Duration.ZERO, Duration.ofMillis(200))).isEqualTo(CircuitBreaker.State.OPEN);
    }

    /** A dependency called a few times a second (the order writer on a dead store) still opens its breaker. */
    @Test
    void failuresArrivingAFewASecondOpenIt() {
        CircuitBreaker b = breaker();
        int calls = 0;
        while (b.getState() == CircuitBreaker.State.CLOSED && calls < 20) {
            calls++;
            try {
                BreakerCalls.call(b, "test", () -> {
                    throw new io.floodgate.core.DependencyUnavailableException("store", "the store is unreachable");
                });
            } catch (io.floodgate.core.DependencyUnavailableException expected) {
                // counted
            }
            LockSupport.parkNanos(Duration.ofMillis(300).toNanos());
        }
        assertThat(b.getState()).as("after %d failures 300 ms apart", calls).isEqualTo(CircuitBreaker.State.OPEN);
        assertThat(calls).isEqualTo(Breakers.MIN_CALLS);
    }

    /**
     * What a collector pause does at a high call rate: every call in flight during it ends slow. Among the
     * window's fast calls that is a small share, and the breaker stays closed (the last-20-calls window
     * opened on it).
     */
    @Test
    void aMomentWhenEveryCallInFlightIsSlowDoesNotOpenItAmongManyFastCalls() throws InterruptedException {
        CircuitBreaker b = breaker();
        for (int i = 0; i < 2_000; i++) {
            BreakerCalls.call(b, "test", () -> "fast");
        }
        List<Thread> paused = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            paused.add(Thread.ofVirtual().start(() -> BreakerCalls.call(b, "test", () -> {
                LockSupport.parkNanos(SLOW.multipliedBy(2).toNanos());
                return "slow";
            })));
        }
        for (Thread t : paused) {
            t.join();
        }
        assertThat(b.getMetrics().getNumberOfSlowCalls()).isEqualTo(200);
        assertThat(b.getState()).isEqualTo(CircuitBreaker.State.CLOSED);
    }

    @Test
    void recordingOutsideAGuardedCallIsANoOp() {
        DependencyTime.record(TimeUnit.SECONDS.toNanos(1));
        assertThat(DependencyTime.current()).isNull();
    }
}
