package io.floodgate.app;

import io.floodgate.kafka.KafkaOrderLogs;
import io.floodgate.redis.RedisLedgers;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Drives the hot paths before an instance says it is ready, so that the opening second of a sale
 * meets compiled code rather than the interpreter (issue 16: a just-started instance answered the
 * first 10 s of a sale with a p99 of 0.8 s against 32 ms once warm).
 *
 * <p>The JIT compiles methods by how often they run, whichever object they run on, so the
 * traffic does not need to reach the instance's own data: a <em>scratch</em> Floodgate is built
 * in the same JVM, driven over HTTP for the budget, closed, and everything it made is deleted. It
 * shares no object with the real instance, and its configuration is built here from a short list
 * of values of the real one ({@link #scratchConfig}), never from the environment: no database URL
 * or shard, no lock service, no namespace, topic, group or events topic, no payment or user-token
 * secret, no admin token, no port of the real instance reaches it.
 *
 * <p>What it runs on, by what the real instance runs on:
 * <ul>
 *   <li><b>Store: always the embedded one</b>, in a temporary folder. A server database would
 *   need a database or schema of the warm-up's own on the user's server, which is not ours to
 *   create. So the JDBC driver, HikariCP and the MariaDB/PostgreSQL dialect of a distributed
 *   instance stay cold (their share of an order is its writers' batch, off the request's path).</li>
 *   <li><b>Redis</b>, when the real instance uses it: the same URL (server, database, password),
 *   a namespace of its own, {@code fg-warmup-} and 32 random hex digits; the ledger, its Lua
 *   scripts over Lettuce, the lock and (when the real one has a cluster rate) the rate bucket all
 *   keep their keys in it. Afterwards every key of it is deleted ({@code SCAN MATCH} and
 *   {@code UNLINK} in pages, {@link RedisLedgers#deleteNamespace}).</li>
 *   <li><b>Kafka</b>, when the real instance uses it: the same bootstrap, an order topic and
 *   consumer group named like the namespace (and so the dead-letter topic {@code ….dlq}); the
 *   producer, its batching and the consumers that write the scratch store are warmed. Afterwards
 *   both topics and the group are deleted ({@link KafkaOrderLogs#delete}), once the consumers have
 *   closed. Order events are not published ({@link Floodgate#startScratch}): that would leave the
 *   publisher's transactional id on the brokers, and the relay is off the request's path.</li>
 * </ul>
 * The names are random (128 bits from {@link SecureRandom}): no real namespace, topic or group
 * can be one of them by accident, and what is deleted afterwards is only what the scratch
 * instance made. What it warms is then what the real instance runs per request: Helidon's HTTP/1.1
 * parsing and routing, the routes, JSON in and out, problem answers, admission, the order
 * service, idempotent replays, sold-out and per-user-limit refusals, the Redis and Kafka clients
 * of a distributed instance, and the metrics scrape.
 *
 * <p><b>Until the JIT is quiet.</b> The traffic runs until the JIT has compiled what it makes
 * hot: it stops once three quarters of two seconds' looks at the compilers' queues find nothing
 * to do but churn, a method compiled again and again ({@link #untilTheJitIsQuiet},
 * {@link JitQueue}), after {@link #MIN_TRAFFIC} at least and
 * within the budget at most. Then, once the scratch instance is closed, the warm-up waits
 * ({@link #SETTLE_LIMIT} at most) for what is still queued. A fixed time was either too short or
 * too long: on the 2-core machine the JIT went quiet after 8-14 s of the embedded mode's traffic,
 * and after 30 s of the distributed mode's (46-60 s on a machine still busy with other work).
 *
 * <p><b>Bounded and soft.</b> The budget covers the scratch instance's start and its traffic: a
 * scratch instance that has not started when the budget ends (a broker that does not answer) is
 * left to finish starting on its own thread, which then closes it and cleans up. Whatever the
 * scratch instance meets (Redis or Kafka down, a refusal), the warm-up logs one line, deletes
 * what it can ({@link #CLEANUP_LIMIT} at most for the deletions, after the scratch instance's
 * bounded close), and returns; the real instance's own readiness checks decide the rest. Its log
 * line is bounded, and names no URL password or other secret.
 *
 * <p>32 connections, one request in flight on each ({@link Connection}), in two lanes. The
 * first {@value #ORDER_LANES} carry the order mix: new orders, replays, reads of orders, a user
 * past its limit, bad bodies. The others carry what most of a sale's answers are: sold out, a
 * user past its limit, bad bodies, item reads, liveness. In distributed mode a new order runs
 * the whole pipeline (Redis, the Kafka producer and broker, the scratch instance's consumers) on
 * the same two cores while the JVM is at its coldest, tens of milliseconds each: with one mix on
 * every connection, the warm-up answered about 350 requests a second there, too few for the JIT
 * to compile the sold-out path before the sale opened (issue 16). In their own lanes the cheap
 * answers no longer wait behind the orders.
 */
final class WarmUp implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(WarmUp.class);
    private static final int IN_FLIGHT = 32;
    /** How many of the {@value #IN_FLIGHT} connections carry the order mix; the rest carry the refusal mix. */
    private static final int ORDER_LANES = 16;
    /** The least traffic before the JIT's quiet may end it: at first the JIT has not seen the hot paths yet. */
    static final Duration MIN_TRAFFIC = Duration.ofSeconds(5);
    private static final int POLL_MILLIS = 50;
    /** Two seconds of looks at the JIT's queues. */
    private static final int QUIET_WINDOW = 2000 / POLL_MILLIS;
    private static final int USERS = 4_096;
    /** What every scratch resource's name starts with. */
    static final String PREFIX = "fg-warmup-";
    /**
     * After the traffic, the longest the warm-up waits for the JIT to compile what the traffic
     * queued ({@link JitQueue}). Measured on the 2-core machine: up to 3 s after a 10 s warm-up,
     * well under 1 s after one that ran until the JIT was quiet.
     */
    static final Duration SETTLE_LIMIT = Duration.ofSeconds(5);
    /** The longest the deletions after a warm-up may take (Redis keys, Kafka topics and group). */
    static final Duration CLEANUP_LIMIT = Duration.ofSeconds(10);
    /** A message quoted in the log line is cut to this. */
    private static final int MAX_QUOTE = 200;
    private static final SecureRandom RANDOM = new SecureRandom();

    /**
     * What a warm-up did: requests answered by status (0: a broken exchange), how long it took
     * and how much of it the scratch instance's start took (null: it did not start in time), the
     * scratch resources' name, what went wrong (null: nothing), what was cleaned up, why the
     * traffic ended (the JIT quiet, the budget, a cancel), and how long the warm-up then waited
     * for the JIT to have nothing but churn left ({@link JitQueue}; null: it did not wait) and
     * whether it came to that.
     */
    record Report(long requests, Map<Integer, Long> byStatus, Duration took, Duration start, String scratchName,
                  String problem, String cleanup, String trafficEnded, Duration settle, boolean jitIdle) {
    }

    private final Duration budget;
    private final Config real;
    private final Supplier<JitQueue> jitSource;
    /** The JIT watched, from {@link #jitSource} when {@link #run} starts. */
    private JitQueue jit;
    /** The scratch resources' name: the namespace, the topic and the group. */
    private final String name = PREFIX + HexFormat.of().formatHex(randomBytes());
    private final CountDownLatch finished = new CountDownLatch(1);
    private volatile boolean started;
    private volatile boolean cancelled;
    /** Set when the JIT has gone quiet under the traffic: the lanes stop. */
    private volatile boolean enough;
    /** Why the traffic ended, for the report. */
    private String trafficEnded = "it did not run";

    /** A warm-up of the embedded paths only (no Redis, no Kafka). */
    WarmUp(Duration budget) {
        this(budget, null);
    }

    /**
     * A warm-up for {@code real}: on its Redis and Kafka, when it has them.
     *
     * @param real the real instance's configuration; null for the embedded paths only
     */
    WarmUp(Duration budget, Config real) {
        this(budget, real, JitQueue::platform);
    }

    /**
     * As {@link #WarmUp(Duration, Config)}, watching the JIT that {@code jit} gives (when the
     * warm-up runs: reading HotSpot's queues starts the platform MBean server, which an instance
     * that does not warm up need not pay for) for when the traffic has done its work.
     */
    WarmUp(Duration budget, Config real, Supplier<JitQueue> jit) {
        this.budget = budget;
        this.real = real;
        this.jitSource = jit;
    }

    /** The name of its scratch namespace, topic and group ({@value #PREFIX} and 32 random hex digits). */
    String scratchName() {
        return name;
    }

    /** Stops a warm-up in progress (a drain that comes first): it returns within a request timeout. */
    void cancel() {
        cancelled = true;
    }

    @Override
    public void close() {
        cancel();
    }

    /**
     * Waits until a warm-up that ran has cleaned up after itself (also one whose scratch instance
     * finished starting after the budget), at most {@code timeout}; at once when none ran.
     *
     * @return whether it has
     */
    boolean awaitCleanedUp(Duration timeout) throws InterruptedException {
        return !started || finished.await(timeout.toNanos(), TimeUnit.NANOSECONDS);
    }

    /**
     * The scratch instance's configuration: the values below and nothing else. From the real
     * configuration it takes only where Redis and Kafka are (URL, bootstrap), whether a cluster
     * rate is used, and how many partitions and consumers (capped at 4).
     */
    static Config scratchConfig(Config real, String name, Path dir, String adminToken) {
        if (!name.startsWith(PREFIX)) {
            throw new IllegalArgumentException("a scratch name starts with " + PREFIX + ", was " + name);
        }
        Map<String, String> env = new HashMap<>();
        env.put("FLOODGATE_HOST", "127.0.0.1");
        env.put("FLOODGATE_PORT", "0");
        env.put("FLOODGATE_DATA_DIR", dir.toString());
        env.put("FLOODGATE_ADMIN_TOKEN", adminToken);
        env.put("FLOODGATE_USER_RATE", "1000000");
        env.put("FLOODGATE_USER_BURST", "1000000");
        env.put("FLOODGATE_REQUEST_TIMEOUT_MS", "10000"); // a cold JVM on a busy machine: no 504 for slowness
        env.put("FLOODGATE_RECONCILE_PERIOD_MS", "3600000");
        env.put("FLOODGATE_DRAIN_TIMEOUT_MS", "2000");
        env.put("FLOODGATE_WARMUP_SECONDS", "0");
        if (real != null && real.redis() != null) {
            if (real.redis().namespace().equals(name) || real.redis().namespace().startsWith(name + ":")) {
                throw new IllegalArgumentException("the scratch namespace would share the real one's keys");
            }
            env.put("FLOODGATE_REDIS_URL", real.redis().url());
            env.put("FLOODGATE_REDIS_NAMESPACE", name);
            if (real.admission().clusterRate() > 0) {
                env.put("FLOODGATE_CLUSTER_RATE", "1000000000"); // its path warmed, its bucket never empty
            }
        }
        if (real != null && real.kafka() != null) {
            if (real.kafka().topic().equals(name) || real.kafka().group().equals(name)) {
                throw new IllegalArgumentException("the scratch topic or group would be the real one");
            }
            int partitions = Math.min(real.kafka().partitions(), 4);
            env.put("FLOODGATE_KAFKA_BOOTSTRAP", real.kafka().bootstrap());
            env.put("FLOODGATE_KAFKA_TOPIC", name);
            env.put("FLOODGATE_KAFKA_GROUP", name);
            env.put("FLOODGATE_KAFKA_PARTITIONS", Integer.toString(partitions));
            env.put("FLOODGATE_KAFKA_CONSUMERS", Integer.toString(Math.min(real.kafka().consumers(), partitions)));
            // never created (the scratch instance publishes no events), named so nothing falls back to the default
            env.put("FLOODGATE_EVENTS_TOPIC", name + ".events");
        }
        return Config.fromEnv(env);
    }

    /**
     * Runs the warm-up for its budget (or until cancelled) and cleans up; never throws for what
     * the scratch instance or its traffic met: that is in the report and the log line.
     */
    Report run() throws InterruptedException {
        started = true;
        if (cancelled) {
            // A drain came before it began. With the volatile writes and reads of started and
            // cancelled, either the drain saw started (and waits for finished) or this sees the
            // cancel: no scratch instance is made that nobody waits to clean up.
            finished.countDown();
            return new Report(0, Map.of(), Duration.ZERO, null, name, "cancelled before it began", "nothing",
                    "it did not run", null, false);
        }
        jit = jitSource.get();
        long begin = System.nanoTime();
        long until = begin + budget.toNanos();
        ConcurrentMap<Integer, Long> byStatus = new ConcurrentHashMap<>();
        LongAdder requests = new LongAdder();
        Scratch scratch = null;
        CompletableFuture<Floodgate> starting = new CompletableFuture<>();
        String problem = null;
        boolean handedOver = false;
        boolean interrupted = false;
        Duration startTook = null;
        Report report;
        try {
            scratch = new Scratch(name, Files.createTempDirectory("floodgate-warmup-"));
            Config config = scratchConfig(real, name, scratch.dir, HexFormat.of().formatHex(randomBytes()));
            scratch.config = config;
            Thread.ofVirtual().name("floodgate-warm-up-start").start(() -> {
                try {
                    starting.complete(Floodgate.startScratch(config, Clock.systemUTC()));
                } catch (Throwable t) {
                    starting.completeExceptionally(t);
                }
            });
            Floodgate fg = awaitStart(starting, until);
            if (fg == null) {
                problem = cancelled ? "cancelled while the scratch instance started"
                        : "the scratch instance did not start within the budget; it is closed and cleaned up once it has";
                handedOver = handOver(starting, scratch);
            } else {
                scratch.instance = fg;
                startTook = Duration.ofNanos(System.nanoTime() - begin);
                drive(fg, config.http().adminToken(), until, requests, byStatus);
            }
        } catch (ExecutionException e) {
            problem = "the scratch instance did not start: " + quote(e.getCause());
        } catch (InterruptedException e) {
            handedOver = handOver(starting, scratch);
            interrupted = true;
            throw e;
        } catch (IOException | RuntimeException e) {
            problem = quote(e);
        } finally {
            String cleanup = "left to the scratch instance's start";
            if (!handedOver) {
                cleanup = scratch == null ? "nothing" : scratch.cleanUp();
                finished.countDown();
            }
            Duration took = Duration.ofNanos(System.nanoTime() - begin);
            Duration settle = null;
            boolean jitIdle = false;
            if (requests.sum() > 0 && !cancelled && !interrupted) {
                long settling = System.nanoTime();
                try {
                    jitIdle = jit.awaitIdle(SETTLE_LIMIT, () -> cancelled);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt(); // the caller sees it at its next wait
                }
                settle = Duration.ofNanos(System.nanoTime() - settling);
            }
            report = new Report(requests.sum(), Map.copyOf(byStatus), took, startTook, name, problem, cleanup,
                    trafficEnded, settle, jitIdle);
            logReport(report, scratch);
            jit = null; // its count of compilations is of no use now, and serve's shutdown hook keeps this object

        }
        return report;
    }

    /**
     * Leaves the scratch instance's cleanup to the thread that starts it: it closes the instance
     * (if it starts at all) and deletes what it made, whenever its start ends.
     *
     * @return true (it is handed over); false when there is nothing to hand over
     */
    private boolean handOver(CompletableFuture<Floodgate> starting, Scratch scratch) {
        if (scratch == null) {
            return false;
        }
        starting.whenComplete((startedLate, failure) -> {
            if (startedLate != null) {
                startedLate.close();
            }
            LOG.info("warm-up: the scratch instance {} ended its start after the warm-up; cleaned up: {}", scratch.name,
                    scratch.cleanUp());
            finished.countDown();
        });
        return true;
    }

    private void logReport(Report report, Scratch scratch) {
        LOG.atLevel(report.problem() == null ? org.slf4j.event.Level.INFO : org.slf4j.event.Level.WARN).log(
                "warm-up: {} requests in {} ms against a scratch instance ({}; up after {}) (answers by status: {}){}{};"
                        + " traffic ended: {}; cleaned up: {}; {}",
                report.requests(), report.took().toMillis(), scratch == null ? "none" : scratch.describe(),
                report.start() == null ? "-" : report.start().toMillis() + " ms",
                report.byStatus(), cancelled ? ", cut short" : "", report.problem() == null ? "" : "; " + report.problem(),
                report.trafficEnded(), report.cleanup(), report.settle() == null ? "no wait for the JIT"
                        : (report.jitIdle() ? "the JIT idle after " : "the JIT still busy after ")
                        + report.settle().toMillis() + " ms");
    }

    /**
     * The scratch instance once it has started, or null when the budget ended or the warm-up was
     * cancelled first.
     */
    private Floodgate awaitStart(CompletableFuture<Floodgate> starting, long until)
            throws ExecutionException, InterruptedException {
        while (!cancelled) {
            long left = until - System.nanoTime();
            if (left <= 0) {
                break;
            }
            try {
                return starting.get(Math.min(left, TimeUnit.MILLISECONDS.toNanos(50)), TimeUnit.NANOSECONDS);
            } catch (TimeoutException e) {
                // not yet: look at the budget and the cancel again
            }
        }
        return starting.isDone() && !starting.isCompletedExceptionally() ? starting.join() : null;
    }

    /** The traffic, on {@value #IN_FLIGHT} connections, until {@code until} or a cancel. */
    private void drive(Floodgate fg, String admin, long until, LongAdder requests, ConcurrentMap<Integer, Long> byStatus)
            throws IOException {
        try (ExecutorService workers = Executors.newVirtualThreadPerTaskExecutor()) {
            Traffic traffic = new Traffic(fg.port(), admin, fg.config().kafka() != null);
            traffic.defineItems();
            AtomicLong orders = new AtomicLong();
            AtomicLong refusals = new AtomicLong();
            for (int w = 0; w < IN_FLIGHT; w++) {
                boolean orderLane = w < ORDER_LANES;
                workers.submit(() -> {
                    Connection c = null;
                    try {
                        while (!cancelled && !enough && System.nanoTime() - until < 0) {
                            int status;
                            try {
                                if (c == null) {
                                    c = new Connection(fg.port());
                                }
                                status = orderLane ? traffic.order(c, orders.getAndIncrement())
                                        : traffic.refusal(c, refusals.getAndIncrement());
                            } catch (IOException e) {
                                status = 0; // a closed connection (a 400 may close it): a new one
                                if (c != null) {
                                    c.close();
                                }
                                c = null;
                            }
                            requests.increment();
                            byStatus.merge(status, 1L, Long::sum);
                        }
                    } finally {
                        if (c != null) {
                            c.close();
                        }
                    }
                    return null;
                });
            }
            trafficEnded = untilTheJitIsQuiet(until, requests);
        }
    }

    /**
     * Watches the JIT while the lanes run, and stops them once it has gone quiet: after
     * {@link #MIN_TRAFFIC}, when at least three quarters of the last two seconds' looks at its
     * queues ({@link JitQueue}, every 50 ms) found nothing compiling and nothing queued but churn (half of
     * one second, tried first, ended an embedded warm-up after 5.5 s, in a lull). Until then the
     * traffic is still making the JIT compile what a sale will run; after, more of it would only
     * delay ready. Measured on the 2-core machine (docs/BENCHMARKS.md), the JIT went quiet after
     * 8-14 s of the embedded mode's traffic and after 30-60 s of the distributed mode's, whose
     * Redis, Kafka and Netty clients give it several times the code to compile.
     *
     * @return why the traffic ended: the JIT quiet, the budget, or a cancel
     */
    private String untilTheJitIsQuiet(long until, LongAdder requests) {
        long begin = System.nanoTime();
        boolean[] window = new boolean[QUIET_WINDOW];
        int polls = 0;
        int idle = 0;
        long lastRequests = 0;
        while (!cancelled && System.nanoTime() - until < 0) {
            try {
                TimeUnit.MILLISECONDS.sleep(POLL_MILLIS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                enough = true;
                return "interrupted";
            }
            int slot = polls++ % QUIET_WINDOW;
            idle -= window[slot] ? 1 : 0;
            window[slot] = jit.idleNow();
            idle += window[slot] ? 1 : 0;
            if (polls % QUIET_WINDOW == 0 && LOG.isDebugEnabled()) {
                long now = requests.sum();
                String lastWork = jit.lastWork();
                LOG.debug("warm-up: {} requests in the last two seconds; the JIT idle at {} of {} looks{}", now - lastRequests,
                        idle, QUIET_WINDOW, lastWork.isEmpty() ? "" : " (last at work on " + lastWork + ")");
                lastRequests = now;
            }
            long ran = System.nanoTime() - begin;
            if (ran >= MIN_TRAFFIC.toNanos() && polls >= QUIET_WINDOW && 4 * idle >= 3 * QUIET_WINDOW) {
                enough = true;
                List<String> churning = jit.churning();
                return "the JIT quiet after " + TimeUnit.NANOSECONDS.toMillis(ran) + " ms of traffic"
                        + (churning.isEmpty() ? "" : " (passing over what it compiled again and again: "
                        + String.join(", ", churning) + ")");
            }
        }
        return cancelled ? "cancelled" : "the budget";
    }

    /**
     * What the scratch instance is made of, and its cleanup: close the instance (if it started),
     * delete its Redis keys, its Kafka topics and group, and its folder.
     */
    private final class Scratch {
        private final String name;
        private final Path dir;
        private volatile Config config;
        private volatile Floodgate instance;

        Scratch(String name, Path dir) {
            this.name = name;
            this.dir = dir;
        }

        String describe() {
            Config c = config;
            List<String> parts = new ArrayList<>(3);
            parts.add("embedded store");
            if (c != null && c.redis() != null) {
                parts.add("Redis namespace " + name);
            }
            if (c != null && c.kafka() != null) {
                parts.add("Kafka topic and group " + name);
            }
            return String.join(", ", parts);
        }

        /** Closes and deletes everything; says what went and what did not. Bounded; never throws. */
        String cleanUp() {
            List<String> done = new ArrayList<>(4);
            Floodgate fg = instance;
            instance = null;
            if (fg != null) {
                try {
                    fg.close();
                } catch (RuntimeException e) {
                    done.add("closing the scratch instance failed: " + quote(e));
                }
            }
            long deadline = System.nanoTime() + CLEANUP_LIMIT.toNanos();
            Config c = config;
            if (c != null && c.redis() != null) {
                try {
                    RedisLedgers.Swept swept = RedisLedgers.deleteNamespace(
                            RedisLedgers.settings(c.redis().url()).namespace(name).build(), left(deadline));
                    done.add(swept.deleted() + " Redis keys" + (swept.complete() ? "" : " (stopped at the time limit:"
                            + " some are left, namespace " + name + ")"));
                } catch (RuntimeException e) {
                    done.add("Redis keys of namespace " + name + " not deleted: " + quote(e));
                }
            }
            if (c != null && c.kafka() != null) {
                try {
                    KafkaOrderLogs.Deleted deleted = KafkaOrderLogs.delete(Floodgate.kafkaSettings(c), left(deadline));
                    done.add("Kafka topics " + deleted.topics() + (deleted.group() ? " and group " + name : ""));
                    if (!deleted.problems().isEmpty()) {
                        done.add("left on Kafka: " + quote(String.join(", ", deleted.problems())));
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    done.add("Kafka topics and group " + name + " not deleted: interrupted");
                } catch (RuntimeException e) {
                    done.add("Kafka topics and group " + name + " not deleted: " + quote(e));
                }
            }
            deleteTree(dir);
            done.add("its folder");
            return String.join("; ", done);
        }

        /** What is left of the deadline, and at least a second: each dependency gets a fair try. */
        private static Duration left(long deadline) {
            long nanos = deadline - System.nanoTime();
            return Duration.ofNanos(Math.max(nanos, TimeUnit.SECONDS.toNanos(1)));
        }
    }

    /**
     * A failure as one bounded line for the log: no URL password, no secret of the real
     * configuration, no line breaks, at most {@value #MAX_QUOTE} characters.
     */
    private String quote(Object failure) {
        String text = String.valueOf(failure instanceof Throwable t && t.getMessage() != null ? t.getMessage() : failure);
        text = Config.withoutPassword(text);
        for (String secret : secrets()) {
            text = text.replace(secret, "***");
        }
        text = text.replaceAll("\\p{Cntrl}+", " ");
        return text.length() <= MAX_QUOTE ? text : text.substring(0, MAX_QUOTE) + "…";
    }

    /** The real configuration's secrets that a failure's message could quote. */
    private List<String> secrets() {
        List<String> secrets = new ArrayList<>();
        if (real == null) {
            return secrets;
        }
        if (real.redis() != null) {
            for (Pattern p : Config.URL_PASSWORDS) {
                Matcher m = p.matcher(real.redis().url());
                while (m.find()) {
                    if (!m.group(2).isEmpty()) {
                        secrets.add(m.group(2));
                    }
                }
            }
        }
        if (real.store().dbPassword() != null && !real.store().dbPassword().isEmpty()) {
            secrets.add(real.store().dbPassword());
        }
        secrets.addAll(real.payments().secrets());
        if (real.http().userJwtSecret() != null) {
            secrets.add(real.http().userJwtSecret());
        }
        secrets.add(real.http().adminToken());
        return secrets;
    }

    private static byte[] randomBytes() {
        byte[] bytes = new byte[16];
        RANDOM.nextBytes(bytes);
        return bytes;
    }

    /**
     * The two mixes, by request number. The order lanes: mostly new orders of a big item (201,
     * 202), then replays of an earlier key (200), orders of a sold-out item (409), a user past its
     * limit (409), bad bodies (400), reads of an order and an item, liveness, and now and then the
     * metrics and the readiness. The refusal lanes: half orders of a sold-out item (409, from
     * the sold-out marker after the first), three tenths a user past its limit (409, from the
     * ledger: a Redis round trip in distributed mode, whose client the JIT must compile too), then
     * bad bodies (400), liveness and item reads.
     *
     * <p>With a log that answers before the store has the order ({@code logAhead}: Kafka), a read
     * of an order the store does not have yet (a replay of a recent key, an unknown id) waits until
     * the writers have stored everything acknowledged so far, polling the brokers for offsets: a
     * first try with the mix above spent the budget there (about 100 requests in 3 s). With it,
     * replays are of older keys and, like the reads of unknown orders, one tenth as frequent.
     */
    private record Traffic(int port, String admin, boolean logAhead) {

        void defineItems() throws IOException {
            try (Connection c = new Connection(port)) {
                put(c, "warm", "{\"name\":\"warm-up\",\"stock\":1000000000,\"perUserLimit\":1000000}");
                put(c, "gone", "{\"name\":\"warm-up, sold out\",\"stock\":0,\"perUserLimit\":1}");
                put(c, "one", "{\"name\":\"warm-up, one each\",\"stock\":1000000000,\"perUserLimit\":1}");
            }
        }

        private void put(Connection c, String sku, String body) throws IOException {
            int status = c.exchange("PUT", "/api/v1/items/" + sku, "Authorization: Bearer " + admin + "\r\n", body);
            if (status / 100 != 2) {
                throw new IllegalStateException("warm-up: the scratch instance refused item " + sku + ": " + status);
            }
        }

        /** Sends request {@code n} of the order mix on {@code c}; its status. */
        int order(Connection c, long n) throws IOException {
            String user = "w" + (n % USERS);
            int kind = (int) (n % 20);
            if (logAhead && (kind == 0 || kind == 1 || kind == 6) && (n / 20) % 10 != 0) {
                kind = 8; // see below: a new order instead, nine times in ten
            }
            // a new order of the default case, sent a while ago (with the log ahead, long enough
            // ago for its writers to have stored it, mostly)
            long earlier = n - (logAhead ? 64 : 4) * ORDER_LANES;
            return switch (kind) {
                case 0, 1 -> order(c, "warm", "w" + Math.floorMod(earlier, USERS), "r" + earlier); // its replay
                case 2 -> order(c, "gone", user, "k" + n);
                case 3 -> order(c, "one", "w0", "k" + n); // past its limit after the first
                case 4 -> badOrder(c, user, "k" + n);
                case 5 -> c.exchange("GET", "/api/v1/items/warm", "", null);
                case 6 -> c.exchange("GET", "/api/v1/orders/00000000-0000-7000-8000-"
                        + String.format("%012d", n % 1_000_000), "", null);
                // readiness rarely: with Redis and Kafka each one pings them (an admin request to the brokers)
                case 7 -> c.exchange("GET", n % 200 == 7 ? "/metrics" : n % 1000 == 27 ? "/health/ready"
                        : "/health/live", "", null);
                default -> order(c, "warm", user, "r" + n);
            };
        }

        /** Sends request {@code n} of the refusal mix on {@code c}; its status. */
        int refusal(Connection c, long n) throws IOException {
            String user = "u" + (n % USERS);
            return switch ((int) (n % 10)) {
                // past its limit, from the ledger (Redis, when it is there): the order lanes' "k" keys are apart
                case 0, 1, 2 -> order(c, "one", "w0", "s" + n);
                case 3 -> badOrder(c, user, "s" + n);
                case 4 -> c.exchange("GET", n % 20 == 4 ? "/api/v1/items/gone" : "/health/live", "", null);
                default -> order(c, "gone", user, "s" + n);
            };
        }

        private static int badOrder(Connection c, String user, String key) throws IOException {
            return c.exchange("POST", "/api/v1/orders", "Idempotency-Key: " + key + "\r\n",
                    "{\"userId\":\"" + user + "\",\"sku\":\"warm\",\"quantity\":0}");
        }

        private static int order(Connection c, String sku, String user, String key) throws IOException {
            return c.exchange("POST", "/api/v1/orders", "Idempotency-Key: " + key + "\r\n",
                    "{\"userId\":\"" + user + "\",\"sku\":\"" + sku + "\",\"quantity\":1}");
        }
    }

    /**
     * One keep-alive HTTP/1.1 connection to the scratch instance, one request at a time. Written
     * here rather than taken from the JDK's {@code HttpClient}: the warm-up is there to load the
     * server, and on this machine the JDK client costs about six times the CPU per request of a
     * plain blocking socket (measured for the load generator, docs/BENCH-GENERATOR.md); a first
     * try with it drove 1,400 requests a second, against about 30,000 the server answers cold.
     * It reads only what the scratch instance sends: a status line, headers with a
     * {@code Content-Length}, the body.
     */
    private static final class Connection implements AutoCloseable {
        private final Socket socket;
        private final OutputStream out;
        private final InputStream in;

        Connection(int port) throws IOException {
            socket = new Socket(InetAddress.getLoopbackAddress(), port);
            socket.setSoTimeout(5_000);
            socket.setTcpNoDelay(true);
            out = new BufferedOutputStream(socket.getOutputStream(), 1024);
            in = new BufferedInputStream(socket.getInputStream(), 8192);
        }

        /** Sends a request ({@code headers} each ending in CRLF; {@code body} JSON or null); its status. */
        int exchange(String method, String path, String headers, String body) throws IOException {
            byte[] content = body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8);
            String head = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + headers
                    + (body == null ? "" : "Content-Type: application/json\r\n")
                    + "Content-Length: " + content.length + "\r\n\r\n";
            out.write(head.getBytes(StandardCharsets.US_ASCII));
            out.write(content);
            out.flush();
            String status = line();
            if (status.length() < 12 || !status.startsWith("HTTP/1.1 ")) {
                throw new IOException("not an HTTP/1.1 answer: " + status);
            }
            long length = -1;
            for (String header = line(); !header.isEmpty(); header = line()) {
                if (header.regionMatches(true, 0, "Content-Length:", 0, 15)) {
                    length = Long.parseLong(header.substring(15).strip());
                }
            }
            if (length < 0) {
                throw new IOException("an answer without Content-Length");
            }
            in.skipNBytes(length);
            return Integer.parseInt(status, 9, 12, 10);
        }

        private String line() throws IOException {
            StringBuilder line = new StringBuilder(64);
            for (int b = in.read(); b != '\n'; b = in.read()) {
                if (b < 0) {
                    throw new EOFException("the connection closed");
                }
                if (b != '\r') {
                    line.append((char) b);
                }
            }
            return line.toString();
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }

    private static void deleteTree(Path dir) {
        try {
            Files.walkFileTree(dir, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                    Files.delete(file);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
                    Files.delete(d);
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException e) {
            LOG.warn("warm-up: could not delete its scratch folder {}: {}", dir, e.getMessage());
        }
    }
}
