package io.floodgate.core.port;

import java.time.Duration;

/**
 * Mutual exclusion between processes, with a lease and a fencing token: the reconciler's leader
 * election, and anything else only one instance may do at a time.
 *
 * <h2>What it keeps</h2>
 * <ul>
 *   <li><b>At most one holder per name</b> at any moment, as the lock's own clock sees it (the
 *   lock service's: Redis, ZooKeeper, etcd; or this process's).</li>
 *   <li><b>Strictly increasing tokens.</b> Every successful {@link #tryAcquire} gets a
 *   {@linkplain Lease#token() fencing token} greater than every token handed out before for that
 *   name, also when the previous holder's lease ran out rather than being released.</li>
 *   <li><b>A lease, renewed while held.</b> The adapter renews the lease in the background
 *   (about every third of its length) until {@link Lease#close()}. A holder that stops
 *   (crashes, loses its network) loses the lock when the lease runs out, and only then.</li>
 *   <li><b>Release by the owner only.</b> Closing a lease that has already been lost changes
 *   nothing for whoever holds the lock now.</li>
 *   <li><b>Loss is reported.</b> When renewal fails for longer than the lease, or finds that the
 *   lock is no longer its own, {@link Lease#isHeld()} turns false and the
 *   {@linkplain Lease#onLost listeners} run, at the latest when the lease would have run out by
 *   the holder's own clock.</li>
 * </ul>
 *
 * <h2>What the holder must do</h2>
 * Check {@link Lease#isHeld()} before each step and stop as soon as it is false or a listener
 * fires. That alone is not enough: a process can pause (GC, a stopped VM) between the check and
 * the write, and its lease can run out in that gap. So every write that only the holder may make
 * carries the {@linkplain Lease#token() token}, and the store refuses a token older than one it
 * has already seen ({@link OrderStore#recordAudit}, {@link OrderStore#insertOrders(Fence, java.util.List)}).
 * The lock gives liveness; the token in the store gives safety.
 *
 * <p>Failures to reach the lock's backing service surface as
 * {@link io.floodgate.core.DependencyUnavailableException}. Leases are as precise as the service
 * keeps them: etcd rounds them up to whole seconds (at least 1 s), ZooKeeper grants sessions within
 * its ensemble's bounds; a holder keeps to the shorter of asked and granted, so only a dead
 * holder's lock may outlive the lease asked for.
 */
public interface Lock extends AutoCloseable {

    /**
     * Takes the lock named {@code name} for a lease of {@code lease}, without waiting.
     *
     * @param name  letters, digits and {@code . _ : -}, at most 64
     * @param lease how long the lock outlives its holder's last renewal; at least 30 ms
     */
    Acquisition tryAcquire(String name, Duration lease);

    /**
     * Checks {@code name} and {@code lease} against the rules of {@link #tryAcquire}, for adapters.
     *
     * @return the lease in milliseconds
     */
    static long leaseMillis(String name, Duration lease) {
        if (name == null || !name.matches("[A-Za-z0-9._:-]{1,64}")) {
            throw new IllegalArgumentException("lock name must be 1-64 of [A-Za-z0-9._:-], was " + name);
        }
        if (lease == null || lease.toMillis() < 30) {
            throw new IllegalArgumentException("lease must be at least 30 ms, was " + lease);
        }
        return lease.toMillis();
    }

    /** Releases every lease still held through this lock and stops renewing them. */
    @Override
    void close();

    /** What became of an attempt to take the lock. */
    sealed interface Acquisition {
        /** Taken: the caller holds {@code lease} until it closes it or loses it. */
        record Acquired(Lease lease) implements Acquisition {
        }

        /** Someone else holds the lock (or it was taken again before this attempt). */
        record Busy() implements Acquisition {
        }

        Acquisition BUSY = new Busy();
    }

    /** One holding of a lock, from acquisition to release or loss. */
    interface Lease extends AutoCloseable {

        String name();

        /** The fencing token: greater than that of every earlier holder of this lock. */
        long token();

        /**
         * Whether this lease still holds the lock, by the holder's own clock: false once it is
         * closed, once renewal found the lock taken, or once the time since the last confirmed
         * renewal reaches the lease. Cheap; call it before every step.
         */
        boolean isHeld();

        /** The token and name together, to hand to fenced writes. */
        default Fence fence() {
            return new Fence(name(), token());
        }

        /**
         * Runs {@code listener} once when the lease is lost (not when it is closed), on the
         * adapter's renewal thread; at once, on this thread, if it already is lost. The listener
         * must not block.
         */
        void onLost(Runnable listener);

        /** Stops renewing and releases the lock if this lease still owns it. Idempotent. */
        @Override
        void close();
    }

    /**
     * A fencing token and the lock it came from, carried by every write that only the lock's
     * holder may make.
     */
    record Fence(String lockName, long token) {
        public Fence {
            if (lockName == null || lockName.isEmpty()) {
                throw new IllegalArgumentException("a fence needs a lock name, was " + lockName);
            }
            if (token <= 0) {
                throw new IllegalArgumentException("fencing tokens are positive, was " + token + " for " + lockName);
            }
        }
    }
}
