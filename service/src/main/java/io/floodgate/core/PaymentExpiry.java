package io.floodgate.core;

import io.floodgate.concurrent.Periodic;
import io.floodgate.core.domain.Order;
import io.floodgate.core.port.OrderStore;
import io.floodgate.core.port.StockLedger;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongConsumer;

/**
 * Expires unpaid orders at their due time and gives their units back, on every instance.
 *
 * <h2>Driven from durable state</h2>
 * No timer in memory decides anything: every period, each instance asks the store for orders due
 * by now ({@link OrderStore#expireDue}), which claims each in the store's index by due time and
 * expires it in one transaction, exactly once however many instances ask (a claim passes over
 * entries another holds) and whatever crashes (an expiry that did not commit did not happen, and
 * is claimed again). A restarted instance, or another one, finds every due order where it was.
 *
 * <h2>Units back exactly once</h2>
 * The expiry leaves the order in the index as "units to return" until the ledger has them back
 * ({@link #unitsBack}); a crash between the two leaves it there, and a later pass (of any
 * instance) returns them. The ledger's return is idempotent by order (a second one finds the units
 * back and changes nothing), so a return made twice returns once. A ledger rebuilt from the store
 * counts an expired order's units as free already.
 *
 * <p>Lateness (commit time minus due time) is reported to {@code lateness} for each expiry.
 */
public final class PaymentExpiry implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(PaymentExpiry.class.getName());
    /** How often a pass also sweeps for units owed by expiries whose instance died before the ledger heard. */
    private static final int SWEEP_EVERY_PASSES = 20;

    /**
     * @param period time between passes: expiry is at most about this late, plus the time to expire
     *               what fell due meanwhile
     * @param batch  orders claimed per transaction
     */
    public record Settings(Duration period, int batch) {
        public Settings {
            if (period == null || period.isNegative() || period.isZero()) {
                throw new IllegalArgumentException("period must be positive, was " + period);
            }
            if (batch < 1) {
                throw new IllegalArgumentException("batch must be >= 1, was " + batch);
            }
        }
    }

    /** Figures for metrics. */
    public record Stats(long passes, long expired, long unitsReturned, long returnFailures) {
    }

    private final OrderStore store;
    private final StockLedger ledger;
    private final Clock clock;
    private final Settings settings;
    private final LongConsumer lateness;
    private final AtomicLong passes = new AtomicLong();
    private final AtomicLong expired = new AtomicLong();
    private final AtomicLong returned = new AtomicLong();
    private final AtomicLong returnFailures = new AtomicLong();
    private volatile boolean closed;
    private volatile Periodic loop;

    /** @param lateness told, for each order expired here, how late its expiry committed (ms; 0 if on time) */
    public PaymentExpiry(OrderStore store, StockLedger ledger, Clock clock, Settings settings, LongConsumer lateness) {
        this.store = Objects.requireNonNull(store, "store");
        this.ledger = Objects.requireNonNull(ledger, "ledger");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.settings = Objects.requireNonNull(settings, "settings");
        this.lateness = Objects.requireNonNull(lateness, "lateness");
    }

    /** Runs a pass every period on a virtual thread of its own, until {@link #close()}. */
    public PaymentExpiry start() {
        loop = Periodic.start("floodgate-payment-expiry", settings.period(), () -> {
            runOnce();
            return false;
        }, e -> LOG.log(System.Logger.Level.WARNING, "payment expiry pass failed (" + e.getMessage()
                + "); the next one tries again"));
        return this;
    }

    /**
     * One pass, now, on this thread: expires everything due by now, batch after batch, returning
     * each batch's units; every {@value #SWEEP_EVERY_PASSES} passes, also returns units that
     * earlier expiries still owe.
     *
     * @return how many orders this pass expired
     */
    public int runOnce() {
        long pass = passes.incrementAndGet();
        int total = 0;
        while (!closed) {
            List<Order> batch = store.expireDue(clock.instant(), settings.batch());
            long committed = clock.millis();
            for (Order o : batch) {
                lateness.accept(Math.max(0, committed - o.payment().dueAt().toEpochMilli()));
            }
            expired.addAndGet(batch.size());
            total += batch.size();
            unitsBack(batch);
            if (batch.size() < settings.batch()) {
                break;
            }
        }
        if (pass % SWEEP_EVERY_PASSES == 1) {
            sweep();
        }
        return total;
    }

    /** Returns units that expiries still owe (their instance died, or the ledger failed, before it heard). */
    public int sweep() {
        List<Order> owed = store.unitsToReturn(settings.batch());
        unitsBack(owed);
        return owed.size();
    }

    /**
     * Gives the units of expired orders back to the ledger, then tells the store they are back.
     * An order whose return fails stays owed, for the next sweep.
     */
    void unitsBack(List<Order> expiredOrders) {
        if (expiredOrders.isEmpty()) {
            return;
        }
        List<String> back = new ArrayList<>(expiredOrders.size());
        for (Order o : expiredOrders) {
            try {
                ledger.returnUnits(o);
                back.add(o.orderId());
            } catch (RuntimeException e) {
                returnFailures.incrementAndGet();
                LOG.log(System.Logger.Level.WARNING, "the ledger did not take back the units of expired order "
                        + o.orderId() + " (" + e.getMessage() + "); a later pass returns them");
            }
        }
        try {
            store.unitsReturned(back);
            returned.addAndGet(back.size());
        } catch (RuntimeException e) {
            // the ledger has them; a sweep returns them again, which changes nothing
            LOG.log(System.Logger.Level.WARNING, "could not note " + back.size() + " returns in the store ("
                    + e.getMessage() + "); a later sweep repeats them harmlessly");
        }
    }

    public Stats stats() {
        return new Stats(passes.get(), expired.get(), returned.get(), returnFailures.get());
    }

    @Override
    public void close() {
        closed = true;
        Periodic running = loop;
        if (running != null) {
            running.close();
        }
    }
}
