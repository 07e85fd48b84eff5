package io.floodgate.flow;

import io.github.bucket4j.Bucket;
import io.github.bucket4j.ConsumptionProbe;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Admission's token buckets ({@link Gcra}, one {@code AtomicLong} per bucket) against Bucket4j's
 * lock-free bucket, the library the issue names, doing the same job: take one token and learn the
 * wait when there is none. From two threads:
 * <ul>
 *   <li>{@code *HotBucket}: one bucket shared by both threads (the global order bucket);</li>
 *   <li>{@code *PerUser}: a bucket per user among a million, looked up (or made) in a
 *   {@link ConcurrentHashMap} as {@link Admission} does, for a random user each time.</li>
 * </ul>
 * The rates are high enough that no call is refused: this is the admit path, the common one. At
 * setup each side prints the heap a million buckets take (after a full collection), the other half
 * of the comparison. Run: {@code scripts/jmh.sh TokenBucketBenchmark}
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
@Threads(2)
@State(Scope.Benchmark)
public class TokenBucketBenchmark {

    private static final int USERS = 1_000_000;
    private static final double RATE = 1e9; // Bucket4j refills at most one token a nanosecond
    private static final long BURST = 1_000_000_000L;

    private final Gcra gcra = new Gcra(RATE, BURST);
    private final AtomicLong gcraHot = new AtomicLong(Long.MIN_VALUE / 2);
    private final ConcurrentHashMap<String, AtomicLong> gcraUsers = new ConcurrentHashMap<>();
    private Bucket bucket4jHot;
    private final ConcurrentHashMap<String, Bucket> bucket4jUsers = new ConcurrentHashMap<>();
    private String[] users;

    private static Bucket bucket4j() {
        return Bucket.builder()
                .addLimit(limit -> limit.capacity(BURST).refillGreedy((long) RATE, Duration.ofSeconds(1)))
                .build();
    }

    @Setup(Level.Trial)
    public void setUp() {
        users = new String[USERS];
        for (int i = 0; i < USERS; i++) {
            users[i] = "user-" + i;
        }
        bucket4jHot = bucket4j();
        long before = usedAfterGc();
        for (String u : users) {
            gcraUsers.put(u, new AtomicLong(System.nanoTime()));
        }
        long gcraBytes = usedAfterGc() - before;
        before = usedAfterGc();
        for (String u : users) {
            bucket4jUsers.put(u, bucket4j());
        }
        long bucket4jBytes = usedAfterGc() - before;
        System.out.printf("%nheap for %,d buckets in a ConcurrentHashMap (map entries included): Gcra %,d bytes"
                + " (%d per bucket), Bucket4j %,d bytes (%d per bucket)%n", USERS, gcraBytes, gcraBytes / USERS,
                bucket4jBytes, bucket4jBytes / USERS);
    }

    private static long usedAfterGc() {
        for (int i = 0; i < 3; i++) {
            System.gc();
        }
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }

    @Benchmark
    public long gcraHotBucket() {
        return gcra.tryAcquire(gcraHot, System.nanoTime());
    }

    @Benchmark
    public long bucket4jHotBucket() {
        ConsumptionProbe probe = bucket4jHot.tryConsumeAndReturnRemaining(1);
        return probe.isConsumed() ? 0 : probe.getNanosToWaitForRefill();
    }

    @Benchmark
    public long gcraPerUser() {
        String user = users[ThreadLocalRandom.current().nextInt(USERS)];
        long now = System.nanoTime();
        AtomicLong tat = gcraUsers.computeIfAbsent(user, u -> new AtomicLong(now));
        return gcra.tryAcquire(tat, now);
    }

    @Benchmark
    public long bucket4jPerUser() {
        String user = users[ThreadLocalRandom.current().nextInt(USERS)];
        ConsumptionProbe probe = bucket4jUsers.computeIfAbsent(user, u -> bucket4j()).tryConsumeAndReturnRemaining(1);
        return probe.isConsumed() ? 0 : probe.getNanosToWaitForRefill();
    }
}
