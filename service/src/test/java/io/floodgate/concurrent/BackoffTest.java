package io.floodgate.concurrent;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.SplittableRandom;
import java.util.random.RandomGenerator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class BackoffTest {

    private static final long MS = 1_000_000;

    /** A generator whose bounded draws are always the lowest (0) or the highest (bound - 1) value. */
    private static RandomGenerator always(boolean highest) {
        return new RandomGenerator() {
            @Override
            public long nextLong() {
                return highest ? -1 : 0;
            }

            @Override
            public long nextLong(long bound) {
                return highest ? bound - 1 : 0;
            }
        };
    }

    @Test
    void ceilingsDoubleFromTheFirstDelayUpToTheMaximum() {
        Backoff backoff = Backoff.exponential(Duration.ofMillis(50), Duration.ofSeconds(1));

        assertThat(backoff.ceilingNanos(0)).isEqualTo(50 * MS);
        assertThat(backoff.ceilingNanos(1)).isEqualTo(100 * MS);
        assertThat(backoff.ceilingNanos(4)).isEqualTo(800 * MS);
        assertThat(backoff.ceilingNanos(5)).isEqualTo(1_000 * MS);
        assertThat(backoff.ceilingNanos(30)).isEqualTo(1_000 * MS);
    }

    @Test
    void theCeilingNeverOverflowsHoweverManyRetries() {
        Backoff backoff = Backoff.exponential(Duration.ofNanos(3), Duration.ofDays(36_500));

        long previous = 0;
        for (int retry = 0; retry < 200; retry++) {
            long ceiling = backoff.ceilingNanos(retry);
            assertThat(ceiling).isPositive().isGreaterThanOrEqualTo(previous);
            previous = ceiling;
        }
        assertThat(backoff.ceilingNanos(Integer.MAX_VALUE)).isEqualTo(Duration.ofDays(36_500).toNanos());
    }

    @Test
    void everyDelayLiesBetweenHalfTheCeilingAndTheCeiling() {
        Backoff backoff = Backoff.exponential(Duration.ofMillis(50), Duration.ofSeconds(5))
                .withRandom(new SplittableRandom(42));

        for (int retry = 0; retry < 20; retry++) {
            long ceiling = backoff.ceilingNanos(retry);
            for (int draw = 0; draw < 1_000; draw++) {
                assertThat(backoff.delayNanos(retry)).isBetween(ceiling / 2, ceiling);
            }
        }
    }

    @Test
    void theJitterReachesBothEndsOfTheRange() {
        Duration first = Duration.ofMillis(50);
        Duration max = Duration.ofSeconds(2);

        assertThat(Backoff.exponential(first, max).withRandom(always(false)).delayNanos(0)).isEqualTo(25 * MS);
        assertThat(Backoff.exponential(first, max).withRandom(always(true)).delayNanos(0)).isEqualTo(50 * MS);
        assertThat(Backoff.exponential(first, max).withRandom(always(true)).delayNanos(10)).isEqualTo(2_000 * MS);
    }

    @Test
    void aSeededGeneratorGivesTheSameDelaysEveryRun() {
        Backoff backoff = Backoff.exponential(Duration.ofMillis(100), Duration.ofSeconds(5));

        Backoff a = backoff.withRandom(new SplittableRandom(7));
        Backoff b = backoff.withRandom(new SplittableRandom(7));
        for (int retry = 0; retry < 10; retry++) {
            assertThat(a.delay(retry)).isEqualTo(b.delay(retry));
        }
    }

    @Test
    void theDelaysSpreadAcrossTheRange() {
        Backoff backoff = Backoff.exponential(Duration.ofMillis(100), Duration.ofMillis(100))
                .withRandom(new SplittableRandom(1));
        long lowerHalf = 0;
        for (int draw = 0; draw < 10_000; draw++) {
            if (backoff.delayNanos(0) < 75 * MS) {
                lowerHalf++;
            }
        }
        assertThat(lowerHalf).isBetween(4_500L, 5_500L);
    }

    @Test
    void aBadConfigurationIsRefusedWithTheValueThatWasWrong() {
        assertThatThrownBy(() -> Backoff.exponential(Duration.ZERO, Duration.ofSeconds(1)))
                .hasMessage("the first delay must be positive, was PT0S");
        assertThatThrownBy(() -> Backoff.exponential(Duration.ofSeconds(2), Duration.ofSeconds(1)))
                .hasMessage("the maximum delay must be at least the first (PT2S), was PT1S");
        assertThatThrownBy(() -> Backoff.exponential(Duration.ofSeconds(1), Duration.ofSeconds(1)).delayNanos(-1))
                .hasMessage("retry must be >= 0, was -1");
    }
}
