package io.floodgate.redis;

/**
 * The keys of one item, named by {@link KeySpace#of}. All carry the hash tag {@code {sku}} (one
 * hash slot) except the epoch marker, which is the marker of that same slot; so every item script
 * takes these six and runs unchanged on Redis Cluster.
 *
 * @param item        hash: name, stock, avail, limit, sale window, ordered, restoring
 * @param keys        hash: idempotency key to {@code state|orderId|quantity|userId} (the outbox)
 * @param held        hash: user to units held
 * @param pending     sorted set: keys still pending, scored by reservation time (ms)
 * @param fence       string with a lease: the token of a definition in progress
 * @param epochMarker the epoch marker of the item's slot
 */
record ItemKeys(String item, String keys, String held, String pending, String fence, String epochMarker) {

    /** The scripts' {@code KEYS}, in the order each {@code .lua} file lists them. */
    String[] toArray() {
        return new String[]{item, keys, held, pending, fence, epochMarker};
    }
}
