package io.floodgate.redis;

import io.floodgate.core.DependencyUnavailableException;
import io.floodgate.core.port.Lock;
import io.floodgate.core.port.Lock.Acquisition;
import io.floodgate.core.port.Lock.Lease;
import io.floodgate.testing.LockContract;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The Redis lock on the machine's Redis (a namespace of its own per test), held to the lock
 * contract; and, on a redis-server of its own, what a holder sees when Redis goes away. Redis
 * keeps its own time, so here leases run out in real time.
 */
class RedisLockTest extends LockContract {

    private final String namespace = RedisTestSupport.freshNamespace();

    @BeforeAll
    static void redisAnswers() {
        RedisTestSupport.requireOrSkip(RedisTestSupport.URL);
    }

    @Override
    protected Lock newLock(Clock clock) {
        return RedisLocks.connect(RedisLedgers.settings(RedisTestSupport.URL).namespace(namespace).build());
    }

    @Override
    protected void elapse(Duration d) {
        LockSupport.parkNanos(d.toNanos());
    }

    @Override
    protected void suspendRenewal(Lease lease) {
        ((RedisLock.RedisLease) lease).suspendRenewal();
    }

    @AfterEach
    void deleteKeys() {
        opened().forEach(Lock::close); // first, or renewers would find their keys gone
        RedisTestSupport.deleteNamespace(RedisTestSupport.URL, namespace);
    }

    @Test
    void twoConnectionsExcludeEachOtherLikeTwoInstances() {
        Lock other = open(clock);
        Lease mine = acquired(lock.tryAcquire("reconciler", LONG));
        assertThat(other.tryAcquire("reconciler", LONG)).isEqualTo(Acquisition.BUSY);
        lock.close(); // closing a lock releases what it holds
        assertThat(mine.isHeld()).isFalse();
        Lease theirs = acquired(other.tryAcquire("reconciler", LONG));
        assertThat(theirs.token()).isGreaterThan(mine.token());
    }

    @Test
    void aHolderLearnsItLostTheLockWithinTheLeaseWhenRedisStops() throws Exception {
        RedisTestSupport.requireRedisServerBinary();
        try (RedisProcess redis = RedisProcess.start()) {
            Lock own = open(clock, redis.url());
            Duration lease = Duration.ofMillis(600);
            Lease held = acquired(own.tryAcquire("reconciler", lease));
            CountDownLatch lost = new CountDownLatch(1);
            held.onLost(lost::countDown);
            LockSupport.parkNanos(lease.toNanos()); // renewed at least once
            assertThat(held.isHeld()).isTrue();

            long killedAt = System.nanoTime();
            redis.kill();
            assertThat(lost.await(5, TimeUnit.SECONDS)).as("the loss was reported").isTrue();
            long reportedAfterMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - killedAt);
            assertThat(held.isHeld()).isFalse();
            // No later than a lease after the last renewal, which was at most a third of a lease
            // before the kill; allow for a slow machine.
            assertThat(reportedAfterMillis).isLessThanOrEqualTo(lease.toMillis() + 300);
            assertThatThrownBy(() -> own.tryAcquire("reconciler", lease))
                    .isInstanceOf(DependencyUnavailableException.class);
        }
    }

    @Test
    void tokensKeepRisingAfterRedisRestartsEmpty() {
        RedisTestSupport.requireRedisServerBinary();
        try (RedisProcess redis = RedisProcess.start()) {
            Lock own = open(clock, redis.url());
            Lease before = acquired(own.tryAcquire("reconciler", LONG));
            before.close();
            redis.kill();
            redis.startAgain();
            Lease after = acquired(awaitAcquisition(own));
            assertThat(after.token()).isGreaterThan(before.token());
        }
    }

    /** Tries until the client has reconnected to the restarted server. */
    private static Acquisition awaitAcquisition(Lock lock) {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (true) {
            try {
                return lock.tryAcquire("reconciler", LONG);
            } catch (DependencyUnavailableException e) {
                if (System.nanoTime() > until) {
                    throw e;
                }
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
            }
        }
    }

    private Lock open(Clock c, String url) {
        Lock l = RedisLocks.connect(RedisLedgers.settings(url).namespace(namespace)
                .maxCommandTimeout(Duration.ofMillis(200)).build());
        opened().add(l);
        return l;
    }
}
