package io.floodgate.redis;

import io.floodgate.concurrent.Backoff;
import io.floodgate.core.Deadline;
import io.floodgate.core.DependencyUnavailableException;
import io.floodgate.core.domain.ItemView;
import io.floodgate.core.domain.Order;
import io.floodgate.core.port.OrderStore;
import io.floodgate.redis.Replies.CancelReply;
import io.floodgate.redis.Replies.ConfirmReply;
import io.floodgate.redis.Replies.Fenced;
import io.floodgate.redis.Replies.Item;
import io.floodgate.redis.Replies.NoEpoch;
import io.floodgate.redis.Replies.NotOwner;
import io.floodgate.redis.Replies.OutboxRecord;
import io.floodgate.redis.Replies.Rebuilding;
import io.floodgate.redis.Replies.ReleaseReply;
import io.floodgate.redis.Replies.ReserveReply;
import io.floodgate.redis.Replies.SoldOutReply;
import io.floodgate.redis.Replies.UnknownItem;
import io.floodgate.redis.Replies.UnknownKey;
import io.lettuce.core.KeyValue;
import io.lettuce.core.Limit;
import io.lettuce.core.Range;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.RedisNoScriptException;
import io.lettuce.core.ScoredValue;
import io.lettuce.core.ScriptOutputType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongSupplier;

/**
 * The stock ledger in Redis, shared by any number of Floodgate instances. It keeps the contract of
 * {@link io.floodgate.core.port.StockLedger} exactly as the in-process ledger does (one contract
 * test holds both to it), with each operation one Lua script run atomically by Redis. This class
 * reserves, settles and reads; {@link ItemDefinitions} defines items and changes their stock;
 * {@link LedgerRebuild} puts the ledger back when Redis loses it.
 *
 * <h2>Design</h2>
 * Every key of an item carries the hash tag {@code {sku}} ({@link KeySpace}), so one script sees
 * all of an item's state, and items spread over Redis Cluster by slot with no script changed. The
 * reserve script does, in one step, what {@code InMemoryStockLedger} does under its locks: the key
 * (replay, key reused, in flight), the item (unknown, being defined, being rebuilt), the sale
 * window (on the caller's clock, passed in, never Redis TIME, so tests move time), the user's
 * limit, the stock; then it takes the units, counts them to the user, and records the reservation
 * (order id, user, quantity, state) under its key: that record is the outbox a reconciler reads.
 * What each script answers is a sealed type ({@link Replies}), so every answer is handled here.
 *
 * <p>Invariant, per item, at every moment (each script keeps it, being atomic):
 * {@code stock = avail + units of PENDING and CONFIRMED keys}, and
 * {@code held[user] = units of that user's PENDING and CONFIRMED keys <= limit}.
 *
 * <h2>Waiting</h2>
 * A duplicate of a key in flight, or a reservation on an item being defined, polls the reserve
 * script with a short backoff (200 µs doubling to 10 ms, with jitter) until the key settles or the
 * request's deadline passes. Polling, not pub/sub: the wait is short (one durable write), rare
 * (retries and redefinitions), and needs no second connection or subscription bookkeeping.
 *
 * <h2>Failures</h2>
 * A call waits at most the request's remaining deadline, and never more than
 * {@code maxCommandTimeout} (1 s by default); then it becomes
 * {@link DependencyUnavailableException} (503), or TIMED_OUT when the request's own deadline is
 * what ran out. A reservation whose reply was lost may still have happened, so it is undone by an
 * owner-checked release sent after it (commands on the connection run in order). Confirm, release
 * and cancel never fail their caller: when Redis does not take them they are retried in the
 * background ({@link Settler}), each naming the order it settles, so a late retry cannot touch a
 * newer reservation of the same key. A script that answers {@code NO_EPOCH} or {@code REBUILDING}
 * has lost the item's data: {@link LedgerRebuild} puts it back, and the call fails meanwhile.
 *
 * <h2>Sold out</h2>
 * {@link SoldOutMarks}: after Redis says an item has nothing left, this instance answers the flood
 * itself, exactly (a snapshot of the item's keys and holders keeps replays and PER_USER_LIMIT
 * ahead of SOLD_OUT), until stock returns here, or for at most {@code soldOutRecheck} when it may
 * have returned through another instance.
 */
final class RedisStockLedger implements RedisLedger {

    private static final Logger LOG = LoggerFactory.getLogger(RedisStockLedger.class);
    /** Pauses between polls of a script that answered "wait" (a key in flight, a fence). */
    static final Backoff POLL = Backoff.exponential(Duration.ofNanos(200_000), Duration.ofMillis(10));
    private static final int SETTLER_CAPACITY = 100_000;
    /** How long a key must stay pending before a duplicate looks its order up in the store, and then how often. */
    private static final long PENDING_STORE_CHECK_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
    private static final long PENDING_STORE_RECHECK_NANOS = TimeUnit.SECONDS.toNanos(1);

    private final Redis redis;
    private final KeySpace keys;
    private final Clock clock;
    private final OrderStore store;
    private final SoldOutMarks soldOut;
    private final Settler settler;
    private final LedgerRebuild rebuild;
    private final ItemDefinitions definitions;
    /** Reservations this instance made and has not settled: "sku\0key" to order id. */
    private final ConcurrentHashMap<String, String> reservedHere = new ConcurrentHashMap<>();

    private RedisStockLedger(Redis redis, RedisLedgers.Settings settings, Clock clock, OrderStore store,
                             LongSupplier ticker) {
        this.redis = redis;
        this.clock = clock;
        this.store = store;
        this.keys = new KeySpace(settings.namespace(), redis.cluster());
        this.soldOut = new SoldOutMarks(settings.soldOutRecheck().toNanos(), settings.soldOutMaxKeys(), ticker);
        this.settler = new Settler(SETTLER_CAPACITY, settings.settleRetention());
        this.rebuild = new LedgerRebuild(redis, keys, clock, store, settings, soldOut);
        this.definitions = new ItemDefinitions(redis, keys, clock, settings.definitionLease(), soldOut, rebuild);
    }

    static RedisStockLedger open(RedisLedgers.Settings settings, Clock clock, OrderStore store) {
        return open(settings, clock, store, System::nanoTime);
    }

    /** With the monotonic clock that times sold-out markers given (tests move it). */
    static RedisStockLedger open(RedisLedgers.Settings settings, Clock clock, OrderStore store, LongSupplier ticker) {
        Redis redis = Redis.connect(settings);
        RedisStockLedger ledger = null;
        try {
            ledger = new RedisStockLedger(redis, settings, clock, store, ticker);
            ledger.warnUnlessNoEviction();
            ledger.rebuild.rebuildIfAnyMarkerMissing();
            ledger.rebuild.startWatching();
            LOG.info("Redis ledger on {} ({}), namespace '{}'", redis.where(), redis.cluster() ? "cluster" : "single server",
                    settings.namespace());
            return ledger;
        } catch (RuntimeException e) {
            if (ledger != null) {
                ledger.close();
            } else {
                redis.close();
            }
            throw e;
        }
    }

    // ---------------------------------------------------------------- reserve

    @Override
    public ReserveOutcome reserve(Order order, Deadline deadline) {
        long now = clock.millis();
        ReserveOutcome local = soldOut.answer(order, now);
        if (local != null) {
            return local;
        }
        String sku = order.sku();
        String key = order.idempotencyKey();
        String[] itemKeys = keys.of(sku).toArray();
        String quantity = Integer.toString(order.quantity());
        int polls = 0;
        long storeCheckAt = 0; // when a key found pending is next looked up in the store (0: not pending yet)
        while (true) {
            if (deadline.expired()) {
                return ReserveOutcome.TIMED_OUT;
            }
            ReserveReply reply;
            try {
                reply = Replies.reserve(sku, redis.eval(Script.RESERVE, itemKeys, timeout(deadline), key,
                        order.orderId(), order.userId(), quantity, Long.toString(now)));
            } catch (DependencyUnavailableException e) {
                if (e.outcomeUnknown()) {
                    undoLostReservation(sku, key, order.orderId());
                }
                if (deadline.expired()) {
                    return ReserveOutcome.TIMED_OUT;
                }
                throw e;
            }
            switch (reply) {
                case ReserveReply.Reserved(java.time.Duration paymentWindow) -> {
                    reservedHere.put(hereKey(sku, key), order.orderId());
                    return ReserveOutcome.reserved(paymentWindow);
                }
                case ReserveReply.Replayed(String orderId) -> {
                    return new ReserveOutcome.Replayed(orderId);
                }
                case ReserveReply.KeyReused(String orderId) -> {
                    return new ReserveOutcome.KeyReused(orderId);
                }
                case ReserveReply.Pending _, Fenced _ -> {
                    if (reply instanceof ReserveReply.Pending(String pendingOrderId) && store != null) {
                        long nowNanos = System.nanoTime();
                        if (storeCheckAt == 0) {
                            storeCheckAt = nowNanos + PENDING_STORE_CHECK_NANOS;
                        } else if (nowNanos - storeCheckAt >= 0) {
                            storeCheckAt = nowNanos + PENDING_STORE_RECHECK_NANOS;
                            if (confirmIfStored(sku, key, pendingOrderId)) {
                                continue; // the next reserve answers REPLAYED
                            }
                        }
                    }
                    if (!pause(deadline, POLL.delayNanos(polls++))) {
                        return ReserveOutcome.TIMED_OUT;
                    }
                    now = clock.millis();
                }
                case UnknownItem _ -> {
                    return ReserveOutcome.UNKNOWN_ITEM;
                }
                case ReserveReply.NotOnSale _ -> {
                    return ReserveOutcome.NOT_ON_SALE;
                }
                case ReserveReply.Limit(long held, int limit) -> {
                    return new ReserveOutcome.LimitReached(held, limit);
                }
                case ReserveReply.SoldOut(long available) -> {
                    if (available <= 0) {
                        soldOut.soldOut(sku, s -> snapshot(s, deadline));
                    }
                    return new ReserveOutcome.SoldOut(available);
                }
                case NoEpoch _ -> throw rebuild.noEpoch(sku);
                case Rebuilding _ -> throw rebuild.rebuilding(sku);
            }
        }
    }

    /**
     * A key that stays pending while its order is already in the store belongs to a request that
     * made the order durable and then could not confirm it (its instance died between the two, or
     * lost Redis): confirms it, as the reconciler would after its grace period, so that a retry
     * replays the order now instead of waiting out its deadline until then. True when confirmed
     * (or no longer pending); false when the order is not stored (the original may still be in
     * flight) or the store does not answer.
     */
    private boolean confirmIfStored(String sku, String key, String pendingOrderId) {
        try {
            if (pendingOrderId.isEmpty() || !store.presentIds(List.of(pendingOrderId)).contains(pendingOrderId)) {
                return false;
            }
            List<Object> r = redis.eval(Script.CONFIRM, keys.of(sku).toArray(), redis.maxTimeoutNanos(), key,
                    pendingOrderId);
            return switch (Replies.confirm(sku, r)) {
                case ConfirmReply.Confirmed _ -> {
                    LOG.info("confirmed {}/{} (order {}): still pending, but the order is in the store", sku, key,
                            pendingOrderId);
                    yield true;
                }
                case ConfirmReply.Already _ -> true;
                case UnknownKey _, NotOwner _, NoEpoch _ -> false;
            };
        } catch (RuntimeException e) {
            LOG.debug("could not look up pending order {} in the store: {}", pendingOrderId, e.getMessage());
            return false;
        }
    }

    /** Parks for {@code nanos} (a {@link #POLL} delay), within the deadline; false if it ran out. */
    static boolean pause(Deadline deadline, long nanos) {
        long remaining = deadline.remainingNanos();
        if (remaining <= 0 || Thread.currentThread().isInterrupted()) {
            return false;
        }
        LockSupport.parkNanos(Math.min(nanos, remaining));
        return !deadline.expired();
    }

    private long timeout(Deadline deadline) {
        return Math.max(1, Math.min(deadline.remainingNanos(), redis.maxTimeoutNanos()));
    }

    private SoldOutMarks.Snapshot snapshot(String sku, Deadline deadline) {
        try {
            List<Object> r = redis.eval(Script.SOLD_OUT, keys.of(sku).toArray(), timeout(deadline),
                    Integer.toString(soldOut.maxKeys()));
            return switch (Replies.soldOut(sku, r)) {
                case SoldOutReply.SoldOut(SoldOutMarks.Snapshot snapshot) -> snapshot;
                case SoldOutReply.NotSoldOut _, SoldOutReply.TooBig _, NoEpoch _ -> null;
            };
        } catch (DependencyUnavailableException e) {
            return null; // no marker this time; the next sold-out answer tries again
        }
    }

    /** A reservation whose reply was lost may have happened: release it if it is this order's. */
    private void undoLostReservation(String sku, String key, String orderId) {
        settler.submit("release of the reservation of order " + orderId + " (" + sku + "/" + key + ") whose reply was lost",
                () -> releaseNow(sku, key, orderId));
    }

    // ---------------------------------------------------------------- settle

    @Override
    public void confirm(String sku, String idempotencyKey) {
        String orderId = reservedHere.remove(hereKey(sku, idempotencyKey));
        String owner = orderId == null ? "" : orderId;
        settle("confirm of " + sku + "/" + idempotencyKey + (orderId == null ? "" : " (order " + orderId + ")"), () -> {
            List<Object> r = redis.eval(Script.CONFIRM, keys.of(sku).toArray(), redis.maxTimeoutNanos(), idempotencyKey,
                    owner);
            switch (Replies.confirm(sku, r)) {
                case ConfirmReply.Confirmed _, ConfirmReply.Already _ -> {
                }
                case UnknownKey _ -> LOG.error("confirm of unknown reservation {}/{}", sku, idempotencyKey);
                case NotOwner(String holder) -> LOG.error("confirm of {}/{} for order {}, but the key now holds order {};"
                        + " left alone", sku, idempotencyKey, orderId, holder);
                case NoEpoch _ -> LOG.warn("confirm of {}/{} found Redis emptied; the rebuild from the store restores"
                        + " the order if it is durable", sku, idempotencyKey);
            }
        });
    }

    @Override
    public void release(String sku, String idempotencyKey) {
        String orderId = reservedHere.remove(hereKey(sku, idempotencyKey));
        String owner = orderId == null ? "" : orderId;
        settle("release of " + sku + "/" + idempotencyKey + (orderId == null ? "" : " (order " + orderId + ")"),
                () -> releaseNow(sku, idempotencyKey, owner));
    }

    /** One attempt at releasing the reservation under {@code key}, if it is {@code owner}'s ('' for any). */
    private void releaseNow(String sku, String key, String owner) {
        List<Object> r = redis.eval(Script.RELEASE, keys.of(sku).toArray(), redis.maxTimeoutNanos(), key, owner);
        switch (Replies.release(sku, r)) {
            case ReleaseReply.Released _ -> soldOut.stockReturned(sku);
            case UnknownKey _, ReleaseReply.NotPending _, NotOwner _, NoEpoch _ -> {
                // nothing of this reservation is held any more
            }
        }
    }

    @Override
    public void returnUnits(Order cancelled) {
        String sku = cancelled.sku();
        String key = cancelled.idempotencyKey();
        settle("return of the units of cancelled order " + cancelled.orderId() + " (" + sku + "/" + key + ")", () -> {
            List<Object> r = redis.eval(Script.CANCEL, keys.of(sku).toArray(), redis.maxTimeoutNanos(), key,
                    cancelled.orderId());
            switch (Replies.cancel(sku, r)) {
                case CancelReply.Cancelled _ -> soldOut.stockReturned(sku);
                case CancelReply.AlreadyCancelled _ -> {
                }
                case UnknownKey _ -> LOG.error("cancel of order {} that the ledger does not know ({}/{}); units not returned",
                        cancelled.orderId(), sku, key);
                case NotOwner(String holder) -> LOG.error("cancel of order {} but key {}/{} names order {}; units not"
                        + " returned", cancelled.orderId(), sku, key, holder);
                // Redis lost its data and is being (or about to be) rebuilt from the store. The rebuild
                // may already have read this order as live, before the store cancelled it: so the
                // cancel is retried until the ledger is back, where it returns the units or finds
                // them returned already (ALREADY), never lost between the two.
                case NoEpoch _ -> throw rebuild.noEpoch(sku);
            }
        });
    }

    /** Runs {@code attempt} now; if Redis does not take it, the settler retries it. Never throws. */
    private void settle(String description, Runnable attempt) {
        try {
            attempt.run();
        } catch (DependencyUnavailableException e) {
            LOG.debug("{} failed, retrying in the background: {}", description, e.getMessage());
            settler.submit(description, attempt);
        }
    }

    // ---------------------------------------------------------------- definitions and stock

    @Override
    public Definition beginDefinition(String sku) {
        return definitions.begin(sku);
    }

    @Override
    public ItemView adjustStock(String sku, long delta) {
        return definitions.adjustStock(sku, delta);
    }

    // ---------------------------------------------------------------- views

    @Override
    public Optional<ItemView> view(String sku) {
        List<Object> r = redis.eval(Script.VIEW, keys.of(sku).toArray(), redis.maxTimeoutNanos());
        return switch (Replies.view(sku, r)) {
            case Item item -> Optional.of(item.view(Instant.ofEpochMilli(clock.millis())));
            case UnknownItem _ -> Optional.empty();
            case NoEpoch _ -> throw rebuild.noEpoch(sku);
            case Rebuilding _ -> throw rebuild.rebuilding(sku);
        };
    }

    @Override
    public List<Reservation> pendingReservations(Instant reservedBefore, int max) {
        Set<String> skus = redis.call("SMEMBERS " + keys.index(), redis.maxTimeoutNanos(), c -> c.smembers(keys.index()));
        List<Reservation> found = new ArrayList<>();
        for (String sku : skus) {
            if (found.size() >= max) {
                break;
            }
            ItemKeys item = keys.of(sku);
            List<ScoredValue<String>> pending = redis.call("ZRANGEBYSCORE " + item.pending(), redis.maxTimeoutNanos(),
                    c -> c.zrangebyscoreWithScores(item.pending(),
                            Range.create(Long.MIN_VALUE, reservedBefore.toEpochMilli() - 1),
                            Limit.create(0, max - found.size())));
            if (pending.isEmpty()) {
                continue;
            }
            String[] ids = pending.stream().map(ScoredValue::getValue).toArray(String[]::new);
            List<KeyValue<String, String>> records = redis.call("HMGET " + item.keys(), redis.maxTimeoutNanos(),
                    c -> c.hmget(item.keys(), ids));
            for (int i = 0; i < records.size(); i++) {
                var record = records.get(i);
                if (!record.hasValue()) {
                    continue;
                }
                OutboxRecord reservation = Replies.outboxRecord(record.getValue());
                if (reservation != null && reservation.pending()) {
                    found.add(new Reservation(sku, record.getKey(), reservation.orderId(), reservation.userId(),
                            reservation.quantity(), Instant.ofEpochMilli((long) pending.get(i).getScore())));
                }
            }
        }
        return found;
    }

    @Override
    public List<ItemView> views() {
        Set<String> skus = redis.call("SMEMBERS " + keys.index(), redis.maxTimeoutNanos(), c -> c.smembers(keys.index()));
        // Sent together, awaited together: one round trip's latency for the lot.
        Map<String, RedisFuture<List<Object>>> replies = new HashMap<>();
        for (String sku : skus) {
            replies.put(sku, redis.send(c -> c.evalsha(Script.VIEW.sha(), ScriptOutputType.MULTI, keys.of(sku).toArray())));
        }
        Deadline deadline = new Deadline(System.nanoTime() + redis.maxTimeoutNanos());
        List<ItemView> views = new ArrayList<>(skus.size());
        for (Map.Entry<String, RedisFuture<List<Object>>> e : replies.entrySet()) {
            String sku = e.getKey();
            List<Object> r;
            try {
                r = redis.await(Script.VIEW.file(), e.getValue(), timeout(deadline));
            } catch (DependencyUnavailableException noScript) {
                if (!(noScript.getCause() instanceof RedisNoScriptException)) {
                    throw noScript;
                }
                r = redis.eval(Script.VIEW, keys.of(sku).toArray(), timeout(deadline));
            }
            switch (Replies.view(sku, r)) {
                case Item item -> views.add(item.view(Instant.ofEpochMilli(clock.millis())));
                case UnknownItem _ -> {
                    // listed before its definition was committed, or the definition was aborted
                }
                case NoEpoch _ -> throw rebuild.noEpoch(sku);
                case Rebuilding _ -> throw rebuild.rebuilding(sku);
            }
        }
        views.sort(Comparator.comparing(v -> v.spec().sku()));
        return views;
    }

    /** Units held by one user of one item, for tests and audits. */
    int held(String sku, String userId) {
        String held = redis.call("HGET held", redis.maxTimeoutNanos(), c -> c.hget(keys.of(sku).held(), userId));
        return held == null ? 0 : Integer.parseInt(held);
    }

    // ---------------------------------------------------------------- plumbing

    @Override
    public Rebuilt rebuildFrom(OrderStore store) {
        return rebuild.rebuildFrom(store);
    }

    private void warnUnlessNoEviction() {
        if (redis.cluster()) {
            return;
        }
        try {
            Map<String, String> policy = redis.call("CONFIG GET maxmemory-policy", redis.maxTimeoutNanos(),
                    c -> c.configGet("maxmemory-policy"));
            String value = policy.get("maxmemory-policy");
            if (value != null && !"noeviction".equals(value)) {
                LOG.warn("Redis at {} runs with maxmemory-policy={}: it may evict the ledger's keys, which loses stock"
                        + " and orders' keys; set it to noeviction", redis.where(), value);
            }
        } catch (RuntimeException e) {
            LOG.debug("cannot read maxmemory-policy (CONFIG may be disabled): {}", e.getMessage());
        }
    }

    @Override
    public boolean ping(Duration timeout) {
        return redis.ping(timeout);
    }

    @Override
    public Stats stats() {
        return new Stats(redis.calls(), soldOut.answered(), settler.backlog(), rebuild.rebuilds());
    }

    /** Commands sent to Redis so far (tests check that a path stays off Redis). */
    long redisCalls() {
        return redis.calls();
    }

    boolean soldOutMarked(String sku) {
        return soldOut.marked(sku);
    }

    int unsettled() {
        return settler.backlog();
    }

    @Override
    public Repaired repair(String sku, List<Order> durable, io.floodgate.core.port.Lock.Fence fence) {
        return rebuild.repair(sku, durable, fence);
    }

    /** The rebuild and its watcher (tests drive a check by hand). */
    LedgerRebuild rebuild() {
        return rebuild;
    }

    @Override
    public void close() {
        rebuild.close();
        settler.close();
        redis.close();
    }

    private static String hereKey(String sku, String key) {
        return sku + '\0' + key;
    }
}
