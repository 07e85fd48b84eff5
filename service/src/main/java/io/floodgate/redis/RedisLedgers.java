package io.floodgate.redis;

import io.floodgate.core.DependencyUnavailableException;
import io.floodgate.core.port.OrderStore;

import java.time.Clock;
import java.time.Duration;
import java.util.Objects;

/**
 * Builds the Redis stock ledger. Everything else in this package is package-private.
 *
 * <pre>{@code
 * RedisLedger ledger = RedisLedgers.connect(
 *         RedisLedgers.settings("redis://127.0.0.1:6379/0").build(), clock, store);
 * }</pre>
 *
 * URLs: {@code redis://[user:password@]host:port[/db]} (or {@code rediss://} for TLS) for one
 * server; {@code redis-sentinel://host1:port1,host2:port2[/db]#master} for a primary with replicas
 * watched by Redis Sentinel (the sentinels are asked where the primary is at every (re)connect, so
 * a failover moves the ledger to the promoted replica, and the ledger then repairs what that
 * replica missed); {@code redis-cluster://host1:port1,host2:port2,...} for Redis Cluster (any reachable
 * nodes; the rest of the topology is discovered).
 */
public final class RedisLedgers {

    private RedisLedgers() {
    }

    /**
     * Connects, loads the scripts, and rebuilds from {@code store} whatever Redis does not have
     * (everything, on a fresh Redis). Returns once the ledger can take orders.
     *
     * @param store the orders of record; the ledger rebuilds from it whenever Redis comes back
     *              empty. Null only for tools and benchmarks that never need a rebuild.
     * @throws DependencyUnavailableException when Redis does not answer
     */
    public static RedisLedger connect(Settings settings, Clock clock, OrderStore store) {
        Objects.requireNonNull(settings, "settings");
        Objects.requireNonNull(clock, "clock");
        return RedisStockLedger.open(settings, clock, store);
    }

    /** {@link #connect(Settings, Clock, OrderStore)} with the default settings for {@code redisUrl}. */
    public static RedisLedger connect(String redisUrl, Clock clock, OrderStore store) {
        return connect(settings(redisUrl).build(), clock, store);
    }

    /**
     * Whether Redis at the settings' URL answers, reached as the ledger would reach it (a
     * Sentinel URL asks the sentinels for the primary; a cluster URL reaches a node) within the
     * settings' timeouts, touching no key: for {@code floodgate check-config}.
     *
     * @return what answered, e.g. {@code Redis 7.0.15}
     * @throws DependencyUnavailableException naming the server (without a password) and why
     */
    public static String ping(Settings settings) {
        Objects.requireNonNull(settings, "settings");
        try (Redis redis = Redis.connectOnly(settings)) {
            return "Redis " + redis.serverVersion(settings.maxCommandTimeout());
        }
    }

    /**
     * Deletes every key of the settings' namespace ({@code SCAN MATCH ns:*}, {@code UNLINK} page by
     * page; every master of a cluster), within {@code timeout}. For a namespace that no ledger uses
     * any more, such as the warm-up's scratch one; never the namespace of a live ledger.
     *
     * @return how many keys went, and whether the scan finished (false: the timeout came first)
     * @throws DependencyUnavailableException when Redis does not answer (some keys may have gone)
     */
    public static Swept deleteNamespace(Settings settings, Duration timeout) {
        Objects.requireNonNull(settings, "settings");
        Objects.requireNonNull(timeout, "timeout");
        return NamespaceSweep.sweep(settings, timeout);
    }

    /** What {@link #deleteNamespace} did: keys deleted, and whether none is left that it saw. */
    public record Swept(long deleted, boolean complete) {
    }

    public static Settings.Builder settings(String redisUrl) {
        return new Settings.Builder(redisUrl);
    }

    /**
     * How the ledger talks to Redis. Defaults suit production; tests shorten or lengthen them.
     *
     * @param url                   where Redis is (see the class comment)
     * @param namespace             first part of every key ({@code fg:{sku}:item}); lets several
     *                              ledgers share one database
     * @param maxCommandTimeout     the longest any one Redis call may take; a reservation also
     *                              stops at its request's deadline, whichever comes first
     * @param connectTimeout        TCP connect timeout
     * @param soldOutRecheck        how long a local sold-out marker answers for its item before
     *                              one request goes to Redis again (stock may have come back
     *                              through another instance)
     * @param soldOutMaxKeys        the largest item (keys plus holders) for which a sold-out marker
     *                              is kept; larger items always ask Redis
     * @param definitionLease       how long an item definition may fence the item
     * @param settleRetention       how long a confirm, release or cancel that failed is retried
     *                              in the background before it is given up (and logged)
     * @param beforeRebuild         run before a rebuild reads the store: waits until the order
     *                              log has stored every order it acknowledged, or throws
     * @param rebuildQuiet          how long after noticing that Redis lost data (or failed over)
     *                              a rebuild waits before it reads the store: requests that
     *                              reserved on the lost server may still be making their orders
     *                              durable; the longest request deadline. Zero for a ledger that
     *                              is alone with its Redis.
     * @param epochCheckPeriod      how often the epoch markers are checked in the background
     *                              (zero: never; each script checks its own marker anyway)
     */
    public record Settings(String url, String namespace, Duration maxCommandTimeout, Duration connectTimeout,
                           Duration soldOutRecheck, int soldOutMaxKeys, Duration definitionLease,
                           Duration settleRetention, Runnable beforeRebuild, Duration rebuildQuiet,
                           Duration epochCheckPeriod) {

        public static final class Builder {
            private final String url;
            private String namespace = "fg";
            private Duration maxCommandTimeout = Duration.ofSeconds(1);
            private Duration connectTimeout = Duration.ofSeconds(1);
            private Duration soldOutRecheck = Duration.ofSeconds(1);
            private int soldOutMaxKeys = 100_000;
            private Duration definitionLease = Duration.ofSeconds(60);
            private Duration settleRetention = Duration.ofMinutes(10);
            private Runnable beforeRebuild = () -> { };
            private Duration rebuildQuiet = Duration.ZERO;
            private Duration epochCheckPeriod = Duration.ofSeconds(1);

            Builder(String url) {
                if (url == null || !(url.startsWith("redis://") || url.startsWith("rediss://")
                        || url.startsWith("redis-cluster://") || url.startsWith("redis-sentinel://"))) {
                    throw new IllegalArgumentException("Redis URL must start with redis://, rediss://, redis-sentinel://"
                            + " or redis-cluster://, was " + Redis.redact(String.valueOf(url)));
                }
                if (url.startsWith("redis-sentinel://") && !url.contains("#")) {
                    throw new IllegalArgumentException("a Redis Sentinel URL names the master after '#'"
                            + " (redis-sentinel://host:26379,host:26379/0#mymaster), was " + Redis.redact(url));
                }
                this.url = url;
            }

            public Builder namespace(String namespace) {
                if (namespace == null || !namespace.matches("[A-Za-z0-9._:-]{1,64}")) {
                    throw new IllegalArgumentException("namespace must be 1-64 of [A-Za-z0-9._:-] (no braces: they would"
                            + " change the hash slot), was " + namespace);
                }
                this.namespace = namespace;
                return this;
            }

            public Builder maxCommandTimeout(Duration timeout) {
                this.maxCommandTimeout = positive("maxCommandTimeout", timeout);
                return this;
            }

            public Builder connectTimeout(Duration timeout) {
                this.connectTimeout = positive("connectTimeout", timeout);
                return this;
            }

            public Builder soldOutRecheck(Duration recheck) {
                this.soldOutRecheck = positive("soldOutRecheck", recheck);
                return this;
            }

            /** 0 turns the local sold-out marker off. */
            public Builder soldOutMaxKeys(int maxKeys) {
                if (maxKeys < 0) {
                    throw new IllegalArgumentException("soldOutMaxKeys must be >= 0, was " + maxKeys);
                }
                this.soldOutMaxKeys = maxKeys;
                return this;
            }

            public Builder definitionLease(Duration lease) {
                this.definitionLease = positive("definitionLease", lease);
                return this;
            }

            public Builder settleRetention(Duration retention) {
                this.settleRetention = positive("settleRetention", retention);
                return this;
            }

            public Builder beforeRebuild(Runnable beforeRebuild) {
                this.beforeRebuild = java.util.Objects.requireNonNull(beforeRebuild, "beforeRebuild");
                return this;
            }

            public Builder rebuildQuiet(Duration quiet) {
                this.rebuildQuiet = notNegative("rebuildQuiet", quiet);
                return this;
            }

            public Builder epochCheckPeriod(Duration period) {
                this.epochCheckPeriod = notNegative("epochCheckPeriod", period);
                return this;
            }

            public Settings build() {
                return new Settings(url, namespace, maxCommandTimeout, connectTimeout, soldOutRecheck, soldOutMaxKeys,
                        definitionLease, settleRetention, beforeRebuild, rebuildQuiet, epochCheckPeriod);
            }

            private static Duration notNegative(String name, Duration d) {
                if (d == null || d.isNegative()) {
                    throw new IllegalArgumentException(name + " must be zero or positive, was " + d);
                }
                return d;
            }

            private static Duration positive(String name, Duration d) {
                if (d == null || d.isNegative() || d.isZero()) {
                    throw new IllegalArgumentException(name + " must be positive, was " + d);
                }
                return d;
            }
        }
    }
}
