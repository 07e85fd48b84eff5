package io.floodgate.zookeeper;

import io.floodgate.core.DependencyUnavailableException;
import io.floodgate.core.KeptLease;
import io.floodgate.core.LeaseKeeper;
import io.floodgate.core.LeaseKeeper.Renewal;
import io.floodgate.core.port.Lock;
import org.apache.zookeeper.data.Stat;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * The {@link Lock} on a ZooKeeper ensemble: the lock recipe of ephemeral sequential nodes, without
 * waiting (an attempt that is not first gives up at once). Built by {@link ZooKeeperLocks}.
 *
 * <h2>Nodes</h2>
 * A lock named {@code n} is the children of {@code <root>/locks/n}. An attempt creates an
 * ephemeral sequential child ({@code _c_<uuid>-lock-0000000042}, Curator's protected form) and
 * lists the children: if its own has the lowest sequence number, it holds the lock; otherwise it
 * deletes its child and answers {@link Acquisition#BUSY}. The lowest child stays the lowest until
 * it is deleted (a later child always gets a higher number), so at most one attempt is ever
 * first: mutual exclusion needs no more than ZooKeeper's order of writes.
 *
 * <h2>Fencing token</h2>
 * The token is the holder's node's {@code czxid}: the ensemble-wide transaction id that created
 * it. Transaction ids only grow (a new leader starts a new epoch in the upper 32 bits), and each
 * holder's node was created after the node of the holder before it (which was the lowest while
 * it lived), so tokens rise from holder to holder, across sessions, clients and leader elections,
 * for as long as the ensemble keeps its data.
 *
 * <h2>Lease</h2>
 * The lease is the session's: the ensemble deletes a session's ephemeral nodes when it has heard
 * nothing from it for its timeout. Leases of one length share one {@link Session} whose timeout is
 * that length (the ensemble may grant another within its {@code minSessionTimeout} and
 * {@code maxSessionTimeout}; the holder then keeps to the shorter of the two and a warning says
 * that a dead holder's lock is freed only after the granted one). Each lease checks its node every
 * third of the lease ({@code exists}: it must be there and belong to this session), which also
 * keeps the session alive; the holder's clock bounds the lease from the last confirmed check
 * ({@link LeaseKeeper}), so a holder cut off from the ensemble stops before the ensemble lets
 * another in. A session that expires or is lost loses every lease on it at once; a lease found
 * lost while its session lives has its node deleted, so the lock is free again for the others.
 */
final class ZooKeeperLock implements Lock {

    private static final Logger LOG = LoggerFactory.getLogger(ZooKeeperLock.class);
    private static final Pattern SEQUENCE = Pattern.compile("-?[0-9]{10}");
    private static final Comparator<String> BY_SEQUENCE = Comparator.comparingLong(ZooKeeperLock::sequence);

    private final ZooKeeperLocks.Settings settings;
    /** Open sessions by the lease length they serve. */
    private final Map<Long, Session> sessions = new ConcurrentHashMap<>();
    private final Set<ZkLease> open = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;

    ZooKeeperLock(ZooKeeperLocks.Settings settings) {
        this.settings = settings;
    }

    @Override
    public Acquisition tryAcquire(String name, Duration lease) {
        long leaseMillis = Lock.leaseMillis(name, lease);
        if (closed) {
            throw new IllegalStateException("the lock is closed; cannot acquire " + name);
        }
        Session session = session(leaseMillis);
        String dir = settings.root() + "/locks/" + name;
        byte[] owner = UUID.randomUUID().toString().getBytes(StandardCharsets.UTF_8);
        long sentAt = System.nanoTime();
        Session.Created created = null;
        try {
            created = session.createEphemeralSequential(dir + "/lock-", owner);
            List<String> children = session.children(dir);
            String mine = created.path().substring(dir.length() + 1);
            Optional<String> first = children.stream().filter(ZooKeeperLock::isLockNode).min(BY_SEQUENCE);
            if (first.isEmpty() || !first.get().equals(mine)) {
                if (!session.delete(created.path(), settings.operationTimeout().toNanos())) {
                    LOG.warn("lock {}: could not delete the losing attempt {} at once; Curator deletes it when it can",
                            name, created.path());
                }
                return Acquisition.BUSY;
            }
        } catch (DependencyUnavailableException e) {
            if (created != null || e.outcomeUnknown()) {
                // a node of this attempt may exist, and would hold the lock for as long as the
                // session lives: end the session, which takes its nodes with it
                session.end("an attempt on lock " + name + " failed half-way (" + e.getMessage() + ")");
            }
            throw e;
        }
        ZkLease held = new ZkLease(name, created.path(), created.stat(), session, leaseMillis, sentAt);
        open.add(held);
        if (session.ended()) {
            held.keeper().lose("its ZooKeeper session ended as it was taken");
        }
        held.startRenewing();
        return new Acquisition.Acquired(held);
    }

    /** The open session for leases of {@code leaseMillis}, or a new one. */
    private Session session(long leaseMillis) {
        Session current = sessions.get(leaseMillis);
        if (current != null && !current.ended()) {
            return current;
        }
        synchronized (sessions) {
            current = sessions.get(leaseMillis);
            if (current != null && !current.ended()) {
                return current;
            }
            Session opened = Session.open(settings, (int) Math.min(Integer.MAX_VALUE, leaseMillis), this::sessionEnded);
            if (opened.negotiatedMillis() > leaseMillis) {
                LOG.warn("ZooKeeper granted a session timeout of {} ms for leases of {} ms (its minSessionTimeout):"
                        + " holders keep to {} ms, but a holder that dies frees its lock only after {} ms",
                        opened.negotiatedMillis(), leaseMillis, leaseMillis, opened.negotiatedMillis());
            }
            sessions.put(leaseMillis, opened);
            return opened;
        }
    }

    private void sessionEnded(Session session) {
        sessions.values().remove(session);
        for (ZkLease lease : open) {
            if (lease.session == session) {
                lease.keeper().lose("its ZooKeeper session ended");
            }
        }
    }

    /**
     * Children this lock made: Curator's protected names ending in {@code lock-} and the sequence
     * number, ten digits (ZooKeeper's counter is a signed 32-bit number per parent: after 2^31
     * attempts on one name it wraps and the order breaks; at one attempt a second, 68 years).
     */
    private static boolean isLockNode(String child) {
        int at = child.lastIndexOf("lock-");
        return at >= 0 && SEQUENCE.matcher(child).region(at + 5, child.length()).matches();
    }

    private static long sequence(String child) {
        return Long.parseLong(child.substring(child.lastIndexOf("lock-") + 5));
    }

    /** Releases every lease it holds, then ends its sessions. Idempotent. */
    @Override
    public void close() {
        synchronized (sessions) {
            if (closed) {
                return;
            }
            closed = true;
        }
        open.forEach(ZkLease::close);
        sessions.values().forEach(Session::close);
        sessions.clear();
    }

    /** A lease on ZooKeeper: one ephemeral node. Package-private for tests. */
    final class ZkLease extends KeptLease {
        private final String path;
        private final Session session;

        ZkLease(String name, String path, Stat stat, Session session, long leaseMillis, long sentAt) {
            super(name, stat.getCzxid(), "lock " + name + " (token " + stat.getCzxid() + ", node " + path + ")",
                    LeaseKeeper.validityOf(Math.min(leaseMillis, session.negotiatedMillis())), sentAt,
                    settings.operationTimeout().toNanos());
            this.path = path;
            this.session = session;
            // a lease lost while its session lives must not go on holding the lock
            keeper().onLost(() -> session.deleteInBackground(path));
        }

        @Override
        protected Renewal renew(long timeout) {
            if (session.ended()) {
                return new Renewal.Refused("its ZooKeeper session ended");
            }
            Optional<Stat> stat = session.exists(path, timeout);
            if (stat.isEmpty()) {
                return new Renewal.Refused("its node " + path + " is gone");
            }
            if (stat.get().getEphemeralOwner() != session.id()) {
                return new Renewal.Refused("its node " + path + " belongs to another session");
            }
            return Renewal.RENEWED;
        }

        @Override
        protected void release() {
            open.remove(this);
            session.delete(path, settings.operationTimeout().toNanos());
        }

        Session session() {
            return session;
        }

        @Override
        public String toString() {
            return "ZkLease[" + name() + ", token " + token() + ", " + path + ", " + session + "]";
        }
    }
}
