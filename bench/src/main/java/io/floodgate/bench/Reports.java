package io.floodgate.bench;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.DoubleFunction;
import java.util.function.ToDoubleFunction;

/**
 * The run's reports: {@code report.json} for machines (the {@link Summary} as it is) and
 * {@code report.html} for people: one self-contained page, charts as inline SVG drawn here, no
 * script and nothing fetched, so it opens anywhere and can be attached to a ticket.
 */
final class Reports {

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final String[] COLORS = {"#2f6fde", "#1f9d55", "#d97706", "#b3261e", "#6b21a8", "#0e7490"};
    /** Labels the x axis of a latency distribution, whose x is the number of nines: log10(1 / (1 - p)). */
    private static final DoubleFunction<String> PERCENTILE_LABEL = Reports::percentileLabel;
    private static final int W = 860;
    private static final int H = 260;
    private static final int LEFT = 64;
    private static final int RIGHT = 16;
    private static final int TOP = 28;
    private static final int BOTTOM = 36;

    private Reports() {
    }

    static String json(Summary summary) {
        try {
            return JSON.writeValueAsString(summary);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String html(Summary s) {
        StringBuilder b = new StringBuilder(32 * 1024);
        b.append("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>floodgate bench ")
                .append(esc(s.runId())).append("</title><style>")
                .append("body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:920px;color:#1d2330;background:#f7f8fa}")
                .append("h1{font-size:1.4rem;margin:0}h2{font-size:1.1rem;margin:1.6rem 0 .5rem}.sub{color:#667}")
                .append("table{border-collapse:collapse;background:#fff;width:100%;box-shadow:0 1px 2px #0001}")
                .append("th,td{padding:.35rem .6rem;border-bottom:1px solid #eceef2;text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}")
                .append("svg{background:#fff;box-shadow:0 1px 2px #0001;margin:.3rem 0}.PASS{color:#1f7a3a;font-weight:600}")
                .append(".FAIL{color:#b3261e;font-weight:700}.SKIP{color:#8a6d00;font-weight:600}code{background:#eef0f4;padding:1px 4px}")
                .append("</style></head><body>");
        b.append("<h1>floodgate bench ").append(esc(s.runId())).append("</h1><div class=\"sub\">")
                .append(esc(s.startedAt())).append(" · ").append(esc(String.valueOf(s.settings().get("scenario"))))
                .append(" · ").append(esc(String.valueOf(s.settings().get("loop")))).append(" · ")
                .append(esc(String.valueOf(s.settings().get("targets")))).append("</div>");
        b.append("<p><code>").append(esc(String.valueOf(s.settings().get("command")))).append("</code></p>");
        b.append(String.format(Locale.ROOT, "<p><b>%,d</b> requests in <b>%.1f s</b> = <b>%,.0f req/s</b>; stopped by %s.",
                s.requests(), s.seconds(), s.rate(), esc(s.stopReason().toLowerCase(Locale.ROOT).replace('_', ' '))));
        if (s.verification() != null) {
            b.append(s.verification().passed() ? " <span class=\"PASS\">All invariants hold.</span>"
                    : " <span class=\"FAIL\">An invariant failed.</span>");
        }
        b.append("</p>");
        b.append(String.format(Locale.ROOT, "<p>Goodput <b>%,.0f acknowledged orders/s</b> · admitted p99 <b>%.2f ms</b> · all p99 %.2f ms",
                s.goodput(), s.admitted().p99Ms(), s.latency().p99Ms()));
        if (s.timeouts() > 0) {
            b.append(String.format(Locale.ROOT, " · <b>%,d client timeouts</b>", s.timeouts()));
        }
        if (s.generator() != null && s.generator().cpuSeconds() >= 0) {
            b.append(String.format(Locale.ROOT, " · generator: %,d connections, %.2f cores of CPU",
                    s.generator().connections(), s.generator().cpuCores()));
        }
        b.append("</p>");
        if (s.clientBacklog() != null) {
            Summary.ClientBacklog c = s.clientBacklog();
            b.append(String.format(Locale.ROOT, "<p>Client backlog (the generator's own queueing, not the server's): %,d due,"
                            + " %,d sent; <b>%,d not sent on time</b> (%,d sent %.0f ms or more late, %,d never sent);"
                            + " peak %,d waiting for a connection; send delay p50 %.2f, p99 %.2f, max %.2f ms.</p>",
                    c.due(), c.sent(), c.notOnTime(), c.late(), c.lateAfterMs(), c.unsent(), c.peak(),
                    c.sendDelay().p50Ms(), c.sendDelay().p99Ms(), c.sendDelay().maxMs()));
        }

        List<Tally.Interval> t = s.timeline();
        double[] xs = column(t, Tally.Interval::atSeconds);
        b.append("<h2>Throughput</h2>");
        b.append(lineChart("requests per second, by outcome", xs, List.of(
                new Series("all", column(t, Tally.Interval::rate), "#1d2330"),
                new Series("acknowledged", column(t, i -> perSecond(i, i.acknowledged())), color(Outcome.Kind.ACKNOWLEDGED)),
                new Series("replayed", column(t, i -> perSecond(i, i.replayed())), color(Outcome.Kind.REPLAYED)),
                new Series("rejected (409)", column(t, i -> perSecond(i, i.rejected())), color(Outcome.Kind.REJECTED)),
                new Series("shed (429/503)", column(t, i -> perSecond(i, i.shed())), color(Outcome.Kind.SHED)),
                new Series("503/504", column(t, i -> perSecond(i, i.dependency())), color(Outcome.Kind.DEPENDENCY)),
                new Series("errors", column(t, i -> perSecond(i, i.errors())), color(Outcome.Kind.ERROR))), false, x -> fmt(x) + " s", Reports::fmt));
        b.append("<h2>Latency over time</h2>");
        b.append(lineChart("milliseconds per second of the run (log scale)", xs, List.of(
                new Series("p50", column(t, Tally.Interval::p50Ms)),
                new Series("p90", column(t, Tally.Interval::p90Ms)),
                new Series("p99", column(t, Tally.Interval::p99Ms)),
                new Series("max", column(t, Tally.Interval::maxMs)),
                new Series("admitted p99", column(t, Tally.Interval::admittedP99Ms))), true, x -> fmt(x) + " s", Reports::fmt));
        if (s.clientBacklog() != null) {
            b.append("<h2>Client backlog</h2>");
            b.append(lineChart("requests due and not yet sent (waiting for a connection), once a second", xs, List.of(
                    new Series("backlog", column(t, i -> i.backlog()))), false, x -> fmt(x) + " s", Reports::fmt));
        }
        if (t.stream().anyMatch(i -> i.stockLeft() >= 0)) {
            b.append("<h2>Stock left</h2>");
            b.append(lineChart("units available (item view)", xs, List.of(
                    new Series("available", column(t, i -> Math.max(0, i.stockLeft())))), false, x -> fmt(x) + " s", Reports::fmt));
        }
        b.append("<h2>Latency distribution</h2>");
        b.append(latencyTable(s));
        b.append(distributionChart(s));
        b.append("<h2>Outcomes</h2>");
        b.append(outcomeChart(s));
        if (s.verification() != null) {
            b.append("<h2>Verification</h2><table><tr><th></th><th>invariant</th><th>what was seen</th></tr>");
            for (Verification.Check c : s.verification().checks()) {
                b.append("<tr><td class=\"").append(c.verdict()).append("\">").append(c.verdict()).append("</td><td>")
                        .append(esc(c.name())).append("</td><td>").append(esc(c.detail())).append("</td></tr>");
            }
            b.append("</table>");
        }
        b.append("<h2>Settings</h2><table>");
        s.settings().forEach((k, v) -> b.append("<tr><td>").append(esc(k)).append("</td><td>").append(esc(String.valueOf(v))).append("</td></tr>"));
        b.append("</table></body></html>\n");
        return b.toString();
    }

    private record Series(String name, double[] ys, String color) {
        Series(String name, double[] ys) {
            this(name, ys, null);
        }
    }

    private static double perSecond(Tally.Interval i, long n) {
        return i.seconds() > 0 ? n / i.seconds() : 0;
    }

    private static double[] column(List<Tally.Interval> t, ToDoubleFunction<Tally.Interval> f) {
        return t.stream().mapToDouble(f).toArray();
    }

    private static String latencyTable(Summary s) {
        boolean open = s.serviceTime() != null;
        StringBuilder b = new StringBuilder("<table><tr><th>ms</th><th>count</th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th>");
        if (open) {
            b.append("<th>service p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th>");
        }
        b.append("</tr>");
        s.latencyByKind().forEach((kind, l) -> row(b, kind.name().toLowerCase(Locale.ROOT), l.latency(), open ? l.serviceTime() : null));
        row(b, "admitted (all but shed)", s.admitted(), s.admittedService());
        row(b, "all", s.latency(), s.serviceTime());
        b.append("</table><p class=\"sub\">").append(open
                ? "Latency from each request's intended send time (coordinated omission corrected); service time from its actual send."
                : "Closed loop: latency from the actual send.").append("</p>");
        return b.toString();
    }

    private static void row(StringBuilder b, String name, Summary.Latency l, Summary.Latency service) {
        b.append("<tr><td>").append(esc(name)).append("</td><td class=\"n\">").append(String.format(Locale.ROOT, "%,d", l.count())).append("</td>");
        cells(b, l);
        if (service != null) {
            cells(b, service);
        }
        b.append("</tr>");
    }

    private static void cells(StringBuilder b, Summary.Latency l) {
        for (double v : new double[]{l.p50Ms(), l.p90Ms(), l.p99Ms(), l.p999Ms(), l.maxMs()}) {
            b.append("<td class=\"n\">").append(String.format(Locale.ROOT, "%.2f", v)).append("</td>");
        }
    }

    private static String color(Outcome.Kind kind) {
        return switch (kind) {
            case ACKNOWLEDGED -> "#1f9d55";
            case REPLAYED -> "#0e7490";
            case REJECTED -> "#2f6fde";
            case SHED -> "#d97706";
            case DEPENDENCY -> "#6b21a8";
            case ERROR -> "#b3261e";
        };
    }

    /** Latency by percentile, x on the usual HdrHistogram scale: log of 1 / (1 - p). */
    private static String distributionChart(Summary s) {
        List<Series> series = new ArrayList<>();
        List<Summary.Point> points = s.latency().distribution();
        if (points.isEmpty()) {
            return "<p>No requests were answered.</p>";
        }
        double[] xs = points.stream().mapToDouble(p -> nines(p.percentile())).toArray();
        series.add(new Series(s.serviceTime() != null ? "latency (CO corrected)" : "latency",
                points.stream().mapToDouble(Summary.Point::ms).toArray()));
        StringBuilder b = new StringBuilder();
        b.append(lineChart("milliseconds at percentile (log scale)", xs, series, true, PERCENTILE_LABEL, Reports::fmt));
        if (s.serviceTime() != null && !s.serviceTime().distribution().isEmpty()) {
            List<Summary.Point> sp = s.serviceTime().distribution();
            b.append(lineChart("service time: milliseconds at percentile (log scale)",
                    sp.stream().mapToDouble(p -> nines(p.percentile())).toArray(),
                    List.of(new Series("service time", sp.stream().mapToDouble(Summary.Point::ms).toArray())), true,
                    PERCENTILE_LABEL, Reports::fmt));
        }
        return b.toString();
    }

    private static double nines(double percentile) {
        return Math.log10(1 / Math.max(1e-6, 1 - Math.min(percentile, 99.9999) / 100));
    }

    private static String percentileLabel(double nines) {
        double p = 100 * (1 - Math.pow(10, -nines));
        if (p < 1) {
            return "0%";
        }
        String text = String.format(Locale.ROOT, "%.6f", p);
        text = text.replaceAll("0+$", "").replaceAll("\\.$", "");
        return text + "%";
    }

    private static String outcomeChart(Summary s) {
        List<Summary.OutcomeCount> outcomes = s.outcomes();
        if (outcomes.isEmpty()) {
            return "<p>No requests.</p>";
        }
        int rowH = 24;
        int h = TOP + outcomes.size() * rowH + 8;
        long max = outcomes.stream().mapToLong(Summary.OutcomeCount::count).max().orElse(1);
        StringBuilder b = new StringBuilder();
        b.append("<svg width=\"").append(W).append("\" height=\"").append(h).append("\" viewBox=\"0 0 ").append(W).append(' ').append(h)
                .append("\" font-size=\"12\" font-family=\"system-ui,sans-serif\">");
        int labelW = 250;
        for (int i = 0; i < outcomes.size(); i++) {
            Summary.OutcomeCount o = outcomes.get(i);
            int y = TOP + i * rowH;
            double w = (W - labelW - 140) * (double) o.count() / max;
            String color = color(o.kind());
            b.append("<text x=\"8\" y=\"").append(y + 15).append("\">").append(esc(o.label())).append("</text>");
            b.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"16\" fill=\"%s\"/>", labelW, y + 3, Math.max(1, w), color));
            b.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\">%,d (%.1f%%)</text>", labelW + Math.max(1, w) + 6, y + 15,
                    o.count(), s.requests() == 0 ? 0.0 : 100.0 * o.count() / s.requests()));
        }
        b.append("<text x=\"8\" y=\"16\" fill=\"#667\">green acknowledged · teal replayed · blue rejected by the sale · orange shed · purple 503/504 · red errors</text>");
        return b.append("</svg>").toString();
    }

    /** A line chart; {@code logY} plots on a log scale (values at or below 0 are lifted to the smallest positive). */
    private static String lineChart(String title, double[] xs, List<Series> series, boolean logY,
                                    DoubleFunction<String> xLabel, DoubleFunction<String> yLabel) {
        StringBuilder b = new StringBuilder();
        b.append("<svg width=\"").append(W).append("\" height=\"").append(H).append("\" viewBox=\"0 0 ").append(W).append(' ').append(H)
                .append("\" font-size=\"11\" font-family=\"system-ui,sans-serif\">");
        b.append("<text x=\"").append(LEFT).append("\" y=\"16\" font-size=\"12\" fill=\"#445\">").append(esc(title)).append("</text>");
        if (xs.length == 0) {
            return b.append("<text x=\"").append(LEFT).append("\" y=\"60\">no data</text></svg>").toString();
        }
        double xMin = xs[0];
        double xMax = xs[xs.length - 1];
        if (xMax <= xMin) {
            xMax = xMin + 1;
        }
        double yMin = Double.MAX_VALUE;
        double yMax = 0;
        for (Series s : series) {
            for (double y : s.ys()) {
                yMax = Math.max(yMax, y);
                if (y > 0) {
                    yMin = Math.min(yMin, y);
                }
            }
        }
        if (yMax <= 0) {
            yMax = 1;
        }
        double lo;
        double hi;
        if (logY) {
            lo = Math.floor(Math.log10(yMin == Double.MAX_VALUE ? 0.1 : yMin));
            hi = Math.ceil(Math.log10(yMax));
            if (hi <= lo) {
                hi = lo + 1;
            }
        } else {
            lo = 0;
            hi = niceCeiling(yMax);
        }
        int pw = W - LEFT - RIGHT;
        int ph = H - TOP - BOTTOM;
        double fxMin = xMin;
        double fxSpan = xMax - xMin;
        DoubleFunction<Double> px = x -> LEFT + pw * (x - fxMin) / fxSpan;
        double flo = lo;
        double fhi = hi;
        DoubleFunction<Double> py = y -> {
            double v = logY ? Math.log10(Math.max(y, Math.pow(10, flo))) : y;
            return TOP + ph - ph * (v - flo) / (fhi - flo);
        };
        // grid and y labels
        int yTicks = logY ? (int) (hi - lo) : 4;
        for (int i = 0; i <= yTicks; i++) {
            double v = logY ? Math.pow(10, lo + i) : hi * i / yTicks;
            double y = py.apply(v);
            b.append(String.format(Locale.ROOT, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#eceef2\"/>", LEFT, W - RIGHT, y, y));
            b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" fill=\"#667\">%s</text>", LEFT - 6, y + 4, esc(yLabel.apply(v))));
        }
        boolean ninesScale = xLabel == PERCENTILE_LABEL; // the same function object: the nines axis ticks at 90%, 99%, ...
        int xTicks = ninesScale ? (int) Math.floor(xMax) : 5;
        for (int i = 0; i <= xTicks; i++) {
            double v = ninesScale ? i : xMin + (xMax - xMin) * i / 5;
            b.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" fill=\"#667\">%s</text>", px.apply(v), H - BOTTOM + 16, esc(xLabel.apply(v))));
        }
        for (int s = 0; s < series.size(); s++) {
            double[] ys = series.get(s).ys();
            String color = series.get(s).color() != null ? series.get(s).color() : COLORS[s % COLORS.length];
            StringBuilder pts = new StringBuilder();
            for (int i = 0; i < Math.min(xs.length, ys.length); i++) {
                pts.append(String.format(Locale.ROOT, "%.1f,%.1f ", px.apply(xs[i]), py.apply(ys[i])));
            }
            b.append("<polyline fill=\"none\" stroke-width=\"1.8\" stroke=\"").append(color).append("\" points=\"").append(pts).append("\"/>");
            if (xs.length == 1) {
                b.append(String.format(Locale.ROOT, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>", px.apply(xs[0]), py.apply(ys[0]), color));
            }
            int lx = LEFT + 8 + s * 130;
            b.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"10\" height=\"10\" fill=\"%s\"/><text x=\"%d\" y=\"%d\">%s</text>",
                    lx, H - 14, color, lx + 14, H - 5, esc(series.get(s).name())));
        }
        return b.append("</svg>").toString();
    }

    private static double niceCeiling(double v) {
        double p = Math.pow(10, Math.floor(Math.log10(v)));
        for (double m : new double[]{1, 2, 2.5, 5, 10}) {
            if (m * p >= v) {
                return m * p;
            }
        }
        return 10 * p;
    }

    private static String fmt(double v) {
        if (v == 0) {
            return "0";
        }
        if (Math.abs(v) >= 1_000_000) {
            return String.format(Locale.ROOT, "%.1fM", v / 1_000_000).replace(".0M", "M");
        }
        if (Math.abs(v) >= 10_000) {
            return String.format(Locale.ROOT, "%.0fk", v / 1_000);
        }
        if (Math.abs(v) >= 10) {
            return String.format(Locale.ROOT, "%.0f", v);
        }
        if (Math.abs(v) >= 1) {
            return String.format(Locale.ROOT, "%.1f", v).replace(".0", "");
        }
        return String.format(Locale.ROOT, "%.2g", v);
    }

    static String esc(String s) {
        StringBuilder b = new StringBuilder(s.length() + 16);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '<' -> b.append("&lt;");
                case '>' -> b.append("&gt;");
                case '&' -> b.append("&amp;");
                case '"' -> b.append("&quot;");
                case '\'' -> b.append("&#39;");
                default -> b.append(c);
            }
        }
        return b.toString();
    }
}
