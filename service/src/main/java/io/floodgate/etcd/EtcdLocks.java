package io.floodgate.etcd;

import io.floodgate.core.DependencyUnavailableException;
import io.floodgate.core.port.Lock;

import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * Builds the etcd {@link Lock}. Everything else in this package is package-private.
 *
 * <pre>{@code
 * Lock lock = EtcdLocks.connect(EtcdLocks.settings(List.of(URI.create("http://h1:2379")), "/floodgate").build());
 * }</pre>
 *
 * The endpoints are the members' client URLs (plain HTTP, or HTTPS with the JDK's trust store);
 * the prefix starts every key this deployment writes ({@code <prefix>/locks/<name>}). (The
 * application reads both from {@code FLOODGATE_LOCK_URL=etcd://host:port[,host:port...][/prefix]}.)
 */
public final class EtcdLocks {

    static final String DEPENDENCY = "etcd";
    public static final String DEFAULT_PREFIX = "/floodgate";
    private static final Pattern PREFIX = Pattern.compile("(/[A-Za-z0-9._\\-]+)+");

    private EtcdLocks() {
    }

    /**
     * Checks that a member answers, then returns the lock.
     *
     * @throws DependencyUnavailableException when no member answers in time
     */
    public static Lock connect(Settings settings) {
        Objects.requireNonNull(settings, "settings");
        Gateway gateway = new Gateway(settings);
        try {
            gateway.version(settings.requestTimeout().toNanos());
        } catch (RuntimeException e) {
            gateway.close();
            throw e;
        }
        return new EtcdLock(gateway, settings);
    }

    /**
     * Whether a member answers ({@code Maintenance.Status}), touching no key. For
     * {@code floodgate check-config}.
     *
     * @return what answered, e.g. {@code etcd 3.4.23 at http://127.0.0.1:2379}
     */
    public static String ping(Settings settings) {
        Objects.requireNonNull(settings, "settings");
        try (Gateway gateway = new Gateway(settings)) {
            return "etcd " + gateway.version(settings.requestTimeout().toNanos());
        }
    }

    /**
     * @param endpoints the members' client URLs ({@code http://host:2379}, or https)
     * @param prefix    the start of every key; null or empty: {@value #DEFAULT_PREFIX}
     */
    public static Settings.Builder settings(List<URI> endpoints, String prefix) {
        return new Settings.Builder(endpoints, prefix);
    }

    /**
     * How the lock talks to etcd.
     *
     * @param endpoints      the members' client URLs, tried in turn when one cannot be reached
     * @param prefix         the start of every key
     * @param connectTimeout TCP (and TLS) connect timeout per member
     * @param requestTimeout the longest one call waits for its answer (renewals wait no longer
     *                       than the lease leaves, either)
     */
    public record Settings(List<URI> endpoints, String prefix, Duration connectTimeout, Duration requestTimeout) {
        public Settings {
            endpoints = List.copyOf(endpoints);
            if (endpoints.isEmpty()) {
                throw new IllegalArgumentException("etcd needs at least one endpoint");
            }
            Objects.requireNonNull(prefix, "prefix");
            requirePositive("connectTimeout", connectTimeout);
            requirePositive("requestTimeout", requestTimeout);
        }

        private static void requirePositive(String name, Duration d) {
            if (d == null || d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException(name + " must be positive, was " + d);
            }
        }

        public static final class Builder {
            private final List<URI> endpoints = new ArrayList<>();
            private final String prefix;
            private Duration connectTimeout = Duration.ofSeconds(2);
            private Duration requestTimeout = Duration.ofSeconds(2);

            Builder(List<URI> endpoints, String prefix) {
                if (endpoints == null || endpoints.isEmpty()) {
                    throw new IllegalArgumentException("etcd needs at least one endpoint");
                }
                for (URI endpoint : endpoints) {
                    if (endpoint == null || endpoint.getHost() == null || endpoint.getPort() < 1
                            || !(endpoint.getScheme().equals("http") || endpoint.getScheme().equals("https"))) {
                        throw new IllegalArgumentException("'" + endpoint + "' is not an etcd client URL like"
                                + " http://host:2379");
                    }
                    this.endpoints.add(endpoint);
                }
                String path = prefix == null || prefix.isEmpty() || prefix.equals("/") ? DEFAULT_PREFIX : prefix;
                if (!PREFIX.matcher(path).matches()) {
                    throw new IllegalArgumentException("the key prefix '" + path + "' must be /name[/name...] of"
                            + " [A-Za-z0-9._-] (like /floodgate)");
                }
                this.prefix = path;
            }

            public Builder connectTimeout(Duration timeout) {
                this.connectTimeout = timeout;
                return this;
            }

            public Builder requestTimeout(Duration timeout) {
                this.requestTimeout = timeout;
                return this;
            }

            public Settings build() {
                return new Settings(endpoints, prefix, connectTimeout, requestTimeout);
            }
        }
    }
}
