package io.floodgate.memory;

import io.floodgate.core.LeaseLoss;
import io.floodgate.core.port.Lock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * The embedded {@link Lock}: locks that exist in this process only, for the one-instance
 * deployment (where the reconciler competes with nobody but itself) and for tests.
 *
 * <h2>Design</h2>
 * Each name has a {@link Slot}: the last token handed out, the current holder and when its lease
 * runs out, all guarded by the slot's monitor. Expiry is judged on the injected {@link Clock}, so
 * tests move time instead of sleeping. Each lease has a virtual thread that extends it every third
 * of its length (real time) while it is open; holder and lock share a process, so this only fails
 * when the renewer is held up longer than the lease, or when {@link Held#suspendRenewal()} says it
 * is (tests: a holder cut off from its lock). A renewer that finds its lease run out or taken
 * reports the loss and stops.
 *
 * <p>Invariants, per name: at most one holder whose lease has not run out; tokens strictly
 * increase, one per acquisition; only the holder's release clears the slot.
 */
public final class InProcessLock implements Lock {

    private static final Logger LOG = LoggerFactory.getLogger(InProcessLock.class);

    private final Clock clock;
    private final ConcurrentHashMap<String, Slot> slots = new ConcurrentHashMap<>();
    private final Set<Held> open = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;

    public InProcessLock(Clock clock) {
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /** One lock name's state; every field is read and written under the slot's monitor. */
    private static final class Slot {
        long lastToken;
        Held holder;
        long expiresAtMillis;
    }

    @Override
    public Acquisition tryAcquire(String name, Duration lease) {
        long leaseMillis = Lock.leaseMillis(name, lease);
        if (closed) {
            throw new IllegalStateException("the lock is closed; cannot acquire " + name);
        }
        Slot slot = slots.computeIfAbsent(name, n -> new Slot());
        Held held;
        synchronized (slot) {
            long now = clock.millis();
            if (slot.holder != null && now < slot.expiresAtMillis) {
                return Acquisition.BUSY;
            }
            held = new Held(name, slot, ++slot.lastToken, leaseMillis);
            slot.holder = held;
            slot.expiresAtMillis = now + leaseMillis;
        }
        open.add(held);
        held.renewer.start();
        return new Acquisition.Acquired(held);
    }

    @Override
    public void close() {
        closed = true;
        open.forEach(Held::close);
    }

    /** A lease of this lock. Package-private for tests ({@link #suspendRenewal()}). */
    final class Held implements Lease {
        private final String name;
        private final Slot slot;
        private final long token;
        private final long leaseMillis;
        private final Thread renewer;
        private final CountDownLatch closing = new CountDownLatch(1);
        private final LeaseLoss loss;
        private volatile boolean renewalSuspended;

        Held(String name, Slot slot, long token, long leaseMillis) {
            this.name = name;
            this.slot = slot;
            this.token = token;
            this.leaseMillis = leaseMillis;
            this.loss = new LeaseLoss(e -> LOG.error("a listener for the loss of lock {} failed", name, e));
            this.renewer = Thread.ofVirtual().name("lock-renew-" + name + "-" + token).unstarted(this::keep);
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public long token() {
            return token;
        }

        @Override
        public boolean isHeld() {
            if (closing.getCount() == 0 || loss.ended()) {
                return false;
            }
            synchronized (slot) {
                return slot.holder == this && clock.millis() < slot.expiresAtMillis;
            }
        }

        @Override
        public void onLost(Runnable listener) {
            loss.onLost(listener);
        }

        /** From now on renewals do not extend the lease, as if the holder were cut off. */
        void suspendRenewal() {
            renewalSuspended = true;
        }

        private void keep() {
            try {
                while (!closing.await(Math.max(1, leaseMillis / 3), TimeUnit.MILLISECONDS)) {
                    if (!renew()) {
                        if (!loss.ended()) {
                            LOG.warn("lock {} (token {}) was lost: its lease ran out or another holder took it",
                                    name, token);
                        }
                        loss.report();
                        return;
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        private boolean renew() {
            synchronized (slot) {
                long now = clock.millis();
                if (slot.holder != this || now >= slot.expiresAtMillis) {
                    return false;
                }
                if (!renewalSuspended) {
                    slot.expiresAtMillis = now + leaseMillis;
                }
                return true;
            }
        }

        @Override
        public void close() {
            if (closing.getCount() == 0) {
                return;
            }
            closing.countDown();
            loss.close(); // a closed lease is not lost: its listeners never run
            synchronized (slot) {
                if (slot.holder == this) {
                    slot.holder = null;
                }
            }
            open.remove(this);
        }
    }
}
