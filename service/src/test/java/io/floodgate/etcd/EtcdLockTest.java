package io.floodgate.etcd;

import io.floodgate.core.port.Lock;
import io.floodgate.core.port.Lock.Lease;
import io.floodgate.testing.CoordinationServer;
import io.floodgate.testing.EtcdServer;
import io.floodgate.testing.ServerLockContract;
import io.floodgate.testing.TestCoordination;
import org.junit.jupiter.api.BeforeAll;

import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.locks.LockSupport;

/**
 * The etcd lock on the test etcd ({@code FLOODGATE_TEST_ETCD}, a key prefix of its own per test),
 * held to the lock contract; the server cases on an etcd of their own (Debian's package). etcd
 * keeps leases in whole seconds and revokes expired ones in a sweep every 500 ms, so a lease runs
 * out on the server up to that long after its length rounded up to seconds: {@link #elapse}
 * waits that long. (Keys are on leases; when a test's leases end, its keys are gone.)
 */
class EtcdLockTest extends ServerLockContract {

    private static String address;
    private final String prefix = "/fg-test-" + Long.toString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE, 36);

    @BeforeAll
    static void etcdAnswers() {
        address = TestCoordination.etcdOrSkip();
    }

    private EtcdLocks.Settings settings(String hostPort, Duration timeout) {
        return EtcdLocks.settings(List.of(URI.create("http://" + hostPort)), prefix)
                .connectTimeout(timeout).requestTimeout(timeout).build();
    }

    @Override
    protected Lock newLock(Clock clock) {
        return EtcdLocks.connect(settings(address, Duration.ofSeconds(1)));
    }

    @Override
    protected void elapse(Duration d) {
        LockSupport.parkNanos(Duration.ofSeconds(Math.ceilDiv(d.toMillis(), 1_000)).plusMillis(700).toNanos());
    }

    @Override
    protected void suspendRenewal(Lease lease) {
        ((EtcdLock.EtcdLease) lease).keeper().suspendRenewal();
    }

    /** An operator revokes the holder's etcd lease ({@code etcdctl lease revoke}). */
    @Override
    protected void endOnTheService(Lease lease, Duration length) {
        try (Gateway gateway = new Gateway(settings(address, Duration.ofSeconds(2)))) {
            gateway.revoke(((EtcdLock.EtcdLease) lease).leaseId(), Duration.ofSeconds(2).toNanos());
        }
    }

    @Override
    protected CoordinationServer startPrivateServer() {
        return EtcdServer.start(prefix);
    }

    @Override
    protected Lock openOn(CoordinationServer server) {
        return EtcdLocks.connect(settings(((EtcdServer) server).address(), Duration.ofMillis(500)));
    }
}
