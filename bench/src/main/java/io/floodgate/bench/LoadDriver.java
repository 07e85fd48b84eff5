package io.floodgate.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

/**
 * Drives the load: {@code concurrency} workers, one virtual thread each, every one with its own
 * transport channel (one keep-alive connection per target, opened before the clock starts),
 * taking request slots from one shared counter until told to stop.
 *
 * <p><b>Closed loop</b> (no rate): a worker sends its next request as soon as the last one is
 * answered, so there are always {@code concurrency} requests in flight and the service sets the
 * pace. <b>Open loop</b> (a rate): slot {@code i} is due at its time in the {@link Schedule},
 * whatever the connections are doing; a free worker takes the oldest slot not yet taken, parks
 * until it is due (or sends at once if it is late) and charges the request's latency from the due
 * time. When every connection is busy, the due slots wait for one, and the wait shows up in the
 * latencies (coordinated omission corrected) and in the {@link Tally}'s client backlog (send
 * delay, late and never-sent requests), instead of quietly lowering the offered load.
 *
 * <p>A connection costs a parked virtual thread, a socket and a small read buffer: nothing polls.
 * A worker waiting for its slot parks until the slot is due; {@link Run#stop} unparks them all.
 *
 * <p>The run ends at the first of: the duration, the request cap, a {@code SOLD_OUT} answer (when
 * asked to stop on it). Requests already in flight then finish and are counted.
 */
final class LoadDriver {

    /** Why the load stopped. */
    enum StopReason { DURATION, REQUESTS, SOLD_OUT, INTERRUPTED }

    /** Connections opened at once before a run: enough to be quick, few enough for the server's accept backlog. */
    private static final int CONNECTING_AT_ONCE = 128;
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

    /** Channels opened ahead of a run, and how many of their connections could not be opened then. */
    record Channels(List<Transport.Channel> channels, int failed, String firstFailure) {
    }

    /**
     * Opens one channel per worker and connects it to every target now, so that connecting is not
     * charged to the run's first requests. A connection that cannot be opened is counted and left
     * to be opened on first use.
     */
    Channels openChannels() throws InterruptedException {
        List<Transport.Channel> channels = new ArrayList<>(plan.concurrency());
        for (int i = 0; i < plan.concurrency(); i++) {
            channels.add(transport.channel());
        }
        AtomicInteger failed = new AtomicInteger();
        AtomicReference<String> first = new AtomicReference<>();
        Semaphore connecting = new Semaphore(CONNECTING_AT_ONCE);
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (Transport.Channel channel : channels) {
                connecting.acquire();
                pool.execute(() -> {
                    try {
                        channel.connect();
                    } catch (IOException e) {
                        failed.incrementAndGet();
                        first.compareAndSet(null, e.toString());
                    } finally {
                        connecting.release();
                    }
                });
            }
        }
        return new Channels(channels, failed.get(), first.get());
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
        private final StopReason endReason;
        private final Schedule schedule;
        private final List<Transport.Channel> channels;
        /** Filled by {@link #start}; read by {@link #stop} to unpark. A worker started after a stop sees the stop first. */
        private final Thread[] workers;

        private Run(Tally tally, KeyBook keys, Duration duration, long startNanos, List<Transport.Channel> channels) {
            this.tally = tally;
            this.keys = keys;
            this.duration = duration;
            this.startNanos = startNanos;
            this.channels = channels;
            this.workers = new Thread[plan.concurrency()];
            long durationEnd = startNanos + duration.toNanos();
            if (plan.openLoop()) {
                this.schedule = schedule(plan, startNanos, duration);
                // with a request cap, the schedule ends after its last slot is due
                long capEnd = plan.maxRequests() > 0 ? schedule.dueAt(plan.maxRequests() - 1) + 1 : durationEnd;
                this.endNanos = capEnd - durationEnd < 0 ? capEnd : durationEnd;
                this.endReason = capEnd - durationEnd < 0 ? StopReason.REQUESTS : StopReason.DURATION;
            } else {
                this.schedule = null;
                this.endNanos = durationEnd;
                this.endReason = StopReason.DURATION;
            }
        }

        /** Starts the workers; returns at once. */
        Run start() {
            for (int w = 0; w < workers.length; w++) {
                int worker = w;
                Transport.Channel channel = channels != null ? channels.get(w) : transport.channel();
                workers[w] = Thread.ofVirtual().name("bench-worker-" + w).start(() -> work(worker, channel));
            }
            return this;
        }

        long startNanos() {
            return startNanos;
        }

        /** When the clock stops the run: the end of the duration, or the last slot of a capped open loop. */
        long endNanos() {
            return endNanos;
        }

        /** The reason to give when the clock reaches {@link #endNanos()}. */
        StopReason endReason() {
            return endReason;
        }

        Duration duration() {
            return duration;
        }

        /** Asks the workers to stop (the first reason given wins) and wakes those waiting for a slot. */
        void stop(StopReason reason) {
            if (stopped.compareAndSet(null, reason)) {
                tally.scheduleStopped(System.nanoTime());
                for (Thread t : workers) {
                    if (t != null) {
                        LockSupport.unpark(t);
                    }
                }
            }
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
                if (t != null && (left <= 0 || !t.join(Duration.ofNanos(left)))) {
                    return false;
                }
            }
            return true;
        }

        private void work(int worker, Transport.Channel channel) {
            SplittableRandom random = new SplittableRandom(plan.seed() * 31 + worker);
            long[] recentSeq = new long[RECENT];
            int[] recentUser = new int[RECENT];
            int[] recentAttempts = new int[RECENT];
            int recentCount = 0;
            int targets = plan.targets().size();
            try (channel) {
                while (!stopping()) {
                    long slot = slots.getAndIncrement();
                    long intended;
                    if (schedule != null) {
                        if (!schedule.contains(slot)) {
                            break; // the schedule is done; the clock stops the run at its end
                        }
                        intended = schedule.dueAt(slot);
                        if (!sleepUntil(intended)) {
                            break;
                        }
                    } else {
                        if (plan.maxRequests() > 0 && slot >= plan.maxRequests()) {
                            stop(StopReason.REQUESTS);
                            break;
                        }
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

        /** The send time, told to the tally in an open loop (the generator's own lateness). */
        private long sending(long intended) {
            long sent = System.nanoTime();
            if (schedule != null) {
                tally.sending(intended, sent);
            }
            return sent;
        }

        private void sendLive(Transport.Channel channel, int target, long intended) {
            long sent = sending(intended);
            Outcome outcome;
            try {
                Transport.Reply reply = channel.send(target, liveRequest);
                outcome = Outcome.ofLive(reply.status(), reply.status() >= 400 ? Outcome.field(reply.body(), "code") : null);
            } catch (IOException e) {
                outcome = Outcome.transport(e);
            }
            tally.record(plan.openLoop() ? intended : sent, sent, System.nanoTime(), outcome);
        }

        private void sendOrder(Transport.Channel channel, int target, long intended, long seq, int user, int attempt) {
            Transport.Request request = new Transport.Request("POST", "/api/v1/orders", names.key(seq),
                    names.requestId(seq, attempt), body(user));
            long sent = sending(intended);
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
                LockSupport.parkNanos(this, wait); // stop() unparks
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

    /** The open loop's schedule for a run starting at {@code startNanos}; null in a closed loop. */
    static Schedule schedule(Plan plan, long startNanos, Duration duration) {
        return plan.openLoop() ? Schedule.of(plan.rate(), startNanos, startNanos + duration.toNanos(), plan.maxRequests()) : null;
    }

    /** A run starting at {@code startNanos} on these channels, one per worker (null: opened on first use). */
    Run newRun(Tally tally, KeyBook keys, Duration duration, long startNanos, List<Transport.Channel> channels) {
        return new Run(tally, keys, duration, startNanos, channels);
    }

    /** Runs for {@code duration} and throws the measurements away: JIT warm-up for both sides. */
    void warmUp(Duration duration) throws InterruptedException {
        long start = System.nanoTime();
        Run run = new Run(new Tally(start, schedule(plan, start, duration)), new KeyBook(1), duration, start, null).start();
        Thread.sleep(duration);
        run.stop(StopReason.DURATION);
        run.awaitWorkers(plan.timeout().plusSeconds(5));
    }
}
