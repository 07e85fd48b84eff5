package io.floodgate.nemesis;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * Runs the {@link Schedule} against the {@link Cluster}: one lane (a virtual thread) per part of
 * the deployment, each running its part's faults one after another, with the fault's gap before
 * it and a rest after it; a fault starts only while fewer than {@code maxConcurrent} are on, so
 * faults on different parts overlap and two never break one part at once. Each fault heals what it
 * broke before it ends (an instance started again, SIGCONT, the broker started again, the lock
 * released, the proxy healed; the Redis faults end with a primary and an in-sync replica the
 * sentinels agree on), and each is recorded in the {@link History} when it starts and when it
 * ends, with what happened.
 *
 * <p>A fault that cannot be injected or healed (the broker does not start again, say) is a problem
 * of the harness, not a finding about the service: it is recorded and reported apart.
 */
final class Nemesis {

    /**
     * After a fault ends, its part is left alone this long, so that recovery is seen between
     * faults. Longest for the broker: while it is down no order can be logged (every answer is
     * 503) and no instance can start, and its restart alone takes 10-25 s here; a third long run
     * with a rest of 8 s had the broker down most of the time and sold next to nothing.
     */
    /** The short form's first fault of each kind: one of each, soon, is what it is for. */
    private static final long COVERING_REST_MS = 2_000;

    private static long restMillis(FaultKind.Part part) {
        return switch (part) {
            case INSTANCES -> 4_000;
            case KAFKA -> 40_000;
            case REDIS -> 3_000;
            case STORE -> 6_000;
        };
    }

    private final Cluster cluster;
    private final History history;
    private final Schedule schedule;
    private final int maxConcurrent;
    final Queue<String> problems = new ConcurrentLinkedQueue<>();
    /** Instances found dead when a fault came to kill them (a SIGKILL's exit is 137). */
    final Queue<String> crashes = new ConcurrentLinkedQueue<>();
    private final AtomicInteger started = new AtomicInteger();
    /**
     * An instance cannot start while the broker is down (it exits: "cannot start: kafka: no Kafka
     * broker answered"), so a restart holds this shared and a kill of the broker holds it alone:
     * otherwise a busy broker lane keeps the instances' lane restarting for minutes.
     */
    private final ReentrantReadWriteLock brokerUse = new ReentrantReadWriteLock(true);
    private int active;

    Nemesis(Cluster cluster, History history, Schedule schedule, int maxConcurrent) {
        this.cluster = cluster;
        this.history = history;
        this.schedule = schedule;
        this.maxConcurrent = maxConcurrent;
    }

    /**
     * Runs the lanes until {@code phaseEndMs} (run time; in the short form, also until every kind
     * ran once) and the faults they started have ended. Returns the number of faults started.
     */
    int run(long phaseEndMs) {
        List<Thread> lanes = new ArrayList<>();
        for (FaultKind.Part part : schedule.parts()) {
            lanes.add(Thread.ofVirtual().name("nemesis-lane-" + part).start(() -> lane(part, phaseEndMs)));
        }
        for (Thread lane : lanes) {
            try {
                lane.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        return started.get();
    }

    private void lane(FaultKind.Part part, long phaseEndMs) {
        long rest = 0;
        while (true) {
            Schedule.Fault f = schedule.next(part);
            if (!f.covering() && history.now() + rest + f.gapMs() >= phaseEndMs) {
                return;
            }
            Cluster.sleep(rest + f.gapMs());
            if (!awaitSlot(f.covering() ? Long.MAX_VALUE : phaseEndMs)) {
                return;
            }
            started.incrementAndGet();
            try {
                inject(f);
            } finally {
                release();
            }
            rest = f.covering() ? COVERING_REST_MS : restMillis(part);
        }
    }

    /** Waits until fewer than {@code maxConcurrent} faults are on; false if the phase ended first. */
    private synchronized boolean awaitSlot(long untilMs) {
        while (active >= maxConcurrent) {
            if (history.now() >= untilMs) {
                return false;
            }
            try {
                wait(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        active++;
        return true;
    }

    private synchronized void release() {
        active--;
        notifyAll();
    }

    private void inject(Schedule.Fault f) {
        long id = history.nextId();
        long start = history.now();
        String target = "-";
        StringBuilder detail = new StringBuilder();
        try {
            Cluster.Node node = null;
            if (f.kind().part == FaultKind.Part.INSTANCES) {
                int leader = f.leader() ? cluster.leader() : -1;
                node = cluster.nodes.get(leader >= 0 ? leader : f.node());
                target = "instance " + node.index + (leader >= 0 ? " (the reconciler's leader)" : "");
            }
            history.fault(new History.Fault(id, f.kind().name(), target, start, -1, "planned #" + f.seq() + ": hold "
                    + f.holdMs() + " ms" + (f.latencyMs() > 0 ? ", latency " + f.latencyMs() + " ms" : "")));
            switch (f.kind()) {
                case KILL_INSTANCE -> {
                    int exit = cluster.kill(node);
                    if (exit != 137) {
                        crashes.add("instance " + node.index + " had exited " + exit + " by itself before fault #" + id
                                + " killed it: " + node.process.logFile());
                    }
                    detail.append("exit ").append(exit).append("; down ").append(f.holdMs()).append(" ms");
                    Cluster.sleep(f.holdMs());
                    long t = history.now();
                    int failed;
                    brokerUse.readLock().lock(); // not while the broker is down: an instance cannot start then
                    try {
                        detail.append("; waited ").append(history.now() - t).append(" ms for the broker");
                        t = history.now();
                        failed = cluster.restart(node, Duration.ofMinutes(5));
                    } finally {
                        brokerUse.readLock().unlock();
                    }
                    detail.append("; listening again after ").append(history.now() - t).append(" ms")
                            .append(failed > 0 ? " (" + failed + " failed starts)" : "");
                }
                case PAUSE_INSTANCE -> {
                    cluster.pause(node);
                    Cluster.sleep(f.holdMs());
                    cluster.resume(node);
                    detail.append("paused ").append(f.holdMs()).append(" ms");
                }
                case KILL_KAFKA -> {
                    long waited = history.now();
                    brokerUse.writeLock().lock(); // not while an instance starts (see KILL_INSTANCE)
                    try {
                        waited = history.now() - waited;
                        cluster.kafka.kill9();
                        Cluster.sleep(f.holdMs());
                        long t = history.now();
                        startKafkaAgain();
                        detail.append(waited > 0 ? "waited " + waited + " ms for an instance's start; " : "")
                                .append("down ").append(f.holdMs()).append(" ms; answering again after ")
                                .append(history.now() - t).append(" ms");
                    } finally {
                        brokerUse.writeLock().unlock();
                    }
                }
                case REDIS_FLUSHALL -> {
                    cluster.redis.flushAll();
                    cluster.redis.awaitReplicated();
                    detail.append("flushed the primary on port ").append(cluster.redis.primaryPort());
                }
                case REDIS_RESTART_EMPTY -> {
                    int before = cluster.redis.primaryPort();
                    cluster.redis.restartPrimaryEmpty();
                    int after = cluster.redis.primaryPort();
                    detail.append("restarted the primary on port ").append(before).append(" empty; ")
                            .append(before == after ? "it stayed primary, its replica resynced empty"
                                    : "the sentinels failed over to port " + after + " meanwhile");
                }
                case REDIS_LAGGING_FAILOVER -> {
                    int before = cluster.redis.primaryPort();
                    cluster.redis.failOverToALaggingReplica(() -> Cluster.sleep(f.holdMs()));
                    cluster.redis.awaitReplicated();
                    detail.append("replica stopped ").append(f.holdMs()).append(" ms while the primary on port ")
                            .append(before).append(" took writes, then the primary was killed; new primary on port ")
                            .append(cluster.redis.primaryPort());
                }
                case STORE_WRITE_LOCK -> {
                    long t = history.now();
                    try (AutoCloseable lock = cluster.db.writeLock()) {
                        detail.append("lock taken in ").append(history.now() - t).append(" ms, held ")
                                .append(f.holdMs()).append(" ms");
                        Cluster.sleep(f.holdMs());
                    }
                }
                case STORE_CUT -> {
                    cluster.proxy.cut();
                    Cluster.sleep(f.holdMs());
                    cluster.proxy.heal();
                    detail.append("cut ").append(f.holdMs()).append(" ms");
                }
                case STORE_SLOW -> {
                    cluster.proxy.delay(f.latencyMs());
                    Cluster.sleep(f.holdMs());
                    cluster.proxy.heal();
                    detail.append("+").append(f.latencyMs()).append(" ms per chunk for ").append(f.holdMs()).append(" ms");
                }
            }
        } catch (Throwable e) {
            detail.append(detail.isEmpty() ? "" : "; ").append("HARNESS FAILURE: ").append(e);
            problems.add(f.kind() + " #" + f.seq() + " on " + target + ": " + e);
            e.printStackTrace(System.out);
        } finally {
            history.fault(new History.Fault(id, f.kind().name(), target, start, history.now(), detail.toString()));
            System.out.println("nemesis: " + f.kind() + " on " + target + " [" + start + "-" + history.now() + " ms]: "
                    + detail);
        }
    }

    private void startKafkaAgain() {
        RuntimeException last = null;
        for (int attempt = 0; attempt < 3; attempt++) {
            try {
                cluster.kafka.startAgain();
                return;
            } catch (RuntimeException e) {
                last = e;
                Cluster.sleep(2_000);
            }
        }
        throw last;
    }
}
