package io.floodgate.nemesis;

import io.floodgate.testing.Api;
import io.floodgate.testing.TestFloodgate;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * One nemesis run, start to verdict: the {@link Cluster} up, a seeded sale planned and created, the
 * {@link Workload} ordering while the {@link Nemesis} breaks things for the fault phase; then every
 * fault healed, a bounded wait for the system to settle (every instance ready, the order topic's
 * backlog drained, nothing pending in the ledger, store and ledger adding up to the stock, the
 * reconciler's last audit agreeing), the keys left in doubt sent again, another settle, and the
 * {@link Checker} on the history and the store and ledger as they are then.
 *
 * <p>Everything lands in {@code target/nemesis/<seed>/}: {@code history.jsonl} and
 * {@code summary.txt} (the table, the violations with the history lines behind them, the logs of
 * the instances). Every process and database of the run is gone when it returns, also on failure.
 */
final class NemesisRun {

    static final int NODES = 3;
    static final int CLIENTS = 32;
    /** The request budget of every order call (no Request-Timeout header is sent). */
    static final long DEADLINE_MS = 1_500;
    /**
     * How much later than its deadline an answer may come before it counts as late: a 2-core
     * machine runs three instances, a broker, a database, five Redis processes and the clients
     * (and other people's builds), and restarted instances run cold; a hang on a dead dependency
     * (a 10 s delivery timeout, a 30 s pool wait) is far beyond it.
     */
    static final long SLACK_MS = 5_000;
    /** The clients give up on a call after this long (it then counts as late and in doubt). */
    static final Duration CLIENT_TIMEOUT = Duration.ofSeconds(10);
    /** How long an unsettled state may stay exactly the same before the wait for settling gives up. */
    private static final Duration STUCK = Duration.ofSeconds(20);
    /** A new hot item opens this often; each opens with small stock, so that it sells out under faults. */
    private static final long HOT_EVERY_MS = 30_000;

    /** The service's settings for the run: short timeouts and a reconciler that acts within seconds. */
    static final Map<String, String> SETTINGS = Map.of(
            "FLOODGATE_REQUEST_TIMEOUT_MS", Long.toString(DEADLINE_MS),
            "FLOODGATE_MAX_REQUEST_TIMEOUT_MS", "2000",
            "FLOODGATE_RECONCILE_PERIOD_MS", "1000",
            "FLOODGATE_RECONCILE_GRACE_MS", "5000",
            "FLOODGATE_RECONCILE_LEASE_MS", "3000",
            "FLOODGATE_BREAKER_OPEN_MS", "500",
            // the store's breaker counts wall time, which on 2 busy cores is mostly waiting for a CPU
            "FLOODGATE_SLOW_CALL_MS", "2000",
            // The backlog bound (issue 10), small so that a store outage of the short form passes it.
            "FLOODGATE_MAX_BACKLOG_ORDERS", "400",
            "FLOODGATE_MAX_BACKLOG_SECONDS", "8");

    record Result(Checker.Report report, Path dir, String summary) {
    }

    private NemesisRun() {
    }

    static Path dir(long seed) {
        return Path.of("target", "nemesis", Long.toString(seed));
    }

    static Result run(long seed, Duration faultPhase, boolean shortForm, List<FaultKind> kinds)
            throws InterruptedException {
        String tag = Long.toString(Math.abs(seed % 2_176_782_336L), 36); // up to six characters
        Path dir = dir(seed);
        TestFloodgate.deleteRecursively(dir);
        long started = System.nanoTime();
        String replay = "-Dnemesis.seed=" + seed + (shortForm ? "" : " -Dnemesis.minutes=" + faultPhase.toSeconds() / 60.0)
                + (kinds.size() == FaultKind.values().length ? "" : " -Dnemesis.kinds="
                + String.join(",", kinds.stream().map(Enum::name).toList()));
        System.out.println("nemesis: seed " + seed + " (replay: " + replay + "), fault phase " + faultPhase.toSeconds()
                + " s, " + (shortForm ? "short" : "long") + " form; history in " + dir.toAbsolutePath());
        List<String> harness = new ArrayList<>();
        List<String> crashes = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        Checker.Report report;
        List<Path> logs;
        try (History history = History.create(dir.resolve("history.jsonl"));
             Cluster cluster = Cluster.start(dir, tag, SETTINGS, NODES, CLIENT_TIMEOUT)) {
            Thread reaper = new Thread(cluster::close, "nemesis-reaper"); // a killed test JVM leaves nothing behind
            Runtime.getRuntime().addShutdownHook(reaper);
            try {
                System.out.println("nemesis: cluster up in " + secondsSince(started) + " s");
                warmUp(cluster, tag);
                List<History.Item> items = plan(new Random(seed), tag, faultPhase.toMillis(), history.now());
                createItems(cluster, items, history.now());
                Map<String, String> settings = new LinkedHashMap<>(SETTINGS);
                settings.put("nemesis.kinds", String.join(",", kinds.stream().map(Enum::name).toList()));
                history.run(new History.Run(seed, DEADLINE_MS, SLACK_MS, NODES, items, settings));

                Workload workload = new Workload(cluster.nodes, items, history, seed, tag);
                workload.start(CLIENTS);
                Thread sampler = Thread.ofVirtual().name("nemesis-backlog-sampler").start(() -> sample(cluster, history));
                Nemesis nemesis = new Nemesis(cluster, history, new Schedule(seed, shortForm, NODES, kinds),
                        shortForm ? 3 : 4);
                int faults = nemesis.run(history.now() + faultPhase.toMillis());
                history.mark("faults over: " + faults + " started");
                if (!shortForm && faults < faultPhase.toSeconds() / 6) {
                    harness.add("only " + faults + " faults in " + faultPhase.toSeconds() + " s: fewer than the 10 a minute"
                            + " the long form promises (faults took longer to heal than planned; see the fault lines)");
                }
                workload.stop();
                sampler.interrupt();
                sampler.join(Duration.ofSeconds(30));
                history.mark("clients stopped");
                harness.addAll(nemesis.problems);
                crashes.addAll(nemesis.crashes);

                for (Cluster.Node n : cluster.nodes) {
                    if (!n.process.isAlive()) {
                        crashes.add("instance " + n.index + " was found dead at the end (exit " + n.process.awaitExit(
                                Duration.ofSeconds(1)) + ") though no fault was running: " + n.process.logFile());
                    }
                }
                cluster.healAll();
                long healedAt = Cluster.epochMillis();
                history.mark("healed");
                Duration settleBound = shortForm ? Duration.ofSeconds(90) : Duration.ofMinutes(3);
                notes.add(settle(cluster, items, healedAt, settleBound, history, "after the faults"));
                int doubt = workload.inDoubtKeys();
                workload.probeInDoubt(Duration.ofSeconds(90));
                history.mark("probed " + doubt + " keys left in doubt");
                notes.add(settle(cluster, items, healedAt, settleBound, history, "after the probe"));

                List<Cluster.StoredOrder> store = cluster.storeOrders(items);
                Map<String, Cluster.Ledger> ledger = new LinkedHashMap<>();
                items.forEach(i -> ledger.put(i.sku(), cluster.ledger(i.sku())));
                history.mark("checked");
                history.close();
                report = Checker.check(History.read(history.file()), store, ledger, harness, crashes);
                logs = cluster.logs();
            } finally {
                Runtime.getRuntime().removeShutdownHook(reaper);
            }
        }
        String summary = summary(seed, replay, shortForm, faultPhase, started, report, notes, logs, dir);
        try {
            Files.writeString(dir.resolve("summary.txt"), summary);
            Files.writeString(dir.resolve("violations.txt"), report.everyViolation());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        System.out.println(summary);
        return new Result(report, dir, summary);
    }

    /**
     * The sale: three cold items on sale throughout (large stock, limit 2-3) and a hot item opening
     * every {@value #HOT_EVERY_MS} ms from the start (stock 150-600, limit 1-3), so that there is
     * always an item selling out while the faults go on.
     */
    static List<History.Item> plan(Random rnd, String tag, long phaseMs, long nowMs) {
        List<History.Item> items = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            items.add(new History.Item(tag + "-cold" + i, 2_000 + rnd.nextInt(4_001), 2 + rnd.nextInt(2), nowMs, false));
        }
        for (int i = 0; i * HOT_EVERY_MS < phaseMs + HOT_EVERY_MS; i++) {
            items.add(new History.Item(tag + "-hot" + i, 150 + rnd.nextInt(451), 1 + rnd.nextInt(3),
                    nowMs + i * HOT_EVERY_MS, true));
        }
        return items;
    }

    private static void createItems(Cluster cluster, List<History.Item> items, long nowMs) {
        Api api = cluster.nodes.getFirst().api;
        Instant now = Instant.now();
        for (History.Item item : items) {
            String json = "{\"name\":\"" + item.sku() + "\",\"stock\":" + item.stock() + ",\"perUserLimit\":"
                    + item.perUserLimit() + ",\"startsAt\":\"" + now.plusMillis(item.opensAtMs() - nowMs) + "\"}";
            Api.Response r = api.putItem(item.sku(), json);
            if (r.status() != 201) {
                throw new IllegalStateException("creating " + item + " answered " + r);
            }
        }
    }

    /**
     * Class loading, the JIT, pools, the Kafka producer and consumers, the Redis scripts: warmed
     * on an item of their own (left out of every check), so that the first seconds of the run on
     * fresh JVMs are not a stall no deadline can cover.
     */
    private static void warmUp(Cluster cluster, String tag) {
        String sku = tag + "-warm";
        Api.Response r = cluster.nodes.getFirst().api.putItem(sku, "Warm-up", 1_000_000, 1);
        if (r.status() != 201) {
            throw new IllegalStateException("creating the warm-up item answered " + r);
        }
        Semaphore permits = new Semaphore(16);
        try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int n = 0; n < 150 * NODES; n++) {
                int k = n;
                threads.submit(() -> {
                    permits.acquireUninterruptibly();
                    try {
                        cluster.nodes.get(k % NODES).api.order(sku + "-k" + k, "warm-" + k, sku, 1);
                    } catch (RuntimeException e) {
                        // warming only
                    } finally {
                        permits.release();
                    }
                });
            }
        }
    }

    /** Records the order topic's offsets once a second until interrupted (for the backlog bound check). */
    private static void sample(Cluster cluster, History history) {
        try (var admin = cluster.admin()) {
            while (!Thread.currentThread().isInterrupted()) {
                long t = history.now();
                long[][] offsets = cluster.offsets(admin);
                if (offsets != null) {
                    history.gauge(new History.Gauge(t, offsets[0], offsets[1]));
                }
                Thread.sleep(Math.max(0, 1_000 - (history.now() - t)));
            }
        } catch (InterruptedException e) {
            // stopped
        }
    }

    /** Waits (bounded) until nothing moves any more; returns a note saying how that went. */
    private static String settle(Cluster cluster, List<History.Item> items, long healedAt, Duration atMost,
                                 History history, String when) {
        long start = System.nanoTime();
        String last = "not polled";
        long sameSince = System.nanoTime();
        while (System.nanoTime() - start < atMost.toNanos()) {
            String now;
            try {
                now = cluster.unsettled(items, healedAt);
            } catch (RuntimeException e) {
                now = "cannot tell: " + e.getMessage();
            }
            if (now == null) {
                String note = "settled " + when + " in " + secondsSince(start) + " s";
                history.mark(note);
                return note;
            }
            if (!now.equals(last)) {
                last = now;
                sameSince = System.nanoTime();
            } else if (System.nanoTime() - sameSince > STUCK.toNanos()) {
                break; // nothing moved for a while: the reconciler is not going to change it either
            }
            Cluster.sleep(1_000);
        }
        String note = "NOT settled " + when + " after " + secondsSince(start) + " s (the bound is " + atMost.toSeconds()
                + " s; it stops sooner when nothing changes for " + STUCK.toSeconds() + " s); checked anyway. Last state: "
                + last;
        history.mark(note);
        return note;
    }

    private static String summary(long seed, String replay, boolean shortForm, Duration phase, long started,
                                  Checker.Report report, List<String> notes, List<Path> logs, Path dir) {
        StringBuilder b = new StringBuilder();
        b.append("nemesis run, seed ").append(seed).append(", ").append(shortForm ? "short" : "long").append(" form, fault phase ")
                .append(phase.toSeconds()).append(" s, ").append(secondsSince(started)).append(" s in all\n");
        b.append("replay: mvn -o -B test -Dtest=NemesisTest ").append(replay).append('\n');
        b.append("history: ").append(dir.resolve("history.jsonl").toAbsolutePath()).append('\n');
        b.append("every violation: ").append(dir.resolve("violations.txt").toAbsolutePath()).append('\n');
        b.append("answer bound: deadline ").append(DEADLINE_MS).append(" ms + slack ").append(SLACK_MS).append(" ms\n");
        b.append(report.ok() ? "VERDICT: no violation\n\n" : "VERDICT: VIOLATIONS FOUND\n\n");
        b.append(report.table());
        b.append("\nnotes:\n");
        notes.forEach(n -> b.append("  - ").append(n).append('\n'));
        b.append("\ninstance logs:\n");
        logs.forEach(l -> b.append("  ").append(l.toAbsolutePath()).append('\n'));
        return b.toString();
    }

    private static long secondsSince(long nanos) {
        return TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - nanos);
    }
}
