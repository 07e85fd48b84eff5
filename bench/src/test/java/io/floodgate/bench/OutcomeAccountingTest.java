package io.floodgate.bench;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * The overload accounting: a histogram per kind of outcome, goodput, the p99 of admitted requests,
 * and the generator's own backlog in an open loop. Times are given, not measured, except in the
 * last test, which asserts only what causality guarantees.
 */
class OutcomeAccountingTest {

    private static final long MS = 1_000_000L;

    @Test
    void fastShedsDoNotHideSlowAdmittedRequests() {
        Tally tally = new Tally(0);
        for (int i = 0; i < 990; i++) {
            tally.record(0, 0, MS, Outcome.of(503, "OVERLOADED"));
        }
        for (int i = 0; i < 10; i++) {
            // intended at 0, sent at 100 ms (waited for a connection), answered at 500 ms
            tally.record(0, 100 * MS, 500 * MS, Outcome.of(201, null));
        }
        tally.tick(1_000 * MS, -1);

        Summary.Latency all = Summary.latency(tally.totalLatency());
        Summary.Latency admitted = Summary.latency(tally.admittedLatency());
        assertThat(all.count()).isEqualTo(1_000);
        assertThat(all.p99Ms()).isCloseTo(1, within(0.01));
        assertThat(admitted.count()).isEqualTo(10);
        assertThat(admitted.p99Ms()).isCloseTo(500, within(0.5));
        assertThat(Summary.latency(tally.admittedService()).p99Ms()).isCloseTo(400, within(0.5));

        Map<Outcome.Kind, Summary.KindLatency> byKind = tally.byKind();
        assertThat(byKind).containsOnlyKeys(Outcome.Kind.SHED, Outcome.Kind.ACKNOWLEDGED);
        assertThat(byKind.get(Outcome.Kind.SHED).latency().maxMs()).isCloseTo(1, within(0.01));
        assertThat(byKind.get(Outcome.Kind.ACKNOWLEDGED).latency().p50Ms()).isCloseTo(500, within(0.5));
        assertThat(byKind.get(Outcome.Kind.ACKNOWLEDGED).serviceTime().p50Ms()).isCloseTo(400, within(0.5));
    }

    @Test
    void admittedMeansEverythingButTheShedAndGoodputOnlyNewOrders() {
        Tally tally = new Tally(0);
        tally.record(0, 0, 10 * MS, Outcome.of(201, null));
        tally.record(0, 0, 20 * MS, Outcome.of(202, null));
        tally.record(0, 0, 30 * MS, Outcome.of(200, null));
        tally.record(0, 0, 40 * MS, Outcome.of(409, "SOLD_OUT"));
        tally.record(0, 0, 50 * MS, Outcome.of(503, "DEPENDENCY_UNAVAILABLE"));
        tally.record(0, 0, 60 * MS, Outcome.transport(new java.net.SocketTimeoutException()));
        tally.record(0, 0, 70 * MS, Outcome.of(429, "RATE_LIMITED"));
        tally.record(0, 0, 80 * MS, Outcome.of(503, "OVERLOADED"));
        Tally.Interval second = tally.tick(2_000 * MS, -1);

        assertThat(tally.admittedLatency().getTotalCount()).isEqualTo(6);
        assertThat(Summary.latency(tally.admittedLatency()).maxMs()).isCloseTo(60, within(0.1));
        assertThat(second.admittedP99Ms()).isCloseTo(60, within(0.1));
        assertThat(second.p99Ms()).isCloseTo(80, within(0.1));
        assertThat(tally.count(Outcome.Kind.ACKNOWLEDGED)).isEqualTo(2);
        assertThat(tally.count(Outcome.Kind.REPLAYED)).isEqualTo(1);
        assertThat(second.acknowledged()).isEqualTo(2);
        assertThat(second.shed()).isEqualTo(2);
        assertThat(second.dependency()).isEqualTo(1);
        assertThat(second.errors()).isEqualTo(1);
        assertThat(second.backlog()).as("a closed loop has no schedule to fall behind").isZero();
        assertThat(tally.clientBacklog(2_000 * MS)).isNull();
    }

    @Test
    void theBacklogIsWhatWasDueButNotSentAndLateSendsAreCounted() {
        // 1,000 requests per second from 0 for one second: slot i is due at i ms
        Schedule schedule = Schedule.of(1_000, 0, 1_000 * MS, 0);
        Tally tally = new Tally(0, schedule);
        for (int i = 0; i < 300; i++) {
            long due = i * MS;
            tally.sending(due, i < 200 ? due : due + 20 * MS); // the last 100 left 20 ms late
        }
        Tally.Interval half = tally.tick(500 * MS, -1);
        assertThat(half.backlog()).as("slots 0..500 due, 300 sent").isEqualTo(201);

        tally.scheduleStopped(600 * MS); // e.g. sold out: nothing due after this is owed
        tally.tick(2_000 * MS, -1);
        Summary.ClientBacklog backlog = tally.clientBacklog(2_000 * MS);
        assertThat(backlog.due()).isEqualTo(601);
        assertThat(backlog.sent()).isEqualTo(300);
        assertThat(backlog.late()).isEqualTo(100);
        assertThat(backlog.unsent()).isEqualTo(301);
        assertThat(backlog.notOnTime()).isEqualTo(401);
        assertThat(backlog.peak()).isEqualTo(301);
        assertThat(backlog.sendDelay().count()).isEqualTo(300);
        assertThat(backlog.sendDelay().maxMs()).isCloseTo(20, within(0.05));
    }

    @Test
    void theScheduleIsTimeAloneCappedByTheEndAndTheRequestCap() {
        Schedule s = Schedule.of(4, 0, 1_000 * MS, 0); // due at 0, 250, 500, 750 ms
        assertThat(s.dueAt(3)).isEqualTo(750 * MS);
        assertThat(s.dueBy(-1)).isZero();
        assertThat(s.dueBy(0)).isEqualTo(1);
        assertThat(s.dueBy(250 * MS - 1)).isEqualTo(1);
        assertThat(s.dueBy(250 * MS)).isEqualTo(2);
        assertThat(s.dueBy(10_000 * MS)).isEqualTo(4);
        assertThat(s.slots()).isEqualTo(4);
        assertThat(s.contains(3)).isTrue();
        assertThat(s.contains(4)).isFalse();
        Schedule capped = Schedule.of(4, 0, 1_000 * MS, 3);
        assertThat(capped.slots()).isEqualTo(3);
        assertThat(capped.dueBy(10_000 * MS)).isEqualTo(3);
        assertThat(capped.contains(3)).isFalse();
    }

    @Test
    void tooFewFileDescriptorsIsAClearErrorThatSaysWhatWouldFit() {
        assertThat(OwnProcess.fileDescriptorProblem(5_000, 1, 100, 20_000)).isNull();
        String problem = OwnProcess.fileDescriptorProblem(5_000, 2, 100, 4_096);
        assertThat(problem).contains("--connections 5,000 to 2 targets needs about 10,228 file descriptors")
                .contains("may open 4,096").contains("ulimit -n 10228").contains("at most --connections 1,934");
    }

    @Test
    void requestsWaitingForABusyConnectionCountFromTheirScheduledTimeAndAsLate() throws Exception {
        CountDownLatch firstArrived = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger sends = new AtomicInteger();
        Transport stuckOnce = new Transport() {
            @Override
            public Channel channel() {
                return new Channel() {
                    @Override
                    public Reply send(int target, Request request) throws IOException {
                        if (sends.getAndIncrement() == 0) {
                            firstArrived.countDown();
                            try {
                                release.await();
                            } catch (InterruptedException e) {
                                throw new java.io.InterruptedIOException();
                            }
                        }
                        return new Reply(200, "", false);
                    }

                    @Override
                    public void close() {
                    }
                };
            }

            @Override
            public void close() {
            }
        };
        // one connection, 1,000 requests per second, three requests: due at 0, 1 and 2 ms
        Plan plan = new Plan("co1", List.of(URI.create("http://127.0.0.1:1")), Plan.Scenario.LIVE, "S", false, 0, 1, 1, 1,
                1, 1_000, Duration.ofSeconds(30), 3, false, 0, Duration.ofSeconds(5), Plan.Client.RAW, Duration.ZERO,
                null, null, 1, false, false);
        LoadDriver driver = new LoadDriver(plan, stuckOnce);
        long start = System.nanoTime();
        Tally tally = new Tally(start, LoadDriver.schedule(plan, start, plan.duration()));
        LoadDriver.Run run = driver.newRun(tally, new KeyBook(1), plan.duration(), start, null).start();
        firstArrived.await();
        Thread.sleep(50); // the only connection stays busy: slots 1 and 2 fall due and wait
        release.countDown();
        assertThat(run.awaitWorkers(Duration.ofSeconds(30))).isTrue();
        run.stop(run.endReason());
        long end = System.nanoTime();
        tally.tick(end, -1);

        assertThat(run.endReason()).isEqualTo(LoadDriver.StopReason.REQUESTS);
        assertThat(sends.get()).isEqualTo(3);
        Summary.ClientBacklog backlog = tally.clientBacklog(end);
        assertThat(backlog.due()).isEqualTo(3);
        assertThat(backlog.sent()).isEqualTo(3);
        assertThat(backlog.unsent()).isZero();
        assertThat(backlog.late()).as("slots 1 and 2 could not leave before the first answer (slot 0 may be late too on a busy machine)")
                .isBetween(2L, 3L);
        assertThat(backlog.sendDelay().maxMs()).isGreaterThanOrEqualTo(45);
        // charged from the schedule: the wait for the connection is in the latency, not only in the send delay
        Summary.Latency ack = tally.byKind().get(Outcome.Kind.ACKNOWLEDGED).latency();
        assertThat(ack.count()).isEqualTo(3);
        assertThat(Summary.latency(tally.admittedLatency()).count()).isEqualTo(3);
        assertThat(tally.latency(Outcome.Kind.ACKNOWLEDGED).getValueAtPercentile(50) / 1_000.0)
                .as("the median request waited for the first").isGreaterThanOrEqualTo(45);
    }
}
