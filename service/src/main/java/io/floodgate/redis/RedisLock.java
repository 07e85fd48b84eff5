package io.floodgate.redis;

import io.floodgate.core.DependencyUnavailableException;
import io.floodgate.core.KeptLease;
import io.floodgate.core.LeaseKeeper;
import io.floodgate.core.LeaseKeeper.Renewal;
import io.floodgate.core.port.Lock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The {@link Lock} on one Redis server (or Redis Cluster): a single-instance lock, not Redlock.
 * Built by {@link RedisLocks}.
 *
 * <h2>Keys and scripts</h2>
 * A lock named {@code n} is two keys with the hash tag {@code {lock:n}} (one slot):
 * <pre>
 *   ns:{lock:n}:owner  the holder's owner id (random per acquisition), expiring with the lease (PX)
 *   ns:{lock:n}:token  the last fencing token handed out; no TTL
 * </pre>
 * {@code lock_acquire.lua} sets the owner with NX PX and increments the token in one step;
 * {@code lock_renew.lua} and {@code lock_release.lua} act only when the owner id is the caller's.
 * Token floor across a Redis that lost its data: see {@code lock_acquire.lua}.
 *
 * <h2>How the holder learns it lost the lock</h2>
 * Each lease has a {@link LeaseKeeper} that renews it every third of the lease on a virtual
 * thread. The holder's own clock decides validity: a lease is held until {@code sentAt + lease -
 * drift}, where {@code sentAt} is when the last renewal that Redis confirmed was sent (Redis starts
 * its PX no earlier), and {@code drift} allows 1% + 2 ms for the two clocks' rates.
 * {@link Lease#isHeld()} reads that bound, so it turns false on time even if the renewer is
 * starved; the keeper fires the loss listeners when the bound passes with no renewal confirmed
 * (Redis unreachable, replies late), or at once when a renewal finds another owner or none.
 * Failed renewals are retried every tenth of the lease until then. Redis keeps the lock for the
 * full lease, so nobody else can take it before the holder has been told.
 *
 * <p>A process pause longer than the lease (GC, a stopped VM) defeats every such check: the holder
 * wakes up believing it holds the lock. That is what the fencing token is for (see {@link Lock}).
 *
 * <p>A lock should have its own connection ({@link RedisLocks#connect}), so that renewals do not
 * queue behind a burst of ledger traffic.
 */
final class RedisLock implements Lock {

    private static final Logger LOG = LoggerFactory.getLogger(RedisLock.class);

    private final Redis redis;
    private final String namespace;
    private final Set<RedisLease> open = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;

    RedisLock(Redis redis, String namespace) {
        this.redis = redis;
        this.namespace = namespace;
    }

    @Override
    public Acquisition tryAcquire(String name, Duration lease) {
        long leaseMillis = Lock.leaseMillis(name, lease);
        if (closed) {
            throw new IllegalStateException("the lock is closed; cannot acquire " + name);
        }
        String prefix = namespace + ":{lock:" + name + "}:";
        String[] keys = {prefix + "owner", prefix + "token"};
        String owner = UUID.randomUUID().toString();
        long sentAt = System.nanoTime();
        List<Object> reply;
        try {
            reply = redis.eval(Script.LOCK_ACQUIRE, keys, redis.maxTimeoutNanos(), owner,
                    Long.toString(leaseMillis));
        } catch (DependencyUnavailableException e) {
            if (e.outcomeUnknown()) {
                // The SET may have run: give it back rather than leave it to expire unrenewed. Sent
                // after the acquire on the same connection, so it runs after it.
                releaseQuietly(name, keys, owner);
            }
            throw e;
        }
        if (((Long) reply.getFirst()) == 0) {
            return Acquisition.BUSY;
        }
        RedisLease held = new RedisLease(name, keys, owner, (Long) reply.get(1), leaseMillis, sentAt);
        open.add(held);
        held.startRenewing();
        return new Acquisition.Acquired(held);
    }

    private boolean releaseQuietly(String name, String[] keys, String owner) {
        try {
            return ((Long) redis.eval(Script.LOCK_RELEASE, new String[]{keys[0]}, redis.maxTimeoutNanos(), owner)
                    .getFirst()) == 1;
        } catch (DependencyUnavailableException e) {
            LOG.warn("lock {}: release failed ({}); Redis frees it when its lease runs out", name, e.getMessage());
            return false;
        }
    }

    /** Releases what it holds, then closes the connection. Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        open.forEach(RedisLease::close);
        redis.close();
    }

    /** A lease on Redis. Package-private for tests. */
    final class RedisLease extends KeptLease {
        private final String[] keys;
        private final String owner;
        private final String leaseMillis;

        RedisLease(String name, String[] keys, String owner, long token, long leaseMillis, long sentAt) {
            super(name, token, "lock " + name + " (token " + token + ")", LeaseKeeper.validityOf(leaseMillis), sentAt,
                    redis.maxTimeoutNanos());
            this.keys = keys;
            this.owner = owner;
            this.leaseMillis = Long.toString(leaseMillis);
        }

        @Override
        protected Renewal renew(long timeoutNanos) {
            List<Object> reply = redis.eval(Script.LOCK_RENEW, new String[]{keys[0]}, timeoutNanos, owner, leaseMillis);
            return (Long) reply.getFirst() == 0
                    ? new Renewal.Refused("Redis says it is no longer ours (its lease ran out there)")
                    : Renewal.RENEWED;
        }

        @Override
        protected void release() {
            open.remove(this);
            releaseQuietly(name(), keys, owner);
        }
    }
}
