package io.floodgate.redis;

import io.floodgate.core.Deadline;
import io.floodgate.core.DependencyUnavailableException;
import io.floodgate.core.RejectedException;
import io.floodgate.core.Rejection;
import io.floodgate.core.domain.ItemSpec;
import io.floodgate.core.domain.ItemView;
import io.floodgate.core.domain.Order;
import io.floodgate.core.domain.OrderStatus;
import io.floodgate.core.domain.SaleState;
import io.floodgate.core.port.OrderStore;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.ScriptOutputType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * The stock ledger in Redis, shared by any number of Floodgate instances. It keeps the contract of
 * {@link io.floodgate.core.port.StockLedger} exactly as the in-process ledger does (one contract
 * test holds both to it), with each operation one Lua script run atomically by Redis.
 *
 * <h2>Design</h2>
 * Every key of an item carries the hash tag {@code {sku}} ({@link KeySpace}), so one script sees
 * all of an item's state, and items spread over Redis Cluster by slot with no script changed. The
 * reserve script does, in one step, what {@code InMemoryStockLedger} does under its locks: the key
 * (replay, key reused, in flight), the item (unknown, being defined, being rebuilt), the sale
 * window (on the caller's clock, passed in, never Redis TIME, so tests move time), the user's
 * limit, the stock; then it takes the units, counts them to the user, and records the reservation
 * (order id, user, quantity, state) under its key: that record is the outbox a reconciler reads.
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
 * newer reservation of the same key.
 *
 * <h2>Losing Redis</h2>
 * Redis here has no persistence. Every script first checks the epoch marker of its item's slot
 * and answers {@code NO_EPOCH} without it; the ledger then starts a rebuild from the order store
 * (one at a time, at most one attempt a second) and answers {@link DependencyUnavailableException}
 * until it is done. The rebuild ({@link #rebuildFrom}) puts back each item Redis lost, with its
 * orders, and writes the markers last, guarded by a sentinel so that a Redis that restarts again
 * mid-rebuild never gets markers for data it lost. Reservations that were PENDING when Redis lost
 * them are gone with it: their confirm finds no key and is logged, their units were free anyway.
 * The one gap: an order reserved before the loss but stored after the rebuild read the store is
 * durable yet not counted; the reconciler's audit (stock = sold + available) finds it.
 *
 * <h2>Sold out</h2>
 * {@link SoldOutMarks}: after Redis says an item has nothing left, this instance answers the flood
 * itself, exactly (a snapshot of the item's keys and holders keeps replays and PER_USER_LIMIT
 * ahead of SOLD_OUT), until stock returns here, or for at most {@code soldOutRecheck} when it may
 * have returned through another instance.
 */
final class RedisStockLedger implements RedisLedger {

    private static final Logger LOG = LoggerFactory.getLogger(RedisStockLedger.class);
    private static final long FIRST_WAIT_NANOS = TimeUnit.MICROSECONDS.toNanos(200);
    private static final long MAX_WAIT_NANOS = TimeUnit.MILLISECONDS.toNanos(10);
    private static final long REBUILD_RETRY_NANOS = TimeUnit.SECONDS.toNanos(1);
    private static final int REBUILD_ATTEMPTS = 5;
    /** Orders per restore script call: a few hundred keep each call well under a millisecond. */
    private static final int RESTORE_CHUNK = 256;
    private static final int SETTLER_CAPACITY = 100_000;
    /** How long a key must stay pending before a duplicate looks its order up in the store, and then how often. */
    private static final long PENDING_STORE_CHECK_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
    private static final long PENDING_STORE_RECHECK_NANOS = TimeUnit.SECONDS.toNanos(1);

    private final Redis redis;
    private final KeySpace keys;
    private final Clock clock;
    private final OrderStore store;
    private final RedisLedgers.Settings settings;
    private final SoldOutMarks soldOut;
    private final Settler settler;
    /** Reservations this instance made and has not settled: "sku\0key" to order id. */
    private final ConcurrentHashMap<String, String> reservedHere = new ConcurrentHashMap<>();
    private final ReentrantLock rebuildLock = new ReentrantLock();
    private final AtomicBoolean rebuildScheduled = new AtomicBoolean();
    private volatile long lastRebuildNanos = System.nanoTime() - REBUILD_RETRY_NANOS;
    private volatile boolean closed;

    private RedisStockLedger(Redis redis, RedisLedgers.Settings settings, Clock clock, OrderStore store,
                             java.util.function.LongSupplier ticker) {
        this.redis = redis;
        this.settings = settings;
        this.clock = clock;
        this.store = store;
        this.keys = new KeySpace(settings.namespace(), redis.cluster());
        this.soldOut = new SoldOutMarks(settings.soldOutRecheck().toNanos(), settings.soldOutMaxKeys(), ticker);
        this.settler = new Settler(SETTLER_CAPACITY, settings.settleRetention());
    }

    static RedisStockLedger open(RedisLedgers.Settings settings, Clock clock, OrderStore store) {
        return open(settings, clock, store, System::nanoTime);
    }

    /** With the monotonic clock that times sold-out markers given (tests move it). */
    static RedisStockLedger open(RedisLedgers.Settings settings, Clock clock, OrderStore store,
                                 java.util.function.LongSupplier ticker) {
        Redis redis = Redis.connect(settings);
        RedisStockLedger ledger = null;
        try {
            redis.loadScripts();
            ledger = new RedisStockLedger(redis, settings, clock, store, ticker);
            ledger.warnUnlessNoEviction();
            if (ledger.anyEpochMarkerMissing()) {
                Rebuilt rebuilt = store == null ? ledger.rebuild(sink -> { }, sink -> { }) : ledger.rebuildFrom(store);
                LOG.info("Redis at {} had no epoch marker (fresh or emptied): {}", redis.where(), rebuilt);
            }
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
        String[] itemKeys = keys.of(sku);
        String quantity = Integer.toString(order.quantity());
        long wait = FIRST_WAIT_NANOS;
        long storeCheckAt = 0; // when a key found pending is next looked up in the store (0: not pending yet)
        while (true) {
            if (deadline.expired()) {
                return ReserveOutcome.TIMED_OUT;
            }
            List<Object> reply;
            try {
                reply = redis.eval(Script.RESERVE, itemKeys, timeout(deadline), key, order.orderId(), order.userId(),
                        quantity, Long.toString(now));
            } catch (DependencyUnavailableException e) {
                if (e.outcomeUnknown()) {
                    undoLostReservation(sku, key, order.orderId());
                }
                if (deadline.expired()) {
                    return ReserveOutcome.TIMED_OUT;
                }
                throw e;
            }
            switch (status(reply)) {
                case "RESERVED" -> {
                    reservedHere.put(hereKey(sku, key), order.orderId());
                    return ReserveOutcome.RESERVED;
                }
                case "REPLAYED" -> {
                    return new ReserveOutcome.Replayed(string(reply, 1));
                }
                case "KEY_REUSED" -> {
                    return new ReserveOutcome.KeyReused(string(reply, 1));
                }
                case "PENDING", "FENCED" -> {
                    if ("PENDING".equals(status(reply)) && store != null) {
                        long nowNanos = System.nanoTime();
                        if (storeCheckAt == 0) {
                            storeCheckAt = nowNanos + PENDING_STORE_CHECK_NANOS;
                        } else if (nowNanos - storeCheckAt >= 0) {
                            storeCheckAt = nowNanos + PENDING_STORE_RECHECK_NANOS;
                            if (confirmIfStored(sku, key, string(reply, 1))) {
                                continue; // the next reserve answers REPLAYED
                            }
                        }
                    }
                    if (!pause(deadline, wait)) {
                        return ReserveOutcome.TIMED_OUT;
                    }
                    wait = Math.min(MAX_WAIT_NANOS, wait * 2);
                    now = clock.millis();
                }
                case "UNKNOWN_ITEM" -> {
                    return ReserveOutcome.UNKNOWN_ITEM;
                }
                case "NOT_ON_SALE" -> {
                    return ReserveOutcome.NOT_ON_SALE;
                }
                case "LIMIT" -> {
                    return new ReserveOutcome.LimitReached(number(reply, 1), (int) number(reply, 2));
                }
                case "SOLD_OUT" -> {
                    long available = number(reply, 1);
                    if (available <= 0) {
                        soldOut.soldOut(sku, s -> snapshot(s, deadline));
                    }
                    return new ReserveOutcome.SoldOut(available);
                }
                case "NO_EPOCH" -> throw epochLost(sku);
                case "REBUILDING" -> throw rebuilding(sku);
                default -> throw unexpected(Script.RESERVE, sku, reply);
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
            List<Object> r = redis.eval(Script.CONFIRM, keys.of(sku), redis.maxTimeoutNanos(), key, pendingOrderId);
            String status = status(r);
            if ("CONFIRMED".equals(status)) {
                LOG.info("confirmed {}/{} (order {}): still pending, but the order is in the store", sku, key,
                        pendingOrderId);
            }
            return "CONFIRMED".equals(status) || "ALREADY".equals(status);
        } catch (RuntimeException e) {
            LOG.debug("could not look up pending order {} in the store: {}", pendingOrderId, e.getMessage());
            return false;
        }
    }

    /** Parks for about {@code nanos} (with jitter), within the deadline; false if it ran out. */
    private static boolean pause(Deadline deadline, long nanos) {
        long remaining = deadline.remainingNanos();
        if (remaining <= 0 || Thread.currentThread().isInterrupted()) {
            return false;
        }
        long jittered = nanos / 2 + ThreadLocalRandom.current().nextLong(nanos / 2 + 1);
        LockSupport.parkNanos(Math.min(jittered, remaining));
        return !deadline.expired();
    }

    private long timeout(Deadline deadline) {
        return Math.max(1, Math.min(deadline.remainingNanos(), redis.maxTimeoutNanos()));
    }

    private SoldOutMarks.Snapshot snapshot(String sku, Deadline deadline) {
        try {
            List<Object> r = redis.eval(Script.SOLD_OUT, keys.of(sku), timeout(deadline),
                    Integer.toString(soldOut.maxKeys()));
            if (!"SOLD_OUT".equals(status(r))) {
                return null;
            }
            String starts = string(r, 2);
            String ends = string(r, 3);
            return new SoldOutMarks.Snapshot(strings(r, 4), strings(r, 5), (int) number(r, 1),
                    starts.isEmpty() ? Long.MIN_VALUE : Long.parseLong(starts),
                    ends.isEmpty() ? Long.MAX_VALUE : Long.parseLong(ends));
        } catch (DependencyUnavailableException e) {
            return null; // no marker this time; the next sold-out answer tries again
        }
    }

    /** A reservation whose reply was lost may have happened: release it if it is this order's. */
    private void undoLostReservation(String sku, String key, String orderId) {
        settler.submit("release of the reservation of order " + orderId + " (" + sku + "/" + key + ") whose reply was lost",
                () -> {
                    List<Object> r = redis.eval(Script.RELEASE, keys.of(sku), redis.maxTimeoutNanos(), key, orderId);
                    if ("RELEASED".equals(status(r))) {
                        soldOut.stockReturned(sku);
                    }
                });
    }

    // ---------------------------------------------------------------- settle

    @Override
    public void confirm(String sku, String idempotencyKey) {
        String orderId = reservedHere.remove(hereKey(sku, idempotencyKey));
        String owner = orderId == null ? "" : orderId;
        settle("confirm of " + sku + "/" + idempotencyKey + (orderId == null ? "" : " (order " + orderId + ")"), () -> {
            List<Object> r = redis.eval(Script.CONFIRM, keys.of(sku), redis.maxTimeoutNanos(), idempotencyKey, owner);
            switch (status(r)) {
                case "CONFIRMED", "ALREADY" -> {
                }
                case "UNKNOWN" -> LOG.error("confirm of unknown reservation {}/{}", sku, idempotencyKey);
                case "NOT_OWNER" -> LOG.error("confirm of {}/{} for order {}, but the key now holds order {}; left alone",
                        sku, idempotencyKey, orderId, string(r, 1));
                case "NO_EPOCH" -> LOG.warn("confirm of {}/{} found Redis emptied; the rebuild from the store restores"
                        + " the order if it is durable", sku, idempotencyKey);
                default -> throw unexpected(Script.CONFIRM, sku, r);
            }
        });
    }

    @Override
    public void release(String sku, String idempotencyKey) {
        String orderId = reservedHere.remove(hereKey(sku, idempotencyKey));
        String owner = orderId == null ? "" : orderId;
        settle("release of " + sku + "/" + idempotencyKey + (orderId == null ? "" : " (order " + orderId + ")"), () -> {
            List<Object> r = redis.eval(Script.RELEASE, keys.of(sku), redis.maxTimeoutNanos(), idempotencyKey, owner);
            switch (status(r)) {
                case "RELEASED" -> soldOut.stockReturned(sku);
                case "UNKNOWN", "NOT_PENDING", "NOT_OWNER", "NO_EPOCH" -> {
                    // nothing of this reservation is held any more
                }
                default -> throw unexpected(Script.RELEASE, sku, r);
            }
        });
    }

    @Override
    public void returnUnits(Order cancelled) {
        String sku = cancelled.sku();
        String key = cancelled.idempotencyKey();
        settle("return of the units of cancelled order " + cancelled.orderId() + " (" + sku + "/" + key + ")", () -> {
            List<Object> r = redis.eval(Script.CANCEL, keys.of(sku), redis.maxTimeoutNanos(), key, cancelled.orderId());
            switch (status(r)) {
                case "CANCELLED" -> soldOut.stockReturned(sku);
                case "ALREADY" -> {
                }
                case "UNKNOWN" -> LOG.error("cancel of order {} that the ledger does not know ({}/{}); units not returned",
                        cancelled.orderId(), sku, key);
                case "NOT_OWNER" -> LOG.error("cancel of order {} but key {}/{} names order {}; units not returned",
                        cancelled.orderId(), sku, key, string(r, 1));
                // Redis lost its data and is being (or about to be) rebuilt from the store. The rebuild
                // may already have read this order as live, before the store cancelled it: so the
                // cancel is retried until the ledger is back, where it returns the units or finds
                // them returned already (ALREADY), never lost between the two.
                case "NO_EPOCH" -> throw epochLost(sku);
                default -> throw unexpected(Script.CANCEL, sku, r);
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
        String token = UUID.randomUUID().toString();
        List<Object> r = redis.eval(Script.BEGIN, keys.of(sku), redis.maxTimeoutNanos(), token,
                Long.toString(settings.definitionLease().toMillis()));
        return switch (status(r)) {
            case "BEGUN" -> new RedisDefinition(sku, token, number(r, 1) == 1);
            case "LOCKED" -> throw locked(sku, string(r, 1));
            case "NO_EPOCH" -> throw epochLost(sku);
            case "REBUILDING" -> throw rebuilding(sku);
            default -> throw unexpected(Script.BEGIN, sku, r);
        };
    }

    private static RejectedException locked(String sku, String why) {
        return new RejectedException(Rejection.ITEM_LOCKED, "item " + sku + " " + why
                + (why.startsWith("is being defined") ? "; try again when it is done" : " and can no longer be replaced"));
    }

    private final class RedisDefinition implements Definition {
        private final String sku;
        private final String token;
        private final boolean creates;

        RedisDefinition(String sku, String token, boolean creates) {
            this.sku = sku;
            this.token = token;
            this.creates = creates;
        }

        @Override
        public boolean creates() {
            return creates;
        }

        @Override
        public ItemView commit(ItemSpec spec) {
            if (!spec.sku().equals(sku)) {
                throw new IllegalArgumentException("definition of " + sku + " committed with the spec of " + spec.sku());
            }
            List<Object> r;
            try {
                // Listed first: the index may name an item that is not there (views skip it), never the reverse.
                redis.call("SADD " + keys.index(), redis.maxTimeoutNanos(), c -> c.sadd(keys.index(), sku));
                r = redis.eval(Script.COMMIT, keys.of(sku), redis.maxTimeoutNanos(), token, spec.name(),
                        Long.toString(spec.stock()), Integer.toString(spec.perUserLimit()), millisOrEmpty(spec.startsAt()),
                        millisOrEmpty(spec.endsAt()));
            } catch (DependencyUnavailableException e) {
                // Lift our fence if it is still up (the token makes this a no-op after a commit that did
                // run), so that the administrator can retry now rather than after the lease.
                abort();
                throw e;
            }
            return switch (status(r)) {
                case "COMMITTED" -> {
                    soldOut.stockReturned(sku);
                    yield new ItemView(spec, spec.stock(), SaleState.of(spec, spec.stock(), clock.instant()));
                }
                case "LOCKED" -> throw locked(sku, string(r, 1));
                case "NO_EPOCH" -> throw epochLost(sku);
                default -> throw unexpected(Script.COMMIT, sku, r);
            };
        }

        @Override
        public void abort() {
            try {
                redis.eval(Script.ABORT, keys.of(sku), redis.maxTimeoutNanos(), token);
            } catch (DependencyUnavailableException e) {
                LOG.warn("abort of the definition of {} failed; its fence lapses in {}: {}", sku,
                        settings.definitionLease(), e.getMessage());
            }
        }
    }

    @Override
    public ItemView adjustStock(String sku, long delta) {
        Deadline fenceWait = new Deadline(System.nanoTime() + redis.maxTimeoutNanos());
        long wait = FIRST_WAIT_NANOS;
        while (true) {
            List<Object> r = redis.eval(Script.ADJUST, keys.of(sku), redis.maxTimeoutNanos(), Long.toString(delta));
            switch (status(r)) {
                case "ITEM" -> {
                    if (delta > 0) {
                        soldOut.stockReturned(sku);
                    }
                    return itemView(sku, r);
                }
                case "SOLD_OUT" -> throw new RejectedException(Rejection.SOLD_OUT, "item " + sku + " has " + number(r, 1)
                        + " units available, fewer than the " + -delta + " to remove");
                case "UNKNOWN_ITEM" -> throw new RejectedException(Rejection.UNKNOWN_ITEM, "there is no item " + sku);
                case "FENCED" -> {
                    if (!pause(fenceWait, wait)) {
                        throw new DependencyUnavailableException("redis", "item " + sku + " is being defined; its stock"
                                + " cannot change until that is done");
                    }
                    wait = Math.min(MAX_WAIT_NANOS, wait * 2);
                }
                case "NO_EPOCH" -> throw epochLost(sku);
                case "REBUILDING" -> throw rebuilding(sku);
                default -> throw unexpected(Script.ADJUST, sku, r);
            }
        }
    }

    // ---------------------------------------------------------------- views

    @Override
    public Optional<ItemView> view(String sku) {
        List<Object> r = redis.eval(Script.VIEW, keys.of(sku), redis.maxTimeoutNanos());
        return switch (status(r)) {
            case "ITEM" -> Optional.of(itemView(sku, r));
            case "UNKNOWN_ITEM" -> Optional.empty();
            case "NO_EPOCH" -> throw epochLost(sku);
            case "REBUILDING" -> throw rebuilding(sku);
            default -> throw unexpected(Script.VIEW, sku, r);
        };
    }

    @Override
    public List<Reservation> pendingReservations(java.time.Instant reservedBefore, int max) {
        Set<String> skus = redis.call("SMEMBERS " + keys.index(), redis.maxTimeoutNanos(), c -> c.smembers(keys.index()));
        List<Reservation> found = new ArrayList<>();
        for (String sku : skus) {
            if (found.size() >= max) {
                break;
            }
            String[] k = keys.of(sku);
            String pendingKey = k[3];
            String keysKey = k[1];
            List<io.lettuce.core.ScoredValue<String>> pending = redis.call("ZRANGEBYSCORE " + pendingKey,
                    redis.maxTimeoutNanos(), c -> c.zrangebyscoreWithScores(pendingKey,
                            io.lettuce.core.Range.create(Long.MIN_VALUE, reservedBefore.toEpochMilli() - 1),
                            io.lettuce.core.Limit.create(0, max - found.size())));
            if (pending.isEmpty()) {
                continue;
            }
            String[] ids = pending.stream().map(io.lettuce.core.ScoredValue::getValue).toArray(String[]::new);
            List<io.lettuce.core.KeyValue<String, String>> records = redis.call("HMGET " + keysKey,
                    redis.maxTimeoutNanos(), c -> c.hmget(keysKey, ids));
            for (int i = 0; i < records.size(); i++) {
                var record = records.get(i);
                if (!record.hasValue()) {
                    continue;
                }
                // "state|orderId|quantity|userId" (KeySpace)
                String[] parts = record.getValue().split("\\|", 4);
                if (parts.length == 4 && parts[0].equals("P")) {
                    found.add(new Reservation(sku, record.getKey(), parts[1], parts[3], Integer.parseInt(parts[2]),
                            java.time.Instant.ofEpochMilli((long) pending.get(i).getScore())));
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
            replies.put(sku, redis.send(c -> c.evalsha(Script.VIEW.sha(), ScriptOutputType.MULTI, keys.of(sku))));
        }
        Deadline deadline = new Deadline(System.nanoTime() + redis.maxTimeoutNanos());
        List<ItemView> views = new ArrayList<>(skus.size());
        for (Map.Entry<String, RedisFuture<List<Object>>> e : replies.entrySet()) {
            List<Object> r;
            try {
                r = redis.await(Script.VIEW.file(), e.getValue(), timeout(deadline));
            } catch (DependencyUnavailableException noScript) {
                if (!(noScript.getCause() instanceof io.lettuce.core.RedisNoScriptException)) {
                    throw noScript;
                }
                r = redis.eval(Script.VIEW, keys.of(e.getKey()), timeout(deadline));
            }
            switch (status(r)) {
                case "ITEM" -> views.add(itemView(e.getKey(), r));
                case "UNKNOWN_ITEM" -> {
                    // listed before its definition was committed, or the definition was aborted
                }
                case "NO_EPOCH" -> throw epochLost(e.getKey());
                case "REBUILDING" -> throw rebuilding(e.getKey());
                default -> throw unexpected(Script.VIEW, e.getKey(), r);
            }
        }
        views.sort(Comparator.comparing(v -> v.spec().sku()));
        return views;
    }

    /** From a reply {@code ITEM name stock avail limit starts ends}. */
    private ItemView itemView(String sku, List<Object> r) {
        String starts = string(r, 5);
        String ends = string(r, 6);
        ItemSpec spec = new ItemSpec(sku, string(r, 1), number(r, 2), (int) number(r, 4),
                starts.isEmpty() ? null : Instant.ofEpochMilli(Long.parseLong(starts)),
                ends.isEmpty() ? null : Instant.ofEpochMilli(Long.parseLong(ends)));
        long available = number(r, 3);
        return new ItemView(spec, available, SaleState.of(spec, available, Instant.ofEpochMilli(clock.millis())));
    }

    /** Units held by one user of one item, for tests and audits. */
    int held(String sku, String userId) {
        String held = redis.call("HGET held", redis.maxTimeoutNanos(), c -> c.hget(keys.of(sku)[2], userId));
        return held == null ? 0 : Integer.parseInt(held);
    }

    // ---------------------------------------------------------------- losing Redis, rebuilding

    private DependencyUnavailableException epochLost(String sku) {
        if (store != null) {
            scheduleRebuild();
        }
        return new DependencyUnavailableException("redis", "Redis at " + redis.where() + " has lost the ledger's data for"
                + " item " + sku + " (no epoch marker: it restarted empty or was flushed); "
                + (store != null ? "rebuilding it from the order store" : "it must be rebuilt with rebuildFrom(store)"));
    }

    private DependencyUnavailableException rebuilding(String sku) {
        if (store != null) {
            scheduleRebuild(); // finishes a rebuild that another instance may have left half done
        }
        return new DependencyUnavailableException("redis", "item " + sku + " is being rebuilt from the order store");
    }

    private void scheduleRebuild() {
        long now = System.nanoTime();
        if (closed || now - lastRebuildNanos < REBUILD_RETRY_NANOS || !rebuildScheduled.compareAndSet(false, true)) {
            return;
        }
        lastRebuildNanos = now;
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
                lastRebuildNanos = System.nanoTime();
                rebuildScheduled.set(false);
            }
        });
    }

    @Override
    public Rebuilt rebuildFrom(OrderStore store) {
        // orders already acknowledged by a log that answers before the store (Kafka) must be in
        // the store before it is read, or their units would be counted as available again
        settings.beforeRebuild().run();
        return rebuild(store::forEachItem, store::forEachOrder);
    }

    private Rebuilt rebuild(Consumer<Consumer<ItemSpec>> items, Consumer<Consumer<Order>> orders) {
        rebuildLock.lock();
        try {
            for (int attempt = 1; ; attempt++) {
                long start = System.nanoTime();
                String token = UUID.randomUUID().toString();
                List<String> markers = keys.epochMarkers();
                int lost;
                Rebuilt rebuilt;
                try {
                    setAll(markers, m -> KeySpace.sentinelOf(m), token);
                    rebuilt = restore(items, orders);
                    String epoch = Instant.ofEpochMilli(clock.millis()) + " " + token;
                    lost = markAll(markers, token, epoch);
                } catch (DependencyUnavailableException e) {
                    // Every step is idempotent: run the whole rebuild again.
                    if (attempt == REBUILD_ATTEMPTS || closed) {
                        throw e;
                    }
                    LOG.warn("rebuild attempt {} of {} failed, trying again: {}", attempt, REBUILD_ATTEMPTS, e.getMessage());
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
                if (attempt == REBUILD_ATTEMPTS) {
                    throw new DependencyUnavailableException("redis", "Redis at " + redis.where() + " lost data again during"
                            + " each of " + attempt + " rebuilds (" + lost + " slots last time); giving up for now");
                }
                LOG.warn("Redis lost data during the rebuild ({} of {} epoch markers refused); rebuilding again", lost,
                        markers.size());
            }
        } finally {
            rebuildLock.unlock();
        }
    }

    private Rebuilt restore(Consumer<Consumer<ItemSpec>> items, Consumer<Consumer<Order>> orders) {
        Set<String> restoring = new HashSet<>();
        int[] itemCount = new int[1];
        items.accept(spec -> {
            itemCount[0]++;
            String sku = spec.sku();
            redis.call("SADD " + keys.index(), redis.maxTimeoutNanos(), c -> c.sadd(keys.index(), sku));
            List<Object> r = redis.eval(Script.RESTORE_ITEM, keys.of(sku), redis.maxTimeoutNanos(), spec.name(),
                    Long.toString(spec.stock()), Integer.toString(spec.perUserLimit()), millisOrEmpty(spec.startsAt()),
                    millisOrEmpty(spec.endsAt()));
            if ("RESTORING".equals(status(r))) {
                restoring.add(sku);
            }
        });
        Map<String, List<String>> chunks = new HashMap<>();
        long[] restored = new long[2];
        orders.accept(order -> {
            if (!restoring.contains(order.sku())) {
                return;
            }
            List<String> chunk = chunks.computeIfAbsent(order.sku(), k -> new ArrayList<>(RESTORE_CHUNK * 5));
            chunk.add(order.idempotencyKey());
            chunk.add(order.orderId());
            chunk.add(order.userId());
            chunk.add(Integer.toString(order.quantity()));
            chunk.add(order.status() == OrderStatus.CANCELLED ? "X" : "C");
            if (chunk.size() >= RESTORE_CHUNK * 5) {
                restored[0] += restoreOrders(order.sku(), chunk);
            }
        });
        for (Map.Entry<String, List<String>> e : chunks.entrySet()) {
            restored[0] += restoreOrders(e.getKey(), e.getValue());
        }
        for (String sku : restoring) {
            List<Object> r = redis.eval(Script.RESTORE_FINISH, keys.of(sku), redis.maxTimeoutNanos());
            if ("READY".equals(status(r)) && number(r, 1) < 0) {
                LOG.error("item {}: orders in the store hold {} units more than its stock", sku, -number(r, 1));
            }
        }
        return new Rebuilt(itemCount[0], restoring.size(), restored[0]);
    }

    private long restoreOrders(String sku, List<String> chunk) {
        if (chunk.isEmpty()) {
            return 0;
        }
        List<Object> r = redis.eval(Script.RESTORE_ORDERS, keys.of(sku), redis.maxTimeoutNanos(), chunk.toArray(String[]::new));
        chunk.clear();
        return "ADDED".equals(status(r)) ? number(r, 1) : 0;
    }

    private void setAll(List<String> markers, java.util.function.UnaryOperator<String> keyOf, String value) {
        redis.bulk("SET rebuild sentinel", markers, marker -> c -> c.set(keyOf.apply(marker), value));
    }

    /** Writes every marker whose sentinel is still this rebuild's; returns how many were refused. */
    private int markAll(List<String> markers, String token, String epoch) {
        redis.call("SCRIPT LOAD " + Script.MARK_EPOCH.file(), redis.maxTimeoutNanos(),
                c -> c.scriptLoad(Script.MARK_EPOCH.text().getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        List<List<Object>> replies = redis.bulk(Script.MARK_EPOCH.file(), markers, marker -> c -> c.<List<Object>>evalsha(
                Script.MARK_EPOCH.sha(), ScriptOutputType.MULTI, new String[]{KeySpace.sentinelOf(marker), marker},
                token, epoch));
        int lost = 0;
        for (List<Object> r : replies) {
            if (!"MARKED".equals(status(r))) {
                lost++;
            }
        }
        return lost;
    }

    private boolean anyEpochMarkerMissing() {
        List<Long> exists = redis.bulk("EXISTS epoch marker", keys.epochMarkers(), marker -> c -> c.exists(marker));
        return exists.stream().anyMatch(n -> n == 0);
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

    // ---------------------------------------------------------------- plumbing

    @Override
    public io.floodgate.core.port.SharedRateBucket rateBucket(String name, double ratePerSecond, long burst) {
        return rateBucket(name, ratePerSecond, burst, null);
    }

    /** With the time in microseconds given rather than Redis's own (tests move it). */
    RedisRateBucket rateBucket(String name, double ratePerSecond, long burst, java.util.function.LongSupplier nowMicros) {
        return new RedisRateBucket(redis, keys.rateBucket(name), ratePerSecond, burst, nowMicros);
    }

    @Override
    public boolean ping(Duration timeout) {
        return redis.ping(timeout);
    }

    @Override
    public Stats stats() {
        return new Stats(redis.calls(), soldOut.answered(), settler.backlog());
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
    public void close() {
        closed = true;
        settler.close();
        redis.close();
    }

    private static String hereKey(String sku, String key) {
        return sku + '\0' + key;
    }

    private static String millisOrEmpty(Instant instant) {
        return instant == null ? "" : Long.toString(instant.toEpochMilli());
    }

    private static String status(List<Object> reply) {
        return reply == null || reply.isEmpty() ? "" : String.valueOf(reply.getFirst());
    }

    private static String string(List<Object> reply, int index) {
        Object value = reply.get(index);
        return value == null ? "" : value.toString();
    }

    private static long number(List<Object> reply, int index) {
        Object value = reply.get(index);
        return value instanceof Number n ? n.longValue() : Long.parseLong(value.toString());
    }

    @SuppressWarnings("unchecked")
    private static Set<String> strings(List<Object> reply, int index) {
        List<Object> values = (List<Object>) reply.get(index);
        Set<String> set = new HashSet<>(values.size() * 2);
        values.forEach(v -> set.add(v.toString()));
        return set;
    }

    private IllegalStateException unexpected(Script script, String sku, List<Object> reply) {
        return new IllegalStateException(script.file() + " for item " + sku + " answered " + reply
                + ", which this version of the ledger does not know");
    }
}
