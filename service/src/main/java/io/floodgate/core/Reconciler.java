package io.floodgate.core;

import io.floodgate.concurrent.Periodic;
import io.floodgate.core.domain.ItemAudit;
import io.floodgate.core.domain.ItemView;
import io.floodgate.core.domain.Order;
import io.floodgate.core.domain.OrderStatus;
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
 *   <li><b>Repair.</b> An item that drifts in two passes in a row is repaired: after a fenced
 *   write, the ledger is given the item's orders as the store has them
 *   ({@link StockLedger#repair}) and moves toward them where the store is sure (adds orders it
 *   lacks, confirms stored pending keys, returns the units of cancelled and failed orders), never
 *   touching a reservation the store does not know (a request in flight). The ledger fences the
 *   repair by the lock's token too. Every repair is logged and counted; drift the repair cannot
 *   decide (the ledger holds units for orders the store does not have) stays reported.</li>
 * </ol>
 * The grace period must exceed the longest a live instance may still settle a reservation by
 * itself (request deadline, log delivery timeout, the direct store write of an order whose Kafka send failed); the application keeps
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
                        long driftUnits, long repairs, long repairedKeys, long repairConflicts) {
    }

    /** Orders handed to the ledger per repair call: bounded memory for an item with millions. */
    private static final int REPAIR_CHUNK = 2_000;

    private final StockLedger ledger;
    private final OrderStore store;
    private final OrderLog log;
    private final Clock clock;
    private final Settings settings;
    private final Map<String, Long> lastDrift = new ConcurrentHashMap<>();
    /** The drift each item was last repaired at, until it agrees again. */
    private final Map<String, Long> repairedAtDrift = new ConcurrentHashMap<>();
    private final AtomicLong passes = new AtomicLong();
    private final AtomicLong confirmed = new AtomicLong();
    private final AtomicLong released = new AtomicLong();
    private final AtomicLong repairs = new AtomicLong();
    private final AtomicLong repairedKeys = new AtomicLong();
    private final AtomicLong repairConflicts = new AtomicLong();
    private final Leadership leadership;
    private volatile boolean closed;
    private volatile Periodic loop;

    public Reconciler(StockLedger ledger, OrderStore store, OrderLog log, Lock lock, Clock clock, Settings settings) {
        this.ledger = Objects.requireNonNull(ledger, "ledger");
        this.store = Objects.requireNonNull(store, "store");
        this.log = Objects.requireNonNull(log, "log");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.settings = Objects.requireNonNull(settings, "settings");
        this.leadership = new Leadership(lock, LOCK_NAME, settings.lease(), "leads the reconciler");
    }

    /** Runs a pass every period on a virtual thread of its own, until {@link #close()}. */
    public Reconciler start() {
        loop = Periodic.start("floodgate-reconciler", settings.period(), () -> {
            runOnce();
            return false;
        }, e -> LOG.log(System.Logger.Level.WARNING, "reconciler pass failed; the next one tries again", e));
        return this;
    }

    /** One pass, now, on this thread. */
    public Pass runOnce() {
        Lock.Lease held = closed ? null : leadership.acquire();
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
            List<String> drifting = report(audits);
            for (String sku : drifting) {
                if (!held.isHeld()) {
                    return new Pass.Skipped("lost the lock during the pass");
                }
                repair(held, sku);
            }
            return new Pass.Done(finished[0], finished[1], audits);
        } catch (StaleFencingTokenException e) {
            leadership.stepDown(held, e);
            return new Pass.Follower();
        } catch (DependencyUnavailableException e) {
            return new Pass.Skipped(e.getMessage());
        }
    }

    /** Confirms or releases reservations older than the grace period; {confirmed, released}. */
    private int[] finishStaleReservations(Lock.Lease held) {
        Instant cutoff = clock.instant().minus(settings.grace());
        List<Reservation> stale = ledger.pendingReservations(cutoff, settings.maxPerPass());
        if (stale.isEmpty()) {
            return new int[] {0, 0};
        }
        // one fenced decision in the store: each order stored, or released for good (a late write
        // of it, from an instance that was paused past the grace, then stores nothing)
        Set<String> releasedIds = store.releaseUnstored(held.fence(), stale.stream().map(r -> new Order(r.orderId(),
                r.sku(), r.userId(), r.quantity(), OrderStatus.CONFIRMED, r.reservedAt(), null, r.idempotencyKey()))
                .toList());
        int confirmedNow = 0;
        int releasedNow = 0;
        for (Reservation r : stale) {
            if (!held.isHeld()) {
                break;
            }
            if (!releasedIds.contains(r.orderId())) {
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

    /**
     * Logs drift that persists, and returns the items to repair: those that drifted in this pass
     * and the one before, either below zero both times (the ledger lacks durable sales: the
     * direction that oversells, and one that orders in flight hardly make) or by the same amount
     * both times (a standing disagreement; orders in flight make a moment's drift that changes from
     * pass to pass, as the log's consumers lag behind intake). An item is repaired once per drift
     * value: drift a repair cannot decide stays reported without a scan every pass.
     */
    private List<String> report(List<ItemAudit> audits) {
        List<String> toRepair = new ArrayList<>();
        for (ItemAudit a : audits) {
            long drift = a.drift();
            Long before = lastDrift.put(a.sku(), drift);
            if (drift == 0) {
                repairedAtDrift.remove(a.sku());
                continue;
            }
            if (before == null || before == 0) {
                continue;
            }
            boolean standing = before == drift || (drift < 0 && before < 0);
            if (!standing) {
                continue;
            }
            Long repairedAt = repairedAtDrift.get(a.sku());
            if (repairedAt != null && repairedAt == drift) {
                continue; // repaired at this drift already: what is left, the repair cannot decide
            }
            toRepair.add(a.sku());
            LOG.log(System.Logger.Level.WARNING, "stock drift on " + a.sku() + ": the ledger counts "
                    + a.ledgerSold() + " units sold, the store's orders hold " + a.storeSold() + " (drift "
                    + drift + ", " + a.ledgerAvailable() + " available), in two passes in a row; repairing");
        }
        return toRepair;
    }

    /** Gives the ledger the item's orders as the store has them, under the fence, in chunks. */
    private void repair(Lock.Lease held, String sku) {
        // the fence, checked in the store right before the ledger is touched
        store.recordAudit(held.fence(), List.of());
        List<StockLedger.Repaired> done = new ArrayList<>();
        List<io.floodgate.core.domain.Order> chunk = new ArrayList<>(REPAIR_CHUNK);
        store.forEachOrderOf(sku, order -> {
            chunk.add(order);
            if (chunk.size() == REPAIR_CHUNK) {
                done.add(ledger.repair(sku, List.copyOf(chunk), held.fence()));
                chunk.clear();
            }
        });
        done.add(ledger.repair(sku, chunk, held.fence()));
        StockLedger.Repaired total = done.stream().reduce(StockLedger.Repaired.NOTHING, StockLedger.Repaired::plus);
        Long drift = lastDrift.get(sku);
        if (drift != null) {
            repairedAtDrift.put(sku, drift);
        }
        repairs.incrementAndGet();
        repairedKeys.addAndGet(total.added() + total.repaired());
        repairConflicts.addAndGet(total.conflicts());
        LOG.log(total.changedAnything() ? System.Logger.Level.WARNING : System.Logger.Level.INFO,
                "repaired the ledger of " + sku + " from the store: " + total.added() + " orders added, "
                        + total.repaired() + " keys moved to the store's state, " + total.conflicts()
                        + " left alone (the two disagree in a way neither may decide)");
    }

    /** Drift per item as last measured (0: agreed). */
    public Map<String, Long> drift() {
        return Map.copyOf(lastDrift);
    }

    public Stats stats() {
        long drifting = 0;
        long units = 0;
        for (long d : lastDrift.values()) {
            if (d != 0) {
                drifting++;
                units += Math.abs(d);
            }
        }
        return new Stats(leadership.held(), passes.get(), confirmed.get(), released.get(),
                drifting, units, repairs.get(), repairedKeys.get(), repairConflicts.get());
    }

    @Override
    public void close() {
        closed = true;
        Periodic running = loop;
        if (running != null) {
            running.close();
        }
        leadership.close();
    }
}
