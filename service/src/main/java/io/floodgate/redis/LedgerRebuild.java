package io.floodgate.redis;

import io.floodgate.core.DependencyUnavailableException;
import io.floodgate.core.StaleFencingTokenException;
import io.floodgate.core.port.Lock;
import io.floodgate.core.port.StockLedger.Repaired;
import io.floodgate.redis.Replies.NoEpoch;
import io.floodgate.core.domain.ItemSpec;
import io.floodgate.core.domain.Order;
import io.floodgate.core.domain.OrderStatus;
import io.floodgate.core.port.OrderStore;
import io.floodgate.redis.RedisLedger.Rebuilt;
import io.floodgate.redis.Replies.EpochCheckReply;
import io.floodgate.redis.Replies.MarkEpochReply;
import io.floodgate.redis.Replies.RestoreFinishReply;
import io.floodgate.redis.Replies.RestoreItemReply;
import io.floodgate.redis.Replies.RestoreOrdersReply;
import io.floodgate.redis.Replies.UnknownItem;
import io.lettuce.core.ScriptOutputType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * Puts the ledger back into a Redis that lost it, or that is not the server it was: Redis here is a
 * cache of durable truth (the store, after the order log has written into it everything it
 * acknowledged), and is made to agree with that truth before it sells again.
 *
 * <h2>Noticing</h2>
 * Every item script first checks the epoch marker of its item's slot ({@link KeySpace}) and
 * answers {@code NO_EPOCH} without it. The marker is written unreplicated and names the server
 * process that wrote it ({@code mark_epoch}), so it is missing on a server that restarted empty
 * or was flushed, and also on a replica promoted by a failover, which has data but may have
 * missed the last writes its primary took: nothing about it is empty, and only the marker tells.
 * A replica that copied the marker in a full resync holds another server's run id. The scripts
 * that decide a sale on the ledger's counts ({@code reserve}, {@code soldout}, and the repair's
 * {@code restore_orders}) compare it with the run id of the server they run on ({@code INFO
 * server}: about a fifth of a reserve's Redis time, docs/BENCHMARKS.md), so a promoted replica
 * sells nothing before it is repaired; checking only that the marker exists let one sell for up to
 * a watcher period (found by the nemesis). The others check that it exists: what they change on a
 * stale ledger (a confirm, a cancel's return, a view) the repair redoes from the store. The
 * watcher ({@link #startWatching}, {@code epoch_check} every {@code epochCheckPeriod}) deletes a
 * foreign marker, and notices a lost one on an idle ledger. The ledger classes turn {@code NO_EPOCH} into
 * {@link #noEpoch}, which starts a rebuild (one at a time, at most one attempt a second) and fails
 * the call with {@link DependencyUnavailableException} until the rebuild is done.
 *
 * <h2>Steps</h2>
 * <ol>
 *   <li><b>Quiet.</b> Requests that reserved on the server that was lost may still be making
 *   their orders durable: they are waited out ({@code rebuildQuiet}, the longest request
 *   deadline) from the moment the loss was noticed, so that the log holds their orders.</li>
 *   <li><b>Drain.</b> The log writes every order it acknowledged into the store
 *   ({@code beforeRebuild}).</li>
 *   <li><b>Restore and repair.</b> A sentinel is written beside every marker; then each item of
 *   the store is put back if Redis lost it, or repaired if Redis has it: the store's orders it
 *   lacks are added, pending keys whose orders are stored are confirmed, live keys whose orders
 *   the store cancelled (or failed) are cancelled and their units returned. Keys the store does
 *   not know (reservations in flight) are left alone. {@code restore_item}, {@code restore_orders}
 *   in chunks, {@code restore_finish}.</li>
 *   <li><b>Mark.</b> Each marker is written only while its sentinel is still this rebuild's
 *   ({@code mark_epoch}): a Redis that restarts again mid-rebuild loses the sentinel with what was
 *   restored, never gets a marker for data it lost, and the rebuild runs again.</li>
 * </ol>
 * Every step is idempotent, so several instances may rebuild at once and a failed attempt is
 * simply repeated.
 *
 * <h2>What it cannot put back</h2>
 * Reservations that were PENDING when Redis lost them are gone with it: their confirm finds no key
 * and is logged, their units were free anyway. An order whose request gave up in doubt (504) and
 * whose log record arrived only after the quiet period is durable but not counted until the
 * reconciler's repair adds it.
 */
final class LedgerRebuild {

    private static final Logger LOG = LoggerFactory.getLogger(LedgerRebuild.class);
    private static final long RETRY_NANOS = TimeUnit.SECONDS.toNanos(1);
    private static final int ATTEMPTS = 5;
    /** Orders per restore script call: a few hundred keep each call well under a millisecond. */
    private static final int RESTORE_CHUNK = 256;
    private static final int RESTORE_CHUNK_ARGS = RESTORE_CHUNK * 5;

    private final Redis redis;
    private final KeySpace keys;
    private final Clock clock;
    /** What a scheduled rebuild reads; null for tools that never rebuild by themselves. */
    private final OrderStore store;
    private final Runnable beforeRebuild;
    private final SoldOutMarks soldOut;
    private final Duration quiet;
    private final Duration checkPeriod;
    private final ReentrantLock lock = new ReentrantLock();
    private final AtomicBoolean scheduled = new AtomicBoolean();
    private volatile long lastAttemptNanos = System.nanoTime() - RETRY_NANOS;
    /** When this instance first noticed the loss that the next rebuild answers (0: none pending). */
    private final AtomicLong noticedAtNanos = new AtomicLong();
    private final LongAdder rebuilds = new LongAdder();
    private volatile boolean closed;
    private Thread watcher;

    LedgerRebuild(Redis redis, KeySpace keys, Clock clock, OrderStore store, RedisLedgers.Settings settings,
                  SoldOutMarks soldOut) {
        this.redis = redis;
        this.keys = keys;
        this.clock = clock;
        this.store = store;
        this.beforeRebuild = settings.beforeRebuild();
        this.quiet = settings.rebuildQuiet();
        this.checkPeriod = settings.epochCheckPeriod();
        this.soldOut = soldOut;
    }

    /**
     * At start: rebuilds when any epoch marker is missing (a fresh or emptied Redis, or one that is
     * not the server that was marked). With no order in the store there is nothing a request in
     * flight elsewhere could still add, so the quiet wait is skipped.
     */
    void rebuildIfAnyMarkerMissing() {
        if (!anyEpochMarkerMissing()) {
            return;
        }
        if (store == null) {
            LOG.info("Redis at {} had no epoch marker (fresh): {}", redis.where(), rebuild(sink -> { }, sink -> { }));
            return;
        }
        try {
            if (!store.unitsSoldBySku().isEmpty()) {
                noticed();
            }
            Rebuilt rebuilt = rebuildFrom(store);
            LOG.info("Redis at {} had no epoch marker (fresh, emptied, or not the server that was marked): {}",
                    redis.where(), rebuilt);
        } catch (DependencyUnavailableException e) {
            // The store or the log is away (a write lock, a broker down): the instance starts anyway
            // and answers 503 until the ledger is whole; every call that finds a marker missing
            // starts the rebuild again, and so does the watcher.
            noticed();
            LOG.warn("Redis at {} has no epoch marker and the ledger cannot be rebuilt yet ({}); starting with it"
                    + " unavailable, it is rebuilt in the background", redis.where(), e.getMessage());
        }
    }

    /**
     * Checks the markers every {@code epochCheckPeriod} on a virtual thread, so that a server that
     * is not the one marked (a replica that copied the marker in a full resync, then was promoted)
     * is repaired within a period, and a missing marker is noticed by an idle ledger too. One
     * server only: on Redis Cluster every script's own check of its slot's marker stands alone.
     */
    void startWatching() {
        if (redis.cluster() || store == null || checkPeriod.isZero()) {
            return;
        }
        watcher = Thread.ofVirtual().name("redis-ledger-epoch-watch").start(() -> {
            while (!closed) {
                try {
                    Thread.sleep(checkPeriod);
                } catch (InterruptedException e) {
                    return;
                }
                try {
                    checkMarkers();
                } catch (DependencyUnavailableException e) {
                    LOG.debug("epoch check skipped: {}", e.getMessage());
                } catch (RuntimeException e) {
                    LOG.warn("epoch check failed", e);
                }
            }
        });
    }

    /** One check of every marker (the watcher's step; tests call it directly). */
    void checkMarkers() {
        for (String marker : keys.epochMarkers()) {
            List<Object> r = redis.eval(Script.EPOCH_CHECK, new String[]{marker}, redis.maxTimeoutNanos());
            switch (Replies.epochCheck(marker, r)) {
                case EpochCheckReply.Whole _ -> {
                }
                case EpochCheckReply.Missing _ -> {
                    if (!scheduled.get()) {
                        LOG.warn("Redis at {} has no epoch marker (restarted empty, flushed, or failed over);"
                                + " repairing the ledger from the order store", redis.where());
                    }
                    noticed();
                    scheduleRebuild();
                }
                case EpochCheckReply.Foreign(String runId) -> {
                    LOG.warn("Redis at {} carries an epoch marker written by another server ({}): it was a replica"
                            + " and has been promoted; repairing the ledger from the order store before it sells"
                            + " again", redis.where(), runId);
                    noticed();
                    scheduleRebuild();
                }
            }
        }
    }

    /**
     * The loss is known here: the time is noted for the quiet period, and the local sold-out
     * markers go at once. A marker is a snapshot of the server that was lost; kept until this
     * instance's own rebuild ends, it would answer SOLD_OUT for a key another instance, rebuilt
     * sooner, had meanwhile sold and acknowledged (found by the nemesis: a replay of such a key
     * was refused as if unknown).
     */
    private void noticed() {
        noticedAtNanos.compareAndSet(0, System.nanoTime());
        soldOut.clear();
    }

    /** Rebuilds (and repairs) run by this instance since start. */
    long rebuilds() {
        return rebuilds.sum();
    }

    /**
     * What a {@code NO_EPOCH} answer means: starts a rebuild (when there is a store) and returns
     * the failure for the caller to throw.
     */
    DependencyUnavailableException noEpoch(String sku) {
        if (store != null) {
            noticed();
            scheduleRebuild();
        }
        return new DependencyUnavailableException("redis", "Redis at " + redis.where() + " has lost the ledger's data for"
                + " item " + sku + " (no epoch marker: it restarted empty, was flushed, or failed over); "
                + (store != null ? "rebuilding it from the order store" : "it must be rebuilt with rebuildFrom(store)"));
    }

    /** What a {@code REBUILDING} answer means; like {@link #noEpoch}. */
    DependencyUnavailableException rebuilding(String sku) {
        if (store != null) {
            scheduleRebuild(); // finishes a rebuild that another instance may have left half done
        }
        return new DependencyUnavailableException("redis", "item " + sku + " is being rebuilt from the order store");
    }

    private void scheduleRebuild() {
        long now = System.nanoTime();
        if (closed || now - lastAttemptNanos < RETRY_NANOS || !scheduled.compareAndSet(false, true)) {
            return;
        }
        lastAttemptNanos = now;
        Thread.ofVirtual().name("redis-ledger-rebuild").start(() -> {
            try {
                rebuildFrom(store);
            } catch (RuntimeException e) {
                if (closed) {
                    LOG.debug("rebuild stopped: the ledger was closed");
                } else {
                    LOG.error("rebuild of the Redis ledger from the order store failed; the next request that finds the"
                            + " data missing tries again", e);
                }
            } finally {
                lastAttemptNanos = System.nanoTime();
                scheduled.set(false);
            }
        });
    }

    /** See {@link RedisLedger#rebuildFrom}. */
    Rebuilt rebuildFrom(OrderStore store) {
        awaitQuiet();
        // orders already acknowledged by a log that answers before the store (Kafka) must be in
        // the store before it is read, or their units would be counted as available again
        beforeRebuild.run();
        Rebuilt rebuilt = rebuild(store::forEachItem, store::forEachOrder);
        noticedAtNanos.set(0);
        rebuilds.increment();
        return rebuilt;
    }

    /** Waits until {@code rebuildQuiet} has passed since the loss was noticed here. */
    private void awaitQuiet() {
        long noticed = noticedAtNanos.get();
        if (noticed == 0 || quiet.isZero()) {
            return;
        }
        long left = noticed + quiet.toNanos() - System.nanoTime();
        if (left > 0) {
            LOG.info("waiting {} ms before reading the store, for requests that reserved on the lost Redis to finish",
                    TimeUnit.NANOSECONDS.toMillis(left));
            LockSupport.parkNanos(left);
        }
    }

    private Rebuilt rebuild(Consumer<Consumer<ItemSpec>> items, Consumer<Consumer<Order>> orders) {
        lock.lock();
        try {
            for (int attempt = 1; ; attempt++) {
                long start = System.nanoTime();
                String token = UUID.randomUUID().toString();
                List<String> markers = keys.epochMarkers();
                int lost;
                Rebuilt rebuilt;
                try {
                    setSentinels(markers, token);
                    rebuilt = restore(items, orders);
                    String epoch = Instant.ofEpochMilli(clock.millis()) + " " + token;
                    lost = markAll(markers, token, epoch);
                } catch (DependencyUnavailableException e) {
                    // Every step is idempotent: run the whole rebuild again.
                    if (attempt == ATTEMPTS || closed) {
                        throw e;
                    }
                    LOG.warn("rebuild attempt {} of {} failed, trying again: {}", attempt, ATTEMPTS, e.getMessage());
                    LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(100L * attempt));
                    continue;
                } finally {
                    soldOut.clear();
                }
                if (lost == 0) {
                    LOG.info("Redis ledger rebuilt from the order store in {} ms: {}",
                            TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start), rebuilt);
                    return rebuilt;
                }
                if (attempt == ATTEMPTS) {
                    throw new DependencyUnavailableException("redis", "Redis at " + redis.where() + " lost data again during"
                            + " each of " + attempt + " rebuilds (" + lost + " slots last time); giving up for now");
                }
                LOG.warn("Redis lost data during the rebuild ({} of {} epoch markers refused); rebuilding again", lost,
                        markers.size());
            }
        } finally {
            lock.unlock();
        }
    }

    private Rebuilt restore(Consumer<Consumer<ItemSpec>> items, Consumer<Consumer<Order>> orders) {
        Set<String> restoring = new HashSet<>();
        int[] itemCount = new int[2];
        items.accept(spec -> {
            itemCount[0]++;
            String sku = spec.sku();
            redis.call("SADD " + keys.index(), redis.maxTimeoutNanos(), c -> c.sadd(keys.index(), sku));
            List<Object> r = redis.eval(Script.RESTORE_ITEM, keys.of(sku).toArray(), redis.maxTimeoutNanos(),
                    spec.name(), Long.toString(spec.stock()), Integer.toString(spec.perUserLimit()),
                    Script.millisOrEmpty(spec.startsAt()), Script.millisOrEmpty(spec.endsAt()), Script.terms(spec));
            switch (Replies.restoreItem(sku, r)) {
                case RestoreItemReply.Restoring(boolean repair) -> {
                    restoring.add(sku);
                    itemCount[1] += repair ? 0 : 1;
                }
            }
        });
        Map<String, List<String>> chunks = new HashMap<>();
        long[] counts = new long[3];
        orders.accept(order -> {
            if (!restoring.contains(order.sku())) {
                return;
            }
            List<String> chunk = chunks.computeIfAbsent(order.sku(), k -> newChunk(UNFENCED));
            addTo(chunk, order);
            if (chunk.size() >= RESTORE_CHUNK_ARGS) {
                restoreOrders(order.sku(), chunk, counts);
            }
        });
        for (Map.Entry<String, List<String>> e : chunks.entrySet()) {
            restoreOrders(e.getKey(), e.getValue(), counts);
        }
        for (String sku : restoring) {
            List<Object> r = redis.eval(Script.RESTORE_FINISH, keys.of(sku).toArray(), redis.maxTimeoutNanos());
            switch (Replies.restoreFinish(sku, r)) {
                case RestoreFinishReply.Ready(long available) when available < 0 ->
                        LOG.error("item {}: orders in the store hold {} units more than its stock", sku, -available);
                case RestoreFinishReply.Ready _, RestoreFinishReply.Gone _ -> {
                }
            }
        }
        if (counts[1] > 0 || counts[2] > 0) {
            LOG.warn("rebuild repaired {} keys that Redis held in another state than the store, and left {} it could"
                    + " not decide (another order on the key, or cancelled in Redis and live in the store)",
                    counts[1], counts[2]);
        }
        return new Rebuilt(itemCount[0], itemCount[1], counts[0], counts[1], counts[2]);
    }

    /** The arguments of {@code restore_orders} for a rebuild, which holds no lock. */
    private static final String UNFENCED = "0";

    private static List<String> newChunk(String fenceToken) {
        List<String> chunk = new ArrayList<>(RESTORE_CHUNK_ARGS + 1);
        chunk.add(fenceToken);
        return chunk;
    }

    /** An order as {@code restore_orders} takes it: key, order id, user, quantity, C (live) or X. */
    private static void addTo(List<String> chunk, Order order) {
        chunk.add(order.idempotencyKey());
        chunk.add(order.orderId());
        chunk.add(order.userId());
        chunk.add(Integer.toString(order.quantity()));
        chunk.add(order.status().holdsUnits() ? "C" : "X");
    }

    /** Sends one chunk of orders (keeps only its fence token); adds what it did to {added, repaired, conflicts}. */
    private void restoreOrders(String sku, List<String> chunk, long[] counts) {
        restoreOrders(sku, chunk, counts, "");
    }

    private void restoreOrders(String sku, List<String> chunk, long[] counts, String lockName) {
        if (chunk.size() <= 1 && lockName.isEmpty()) {
            return; // nothing to restore; a repair sends even an empty chunk, to check its fence
        }
        List<Object> r = redis.eval(Script.RESTORE_ORDERS, keys.of(sku).toArray(), redis.maxTimeoutNanos(),
                chunk.toArray(String[]::new));
        chunk.subList(1, chunk.size()).clear();
        switch (Replies.restoreOrders(sku, r)) {
            case RestoreOrdersReply.Added(long added, long repaired, long conflicts) -> {
                counts[0] += added;
                counts[1] += repaired;
                counts[2] += conflicts;
            }
            case RestoreOrdersReply.Stale(long newest) -> throw new StaleFencingTokenException(
                    lockName, Long.parseLong(chunk.getFirst()), newest);
            case NoEpoch _ -> throw noEpoch(sku);
            case UnknownItem _ -> {
            }
        }
    }

    /**
     * The reconciler's repair of one live item ({@link io.floodgate.core.port.StockLedger#repair}):
     * the rebuild's {@code restore_orders} step, in chunks, under the repairer's fencing token.
     */
    Repaired repair(String sku, List<Order> durable, Lock.Fence fence) {
        long[] counts = new long[3];
        List<String> chunk = newChunk(Long.toString(fence.token()));
        for (Order order : durable) {
            if (!order.sku().equals(sku)) {
                throw new IllegalArgumentException("repair of " + sku + " given order " + order.orderId()
                        + " of item " + order.sku());
            }
            addTo(chunk, order);
            if (chunk.size() >= RESTORE_CHUNK_ARGS) {
                restoreOrders(sku, chunk, counts, fence.lockName());
            }
        }
        if (chunk.size() > 1 || durable.isEmpty()) {
            restoreOrders(sku, chunk, counts, fence.lockName());
        }
        if (counts[0] + counts[1] > 0) {
            soldOut.stockReturned(sku);
        }
        return new Repaired(counts[0], counts[1], counts[2]);
    }

    private void setSentinels(List<String> markers, String token) {
        loadScript(Script.SENTINEL);
        List<List<Object>> replies = redis.bulk(Script.SENTINEL.file(), markers, marker -> c -> c.<List<Object>>evalsha(
                Script.SENTINEL.sha(), ScriptOutputType.MULTI, new String[]{KeySpace.sentinelOf(marker)}, token));
        for (int i = 0; i < replies.size(); i++) {
            Replies.sentinel(KeySpace.sentinelOf(markers.get(i)), replies.get(i));
        }
    }

    /** Bulk calls go by SHA without the NOSCRIPT fallback of single calls: load first. */
    private void loadScript(Script script) {
        redis.call("SCRIPT LOAD " + script.file(), redis.maxTimeoutNanos(),
                c -> c.scriptLoad(script.text().getBytes(StandardCharsets.UTF_8)));
    }

    /** Writes every marker whose sentinel is still this rebuild's; returns how many were refused. */
    private int markAll(List<String> markers, String token, String epoch) {
        loadScript(Script.MARK_EPOCH);
        List<List<Object>> replies = redis.bulk(Script.MARK_EPOCH.file(), markers, marker -> c -> c.<List<Object>>evalsha(
                Script.MARK_EPOCH.sha(), ScriptOutputType.MULTI, new String[]{KeySpace.sentinelOf(marker), marker},
                token, epoch));
        int lost = 0;
        for (int i = 0; i < replies.size(); i++) {
            switch (Replies.markEpoch(markers.get(i), replies.get(i))) {
                case MarkEpochReply.Marked _ -> {
                }
                case MarkEpochReply.Lost _ -> lost++;
            }
        }
        return lost;
    }

    private boolean anyEpochMarkerMissing() {
        List<Long> exists = redis.bulk("EXISTS epoch marker", keys.epochMarkers(), marker -> c -> c.exists(marker));
        return exists.stream().anyMatch(n -> n == 0);
    }

    /** Stops scheduling rebuilds and watching; one running gives up at its next failure. */
    void close() {
        closed = true;
        Thread w = watcher;
        if (w != null) {
            w.interrupt();
        }
    }
}
