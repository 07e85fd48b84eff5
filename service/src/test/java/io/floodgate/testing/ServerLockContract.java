package io.floodgate.testing;

import io.floodgate.app.LockHolder;
import io.floodgate.core.DependencyUnavailableException;
import io.floodgate.core.domain.ItemAudit;
import io.floodgate.core.port.Lock;
import io.floodgate.core.port.Lock.Acquisition;
import io.floodgate.core.port.Lock.Lease;
import io.floodgate.core.port.OrderStore;
import io.floodgate.jdbc.JdbcStores;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The {@link Lock} contract for locks on a server (Redis, ZooKeeper, etcd), beyond
 * {@link LockContract}: what a holder sees when the server dies, that tokens keep rising across a
 * restart of the server, and that a holder whose whole process is frozen (SIGSTOP, as a long
 * collector pause or a stopped VM) past its lease finds, when it wakes, that it has lost the lock,
 * and has its late write refused by the store. Each case runs on a server of its own
 * ({@link #startPrivateServer()}), which it may kill.
 */
public abstract class ServerLockContract extends LockContract {

    private static final String PG_ADMIN = "jdbc:postgresql://127.0.0.1:5432/test";

    /** A server of the test's own, of this lock's kind. */
    protected abstract CoordinationServer startPrivateServer();

    /** A lock on {@code server}, with timeouts short enough that a dead server is noticed fast. */
    protected abstract Lock openOn(CoordinationServer server);

    /** Server-backed locks keep real time: a retry waits 20 ms of it. */
    @Override
    protected void retryPause() {
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
    }

    @Test
    void aHolderLearnsItLostTheLockWhenItsServerDies() throws Exception {
        try (CoordinationServer server = startPrivateServer()) {
            Lock own = openOn(server);
            opened().add(own);
            Duration lease = Duration.ofSeconds(1);
            Lease held = acquired(own.tryAcquire("reconciler", lease));
            CountDownLatch lost = new CountDownLatch(1);
            held.onLost(lost::countDown);
            LockSupport.parkNanos(lease.toNanos()); // renewed at least once
            assertThat(held.isHeld()).isTrue();

            long killedAt = System.nanoTime();
            server.kill();
            assertThat(lost.await(20, TimeUnit.SECONDS)).as("the loss was reported").isTrue();
            System.out.println(getClass().getSimpleName() + ": the holder reported the loss "
                    + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - killedAt) + " ms after its server was killed"
                    + " (lease " + lease.toMillis() + " ms, renewed every third)");
            assertThat(held.isHeld()).isFalse();
            assertThatThrownBy(() -> own.tryAcquire("reconciler", lease))
                    .isInstanceOf(DependencyUnavailableException.class);
        }
    }

    @Test
    void tokensKeepRisingAfterTheServerRestarts() {
        try (CoordinationServer server = startPrivateServer()) {
            Lock own = openOn(server);
            opened().add(own);
            Lease before = acquired(own.tryAcquire("reconciler", LONG));
            before.close();
            server.kill();
            server.start();
            Lease after = null;
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (after == null) {
                try {
                    after = acquired(own.tryAcquire("reconciler", LONG));
                } catch (DependencyUnavailableException e) {
                    if (System.nanoTime() - until > 0) {
                        throw e;
                    }
                    retryPause(); // the client reconnects to the restarted server
                }
            }
            assertThat(after.token()).isGreaterThan(before.token());
        }
    }

    /**
     * The pause that defeats every check a holder makes: its process (a {@link LockHolder}, taking
     * the lock through the application's wiring) is frozen right after it checked that it holds
     * the lock and before it writes, for longer than its lease. Another holder takes the lock and
     * writes; the frozen one is thawed and writes with its old token. The store (PostgreSQL,
     * JdbcOrderStore's fence) refuses that write, the holder reports the loss, and the store's
     * audit rows never go back from the newer token to the older one.
     */
    @Test
    void aHolderFrozenPastItsLeaseFindsItLostWhenItWakesAndTheStoreRefusesItsLateWrite() throws Exception {
        Services.requireOrSkip(PG_ADMIN, "postgres", "PostgreSQL");
        String database = "fg_lock_" + Long.toHexString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE);
        String url = "jdbc:postgresql://127.0.0.1:5432/" + database;
        execute(PG_ADMIN, "CREATE DATABASE " + database);
        try (CoordinationServer server = startPrivateServer();
             OrderStore store = JdbcStores.connect(url, "postgres", "", Clock.systemUTC());
             LockHolder.Child holder = LockHolder.start(server.lockUrl(), "reconciler", Duration.ofSeconds(1), url,
                     "postgres")) {
            long frozenToken = Long.parseLong(holder.await("ACQUIRED", Duration.ofSeconds(60)).split(" ")[1]);
            holder.await("WROTE", Duration.ofSeconds(30));
            holder.await("CHECKED", Duration.ofSeconds(30));
            holder.signal("STOP");
            long frozenAt = System.nanoTime();
            Lease next;
            try {
                Lock own = openOn(server);
                opened().add(own);
                next = acquireWhenFree(own, "reconciler", LONG, 1_500);
                System.out.println(getClass().getSimpleName() + ": another holder took the lock "
                        + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - frozenAt) + " ms after the holder froze"
                        + " (lease 1000 ms)");
                assertThat(next).as("another holder took the lock while the first was frozen").isNotNull();
                assertThat(next.token()).isGreaterThan(frozenToken);
                store.recordAudit(next.fence(), List.of(new ItemAudit("S", 0, 0, 0, Instant.now())));
            } finally {
                holder.signal("CONT");
            }
            List<String> said = holder.remainingLines(Duration.ofSeconds(60));
            assertThat(said).as("what the thawed holder said:\n%s", holder.output())
                    .anyMatch(line -> line.equals("REFUSED " + next.token()))
                    .contains("LOST " + frozenToken)
                    .doesNotContain("WROTE");
            assertThat(query(url, "SELECT COUNT(*) FROM audits late WHERE EXISTS (SELECT 1 FROM audits earlier"
                    + " WHERE earlier.id < late.id AND earlier.token > late.token)"))
                    .as("audit rows written under an older token after a newer one wrote").isZero();
            assertThat(query(url, "SELECT token FROM fences WHERE name = 'reconciler'")).isEqualTo(next.token());
        } finally {
            execute(PG_ADMIN, "DROP DATABASE IF EXISTS " + database + " WITH (FORCE)");
        }
    }

    /** Releases through another lock on the same server make the lock free for this one. */
    @Test
    void twoLocksOnOneServerExcludeEachOtherLikeTwoInstances() {
        Lock other = open(clock);
        Lease mine = acquired(lock.tryAcquire("reconciler", LONG));
        assertThat(other.tryAcquire("reconciler", LONG)).isEqualTo(Acquisition.BUSY);
        lock.close(); // closing a lock releases what it holds
        assertThat(mine.isHeld()).isFalse();
        Lease theirs = acquired(other.tryAcquire("reconciler", LONG));
        assertThat(theirs.token()).isGreaterThan(mine.token());
    }

    private static void execute(String url, String sql) {
        try (Connection c = DriverManager.getConnection(url, "postgres", ""); Statement s = c.createStatement()) {
            s.execute(sql);
        } catch (SQLException e) {
            throw new IllegalStateException("cannot run '" + sql + "': " + e.getMessage(), e);
        }
    }

    private static long query(String url, String sql) throws SQLException {
        try (Connection c = DriverManager.getConnection(url, "postgres", ""); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery(sql)) {
            return rs.next() ? rs.getLong(1) : -1;
        }
    }
}
