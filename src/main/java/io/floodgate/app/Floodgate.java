package io.floodgate.app;

import io.floodgate.core.CatalogService;
import io.floodgate.core.OrderService;
import io.floodgate.core.Reconciler;
import io.floodgate.core.port.Lock;
import io.floodgate.core.port.OrderLog;
import io.floodgate.core.port.OrderStore;
import io.floodgate.core.port.StockLedger;
import io.floodgate.direct.GroupCommitOrderLog;
import io.floodgate.flow.Admission;
import io.floodgate.flow.Breakers;
import io.floodgate.flow.ClusterRateLimiter;
import io.floodgate.flow.ConcurrencyGate;
import io.floodgate.http.HttpApi;
import io.floodgate.jdbc.JdbcStores;
import io.floodgate.kafka.KafkaOrderLog;
import io.floodgate.kafka.KafkaOrderLogs;
import io.floodgate.memory.InMemoryStockLedger;
import io.floodgate.memory.InProcessLock;
import io.floodgate.redis.RedisLedger;
import io.floodgate.redis.RedisLedgers;
import io.floodgate.redis.RedisLocks;
import io.floodgate.observe.Metrics;
import io.helidon.webserver.WebServer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The one place that wires Floodgate: reads the {@link Config}, builds the adapters it names,
 * hands them to the core and starts the HTTP server. Nothing else names an adapter class.
 *
 * <p>{@link #close()} drains: the listener stops taking connections, requests in flight finish
 * (up to the drain timeout), the order writer flushes what it holds, and the store closes.
 */
public final class Floodgate implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(Floodgate.class);

    private final Config config;
    private final Metrics metrics;
    private final Breakers breakers;
    private final OrderStore store;
    private final StockLedger ledger;
    private final OrderLog orderLog;
    private final Admission admission;
    private final HttpApi api;
    private final WebServer server;
    private final AtomicBoolean closed = new AtomicBoolean();
    private final CountDownLatch closeDone = new CountDownLatch(1);
    /** The Redis ledger when FLOODGATE_REDIS_URL is set, for readiness; otherwise null. */
    private RedisLedger redisLedger;
    private final Lock lock;
    private final Reconciler reconciler;
    /** The Kafka order log when FLOODGATE_KAFKA_BOOTSTRAP is set, for readiness; otherwise null. */
    private KafkaOrderLog kafkaLog;
    private static final Duration LOG_DRAIN_TIMEOUT = Duration.ofSeconds(60);
    /** The cluster-wide order rate when FLOODGATE_CLUSTER_RATE is set; otherwise null. */
    private ClusterRateLimiter clusterRate;

    private Floodgate(Config config, Clock clock) {
        this.config = config;
        this.metrics = new Metrics();
        this.breakers = new Breakers(config.slowCall(), config.breakerOpen());
        OrderStore rawStore;
        if (!config.dbShards().isEmpty()) {
            rawStore = JdbcStores.sharded(config.dbShards(), config.dbUser(), config.dbPassword(), clock);
        } else if (config.dbUrl() != null) {
            rawStore = JdbcStores.connect(config.dbUrl(), config.dbUser(), config.dbPassword(), clock);
        } else {
            rawStore = JdbcStores.embedded(config.dataDir(), clock);
        }
        this.store = breakers.guardStore(rawStore);
        StockLedger builtLedger = null;
        GroupCommitOrderLog writer = null;
        KafkaOrderLog kafka = null;
        Lock builtLock = null;
        Admission builtAdmission = null;
        try {
            // the log comes before the ledger: a ledger rebuilt from the store must first see the
            // store hold every order the log acknowledged
            OrderLog builtLog;
            if (config.kafkaBootstrap() == null) {
                writer = new GroupCommitOrderLog(store, config.writerQueue(), config.writerBatch());
                builtLog = writer;
            } else {
                kafka = KafkaOrderLogs.start(kafkaSettings(config), store);
                this.kafkaLog = kafka;
                builtLog = breakers.guardLog("kafka", kafka);
            }
            Runnable drainLog = drainLog(builtLog);
            if (config.redisUrl() == null) {
                drainLog.run();
                builtLedger = InMemoryStockLedger.restoredFrom(store, clock);
                builtLock = new InProcessLock(clock);
            } else {
                RedisLedgers.Settings redisSettings = RedisLedgers.settings(config.redisUrl())
                        .namespace(config.redisNamespace()).beforeRebuild(drainLog).build();
                RedisLedger redis = RedisLedgers.connect(redisSettings, clock, store);
                builtLock = RedisLocks.connect(redisSettings);
                builtLedger = breakers.guardRedisLedger(redis, config.redisSlowCall());
                this.redisLedger = redis;
                if (config.clusterRate() > 0) {
                    clusterRate = new ClusterRateLimiter(
                            redis.rateBucket("orders", config.clusterRate(), Math.max(1, (long) config.clusterRate())),
                            config.clusterRate(), config.instances(), config.clusterRateTimeout(), breakers::redisOpen,
                            System::nanoTime);
                    registerClusterRate(clusterRate);
                }
                metrics.counter("floodgate.redis.commands", "Commands sent to Redis", () -> redis.stats().redisCommands());
                metrics.counter("floodgate.redis.sold.out.local", "Reservations answered by the local sold-out marker",
                        () -> redis.stats().soldOutLocalAnswers());
                metrics.gauge("floodgate.redis.unsettled", "Confirms, releases and cancels waiting for Redis",
                        () -> redis.stats().unsettled());
            }
            // starts at 256, within the bounds: a floor set above 256 is the start too (it was clamped to 256)
            int max = config.maxInFlight();
            int min = Math.min(config.minInFlight(), max);
            int initial = Math.clamp(256, min, max);
            // FLOODGATE_ADMISSION=off: no concurrency limit at all (for overload benchmarks: the baseline to compare with)
            ConcurrencyGate gate = config.admissionLimit()
                    ? new ConcurrencyGate(min, initial, max)
                    : ConcurrencyGate.unlimited();
            builtAdmission = new Admission(config.userRate(), config.userBurst(), config.itemRate(), config.globalRate(),
                    clusterRate, gate, breakers, config.maxTrackedUsers());
            this.ledger = builtLedger;
            this.orderLog = builtLog;
            this.admission = builtAdmission;
            registerGauges(writer, kafka);

            this.lock = builtLock;
            this.reconciler = new Reconciler(ledger, store, orderLog, lock, clock, new Reconciler.Settings(
                    config.reconcilePeriod(), config.reconcileGrace(), config.reconcileLease(), 10_000));
            registerReconciler(reconciler);

            OrderService orders = new OrderService(ledger, orderLog, store, clock);
            CatalogService catalog = new CatalogService(ledger, store);
            this.api = new HttpApi(orders, catalog, admission, this::downDependencies, metrics,
                    new HttpApi.Settings(config.adminToken(), config.userJwtSecret(), config.maxBodyBytes(),
                            config.requestTimeout(), config.maxRequestTimeout()), clock);
            this.server = WebServer.builder()
                    .host(config.host())
                    .port(config.port())
                    .maxPayloadSize(Math.max(1L << 20, config.maxBodyBytes() * 2L))
                    .shutdownGracePeriod(config.drainTimeout())
                    .shutdownHook(false)
                    .directHandlers(api.directHandlers())
                    .routing(api::routing)
                    .build()
                    .start();
            if (!server.isRunning()) {
                throw new IllegalStateException("cannot listen on " + config.host() + ":" + config.port()
                        + " (is the port in use? set FLOODGATE_PORT to another port, or 0 for any free one)");
            }
            reconciler.start();
        } catch (RuntimeException e) {
            if (writer != null) {
                writer.close();
            }
            if (kafka != null) {
                kafka.close();
            }
            if (builtAdmission != null) {
                builtAdmission.close();
            }
            if (builtLock != null) {
                builtLock.close();
            }
            if (builtLedger != null) {
                builtLedger.close();
            }
            store.close();
            metrics.close();
            throw e;
        }
    }

    /**
     * The Kafka order log's settings. Its timeouts are fitted inside the reconciler's grace
     * period: the reconciler releases a reservation older than the grace whose order is not in
     * the store, so by then nothing may still bring that order into the store. After the request's
     * deadline (at most {@code maxRequestTimeout}), the producer may still deliver the record for
     * up to its delivery timeout, and after a failed delivery the store settler may still write
     * the order for up to its retention: together they get at most five sixths of what is left of
     * the grace ({@code grace - maxRequestTimeout}, at least half the grace by {@link Config}).
     * With the defaults (grace 60 s, deadline 10 s) this is Kafka's own 10 s delivery timeout.
     */
    static KafkaOrderLogs.Settings kafkaSettings(Config config) {
        Duration left = config.reconcileGrace().minus(config.maxRequestTimeout());
        Duration linger = Duration.ofMillis(1);
        Duration delivery = min(Duration.ofSeconds(10), left.dividedBy(3));
        // Kafka's rule: delivery.timeout.ms >= request.timeout.ms + linger.ms
        Duration request = min(Duration.ofSeconds(3), delivery.minus(linger));
        return KafkaOrderLogs.settings(config.kafkaBootstrap())
                .topic(config.kafkaTopic())
                .group(config.kafkaGroup())
                .partitions(config.kafkaPartitions())
                .consumers(config.kafkaConsumers())
                .maxInFlight(config.writerQueue())
                .maxBatch(config.writerBatch())
                .linger(linger)
                .deliveryTimeout(delivery)
                .requestTimeout(request)
                .settleRetention(left.dividedBy(2))
                .build();
    }

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }

    private void registerReconciler(Reconciler r) {
        metrics.gauge("floodgate.reconciler.leader", "1 while this instance leads the reconciler", () -> r.stats().leader() ? 1 : 0);
        metrics.counter("floodgate.reconciler.passes", "Reconciler passes led by this instance", () -> r.stats().passes());
        metrics.counter("floodgate.reconciler.confirmed", "Stale reservations the reconciler confirmed (order was stored)",
                () -> r.stats().confirmed());
        metrics.counter("floodgate.reconciler.released", "Stale reservations the reconciler released (order never stored)",
                () -> r.stats().released());
        metrics.gauge("floodgate.reconciler.drifting.items", "Items whose ledger and store disagreed at the last audit",
                () -> r.stats().driftingItems());
        metrics.gauge("floodgate.reconciler.drift.units", "Units of disagreement between ledger and store at the last audit",
                () -> r.stats().driftUnits());
    }

    private void registerClusterRate(ClusterRateLimiter limiter) {
        String name = "floodgate.cluster.rate.decisions";
        String help = "Cluster-wide order rate decisions: by the shared bucket (allowed, limited) or, while it cannot"
                + " be reached, by the local fallback (fallback_allowed, fallback_limited)";
        metrics.counter(name, help, List.of("decision", "allowed"), () -> limiter.stats().allowed());
        metrics.counter(name, help, List.of("decision", "limited"), () -> limiter.stats().limited());
        metrics.counter(name, help, List.of("decision", "fallback_allowed"), () -> limiter.stats().fallbackAllowed());
        metrics.counter(name, help, List.of("decision", "fallback_limited"), () -> limiter.stats().fallbackLimited());
        metrics.counter("floodgate.cluster.rate.leases", "Round trips to the shared rate bucket that answered",
                () -> limiter.stats().leases());
    }

    /**
     * Waits (up to a minute) until the order log has stored every order it acknowledged, so that
     * a ledger rebuilt from the store counts them; throws when it cannot, so that no ledger is
     * built from a store that misses acknowledged orders.
     */
    private static Runnable drainLog(OrderLog log) {
        return () -> {
            long start = System.nanoTime();
            if (!log.awaitStored(io.floodgate.core.Deadline.after(LOG_DRAIN_TIMEOUT))) {
                throw new io.floodgate.core.DependencyUnavailableException("kafka", "the order log did not write every"
                        + " acknowledged order to the store within " + LOG_DRAIN_TIMEOUT.toSeconds() + " s; the"
                        + " ledger cannot be rebuilt from the store until it does");
            }
            long took = Duration.ofNanos(System.nanoTime() - start).toMillis();
            if (took > 100) {
                LOG.info("order log drained into the store in {} ms before rebuilding the ledger", took);
            }
        };
    }

    private void registerGauges(GroupCommitOrderLog writer, KafkaOrderLog kafka) {
        if (writer != null) {
            metrics.gauge("floodgate.writer.queue.depth", "Orders waiting for the group-commit writer", writer::depth);
            metrics.counter("floodgate.orders.persisted", "Orders written to the store", writer::persisted);
            metrics.counter("floodgate.writer.batches", "Group-commit batches written", writer::batches);
            metrics.counter("floodgate.writer.failed.batches", "Group-commit batches that failed", writer::failedBatches);
            metrics.counter("floodgate.writer.doubtful.batches", "Batches whose commit was in doubt and was settled by reading back", writer::inDoubtBatches);
        }
        if (kafka != null) {
            metrics.gauge("floodgate.writer.queue.depth", "Orders sent to Kafka and not yet acknowledged", kafka::depth);
            metrics.counter("floodgate.orders.persisted", "Orders written to the store by this instance's Kafka consumers",
                    () -> kafka.stats().stored());
            metrics.counter("floodgate.writer.batches", "Store batches written by this instance's Kafka consumers",
                    () -> kafka.stats().batches());
            metrics.counter("floodgate.kafka.acknowledged", "Orders the Kafka brokers acknowledged", () -> kafka.stats().acknowledged());
            metrics.counter("floodgate.kafka.store.retries", "Consumer store writes that failed and were retried",
                    () -> kafka.stats().storeRetries());
            metrics.counter("floodgate.kafka.dead.lettered", "Records sent to the dead-letter topic", () -> kafka.stats().deadLettered());
            metrics.counter("floodgate.kafka.settled.by.store", "Orders whose Kafka send failed and were written to the store directly",
                    () -> kafka.stats().settledByStore());
        }
        metrics.gauge("floodgate.admission.in.flight", "Requests in flight under the adaptive concurrency limit", admission::inFlight);
        metrics.gauge("floodgate.admission.limit", "The adaptive concurrency limit", admission::limit);
        breakers.states().keySet().forEach(dependency -> {
            for (var state : io.github.resilience4j.circuitbreaker.CircuitBreaker.State.values()) {
                metrics.gauge("floodgate.circuit.state", "1 when the dependency's breaker is in this state",
                        java.util.List.of("dependency", dependency, "state", state.name().toLowerCase(java.util.Locale.ROOT)),
                        () -> breakers.states().get(dependency) == state ? 1 : 0);
            }
        });
        metrics.gauge("floodgate.admission.tracked.users", "Per-user rate buckets held", admission::trackedUsers);
        for (ConcurrencyGate.Work work : ConcurrencyGate.Work.values()) {
            metrics.counter("floodgate.admissions", "Requests let through the concurrency limit, cancels counted as orders"
                            + " (an open breaker may still refuse one after; refusals: floodgate.rejections)",
                    java.util.List.of("work", work.name().toLowerCase(java.util.Locale.ROOT)), () -> admission.admitted(work));
        }
    }

    /** Builds and starts Floodgate; returns once it is listening. */
    public static Floodgate start(Config config, Clock clock) {
        return new Floodgate(config, clock);
    }

    public int port() {
        return server.port();
    }

    public Config config() {
        return config;
    }

    private List<String> downDependencies() {
        List<String> down = new ArrayList<>(1);
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
        if (!closed.compareAndSet(false, true)) {
            awaitClosed();
            return;
        }
        try {
            drain();
        } finally {
            closeDone.countDown();
        }
    }

    private void awaitClosed() {
        boolean interrupted = false;
        while (true) {
            try {
                closeDone.await();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    private void drain() {
        long start = System.nanoTime();
        LOG.info("draining: {} requests in flight, {} orders queued", api.inFlight(), orderLog.depth());
        reconciler.close();
        server.stop();
        long deadline = start + config.drainTimeout().toNanos();
        while (api.inFlight() > 0 && System.nanoTime() - deadline < 0) {
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        if (orderLog instanceof GroupCommitOrderLog writer) {
            writer.close(config.drainTimeout());
        } else if (kafkaLog != null) {
            kafkaLog.close(config.drainTimeout());
        } else {
            orderLog.close();
        }
        admission.close();
        lock.close();
        ledger.close();
        store.close();
        metrics.close();
        LOG.info("stopped in {} ms", Duration.ofNanos(System.nanoTime() - start).toMillis());
    }
}
