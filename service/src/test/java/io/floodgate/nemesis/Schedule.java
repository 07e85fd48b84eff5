package io.floodgate.nemesis;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * The seeded fault schedule: an endless sequence of faults drawn from one {@link Random}, each
 * for one part of the deployment. The {@link Nemesis} runs one lane per part, each taking that
 * part's faults in order ({@link #next(FaultKind.Part)}), so a seed replays, for every part, the
 * same kinds, targets, durations and gaps in the same order; when each starts depends on how long
 * the ones before took to heal, so the wall-clock times are recorded, not replayed. The short form
 * begins with every kind once, in an order drawn from the seed (the write lock first), and uses
 * shorter durations; the long form draws kinds by {@link FaultKind#weight}.
 */
final class Schedule {

    /**
     * One planned fault. {@code node} is the instance for instance faults, or the fallback when
     * {@code leader} asks for the reconciler's leader and none is known; {@code holdMs} how long
     * the fault lasts (instance down, pause, broker down, lock, cut, slow; the lag window of a
     * failover); {@code latencyMs} the added delay of a slowed store.
     */
    record Fault(int seq, FaultKind kind, long gapMs, int node, boolean leader, long holdMs, long latencyMs,
                 boolean covering) {
    }

    private final Random rnd;
    private final boolean shortForm;
    private final int nodes;
    private final List<FaultKind> kinds;
    private final Deque<FaultKind> first = new ArrayDeque<>();
    private final Map<FaultKind.Part, Deque<Fault>> drawn = new EnumMap<>(FaultKind.Part.class);
    private int seq;
    private boolean longLockDrawn;
    /** The short form's long lock, until the first Redis fault has been put off past it. */
    private long longLockMs;

    /** @param kinds the kinds to draw from (all of them, unless a run is narrowed to some) */
    Schedule(long seed, boolean shortForm, int nodes, List<FaultKind> kinds) {
        if (kinds.isEmpty()) {
            throw new IllegalArgumentException("a schedule needs at least one kind of fault");
        }
        this.rnd = new Random(seed ^ 0x6e656d65736973L);
        this.shortForm = shortForm;
        this.nodes = nodes;
        this.kinds = List.copyOf(kinds);
        if (shortForm) {
            List<FaultKind> all = new ArrayList<>(kinds);
            Collections.shuffle(all, rnd);
            if (all.remove(FaultKind.STORE_WRITE_LOCK)) {
                // the long lock first, the other parts' faults beside it, the store's own after it
                List<FaultKind> store = all.stream().filter(k -> k.part == FaultKind.Part.STORE).toList();
                all.removeAll(store);
                all.addFirst(FaultKind.STORE_WRITE_LOCK);
                all.addAll(store);
            }
            first.addAll(all);
        }
    }

    /** The kinds named in {@code spec} (comma-separated names of {@link FaultKind}); all when blank. */
    static List<FaultKind> kinds(String spec) {
        if (spec == null || spec.isBlank()) {
            return List.of(FaultKind.values());
        }
        List<FaultKind> kinds = new ArrayList<>();
        for (String name : spec.split(",")) {
            try {
                kinds.add(FaultKind.valueOf(name.strip().toUpperCase(java.util.Locale.ROOT)));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("nemesis.kinds: '" + name.strip() + "' is not one of "
                        + List.of(FaultKind.values()), e);
            }
        }
        return kinds;
    }

    /** The parts the schedule breaks (those of its kinds): one lane each. */
    Set<FaultKind.Part> parts() {
        Set<FaultKind.Part> parts = EnumSet.noneOf(FaultKind.Part.class);
        kinds.forEach(k -> parts.add(k.part));
        return parts;
    }

    /** The next fault for {@code part}: the schedule is drawn in one order, whichever lane asks first. */
    synchronized Fault next(FaultKind.Part part) {
        if (!parts().contains(part)) {
            throw new IllegalArgumentException("no kind of fault of this schedule breaks " + part);
        }
        Deque<Fault> queue = drawn.computeIfAbsent(part, p -> new ArrayDeque<>());
        while (queue.isEmpty()) {
            Fault f = draw();
            drawn.computeIfAbsent(f.kind().part, p -> new ArrayDeque<>()).add(f);
        }
        return queue.poll();
    }

    private Fault draw() {
        boolean covering = !first.isEmpty();
        FaultKind kind = covering ? first.poll() : weighted();
        long gap = shortForm ? between(500, 3_000) : between(0, 2_000);
        if (covering && kind.part == FaultKind.Part.REDIS && longLockMs > 0) {
            // Redis stays whole through the short form's long lock: a ledger emptied meanwhile
            // cannot be rebuilt (that needs the store), nothing is accepted, and the lock then
            // meets no accepted order to dead-letter
            gap += longLockMs + 5_000;
            longLockMs = 0;
        }
        int node = rnd.nextInt(nodes);
        return switch (kind) {
            case KILL_INSTANCE -> new Fault(++seq, kind, gap, node, rnd.nextInt(3) == 0, between(0, 2_000), 0, covering);
            case PAUSE_INSTANCE -> new Fault(++seq, kind, gap, node, rnd.nextBoolean(),
                    shortForm ? between(1_000, 12_000) : between(1_000, 20_000), 0, covering);
            case KILL_KAFKA -> new Fault(++seq, kind, gap, -1, false,
                    shortForm ? between(1_000, 5_000) : between(1_000, 8_000), 0, covering);
            case REDIS_FLUSHALL, REDIS_RESTART_EMPTY -> new Fault(++seq, kind, gap, -1, false, 0, 0, covering);
            case REDIS_LAGGING_FAILOVER -> new Fault(++seq, kind, gap, -1, false, between(1_000, 5_000), 0, covering);
            case STORE_WRITE_LOCK -> new Fault(++seq, kind, gap, -1, false, lockMillis(), 0, covering);
            case STORE_CUT -> new Fault(++seq, kind, gap, -1, false,
                    shortForm ? between(2_000, 8_000) : between(2_000, 15_000), 0, covering);
            case STORE_SLOW -> new Fault(++seq, kind, gap, -1, false,
                    shortForm ? between(3_000, 10_000) : between(3_000, 15_000), between(100, 1_500), covering);
        };
    }

    /**
     * How long the store stays write-locked. Long form: 5-90 s, log-uniform (mostly short locks, now
     * and then one of a minute or more). Short form: the first lock (the first fault) 80-90 s, the
     * outage that dead-lettered acknowledged orders in issue 10: the order writers try a batch three
     * times, then each record three times, before they give a record up, and each try waits out a
     * 5 s statement timeout and more (10-20 s were seen), so a lock of 35-45 s caught it in one run
     * of two; later locks 5-15 s.
     */
    private long lockMillis() {
        if (!shortForm) {
            return (long) (5_000 * Math.pow(18, rnd.nextDouble()));
        }
        if (!longLockDrawn) {
            longLockDrawn = true;
            longLockMs = between(80_000, 90_000);
            return longLockMs;
        }
        return between(5_000, 15_000);
    }

    private FaultKind weighted() {
        double total = 0;
        for (FaultKind k : kinds) {
            total += k.weight;
        }
        double x = rnd.nextDouble() * total;
        for (FaultKind k : kinds) {
            x -= k.weight;
            if (x < 0) {
                return k;
            }
        }
        return kinds.getLast();
    }

    private long between(long min, long max) {
        return min + (long) (rnd.nextDouble() * (max - min));
    }
}
