package io.floodgate.concurrent;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class PeriodicTest {

    @Test
    void aPassWithMoreToDoIsFollowedAtOnceAndTheFirstThatIsDoneRests() throws Exception {
        AtomicInteger passes = new AtomicInteger();
        CountDownLatch third = new CountDownLatch(1);
        // a rest of an hour: the passes after the first come at once only because each says "more"
        try (Periodic loop = Periodic.start("test-periodic", Duration.ofHours(1), () -> {
            int n = passes.incrementAndGet();
            if (n == 3) {
                third.countDown();
            }
            return n < 3;
        }, e -> { })) {
            assertThat(third.await(10, TimeUnit.SECONDS)).isTrue();
        }
        assertThat(passes.get()).as("the third pass rests; close ends the rest").isEqualTo(3);
    }

    @Test
    void aFailedPassIsReportedAndTheLoopGoesOnAfterItsRest() throws Exception {
        AtomicInteger passes = new AtomicInteger();
        List<RuntimeException> failures = new CopyOnWriteArrayList<>();
        CountDownLatch third = new CountDownLatch(1);
        try (Periodic loop = Periodic.start("test-periodic", Duration.ofMillis(5), () -> {
            int n = passes.incrementAndGet();
            if (n == 3) {
                third.countDown();
            }
            if (n == 2) {
                throw new IllegalStateException("pass 2 fails");
            }
            return false;
        }, failures::add)) {
            assertThat(third.await(10, TimeUnit.SECONDS)).as("a pass after the failed one").isTrue();
        }
        assertThat(failures).extracting(Throwable::getMessage).containsExactly("pass 2 fails");
    }

    @Test
    void closeStopsARestingLoopAndNoPassStartsAfter() throws Exception {
        AtomicInteger passes = new AtomicInteger();
        CountDownLatch first = new CountDownLatch(1);
        Periodic loop = Periodic.start("test-periodic", Duration.ofHours(1), () -> {
            passes.incrementAndGet();
            first.countDown();
            return false;
        }, e -> { });
        assertThat(first.await(10, TimeUnit.SECONDS)).isTrue();
        loop.close();
        int after = passes.get();
        Thread.sleep(50);
        assertThat(passes.get()).isEqualTo(after).isEqualTo(1);
    }

    @Test
    void aRestMustBePositive() {
        assertThatThrownBy(() -> Periodic.start("bad", Duration.ZERO, () -> false, e -> { }))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("rest");
    }
}
