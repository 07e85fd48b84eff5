package io.floodgate.etcd;

import io.floodgate.core.DependencyUnavailableException;
import io.floodgate.core.KeptLease;
import io.floodgate.core.LeaseKeeper;
import io.floodgate.core.LeaseKeeper.Renewal;
import io.floodgate.core.port.Lock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The {@link Lock} on an etcd cluster: a key attached to a lease, created only if absent. Built by
 * {@link EtcdLocks}.
 *
 * <h2>Keys</h2>
 * A lock named {@code n} is the key {@code <prefix>/locks/n}. An attempt grants a lease, then in
 * one transaction puts the key with that lease if the key's create revision is 0 (it does not
 * exist). If the key exists the attempt revokes its lease and answers {@link Acquisition#BUSY}.
 * etcd orders transactions, so one attempt at most finds the key absent.
 *
 * <h2>Fencing token</h2>
 * The token is the key's create revision: the cluster's revision counter after the put. Every
 * write to the cluster raises that counter by one, and the next holder's put comes after the
 * previous holder's key was deleted, so tokens rise from holder to holder for as long as the
 * cluster keeps its data (compaction does not lower the counter).
 *
 * <h2>Lease</h2>
 * etcd leases count whole seconds: the lease asked for is rounded up to seconds, and etcd may
 * raise a short one to its minimum (1.5 election timeouts, at least 1 s; 2 s with etcd's default
 * timing) and revokes expired leases in a sweep every 500 ms. A holder that dies frees the lock
 * after that, not after the lease it asked for. The holder keeps to the shorter of the two by its
 * own clock ({@link LeaseKeeper}): every third of it, one keep-alive and one read of the key (it
 * must still be there, with this lease and this create revision); a holder cut off from etcd stops
 * before etcd revokes its lease. Release revokes the lease, which deletes the key with it: only
 * the holder knows the lease id, so only the holder releases.
 */
final class EtcdLock implements Lock {

    private static final Logger LOG = LoggerFactory.getLogger(EtcdLock.class);

    private final Gateway gateway;
    private final EtcdLocks.Settings settings;
    private final Set<EtcdLease> open = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;

    EtcdLock(Gateway gateway, EtcdLocks.Settings settings) {
        this.gateway = gateway;
        this.settings = settings;
    }

    @Override
    public Acquisition tryAcquire(String name, Duration lease) {
        long leaseMillis = Lock.leaseMillis(name, lease);
        if (closed) {
            throw new IllegalStateException("the lock is closed; cannot acquire " + name);
        }
        long timeout = settings.requestTimeout().toNanos();
        String key = settings.prefix() + "/locks/" + name;
        long sentAt = System.nanoTime();
        Gateway.Grant grant = gateway.grant(Math.ceilDiv(leaseMillis, 1_000), timeout);
        Optional<Long> revision;
        try {
            revision = gateway.putIfAbsent(key, UUID.randomUUID().toString(), grant.id(), timeout);
        } catch (DependencyUnavailableException e) {
            // the put may have happened: revoking the lease deletes the key with it
            revokeQuietly(name, grant.id());
            throw e;
        }
        if (revision.isEmpty()) {
            revokeQuietly(name, grant.id());
            return Acquisition.BUSY;
        }
        if (grant.ttlSeconds() * 1_000 > leaseMillis) {
            LOG.debug("lock {}: etcd keeps the lease {} s (asked for {} ms): a holder that dies frees it after that",
                    name, grant.ttlSeconds(), leaseMillis);
        }
        EtcdLease held = new EtcdLease(name, key, revision.get(), grant,
                Math.min(leaseMillis, grant.ttlSeconds() * 1_000), sentAt);
        open.add(held);
        held.startRenewing();
        return new Acquisition.Acquired(held);
    }

    private void revokeQuietly(String name, long leaseId) {
        try {
            gateway.revoke(leaseId, settings.requestTimeout().toNanos());
        } catch (DependencyUnavailableException e) {
            LOG.warn("lock {}: revoking lease {} failed ({}); etcd frees it when its TTL runs out", name, leaseId,
                    e.getMessage());
        }
    }

    /** Releases every lease it holds. Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        open.forEach(EtcdLease::close);
        gateway.close();
    }

    /** A lease on etcd: one key on one etcd lease. Package-private for tests. */
    final class EtcdLease extends KeptLease {
        private final String key;
        private final long leaseId;

        EtcdLease(String name, String key, long token, Gateway.Grant grant, long keptMillis, long sentAt) {
            super(name, token, "lock " + name + " (token " + token + ", etcd lease " + grant.id() + ")",
                    LeaseKeeper.validityOf(keptMillis), sentAt, settings.requestTimeout().toNanos());
            this.key = key;
            this.leaseId = grant.id();
            // a lease lost while etcd still has it must not go on holding the lock
            keeper().onLost(() -> Thread.ofVirtual().name("lock-revoke-" + name)
                    .start(() -> revokeQuietly(name, leaseId)));
        }

        @Override
        protected Renewal renew(long timeout) {
            long deadline = System.nanoTime() + timeout;
            if (gateway.keepAlive(leaseId, timeout) <= 0) {
                return new Renewal.Refused("etcd no longer has its lease " + leaseId + " (expired or revoked)");
            }
            Optional<Gateway.KeyValue> kv = gateway.get(key, Math.max(1, deadline - System.nanoTime()));
            if (kv.isEmpty() || kv.get().createRevision() != token() || kv.get().lease() != leaseId) {
                return new Renewal.Refused("its key " + key + " is gone or was replaced");
            }
            return Renewal.RENEWED;
        }

        @Override
        protected void release() {
            open.remove(this);
            revokeQuietly(name(), leaseId);
        }

        long leaseId() {
            return leaseId;
        }

        @Override
        public String toString() {
            return "EtcdLease[" + name() + ", token " + token() + ", lease " + leaseId + "]";
        }
    }
}
