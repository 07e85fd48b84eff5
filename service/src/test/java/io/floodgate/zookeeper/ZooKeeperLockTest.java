package io.floodgate.zookeeper;

import io.floodgate.core.port.Lock;
import io.floodgate.core.port.Lock.Lease;
import io.floodgate.testing.CoordinationServer;
import io.floodgate.testing.ServerLockContract;
import io.floodgate.testing.TestCoordination;
import io.floodgate.testing.ZooKeeperServer;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.RetryOneTime;
import org.apache.zookeeper.ZooKeeper;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;

import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * The ZooKeeper lock on the test ZooKeeper ({@code FLOODGATE_TEST_ZK}, a root of its own per
 * test), held to the lock contract; the server cases on a ZooKeeper of their own (Debian's
 * package). The servers tick every 100 ms and expire sessions on a tick, so a lease runs out on
 * the server up to a tick after its length: {@link #elapse} waits that much longer.
 */
class ZooKeeperLockTest extends ServerLockContract {

    private static String address;
    private final String root = "/fg-test-" + Long.toString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE, 36);

    @BeforeAll
    static void zooKeeperAnswers() {
        address = TestCoordination.zooKeeperOrSkip();
    }

    @Override
    protected Lock newLock(Clock clock) {
        return ZooKeeperLocks.connect(ZooKeeperLocks.settings(List.of(address), root)
                .connectTimeout(Duration.ofSeconds(5)).operationTimeout(Duration.ofSeconds(1)).build());
    }

    @Override
    protected void elapse(Duration d) {
        LockSupport.parkNanos(d.plusMillis(300).toNanos());
    }

    /**
     * The holder's renewals stop being confirmed. (ZooKeeper's own test hook,
     * {@code injectSessionExpiration}, is not a cut-off holder: Curator answers the fake expiry by
     * closing the old handle, which ends the session on the server at once, before the holder is
     * told; a second holder then gets in while the first still holds by its clock. That is a lease
     * the service ends, {@link #endOnTheService}, which only the store's fence can answer.) The
     * ZooKeeper client's own pings keep the session alive, so the lock is freed when the holder,
     * its lease run out by its own clock, deletes its node; with a real cut, when the ensemble
     * expires the session (the server cases: its server killed, its process frozen).
     */
    @Override
    protected void suspendRenewal(Lease lease) {
        ((ZooKeeperLock.ZkLease) lease).keeper().suspendRenewal();
    }

    /** The server expires the session: another client with its id and password closes it. */
    @Override
    protected void endOnTheService(Lease lease, Duration length) {
        Session session = ((ZooKeeperLock.ZkLease) lease).session();
        CountDownLatch connected = new CountDownLatch(1);
        try {
            ZooKeeper twin = new ZooKeeper(address, 10_000, event -> {
                if (event.getState() == org.apache.zookeeper.Watcher.Event.KeeperState.SyncConnected) {
                    connected.countDown();
                }
            }, session.id(), session.password());
            if (!connected.await(10, TimeUnit.SECONDS)) {
                throw new IllegalStateException("the twin of session 0x" + Long.toHexString(session.id()) + " did not connect");
            }
            twin.close();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    protected CoordinationServer startPrivateServer() {
        return ZooKeeperServer.start(root);
    }

    @Override
    protected Lock openOn(CoordinationServer server) {
        return ZooKeeperLocks.connect(ZooKeeperLocks.settings(List.of(((ZooKeeperServer) server).address()), root)
                .connectTimeout(Duration.ofSeconds(1)).operationTimeout(Duration.ofMillis(500)).build());
    }

    @AfterEach
    void deleteRoot() throws Exception {
        opened().forEach(Lock::close);
        try (CuratorFramework client = CuratorFrameworkFactory.newClient(address, new RetryOneTime(100))) {
            client.start();
            if (client.blockUntilConnected(5, TimeUnit.SECONDS) && client.checkExists().forPath(root) != null) {
                client.delete().deletingChildrenIfNeeded().forPath(root);
            }
        }
    }
}
