package io.floodgate.core;

import io.floodgate.core.port.Lock;

/**
 * A {@link Lock.Lease} on a lock service, kept alive by a {@link LeaseKeeper}: what the Redis,
 * ZooKeeper and etcd leases share. A subclass says how to renew once ({@link #renew}) and how to
 * give the lock back ({@link #release}); this class answers the rest from the keeper, and calls
 * {@code release} once, on the first {@link #close()}.
 */
public abstract class KeptLease implements Lock.Lease {

    private final String name;
    private final long token;
    private final LeaseKeeper keeper;

    /**
     * @param what          the lease in log lines, e.g. {@code lock n (token 42, node /a/b)}
     * @param validityNanos see {@link LeaseKeeper#validityOf}
     * @param sentAt        when the request that took the lease was sent (System.nanoTime)
     * @param maxCallNanos  the longest one renewal may wait
     */
    @SuppressWarnings("this-escape") // the keeper calls renew only after startRenewing(), once constructed
    protected KeptLease(String name, long token, String what, long validityNanos, long sentAt, long maxCallNanos) {
        this.name = name;
        this.token = token;
        this.keeper = new LeaseKeeper(what, validityNanos, sentAt, maxCallNanos, this::renew);
    }

    /** One renewal round trip (on the keeper's thread); see {@link LeaseKeeper.Renewer}. */
    protected abstract LeaseKeeper.Renewal renew(long timeoutNanos);

    /** Gives the lock back on the service, if it is still this lease's; once, on the first close. */
    protected abstract void release();

    /** Starts renewing; the adapter calls it once the lease is registered. */
    public final void startRenewing() {
        keeper.start("lock-renew-" + name + "-" + token);
    }

    /** The keeper: diagnostics and benchmarks read its renewals, tests suspend them. */
    public final LeaseKeeper keeper() {
        return keeper;
    }

    @Override
    public final String name() {
        return name;
    }

    @Override
    public final long token() {
        return token;
    }

    @Override
    public final boolean isHeld() {
        return keeper.isValid();
    }

    @Override
    public final void onLost(Runnable listener) {
        keeper.onLost(listener);
    }

    @Override
    public final void close() {
        if (keeper.close()) {
            release();
        }
    }
}
