package io.floodgate.zookeeper;

import io.floodgate.core.DependencyUnavailableException;
import io.floodgate.core.port.Lock;

import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * Builds the ZooKeeper {@link Lock}. Everything else in this package is package-private.
 *
 * <pre>{@code
 * Lock lock = ZooKeeperLocks.connect(ZooKeeperLocks.settings(List.of("h1:2181", "h2:2181"), "/floodgate").build());
 * }</pre>
 *
 * The hosts are the ensemble (any that answer; the client moves between them); the root is the
 * znode under which this deployment's locks live ({@code <root>/locks/<name>/}), so several
 * deployments can share an ensemble. (The application reads both from
 * {@code FLOODGATE_LOCK_URL=zk://host:port[,host:port...][/root]}.)
 */
public final class ZooKeeperLocks {

    static final String DEPENDENCY = "zookeeper";
    public static final String DEFAULT_ROOT = "/floodgate";
    private static final Pattern ROOT = Pattern.compile("(/[A-Za-z0-9._\\-]+)+");

    private ZooKeeperLocks() {
    }

    /**
     * Checks that the ensemble answers (one short session, opened and closed), then returns the
     * lock. Sessions for leases are opened as they are needed, one per lease length.
     *
     * @throws DependencyUnavailableException when no server of the ensemble answers in time
     */
    public static Lock connect(Settings settings) {
        Objects.requireNonNull(settings, "settings");
        ping(settings);
        return new ZooKeeperLock(settings);
    }

    /**
     * Whether the ensemble answers: opens a session, reads the root's existence, closes it.
     * Touches nothing. For {@code floodgate check-config}.
     *
     * @return what answered, e.g. {@code ZooKeeper at 127.0.0.1:2181 (session timeout 4000 ms)}
     */
    public static String ping(Settings settings) {
        Objects.requireNonNull(settings, "settings");
        try (Session session = Session.open(settings, (int) Math.max(4_000, settings.connectTimeout().toMillis()),
                s -> { })) {
            session.exists(settings.root(), settings.operationTimeout().toNanos());
            return "ZooKeeper at " + session.connectedServer() + " (session timeout " + session.negotiatedMillis()
                    + " ms)";
        }
    }

    /**
     * @param hostPorts the ensemble's servers, {@code host:port} each
     * @param root      absolute znode path under which the locks live; null or empty: {@value #DEFAULT_ROOT}
     */
    public static Settings.Builder settings(List<String> hostPorts, String root) {
        return new Settings.Builder(hostPorts, root);
    }

    /**
     * How the lock talks to ZooKeeper.
     *
     * @param connectString    {@code host:port,host:port} (ZooKeeper's own form)
     * @param root             absolute znode path under which the locks live
     * @param connectTimeout   how long opening a session, or a blocked call, waits for a server
     * @param operationTimeout the longest one renewal or release waits for its answer
     */
    public record Settings(String connectString, String root, Duration connectTimeout, Duration operationTimeout) {
        public Settings {
            Objects.requireNonNull(connectString, "connectString");
            Objects.requireNonNull(root, "root");
            requirePositive("connectTimeout", connectTimeout);
            requirePositive("operationTimeout", operationTimeout);
        }

        private static void requirePositive(String name, Duration d) {
            if (d == null || d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException(name + " must be positive, was " + d);
            }
        }

        public static final class Builder {
            private final String connectString;
            private final String root;
            private Duration connectTimeout = Duration.ofSeconds(5);
            private Duration operationTimeout = Duration.ofSeconds(2);

            Builder(List<String> hostPorts, String root) {
                if (hostPorts == null || hostPorts.isEmpty()) {
                    throw new IllegalArgumentException("ZooKeeper needs at least one host:port");
                }
                for (String hostPort : hostPorts) {
                    if (hostPort == null || hostPort.isBlank() || hostPort.contains(",") || hostPort.contains("/")) {
                        throw new IllegalArgumentException("'" + hostPort + "' is not a ZooKeeper server's host:port");
                    }
                }
                String path = root == null || root.isEmpty() || root.equals("/") ? DEFAULT_ROOT : root;
                if (!ROOT.matcher(path).matches() || path.equals("/zookeeper") || path.startsWith("/zookeeper/")) {
                    throw new IllegalArgumentException("the root '" + path + "' must be an absolute znode path of"
                            + " [A-Za-z0-9._-] names (like /floodgate), outside /zookeeper");
                }
                this.connectString = String.join(",", hostPorts);
                this.root = path;
            }

            public Builder connectTimeout(Duration timeout) {
                this.connectTimeout = timeout;
                return this;
            }

            public Builder operationTimeout(Duration timeout) {
                this.operationTimeout = timeout;
                return this;
            }

            public Settings build() {
                return new Settings(connectString, root, connectTimeout, operationTimeout);
            }
        }
    }
}
