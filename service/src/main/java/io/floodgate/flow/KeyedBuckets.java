package io.floodgate.flow;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One token bucket ({@link Gcra}) per key (a user, an item), in a map that {@link #sweep} empties
 * of full buckets (a full bucket is the same as none), so memory follows the keys active in the
 * last {@code burst / rate} seconds. It is capped besides: past {@code maxTracked} keys, the rest
 * share a fixed set of overflow buckets by hash, so that a flood of distinct keys stays bounded in
 * memory and stays limited (more strictly than a bucket each), rather than unlimited or refused
 * outright.
 */
final class KeyedBuckets {

    private final Gcra rate;
    private final ConcurrentHashMap<String, AtomicLong> buckets = new ConcurrentHashMap<>();
    private final int maxTracked;
    private final AtomicLong[] overflow;

    KeyedBuckets(Gcra rate, int maxTracked, int overflowBuckets) {
        this.rate = rate;
        this.maxTracked = maxTracked;
        this.overflow = new AtomicLong[overflowBuckets];
        for (int i = 0; i < overflow.length; i++) {
            overflow[i] = new AtomicLong(Long.MIN_VALUE / 2);
        }
    }

    /** The bucket of {@code key}: its own, a new one, or past the cap an overflow bucket. */
    AtomicLong bucket(String key, long nowNanos) {
        AtomicLong bucket = buckets.get(key);
        if (bucket == null) {
            bucket = buckets.size() < maxTracked
                    ? buckets.computeIfAbsent(key, k -> new AtomicLong(nowNanos))
                    : overflow[(key.hashCode() & 0x7fffffff) % overflow.length];
        }
        return bucket;
    }

    /** Takes a token from {@code bucket}: 0 if admitted, otherwise the nanoseconds until one is there. */
    long tryAcquire(AtomicLong bucket, long nowNanos) {
        return rate.tryAcquire(bucket, nowNanos);
    }

    /** Gives back the token just taken from {@code bucket}: the request was refused further on. */
    void refund(AtomicLong bucket) {
        rate.refund(bucket);
    }

    /**
     * Drops full buckets. Benign race: a bucket used between the fullness check and its removal
     * is dropped all the same, and that key's next request starts a fresh (full) bucket, which
     * at worst grants one extra burst to a key that had been idle.
     */
    void sweep(long nowNanos) {
        buckets.values().removeIf(tat -> Gcra.isFull(tat, nowNanos));
    }

    int tracked() {
        return buckets.size();
    }
}
