package io.floodgate.core;

import java.util.Objects;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Keeps one {@link io.floodgate.core.port.Lock.Lease} alive on a lock service and decides, by the
 * holder's own clock, until when it is surely still held: the part every server-backed lock
 * adapter (ZooKeeper, etcd) shares. The adapter supplies one renewal round trip
 * ({@link Renewer}); the keeper schedules it, bounds its waiting, and reports the loss.
 *
 * <h2>The bound</h2>
 * A lease is held until {@code sentAt + validity}, where {@code sentAt} is when the last renewal
 * that the service confirmed was sent ({@link System#nanoTime()} before sending: the service
 * restarts its countdown no earlier than it receives the request) and {@code validity} is the
 * lease the service keeps, less an allowance for the two clocks' rates (the adapter computes it,
 * see {@link #validityOf}). {@link #isValid()} reads that bound on every call, so it turns false
 * on time even when the renewal thread is starved; the renewal thread reports the loss (runs the
 * listeners) when the bound passes with nothing confirmed, or at once when the service says the
 * lease is no longer this holder's.
 *
 * <h2>Schedule</h2>
 * A renewal every third of the validity; a failed one (the service did not answer) is retried
 * every tenth of it (at least 5 ms), each call waiting no longer than the bound leaves.
 *
 * <p>Pauses longer than the validity (a collector, a stopped process) defeat every check here:
 * the holder wakes up with {@link #isValid()} false only if it asks. The fencing token in the
 * store is what stops its late writes.
 */
public final class LeaseKeeper {

    private static final System.Logger LOG = System.getLogger(LeaseKeeper.class.getName());

    /** How many of the last renewal round trips {@link #recentRenewals()} keeps. */
    public static final int RECENT_RENEWALS = 256;

    /** One renewal round trip, on the renewal thread. */
    @FunctionalInterface
    public interface Renewer {
        /**
         * Renews the lease, waiting at most {@code timeoutNanos}.
         *
         * @return {@link Renewal#RENEWED}, or {@link Renewal.Refused} when the service says the
         *         lease is gone or someone else's
         * @throws DependencyUnavailableException when the service did not answer in time (retried
         *         until the bound passes)
         */
        Renewal renew(long timeoutNanos);
    }

    /** What a renewal found. */
    public sealed interface Renewal {
        /** The service confirmed the lease. */
        record Renewed() implements Renewal {
        }

        /** The service says the lease is no longer this holder's: lost at once. */
        record Refused(String why) implements Renewal {
        }

        Renewal RENEWED = new Renewed();
    }

    private final String what;
    private final long validityNanos;
    private final long maxCallNanos;
    private final Renewer renewer;
    private final LeaseLoss loss;
    private final CountDownLatch closing = new CountDownLatch(1);
    /** Until when (System.nanoTime) the lease is surely still ours. */
    private volatile long validUntil;
    private volatile boolean renewalSuspended;
    private Thread thread;
    /** The round trips of the last confirmed renewals (nanoseconds), a ring written by the renewal thread. */
    private final AtomicLongArray renewalNanos = new AtomicLongArray(RECENT_RENEWALS);
    private final AtomicLong renewals = new AtomicLong();

    /**
     * @param what          the lease in log lines: {@code lock floodgate.reconciler (token 42)}
     * @param validityNanos how long a confirmed renewal keeps the lease surely held
     * @param sentAt        when the request that took the lease was sent (System.nanoTime)
     * @param maxCallNanos  the longest one renewal may wait for its answer
     */
    public LeaseKeeper(String what, long validityNanos, long sentAt, long maxCallNanos, Renewer renewer) {
        if (validityNanos <= 0) {
            throw new IllegalArgumentException("validity must be positive, was " + validityNanos + " ns for " + what);
        }
        this.what = Objects.requireNonNull(what, "what");
        this.validityNanos = validityNanos;
        this.maxCallNanos = maxCallNanos;
        this.renewer = Objects.requireNonNull(renewer, "renewer");
        this.validUntil = sentAt + validityNanos;
        this.loss = new LeaseLoss(e -> LOG.log(System.Logger.Level.ERROR, "a listener for the loss of " + what
                + " failed", e));
    }

    /**
     * The validity of a lease the service keeps for {@code serviceLeaseMillis} after it last heard
     * from the holder: less 1% and 2 ms for the two clocks' rates and the scheduling of the check.
     */
    public static long validityOf(long serviceLeaseMillis) {
        long nanos = TimeUnit.MILLISECONDS.toNanos(serviceLeaseMillis);
        return nanos - nanos / 100 - TimeUnit.MILLISECONDS.toNanos(2);
    }

    /** Starts renewing on a virtual thread named {@code threadName}. */
    public LeaseKeeper start(String threadName) {
        thread = Thread.ofVirtual().name(threadName).start(this::keep);
        return this;
    }

    /** Not closed, not lost, and the bound not passed. Cheap. */
    public boolean isValid() {
        return closing.getCount() != 0 && !loss.ended() && System.nanoTime() - validUntil < 0;
    }

    /** Whether the lease has been lost or closed. */
    public boolean ended() {
        return loss.ended();
    }

    public void onLost(Runnable listener) {
        loss.onLost(listener);
    }

    /** Reports the loss now (the adapter learned it another way: its session ended). */
    public void lose(String why) {
        if (!loss.ended()) {
            LOG.log(System.Logger.Level.WARNING, what + " was lost: " + why + "; its holder must stop");
        }
        loss.report();
    }

    /**
     * Stops renewing; the lease's listeners never run after this.
     *
     * @return true for the first call (the caller then releases the lease on the service)
     */
    public boolean close() {
        if (closing.getCount() == 0) {
            return false;
        }
        closing.countDown();
        loss.close();
        return true;
    }

    /** From now on renewals are not sent, as if the service could not be reached (tests). */
    public void suspendRenewal() {
        renewalSuspended = true;
    }

    private void keep() {
        long renewEvery = validityNanos / 3;
        long retryEvery = Math.max(TimeUnit.MILLISECONDS.toNanos(5), validityNanos / 10);
        long nextRenewal = validUntil - validityNanos + renewEvery;
        try {
            while (true) {
                long wait = Math.min(nextRenewal, validUntil) - System.nanoTime();
                if (closing.await(Math.max(0, wait), TimeUnit.NANOSECONDS) || loss.ended()) {
                    return; // closed, or lost another way (the adapter's session ended)
                }
                long now = System.nanoTime();
                if (now - validUntil >= 0) {
                    lose("no renewal was confirmed within the lease");
                    return;
                }
                if (now - nextRenewal < 0) {
                    continue;
                }
                try {
                    if (renewalSuspended) {
                        throw new DependencyUnavailableException("lock", "renewal suspended (test)");
                    }
                    Renewal renewal = renewer.renew(Math.min(maxCallNanos, validUntil - now));
                    if (renewal instanceof Renewal.Refused(String why)) {
                        lose(why);
                        return;
                    }
                    validUntil = now + validityNanos;
                    nextRenewal = now + renewEvery;
                    long n = renewals.getAndIncrement();
                    renewalNanos.set((int) (n % RECENT_RENEWALS), System.nanoTime() - now);
                } catch (DependencyUnavailableException e) {
                    LOG.log(System.Logger.Level.DEBUG, () -> what + ": renewal failed, retrying until the lease runs"
                            + " out: " + e.getMessage());
                    nextRenewal = System.nanoTime() + retryEvery;
                } catch (RuntimeException e) {
                    LOG.log(System.Logger.Level.WARNING, what + ": renewal failed unexpectedly; retrying until the"
                            + " lease runs out", e);
                    nextRenewal = System.nanoTime() + retryEvery;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Confirmed renewals so far. */
    public long renewals() {
        return renewals.get();
    }

    /**
     * The round trips of the last confirmed renewals (up to {@value #RECENT_RENEWALS}), in
     * nanoseconds, oldest first. Read while the renewal thread may write the next one: a sample
     * may be missing or one newer than the count, which is fine for what reads it.
     */
    public long[] recentRenewals() {
        long n = renewals.get();
        int size = (int) Math.min(n, RECENT_RENEWALS);
        long[] out = new long[size];
        for (int i = 0; i < size; i++) {
            out[i] = renewalNanos.get((int) ((n - size + i) % RECENT_RENEWALS));
        }
        return out;
    }

    @Override
    public String toString() {
        return "LeaseKeeper[" + what + (thread == null ? ", not started" : "") + "]";
    }
}
