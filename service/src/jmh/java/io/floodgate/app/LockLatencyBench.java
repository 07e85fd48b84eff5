package io.floodgate.app;

import io.floodgate.core.KeptLease;
import io.floodgate.core.port.Lock;
import io.floodgate.core.port.Lock.Acquisition;
import io.floodgate.core.port.Lock.Lease;
import org.HdrHistogram.Histogram;

import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * What the reconciler's lock costs on each service: the latency of one {@code tryAcquire} of a
 * free lock, of one release ({@code close}), of one attempt on a held lock ({@code BUSY}), and of
 * one renewal round trip (as the lease's keeper timed it, a lease of 1 s renewed every third), from one thread, one after another, on
 * the lock the application builds from {@code FLOODGATE_LOCK_URL} ({@link Floodgate#openLock}).
 *
 * <p>Run: {@code scripts/lock-bench.sh} (all three services), or with the test class path:
 * {@code java -cp ... io.floodgate.app.LockLatencyBench <lock URL> [rounds] [renew seconds]}.
 */
public final class LockLatencyBench {

    private LockLatencyBench() {
    }

    public static void main(String[] args) throws Exception {
        String url = args[0];
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 2_000;
        int renewSeconds = args.length > 2 ? Integer.parseInt(args[2]) : 10;
        Config config = Config.fromEnv(Map.of("FLOODGATE_LOCK_URL", url));
        Duration lease = Duration.ofSeconds(15);
        try (Lock lock = Floodgate.openLock(config)) {
            String name = "bench-" + Long.toString(System.nanoTime(), 36);
            Histogram acquire = new Histogram(3);
            Histogram release = new Histogram(3);
            Histogram busy = new Histogram(3);
            for (int i = 0; i < rounds / 4; i++) { // warm-up: class loading, the JIT, connections
                ((Acquisition.Acquired) lock.tryAcquire(name, lease)).lease().close();
            }
            for (int i = 0; i < rounds; i++) {
                long t0 = System.nanoTime();
                Lease held = ((Acquisition.Acquired) lock.tryAcquire(name, lease)).lease();
                long t1 = System.nanoTime();
                held.close();
                long t2 = System.nanoTime();
                acquire.recordValue(t1 - t0);
                release.recordValue(t2 - t1);
            }
            Lease holder = ((Acquisition.Acquired) lock.tryAcquire(name, lease)).lease();
            for (int i = 0; i < rounds; i++) {
                long t0 = System.nanoTime();
                if (lock.tryAcquire(name, lease) != Acquisition.BUSY) {
                    throw new IllegalStateException("a held lock was taken again");
                }
                busy.recordValue(System.nanoTime() - t0);
            }
            holder.close();
            // renewals: a lease of 1 s is renewed about every 330 ms
            Histogram renew = new Histogram(3);
            String renewed;
            try (Lease held = ((Acquisition.Acquired) lock.tryAcquire(name + "-renew", Duration.ofSeconds(1)))
                    .lease()) {
                Thread.sleep(TimeUnit.SECONDS.toMillis(renewSeconds));
                renewed = held.isHeld() ? "held throughout" : "LOST (no renewal confirmed within the lease)";
                for (long nanos : ((KeptLease) held).keeper().recentRenewals()) {
                    renew.recordValue(nanos);
                }
            }
            System.out.println("lock " + Config.withoutPassword(url) + ", " + rounds + " rounds, one thread");
            print("acquire (free)", acquire);
            print("release", release);
            print("acquire (busy)", busy);
            print("renew", renew);
            System.out.println("  (the renewed lease of 1 s: " + renewed + ")");
        }
        System.exit(0);
    }

    private static void print(String what, Histogram h) {
        System.out.println(String.format(Locale.ROOT, "  %-15s n=%5d  p50 %8.3f ms  p90 %8.3f ms  p99 %8.3f ms  max %8.3f ms",
                what, h.getTotalCount(), ms(h.getValueAtPercentile(50)), ms(h.getValueAtPercentile(90)),
                ms(h.getValueAtPercentile(99)), ms(h.getMaxValue())));
    }

    private static double ms(long nanos) {
        return nanos / 1e6;
    }
}
