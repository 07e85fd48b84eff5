package io.floodgate.bench;

import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * Counts and latencies of a run, written by every worker at once and read once a second by the
 * driver's clock thread.
 *
 * <p>Writers never block one another: latencies go into HdrHistogram {@link Recorder}s (wait-free
 * for writers; the reader swaps in a fresh interval histogram under a phaser), counts into
 * {@link LongAdder}s. {@link #tick} turns the last second into an {@link Interval} and folds its
 * histogram into the run's total, so the reader owns every {@link Histogram} it touches.
 *
 * <p>Latency is recorded in microseconds from the request's <em>intended</em> send time: in a
 * closed loop that is when it was sent; in an open loop it is its slot in the schedule, so a
 * request that waited for a free connection is charged for the wait (coordinated omission
 * corrected, as in wrk2). The open loop also records service time (from the actual send) apart.
 */
final class Tally {

    private final Recorder latency = new Recorder(3);
    private final Recorder service = new Recorder(3);
    private final Histogram totalLatency = new Histogram(3);
    private final Histogram totalService = new Histogram(3);
    private Histogram latencyInterval;
    private Histogram serviceInterval;
    private final LongAdder[] byKind = new LongAdder[Outcome.Kind.values().length];
    private final long[] lastByKind = new long[byKind.length];
    private final ConcurrentHashMap<String, LongAdder> byLabel = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Outcome> outcomeOfLabel = new ConcurrentHashMap<>();
    private final List<Interval> timeline = new ArrayList<>();
    private long lastTickNanos;
    private final long startNanos;

    /** One second (or the last part of one) of the run. Latencies in milliseconds. */
    record Interval(double atSeconds, double seconds, long requests, long ok, long rejected, long shed, long errors,
                    double p50Ms, double p90Ms, double p99Ms, double maxMs, long stockLeft) {
        double rate() {
            return seconds > 0 ? requests / seconds : 0;
        }
    }

    Tally(long startNanos) {
        this.startNanos = startNanos;
        this.lastTickNanos = startNanos;
        for (int i = 0; i < byKind.length; i++) {
            byKind[i] = new LongAdder();
        }
    }

    /** Records one finished request; times from {@link System#nanoTime()}. */
    void record(long intendedNanos, long sentNanos, long doneNanos, Outcome outcome) {
        latency.recordValue(Math.max(1, (doneNanos - intendedNanos) / 1_000));
        service.recordValue(Math.max(1, (doneNanos - sentNanos) / 1_000));
        byKind[outcome.kind().ordinal()].increment();
        LongAdder counter = byLabel.get(outcome.label());
        if (counter == null) {
            outcomeOfLabel.putIfAbsent(outcome.label(), outcome);
            counter = byLabel.computeIfAbsent(outcome.label(), l -> new LongAdder());
        }
        counter.increment();
    }

    /** Requests finished so far, of one kind. */
    long count(Outcome.Kind kind) {
        return byKind[kind.ordinal()].sum();
    }

    /**
     * Closes the interval since the last tick and adds it to the timeline. Called by one thread
     * only (the driver's clock).
     */
    synchronized Interval tick(long nowNanos, long stockLeft) {
        latencyInterval = latency.getIntervalHistogram(latencyInterval);
        serviceInterval = service.getIntervalHistogram(serviceInterval);
        totalLatency.add(latencyInterval);
        totalService.add(serviceInterval);
        long[] now = new long[byKind.length];
        long requests = 0;
        for (int i = 0; i < now.length; i++) {
            now[i] = byKind[i].sum() - lastByKind[i];
            lastByKind[i] += now[i];
            requests += now[i];
        }
        Histogram h = latencyInterval;
        boolean any = h.getTotalCount() > 0;
        Interval interval = new Interval(
                (nowNanos - startNanos) / 1e9, (nowNanos - lastTickNanos) / 1e9, requests,
                now[Outcome.Kind.OK.ordinal()], now[Outcome.Kind.REJECTED.ordinal()],
                now[Outcome.Kind.SHED.ordinal()], now[Outcome.Kind.ERROR.ordinal()],
                any ? ms(h.getValueAtPercentile(50)) : 0, any ? ms(h.getValueAtPercentile(90)) : 0,
                any ? ms(h.getValueAtPercentile(99)) : 0, any ? ms(h.getMaxValue()) : 0, stockLeft);
        lastTickNanos = nowNanos;
        timeline.add(interval);
        return interval;
    }

    /** The p99 over the whole run so far (as of the last tick), in milliseconds. */
    synchronized double p99SoFarMs() {
        return totalLatency.getTotalCount() == 0 ? 0 : ms(totalLatency.getValueAtPercentile(99));
    }

    synchronized List<Interval> timeline() {
        return List.copyOf(timeline);
    }

    /** Outcomes by label, most frequent first. */
    List<Summary.OutcomeCount> outcomes() {
        List<Summary.OutcomeCount> list = new ArrayList<>();
        byLabel.forEach((label, n) -> {
            Outcome o = outcomeOfLabel.get(label);
            list.add(new Summary.OutcomeCount(label, o.kind(), n.sum()));
        });
        list.sort(Comparator.comparingLong(Summary.OutcomeCount::count).reversed()
                .thenComparing(Summary.OutcomeCount::label));
        return list;
    }

    /** The whole run's latency from intended send time (call after the last tick). */
    synchronized Histogram totalLatency() {
        return totalLatency.copy();
    }

    /** The whole run's service time, from the actual send. */
    synchronized Histogram totalService() {
        return totalService.copy();
    }

    static double ms(long micros) {
        return micros / 1_000.0;
    }

    static long micros(long nanos) {
        return TimeUnit.NANOSECONDS.toMicros(nanos);
    }
}
