package io.floodgate.core;

import io.floodgate.core.domain.Order;
import io.floodgate.core.port.OrderLog;
import io.floodgate.core.port.OrderStore;
import io.floodgate.core.port.StockLedger;

import java.util.ArrayDeque;
import java.util.Objects;
import java.util.Queue;
import java.util.concurrent.atomic.LongAdder;

/**
 * How an acknowledged order that can never be stored ends: recorded in the store as
 * {@link io.floodgate.core.domain.OrderStatus#FAILED} (so that it reads back with a final status
 * and its key stays spent), its units returned to the ledger, counted and logged. Both steps are
 * idempotent, so the log may call again after any failure, or after a crash, and the units come
 * back once.
 *
 * <p>The log starts before the ledger exists (a ledger rebuilt from the store must first see the
 * store hold what the log acknowledged), so the ledger is {@linkplain #attach attached} later;
 * returns asked for before that are kept and made then. A crash in that window (seconds, at
 * start) loses no units for good: the failed order is in the store first, a ledger rebuilt from
 * the store counts a failed order's units as free, and the reconciler's repair returns the units
 * of a failed order that an intact ledger still holds.
 */
public final class FailedOrders implements OrderLog.Unstorable {

    private static final System.Logger LOG = System.getLogger(FailedOrders.class.getName());
    /** Returns kept until the ledger is attached; a handful at most in practice (a failure is rare). */
    private static final int MAX_WAITING = 10_000;

    private final OrderStore store;
    private final LongAdder failed = new LongAdder();
    /** @GuardedBy("this") until the ledger is attached. */
    private final Queue<Order> waitingForLedger = new ArrayDeque<>();
    private volatile StockLedger ledger;

    public FailedOrders(OrderStore store) {
        this.store = Objects.requireNonNull(store, "store");
    }

    @Override
    public void failed(Order order, String reason) {
        Order failedOrder = order.failed(reason);
        boolean recordedNow = store.recordFailedOrder(failedOrder);
        if (recordedNow) {
            failed.increment();
            LOG.log(System.Logger.Level.ERROR, "order " + order.orderId() + " (" + order.sku() + "/"
                    + order.idempotencyKey() + ", user " + order.userId() + ", " + order.quantity()
                    + " units) was acknowledged but can never be stored: " + reason + "; it now reads FAILED and its"
                    + " units go back");
        }
        StockLedger attached = ledger;
        if (attached == null) {
            synchronized (this) {
                attached = ledger;
                if (attached == null) {
                    if (waitingForLedger.size() < MAX_WAITING) {
                        waitingForLedger.add(failedOrder);
                    } else {
                        // the ledger is rebuilt from the store before it is attached: it will see the order failed
                        LOG.log(System.Logger.Level.WARNING, "order " + order.orderId() + " failed before the ledger"
                                + " started; its rebuild from the store frees the units");
                    }
                    return;
                }
            }
        }
        attached.returnUnits(failedOrder);
    }

    /** The ledger is ready: returns the units of orders that failed before it was. */
    public void attach(StockLedger ready) {
        Objects.requireNonNull(ready, "ready");
        Queue<Order> waiting;
        synchronized (this) {
            ledger = ready;
            waiting = new ArrayDeque<>(waitingForLedger);
            waitingForLedger.clear();
        }
        waiting.forEach(ready::returnUnits);
    }

    /** Orders recorded as failed by this instance since it started. */
    public long count() {
        return failed.sum();
    }
}
