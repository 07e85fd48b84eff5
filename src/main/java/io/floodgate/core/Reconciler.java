package io.floodgate.core;

import io.floodgate.core.domain.ItemAudit;
import io.floodgate.core.domain.ItemView;
import io.floodgate.core.port.Lock;
import io.floodgate.core.port.OrderLog;
import io.floodgate.core.port.OrderStore;
import io.floodgate.core.port.StockLedger;
import io.floodgate.core.port.StockLedger.Reservation;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Finishes what a crash left half done, and audits stock; on one instance at a time, the holder
 * of the {@value #LOCK_NAME} lock.
 *
 * <h2>A pass</h2>
 * <ol>
 *   <li><b>Catch up.</b> Wait until the order log has stored every order it acknowledged
 *   ({@link OrderLog#awaitStored}); without that, "not in the store" would mean nothing.</li>
 *   <li><b>Finish stale reservations.</b> A reservation still pending after the grace period
 *   belongs to a request whose instance died (or lost its ledger connection) between reserving
 *   and settling. Its order is in the store, and then the reservation is confirmed; or it is not,
 *   and then it never will be (every send has long timed out and every log record is stored), so
 *   it is released. Before touching the ledger the pass makes a fenced write, so a deposed leader
 *   that wakes up late is refused by the store and steps down.</li>
 *   <li><b>Audit.</b> Per item, units the ledger counts as sold (stock - available - pending)
 *   against units held by orders in the store; the difference is the drift, recorded in the store
 *   under the fence, kept for metrics, and logged when it stays the same for two passes (orders in
 *   flight between the two reads make a moment's drift that the next pass does not repeat).</li>
 * </ol>
 * The grace period must exceed the longest a live instance may still settle a reservation by
 * itself (request deadline, log delivery timeout, in-doubt settlement); the application keeps
 * those shorter.
 *
 * <p>The reconciler never acts without the lock: it checks {@link Lock.Lease#isHeld()} before
 * each step, and the fence in the store covers the gap between a check and a write.
 */
public final class Reconciler implements AutoCloseable {

    public static final String LOCK_NAME = "floodgate.reconciler";

    private static final System.Logger LOG = System.getLogger(Reconciler.class.getName());

    /**
     * @param period     time between passes
     * @param grace      how old a pending reservation must be before the reconciler finishes it
     * @param lease      the lock's lease
     * @param maxPerPass most reservations finished in one pass
     */
    public record Settings(Duration period, Duration grace, Duration lease, int maxPerPass) {
        public Settings {
            requirePositive("period", period);
            requirePositive("grace", grace);
            requirePositive("lease", lease);
            if (maxPerPass < 1) {
                throw new IllegalArgumentException("maxPerPass must be >= 1, was " + maxPerPass);
            }
        }

        private static void requirePositive(String name, Duration d) {
            if (d == null || d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException(name + " must be positive, was " + d);
            }
        }
    }

    /** What one pass did. */
    public sealed interface Pass {
        /** Another instance leads. */
        record Follower() implements Pass {
        }

        /** Led, but could not finish: the log lagged or a dependency failed. */
        record Skipped(String why) implements Pass {
        }

        /** Led and finished. */
        record Done(int confirmed, int released, List<ItemAudit> audits) implements Pass {
        }
    }

    /** Figures for metrics. */
    public record Stats(boolean leader, long passes, long confirmed, long released, long driftingItems,
                        long driftUnits) {
    }

    private final StockLedger ledger;
    private final OrderStore store;
    private final OrderLog log;
    private final Lock lock;
    private final Clock clock;
    private final Settings settings;
    private final Map<String, Long> lastDrift = new ConcurrentHashMap<>();
    private final AtomicLong passes = new AtomicLong();
    private final AtomicLong confirmed = new AtomicLong();
    private final AtomicLong released = new AtomicLong();
    private volatile Lock.Lease lease;
    private volatile boolean closed;
    private Thread thread;

    public Reconciler(StockLedger ledger, OrderStore store, OrderLog log, Lock lock, Clock clock, Settings settings) {
        this.ledger = Objects.requireNonNull(ledger, "ledger");
        this.store = Objects.requireNonNull(store, "store");
        this.log = Objects.requireNonNull(log, "log");
        this.lock = Objects.requireNonNull(lock, "lock");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.settings = Objects.requireNonNull(settings, "settings");
    }

    /** Runs a pass every period on a virtual thread of its own, until {@link #close()}. */
    public Reconciler start() {
        thread = Thread.ofVirtual().name("floodgate-reconciler").start(() -> {
            while (!closed) {
                try {
                    runOnce();
                } catch (RuntimeException e) {
                    LOG.log(System.Logger.Level.WARNING, "reconciler pass failed; the next one tries again", e);
                }
                try {
                    Thread.sleep(settings.period());
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        return this;
    }

    /** One pass, now, on this thread. */
    public Pass runOnce() {
        Lock.Lease held = leadership();
        if (held == null) {
            return new Pass.Follower();
        }
        passes.incrementAndGet();
        try {
            if (!log.awaitStored(Deadline.after(settings.period()))) {
                return new Pass.Skipped("the order log has not stored every acknowledged order yet");
            }
            int[] finished = finishStaleReservations(held);
            if (!held.isHeld()) {
                return new Pass.Skipped("lost the lock during the pass");
            }
            List<ItemAudit> audits = audit();
            store.recordAudit(held.fence(), audits);
            report(audits);
            return new Pass.Done(finished[0], finished[1], audits);
        } catch (StaleFencingTokenException e) {
            LOG.log(System.Logger.Level.WARNING, "a newer reconciler holds the lock (token " + e.newest()
                    + " > ours " + e.token() + "); stepping down");
            stepDown(held);
            return new Pass.Follower();
        } catch (DependencyUnavailableException e) {
            return new Pass.Skipped(e.getMessage());
        }
    }

    private Lock.Lease leadership() {
        Lock.Lease current = lease;
        if (current != null && current.isHeld()) {
            return current;
        }
        if (current != null) {
            LOG.log(System.Logger.Level.WARNING, "reconciler lost the lock (token " + current.token() + ")");
            current.close();
            lease = null;
        }
        if (closed) {
            return null;
        }
        try {
            return switch (lock.tryAcquire(LOCK_NAME, settings.lease())) {
                case Lock.Acquisition.Acquired(Lock.Lease acquired) -> {
                    lease = acquired;
                    LOG.log(System.Logger.Level.INFO, "this instance now leads the reconciler (fencing token "
                            + acquired.token() + ")");
                    yield acquired;
                }
                case Lock.Acquisition.Busy b -> null;
            };
        } catch (DependencyUnavailableException e) {
            return null;
        }
    }

    private void stepDown(Lock.Lease held) {
        held.close();
        if (lease == held) {
            lease = null;
        }
    }

    /** Confirms or releases reservations older than the grace period; {confirmed, released}. */
    private int[] finishStaleReservations(Lock.Lease held) {
        Instant cutoff = clock.instant().minus(settings.grace());
        List<Reservation> stale = ledger.pendingReservations(cutoff, settings.maxPerPass());
        if (stale.isEmpty()) {
            return new int[] {0, 0};
        }
        Set<String> present = store.presentIds(stale.stream().map(Reservation::orderId).toList());
        // the fence, checked in the store right before the ledger is touched
        store.recordAudit(held.fence(), List.of());
        int confirmedNow = 0;
        int releasedNow = 0;
        for (Reservation r : stale) {
            if (!held.isHeld()) {
                break;
            }
            if (present.contains(r.orderId())) {
                ledger.confirm(r.sku(), r.idempotencyKey());
                confirmedNow++;
                LOG.log(System.Logger.Level.INFO, "reconciler confirmed order " + r.orderId() + " (" + r.sku() + "/"
                        + r.idempotencyKey() + "), stored but left unconfirmed since " + r.reservedAt());
            } else {
                ledger.release(r.sku(), r.idempotencyKey());
                releasedNow++;
                LOG.log(System.Logger.Level.INFO, "reconciler released " + r.quantity() + " units of " + r.sku()
                        + " for key " + r.idempotencyKey() + " (order " + r.orderId() + " never stored, reserved at "
                        + r.reservedAt() + ")");
            }
        }
        confirmed.addAndGet(confirmedNow);
        released.addAndGet(releasedNow);
        return new int[] {confirmedNow, releasedNow};
    }

    private List<ItemAudit> audit() {
        Instant now = clock.instant();
        Map<String, Long> pending = new HashMap<>();
        // everything pending right now: reserved, neither sold nor free
        for (Reservation r : ledger.pendingReservations(now.plusMillis(1), Integer.MAX_VALUE)) {
            pending.merge(r.sku(), (long) r.quantity(), Long::sum);
        }
        Map<String, Long> storeSold = store.unitsSoldBySku();
        List<ItemAudit> audits = new ArrayList<>();
        for (ItemView view : ledger.views()) {
            String sku = view.spec().sku();
            long ledgerSold = view.spec().stock() - view.available() - pending.getOrDefault(sku, 0L);
            audits.add(new ItemAudit(sku, ledgerSold, view.available(), storeSold.getOrDefault(sku, 0L), now));
        }
        return audits;
    }

    private void report(List<ItemAudit> audits) {
        for (ItemAudit a : audits) {
            Long before = lastDrift.put(a.sku(), a.drift());
            if (a.drift() != 0 && before != null && before == a.drift()) {
                LOG.log(System.Logger.Level.WARNING, "stock drift on " + a.sku() + ": the ledger counts "
                        + a.ledgerSold() + " units sold, the store's orders hold " + a.storeSold() + " (drift "
                        + a.drift() + ", " + a.ledgerAvailable() + " available), unchanged since the last pass");
            }
        }
    }

    /** Drift per item as last measured (0: agreed). */
    public Map<String, Long> drift() {
        return Map.copyOf(lastDrift);
    }

    public Stats stats() {
        Lock.Lease current = lease;
        long drifting = 0;
        long units = 0;
        for (long d : lastDrift.values()) {
            if (d != 0) {
                drifting++;
                units += Math.abs(d);
            }
        }
        return new Stats(current != null && current.isHeld(), passes.get(), confirmed.get(), released.get(),
                drifting, units);
    }

    @Override
    public void close() {
        closed = true;
        Thread t = thread;
        if (t != null) {
            t.interrupt();
            try {
                t.join(Duration.ofSeconds(5));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        Lock.Lease current = lease;
        if (current != null) {
            current.close();
            lease = null;
        }
    }
}
