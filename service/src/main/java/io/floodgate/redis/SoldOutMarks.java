package io.floodgate.redis;

import io.floodgate.core.domain.Order;
import io.floodgate.core.port.StockLedger.ReserveOutcome;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;

/**
 * Local sold-out markers: once Redis says an item has nothing left, this instance answers the
 * flood that follows without a round trip, exactly as the reserve script would have.
 *
 * <h2>Why the answer stays exact</h2>
 * A sold-out item still owes some requests a different answer, ahead of SOLD_OUT in API.md's
 * precedence: a replay or 422 for a key it knows, a wait for a key in flight, NOT_ON_SALE outside
 * the window, PER_USER_LIMIT for a user at the limit. So a marker is not a flag but a snapshot,
 * taken atomically by {@code soldout.lua} while nothing is available: the item's keys, the users
 * who hold units, the limit and the window. With it, a request is answered here only when it is
 * certain: its key is not in the snapshot and its user holds nothing (so the limit cannot answer
 * first unless the quantity alone exceeds it, which also goes to Redis). Everything else goes to
 * Redis. While nothing is available no new key or holder can appear, so the snapshot stays true
 * until stock comes back.
 *
 * <h2>When stock comes back</h2>
 * On this instance (release, cancel, restock, redefinition, rebuild) the marker is dropped at
 * once, and a generation count stops a snapshot taken just before from being installed after.
 * Through another instance this one cannot see it, so a marker answers for {@code recheck} only
 * (one second by default, the lag API.md allows item views); then one request goes to Redis, and
 * a marker is set again only if Redis still says sold out. That bounded lag is the one way this
 * differs from asking Redis every time: for at most {@code recheck} after stock returns elsewhere,
 * requests may still be told SOLD_OUT (or, for a key or holder born in that window, SOLD_OUT
 * instead of their own answer).
 *
 * <p>Items larger than {@code maxKeys} (keys plus holders) get no marker: the snapshot would cost
 * more memory than the round trips it saves.
 */
final class SoldOutMarks {

    private static final ReserveOutcome SOLD_OUT = new ReserveOutcome.SoldOut(0);

    /** What {@code soldout.lua} saw; null from the snapshotter when the item is not sold out. */
    record Snapshot(Set<String> keys, Set<String> holders, int limit, long startsAtMillis, long endsAtMillis) {
    }

    private record Mark(Snapshot snapshot, long expiresAtNanos) {
    }

    private static final class ItemMarks {
        volatile Mark mark;
        final AtomicBoolean snapshotting = new AtomicBoolean();
        final AtomicLong generation = new AtomicLong();
    }

    private final ConcurrentHashMap<String, ItemMarks> items = new ConcurrentHashMap<>();
    private final long recheckNanos;
    private final int maxKeys;
    private final LongSupplier nanoTime;
    private final LongAdder answered = new LongAdder();

    SoldOutMarks(long recheckNanos, int maxKeys, LongSupplier nanoTime) {
        this.recheckNanos = recheckNanos;
        this.maxKeys = maxKeys;
        this.nanoTime = nanoTime;
    }

    int maxKeys() {
        return maxKeys;
    }

    /** The answer for {@code order} if a marker makes it certain, else null (ask Redis). */
    ReserveOutcome answer(Order order, long nowMillis) {
        ItemMarks item = items.get(order.sku());
        Mark mark = item == null ? null : item.mark;
        if (mark == null) {
            return null;
        }
        if (nanoTime.getAsLong() - mark.expiresAtNanos >= 0) {
            item.mark = null; // benign race: a fresher mark lost here only costs one round trip
            return null;
        }
        Snapshot s = mark.snapshot;
        if (s.keys.contains(order.idempotencyKey()) || s.holders.contains(order.userId())
                || order.quantity() > s.limit) {
            return null;
        }
        answered.increment();
        if (nowMillis < s.startsAtMillis || nowMillis >= s.endsAtMillis) {
            return ReserveOutcome.NOT_ON_SALE;
        }
        return SOLD_OUT;
    }

    /**
     * Redis just said {@code sku} has nothing available: take a snapshot and set a marker, unless
     * one is set or being taken. Runs the snapshot on the calling thread (one request per item
     * per recheck pays one more round trip); a failed snapshot sets no marker.
     */
    void soldOut(String sku, java.util.function.Function<String, Snapshot> snapshotter) {
        if (maxKeys == 0) {
            return;
        }
        ItemMarks item = items.computeIfAbsent(sku, k -> new ItemMarks());
        if (item.mark != null || !item.snapshotting.compareAndSet(false, true)) {
            return;
        }
        try {
            long generation = item.generation.get();
            Snapshot snapshot = snapshotter.apply(sku);
            if (snapshot != null && item.generation.get() == generation) {
                item.mark = new Mark(snapshot, nanoTime.getAsLong() + recheckNanos);
                if (item.generation.get() != generation) {
                    item.mark = null; // stock came back while we installed it
                }
            }
        } finally {
            item.snapshotting.set(false);
        }
    }

    /** Stock came back for {@code sku} on this instance: its marker no longer holds. */
    void stockReturned(String sku) {
        ItemMarks item = items.get(sku);
        if (item != null) {
            item.generation.incrementAndGet();
            item.mark = null;
        }
    }

    void clear() {
        items.values().forEach(item -> {
            item.generation.incrementAndGet();
            item.mark = null;
        });
    }

    boolean marked(String sku) {
        ItemMarks item = items.get(sku);
        return item != null && item.mark != null;
    }

    /** Requests answered from a marker, without Redis. */
    long answered() {
        return answered.sum();
    }
}
