package io.floodgate.bench;

import org.HdrHistogram.Histogram;
import org.HdrHistogram.HistogramIterationValue;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What a run came to, as one immutable value: printed as the summary, written as report.json,
 * drawn as report.html. Latencies are in milliseconds.
 *
 * @param settings      the plan as run (without the admin token)
 * @param seconds       from the first request to the last answer
 * @param latency       from each request's intended send time (coordinated omission corrected in an open loop)
 * @param serviceTime   from each request's actual send; equal to latency in a closed loop
 * @param verification  null when not verified (the ceiling scenario, or --no-verify)
 * @param exitCode      0, or 1 when an invariant failed
 */
record Summary(String runId, String startedAt, Map<String, Object> settings, double seconds, String stopReason,
               long requests, double rate, Map<Outcome.Kind, Long> byKind, List<OutcomeCount> outcomes,
               Latency latency, Latency serviceTime, List<Tally.Interval> timeline, Verification verification,
               int exitCode) {

    record OutcomeCount(String label, Outcome.Kind kind, long count) {
    }

    /** Percentiles of a latency histogram, and its distribution for plotting. */
    record Latency(long count, double meanMs, double p50Ms, double p90Ms, double p99Ms, double p999Ms,
                   double p9999Ms, double maxMs, List<Point> distribution) {
    }

    /** A point of the latency distribution: this share of requests took at most {@code ms}. */
    record Point(double percentile, double ms) {
    }

    /** Percentiles of a histogram of microseconds. */
    static Latency latency(Histogram h) {
        if (h.getTotalCount() == 0) {
            return new Latency(0, 0, 0, 0, 0, 0, 0, 0, List.of());
        }
        List<Point> points = new ArrayList<>();
        for (HistogramIterationValue v : h.percentiles(5)) {
            points.add(new Point(v.getPercentileLevelIteratedTo(), Tally.ms(v.getValueIteratedTo())));
            if (v.getPercentileLevelIteratedTo() >= 100.0) {
                break;
            }
        }
        return new Latency(h.getTotalCount(), h.getMean() / 1_000.0,
                Tally.ms(h.getValueAtPercentile(50)), Tally.ms(h.getValueAtPercentile(90)),
                Tally.ms(h.getValueAtPercentile(99)), Tally.ms(h.getValueAtPercentile(99.9)),
                Tally.ms(h.getValueAtPercentile(99.99)), Tally.ms(h.getMaxValue()), List.copyOf(points));
    }

    static Map<Outcome.Kind, Long> byKind(List<OutcomeCount> outcomes) {
        Map<Outcome.Kind, Long> m = new EnumMap<>(Outcome.Kind.class);
        for (Outcome.Kind k : Outcome.Kind.values()) {
            m.put(k, 0L);
        }
        for (OutcomeCount o : outcomes) {
            m.merge(o.kind(), o.count(), Long::sum);
        }
        return m;
    }

    /** The summary as printed at the end of a run. */
    String text() {
        StringBuilder b = new StringBuilder(2048);
        b.append('\n').append("== floodgate bench ").append(runId).append(": ").append(settings.get("scenario"))
                .append(", ").append(settings.get("loop")).append(", ").append(settings.get("targets")).append('\n');
        b.append(String.format(Locale.ROOT, "%,d requests in %.1f s = %,.0f req/s; stopped by %s%n",
                requests, seconds, rate, stopReason.toLowerCase(Locale.ROOT).replace('_', ' ')));
        b.append("\nOutcomes\n");
        for (OutcomeCount o : outcomes) {
            b.append(String.format(Locale.ROOT, "  %-34s %12s %6.2f%%  %s%n", o.label(), String.format(Locale.ROOT, "%,d", o.count()),
                    requests == 0 ? 0.0 : 100.0 * o.count() / requests, o.kind().name().toLowerCase(Locale.ROOT)));
        }
        b.append("\nLatency (ms)").append(serviceTime != null ? ", from intended send time (coordinated omission corrected)" : "").append('\n');
        appendLatency(b, latency);
        if (serviceTime != null) {
            b.append("Service time (ms), from actual send\n");
            appendLatency(b, serviceTime);
        }
        b.append("\nThroughput (req/s) per second\n  ");
        int col = 0;
        for (Tally.Interval i : timeline) {
            b.append(String.format(Locale.ROOT, "%8.0f", i.rate()));
            if (++col % 10 == 0) {
                b.append("\n  ");
            }
        }
        b.append('\n');
        if (verification != null) {
            b.append("\nVerification\n");
            for (Verification.Check c : verification.checks()) {
                b.append(String.format(Locale.ROOT, "  %-4s %s: %s%n", c.verdict(), c.name(), c.detail()));
            }
            b.append(verification.passed() ? "  all invariants hold\n" : "  AN INVARIANT FAILED\n");
        }
        return b.toString();
    }

    private static void appendLatency(StringBuilder b, Latency l) {
        b.append(String.format(Locale.ROOT,
                "  p50 %.2f  p90 %.2f  p99 %.2f  p99.9 %.2f  p99.99 %.2f  max %.2f  mean %.2f  (n=%,d)%n",
                l.p50Ms(), l.p90Ms(), l.p99Ms(), l.p999Ms(), l.p9999Ms(), l.maxMs(), l.meanMs(), l.count()));
    }
}
