package io.floodgate.bench;

import io.floodgate.testing.Seeds;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class TallyTest {

    private static final long MS = 1_000_000L;

    @Test
    void percentilesMatchTheExactOnesWithinHistogramPrecision() {
        long seed = Seeds.seed("bench.tally.seed");
        SplittableRandom random = new SplittableRandom(seed);
        int n = 20_000;
        long[] micros = new long[n];
        Histogram h = new Histogram(3);
        for (int i = 0; i < n; i++) {
            // a long-tailed mix, like a service under load: mostly fast, a few very slow
            micros[i] = random.nextInt(100) < 97 ? 200 + random.nextInt(5_000) : 50_000 + random.nextInt(2_000_000);
            h.recordValue(micros[i]);
        }
        Arrays.sort(micros);
        Summary.Latency l = Summary.latency(h);
        assertThat(l.count()).isEqualTo(n);
        for (double[] pq : new double[][]{{50, l.p50Ms()}, {90, l.p90Ms()}, {99, l.p99Ms()}, {99.9, l.p999Ms()}}) {
            double exactMs = micros[(int) Math.ceil(pq[0] / 100 * n - 1e-9) - 1] / 1_000.0; // nearest rank
            assertThat(pq[1]).as("p%s (seed %d)", pq[0], seed).isCloseTo(exactMs, within(exactMs * 0.002 + 0.001));
        }
        assertThat(l.maxMs()).isCloseTo(micros[n - 1] / 1_000.0, within(micros[n - 1] / 1_000.0 * 0.002));
        assertThat(l.distribution()).isNotEmpty();
        assertThat(l.distribution().getLast().percentile()).isEqualTo(100.0);
        for (int i = 1; i < l.distribution().size(); i++) {
            assertThat(l.distribution().get(i).ms()).isGreaterThanOrEqualTo(l.distribution().get(i - 1).ms());
        }
    }

    @Test
    void anEmptyRunHasZeroLatencyRatherThanNaN() {
        Summary.Latency l = Summary.latency(new Histogram(3));
        assertThat(l.count()).isZero();
        assertThat(l.p99Ms()).isZero();
        assertThat(l.distribution()).isEmpty();
    }

    @Test
    void latencyCountsFromTheIntendedSendTimeAndServiceTimeFromTheActualOne() {
        long start = 1_000 * MS;
        Tally tally = new Tally(start);
        // intended at +0, sent 40 ms late (the schedule fell behind), answered 10 ms after sending
        tally.record(start, start + 40 * MS, start + 50 * MS, Outcome.of(201, null));
        tally.tick(start + 1_000 * MS, -1);
        assertThat(tally.totalLatency().getMaxValue() / 1_000.0).isCloseTo(50, within(0.1));
        assertThat(tally.totalService().getMaxValue() / 1_000.0).isCloseTo(10, within(0.1));
    }

    @Test
    void eachTickCountsItsOwnIntervalByKindAndTheTotalsAddUp() {
        long start = 0;
        Tally tally = new Tally(start);
        for (int i = 0; i < 30; i++) {
            tally.record(start, start, start + MS, Outcome.of(201, null));
        }
        for (int i = 0; i < 20; i++) {
            tally.record(start, start, start + 2 * MS, Outcome.of(409, "SOLD_OUT"));
        }
        Tally.Interval first = tally.tick(1_000 * MS, 7);
        tally.record(start, start, start + MS, Outcome.of(503, "OVERLOADED"));
        tally.record(start, start, start + MS, Outcome.transport(new java.net.ConnectException("refused")));
        Tally.Interval second = tally.tick(1_500 * MS, 0);

        assertThat(first.requests()).isEqualTo(50);
        assertThat(first.acknowledged()).isEqualTo(30);
        assertThat(first.rejected()).isEqualTo(20);
        assertThat(first.rate()).isEqualTo(50.0);
        assertThat(first.stockLeft()).isEqualTo(7);
        assertThat(second.requests()).isEqualTo(2);
        assertThat(second.shed()).isEqualTo(1);
        assertThat(second.errors()).isEqualTo(1);
        assertThat(second.seconds()).isEqualTo(0.5);
        assertThat(second.rate()).isEqualTo(4.0);

        List<Summary.OutcomeCount> outcomes = tally.outcomes();
        assertThat(outcomes).extracting(Summary.OutcomeCount::label)
                .containsExactly("201", "409 SOLD_OUT", "503 OVERLOADED", "transport ConnectException");
        assertThat(Summary.byKind(outcomes)).containsEntry(Outcome.Kind.ACKNOWLEDGED, 30L).containsEntry(Outcome.Kind.ERROR, 1L);
        assertThat(tally.totalLatency().getTotalCount()).isEqualTo(52);
    }

    @Test
    void outcomesAreClassedAsTheSaleSeesThem() {
        assertThat(Outcome.of(201, null).kind()).isEqualTo(Outcome.Kind.ACKNOWLEDGED);
        assertThat(Outcome.of(202, null).kind()).isEqualTo(Outcome.Kind.ACKNOWLEDGED);
        assertThat(Outcome.of(200, null).kind()).isEqualTo(Outcome.Kind.REPLAYED);
        assertThat(Outcome.ofLive(200, null).kind()).isEqualTo(Outcome.Kind.ACKNOWLEDGED);
        assertThat(Outcome.of(409, "PER_USER_LIMIT").kind()).isEqualTo(Outcome.Kind.REJECTED);
        assertThat(Outcome.of(429, "RATE_LIMITED").kind()).isEqualTo(Outcome.Kind.SHED);
        assertThat(Outcome.of(503, "OVERLOADED").kind()).isEqualTo(Outcome.Kind.SHED);
        assertThat(Outcome.of(503, "DEPENDENCY_UNAVAILABLE").kind()).isEqualTo(Outcome.Kind.DEPENDENCY);
        assertThat(Outcome.of(504, "DEADLINE_EXCEEDED").kind()).isEqualTo(Outcome.Kind.DEPENDENCY);
        assertThat(Outcome.of(500, "INTERNAL").kind()).isEqualTo(Outcome.Kind.ERROR);
        assertThat(Outcome.of(400, "INVALID_REQUEST").label()).isEqualTo("400 INVALID_REQUEST");
        Outcome timeout = Outcome.transport(new java.net.SocketTimeoutException("no answer"));
        assertThat(timeout.label()).isEqualTo(Outcome.TIMEOUT_LABEL);
        assertThat(timeout.kind()).isEqualTo(Outcome.Kind.ERROR);
        assertThat(Outcome.transport(new java.net.ConnectException("refused")).label()).isEqualTo("transport ConnectException");
        assertThat(Outcome.field("{\"orderId\":\"abc-1\",\"sku\":\"S\"}", "orderId")).isEqualTo("abc-1");
        assertThat(Outcome.field("{\"status\":409}", "code")).isNull();
    }

    @Test
    void namesTraceAnOrderBackToItsKey() {
        Names names = new Names("r1");
        assertThat(names.seqOfRequestId(names.requestId(1234, 2))).isEqualTo(1234);
        assertThat(names.seqOfRequestId("other-12:0")).isEqualTo(-1);
        assertThat(names.seqOfRequestId("r1-x:0")).isEqualTo(-1);
        assertThat(names.userIndex(names.user(77))).isEqualTo(77);
        assertThat(names.key(5)).isEqualTo("r1-5");
    }
}
