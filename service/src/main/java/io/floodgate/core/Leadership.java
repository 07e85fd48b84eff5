package io.floodgate.core;

import io.floodgate.core.port.Lock;

import java.time.Duration;
import java.util.Objects;

/**
 * One instance at a time doing a job: the lease of a named {@link Lock}, taken when free, kept
 * while held, given up when lost or when a newer holder's fence refuses a write. Not thread-safe:
 * one loop owns it ({@link #acquire} and {@link #stepDown} are {@code @GuardedBy} that loop's
 * thread); {@link #held()} and {@link #current()} may be read from any (the lease is volatile).
 */
final class Leadership implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(Leadership.class.getName());

    private final Lock lock;
    private final String name;
    private final Duration leaseLength;
    private final String job;
    private volatile Lock.Lease lease;

    /** @param job what the holder does, for log lines ("leads the reconciler") */
    Leadership(Lock lock, String name, Duration leaseLength, String job) {
        this.lock = Objects.requireNonNull(lock, "lock");
        this.name = Objects.requireNonNull(name, "name");
        this.leaseLength = Objects.requireNonNull(leaseLength, "leaseLength");
        this.job = Objects.requireNonNull(job, "job");
    }

    /**
     * The lease, still held or just taken; null when another instance holds the lock or the lock
     * does not answer.
     */
    Lock.Lease acquire() {
        Lock.Lease current = lease;
        if (current != null && current.isHeld()) {
            return current;
        }
        if (current != null) {
            LOG.log(System.Logger.Level.WARNING, "this instance no longer " + job + ": lost the lock " + name
                    + " (token " + current.token() + ")");
            current.close();
            lease = null;
        }
        try {
            return switch (lock.tryAcquire(name, leaseLength)) {
                case Lock.Acquisition.Acquired(Lock.Lease acquired) -> {
                    lease = acquired;
                    LOG.log(System.Logger.Level.INFO, "this instance now " + job + " (fencing token "
                            + acquired.token() + ")");
                    yield acquired;
                }
                case Lock.Acquisition.Busy b -> null;
            };
        } catch (DependencyUnavailableException e) {
            return null;
        }
    }

    /** Gives up {@code held}: a newer holder has written. */
    void stepDown(Lock.Lease held, StaleFencingTokenException why) {
        LOG.log(System.Logger.Level.WARNING, "a newer holder of " + name + " has written (token " + why.newest()
                + " > ours " + why.token() + "); this instance no longer " + job);
        held.close();
        if (lease == held) {
            lease = null;
        }
    }

    /** Whether this instance holds the lock now. */
    boolean held() {
        Lock.Lease current = lease;
        return current != null && current.isHeld();
    }

    /** The lease held now, or null. */
    Lock.Lease current() {
        return lease;
    }

    @Override
    public void close() {
        Lock.Lease current = lease;
        if (current != null) {
            current.close();
            lease = null;
        }
    }
}
