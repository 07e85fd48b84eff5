package io.floodgate.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

/**
 * Drives the load: {@code concurrency} workers, one virtual thread each, every one with its own
 * transport channel, taking request slots from one shared counter until told to stop.
 *
 * <p><b>Closed loop</b> (no rate): a worker sends its next request as soon as the last one is
 * answered, so there are always {@code concurrency} requests in flight and the service sets the
 * pace. <b>Open loop</b> (a rate): slot {@code i} is due at {@code start + i / rate}; a worker
 * takes the next slot, sleeps until it is due (or sends at once if it is late) and charges the
 * request's latency from the due time. When the service slows down, the workers fall behind the
 * schedule and the delay shows up in the latencies, instead of quietly lowering the offered load
 * (coordinated omission). The schedule is shared, so a slow connection does not hold back slots
 * other workers could send.
 *
 * <p>The run ends at the first of: the duration, the request cap, a {@code SOLD_OUT} answer (when
 * asked to stop on it). Requests already in flight then finish and are counted.
 */
final class LoadDriver {

    /** Why the load stopped. */
    enum StopReason { DURATION, REQUESTS, SOLD_OUT, INTERRUPTED }

    private static final int RECENT = 256;

    private final Plan plan;
    private final Transport transport;
    private final Names names;
    private final Transport.Request liveRequest = new Transport.Request("GET", "/health/live", null, null, null);

    LoadDriver(Plan plan, Transport transport) {
        this.plan = plan;
        this.transport = transport;
        this.names = new Names(plan.runId());
    }

    /** One run of the load, measured into {@code tally} and, in a sale, {@code keys}. */
    final class Run {
        private final Tally tally;
        private final KeyBook keys;
        private final Duration duration;
        private final AtomicLong slots = new AtomicLong();
        private final AtomicLong keySeq = new AtomicLong();
        private final AtomicReference<StopReason> stopped = new AtomicReference<>();
        private final long startNanos;
        private final long endNanos;
        private final double nanosPerSlot;
        private final List<Thread> workers = new ArrayList<>();

        private Run(Tally tally, KeyBook keys, Duration duration, long startNanos) {
            this.tally = tally;
            this.keys = keys;
            this.duration = duration;
            this.startNanos = startNanos;
            this.endNanos = startNanos + duration.toNanos();
            this.nanosPerSlot = plan.openLoop() ? 1e9 / plan.rate() : 0;
        }

        /** Starts the workers; returns at once. */
        Run start() {
            for (int w = 0; w < plan.concurrency(); w++) {
                int worker = w;
                workers.add(Thread.ofVirtual().name("bench-worker-" + w).start(() -> work(worker)));
            }
            return this;
        }

        long startNanos() {
            return startNanos;
        }

        long endNanos() {
            return endNanos;
        }

        Duration duration() {
            return duration;
        }

        /** Asks the workers to stop (the first reason given wins). */
        void stop(StopReason reason) {
            stopped.compareAndSet(null, reason);
        }

        StopReason stopReason() {
            return stopped.get();
        }

        boolean stopping() {
            return stopped.get() != null;
        }

        /**
         * Waits for every worker to finish its request in flight.
         *
         * @return false if some were still busy after {@code grace}
         */
        boolean awaitWorkers(Duration grace) throws InterruptedException {
            long deadline = System.nanoTime() + grace.toNanos();
            for (Thread t : workers) {
                long left = deadline - System.nanoTime();
                if (left <= 0 || !t.join(Duration.ofNanos(left))) {
                    return false;
                }
            }
            return true;
        }

        private void work(int worker) {
            SplittableRandom random = new SplittableRandom(plan.seed() * 31 + worker);
            long[] recentSeq = new long[RECENT];
            int[] recentUser = new int[RECENT];
            int[] recentAttempts = new int[RECENT];
            int recentCount = 0;
            int targets = plan.targets().size();
            try (Transport.Channel channel = transport.channel()) {
                while (!stopping()) {
                    long slot = slots.getAndIncrement();
                    if (plan.maxRequests() > 0 && slot >= plan.maxRequests()) {
                        stop(StopReason.REQUESTS);
                        break;
                    }
                    long intended;
                    if (plan.openLoop()) {
                        intended = startNanos + (long) (slot * nanosPerSlot);
                        if (intended - endNanos >= 0) {
                            stop(StopReason.DURATION);
                            break;
                        }
                        if (!sleepUntil(intended)) {
                            break;
                        }
                    } else {
                        intended = System.nanoTime();
                        if (intended - endNanos >= 0) {
                            stop(StopReason.DURATION);
                            break;
                        }
                    }
                    int target = (int) (slot % targets);
                    if (plan.scenario() == Plan.Scenario.LIVE) {
                        sendLive(channel, target, intended);
                        continue;
                    }
                    long seq;
                    int user;
                    int attempt;
                    if (recentCount > 0 && plan.retryShare() > 0 && random.nextDouble() < plan.retryShare()) {
                        int r = random.nextInt(Math.min(recentCount, RECENT));
                        seq = recentSeq[r];
                        user = recentUser[r];
                        attempt = ++recentAttempts[r];
                    } else {
                        seq = keySeq.getAndIncrement();
                        keys.issued(seq + 1);
                        user = random.nextInt(plan.users());
                        attempt = 0;
                        int r = recentCount++ % RECENT;
                        recentSeq[r] = seq;
                        recentUser[r] = user;
                        recentAttempts[r] = 0;
                    }
                    keys.touched(user);
                    sendOrder(channel, target, intended, seq, user, attempt);
                }
            }
        }

        private void sendLive(Transport.Channel channel, int target, long intended) {
            long sent = System.nanoTime();
            Outcome outcome;
            try {
                Transport.Reply reply = channel.send(target, liveRequest);
                outcome = Outcome.of(reply.status(), reply.status() >= 400 ? Outcome.field(reply.body(), "code") : null);
            } catch (IOException e) {
                outcome = Outcome.transport(e);
            }
            tally.record(plan.openLoop() ? intended : sent, sent, System.nanoTime(), outcome);
        }

        private void sendOrder(Transport.Channel channel, int target, long intended, long seq, int user, int attempt) {
            Transport.Request request = new Transport.Request("POST", "/api/v1/orders", names.key(seq),
                    names.requestId(seq, attempt), body(user));
            long sent = System.nanoTime();
            Outcome outcome;
            try {
                Transport.Reply reply = channel.send(target, request);
                int status = reply.status();
                if (status == 200 || status == 201 || status == 202) {
                    keys.acknowledged(seq, Outcome.field(reply.body(), "orderId"), user, plan.quantity(), reply.replayed());
                    outcome = Outcome.of(status, null);
                } else {
                    outcome = Outcome.of(status, Outcome.field(reply.body(), "code"));
                    if ("SOLD_OUT".equals(outcome.code()) && plan.stopOnSoldOut()) {
                        stop(StopReason.SOLD_OUT);
                    }
                }
            } catch (IOException e) {
                keys.unknown(seq);
                outcome = Outcome.transport(e);
            }
            tally.record(plan.openLoop() ? intended : sent, sent, System.nanoTime(), outcome);
        }

        /** Parks until {@code due} or until told to stop; false if stopped meanwhile. */
        private boolean sleepUntil(long due) {
            while (true) {
                if (stopping()) {
                    return false;
                }
                long wait = due - System.nanoTime();
                if (wait <= 0) {
                    return true;
                }
                LockSupport.parkNanos(Math.min(wait, 50_000_000L));
                if (Thread.interrupted()) {
                    stop(StopReason.INTERRUPTED);
                    return false;
                }
            }
        }
    }

    private byte[] body(int user) {
        return ("{\"userId\":\"" + names.user(user) + "\",\"sku\":\"" + plan.sku() + "\",\"quantity\":"
                + plan.quantity() + "}").getBytes(StandardCharsets.US_ASCII);
    }

    /** A run starting now; call {@link Run#start()} to send. */
    Run newRun(Tally tally, KeyBook keys, Duration duration, long startNanos) {
        return new Run(tally, keys, duration, startNanos);
    }

    /** Runs for {@code duration} and throws the measurements away: JIT warm-up for both sides. */
    void warmUp(Duration duration) throws InterruptedException {
        long start = System.nanoTime();
        Run run = new Run(new Tally(start), new KeyBook(1), duration, start).start();
        Thread.sleep(duration);
        run.stop(StopReason.DURATION);
        run.awaitWorkers(plan.timeout().plusSeconds(5));
    }
}
