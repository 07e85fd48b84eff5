package io.floodgate.observe;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.config.MeterFilter;
import io.micrometer.core.instrument.distribution.CountAtBucket;
import io.micrometer.core.instrument.distribution.HistogramSnapshot;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.java21.instrument.binder.jdk.VirtualThreadMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Floodgate's metrics, in one Prometheus registry: HTTP requests by route and status with a
 * latency histogram, rejections by reason, JVM and thread figures, and whatever gauges the wiring
 * adds (queue depths, limits, breaker states).
 *
 * <p>Meters are looked up once per (route, method, status) and cached, so that recording a
 * request is a map lookup and an atomic add.
 */
public final class Metrics implements AutoCloseable {

    private static final Duration[] LATENCY_BUCKETS = {
            Duration.ofMillis(1), Duration.ofMillis(2), Duration.ofMillis(5), Duration.ofMillis(10),
            Duration.ofMillis(25), Duration.ofMillis(50), Duration.ofMillis(100), Duration.ofMillis(250),
            Duration.ofMillis(500), Duration.ofSeconds(1), Duration.ofMillis(2500), Duration.ofSeconds(5)};

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final ConcurrentHashMap<String, Timer> requestTimers = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Counter> rejectionCounters = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Counter> orderCounters = new ConcurrentHashMap<>();
    private final List<Supplier<Number>> counterFunctions = new java.util.concurrent.CopyOnWriteArrayList<>();
    private final JvmGcMetrics gcMetrics = new JvmGcMetrics();
    private final VirtualThreadMetrics virtualThreadMetrics = new VirtualThreadMetrics();

    public Metrics() {
        // The exposition passes `promtool check metrics` (PromtoolMetricsTest). Two of Micrometer's
        // processor meters do not: process.cpu.time counts nanoseconds (process_cpu_time_ns_total,
        // "abbreviated units"; Prometheus wants seconds), so it is replaced by the same figure in
        // seconds under the Prometheus clients' own name, process_cpu_seconds_total; and
        // system.cpu.count is a gauge whose name ends in _count, the suffix of a histogram's
        // series, so it is named system.cpus.available.
        registry.config().meterFilter(MeterFilter.deny(id -> "process.cpu.time".equals(id.getName())));
        registry.config().meterFilter(new MeterFilter() {
            @Override
            public Meter.Id map(Meter.Id id) {
                return "system.cpu.count".equals(id.getName()) ? id.withName("system.cpus.available") : id;
            }
        });
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            FunctionCounter.builder("process.cpu", os, o -> o.getProcessCpuTime() / 1e9)
                    .description("CPU time used by the process").baseUnit("seconds")
                    .register(registry);
        }
        new JvmMemoryMetrics().bindTo(registry);
        gcMetrics.bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ClassLoaderMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);
        virtualThreadMetrics.bindTo(registry);
    }

    /** The methods a label may name; any other (a client may send any token as a method) is {@code OTHER}. */
    private static final java.util.Set<String> METHODS =
            java.util.Set.of("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT");

    /**
     * Records one answered HTTP request. Every label comes from a closed set, whatever the client
     * sent: the route is a pattern of the routing table (or one value for unknown paths), the
     * method one of the standard ones or {@code OTHER}, the status a three-digit code.
     */
    public void request(String route, String method, int status, long nanos) {
        requestTimer(route, method, status).record(nanos, TimeUnit.NANOSECONDS);
    }

    private Timer requestTimer(String route, String method, int status) {
        method = METHODS.contains(method) ? method : "OTHER";
        status = status >= 100 && status <= 599 ? status : 0;
        String key = route + ' ' + method + ' ' + status;
        Timer timer = requestTimers.get(key);
        if (timer == null) {
            String labelMethod = method;
            int labelStatus = status;
            timer = requestTimers.computeIfAbsent(key, k -> Timer.builder("floodgate.http.requests")
                    .description("HTTP requests by route, method and status")
                    .tag("route", route).tag("method", labelMethod).tag("status", Integer.toString(labelStatus))
                    .serviceLevelObjectives(LATENCY_BUCKETS)
                    .register(registry));
        }
        return timer;
    }

    /**
     * The request timers of one route, for its handler to hold: recording is then an array read
     * by method and status, with no key to build or hash per request ({@link #request}, key, lookup
     * and recording together, was 3% of a sold-out answer's CPU in a JFR profile, issue 14).
     */
    public RouteTimers route(String route) {
        return new RouteTimers(route);
    }

    /** {@link #route}: the timers of one route by method and status, looked up once each. */
    public final class RouteTimers {

        private static final String[] METHOD_ORDER =
                {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT", "OTHER"};
        private static final int STATUSES = 501; // 0 (not a status), then 100-599

        private final String route;
        /** By method, then by status; a method's array is made when the route first answers it. */
        private final AtomicReferenceArray<AtomicReferenceArray<Timer>> timers =
                new AtomicReferenceArray<>(METHOD_ORDER.length);

        private RouteTimers(String route) {
            this.route = route;
        }

        /** Records one answered request of this route, as {@link Metrics#request} does. */
        public void record(String method, int status, long nanos) {
            int m = methodIndex(method);
            AtomicReferenceArray<Timer> byStatus = timers.get(m);
            if (byStatus == null) {
                timers.compareAndSet(m, null, new AtomicReferenceArray<>(STATUSES));
                byStatus = timers.get(m);
            }
            int slot = status >= 100 && status <= 599 ? status - 99 : 0;
            Timer timer = byStatus.get(slot);
            if (timer == null) {
                timer = requestTimer(route, METHOD_ORDER[m], status);
                byStatus.set(slot, timer); // the same timer whoever sets it: the registry keeps one per id
            }
            timer.record(nanos, TimeUnit.NANOSECONDS);
        }

        private static int methodIndex(String method) {
            return switch (method) {
                case "GET" -> 0;
                case "HEAD" -> 1;
                case "POST" -> 2;
                case "PUT" -> 3;
                case "DELETE" -> 4;
                case "PATCH" -> 5;
                case "OPTIONS" -> 6;
                case "TRACE" -> 7;
                case "CONNECT" -> 8;
                default -> 9;
            };
        }
    }

    /** Counts one order request that succeeded: {@code created}, {@code accepted} or {@code replayed}. */
    public void order(String result) {
        Counter counter = orderCounters.get(result);
        if (counter == null) {
            counter = orderCounters.computeIfAbsent(result, r -> Counter.builder("floodgate.orders")
                    .description("Order requests that succeeded, by result")
                    .tag("result", r).register(registry));
        }
        counter.increment();
    }

    /** Counts one request turned down, by its problem code. */
    public void rejection(String code) {
        Counter counter = rejectionCounters.get(code);
        if (counter == null) {
            counter = rejectionCounters.computeIfAbsent(code, c -> Counter.builder("floodgate.rejections")
                    .description("Requests answered with a problem, by code")
                    .tag("code", c).register(registry));
        }
        counter.increment();
    }

    /**
     * A latency recorded in milliseconds by the core (which knows no meter): a timer with the
     * dashboard's buckets ({@code <name>_seconds_bucket{le=...}}, cumulative counts: a scraper
     * derives percentiles from them), its count, sum and max.
     */
    public java.util.function.LongConsumer latencyMillis(String name, String description) {
        Timer timer = Timer.builder(name).description(description)
                .serviceLevelObjectives(LATENCY_BUCKETS)
                .register(registry);
        return millis -> timer.record(millis, TimeUnit.MILLISECONDS);
    }

    /** Adds a gauge read at scrape time. */
    public void gauge(String name, String description, Supplier<Number> value) {
        Gauge.builder(name, value).description(description).register(registry);
    }

    /** Adds a gauge with tags given as name, value, name, value... */
    public void gauge(String name, String description, java.util.List<String> tags, Supplier<Number> value) {
        Gauge.builder(name, value).description(description).tags(tags.toArray(String[]::new)).register(registry);
    }

    /**
     * A counter function read at scrape time. Micrometer holds a function counter's object weakly,
     * and a method reference has nothing else holding it, so it is kept here: without that, the
     * first GC turned {@code floodgate.orders.persisted} into a constant 0.
     */
    public void counter(String name, String description, Supplier<Number> value) {
        counter(name, description, List.of(), value);
    }

    /** A counter function with tags given as name, value, name, value... */
    public void counter(String name, String description, List<String> tags, Supplier<Number> value) {
        counterFunctions.add(value);
        FunctionCounter.builder(name, value, v -> v.get().doubleValue())
                .description(description).tags(tags.toArray(String[]::new)).register(registry);
    }

    // ---- snapshot for the dashboard (GET /api/v1/stats) ---------------------------------------

    /**
     * The figures the dashboard shows, read from the registry at one moment. Counts are cumulative
     * since start, as in Prometheus; a reader that polls computes rates, and latency percentiles
     * over its own window, from the difference of two snapshots (the bucket counts are there for
     * that). The percentiles given here are estimates since start, from the same buckets.
     *
     * @param orders          successful order requests by result (created, accepted, replayed)
     * @param rejections      requests answered with a problem, by code
     * @param requests        HTTP requests by status code, all routes
     * @param orderLatency    {@code POST /api/v1/orders}, all statuses
     * @param gauges          every Floodgate gauge and function counter (admission, order log,
     *                        breakers as they are added), by name with tags as {@code name{k=v}}
     * @param jvm             the process
     */
    public record Snapshot(Map<String, Long> orders, Map<String, Long> rejections, Map<String, Long> requests,
                           Latency orderLatency, Map<String, Double> gauges, Jvm jvm) {
    }

    /** A latency histogram: cumulative {@code count}s at or below each bound, in milliseconds. */
    public record Latency(long count, double totalMs, double maxMs, double p50Ms, double p90Ms, double p99Ms,
                          List<Bucket> buckets) {
    }

    public record Bucket(double leMs, long count) {
    }

    /** Process figures; -1 where the JVM does not say. */
    public record Jvm(double uptimeSeconds, double heapUsedBytes, double heapMaxBytes, double liveThreads,
                      double processCpu, long gcPauses, double gcPauseMs, long virtualThreadsPinned) {
    }

    /** Reads the dashboard's figures from the registry; cost grows with the meters, not the traffic. */
    public Snapshot snapshot() {
        Map<String, Long> orders = new TreeMap<>();
        for (Counter c : registry.find("floodgate.orders").counters()) {
            orders.merge(c.getId().getTag("result"), (long) c.count(), Long::sum);
        }
        Map<String, Long> rejections = new TreeMap<>();
        for (Counter c : registry.find("floodgate.rejections").counters()) {
            rejections.merge(c.getId().getTag("code"), (long) c.count(), Long::sum);
        }
        Map<String, Long> requests = new TreeMap<>();
        long[] bucketCounts = new long[LATENCY_BUCKETS.length];
        long count = 0;
        double totalMs = 0;
        double maxMs = 0;
        for (Timer t : registry.find("floodgate.http.requests").timers()) {
            requests.merge(t.getId().getTag("status"), t.count(), Long::sum);
            if (!"/api/v1/orders".equals(t.getId().getTag("route")) || !"POST".equals(t.getId().getTag("method"))) {
                continue;
            }
            HistogramSnapshot h = t.takeSnapshot();
            count += h.count();
            totalMs += h.total(TimeUnit.MILLISECONDS);
            maxMs = Math.max(maxMs, h.max(TimeUnit.MILLISECONDS));
            for (CountAtBucket c : h.histogramCounts()) {
                long bound = (long) c.bucket(TimeUnit.NANOSECONDS);
                for (int i = 0; i < LATENCY_BUCKETS.length; i++) {
                    if (LATENCY_BUCKETS[i].toNanos() == bound) {
                        bucketCounts[i] += (long) c.count();
                    }
                }
            }
        }
        List<Bucket> buckets = new ArrayList<>(LATENCY_BUCKETS.length);
        for (int i = 0; i < LATENCY_BUCKETS.length; i++) {
            buckets.add(new Bucket(LATENCY_BUCKETS[i].toNanos() / 1e6, bucketCounts[i]));
        }
        Latency latency = new Latency(count, totalMs, maxMs, quantile(buckets, count, 0.5, maxMs),
                quantile(buckets, count, 0.9, maxMs), quantile(buckets, count, 0.99, maxMs), List.copyOf(buckets));

        Map<String, Double> gauges = new TreeMap<>();
        for (Meter m : registry.getMeters()) {
            String name = m.getId().getName();
            if (!name.startsWith("floodgate.")) {
                continue;
            }
            if (m instanceof Gauge g) {
                gauges.put(displayName(m), g.value());
            } else if (m instanceof FunctionCounter f) {
                gauges.put(displayName(m), f.count());
            }
        }
        return new Snapshot(orders, rejections, requests, latency, gauges, jvm());
    }

    private Jvm jvm() {
        double heapUsed = 0;
        for (Gauge g : registry.find("jvm.memory.used").tag("area", "heap").gauges()) {
            heapUsed += g.value();
        }
        double heapMax = Runtime.getRuntime().maxMemory();
        Gauge live = registry.find("jvm.threads.live").gauge();
        Gauge cpu = registry.find("process.cpu.usage").gauge();
        long pauses = 0;
        double pauseMs = 0;
        for (Timer t : registry.find("jvm.gc.pause").timers()) {
            pauses += t.count();
            pauseMs += t.totalTime(TimeUnit.MILLISECONDS);
        }
        long pinned = 0;
        for (Timer t : registry.find("jvm.threads.virtual.pinned").timers()) {
            pinned += t.count();
        }
        return new Jvm(ManagementFactory.getRuntimeMXBean().getUptime() / 1000.0, heapUsed, heapMax,
                live == null ? -1 : live.value(), cpu == null ? -1 : cpu.value(), pauses, pauseMs, pinned);
    }

    private static String displayName(Meter m) {
        StringBuilder b = new StringBuilder(m.getId().getName());
        List<Tag> tags = m.getId().getTags();
        if (!tags.isEmpty()) {
            b.append('{');
            for (int i = 0; i < tags.size(); i++) {
                b.append(i == 0 ? "" : ",").append(tags.get(i).getKey()).append('=').append(tags.get(i).getValue());
            }
            b.append('}');
        }
        return b.toString();
    }

    /**
     * The {@code q} quantile from cumulative bucket counts, interpolated linearly inside the bucket
     * it falls in (Prometheus' {@code histogram_quantile}); above the last bound, the observed max.
     */
    static double quantile(List<Bucket> buckets, long count, double q, double maxMs) {
        if (count == 0) {
            return 0;
        }
        double rank = q * count;
        long below = 0;
        double lower = 0;
        for (Bucket b : buckets) {
            if (b.count() >= rank) {
                long inBucket = b.count() - below;
                double upper = maxMs > 0 ? Math.min(b.leMs(), Math.max(lower, maxMs)) : b.leMs();
                return inBucket == 0 ? upper : lower + (upper - lower) * (rank - below) / inBucket;
            }
            below = b.count();
            lower = b.leMs();
        }
        return Math.max(lower, maxMs);
    }

    public PrometheusMeterRegistry registry() {
        return registry;
    }

    /** The Prometheus text exposition. */
    public String scrape() {
        return registry.scrape();
    }

    @Override
    public void close() {
        gcMetrics.close();
        virtualThreadMetrics.close();
        registry.close();
    }
}
