package io.floodgate.bench;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;

/**
 * What the run was told about each idempotency key, kept for the verification afterwards.
 *
 * <p>Keys are numbered ({@code <run id>-<seq>}), so the book stores only the exceptions: the keys
 * that were acknowledged (at most the stock's worth) and the keys whose outcome is unknown (no
 * answer came). Every other key that was issued was turned down, which is exactly what the
 * verification needs to know: an order in the store for such a key is a broken promise.
 *
 * <p>A key may be answered several times (retries with the same key). The first acknowledgement
 * recorded wins; every later one must name the same order, or the book notes a conflict. Workers
 * race to record, which is fine: {@code putIfAbsent} decides, and the loser compares.
 */
final class KeyBook {

    /** An acknowledged order: what the bench was promised for one key. */
    record Ack(long seq, String orderId, int user, int quantity) {
    }

    private final ConcurrentHashMap<Long, Ack> acks = new ConcurrentHashMap<>();
    private final Set<Long> unknown = ConcurrentHashMap.newKeySet();
    private final ConcurrentLinkedQueue<String> conflicts = new ConcurrentLinkedQueue<>();
    private final LongAdder replaysMatched = new LongAdder();
    private final AtomicLongArray usersTouched;
    private final int users;
    private final java.util.concurrent.atomic.AtomicLong issued = new java.util.concurrent.atomic.AtomicLong();

    /** Told of each order the first time it is acknowledged (the buyers who pay); none by default. */
    private volatile java.util.function.ObjIntConsumer<String> onNewOrder = (orderId, quantity) -> { };

    void onNewOrder(java.util.function.ObjIntConsumer<String> listener) {
        this.onNewOrder = listener;
    }

    KeyBook(int users) {
        this.users = users;
        this.usersTouched = new AtomicLongArray((users + 63) / 64);
    }

    /** Notes that keys {@code 0 .. n-1} have been issued. */
    void issued(long n) {
        if (n > issued.get()) {
            issued.accumulateAndGet(n, Math::max); // workers race; the highest wins
        }
    }

    long issued() {
        return issued.get();
    }

    /** Notes that {@code user} was sent at least one request (the verification lists only those). */
    void touched(int user) {
        int word = user >>> 6;
        long bit = 1L << (user & 63);
        if ((usersTouched.get(word) & bit) == 0) {
            usersTouched.getAndAccumulate(word, bit, (a, b) -> a | b);
        }
    }

    /** Records an acknowledgement (201, 202, or a 200 replay) of {@code seq}. */
    void acknowledged(long seq, String orderId, int user, int quantity, boolean replay) {
        if (orderId == null) {
            conflicts.add("key " + seq + " was acknowledged without an orderId in the body");
            return;
        }
        Ack mine = new Ack(seq, orderId, user, quantity);
        Ack first = acks.putIfAbsent(seq, mine);
        if (first == null) {
            onNewOrder.accept(orderId, quantity);
        }
        if (first != null && !first.orderId().equals(orderId)) {
            conflicts.add("key " + seq + " was answered with order " + first.orderId() + " and later with order "
                    + orderId + (replay ? " (a replay)" : " (a new order)"));
        } else if (first != null) {
            replaysMatched.increment();
        }
    }

    /** Records that a request for {@code seq} got no answer. */
    void unknown(long seq) {
        unknown.add(seq);
    }

    Map<Long, Ack> acks() {
        return Map.copyOf(acks);
    }

    Set<Long> unknownKeys() {
        return Set.copyOf(unknown);
    }

    List<String> conflicts() {
        return List.copyOf(conflicts);
    }

    long replaysMatched() {
        return replaysMatched.sum();
    }

    int users() {
        return users;
    }

    boolean wasTouched(int user) {
        return (usersTouched.get(user >>> 6) & (1L << (user & 63))) != 0;
    }
}
