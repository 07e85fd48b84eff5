package io.floodgate.observe;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.java21.instrument.binder.jdk.VirtualThreadMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
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
    private final JvmGcMetrics gcMetrics = new JvmGcMetrics();
    private final VirtualThreadMetrics virtualThreadMetrics = new VirtualThreadMetrics();

    public Metrics() {
        new JvmMemoryMetrics().bindTo(registry);
        gcMetrics.bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ClassLoaderMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);
        virtualThreadMetrics.bindTo(registry);
    }

    /** Records one answered HTTP request. */
    public void request(String route, String method, int status, long nanos) {
        String key = route + ' ' + method + ' ' + status;
        Timer timer = requestTimers.get(key);
        if (timer == null) {
            timer = requestTimers.computeIfAbsent(key, k -> Timer.builder("floodgate.http.requests")
                    .description("HTTP requests by route, method and status")
                    .tag("route", route).tag("method", method).tag("status", Integer.toString(status))
                    .serviceLevelObjectives(LATENCY_BUCKETS)
                    .register(registry));
        }
        timer.record(nanos, TimeUnit.NANOSECONDS);
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

    /** Adds a gauge read at scrape time. */
    public void gauge(String name, String description, Supplier<Number> value) {
        Gauge.builder(name, value).description(description).register(registry);
    }

    /** Adds a gauge with tags given as name, value, name, value... */
    public void gauge(String name, String description, java.util.List<String> tags, Supplier<Number> value) {
        Gauge.builder(name, value).description(description).tags(tags.toArray(String[]::new)).register(registry);
    }

    /** A counter function read at scrape time. */
    public void counter(String name, String description, Supplier<Number> value) {
        io.micrometer.core.instrument.FunctionCounter
                .builder(name, value, v -> v.get().doubleValue())
                .description(description).register(registry);
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
