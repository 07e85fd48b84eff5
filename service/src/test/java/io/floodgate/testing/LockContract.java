package io.floodgate.testing;

import io.floodgate.core.StaleFencingTokenException;
import io.floodgate.core.domain.ItemAudit;
import io.floodgate.core.port.Lock;
import io.floodgate.core.port.Lock.Acquisition;
import io.floodgate.core.port.Lock.Lease;
import io.floodgate.core.port.OrderStore;
import io.floodgate.jdbc.JdbcStores;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The {@link Lock} contract, as behaviours every implementation must show: the in-process lock
 * and the Redis, ZooKeeper and etcd locks each run it through a subclass that says how to build
 * one, how time passes for its leases, how to cut a holder off from it, and how the service ends
 * a lease on its side. (The server-backed ones also run {@link ServerLockContract}: the server
 * killed and restarted, the holder's process frozen.)
 */
public abstract class LockContract {

    protected static final Instant NOW = Instant.parse("2026-11-26T12:00:00Z");
    protected final MutableClock clock = new MutableClock(NOW);
    protected Lock lock;
    private final List<Lock> opened = new ArrayList<>();

    /** A fresh lock whose leases run out on {@code clock}, where the implementation can take one. */
    protected abstract Lock newLock(Clock clock);

    /** Lets {@code d} pass for the lock's leases: moves {@link #clock}, or waits where time is real. */
    protected abstract void elapse(Duration d);

    /** From now on the holder's renewals do not reach the lock (a network cut, a dead server). */
    protected abstract void suspendRenewal(Lease lease);

    /** A short wait between two attempts to take a lock: 20 ms of the leases' time. */
    protected void retryPause() {
        elapse(Duration.ofMillis(20));
    }

    /** Tries to take {@code name} every {@link #retryPause()}, up to {@code attempts} times; null if it never could. */
    protected Lease acquireWhenFree(Lock on, String name, Duration lease, int attempts) {
        for (int attempt = 0; attempt < attempts; attempt++) {
            if (on.tryAcquire(name, lease) instanceof Acquisition.Acquired(Lease l)) {
                return l;
            }
            retryPause();
        }
        return null;
    }

    /**
     * The lock's service ends the lease on its side while the holder still talks to it (a
     * ZooKeeper session expired, an etcd lease revoked, a Redis key gone). By default the holder
     * is cut off and the lease runs out.
     */
    protected void endOnTheService(Lease lease, Duration length) {
        suspendRenewal(lease);
        elapse(length.plusMillis(100));
    }

    /** A lease short enough that tests can wait for it to run out in real time. */
    protected static final Duration SHORT = Duration.ofMillis(300);
    /** A lease no test outlives. */
    protected static final Duration LONG = Duration.ofSeconds(30);

    @BeforeEach
    void openLock() {
        lock = open(clock);
    }

    protected Lock open(Clock c) {
        Lock l = newLock(c);
        opened.add(l);
        return l;
    }

    /** Every lock this test opened, closed after it. */
    protected List<Lock> opened() {
        return opened;
    }

    @AfterEach
    void closeLocks() {
        opened.forEach(Lock::close);
    }

    protected static Lease acquired(Acquisition a) {
        assertThat(a).isInstanceOf(Acquisition.Acquired.class);
        return ((Acquisition.Acquired) a).lease();
    }

    @Test
    void aHeldLockIsBusyForOthersAndOtherNamesAreIndependent() {
        Lease lease = acquired(lock.tryAcquire("reconciler", LONG));
        assertThat(lease.isHeld()).isTrue();
        assertThat(lease.name()).isEqualTo("reconciler");
        assertThat(lock.tryAcquire("reconciler", LONG)).isEqualTo(Acquisition.BUSY);
        assertThat(lock.tryAcquire("other", LONG)).isInstanceOf(Acquisition.Acquired.class);
    }

    @Test
    void releasingFreesTheLockAndTheNextHolderGetsAHigherToken() {
        Lease first = acquired(lock.tryAcquire("reconciler", LONG));
        AtomicInteger lossReports = new AtomicInteger();
        first.onLost(lossReports::incrementAndGet);
        first.close();
        first.close();
        assertThat(first.isHeld()).isFalse();
        Lease second = acquired(lock.tryAcquire("reconciler", LONG));
        assertThat(second.token()).isGreaterThan(first.token());
        assertThat(second.fence()).isEqualTo(new Lock.Fence("reconciler", second.token()));
        assertThat(lossReports).as("a lease its holder closed was not lost").hasValue(0);
    }

    @Test
    void onlyOneHolderAtATimeAmongManyContendersAndTokensRiseInOrderOfHolding() throws Exception {
        long seed = Seeds.seed("lock.contenders.seed");
        AtomicInteger inside = new AtomicInteger();
        AtomicInteger overlaps = new AtomicInteger();
        List<Long> tokensInHoldingOrder = new ArrayList<>();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int t = 0; t < 48; t++) {
                Random random = new Random(seed + t);
                pool.submit(() -> {
                    for (int attempt = 0; attempt < 40; attempt++) {
                        if (lock.tryAcquire("leader", LONG) instanceof Acquisition.Acquired(Lease lease)) {
                            if (inside.incrementAndGet() != 1) {
                                overlaps.incrementAndGet();
                            }
                            synchronized (tokensInHoldingOrder) {
                                tokensInHoldingOrder.add(lease.token());
                            }
                            LockSupport.parkNanos(random.nextInt(200_000));
                            inside.decrementAndGet();
                            lease.close();
                        }
                        LockSupport.parkNanos(random.nextInt(500_000));
                    }
                    return null;
                });
            }
        }
        assertThat(overlaps).hasValue(0);
        assertThat(tokensInHoldingOrder).hasSizeGreaterThan(10);
        assertThat(tokensInHoldingOrder).isSorted().doesNotHaveDuplicates();
    }

    @Test
    void anExpiredLeaseLetsAnotherInWithAHigherTokenAndItsOwnerCannotReleaseTheNewHolding() {
        Lease stale = acquired(lock.tryAcquire("reconciler", SHORT));
        suspendRenewal(stale);
        elapse(SHORT.plusMillis(100));
        assertThat(stale.isHeld()).isFalse();

        Lease fresh = acquired(lock.tryAcquire("reconciler", LONG));
        assertThat(fresh.token()).isGreaterThan(stale.token());
        stale.close(); // release by a former owner: must not free the lock
        assertThat(lock.tryAcquire("reconciler", LONG)).isEqualTo(Acquisition.BUSY);
        assertThat(fresh.isHeld()).isTrue();
    }

    @Test
    void losingTheLeaseIsReportedToTheHolder() throws Exception {
        Lease lease = acquired(lock.tryAcquire("reconciler", SHORT));
        CountDownLatch lost = new CountDownLatch(1);
        lease.onLost(lost::countDown);
        suspendRenewal(lease);
        elapse(SHORT.plusMillis(100));
        assertThat(lost.await(5, TimeUnit.SECONDS)).as("the loss was reported").isTrue();
        assertThat(lease.isHeld()).isFalse();
        CountDownLatch late = new CountDownLatch(1);
        lease.onLost(late::countDown);
        assertThat(late.getCount()).as("a listener added after the loss runs at once").isZero();
    }

    /**
     * The safety of the lock in one run: a holder cut off from the lock knows it has lost it by
     * the time anyone else can take it, and if it was paused between its check and its write,
     * the store refuses that late write for the newer holder's token (JdbcOrderStore's fence, on
     * the embedded store). Tried every 20 ms, so the new holder gets in as soon as the service
     * lets it.
     */
    @Test
    void aHolderCutOffKnowsItLostBeforeAnotherTakesTheLockAndTheStoreRefusesItsLateWrite(@TempDir Path dir) {
        Duration lease = Duration.ofSeconds(1);
        try (OrderStore store = JdbcStores.embedded(dir, Clock.systemUTC())) {
            Lease first = acquired(lock.tryAcquire("reconciler", lease));
            store.recordAudit(first.fence(), List.of(audit()));
            suspendRenewal(first);

            Lease second = acquireWhenFree(lock, "reconciler", LONG, 1_000);
            assertThat(second).as("another holder got the lock once the first was cut off").isNotNull();
            assertThat(first.isHeld()).as("the first holder knew it had lost the lock before another got it").isFalse();
            assertThat(second.token()).isGreaterThan(first.token());

            store.recordAudit(second.fence(), List.of(audit()));
            Lease late = first;
            assertThatThrownBy(() -> store.recordAudit(late.fence(), List.of(audit())))
                    .as("the first holder's write after the second holder wrote")
                    .isInstanceOf(StaleFencingTokenException.class);
            assertThat(store.recentAudits(10)).extracting(r -> r.fence().token())
                    .containsOnly(first.token(), second.token());
        }
    }

    private static ItemAudit audit() {
        return new ItemAudit("S", 0, 0, 0, Instant.now());
    }

    @Test
    void aLeaseTheServiceEndsIsReportedLostAndTheNextHolderGetsAHigherToken() throws Exception {
        Duration length = Duration.ofSeconds(2);
        Lease ended = acquired(lock.tryAcquire("reconciler", length));
        CountDownLatch lost = new CountDownLatch(1);
        ended.onLost(lost::countDown);
        endOnTheService(ended, length);
        assertThat(lost.await(20, TimeUnit.SECONDS)).as("the loss was reported").isTrue();
        assertThat(ended.isHeld()).isFalse();

        Lease next = acquireWhenFree(lock, "reconciler", LONG, 1_000);
        assertThat(next).as("the lock is free once the service ended the lease").isNotNull();
        assertThat(next.token()).isGreaterThan(ended.token());
        ended.close(); // a release by the former holder changes nothing
        assertThat(lock.tryAcquire("reconciler", LONG)).isEqualTo(Acquisition.BUSY);
        assertThat(next.isHeld()).isTrue();
    }

    /**
     * Renewal runs on real time in every implementation, so this one waits: four leases of 600 ms
     * (long enough that a busy two-core machine does not starve the renewer).
     */
    @Test
    void renewalKeepsTheLeaseHeldPastSeveralLeasePeriods() {
        Duration lease600 = Duration.ofMillis(600);
        Lock real = open(Clock.systemUTC());
        Lease lease = acquired(real.tryAcquire("reconciler", lease600));
        AtomicInteger lossReports = new AtomicInteger();
        lease.onLost(lossReports::incrementAndGet);
        long until = System.nanoTime() + lease600.multipliedBy(4).toNanos();
        while (System.nanoTime() < until) {
            assertThat(lease.isHeld()).isTrue();
            assertThat(real.tryAcquire("reconciler", lease600)).isEqualTo(Acquisition.BUSY);
            LockSupport.parkNanos(lease600.toNanos() / 4);
        }
        assertThat(lease.isHeld()).isTrue();
        assertThat(lossReports).hasValue(0);
    }
}
