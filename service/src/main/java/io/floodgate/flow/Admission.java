package io.floodgate.flow;

import io.floodgate.core.RejectedException;
import io.floodgate.core.Rejection;

import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * Admission control, in the order API.md fixes: the per-user bucket, the per-item bucket (a hot
 * item's own cap), the global bucket and the cluster-wide rate ({@link ClusterRateLimiter}, when
 * configured) (429 {@code RATE_LIMITED}), then the adaptive concurrency limit (503
 * {@code OVERLOADED}), then the dependencies' breakers (503 {@code DEPENDENCY_UNAVAILABLE}); only
 * then the ledger. Everything here answers at once; nothing queues.
 *
 * <p>Per-user and per-item buckets are {@link KeyedBuckets}: a sweeper drops full buckets every
 * second, so memory follows the keys active lately, and a cap bounds it against a flood of
 * distinct ids.
 */
public final class Admission implements AutoCloseable {

    private static final int OVERFLOW_BUCKETS = 4_096;
    /** Items are a catalogue, not a crowd: a cap far above any real one, only against made-up SKUs. */
    private static final int MAX_TRACKED_ITEMS = 100_000;
    private static final int ITEM_OVERFLOW_BUCKETS = 1_024;

    private final KeyedBuckets users;
    private final KeyedBuckets items;
    private final Gcra globalRate;
    private final AtomicLong globalTat = new AtomicLong(Long.MIN_VALUE / 2);
    private final ClusterRateLimiter clusterRate;
    private final ConcurrencyGate gate;
    private final Breakers breakers;
    private final Thread sweeper;
    /** Payment callbacks: a bucket and a cap of their own, apart from order placement's limit. */
    private final Gcra paymentRate;
    private final AtomicLong paymentTat = new AtomicLong(Long.MIN_VALUE / 2);
    private final java.util.concurrent.Semaphore paymentSlots;
    private final int paymentMaxInFlight;
    /** By {@link ConcurrencyGate.Work}: let through the concurrency limit (a breaker may still refuse an order after). */
    private final LongAdder[] admitted = new LongAdder[ConcurrencyGate.Work.values().length];

    /**
     * @param userRate   requests per second per user
     * @param userBurst  bucket size per user
     * @param globalRate requests per second on this instance, or 0 for no global cap
     */
    public Admission(double userRate, int userBurst, double globalRate, ConcurrencyGate gate, Breakers breakers,
                     int maxTrackedUsers) {
        this(userRate, userBurst, 0, globalRate, null, gate, breakers, maxTrackedUsers);
    }

    /**
     * @param itemRate    orders per second per item on this instance (burst: the same number), or 0 for none
     * @param clusterRate the cluster-wide order rate, asked after the local buckets pass; null for none
     */
    public Admission(double userRate, int userBurst, double itemRate, double globalRate, ClusterRateLimiter clusterRate,
                     ConcurrencyGate gate, Breakers breakers, int maxTrackedUsers) {
        this(userRate, userBurst, itemRate, globalRate, clusterRate, gate, breakers, maxTrackedUsers,
                DEFAULT_PAYMENT_RATE, DEFAULT_PAYMENT_MAX_IN_FLIGHT);
    }

    /** Payment callbacks per second on an instance, and at once, unless configured. */
    public static final double DEFAULT_PAYMENT_RATE = 1_000;
    public static final int DEFAULT_PAYMENT_MAX_IN_FLIGHT = 64;

    /**
     * @param paymentRate        payment callbacks per second on this instance (burst: the same number)
     * @param paymentMaxInFlight payment callbacks served at once on this instance
     */
    public Admission(double userRate, int userBurst, double itemRate, double globalRate, ClusterRateLimiter clusterRate,
                     ConcurrencyGate gate, Breakers breakers, int maxTrackedUsers, double paymentRate,
                     int paymentMaxInFlight) {
        if (paymentRate <= 0 || paymentMaxInFlight < 1) {
            throw new IllegalArgumentException("paymentRate must be > 0 and paymentMaxInFlight >= 1, were "
                    + paymentRate + " and " + paymentMaxInFlight);
        }
        this.paymentRate = new Gcra(paymentRate, Math.max(1, (long) paymentRate));
        this.paymentMaxInFlight = paymentMaxInFlight;
        this.paymentSlots = new java.util.concurrent.Semaphore(paymentMaxInFlight);
        this.clusterRate = clusterRate;
        this.users = new KeyedBuckets(new Gcra(userRate, userBurst), maxTrackedUsers, OVERFLOW_BUCKETS);
        this.items = itemRate > 0
                ? new KeyedBuckets(new Gcra(itemRate, Math.max(1, (long) itemRate)), MAX_TRACKED_ITEMS, ITEM_OVERFLOW_BUCKETS)
                : null;
        this.globalRate = globalRate > 0 ? new Gcra(globalRate, Math.max(1, (long) globalRate)) : null;
        this.gate = gate;
        this.breakers = breakers;
        for (int i = 0; i < admitted.length; i++) {
            admitted[i] = new LongAdder();
        }
        this.sweeper = Thread.ofVirtual().name("floodgate-bucket-sweeper").start(this::sweepLoop);
    }

    /**
     * Admits one order placement by {@code userId} for {@code sku}, or throws the rejection to answer.
     *
     * @throws RejectedException {@code RATE_LIMITED} with a Retry-After, {@code OVERLOADED}, or
     *                           {@code DEPENDENCY_UNAVAILABLE}
     */
    public Permit admitOrder(String userId, String sku) {
        long now = System.nanoTime();
        AtomicLong user = users.bucket(userId, now);
        long wait = users.tryAcquire(user, now);
        if (wait > 0) {
            throw new RejectedException(Rejection.RATE_LIMITED,
                    "user " + userId + " is over its rate limit", retryAfterSeconds(wait));
        }
        // From here a refusal gives back the tokens taken so far: a request turned down by the next
        // bucket, shed by the limit or refused by an open breaker did nothing, and should not cost its
        // user (whose retry would meet a 429) or its item (which would then sell below its rate).
        AtomicLong item = null;
        boolean global = false;
        try {
            if (items != null) {
                AtomicLong bucket = items.bucket(sku, now);
                wait = items.tryAcquire(bucket, now);
                if (wait > 0) {
                    throw new RejectedException(Rejection.RATE_LIMITED,
                            "item " + sku + " is over its order rate on this instance", retryAfterSeconds(wait));
                }
                item = bucket;
            }
            if (globalRate != null) {
                wait = globalRate.tryAcquire(globalTat, now);
                if (wait > 0) {
                    throw new RejectedException(Rejection.RATE_LIMITED,
                            "this instance is over its global order rate", retryAfterSeconds(wait));
                }
                global = true;
            }
            if (clusterRate != null) { // its token comes from a lease of the cluster bucket: not given back
                wait = clusterRate.tryAcquire();
                if (wait > 0) {
                    throw new RejectedException(Rejection.RATE_LIMITED,
                            "the cluster is over its order rate", retryAfterSeconds(wait));
                }
            }
            Permit permit = enter(ConcurrencyGate.Work.ORDER);
            Optional<String> open = breakers.openOnOrderPath();
            if (open.isPresent()) {
                permit.ignore();
                throw new RejectedException(Rejection.DEPENDENCY_UNAVAILABLE,
                        "the " + open.get() + " is unavailable (circuit open); nothing was reserved", 1);
            }
            return permit;
        } catch (RejectedException e) {
            users.refund(user);
            if (item != null) {
                items.refund(item);
            }
            if (global) {
                globalRate.refund(globalTat);
            }
            throw e;
        }
    }

    /** Admits a cancellation: order work, without the order buckets. */
    public Permit admitCancel() {
        Permit permit = enter(ConcurrencyGate.Work.ORDER);
        Optional<String> open = breakers.openDependency();
        if (open.isPresent()) {
            permit.ignore();
            throw new RejectedException(Rejection.DEPENDENCY_UNAVAILABLE,
                    "the " + open.get() + " is unavailable (circuit open); nothing was changed", 1);
        }
        return permit;
    }

    /**
     * Admits one payment callback: its own bucket (429 {@code RATE_LIMITED}) and its own cap on
     * callbacks at once (503 {@code OVERLOADED}), never the concurrency limit that order placement
     * learns, so a burst of callbacks cannot shed orders and a flood of orders cannot starve the
     * provider's retries. An open store breaker refuses it (503 {@code DEPENDENCY_UNAVAILABLE}).
     */
    public Permit admitPayment() {
        long wait = paymentRate.tryAcquire(paymentTat, System.nanoTime());
        if (wait > 0) {
            throw new RejectedException(Rejection.RATE_LIMITED, "payment callbacks are over their rate limit on this"
                    + " instance", retryAfterSeconds(wait));
        }
        if (!paymentSlots.tryAcquire()) {
            paymentRate.refund(paymentTat);
            throw new RejectedException(Rejection.OVERLOADED, paymentMaxInFlight + " payment callbacks are being"
                    + " served on this instance; retry shortly", 1);
        }
        Optional<String> open = breakers.openDependency();
        if (open.isPresent()) {
            paymentSlots.release();
            throw new RejectedException(Rejection.DEPENDENCY_UNAVAILABLE,
                    "the " + open.get() + " is unavailable (circuit open); nothing was changed", 1);
        }
        return new Permit(null, paymentSlots);
    }

    /** Payment callbacks being served now. */
    public int paymentsInFlight() {
        return paymentMaxInFlight - paymentSlots.availablePermits();
    }

    /** Admits one read (items, orders, the dashboard's data); reads yield to orders when short. */
    public Permit admitRead() {
        return enter(ConcurrencyGate.Work.READ);
    }

    private Permit enter(ConcurrencyGate.Work work) {
        Permit permit = gate.tryAcquire(work).map(slot -> new Permit(slot, null)).orElseThrow(() -> new RejectedException(Rejection.OVERLOADED,
                "this instance is at its concurrency limit (" + gate.limit() + "); retry shortly", 1));
        admitted[work.ordinal()].increment();
        return permit;
    }

    /** Requests let through the concurrency limit so far, of one kind of work (a counter for metrics). */
    public long admitted(ConcurrencyGate.Work work) {
        return admitted[work.ordinal()].sum();
    }

    /**
     * One admitted request. Closing it counts its latency toward the limit, unless it was marked
     * {@linkplain #dropped() dropped} or {@linkplain #ignore() ignored} first.
     */
    public static final class Permit implements AutoCloseable {
        /** The concurrency limit's slot; null for a payment callback, which holds {@link #callbackSlots}. */
        private final ConcurrencyGate.Slot slot;
        private final java.util.concurrent.Semaphore callbackSlots;
        private boolean ended;

        Permit(ConcurrencyGate.Slot slot, java.util.concurrent.Semaphore callbackSlots) {
            this.slot = slot;
            this.callbackSlots = callbackSlots;
        }

        /** The request timed out or its dependency failed: a sign of overload. */
        public void dropped() {
            end(ConcurrencyGate.Slot::dropped);
        }

        /** The request says nothing about latency (answered without doing the work). */
        public void ignore() {
            end(ConcurrencyGate.Slot::ignore);
        }

        @Override
        public void close() {
            end(ConcurrencyGate.Slot::done);
        }

        private void end(java.util.function.Consumer<ConcurrencyGate.Slot> how) {
            if (ended) {
                return;
            }
            ended = true;
            if (slot != null) {
                how.accept(slot);
            } else {
                callbackSlots.release();
            }
        }
    }

    static long retryAfterSeconds(long waitNanos) {
        return Math.max(1, (waitNanos + TimeUnit.SECONDS.toNanos(1) - 1) / TimeUnit.SECONDS.toNanos(1));
    }

    public int inFlight() {
        return gate.inFlight();
    }

    public int limit() {
        return gate.limit();
    }

    public int trackedUsers() {
        return users.tracked();
    }

    int trackedItems() {
        return items == null ? 0 : items.tracked();
    }

    private void sweepLoop() {
        while (!Thread.currentThread().isInterrupted()) {
            try {
                Thread.sleep(1_000);
            } catch (InterruptedException e) {
                return;
            }
            sweep();
        }
    }

    /** Drops full buckets (see {@link KeyedBuckets#sweep}). */
    void sweep() {
        sweep(System.nanoTime());
    }

    void sweep(long nowNanos) {
        users.sweep(nowNanos);
        if (items != null) {
            items.sweep(nowNanos);
        }
    }

    @Override
    public void close() {
        sweeper.interrupt();
    }
}
