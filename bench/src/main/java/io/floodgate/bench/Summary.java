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
 * @param settings        the plan as run (without the admin token)
 * @param seconds         from the first request to the last answer
 * @param goodput         acknowledged orders (201/202) per second: what the sale got done
 * @param byKind          requests by kind of outcome
 * @param latency         all outcomes, from each request's intended send time (coordinated omission corrected in an open loop)
 * @param serviceTime     all outcomes, from each request's actual send; null in a closed loop, where it equals latency
 * @param admitted        the requests the server admitted (all but {@code SHED}), from the intended send time
 * @param admittedService the same from the actual send; null in a closed loop
 * @param latencyByKind   per kind that happened: from the intended send time, and from the actual send
 * @param timeouts        requests that had no complete answer within the client timeout (counted in {@code ERROR})
 * @param clientBacklog   the generator's own lateness in an open loop; null in a closed loop
 * @param generator       what the generator itself used
 * @param verification    null when not verified (the ceiling scenario, or --no-verify)
 * @param exitCode        0, or 1 when an invariant failed
 */
record Summary(String runId, String startedAt, Map<String, Object> settings, double seconds, String stopReason,
               long requests, double rate, double goodput, Map<Outcome.Kind, Long> byKind, List<OutcomeCount> outcomes,
               Latency latency, Latency serviceTime, Latency admitted, Latency admittedService,
               Map<Outcome.Kind, KindLatency> latencyByKind, long timeouts, ClientBacklog clientBacklog,
               Generator generator, List<Tally.Interval> timeline, Verification verification, int exitCode) {

    record OutcomeCount(String label, Outcome.Kind kind, long count) {
    }

    /** Percentiles of a latency histogram, and its distribution for plotting. */
    record Latency(long count, double meanMs, double p50Ms, double p90Ms, double p99Ms, double p999Ms,
                   double p9999Ms, double maxMs, List<Point> distribution) {
    }

    /** One kind of outcome's latency from the intended send time, and its service time from the actual send. */
    record KindLatency(Latency latency, Latency serviceTime) {
    }

    /**
     * How far the generator itself fell behind its open-loop schedule, so that the reader can
     * tell its queueing from the server's.
     *
     * @param due       requests the schedule asked for before the run stopped
     * @param sent      requests put on the wire
     * @param late      sent {@code lateAfterMs} or more after their due time (no free connection, or no CPU)
     * @param unsent    due but never sent (still waiting for a connection when the run stopped)
     * @param notOnTime {@code late + unsent}: the requests the generator could not send on time
     * @param peak      the most requests due and not yet sent, at a once-a-second look
     * @param sendDelay from each request's due time to its actual send
     */
    record ClientBacklog(long due, long sent, long late, long unsent, long notOnTime, long peak, double lateAfterMs,
                         Latency sendDelay) {
    }

    /**
     * The generator's own cost: connections it drove, and CPU time it used during the run
     * ({@code cpuCores}: CPU seconds per second of the run; -1 where the JVM cannot say).
     */
    record Generator(int connections, double cpuSeconds, double cpuCores) {
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
        b.append(String.format(Locale.ROOT, "%nGoodput %,.0f acknowledged orders/s; admitted p99 %.2f ms, all p99 %.2f ms%s%n",
                goodput, admitted.p99Ms(), latency.p99Ms(),
                timeouts > 0 ? String.format(Locale.ROOT, "; %,d client timeouts", timeouts) : ""));
        boolean open = serviceTime != null;
        b.append(open ? "\nLatency (ms) by outcome: from intended send time (coordinated omission corrected) | service time, from actual send\n"
                : "\nLatency (ms) by outcome\n");
        b.append(String.format(Locale.ROOT, "  %-13s %10s %8s %8s %8s %8s %8s", "", "count", "p50", "p90", "p99", "p99.9", "max"));
        b.append(open ? String.format(Locale.ROOT, " | %8s %8s %8s %8s %8s%n", "p50", "p90", "p99", "p99.9", "max") : "\n");
        for (Map.Entry<Outcome.Kind, KindLatency> e : latencyByKind.entrySet()) {
            appendLatencyRow(b, e.getKey().name().toLowerCase(Locale.ROOT), e.getValue().latency(), open ? e.getValue().serviceTime() : null);
        }
        appendLatencyRow(b, "admitted", admitted, admittedService);
        appendLatencyRow(b, "all", latency, serviceTime);
        if (clientBacklog != null) {
            ClientBacklog c = clientBacklog;
            b.append(String.format(Locale.ROOT,
                    "%nClient backlog: %,d due, %,d sent; %,d not sent on time (%,d sent %.0f ms or more late, %,d never sent); peak %,d waiting%n"
                            + "  send delay (due -> sent) p50 %.2f  p99 %.2f  max %.2f ms%n",
                    c.due(), c.sent(), c.notOnTime(), c.late(), c.lateAfterMs(), c.unsent(), c.peak(),
                    c.sendDelay().p50Ms(), c.sendDelay().p99Ms(), c.sendDelay().maxMs()));
        }
        if (generator != null) {
            b.append(String.format(Locale.ROOT, "Generator: %,d connections, %s%n", generator.connections(),
                    generator.cpuSeconds() < 0 ? "CPU time unknown"
                            : String.format(Locale.ROOT, "%.1f s CPU = %.2f cores", generator.cpuSeconds(), generator.cpuCores())));
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

    private static void appendLatencyRow(StringBuilder b, String name, Latency l, Latency service) {
        b.append(String.format(Locale.ROOT, "  %-13s %,10d %8.2f %8.2f %8.2f %8.2f %8.2f",
                name, l.count(), l.p50Ms(), l.p90Ms(), l.p99Ms(), l.p999Ms(), l.maxMs()));
        if (service != null) {
            b.append(String.format(Locale.ROOT, " | %8.2f %8.2f %8.2f %8.2f %8.2f",
                    service.p50Ms(), service.p90Ms(), service.p99Ms(), service.p999Ms(), service.maxMs()));
        }
        b.append('\n');
    }
}
