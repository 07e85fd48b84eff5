package io.floodgate.app;

import io.floodgate.jdbc.JdbcStores;
import io.floodgate.kafka.KafkaOrderLogs;
import io.floodgate.redis.RedisLedgers;

import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Supplier;
import java.util.regex.Pattern;

/**
 * Floodgate's configuration, read from environment variables (the names of API.md and a few
 * more), one validated record per concern. Each record checks its own values in its compact
 * constructor; what spans two concerns (the reconciler's grace against the longest request, the
 * cluster rate that needs Redis) is checked here. Every bad value is reported, not only the first
 * ({@link ConfigException#problems()}), each naming the variable, the value and what would be
 * right; a bad value stops the process ({@code serve}), or is listed by {@code check-config}.
 *
 * @param kafka  null: orders are written straight to the store
 * @param redis  null: the in-process ledger
 * @param lock   null: the lock goes with the ledger (Redis's, or the in-process one)
 * @param warmUp the most {@code serve} drives its hot paths before it says ready ({@link WarmUp}: less once the JIT is quiet); zero: not at all
 */
public record Config(Http http, Store store, Log log, Kafka kafka, Redis redis, LockService lock, Admission admission,
                     Breakers breakers, Reconciler reconciler, Payments payments, Duration warmUp) {

    public Config {
        Objects.requireNonNull(http, "http");
        Objects.requireNonNull(store, "store");
        Objects.requireNonNull(log, "log");
        Objects.requireNonNull(admission, "admission");
        Objects.requireNonNull(breakers, "breakers");
        Objects.requireNonNull(reconciler, "reconciler");
        Objects.requireNonNull(payments, "payments");
        Objects.requireNonNull(warmUp, "warmUp");
        List<String> problems = new ArrayList<>();
        if (reconciler.grace().compareTo(http.maxRequestTimeout().multipliedBy(2)) < 0) {
            problems.add("FLOODGATE_RECONCILE_GRACE_MS (" + reconciler.grace().toMillis() + ") must be at"
                    + " least twice FLOODGATE_MAX_REQUEST_TIMEOUT_MS (" + http.maxRequestTimeout().toMillis() + "): a"
                    + " reservation younger than that may still be settled by its own request");
        }
        if (admission.clusterRate() > 0 && redis == null) {
            problems.add("FLOODGATE_CLUSTER_RATE (" + admission.clusterRate() + ") needs"
                    + " FLOODGATE_REDIS_URL: the cluster-wide rate is kept in Redis; set FLOODGATE_GLOBAL_RATE for a"
                    + " limit on this instance alone");
        }
        if (!problems.isEmpty()) {
            throw new ConfigException(problems);
        }
    }

    /**
     * Configuration errors: for each, which variable, what it was, what it must be. The message
     * is the problems, one per line.
     */
    public static final class ConfigException extends IllegalArgumentException {
        private final List<String> problems;

        ConfigException(String problem) {
            this(List.of(problem));
        }

        ConfigException(List<String> problems) {
            super(String.join("\n", problems));
            this.problems = List.copyOf(problems);
        }

        /** Each problem, in the order the variables were read. */
        public List<String> problems() {
            return problems;
        }
    }

    /**
     * The HTTP edge: where to listen, who may do what, how much a request may carry and take.
     *
     * @param requestTimeout    a request's budget when it asks for none ({@code Request-Timeout})
     * @param maxRequestTimeout the most a request may ask for; the longest any reservation can
     *                          stay in its request's hands
     */
    public record Http(String host, int port, String adminToken, boolean adminTokenGenerated, String userJwtSecret,
                       int maxBodyBytes, Duration requestTimeout, Duration maxRequestTimeout, Duration drainTimeout,
                       Edge edge) {
        public Http {
            Objects.requireNonNull(host, "host");
            Objects.requireNonNull(adminToken, "adminToken");
            Objects.requireNonNull(edge, "edge");
            if (userJwtSecret != null && userJwtSecret.getBytes(java.nio.charset.StandardCharsets.UTF_8).length < 32) {
                // RFC 7518 3.2: an HS256 key at least as long as the hash; a shorter one can be guessed offline
                // from any one token (the secret itself is never quoted)
                throw new ConfigException("FLOODGATE_USER_JWT_SECRET must be at least 32 bytes (RFC 7518, section 3.2),"
                        + " was " + userJwtSecret.getBytes(java.nio.charset.StandardCharsets.UTF_8).length + " bytes");
            }
            if (maxRequestTimeout.compareTo(requestTimeout) < 0) {
                throw new ConfigException("FLOODGATE_MAX_REQUEST_TIMEOUT_MS (" + maxRequestTimeout.toMillis()
                        + ") must be at least FLOODGATE_REQUEST_TIMEOUT_MS (" + requestTimeout.toMillis() + ")");
            }
        }

        /** Without the secrets: a configuration may be logged. */
        @Override
        public String toString() {
            return "Http[host=" + host + ", port=" + port + ", adminToken=***, userJwtSecret="
                    + (userJwtSecret == null ? null : "***") + ", maxBodyBytes=" + maxBodyBytes + ", requestTimeout="
                    + requestTimeout + ", maxRequestTimeout=" + maxRequestTimeout + ", drainTimeout=" + drainTimeout
                    + ", edge=" + edge + "]";
        }
    }

    /**
     * What bounds a connection and a user token at the edge (docs/SECURITY.md).
     *
     * @param idleTimeout             a connection with no request in progress for this long is closed
     *                                (Helidon's idle-connection timeout); also bounds a request line that
     *                                never ends
     * @param headerTimeout           the most the header section may take to arrive, from the end of the
     *                                request line
     * @param bodyTimeout             the most a request body may take to arrive, once its handler reads it
     * @param maxConnections          connections open on the listener at once; past it new ones wait in the
     *                                kernel's backlog (Helidon's {@code maxTcpConnections})
     * @param maxConnectionsPerClient connections one client address may hold at once; 0: no such cap (behind
     *                                a proxy every connection comes from the proxy's address)
     * @param jwtMaxLifetime          the longest a user token may be valid for ({@code exp - iat})
     * @param jwtClockSkew            how far clocks may disagree when {@code exp}, {@code nbf} and
     *                                {@code iat} are checked
     */
    public record Edge(Duration idleTimeout, Duration headerTimeout, Duration bodyTimeout, int maxConnections,
                       int maxConnectionsPerClient, Duration jwtMaxLifetime, Duration jwtClockSkew) {
        public Edge {
            Objects.requireNonNull(idleTimeout, "idleTimeout");
            Objects.requireNonNull(headerTimeout, "headerTimeout");
            Objects.requireNonNull(bodyTimeout, "bodyTimeout");
            Objects.requireNonNull(jwtMaxLifetime, "jwtMaxLifetime");
            Objects.requireNonNull(jwtClockSkew, "jwtClockSkew");
        }

        /** The defaults, for code that builds an {@link Http} by hand. */
        public static Edge defaults() {
            return new Edge(Duration.ofSeconds(60), Duration.ofSeconds(10), Duration.ofSeconds(10), 10_000, 0,
                    Duration.ofDays(1), Duration.ofSeconds(60));
        }
    }

    /**
     * The order store: the embedded file under {@code dataDir}, or a server database, or several.
     *
     * @param dbUrl  null: the embedded store
     * @param shards empty: one database
     */
    public record Store(Path dataDir, String dbUrl, String dbUser, String dbPassword, List<String> shards) {
        public Store {
            Objects.requireNonNull(dataDir, "dataDir");
            shards = List.copyOf(shards);
            if (dbUrl != null && JdbcStores.engineOf(dbUrl).isEmpty()) {
                throw new ConfigException("FLOODGATE_DB_URL '" + dbUrl + "' must start with jdbc:postgresql:,"
                        + " jdbc:mariadb: or jdbc:mysql:");
            }
            if (dbUrl != null && !shards.isEmpty() && !dbUrl.equals(shards.getFirst())) {
                throw new ConfigException("FLOODGATE_DB_URL ('" + dbUrl + "') and FLOODGATE_DB_SHARDS are both set, and"
                        + " the URL is not shard 0 ('" + shards.getFirst() + "'): unset FLOODGATE_DB_URL, or list it"
                        + " first in FLOODGATE_DB_SHARDS");
            }
        }

        @Override
        public String toString() {
            return "Store[dataDir=" + dataDir + ", dbUrl=" + dbUrl + ", dbUser=" + dbUser + ", dbPassword="
                    + (dbPassword == null ? null : "***") + ", shards=" + shards + "]";
        }
    }

    /**
     * The order log, whichever it is: the group-commit writer's bounds, and how far the log may
     * run ahead of the store before intake refuses new orders.
     *
     * @param maxBacklogOrders accepted orders not yet in the store, at most
     * @param maxBacklogAge    how long the oldest of them may wait, at most
     */
    public record Log(int writerQueue, int writerBatch, long maxBacklogOrders, Duration maxBacklogAge) {
    }

    /** The Kafka order log (202 ACCEPTED, consumers write the store). */
    public record Kafka(String bootstrap, String topic, String group, int partitions, int consumers) {
        public Kafka {
            Objects.requireNonNull(bootstrap, "bootstrap");
            KafkaOrderLogs.Settings.Builder settings = accepted("FLOODGATE_KAFKA_BOOTSTRAP",
                    () -> KafkaOrderLogs.settings(bootstrap));
            accepted("FLOODGATE_KAFKA_TOPIC", () -> settings.topic(topic));
        }
    }

    /** The Redis ledger (and the Redis lock, and the cluster-wide rate). */
    public record Redis(String url, String namespace) {
        public Redis {
            Objects.requireNonNull(url, "url");
            Objects.requireNonNull(namespace, "namespace");
            RedisLedgers.Settings.Builder settings = accepted("FLOODGATE_REDIS_URL", () -> RedisLedgers.settings(url));
            accepted("FLOODGATE_REDIS_NAMESPACE", () -> settings.namespace(namespace));
        }

        @Override
        public String toString() {
            return "Redis[url=" + withoutPassword(url) + ", namespace=" + namespace + "]";
        }
    }

    /**
     * The lock service of the reconciler's leadership, when it is not the ledger's
     * ({@code FLOODGATE_LOCK_URL}): ZooKeeper, etcd, or a Redis of its own.
     *
     * @param kind  which service
     * @param hosts {@code host:port} of each server (ZooKeeper, etcd); empty for Redis
     * @param path  the ZooKeeper root or etcd key prefix (null: the adapter's default); null for Redis
     * @param url   as configured
     */
    public record LockService(Kind kind, List<String> hosts, String path, String url) {

        /** The services a lock can live on. */
        public enum Kind { ZOOKEEPER, ETCD, REDIS }

        public LockService {
            Objects.requireNonNull(kind, "kind");
            hosts = List.copyOf(hosts);
            Objects.requireNonNull(url, "url");
            // each adapter checks what it takes (a root, a prefix, a Redis URL) when it is built
            List<String> servers = hosts;
            String at = path;
            accepted("FLOODGATE_LOCK_URL", () -> switch (kind) {
                case ZOOKEEPER -> Floodgate.zooKeeperSettings(servers, at);
                case ETCD -> Floodgate.etcdSettings(servers, at, url.startsWith("etcd+https:"));
                case REDIS -> RedisLedgers.settings(url).build();
            });
        }

        /**
         * {@code zk://host:port[,host:port...][/root]}, {@code etcd://host:port[,host:port...][/prefix]}
         * ({@code etcd+https://} for TLS), or a Redis URL ({@code redis://}, {@code rediss://},
         * {@code redis-sentinel://}).
         */
        static LockService parse(String url) {
            String scheme = url.contains("://") ? url.substring(0, url.indexOf("://")) : "";
            Kind kind = switch (scheme) {
                case "zk" -> Kind.ZOOKEEPER;
                case "etcd", "etcd+https" -> Kind.ETCD;
                case "redis", "rediss", "redis-sentinel" -> Kind.REDIS;
                default -> throw new ConfigException("FLOODGATE_LOCK_URL '" + withoutPassword(url) + "' must start with"
                        + " zk:// (ZooKeeper), etcd:// or etcd+https:// (etcd), or redis:// (a Redis of its own);"
                        + " unset, the lock goes with the ledger");
            };
            if (kind == Kind.REDIS) {
                return new LockService(kind, List.of(), null, url);
            }
            String rest = url.substring(scheme.length() + 3);
            int slash = rest.indexOf('/');
            String hostList = slash < 0 ? rest : rest.substring(0, slash);
            List<String> hosts = new ArrayList<>();
            for (String hostPort : hostList.split(",", -1)) {
                if (!HOST_PORT.matcher(hostPort).matches()
                        || Integer.parseInt(hostPort.substring(hostPort.lastIndexOf(':') + 1)) > 65_535) {
                    throw new ConfigException("FLOODGATE_LOCK_URL '" + url + "': '" + hostPort + "' is not host:port"
                            + " (port 1-65535); the form is " + scheme + "://host:port[,host:port...][/path]");
                }
                hosts.add(hostPort);
            }
            String path = slash < 0 ? null : rest.substring(slash);
            if (path != null && path.length() > 1 && path.endsWith("/")) {
                path = path.substring(0, path.length() - 1);
            }
            return new LockService(kind, hosts, path, url);
        }

        @Override
        public String toString() {
            return "LockService[" + kind + ", url=" + withoutPassword(url) + "]";
        }
    }

    private static final Pattern HOST_PORT = Pattern.compile("([A-Za-z0-9.\\-]+|\\[[0-9A-Fa-f:.]+]):[1-9][0-9]{0,4}");

    /** A URL without the password in it: {@code scheme://user:***@host...}, {@code ...?password=***}. */
    static String withoutPassword(String url) {
        String safe = url;
        for (Pattern p : URL_PASSWORDS) {
            safe = p.matcher(safe).replaceAll("$1***");
        }
        return safe;
    }

    /**
     * Where a URL carries a password: after {@code user:} in {@code //user:password@host}, or in a
     * {@code password=} parameter. Group 1 is what comes before it, group 2 the password.
     */
    static final List<Pattern> URL_PASSWORDS = List.of(
            Pattern.compile("(//[^:/@\\s]*:)([^@/\\s]*)(?=@)"),
            Pattern.compile("((?i)[?&;]password=)([^&;\\s]*)"));

    /**
     * A value the adapter that takes it accepts: the adapter's own builder checks it, and its
     * refusal becomes a configuration error naming the variable (rather than a failure to start).
     */
    private static <T> T accepted(String variable, Supplier<T> check) {
        try {
            return check.get();
        } catch (ConfigException e) {
            throw e;
        } catch (IllegalArgumentException e) {
            throw new ConfigException(variable + ": " + e.getMessage());
        }
    }

    /**
     * Flow control at the gate: token buckets (per user, per item, per instance, cluster-wide) and
     * the adaptive concurrency limit.
     *
     * @param itemRate    0: no per-item cap
     * @param globalRate  0: no cap on this instance
     * @param clusterRate 0: no cluster-wide cap
     * @param limit       false: no concurrency limit at all (benchmark baseline)
     */
    public record Admission(double userRate, int userBurst, double itemRate, double globalRate, int maxInFlight,
                            int minInFlight, boolean limit, int maxTrackedUsers, double clusterRate, int instances,
                            Duration clusterRateTimeout) {

        /** The limit's floor: the configured one, never above the ceiling. */
        int floor() {
            return Math.min(minInFlight, maxInFlight);
        }

        /**
         * Where the limit starts: 256 in flight, within the bounds; a floor set above 256 is the
         * start too. Measured in docs/BENCHMARKS.md: a lower start read the first GC-pause burst
         * as overload and shed orders the unguarded server took in full.
         */
        int initialLimit() {
            return Math.clamp(256, floor(), maxInFlight);
        }
    }

    /** The circuit breakers around the store and Redis. */
    public record Breakers(Duration slowCall, Duration open, Duration redisSlowCall) {
    }

    /** The reconciler: how often it runs, how old a reservation must be before it acts, its lease. */
    public record Reconciler(Duration period, Duration grace, Duration lease) {
    }

    /**
     * Payments, expiry and order events.
     *
     * @param secrets          the callback's HMAC secrets, several during a rotation; empty: callbacks off
     * @param tolerance        how far a callback's signed time may be from now
     * @param rate             payment callbacks per second on an instance
     * @param maxInFlight      payment callbacks served at once on an instance
     * @param expiryPeriod     how often each instance looks for orders past their due time
     * @param expiryBatch      orders expired per transaction
     * @param eventsTopic      the Kafka topic of order events (with Kafka configured)
     * @param eventsPartitions its partitions, when Floodgate creates it
     * @param relayPeriod      how long the event relay rests when it found nothing to do
     * @param relayBatch       events stamped and published at once
     * @param maxEventWaiters  readers of {@code GET /api/v1/events} waiting at once, per instance
     */
    public record Payments(List<String> secrets, Duration tolerance, double rate, int maxInFlight,
                           Duration expiryPeriod, int expiryBatch, String eventsTopic, int eventsPartitions,
                           Duration relayPeriod, int relayBatch, int maxEventWaiters) {
        public Payments {
            secrets = List.copyOf(secrets);
            Objects.requireNonNull(tolerance, "tolerance");
            Objects.requireNonNull(eventsTopic, "eventsTopic");
        }

        /** Without the secrets: a configuration may be logged. */
        @Override
        public String toString() {
            return "Payments[secrets=" + (secrets.isEmpty() ? "none" : secrets.size() + " x ***") + ", tolerance="
                    + tolerance + ", rate=" + rate + ", maxInFlight=" + maxInFlight + ", expiryPeriod=" + expiryPeriod
                    + ", expiryBatch=" + expiryBatch + ", eventsTopic=" + eventsTopic + ", eventsPartitions="
                    + eventsPartitions + ", relayPeriod=" + relayPeriod + ", relayBatch=" + relayBatch
                    + ", maxEventWaiters=" + maxEventWaiters + "]";
        }
    }

    /**
     * Every value from {@code env} (unset ones take their defaults), checked.
     *
     * @throws ConfigException naming every variable that is wrong (a value out of range is
     *         reported, then read as its default so that the checks after it still run)
     */
    public static Config fromEnv(Map<String, String> env) {
        Reader r = new Reader(env);
        Http http = r.part(() -> http(r));
        Store store = r.part(() -> new Store(Path.of(r.string("FLOODGATE_DATA_DIR", "./data")),
                r.string("FLOODGATE_DB_URL", null), r.string("FLOODGATE_DB_USER", null),
                r.string("FLOODGATE_DB_PASSWORD", null), shards(r)));
        Log log = new Log(
                (int) r.integer("FLOODGATE_WRITER_QUEUE", 8_192, 1, 10_000_000),
                (int) r.integer("FLOODGATE_WRITER_BATCH", 512, 1, 100_000),
                r.integer("FLOODGATE_MAX_BACKLOG_ORDERS", 50_000, 1, Long.MAX_VALUE),
                Duration.ofSeconds(r.integer("FLOODGATE_MAX_BACKLOG_SECONDS", 60, 1, 86_400)));
        String bootstrap = r.string("FLOODGATE_KAFKA_BOOTSTRAP", null);
        Kafka kafka = bootstrap == null ? null : r.part(() -> new Kafka(bootstrap,
                r.string("FLOODGATE_KAFKA_TOPIC", "floodgate.orders"),
                r.string("FLOODGATE_KAFKA_GROUP", "floodgate-order-writers"),
                (int) r.integer("FLOODGATE_KAFKA_PARTITIONS", 12, 1, 10_000),
                (int) r.integer("FLOODGATE_KAFKA_CONSUMERS", 2, 1, 256)));
        String redisUrl = r.string("FLOODGATE_REDIS_URL", null);
        Redis redis = redisUrl == null ? null : r.part(() -> new Redis(redisUrl,
                r.string("FLOODGATE_REDIS_NAMESPACE", "fg")));
        String lockUrl = r.string("FLOODGATE_LOCK_URL", null);
        LockService lock = lockUrl == null ? null : r.part(() -> LockService.parse(lockUrl));
        Admission admission = new Admission(
                r.decimal("FLOODGATE_USER_RATE", 10, 0.001, 1e9),
                (int) r.integer("FLOODGATE_USER_BURST", 20, 1, 1_000_000_000),
                r.decimal("FLOODGATE_ITEM_RATE", 0, 0.001, 1e9),
                r.decimal("FLOODGATE_GLOBAL_RATE", 0, 0.001, 1e9),
                (int) r.integer("FLOODGATE_MAX_IN_FLIGHT", 2_048, 1, 1_000_000),
                (int) r.integer("FLOODGATE_MIN_IN_FLIGHT", 256, 1, 1_000_000),
                r.onOff("FLOODGATE_ADMISSION", true),
                (int) r.integer("FLOODGATE_MAX_TRACKED_USERS", 2_000_000, 1, 100_000_000),
                r.decimal("FLOODGATE_CLUSTER_RATE", 0, 0.001, 1e9),
                (int) r.integer("FLOODGATE_INSTANCES", 1, 1, 10_000),
                Duration.ofMillis(r.integer("FLOODGATE_CLUSTER_RATE_TIMEOUT_MS", 25, 1, 10_000)));
        Breakers breakers = new Breakers(
                Duration.ofMillis(r.integer("FLOODGATE_SLOW_CALL_MS", 1_000, 1, 600_000)),
                Duration.ofMillis(r.integer("FLOODGATE_BREAKER_OPEN_MS", 2_000, 10, 600_000)),
                Duration.ofMillis(r.integer("FLOODGATE_REDIS_SLOW_CALL_MS", 250, 1, 600_000)));
        Reconciler reconciler = new Reconciler(
                Duration.ofMillis(r.integer("FLOODGATE_RECONCILE_PERIOD_MS", 10_000, 10, 3_600_000)),
                Duration.ofMillis(r.integer("FLOODGATE_RECONCILE_GRACE_MS", 60_000, 1_000, 86_400_000)),
                Duration.ofMillis(r.integer("FLOODGATE_RECONCILE_LEASE_MS", 15_000, 100, 3_600_000)));
        Payments payments = new Payments(paymentSecrets(r),
                Duration.ofSeconds(r.integer("FLOODGATE_PAYMENT_TOLERANCE_S", 300, 1, 86_400)),
                r.decimal("FLOODGATE_PAYMENT_RATE", 1_000, 0.001, 1e9),
                (int) r.integer("FLOODGATE_PAYMENT_MAX_IN_FLIGHT", 64, 1, 100_000),
                Duration.ofMillis(r.integer("FLOODGATE_EXPIRY_PERIOD_MS", 200, 10, 60_000)),
                (int) r.integer("FLOODGATE_EXPIRY_BATCH", 500, 1, 100_000),
                r.string("FLOODGATE_EVENTS_TOPIC", "floodgate.order-events"),
                (int) r.integer("FLOODGATE_EVENTS_PARTITIONS", 6, 1, 10_000),
                Duration.ofMillis(r.integer("FLOODGATE_EVENTS_RELAY_PERIOD_MS", 50, 1, 60_000)),
                (int) r.integer("FLOODGATE_EVENTS_RELAY_BATCH", 500, 1, 100_000),
                (int) r.integer("FLOODGATE_EVENTS_MAX_WAITERS", 64, 1, 100_000));
        Duration warmUp = Duration.ofSeconds(r.integer("FLOODGATE_WARMUP_SECONDS", 60, 0, 600));
        if (!r.problems.isEmpty()) {
            throw new ConfigException(r.problems);
        }
        return new Config(http, store, log, kafka, redis, lock, admission, breakers, reconciler, payments, warmUp);
    }

    private static Http http(Reader r) {
        String token = r.string("FLOODGATE_ADMIN_TOKEN", null);
        boolean generated = token == null;
        if (generated) {
            byte[] bytes = new byte[24];
            new SecureRandom().nextBytes(bytes);
            token = HexFormat.of().formatHex(bytes);
        }
        Duration timeout = Duration.ofMillis(r.integer("FLOODGATE_REQUEST_TIMEOUT_MS", 1_000, 1, 600_000));
        return new Http(
                r.string("FLOODGATE_HOST", "0.0.0.0"),
                (int) r.integer("FLOODGATE_PORT", 8080, 0, 65_535),
                token,
                generated,
                r.string("FLOODGATE_USER_JWT_SECRET", null),
                (int) r.integer("FLOODGATE_MAX_BODY_BYTES", 16 * 1024, 64, 16 * 1024 * 1024),
                timeout,
                Duration.ofMillis(r.integer("FLOODGATE_MAX_REQUEST_TIMEOUT_MS", Math.max(10_000, timeout.toMillis()),
                        1, 600_000)),
                Duration.ofMillis(r.integer("FLOODGATE_DRAIN_TIMEOUT_MS", 10_000, 0, 600_000)),
                edge(r));
    }

    private static Edge edge(Reader r) {
        Edge d = Edge.defaults();
        return new Edge(
                Duration.ofMillis(r.integer("FLOODGATE_IDLE_TIMEOUT_MS", d.idleTimeout().toMillis(), 100, 3_600_000)),
                Duration.ofMillis(r.integer("FLOODGATE_HEADER_TIMEOUT_MS", d.headerTimeout().toMillis(), 100, 600_000)),
                Duration.ofMillis(r.integer("FLOODGATE_BODY_TIMEOUT_MS", d.bodyTimeout().toMillis(), 100, 600_000)),
                (int) r.integer("FLOODGATE_MAX_CONNECTIONS", d.maxConnections(), 1, 1_000_000),
                (int) r.integer("FLOODGATE_MAX_CONNECTIONS_PER_CLIENT", d.maxConnectionsPerClient(), 0, 1_000_000),
                Duration.ofSeconds(r.integer("FLOODGATE_USER_JWT_MAX_LIFETIME_S", d.jwtMaxLifetime().toSeconds(), 1,
                        366L * 86_400)),
                Duration.ofSeconds(r.integer("FLOODGATE_USER_JWT_CLOCK_SKEW_S", d.jwtClockSkew().toSeconds(), 0, 3_600)));
    }

    /**
     * FLOODGATE_PAYMENT_SECRET: one secret, or several separated by commas during a rotation (each
     * at least 16 characters: a short HMAC key is a guessable one). Never echoed in a problem.
     */
    private static List<String> paymentSecrets(Reader r) {
        String raw = r.env().get("FLOODGATE_PAYMENT_SECRET");
        if (raw == null || raw.isBlank()) {
            return List.of();
        }
        List<String> secrets = new ArrayList<>();
        String[] parts = raw.split(",", -1);
        for (int i = 0; i < parts.length; i++) {
            String secret = parts[i].strip();
            if (secret.length() < 16) {
                r.problems().add("FLOODGATE_PAYMENT_SECRET: secret " + (i + 1) + " of " + parts.length + " is "
                        + secret.length() + " characters; each must be at least 16 (the value is not shown)");
            } else {
                secrets.add(secret);
            }
        }
        return secrets;
    }

    /**
     * FLOODGATE_DB_SHARDS: JDBC URLs separated by commas, shard 0 first, all PostgreSQL or all
     * MariaDB/MySQL (one user and password, FLOODGATE_DB_USER/PASSWORD). Unset: empty, and
     * FLOODGATE_DB_URL (or the embedded store) holds everything. FLOODGATE_DB_URL may be set
     * beside it only as the first entry, so that a single database can become shard 0.
     */
    private static List<String> shards(Reader r) {
        String raw = r.string("FLOODGATE_DB_SHARDS", null);
        if (raw == null) {
            return List.of();
        }
        List<String> urls = new ArrayList<>();
        String firstEngine = null;
        for (String part : raw.split(",", -1)) {
            String url = part.trim();
            if (url.isEmpty()) {
                throw new ConfigException("FLOODGATE_DB_SHARDS must be JDBC URLs separated by commas, shard 0 first;"
                        + " entry " + urls.size() + " is empty in '" + raw + "'");
            }
            String engine = JdbcStores.engineOf(url).filter(e -> !e.equals("SQLite")).orElseThrow(() ->
                    new ConfigException("FLOODGATE_DB_SHARDS entry " + urls.size() + " '" + url + "' must start with"
                            + " jdbc:postgresql:, jdbc:mariadb: or jdbc:mysql: (the embedded SQLite store is not"
                            + " sharded)"));
            if (firstEngine != null && !engine.equals(firstEngine)) {
                throw new ConfigException("FLOODGATE_DB_SHARDS entry " + urls.size() + " '" + url + "' is " + engine
                        + " but shard 0 '" + urls.getFirst() + "' is " + firstEngine
                        + ": every shard must run the same engine");
            }
            if (urls.contains(url)) {
                throw new ConfigException("FLOODGATE_DB_SHARDS names '" + url + "' twice: each shard is a database of"
                        + " its own");
            }
            firstEngine = engine;
            urls.add(url);
        }
        return List.copyOf(urls);
    }

    /** Reads variables; a bad value is noted in {@link #problems} and read as its default. */
    private record Reader(Map<String, String> env, List<String> problems) {
        Reader(Map<String, String> env) {
            this(env, new ArrayList<>());
        }

        /** Builds a part of the configuration; null when it refused its values (noted). */
        <T> T part(Supplier<T> build) {
            try {
                return build.get();
            } catch (ConfigException e) {
                problems.addAll(e.problems());
                return null;
            }
        }

        String string(String name, String otherwise) {
            String value = env.get(name);
            return value == null || value.isBlank() ? otherwise : value.trim();
        }

        long integer(String name, long otherwise, long min, long max) {
            String raw = string(name, null);
            if (raw == null) {
                return otherwise;
            }
            long value;
            try {
                value = Long.parseLong(raw);
            } catch (NumberFormatException e) {
                problems.add(name + " must be an integer from " + min + " to " + max + ", was '" + raw + "'");
                return otherwise;
            }
            if (value < min || value > max) {
                problems.add(name + " must be from " + min + " to " + max + ", was " + value);
                return otherwise;
            }
            return value;
        }

        /** {@code on} or {@code off} (any case); unset gives {@code otherwise}. */
        boolean onOff(String name, boolean otherwise) {
            String raw = string(name, null);
            if (raw == null) {
                return otherwise;
            }
            return switch (raw.toLowerCase(java.util.Locale.ROOT)) {
                case "on" -> true;
                case "off" -> false;
                default -> {
                    problems.add(name + " must be on or off, was '" + raw + "'");
                    yield otherwise;
                }
            };
        }

        /** A positive decimal; unset gives {@code otherwise} (0 meaning "off" where allowed). */
        double decimal(String name, double otherwise, double min, double max) {
            String raw = string(name, null);
            if (raw == null) {
                return otherwise;
            }
            double value;
            try {
                value = Double.parseDouble(raw);
            } catch (NumberFormatException e) {
                value = Double.NaN;
            }
            if (!(value >= min && value <= max)) {
                problems.add(name + " must be a number from " + min + " to " + max + ", was '" + raw + "'");
                return otherwise;
            }
            return value;
        }
    }
}
