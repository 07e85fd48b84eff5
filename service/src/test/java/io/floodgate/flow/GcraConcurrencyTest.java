package io.floodgate.flow;

import io.floodgate.testing.Seeds;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * One bucket hammered by several threads at once admits exactly what a token bucket would:
 * {@code burst} at one instant when full, then what has refilled since (one per emission
 * interval, fractions carried over), never more than the burst, however the compare-and-set races
 * go. Random rates, bursts, thread counts and steps of time, over many runs; the clock is the
 * test's, so the expected count is exact.
 */
class GcraConcurrencyTest {

    @Test
    void concurrentCallersAdmitExactlyTheTokensThatExist() throws InterruptedException {
        long seed = Seeds.seed("gcra.concurrency.seed");
        Random random = new Random(seed);
        for (int run = 0; run < 40; run++) {
            double rate = 1 + random.nextInt(1_000_000);
            int burst = 1 + random.nextInt(2_000);
            int threads = 2 + random.nextInt(7);
            Gcra gcra = new Gcra(rate, burst);
            long emission = Math.max(1, (long) (TimeUnit.SECONDS.toNanos(1) / rate));
            long now = TimeUnit.DAYS.toNanos(1) + random.nextInt(1_000_000);
            AtomicLong bucket = new AtomicLong(now); // a new bucket is full
            long tolerance = emission * (burst - 1);
            for (int step = 0; step < 5; step++) {
                // what a token bucket holds now, from the bucket's state: whole emission intervals of credit
                long base = Math.max(bucket.get(), now);
                long expected = base - now > tolerance ? 0 : (now + tolerance - base) / emission + 1;
                assertThat(expected).isBetween(0L, (long) burst);
                int admitted = hammer(gcra, bucket, now, threads, (int) expected + burst + 50);
                assertThat(admitted).as("seed %d, run %d, step %d: rate %.0f/s, burst %d, %d threads",
                        seed, run, step, rate, burst, threads).isEqualTo((int) expected);
                now += (long) (random.nextDouble() * 2 * burst * emission);
            }
        }
    }

    /** {@code attempts} tries split among {@code threads} started together, all at {@code now}; returns those admitted. */
    private static int hammer(Gcra gcra, AtomicLong bucket, long now, int threads, int attempts)
            throws InterruptedException {
        AtomicInteger admitted = new AtomicInteger();
        AtomicLong negative = new AtomicLong(); // asserted here, not in the workers (their failures would be lost)
        AtomicInteger left = new AtomicInteger(attempts);
        CountDownLatch start = new CountDownLatch(1);
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            workers.add(Thread.ofPlatform().start(() -> {
                try {
                    start.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
                while (left.getAndDecrement() > 0) {
                    long wait = gcra.tryAcquire(bucket, now);
                    if (wait < 0) {
                        negative.set(wait);
                    } else if (wait == 0) {
                        admitted.incrementAndGet();
                    }
                }
            }));
        }
        start.countDown();
        for (Thread w : workers) {
            w.join();
        }
        assertThat(negative.get()).as("a wait is never negative").isZero();
        return admitted.get();
    }
}
