package io.floodgate.app;

import io.floodgate.concurrent.Handoff;
import io.floodgate.core.CatalogService;
import io.floodgate.core.Deadline;
import io.floodgate.core.EventFeed;
import io.floodgate.core.EventRelay;
import io.floodgate.core.PaymentExpiry;
import io.floodgate.core.PaymentService;
import io.floodgate.core.domain.PaymentState;
import io.floodgate.core.port.EventPublisher;
import io.floodgate.core.DependencyUnavailableException;
import io.floodgate.core.FailedOrders;
import io.floodgate.core.OrderService;
import io.floodgate.core.Reconciler;
import io.floodgate.core.port.Lock;
import io.floodgate.core.port.OrderLog;
import io.floodgate.core.port.OrderStore;
import io.floodgate.core.port.StockLedger;
import io.floodgate.direct.GroupCommitOrderLog;
import io.floodgate.etcd.EtcdLocks;
import io.floodgate.flow.Admission;
import io.floodgate.flow.Breakers;
import io.floodgate.flow.ClusterRateLimiter;
import io.floodgate.flow.ConcurrencyGate;
import io.floodgate.http.Edge;
import io.floodgate.http.EventViews;
import io.floodgate.http.HttpApi;
import io.floodgate.jdbc.JdbcStores;
import io.floodgate.kafka.KafkaOrderLog;
import io.floodgate.kafka.KafkaOrderLogs;
import io.floodgate.memory.InMemoryStockLedger;
import io.floodgate.memory.InProcessLock;
import io.floodgate.observe.Metrics;
import io.floodgate.redis.RedisLedger;
import io.floodgate.redis.RedisLedgers;
import io.floodgate.redis.RedisLocks;
import io.floodgate.redis.RedisRateBuckets;
import io.floodgate.zookeeper.ZooKeeperLocks;
import io.helidon.webserver.WebServer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;

/**
 * The one place that wires Floodgate: reads the {@link Config}, builds the adapters it names,
 * hands them to the core and starts the HTTP server. Nothing else names an adapter class.
 *
 * <p>The order of building is the order of trust: the store first; then the order log, which
 * must be able to drain into the store before any ledger is rebuilt from it; then the ledger (and
 * the lock beside it); then flow control, the use cases and the server. Each part registers its
 * metrics through {@link MetricBinders}. If any part fails to start, the parts already built are
 * closed, last first.
 *
 * <p>{@link #close()} drains: the listener stops taking connections, requests in flight finish
 * (up to the drain timeout), the order log stores what it holds, and the store closes.
 */
public final class Floodgate implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(Floodgate.class);
    private static final Duration LOG_DRAIN_TIMEOUT = Duration.ofSeconds(60);

    private final Config config;
    private final Metrics metrics = new Metrics();
    private final Breakers breakers;
    /** What was built, in the order it was; closed last first. */
    private final Deque<AutoCloseable> built = new ArrayDeque<>();
    private final OrderStore store;
    private final OrderLog orderLog;
    /** The group-commit writer, or null: drained with its own timeout. */
    private final GroupCommitOrderLog writer;
    /** The Kafka order log, or null: readiness and its drain. */
    private final KafkaOrderLog kafkaLog;
    private final StockLedger ledger;
    /** The Redis ledger, or null: readiness. */
    private final RedisLedger redisLedger;
    private final Admission admission;
    private final Reconciler reconciler;
    private final PaymentExpiry expiry;
    private final EventRelay relay;
    private final HttpApi api;
    private final WebServer server;
    /** Taken by the first closer, who drains; later closers wait for it. No closer leaves early. */
    private final Handoff<Void> closing = Handoff.queued(unused -> { });
    /** True until {@link #warmedUp()}: readiness names "warm-up" as what it waits for. */
    private volatile boolean warming;

    private Floodgate(Config config, Clock clock, boolean warming, boolean publishEvents) {
        this.config = config;
        this.warming = warming;
        this.breakers = new Breakers(config.breakers().slowCall(), config.breakers().open());
        try {
            this.store = breakers.guardStore(track(openStore(config.store(), clock)));

            FailedOrders failedOrders = new FailedOrders(store);
            if (config.kafka() == null) {
                this.writer = track(new GroupCommitOrderLog(store, config.log().writerQueue(), config.log().writerBatch()));
                this.kafkaLog = null;
                this.orderLog = writer;
                MetricBinders.bindGroupCommit(metrics, writer);
            } else {
                this.writer = null;
                this.kafkaLog = track(KafkaOrderLogs.start(kafkaSettings(config), store, failedOrders));
                this.orderLog = breakers.guardLog("kafka", kafkaLog);
                breakers.storeOffOrderPath();
                MetricBinders.bindKafka(metrics, kafkaLog);
            }
            MetricBinders.bindLog(metrics, orderLog, failedOrders);

            Runnable drainLog = drainLog(orderLog);
            ClusterRateLimiter clusterRate = null;
            Lock lock = config.lock() == null ? null : track(openLock(config));
            if (config.redis() == null) {
                drainLog.run();
                this.redisLedger = null;
                this.ledger = track(InMemoryStockLedger.restoredFrom(store, clock));
                if (lock == null) {
                    lock = track(new InProcessLock(clock));
                }
            } else {
                RedisLedgers.Settings redisSettings = redisSettings(config, drainLog);
                this.redisLedger = track(RedisLedgers.connect(redisSettings, clock, store));
                this.ledger = breakers.guardRedisLedger(redisLedger, config.breakers().redisSlowCall());
                MetricBinders.bindRedis(metrics, redisLedger);
                if (lock == null) {
                    lock = track(RedisLocks.connect(redisSettings));
                }
                if (config.admission().clusterRate() > 0) {
                    clusterRate = clusterRate(config.admission(), track(RedisRateBuckets.connect(redisSettings)), breakers);
                    MetricBinders.bindClusterRate(metrics, clusterRate);
                }
            }
            failedOrders.attach(ledger);

            this.admission = track(admission(config.admission(), clusterRate));
            MetricBinders.bindAdmission(metrics, admission, breakers);

            this.reconciler = track(new Reconciler(ledger, store, orderLog, lock, clock, new Reconciler.Settings(
                    config.reconciler().period(), config.reconciler().grace(), config.reconciler().lease(), 10_000)));
            MetricBinders.bindReconciler(metrics, reconciler);

            OrderService orders = new OrderService(ledger, orderLog, store, clock, new OrderService.BacklogBound(
                    config.log().maxBacklogOrders(), config.log().maxBacklogAge()));
            MetricBinders.bindIntake(metrics, orders);
            CatalogService catalog = new CatalogService(ledger, store);

            Config.Payments p = config.payments();
            this.expiry = track(new PaymentExpiry(store, ledger, clock,
                    new PaymentExpiry.Settings(p.expiryPeriod(), p.expiryBatch()),
                    metrics.latencyMillis("floodgate.payments.expiry.lateness", "How long after its due time an unpaid"
                            + " order was expired by this instance")));
            EventPublisher publisher = config.kafka() == null || !publishEvents ? null : track(KafkaOrderLogs.eventPublisher(
                    kafkaSettings(config), p.eventsTopic(), p.eventsPartitions(), p.relayBatch(), EventViews::cloudEvent));
            this.relay = track(new EventRelay(store, lock, publisher, clock,
                    new EventRelay.Settings(p.relayPeriod(), p.relayBatch(), config.reconciler().lease()),
                    metrics.latencyMillis("floodgate.events.publish.delay", "From an order's change to its event's"
                            + " publication on the Kafka topic")));
            EventFeed feed = new EventFeed(store, p.maxEventWaiters());
            PaymentService payments = new PaymentService(store, orderLog, expiry, clock);
            Refreshed<Map<PaymentState, Long>> counts = new Refreshed<>(store::paymentCounts, Duration.ofSeconds(1),
                    Map.of());
            MetricBinders.bindPayments(metrics, counts, payments, expiry, relay, feed, admission);

            Config.Http http = config.http();
            this.api = new HttpApi(orders, catalog, new HttpApi.Payments(payments, feed, p.secrets(), p.tolerance(),
                    counts), admission, this::downDependencies, metrics,
                    new HttpApi.Settings(http.adminToken(), http.userJwtSecret(), http.maxBodyBytes(),
                            http.requestTimeout(), http.maxRequestTimeout(), http.edge().bodyTimeout(),
                            http.edge().jwtMaxLifetime(), http.edge().jwtClockSkew()), clock);
            Edge edge = track(new Edge(new Edge.Limits(http.edge().headerTimeout(), http.edge().maxConnectionsPerClient()),
                    metrics));
            this.server = startServer(http, api, edge);
            warnIfOpenWithoutUserAuth(http);
            reconciler.start();
            expiry.start();
            relay.start();
        } catch (RuntimeException e) {
            closeBuilt(e);
            throw e;
        }
    }

    private <T extends AutoCloseable> T track(T part) {
        built.push(part);
        return part;
    }

    private void closeBuilt(RuntimeException cause) {
        while (!built.isEmpty()) {
            try {
                built.pop().close();
            } catch (Exception e) {
                cause.addSuppressed(e);
            }
        }
        metrics.close();
    }

    static OrderStore openStore(Config.Store store, Clock clock) {
        if (!store.shards().isEmpty()) {
            return JdbcStores.sharded(store.shards(), store.dbUser(), store.dbPassword(), clock);
        }
        if (store.dbUrl() != null) {
            return JdbcStores.connect(store.dbUrl(), store.dbUser(), store.dbPassword(), clock);
        }
        return JdbcStores.embedded(store.dataDir(), clock);
    }

    /**
     * The lock that {@code FLOODGATE_LOCK_URL} names (ZooKeeper, etcd, or a Redis of its own);
     * checks that its service answers.
     *
     * @throws DependencyUnavailableException when it does not
     */
    static Lock openLock(Config config) {
        Config.LockService service = config.lock();
        LOG.info("the reconciler's lock is on {} ({})", service.kind(), Config.withoutPassword(service.url()));
        return switch (service.kind()) {
            case ZOOKEEPER -> ZooKeeperLocks.connect(zooKeeperSettings(service.hosts(), service.path()));
            case ETCD -> EtcdLocks.connect(etcdSettings(service.hosts(), service.path(),
                    service.url().startsWith("etcd+https:")));
            case REDIS -> RedisLocks.connect(RedisLedgers.settings(service.url())
                    .namespace(config.redis() == null ? "fg" : config.redis().namespace()).build());
        };
    }

    /** Whether the lock service that {@code FLOODGATE_LOCK_URL} names answers (check-config). */
    static String pingLock(Config.LockService service, Duration timeout) {
        return switch (service.kind()) {
            case ZOOKEEPER -> ZooKeeperLocks.ping(ZooKeeperLocks.settings(service.hosts(), service.path())
                    .connectTimeout(timeout).operationTimeout(timeout).build());
            case ETCD -> EtcdLocks.ping(EtcdLocks.settings(etcdEndpoints(service.hosts(),
                    service.url().startsWith("etcd+https:")), service.path())
                    .connectTimeout(timeout).requestTimeout(timeout).build());
            case REDIS -> RedisLedgers.ping(RedisLedgers.settings(service.url()).connectTimeout(timeout)
                    .maxCommandTimeout(timeout).build());
        };
    }

    static ZooKeeperLocks.Settings zooKeeperSettings(List<String> hosts, String root) {
        return ZooKeeperLocks.settings(hosts, root).build();
    }

    static EtcdLocks.Settings etcdSettings(List<String> hosts, String prefix, boolean https) {
        return EtcdLocks.settings(etcdEndpoints(hosts, https), prefix).build();
    }

    private static List<URI> etcdEndpoints(List<String> hosts, boolean https) {
        return hosts.stream().map(h -> URI.create((https ? "https://" : "http://") + h)).toList();
    }

    /**
     * The Redis ledger's settings. A rebuild waits, before it reads the store, for the longest a
     * request that reserved on a lost server may still be making its order durable: its deadline,
     * and with Kafka the producer's delivery timeout after it (a send still open at the deadline
     * is appended, or fails, within that).
     */
    private static RedisLedgers.Settings redisSettings(Config config, Runnable drainLog) {
        Duration quiet = config.http().maxRequestTimeout();
        if (config.kafka() != null) {
            quiet = quiet.plus(kafkaSettings(config).deliveryTimeout());
        }
        return RedisLedgers.settings(config.redis().url())
                .namespace(config.redis().namespace())
                .beforeRebuild(drainLog)
                .rebuildQuiet(quiet)
                .build();
    }

    private static ClusterRateLimiter clusterRate(Config.Admission admission, RedisRateBuckets buckets, Breakers breakers) {
        return new ClusterRateLimiter(
                buckets.bucket("orders", admission.clusterRate(), Math.max(1, (long) admission.clusterRate())),
                admission.clusterRate(), admission.instances(), admission.clusterRateTimeout(), breakers::redisOpen,
                System::nanoTime);
    }

    private Admission admission(Config.Admission a, ClusterRateLimiter clusterRate) {
        ConcurrencyGate gate = a.limit()
                ? new ConcurrencyGate(a.floor(), a.initialLimit(), a.maxInFlight())
                : ConcurrencyGate.unlimited();
        return new Admission(a.userRate(), a.userBurst(), a.itemRate(), a.globalRate(), clusterRate, gate, breakers,
                a.maxTrackedUsers(), config.payments().rate(), config.payments().maxInFlight());
    }

    private static WebServer startServer(Config.Http http, HttpApi api, Edge edge) {
        Config.Edge limits = http.edge();
        WebServer server = WebServer.builder()
                .host(http.host())
                .port(http.port())
                .maxPayloadSize(Math.max(1L << 20, http.maxBodyBytes() * 2L))
                .shutdownGracePeriod(http.drainTimeout())
                .shutdownHook(false)
                // Helidon's own bounds on connections: one with no request in progress for the idle
                // timeout is closed (checked every idleConnectionPeriod; this also ends a request line
                // that never comes), and past maxTcpConnections new ones wait in the kernel's backlog
                .idleConnectionTimeout(limits.idleTimeout())
                .idleConnectionPeriod(idlePeriod(limits.idleTimeout()))
                .maxTcpConnections(limits.maxConnections())
                // what Helidon lacks (header and body deadlines, a per-client cap, framing rules) is the
                // edge's selector, the listener's only one: no protocol is discovered to add another
                // (with two, Helidon reads the first bytes before any connection exists, and its idle
                // timeout no longer sees a connection that sends nothing)
                .protocolsDiscoverServices(false)
                .connectionSelectors(List.of(edge.selector()))
                .directHandlers(api.directHandlers())
                // the direct handler gets the messages marked safe (the edge's own say what was wrong);
                // HttpApi escapes them and drops any that could name code
                .errorHandling(e -> e.includeEntity(true))
                .routing(api::routing)
                .build()
                .start();
        if (!server.isRunning()) {
            throw new IllegalStateException("cannot listen on " + http.host() + ":" + http.port()
                    + " (is the port in use? set FLOODGATE_PORT to another port, or 0 for any free one)");
        }
        return server;
    }

    /** How often Helidon looks for idle connections: a quarter of the timeout, from 100 ms to 5 s. */
    private static Duration idlePeriod(Duration idleTimeout) {
        Duration quarter = idleTimeout.dividedBy(4);
        return quarter.compareTo(Duration.ofMillis(100)) < 0 ? Duration.ofMillis(100)
                : min(quarter, Duration.ofSeconds(5));
    }

    /**
     * With user auth off anyone who reaches the port may order as any user, spend any user's rate
     * and cancel any order: that is for a port only trusted callers reach (docs/SECURITY.md).
     */
    private static void warnIfOpenWithoutUserAuth(Config.Http http) {
        if (http.userJwtSecret() != null || isLoopback(http.host())) {
            return;
        }
        LOG.warn("user auth is off (FLOODGATE_USER_JWT_SECRET is unset) and the port listens on {}, not loopback:"
                + " anyone who reaches it may place orders as any user and cancel any order. Run it so only trusted"
                + " callers reach it (a front end that authenticates buyers), or set FLOODGATE_USER_JWT_SECRET;"
                + " see docs/SECURITY.md", http.host());
    }

    static boolean isLoopback(String host) {
        try {
            return java.net.InetAddress.getByName(host).isLoopbackAddress();
        } catch (java.net.UnknownHostException e) {
            return false;
        }
    }

    /**
     * The Kafka order log's settings. Its timeouts are fitted inside the reconciler's grace
     * period: the reconciler releases a reservation older than the grace whose order is not in
     * the store, so by then nothing may still bring that order into the store. After the request's
     * deadline (at most {@code maxRequestTimeout}), the producer may still deliver the record for
     * up to its delivery timeout, and after a failed delivery the direct store writer may still write
     * the order for up to its retention: together they get at most five sixths of what is left of
     * the grace ({@code grace - maxRequestTimeout}, at least half the grace by {@link Config}).
     * With the defaults (grace 60 s, deadline 10 s) this is Kafka's own 10 s delivery timeout.
     */
    static KafkaOrderLogs.Settings kafkaSettings(Config config) {
        Duration left = config.reconciler().grace().minus(config.http().maxRequestTimeout());
        Duration linger = Duration.ofMillis(1);
        Duration delivery = min(Duration.ofSeconds(10), left.dividedBy(3));
        // Kafka's rule: delivery.timeout.ms >= request.timeout.ms + linger.ms
        Duration request = min(Duration.ofSeconds(3), delivery.minus(linger));
        Config.Kafka kafka = config.kafka();
        return KafkaOrderLogs.settings(kafka.bootstrap())
                .topic(kafka.topic())
                .group(kafka.group())
                .partitions(kafka.partitions())
                .consumers(kafka.consumers())
                .maxInFlight(config.log().writerQueue())
                .maxBatch(config.log().writerBatch())
                .linger(linger)
                .deliveryTimeout(delivery)
                .requestTimeout(request)
                .directWriteRetention(left.dividedBy(2))
                .build();
    }

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }

    /**
     * Waits (up to a minute) until the order log has stored every order it acknowledged, so that
     * a ledger rebuilt from the store counts them; throws when it cannot, so that no ledger is
     * built from a store that misses acknowledged orders.
     */
    private static Runnable drainLog(OrderLog log) {
        return () -> {
            long start = System.nanoTime();
            if (!log.awaitStored(Deadline.after(LOG_DRAIN_TIMEOUT))) {
                throw new DependencyUnavailableException("kafka", "the order log did not write every acknowledged order"
                        + " to the store within " + LOG_DRAIN_TIMEOUT.toSeconds() + " s; the ledger cannot be rebuilt"
                        + " from the store until it does");
            }
            long took = Duration.ofNanos(System.nanoTime() - start).toMillis();
            if (took > 100) {
                LOG.info("order log drained into the store in {} ms before rebuilding the ledger", took);
            }
        };
    }

    /** Builds and starts Floodgate; returns once it is listening. */
    public static Floodgate start(Config config, Clock clock) {
        return new Floodgate(config, clock, false, true);
    }

    /**
     * Builds and starts Floodgate not ready: {@code /health/ready} answers 503 naming
     * {@code warm-up} until {@link #warmedUp()} (the caller runs a {@link WarmUp} meanwhile).
     */
    static Floodgate startCold(Config config, Clock clock) {
        return new Floodgate(config, clock, true, true);
    }

    /**
     * Builds and starts the warm-up's scratch instance ({@link WarmUp}): as {@link #start}, but its
     * order events are not published to Kafka even when its log is Kafka (they are stamped for
     * its own events endpoint only): the events publisher's transactional id would outlive the
     * scratch topic on the brokers.
     */
    static Floodgate startScratch(Config config, Clock clock) {
        return new Floodgate(config, clock, false, false);
    }

    /** The warm-up is over (done, cut short or failed): readiness goes by the dependencies alone. */
    void warmedUp() {
        warming = false;
    }

    public int port() {
        return server.port();
    }

    public Config config() {
        return config;
    }

    /** The HTTP routes this instance answers ({@link HttpApi#routes()}). */
    public List<String> routes() {
        return api.routes();
    }

    private List<String> downDependencies() {
        List<String> down = new ArrayList<>(1);
        if (warming) {
            down.add("warm-up");
        }
        if (!store.ping(Duration.ofSeconds(1))) {
            down.add("store");
        }
        if (redisLedger != null && !redisLedger.ping(Duration.ofSeconds(1))) {
            down.add("redis");
        }
        if (kafkaLog != null && !kafkaLog.ping(Duration.ofSeconds(1))) {
            down.add("kafka");
        }
        return down;
    }

    /**
     * Drains and stops; safe to call more than once and from several threads (a second SIGTERM,
     * the shutdown hook): later callers wait for the first one's drain to finish.
     */
    @Override
    public void close() {
        if (!closing.take()) {
            closing.awaitUninterruptibly();
            return;
        }
        try {
            drain();
        } finally {
            closing.complete(null);
        }
    }

    private void drain() {
        long start = System.nanoTime();
        LOG.info("draining: {} requests in flight, {} orders queued", api.inFlight(), orderLog.depth());
        reconciler.close();
        expiry.close();
        relay.close();
        server.stop();
        long deadline = start + config.http().drainTimeout().toNanos();
        while (api.inFlight() > 0 && System.nanoTime() - deadline < 0) {
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        // the log stores what it holds within the drain timeout; the rest closes last first
        if (writer != null) {
            writer.close(config.http().drainTimeout());
        } else if (kafkaLog != null) {
            kafkaLog.close(config.http().drainTimeout());
        }
        RuntimeException failure = new IllegalStateException("closing Floodgate");
        closeBuilt(failure);
        for (Throwable t : failure.getSuppressed()) {
            LOG.warn("a part failed to close", t);
        }
        LOG.info("stopped in {} ms", Duration.ofNanos(System.nanoTime() - start).toMillis());
    }
}
