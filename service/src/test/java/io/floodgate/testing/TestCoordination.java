package io.floodgate.testing;

import org.junit.jupiter.api.Assumptions;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The ZooKeeper and etcd servers for tests: {@code FLOODGATE_TEST_ZK=host:port} and
 * {@code FLOODGATE_TEST_ETCD=host:port}, which {@code scripts/coordination.sh start} prints (as
 * export lines to eval). Unset, the cases that need one are skipped, unless
 * FLOODGATE_REQUIRE_SERVICES=1 (as in CI), which makes them fail instead. Set, it is a promise: a
 * server that does not answer there fails the test. The same holds for the Debian packages that
 * tests start private servers from ({@link #requireZooKeeperPackage()}, {@link #requireEtcdPackage()}).
 */
public final class TestCoordination {

    public static final String ZK_ENV = "FLOODGATE_TEST_ZK";
    public static final String ETCD_ENV = "FLOODGATE_TEST_ETCD";
    /** Debian's zookeeper package: the server jar, whose manifest names its libraries. */
    public static final Path ZOOKEEPER_JAR = Path.of("/usr/share/java/zookeeper.jar");
    /** Debian's etcd-server package. */
    public static final Path ETCD_BINARY = Path.of("/usr/bin/etcd");

    private TestCoordination() {
    }

    /** The ZooKeeper server's {@code host:port}, or skips (fails when services are required). */
    public static String zooKeeperOrSkip() {
        return addressOrSkip(ZK_ENV);
    }

    /** The etcd member's {@code host:port}, or skips (fails when services are required). */
    public static String etcdOrSkip() {
        return addressOrSkip(ETCD_ENV);
    }

    public static void requireZooKeeperPackage() {
        requireFile(ZOOKEEPER_JAR, "zookeeper");
    }

    public static void requireEtcdPackage() {
        requireFile(ETCD_BINARY, "etcd-server");
    }

    private static String addressOrSkip(String env) {
        String address = System.getenv(env);
        if (address == null || address.isBlank()) {
            skipOrFail(env + " is not set (run: eval \"$(scripts/coordination.sh start)\")");
        }
        return address.trim();
    }

    private static void requireFile(Path file, String debianPackage) {
        if (!Files.isReadable(file)) {
            skipOrFail(file + " is missing (apt-get install -y " + debianPackage + ")");
        }
    }

    private static void skipOrFail(String message) {
        if (Services.required()) {
            throw new IllegalStateException(message + " but FLOODGATE_REQUIRE_SERVICES=1");
        }
        Assumptions.abort(message + "; skipped (set FLOODGATE_REQUIRE_SERVICES=1 to fail instead)");
    }
}
