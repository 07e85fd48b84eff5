package io.floodgate.redis;

import io.lettuce.core.cluster.SlotHash;

import java.util.ArrayList;
import java.util.List;

/**
 * Names of the ledger's keys. Every key of one item carries the hash tag {@code {sku}}, so all of
 * them live in one hash slot and one script may touch them all, on one server or on Redis Cluster:
 *
 * <pre>
 *   ns:{sku}:item     hash: name, stock, avail, limit, starts, ends (ms), ordered (ever had an
 *                     order: ITEM_LOCKED), restoring (being rebuilt)
 *   ns:{sku}:keys     hash: idempotency key -> "state|orderId|quantity|userId", state P (pending),
 *                     C (confirmed) or X (cancelled); a released reservation's key is deleted.
 *                     This is the outbox: every reservation, with what is needed to finish it.
 *   ns:{sku}:held     hash: user -> units held (reserved or sold, not cancelled); absent means 0
 *   ns:{sku}:pending  sorted set: keys still PENDING, scored by reservation time (ms), for a
 *                     reconciler to find reservations that a crash left unconfirmed
 *   ns:{sku}:fence    string with a lease (PX): the token of a definition in progress
 * </pre>
 * {@link #of} gives them to a script as an {@link ItemKeys}. Keys that are not the ledger's share
 * the namespace with their own hash tags: {@code {lock:name}} ({@link RedisLock}),
 * {@code {rate.name}} ({@link RedisRateBuckets}).
 *
 * <h2>Epoch markers</h2>
 * Redis here keeps no data across a restart, so the ledger must notice when it comes back empty.
 * Every script first checks an epoch marker key and answers {@code NO_EPOCH} when it is missing;
 * the markers are written only after a rebuild has put back everything Redis lost. On one server
 * there is one marker, {@code ns:epoch}. On Redis Cluster a script may only touch keys of its own
 * slot, and a shard that restarts empty loses exactly the slots it serves, so there is one marker
 * per hash slot: {@code ns:{t}:epoch}, where {@code t} is a short tag chosen to hash to that slot.
 * Each script checks the marker of its item's slot.
 *
 * <h2>The item index</h2>
 * {@code ns:items} is a set of every sku, for {@link io.floodgate.core.port.StockLedger#views}. It is
 * one key, so on Redis Cluster it lives in one slot and is written apart from the item's own
 * scripts (after a commit). That is acceptable for an admin-rare list; the order path never reads it.
 */
final class KeySpace {

    private static final int SLOTS = SlotHash.SLOT_COUNT;

    private final String namespace;
    private final boolean cluster;
    /** For each hash slot, a short string whose own slot it is; cluster only. */
    private final String[] slotTags;

    KeySpace(String namespace, boolean cluster) {
        this.namespace = namespace;
        this.cluster = cluster;
        this.slotTags = cluster ? slotTags() : null;
    }

    /** The six keys every item script takes. */
    ItemKeys of(String sku) {
        String prefix = namespace + ":{" + sku + "}:";
        return new ItemKeys(prefix + "item", prefix + "keys", prefix + "held", prefix + "pending", prefix + "fence",
                epochMarker(sku));
    }

    String index() {
        return namespace + ":items";
    }

    String epochMarker(String sku) {
        return cluster ? namespace + ":{" + slotTags[SlotHash.getSlot("{" + sku + "}")] + "}:epoch" : namespace + ":epoch";
    }

    /** Every epoch marker: one on a single server, one per hash slot on a cluster. */
    List<String> epochMarkers() {
        if (!cluster) {
            return List.of(namespace + ":epoch");
        }
        List<String> markers = new ArrayList<>(SLOTS);
        for (String tag : slotTags) {
            markers.add(namespace + ":{" + tag + "}:epoch");
        }
        return markers;
    }

    /** The key a rebuild writes before it restores anything, beside (same slot as) {@code marker}. */
    static String sentinelOf(String marker) {
        return marker + ":rebuilding";
    }

    /** The pattern matching every key of this namespace (tests clean up with it). */
    String pattern() {
        return namespace + ":*";
    }

    private static String[] slotTags() {
        String[] tags = new String[SLOTS];
        int found = 0;
        for (int i = 0; found < SLOTS; i++) {
            String tag = Integer.toString(i, 36);
            int slot = SlotHash.getSlot(tag);
            if (tags[slot] == null) {
                tags[slot] = tag;
                found++;
            }
        }
        return tags;
    }
}
