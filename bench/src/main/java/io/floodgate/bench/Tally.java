package io.floodgate.bench;

import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
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
 * histograms into the run's totals, so the reader owns every {@link Histogram} it touches.
 *
 * <p>Each {@linkplain Outcome.Kind kind of outcome} has two histograms of its own: latency from
 * the request's <em>intended</em> send time (in a closed loop that is when it was sent; in an
 * open loop its slot in the {@link Schedule}, so a request that waited for a free connection is
 * charged for the wait: coordinated omission corrected, as in wrk2), and service time from the
 * actual send. "All" and "admitted" (every kind but {@code SHED}) are sums of the kinds' histograms.
 *
 * <p>In an open loop the tally also keeps the generator's own backlog apart from the server's
 * queueing: the delay from each request's due time to its actual send (waiting for a free
 * connection, or for a CPU to run the worker), how many left {@link #LATE_NANOS} or more late,
 * how many were due but not yet sent at each tick, and how many were due before the run stopped
 * but never sent at all.
 */
final class Tally {

    /** A request sent this much after its due time was not sent on time: the generator was behind. */
    static final long LATE_NANOS = TimeUnit.MILLISECONDS.toNanos(10);

    private static final Outcome.Kind[] KINDS = Outcome.Kind.values();

    /** One kind's recorders (written by workers) and totals (the clock thread's). */
    private static final class KindHistograms {
        final Recorder latency = new Recorder(3);
        final Recorder service = new Recorder(3);
        final Histogram totalLatency = new Histogram(3);
        final Histogram totalService = new Histogram(3);
        Histogram latencyInterval;
        Histogram serviceInterval;
        final LongAdder count = new LongAdder();
        long lastCount;
    }

    private final KindHistograms[] kinds = new KindHistograms[KINDS.length];
    private final Histogram allInterval = new Histogram(3);
    private final Histogram admittedInterval = new Histogram(3);
    private final Histogram totalAll = new Histogram(3);
    private final Histogram totalAdmitted = new Histogram(3);
    private final Histogram totalAdmittedService = new Histogram(3);
    private final Histogram totalAllService = new Histogram(3);

    private final Schedule schedule;
    private final Recorder sendDelay = new Recorder(3);
    private final Histogram totalSendDelay = new Histogram(3);
    private Histogram sendDelayInterval;
    private final LongAdder sent = new LongAdder();
    private final LongAdder late = new LongAdder();
    private volatile long scheduleStoppedNanos;
    private volatile boolean scheduleStopped;
    private long peakBacklog;

    private final ConcurrentHashMap<String, LongAdder> byLabel = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Outcome> outcomeOfLabel = new ConcurrentHashMap<>();
    private final List<Interval> timeline = new ArrayList<>();
    private long lastTickNanos;
    private final long startNanos;

    /**
     * One second (or the last part of one) of the run, counts by kind. Latencies in milliseconds,
     * from the intended send time, of all outcomes; {@code admittedP99Ms} leaves out the shed
     * ones. {@code backlog}: requests due but not yet sent at the tick (open loop; 0 otherwise).
     */
    record Interval(double atSeconds, double seconds, long requests, long acknowledged, long replayed,
                    long rejected, long shed, long dependency, long errors,
                    double p50Ms, double p90Ms, double p99Ms, double maxMs, double admittedP99Ms,
                    long backlog, long stockLeft) {
        double rate() {
            return seconds > 0 ? requests / seconds : 0;
        }
    }

    /** A closed loop's tally: no schedule, so no backlog. */
    Tally(long startNanos) {
        this(startNanos, null);
    }

    /** An open loop's tally, which measures the generator's backlog against {@code schedule}. */
    Tally(long startNanos, Schedule schedule) {
        this.startNanos = startNanos;
        this.lastTickNanos = startNanos;
        this.schedule = schedule;
        for (int i = 0; i < kinds.length; i++) {
            kinds[i] = new KindHistograms();
        }
    }

    /** Open loop: a request due at {@code intendedNanos} is being put on the wire now. */
    void sending(long intendedNanos, long nowNanos) {
        long delay = Math.max(0, nowNanos - intendedNanos);
        sent.increment();
        sendDelay.recordValue(delay / 1_000);
        if (delay >= LATE_NANOS) {
            late.increment();
        }
    }

    /** Records one finished request; times from {@link System#nanoTime()}. */
    void record(long intendedNanos, long sentNanos, long doneNanos, Outcome outcome) {
        KindHistograms k = kinds[outcome.kind().ordinal()];
        k.latency.recordValue(Math.max(1, (doneNanos - intendedNanos) / 1_000));
        k.service.recordValue(Math.max(1, (doneNanos - sentNanos) / 1_000));
        k.count.increment();
        LongAdder counter = byLabel.get(outcome.label());
        if (counter == null) {
            outcomeOfLabel.putIfAbsent(outcome.label(), outcome);
            counter = byLabel.computeIfAbsent(outcome.label(), l -> new LongAdder());
        }
        counter.increment();
    }

    /** The schedule stopped here (sold out, request cap, end): nothing due after it is owed. First call wins. */
    void scheduleStopped(long nowNanos) {
        if (!scheduleStopped) {
            scheduleStoppedNanos = nowNanos;
            scheduleStopped = true;
        }
    }

    /** Requests finished so far, of one kind. */
    long count(Outcome.Kind kind) {
        return kinds[kind.ordinal()].count.sum();
    }

    /** Requests due but not sent as of {@code nowNanos}; 0 in a closed loop. */
    long backlog(long nowNanos) {
        if (schedule == null) {
            return 0;
        }
        long until = scheduleStopped && scheduleStoppedNanos - nowNanos < 0 ? scheduleStoppedNanos : nowNanos;
        return Math.max(0, schedule.dueBy(until) - sent.sum());
    }

    /**
     * Closes the interval since the last tick and adds it to the timeline. Called by one thread
     * only (the driver's clock).
     */
    synchronized Interval tick(long nowNanos, long stockLeft) {
        allInterval.reset();
        admittedInterval.reset();
        long[] now = new long[kinds.length];
        long requests = 0;
        for (int i = 0; i < kinds.length; i++) {
            KindHistograms k = kinds[i];
            k.latencyInterval = k.latency.getIntervalHistogram(k.latencyInterval);
            k.serviceInterval = k.service.getIntervalHistogram(k.serviceInterval);
            k.totalLatency.add(k.latencyInterval);
            k.totalService.add(k.serviceInterval);
            allInterval.add(k.latencyInterval);
            totalAllService.add(k.serviceInterval);
            if (KINDS[i].admitted()) {
                admittedInterval.add(k.latencyInterval);
                totalAdmittedService.add(k.serviceInterval);
            }
            long c = k.count.sum();
            now[i] = c - k.lastCount;
            k.lastCount = c;
            requests += now[i];
        }
        totalAll.add(allInterval);
        totalAdmitted.add(admittedInterval);
        sendDelayInterval = sendDelay.getIntervalHistogram(sendDelayInterval);
        totalSendDelay.add(sendDelayInterval);
        long backlog = backlog(nowNanos);
        peakBacklog = Math.max(peakBacklog, backlog);
        Histogram h = allInterval;
        boolean any = h.getTotalCount() > 0;
        Interval interval = new Interval(
                (nowNanos - startNanos) / 1e9, (nowNanos - lastTickNanos) / 1e9, requests,
                now[Outcome.Kind.ACKNOWLEDGED.ordinal()], now[Outcome.Kind.REPLAYED.ordinal()],
                now[Outcome.Kind.REJECTED.ordinal()], now[Outcome.Kind.SHED.ordinal()],
                now[Outcome.Kind.DEPENDENCY.ordinal()], now[Outcome.Kind.ERROR.ordinal()],
                any ? ms(h.getValueAtPercentile(50)) : 0, any ? ms(h.getValueAtPercentile(90)) : 0,
                any ? ms(h.getValueAtPercentile(99)) : 0, any ? ms(h.getMaxValue()) : 0,
                admittedInterval.getTotalCount() > 0 ? ms(admittedInterval.getValueAtPercentile(99)) : 0,
                backlog, stockLeft);
        lastTickNanos = nowNanos;
        timeline.add(interval);
        return interval;
    }

    /** The p99 over the whole run so far (as of the last tick), in milliseconds. */
    synchronized double p99SoFarMs() {
        return totalAll.getTotalCount() == 0 ? 0 : ms(totalAll.getValueAtPercentile(99));
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

    /** The whole run's latency from intended send time, all outcomes (call after the last tick). */
    synchronized Histogram totalLatency() {
        return totalAll.copy();
    }

    /** The whole run's service time, from the actual send, all outcomes. */
    synchronized Histogram totalService() {
        return totalAllService.copy();
    }

    /** Latency from intended send time of the requests the server admitted (all but {@code SHED}). */
    synchronized Histogram admittedLatency() {
        return totalAdmitted.copy();
    }

    /** Service time of the requests the server admitted. */
    synchronized Histogram admittedService() {
        return totalAdmittedService.copy();
    }

    /** One kind's latency from intended send time. */
    synchronized Histogram latency(Outcome.Kind kind) {
        return kinds[kind.ordinal()].totalLatency.copy();
    }

    /** One kind's service time. */
    synchronized Histogram service(Outcome.Kind kind) {
        return kinds[kind.ordinal()].totalService.copy();
    }

    /** Per kind, latency and service time; kinds that never happened are left out. */
    synchronized Map<Outcome.Kind, Summary.KindLatency> byKind() {
        Map<Outcome.Kind, Summary.KindLatency> m = new EnumMap<>(Outcome.Kind.class);
        for (Outcome.Kind kind : KINDS) {
            KindHistograms k = kinds[kind.ordinal()];
            if (k.totalLatency.getTotalCount() > 0) {
                m.put(kind, new Summary.KindLatency(Summary.latency(k.totalLatency), Summary.latency(k.totalService)));
            }
        }
        return m;
    }

    /** The generator's backlog over the whole run (call after the last tick); null in a closed loop. */
    synchronized Summary.ClientBacklog clientBacklog(long nowNanos) {
        if (schedule == null) {
            return null;
        }
        long until = scheduleStopped && scheduleStoppedNanos - nowNanos < 0 ? scheduleStoppedNanos : nowNanos;
        long due = schedule.dueBy(until);
        long sentNow = sent.sum();
        long unsent = Math.max(0, due - sentNow);
        return new Summary.ClientBacklog(due, sentNow, late.sum(), unsent, late.sum() + unsent,
                Math.max(peakBacklog, unsent), ms(LATE_NANOS / 1_000), Summary.latency(totalSendDelay));
    }

    static double ms(long micros) {
        return micros / 1_000.0;
    }

    static long micros(long nanos) {
        return TimeUnit.NANOSECONDS.toMicros(nanos);
    }
}
