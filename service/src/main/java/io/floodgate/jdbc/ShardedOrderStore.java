package io.floodgate.jdbc;

import io.floodgate.concurrent.Failures;
import io.floodgate.core.DependencyUnavailableException;
import io.floodgate.core.RequestContext;
import io.floodgate.core.domain.ItemAudit;
import io.floodgate.core.domain.ItemSpec;
import io.floodgate.core.domain.Order;
import io.floodgate.core.domain.OrderEvent;
import io.floodgate.core.domain.PaymentCallback;
import io.floodgate.core.domain.PaymentState;
import io.floodgate.core.port.Lock;
import io.floodgate.core.port.OrderStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.FutureTask;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.zip.CRC32;

/**
 * Orders sharded by user over several databases of one dialect, each a {@link JdbcOrderStore}
 * with the full schema.
 *
 * <h2>Routing</h2>
 * An order lives in shard {@code CRC32(UTF-8 bytes of userId) mod N}, N the number of shards,
 * shards numbered as configured. CRC-32 (the ISO-HDLC polynomial of {@link CRC32}) is fixed by its
 * standard, so the placement of existing orders never changes with the JDK, the platform or this
 * code; {@code String.hashCode} would be as stable in practice but is a promise of the
 * {@code String} javadoc rather than of a standard. The placement does change with N or with the
 * order of the list, so resharding means moving orders; {@link JdbcStores#sharded} refuses to start
 * when a shard holds orders of users who hash elsewhere.
 *
 * <ul>
 *   <li>{@code ordersOfUser}: the user's shard only.
 *   <li>{@code order}, {@code orderByKey}, {@code presentIds}, {@code cancel},
 *       {@code unitsSoldBySku}, {@code ping}: every shard, in parallel (shard 0 on the calling
 *       thread, the others on a virtual thread each, with the caller's request context so their
 *       statements keep its deadline). A lookup costs one round trip per shard; in parallel the
 *       slowest of them rather than their sum, for the price of starting a virtual thread (a
 *       microsecond or so, against a loopback round trip of a hundred or more). An order found
 *       in one shard is the answer even if another shard failed (order ids are unique); "absent"
 *       needs every shard to answer.
 *   <li>{@code forEachOrder}: shard after shard.
 * </ul>
 *
 * <h2>What is atomic, and what is not</h2>
 * <ul>
 *   <li>{@code insertOrders(batch)} splits the batch by shard and writes each part in one
 *       transaction of its shard, the parts in parallel. The batch as a whole is <em>not</em>
 *       atomic: one shard may commit while another fails. That is safe because every caller
 *       retries whole batches and inserts are idempotent (by id, and by {@code (sku, key)} within a
 *       shard). A failure after any part committed (or whose own commit was in doubt) is reported
 *       with {@link DependencyUnavailableException#outcomeUnknown()} true, so that the writer
 *       settles it order by order with {@link #presentIds}, which asks every shard: exactly the
 *       orders that reached their shard are confirmed, the rest released. Only when every part
 *       failed before committing is the failure reported as having changed nothing.
 *   <li>{@code (sku, idempotencyKey)} is unique within a shard, not across shards: two orders
 *       with the same key and different users could both be stored. The ledger is what makes a
 *       key yield one order (it reserves by key and never reserves a spent key again); the
 *       store's constraint backs it up within each shard.
 *   <li>Items are written to every shard (each shard's orders reference them by foreign key) and
 *       read from shard 0. {@code putItem} opens a transaction on every shard in order 0, 1, ...,
 *       and in each locks the item's row and checks it has no order before writing it
 *       ({@link JdbcOrderStore#defineItem}); it commits the last shard first and shard 0 last.
 *       While any check has passed and not committed, that shard's row lock keeps new orders of
 *       the item out, and an insert already in flight finished before the lock was granted; so
 *       an order committed in any shard before {@code putItem} commits makes it fail with
 *       {@code ITEM_LOCKED}. A crash between the commits can leave copies with different
 *       definitions; shard 0's is the one read, and the copies matter only for the foreign key.
 *       (Above this, {@code StockLedger.beginDefinition} refuses an item with any order, stored
 *       or in flight, and holds reservations off while the definition changes.)
 *   <li>{@code addStock} changes shard 0 in a transaction that holds the item's row, sets every
 *       other shard's copy to shard 0's new stock, then commits shard 0: the copies follow the
 *       store of record and any later change repairs one that missed an earlier one.
 *   <li>Fences and audits live on shard 0. {@code recordAudit} is one shard-0 transaction, as
 *       in a single store. {@code insertOrders(fence, batch)} checks and raises the fence in a
 *       shard-0 transaction, writes shard 0's part in it, writes every other part in a
 *       transaction of its shard (ascending), and commits shard 0 last. The fence row stays
 *       locked throughout, so a newer holder's fenced write waits until this one has finished
 *       in every shard; once it has written, an older one's check fails before writing anywhere.
 *       The limit: if shard 0's transaction is rolled back behind this process's back (its
 *       connection killed) while the process, paused, still has another shard's commit to send,
 *       that commit can land after a newer holder wrote. Its orders are ones the old holder had
 *       checked the fence for, inserted idempotently, so the harm is an order the newer holder
 *       may have judged absent; the ledger's reservation for it is what the reconciler settles
 *       on its next pass.
 *   <li>Lock order: every transaction that spans shards takes them in ascending order and every
 *       other transaction touches one shard, so shards cannot deadlock one another.
 * </ul>
 */
final class ShardedOrderStore implements OrderStore {

    private static final Logger LOG = LoggerFactory.getLogger(ShardedOrderStore.class);

    private final List<JdbcOrderStore> shards;
    private final ExecutorService fanOut = Executors.newVirtualThreadPerTaskExecutor();

    ShardedOrderStore(List<JdbcOrderStore> shards) {
        if (shards.isEmpty()) {
            throw new IllegalArgumentException("a sharded store needs at least one shard");
        }
        this.shards = List.copyOf(shards);
    }

    /** The shard of a user's orders: CRC-32 of the UTF-8 bytes of the id, mod the shard count. */
    static int shardOf(String userId, int shardCount) {
        CRC32 crc = new CRC32();
        crc.update(userId.getBytes(StandardCharsets.UTF_8));
        return (int) (crc.getValue() % shardCount);
    }

    int shardOf(String userId) {
        return shardOf(userId, shards.size());
    }

    int shardCount() {
        return shards.size();
    }

    private JdbcOrderStore shard0() {
        return shards.getFirst();
    }

    // ---- items

    @Override
    public boolean putItem(ItemSpec spec) {
        return defineFrom(0, spec);
    }

    /** Defines the item on shards {@code index..N-1}, nested: deeper shards commit first. */
    private boolean defineFrom(int index, ItemSpec spec) {
        JdbcOrderStore shard = shards.get(index);
        return shard.inTransaction("save item " + spec.sku() + " in shard " + index, c -> {
            boolean created = shard.defineItem(c, spec);
            if (index + 1 < shards.size()) {
                defineFrom(index + 1, spec);
            }
            return created;
        });
    }

    @Override
    public void addStock(String sku, long delta) {
        shard0().inTransaction("change the stock of " + sku, c -> {
            long stock = shard0().addStock(c, sku, delta);
            for (int i = 1; i < shards.size(); i++) {
                JdbcOrderStore copy = shards.get(i);
                int index = i;
                boolean present = copy.inTransaction("copy the stock of " + sku + " to shard " + i,
                        cc -> copy.setStock(cc, sku, stock));
                if (!present) {
                    LOG.warn("store: shard {} has no copy of item {} (a definition that did not reach every shard);"
                            + " define the item again to repair it", index, sku);
                }
            }
            return null;
        });
    }

    @Override
    public void forEachItem(Consumer<ItemSpec> sink) {
        shard0().forEachItem(sink);
    }

    // ---- orders

    private Map<Integer, List<Order>> byShard(List<Order> orders) {
        Map<Integer, List<Order>> parts = new LinkedHashMap<>();
        for (Order o : orders) {
            parts.computeIfAbsent(shardOf(o.userId()), k -> new ArrayList<>()).add(o);
        }
        return parts;
    }

    @Override
    public void insertOrders(List<Order> orders) {
        if (orders.isEmpty()) {
            return;
        }
        Map<Integer, List<Order>> parts = byShard(orders);
        if (parts.size() == 1) {
            Map.Entry<Integer, List<Order>> only = parts.entrySet().iterator().next();
            shards.get(only.getKey()).insertOrders(only.getValue());
            return;
        }
        List<Integer> indexes = List.copyOf(parts.keySet());
        List<ShardResult<Void>> outcomes = inParallel(indexes, i -> {
            shards.get(i).insertOrders(parts.get(i));
            return null;
        });
        List<Integer> written = new ArrayList<>();
        Failures failures = new Failures();
        boolean inDoubt = false;
        for (int n = 0; n < indexes.size(); n++) {
            ShardResult<Void> outcome = outcomes.get(n);
            if (outcome.failure() == null) {
                written.add(indexes.get(n));
            } else {
                inDoubt |= outcome.failure() instanceof DependencyUnavailableException d && d.outcomeUnknown();
                failures.add(outcome.failure());
            }
        }
        if (!failures.any()) {
            return;
        }
        if (written.isEmpty() && !inDoubt) {
            throw failures.first();
        }
        throw new DependencyUnavailableException("store", "the order store wrote " + orders.size()
                + " orders only in part (shards " + written + " committed); ask which are present",
                failures.first(), true);
    }

    @Override
    public void insertOrders(Lock.Fence fence, List<Order> orders) {
        Map<Integer, List<Order>> parts = byShard(orders);
        List<Integer> written = new ArrayList<>();
        shard0().inTransaction("write " + orders.size() + " orders under lock " + fence.lockName(), c -> {
            shard0().raiseFence(c, fence);
            shard0().insertOrders(c, parts.getOrDefault(0, List.of()));
            for (int i = 1; i < shards.size(); i++) {
                List<Order> part = parts.get(i);
                if (part == null) {
                    continue;
                }
                try {
                    shards.get(i).insertOrders(part);
                    written.add(i);
                } catch (DependencyUnavailableException e) {
                    if (written.isEmpty() && !e.outcomeUnknown()) {
                        throw e;
                    }
                    throw new DependencyUnavailableException("store", "the order store wrote " + orders.size()
                            + " fenced orders only in part (shards " + written + " committed); ask which are present",
                            e, true);
                }
            }
            return null;
        });
    }

    /**
     * The fence on shard 0, held (its transaction open) while each shard decides the fates of its
     * users' orders, shard 0 last, as for fenced inserts: a newer reconciler waits until this one's
     * decisions are in everywhere.
     */
    @Override
    public Set<String> releaseUnstored(Lock.Fence fence, List<Order> orders) {
        Map<Integer, List<Order>> parts = byShard(orders);
        return shard0().inTransaction("settle " + orders.size() + " unsettled orders under lock " + fence.lockName(), c -> {
            shard0().raiseFence(c, fence);
            Set<String> released = new HashSet<>();
            for (int i = 1; i < shards.size(); i++) {
                List<Order> part = parts.get(i);
                if (part != null) {
                    JdbcOrderStore shard = shards.get(i);
                    released.addAll(shard.inTransaction("settle " + part.size() + " unsettled orders",
                            cc -> shard.releaseUnstored(cc, part)));
                }
            }
            released.addAll(shard0().releaseUnstored(c, parts.getOrDefault(0, List.of())));
            return released;
        });
    }

    @Override
    public Set<String> presentIds(List<String> orderIds) {
        Set<String> present = new HashSet<>();
        for (Set<String> part : everyShard(s -> s.presentIds(orderIds))) {
            present.addAll(part);
        }
        return present;
    }

    @Override
    public Optional<Order> order(String orderId) {
        return firstFound(s -> s.order(orderId));
    }

    @Override
    public boolean recordFailedOrder(Order failed) {
        return shards.get(shardOf(failed.userId())).recordFailedOrder(failed);
    }

    @Override
    public Set<String> knownItems(java.util.Collection<String> skus) {
        return shard0().knownItems(skus);
    }

    @Override
    public Optional<Order> orderByKey(String sku, String idempotencyKey) {
        return firstFound(s -> s.orderByKey(sku, idempotencyKey));
    }

    @Override
    public List<Order> ordersOfUser(String userId, int limit) {
        return shards.get(shardOf(userId)).ordersOfUser(userId, limit);
    }

    @Override
    public Optional<Cancellation> cancel(String orderId, Instant at) {
        // a write, but to the one shard that has the order: the others match no row
        return firstFound(s -> s.cancel(orderId, at));
    }

    @Override
    public void forEachOrder(Consumer<Order> sink) {
        for (JdbcOrderStore shard : shards) {
            shard.forEachOrder(sink);
        }
    }

    @Override
    public void forEachOrderOf(String sku, Consumer<Order> sink) {
        for (JdbcOrderStore shard : shards) {
            shard.forEachOrderOf(sku, sink);
        }
    }

    @Override
    public Map<String, Long> unitsSoldBySku() {
        Map<String, Long> sold = new HashMap<>();
        for (Map<String, Long> part : everyShard(JdbcOrderStore::unitsSoldBySku)) {
            part.forEach((sku, units) -> sold.merge(sku, units, Long::sum));
        }
        return sold;
    }

    // ---- payments, expiry and the outbox

    /**
     * The payment in the shard of its order, in one transaction there. Its id is first looked for
     * in every shard, so that the id of a payment recorded with an order in one shard is refused
     * for an order in another. Honest limit: two callbacks that reuse one id for orders in two
     * shards at the same moment are both taken (no transaction spans the shards); a provider
     * that reuses ids across orders at all is already broken.
     */
    @Override
    public PaymentOutcome recordPayment(PaymentCallback callback, Instant at) {
        Optional<PaymentOutcome> known = firstFound(s -> s.knownPayment(callback));
        if (known.isPresent()) {
            return known.get();
        }
        List<Boolean> holds = everyShard(s -> s.holdsOrder(callback.orderId()));
        for (int i = 0; i < holds.size(); i++) {
            if (holds.get(i)) {
                return shards.get(i).recordPayment(callback, at);
            }
        }
        return new PaymentOutcome.UnknownOrder();
    }

    /** Every shard's due orders, each shard in its own transaction, at most {@code max} from each. */
    @Override
    public List<Order> expireDue(Instant now, int max) {
        List<Order> expired = new ArrayList<>();
        everyShard(s -> s.expireDue(now, max)).forEach(expired::addAll);
        return expired;
    }

    @Override
    public List<Order> unitsToReturn(int max) {
        List<Order> owed = new ArrayList<>();
        everyShard(s -> s.unitsToReturn(max)).forEach(owed::addAll);
        return owed.size() > max ? List.copyOf(owed.subList(0, max)) : owed;
    }

    @Override
    public void unitsReturned(List<String> orderIds) {
        everyShard(s -> {
            s.unitsReturned(orderIds); // a shard deletes the entries it has
            return null;
        });
    }

    /**
     * Positions are global: the fence and the watermark live on shard 0, whose transaction is held
     * while every other shard stamps its events (each in a transaction of its own, ascending) from
     * the next free position, shard 0 last. A pass that dies before shard 0 commits leaves the other
     * shards' positions above the watermark, where no reader looks; the next pass starts above them
     * (from the highest position in any shard), so no position is given twice, and the watermark
     * passes them once it commits. Every position at or below the watermark is committed.
     */
    @Override
    public int stampEvents(Lock.Fence fence, int max) {
        // a read first, as a single store does: an idle relay writes nothing
        if (!everyShard(JdbcOrderStore::anyUnstamped).contains(true)) {
            return 0;
        }
        return shard0().inTransaction("stamp events under lock " + fence.lockName(), c -> {
            shard0().raiseFence(c, fence);
            long next = shard0().mark(c);
            for (long highest : everyShard(JdbcOrderStore::maxPosition)) {
                next = Math.max(next, highest);
            }
            next++;
            int stamped = 0;
            for (int i = 1; i < shards.size(); i++) {
                JdbcOrderStore shard = shards.get(i);
                long from = next + stamped;
                stamped += shard.inTransaction("stamp events", cc -> shard.stamp(cc, from, max));
            }
            stamped += shard0().stamp(c, next + stamped, max);
            if (stamped > 0) {
                shard0().setMark(c, next + stamped - 1);
            }
            return stamped;
        });
    }

    @Override
    public List<OrderEvent> events(long after, int limit) {
        long upTo = shard0().mark();
        List<OrderEvent> merged = new ArrayList<>();
        everyShard(s -> s.events(after, upTo, limit)).forEach(merged::addAll);
        merged.sort(java.util.Comparator.comparingLong(OrderEvent::position));
        return merged.size() > limit ? List.copyOf(merged.subList(0, limit)) : merged;
    }

    @Override
    public Map<PaymentState, Long> paymentCounts() {
        Map<PaymentState, Long> counts = new java.util.EnumMap<>(PaymentState.class);
        everyShard(JdbcOrderStore::paymentCounts).forEach(part -> part.forEach((k, v) -> counts.merge(k, v, Long::sum)));
        return counts;
    }

    // ---- fences and audits: shard 0

    @Override
    public void recordAudit(Lock.Fence fence, List<ItemAudit> audits) {
        shard0().recordAudit(fence, audits);
    }

    @Override
    public List<RecordedAudit> recentAudits(int limit) {
        return shard0().recentAudits(limit);
    }

    // ---- lifecycle

    @Override
    public boolean ping(Duration timeout) {
        for (ShardResult<Boolean> answer : inParallel(indexes(), i -> shards.get(i).ping(timeout))) {
            if (answer.failure() != null || !answer.value()) {
                return false;
            }
        }
        return true;
    }

    @Override
    public void close() {
        fanOut.close();
        Failures.forEach(shards, JdbcOrderStore::close);
    }

    /** Users with orders in shard {@code index} who hash to another shard (at most {@code max} looked at). */
    List<String> misplacedUsers(int index, int max) {
        return shards.get(index).someUserIds(max).stream().filter(u -> shardOf(u) != index).toList();
    }

    // ---- fan-out

    private record ShardResult<T>(T value, RuntimeException failure) {
    }

    private List<Integer> indexes() {
        List<Integer> all = new ArrayList<>(shards.size());
        for (int i = 0; i < shards.size(); i++) {
            all.add(i);
        }
        return all;
    }

    /** Every shard's answer; throws the first failure (the others suppressed) if any shard failed. */
    private <T> List<T> everyShard(Function<JdbcOrderStore, T> call) {
        List<T> answers = new ArrayList<>(shards.size());
        Failures failures = new Failures();
        for (ShardResult<T> outcome : inParallel(indexes(), i -> call.apply(shards.get(i)))) {
            if (outcome.failure() == null) {
                answers.add(outcome.value());
            } else {
                failures.add(outcome.failure());
            }
        }
        failures.throwIfAny();
        return answers;
    }

    /** The first shard's non-empty answer; empty only when every shard answered empty. */
    private <T> Optional<T> firstFound(Function<JdbcOrderStore, Optional<T>> call) {
        Failures failures = new Failures();
        for (ShardResult<Optional<T>> outcome : inParallel(indexes(), i -> call.apply(shards.get(i)))) {
            if (outcome.failure() != null) {
                failures.add(outcome.failure());
            } else if (outcome.value().isPresent()) {
                return outcome.value();
            }
        }
        failures.throwIfAny();
        return Optional.empty();
    }

    /**
     * Runs {@code call} for each index, the first on this thread and the rest on virtual threads
     * that carry this thread's request context; waits for all of them.
     */
    private <T> List<ShardResult<T>> inParallel(List<Integer> indexes, Function<Integer, T> call) {
        List<Future<T>> others = new ArrayList<>(indexes.size() - 1);
        for (int n = 1; n < indexes.size(); n++) {
            Integer index = indexes.get(n);
            Callable<T> task = RequestContext.carry(() -> call.apply(index));
            try {
                others.add(fanOut.submit(task));
            } catch (RejectedExecutionException closed) {
                // after close(): the shards answer for themselves (a ping says false), one by one
                FutureTask<T> inline = new FutureTask<>(task);
                inline.run();
                others.add(inline);
            }
        }
        List<ShardResult<T>> outcomes = new ArrayList<>(indexes.size());
        outcomes.add(attempt(() -> call.apply(indexes.getFirst())));
        boolean interrupted = false;
        for (Future<T> f : others) {
            while (true) {
                try {
                    outcomes.add(new ShardResult<>(f.get(), null));
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                } catch (ExecutionException e) {
                    outcomes.add(new ShardResult<>(null, e.getCause() instanceof RuntimeException r ? r
                            : new IllegalStateException(e.getCause())));
                    break;
                }
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        return outcomes;
    }

    private static <T> ShardResult<T> attempt(java.util.function.Supplier<T> call) {
        try {
            return new ShardResult<>(call.get(), null);
        } catch (RuntimeException e) {
            return new ShardResult<>(null, e);
        }
    }
}
