package io.floodgate.app;

import io.floodgate.testing.DistributedMode;
import io.floodgate.testing.Resources;
import io.floodgate.testing.TestCoordination;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A paused process is not a leader. Two instances share the lock of the reconciler (Redis,
 * ZooKeeper or etcd); the leader is frozen (SIGSTOP, as a long collector pause or a stopped VM
 * would) past its lease, the other takes the lock over and leads, and then the first is thawed (SIGCONT). Whatever it had in
 * hand when it froze, its late fenced writes are refused by the store and it steps down: the
 * store's audit rows never go back from the new leader's token to the old one's, and in the end
 * exactly one instance leads. (A leader frozen between its last check and a write, so that the
 * write itself arrives late, is refused by the store's fence: ReconcilerTest's deposed leader.)
 */
@org.junit.jupiter.api.Tag("drill")
class PausedLeaderTest {

    @TempDir(cleanup = CleanupMode.ON_SUCCESS)
    Path tmp;

    @org.junit.jupiter.api.extension.RegisterExtension
    final Resources resources = new Resources();

    /** On the Redis lock beside the ledger (unset FLOODGATE_LOCK_URL), on ZooKeeper and on etcd. */
    @ParameterizedTest(name = "lock on {0}")
    @ValueSource(strings = {"redis", "zookeeper", "etcd"})
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void aLeaderFrozenPastItsLeaseIsFencedOffAndStepsDownWhenItWakes(String lockService) throws Exception {
        String lockUrl = switch (lockService) {
            case "zookeeper" -> "zk://" + TestCoordination.zooKeeperOrSkip() + "/fg-paused-" + System.nanoTime();
            case "etcd" -> "etcd://" + TestCoordination.etcdOrSkip() + "/fg-paused-" + System.nanoTime();
            default -> null;
        };
        DistributedMode mode = DistributedMode.create();
        resources.track(mode);
        Map<String, String> env = new HashMap<>(mode.environment());
        if (lockUrl != null) {
            env.put("FLOODGATE_LOCK_URL", lockUrl);
        }
        env.put("FLOODGATE_RECONCILE_PERIOD_MS", "100");
        env.put("FLOODGATE_RECONCILE_LEASE_MS", "1000");
        env.put("FLOODGATE_REQUEST_TIMEOUT_MS", "500");
        env.put("FLOODGATE_MAX_REQUEST_TIMEOUT_MS", "1000");
        env.put("FLOODGATE_RECONCILE_GRACE_MS", "2000");
        ServiceProcess a = ServiceProcess.start(tmp.resolve("a"), "paused-leader-a", env);
        resources.track(a);
        ServiceProcess b = ServiceProcess.start(tmp.resolve("b"), "paused-leader-b", env);
        resources.track(b);
        a.api().putItem("S", "Phone", 100, 5);

        await().atMost(Duration.ofSeconds(30)).until(() -> leads(a) != leads(b));
        ServiceProcess leader = leads(a) ? a : b;
        ServiceProcess follower = leader == a ? b : a;
        await().atMost(Duration.ofSeconds(30)).until(() -> auditRows(env) > 0);

        signal(leader, "STOP");
        try {
            await().atMost(Duration.ofSeconds(30)).until(() -> leads(follower));
            long newToken = newestToken(env);
            // the new leader writes under its token for a while, with the old one still frozen
            await().atMost(Duration.ofSeconds(30)).until(() -> rowsWithToken(env, newToken) >= 3);
        } finally {
            signal(leader, "CONT");
        }

        await().atMost(Duration.ofSeconds(30)).until(() -> !leads(leader));
        // a few more passes of both, awake
        long rows = auditRows(env);
        await().atMost(Duration.ofSeconds(30)).until(() -> auditRows(env) >= rows + 5);
        assertThat(leads(follower)).as("the new leader still leads").isTrue();
        assertThat(leads(leader)).as("the thawed one stepped down").isFalse();
        assertThat(lateRowsOfAnOlderToken(env)).as("audit rows written under an older token after a newer one wrote")
                .isZero();
        assertThat(leader.output()).containsAnyOf("stepping down", "lost the lock");
    }

    private static boolean leads(ServiceProcess node) {
        return node.leadsTheReconciler();
    }

    private static void signal(ServiceProcess node, String signal) throws IOException, InterruptedException {
        Process kill = new ProcessBuilder("/bin/kill", "-" + signal, Long.toString(node.pid())).start();
        assertThat(kill.waitFor()).as("kill -%s %d", signal, node.pid()).isZero();
    }

    private static long auditRows(Map<String, String> env) throws SQLException {
        return query(env, "SELECT COUNT(*) FROM audits");
    }

    private static long newestToken(Map<String, String> env) throws SQLException {
        return query(env, "SELECT token FROM fences WHERE name = 'floodgate.reconciler'");
    }

    private static long rowsWithToken(Map<String, String> env, long token) throws SQLException {
        return query(env, "SELECT COUNT(*) FROM audits WHERE token = " + token);
    }

    /** Rows whose token is older than one that wrote before them (in commit order, by id). */
    private static long lateRowsOfAnOlderToken(Map<String, String> env) throws SQLException {
        return query(env, "SELECT COUNT(*) FROM audits late WHERE EXISTS (SELECT 1 FROM audits earlier"
                + " WHERE earlier.id < late.id AND earlier.token > late.token)");
    }

    private static long query(Map<String, String> env, String sql) throws SQLException {
        try (Connection c = DriverManager.getConnection(env.get("FLOODGATE_DB_URL"), env.get("FLOODGATE_DB_USER"), "");
             Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            return rs.next() ? rs.getLong(1) : 0;
        }
    }
}
