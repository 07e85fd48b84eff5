package io.floodgate.redis;

import io.floodgate.flow.ClusterRateLimiter;
import io.floodgate.testing.Seeds;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The cluster-wide order rate ({@link ClusterRateLimiter} over {@link RedisRateBucket}): instances
 * sharing one Redis admit the cluster's rate together, and an instance that cannot reach Redis
 * limits itself at its share, then goes back to Redis by itself. Time is the test's: one
 * nanosecond counter moves both the limiters and the Redis script, so counts are exact bounds.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ClusterRateLimitTest {

    private final AtomicLong nanos = new AtomicLong(TimeUnit.HOURS.toNanos(1));
    private final List<AutoCloseable> closing = new ArrayList<>();
    private final List<String> namespaces = new ArrayList<>();

    @AfterEach
    void cleanUp() throws Exception {
        for (AutoCloseable c : closing.reversed()) {
            c.close();
        }
        namespaces.forEach(ns -> RedisTestSupport.deleteNamespace(RedisTestSupport.URL, ns));
    }

    private RedisRateBuckets buckets(String url, String namespace, Duration commandTimeout) {
        RedisRateBuckets buckets = RedisRateBuckets.connect(RedisLedgers.settings(url).namespace(namespace)
                .maxCommandTimeout(commandTimeout).build());
        closing.add(buckets);
        return buckets;
    }

    /** A limiter as Floodgate wires it, on the test's clock; {@code redisDown} as the breaker would say. */
    private ClusterRateLimiter limiter(RedisRateBuckets buckets, double rate, int instances) {
        RedisRateBucket bucket = buckets.bucket("orders", rate, (long) rate, () -> nanos.get() / 1_000);
        // a generous call timeout: the machine is shared, and a slow lease would fall back, which is
        // another test's subject
        return new ClusterRateLimiter(bucket, rate, instances, Duration.ofMillis(500), () -> false, nanos::get);
    }

    @Test
    void twoInstancesSharingOneRedisAdmitTheClusterRateTogether() {
        RedisTestSupport.requireOrSkip(RedisTestSupport.URL);
        long seed = Seeds.seed("cluster.rate.seed");
        Random random = new Random(seed);
        String namespace = RedisTestSupport.freshNamespace();
        namespaces.add(namespace);
        double rate = 200 + random.nextInt(2_000);
        ClusterRateLimiter a = limiter(buckets(RedisTestSupport.URL, namespace, Duration.ofSeconds(1)), rate, 2);
        ClusterRateLimiter b = limiter(buckets(RedisTestSupport.URL, namespace, Duration.ofSeconds(1)), rate, 2);

        long start = nanos.get();
        long window = TimeUnit.SECONDS.toNanos(2 + random.nextInt(3));
        long admitted = 0;
        long asked = 0;
        while (nanos.get() - start < window) {
            // demand at about five times the rate, in bursts, from either instance at random
            ClusterRateLimiter instance = random.nextBoolean() ? a : b;
            int requests = 1 + random.nextInt(10);
            for (int i = 0; i < requests; i++) {
                asked++;
                if (instance.tryAcquire() == 0) {
                    admitted++;
                }
            }
            nanos.addAndGet((long) (random.nextDouble() * 2 * requests * 1e9 / (5 * rate)));
        }
        double seconds = (nanos.get() - start) / 1e9;
        long burst = (long) rate;
        long leases = a.stats().leases() + b.stats().leases();
        System.out.printf("seed %d: rate %.0f/s, %.2f s, asked %d, admitted %d (bound %d), %d leases of up to %d"
                        + " (%.1f admissions per round trip)%n", seed, rate, seconds, asked, admitted,
                (long) (burst + rate * seconds) + 1, leases, a.chunk(), admitted / (double) leases);
        // Tokens leave the bucket no faster than GCRA allows: burst + rate * elapsed, plus the one due now.
        assertThat(admitted).as("seed %d: at most the cluster rate", seed).isLessThanOrEqualTo((long) (burst + rate * seconds) + 1);
        // Leases that lapse unspent make it admit a little less; never much less, under this demand.
        assertThat(admitted).as("seed %d: close to the cluster rate", seed).isGreaterThanOrEqualTo((long) (0.9 * (burst + rate * seconds)));
        assertThat(a.stats().allowed()).as("seed %d: both instances admit", seed).isPositive();
        assertThat(b.stats().allowed()).as("seed %d: both instances admit", seed).isPositive();
        assertThat(a.stats().fallbackAllowed() + b.stats().fallbackAllowed()).as("no fallback while Redis answers").isZero();
        if (a.chunk() >= 2) {
            // at low rates a lease is one token (10 ms of the instance's share): no batching to show
            assertThat(leases).as("seed %d: leases, not a round trip per order", seed).isLessThan(admitted);
        }
    }

    @Test
    void unreachableRedisFallsBackToTheLocalShareAndRecoversByItself() {
        RedisTestSupport.requireRedisServerBinary();
        long seed = Seeds.seed("cluster.rate.fallback.seed");
        Random random = new Random(seed);
        try (RedisProcess server = RedisProcess.start()) {
            double rate = 400 + random.nextInt(1_600);
            int instances = 2 + random.nextInt(4);
            double share = rate / instances;
            ClusterRateLimiter limiter = limiter(buckets(server.url(), "fg", Duration.ofMillis(200)), rate, instances);
            assertThat(limiter.tryAcquire()).isZero();
            assertThat(limiter.stats().leases()).isEqualTo(1);

            server.kill();
            nanos.addAndGet(TimeUnit.SECONDS.toNanos(5)); // past the lease, the bucket full again
            long start = nanos.get();
            long window = TimeUnit.SECONDS.toNanos(2 + random.nextInt(3));
            long admitted = 0;
            while (nanos.get() - start < window) {
                if (limiter.tryAcquire() == 0) {
                    admitted++;
                }
                nanos.addAndGet((long) (random.nextDouble() * 2 * 1e9 / (4 * rate))); // demand: 4x the cluster rate
            }
            double seconds = (nanos.get() - start) / 1e9;
            long burst = (long) share;
            System.out.printf("seed %d: Redis down, rate %.0f/s over %d instances: admitted %d in %.2f s (share %.1f/s)%n",
                    seed, rate, instances, admitted, seconds, share);
            assertThat(limiter.stats().fallbackAllowed()).as("seed %d: decided by the fallback", seed).isEqualTo(admitted);
            assertThat(admitted).as("seed %d: not unlimited: at most the share", seed)
                    .isLessThanOrEqualTo((long) (burst + share * seconds) + 1);
            assertThat(admitted).as("seed %d: not shut: about the share", seed)
                    .isGreaterThanOrEqualTo((long) (0.9 * (burst + share * seconds)));
            assertThat(limiter.stats().fallbackLimited()).as("seed %d", seed).isPositive();

            server.startAgain(); // empty: no script, no bucket
            long leasesBefore = limiter.stats().leases();
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(20)).until(() -> {
                nanos.addAndGet(TimeUnit.MILLISECONDS.toNanos(300)); // past the fallback's retry pause
                limiter.tryAcquire();
                return limiter.stats().leases() > leasesBefore;
            });
            long fallbackBefore = limiter.stats().fallbackAllowed() + limiter.stats().fallbackLimited();
            nanos.addAndGet(TimeUnit.SECONDS.toNanos(5));
            for (int i = 0; i < 100; i++) {
                assertThat(limiter.tryAcquire()).as("back on Redis, with its full bucket").isZero();
            }
            assertThat(limiter.stats().fallbackAllowed() + limiter.stats().fallbackLimited()).isEqualTo(fallbackBefore);
        }
    }
}
