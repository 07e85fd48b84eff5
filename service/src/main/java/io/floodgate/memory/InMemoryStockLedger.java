package io.floodgate.memory;

import io.floodgate.core.Deadline;
import io.floodgate.core.StaleFencingTokenException;
import io.floodgate.core.RejectedException;
import io.floodgate.core.Rejection;
import io.floodgate.core.domain.ItemSpec;
import io.floodgate.core.domain.ItemView;
import io.floodgate.core.domain.Order;
import io.floodgate.core.domain.OrderStatus;
import io.floodgate.core.domain.SaleState;
import io.floodgate.core.port.Lock;
import io.floodgate.core.port.OrderStore;
import io.floodgate.core.port.StockLedger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BiFunction;

/**
 * The embedded stock ledger: all sale state in this process, rebuilt from the order store at
 * start. One instance owns the store while it runs.
 *
 * <h2>Design</h2>
 * Each item has its own {@link ItemBook}; nothing is shared between items, so there is no global
 * lock. Within an item the one contended word is {@code available}, changed only by CAS. The
 * per-user count and the stock must change together (a user must not pass the limit, stock must
 * not be taken for a user who is over it); {@link ConcurrentHashMap#compute} on the user's entry
 * gives a lock striped by user, and the stock CAS runs inside it. Idempotency keys claim their
 * slot with {@code putIfAbsent}, so one key reserves at most once, and later arrivals wait on the
 * first attempt's latch instead of racing it.
 *
 * <p>Invariant, per item and at every moment: {@code stock = available + reserved + sold}, where
 * reserved and sold are the quantities of the PENDING and CONFIRMED keys. While an item's
 * definition changes, {@code available} holds {@link #FENCED} and reservations wait.
 *
 * <p>Sold-out traffic takes no lock and writes nothing: it reads {@code available} and the
 * user's count and answers.
 */
public final class InMemoryStockLedger implements StockLedger {

    private static final Logger LOG = LoggerFactory.getLogger(InMemoryStockLedger.class);

    /** {@code available} while a definition is in progress; reservations wait for it to pass. */
    static final long FENCED = Long.MIN_VALUE;
    private static final long FENCE_POLL_NANOS = TimeUnit.MICROSECONDS.toNanos(100);

    private final ConcurrentHashMap<String, ItemBook> books = new ConcurrentHashMap<>();
    private final Clock clock;

    public InMemoryStockLedger(Clock clock) {
        this.clock = clock;
    }

    /** Rebuilds every item from the store: its stock, the units its orders hold, their keys. */
    public static InMemoryStockLedger restoredFrom(OrderStore store, Clock clock) {
        InMemoryStockLedger ledger = new InMemoryStockLedger(clock);
        store.forEachItem(spec -> ledger.books.put(spec.sku(), ItemBook.of(spec)));
        long[] counts = new long[2];
        store.forEachOrder(order -> {
            ItemBook book = ledger.books.get(order.sku());
            if (book == null) {
                LOG.error("order {} names item {} which the store does not have; skipped", order.orderId(), order.sku());
                return;
            }
            boolean live = order.status().holdsUnits();
            KeyEntry entry = new KeyEntry(order.orderId(), order.userId(), order.quantity(),
                    live ? KeyEntry.CONFIRMED : KeyEntry.CANCELLED);
            book.keys.put(order.idempotencyKey(), entry);
            book.everOrdered = true;
            counts[0]++;
            if (live) {
                book.available.addAndGet(-order.quantity());
                book.held.merge(order.userId(), order.quantity(), Integer::sum);
                counts[1]++;
            }
        });
        ledger.books.values().forEach(book -> {
            if (book.available.get() < 0) {
                LOG.error("item {}: orders in the store hold {} units more than its stock {}",
                        book.sku, -book.available.get(), book.stock);
            }
        });
        LOG.info("ledger rebuilt from the store: {} items, {} orders ({} live)",
                ledger.books.size(), counts[0], counts[1]);
        return ledger;
    }

    @Override
    public ReserveOutcome reserve(Order order, Deadline deadline) {
        ItemBook book = books.get(order.sku());
        if (book == null) {
            return ReserveOutcome.UNKNOWN_ITEM;
        }
        String key = order.idempotencyKey();
        ReserveOutcome early = soldOutWithoutClaim(book, order);
        if (early != null) {
            return early;
        }
        while (true) {
            KeyEntry mine = new KeyEntry(order.orderId(), order.userId(), order.quantity(), KeyEntry.PENDING,
                    order.createdAt().toEpochMilli());
            KeyEntry prior = book.keys.putIfAbsent(key, mine);
            if (prior != null) {
                if (prior.state() == KeyEntry.PENDING || prior.state() == KeyEntry.RELEASED) {
                    if (!prior.awaitSettled(deadline)) {
                        return ReserveOutcome.TIMED_OUT;
                    }
                    continue; // confirmed: replay below on the next pass; released: the key is free again
                }
                return prior.matches(order.userId(), order.quantity())
                        ? new ReserveOutcome.Replayed(prior.orderId)
                        : new ReserveOutcome.KeyReused(prior.orderId);
            }
            ReserveOutcome outcome = take(book, order, deadline);
            if (!(outcome instanceof ReserveOutcome.Reserved)) {
                mine.transition(KeyEntry.PENDING, KeyEntry.RELEASED);
                book.keys.remove(key, mine);
                mine.settle();
            }
            return outcome;
        }
    }

    /**
     * The sold-out fast path, before a key is claimed: when the item cannot serve this quantity
     * and the key is unknown, the verdict needs no key entry (nothing to allocate, insert and
     * remove). Returns null when the full path must decide: stock may suffice, the key is known
     * (a replay or 422 comes first), or the item is fenced or off sale (checked there).
     * The verdict is the one the full path would give at the moment {@code available} is read.
     */
    private ReserveOutcome soldOutWithoutClaim(ItemBook book, Order order) {
        long available = book.available.get();
        if (available == FENCED || available >= order.quantity() || book.removed
                || book.keys.containsKey(order.idempotencyKey())) {
            return null;
        }
        long now = clock.millis();
        if (now < book.startsAtMillis || now >= book.endsAtMillis) {
            return ReserveOutcome.NOT_ON_SALE;
        }
        ItemSpec spec = book.spec;
        Integer held = book.held.get(order.userId());
        int h = held == null ? 0 : held;
        return h + order.quantity() > spec.perUserLimit()
                ? new ReserveOutcome.LimitReached(h, spec.perUserLimit())
                : new ReserveOutcome.SoldOut(available);
    }

    private ReserveOutcome take(ItemBook book, Order order, Deadline deadline) {
        int quantity = order.quantity();
        while (true) {
            long available = book.available.get();
            if (available == FENCED) {
                if (deadline.expired()) {
                    return ReserveOutcome.TIMED_OUT;
                }
                LockSupport.parkNanos(FENCE_POLL_NANOS);
                continue;
            }
            if (book.removed) {
                return ReserveOutcome.UNKNOWN_ITEM;
            }
            ItemSpec spec = book.spec;
            long now = clock.millis();
            if (now < book.startsAtMillis || now >= book.endsAtMillis) {
                return ReserveOutcome.NOT_ON_SALE;
            }
            if (available < quantity) {
                // Sold-out fast path: no lock, no write. The limit still answers first.
                Integer held = book.held.get(order.userId());
                int h = held == null ? 0 : held;
                return h + quantity > spec.perUserLimit()
                        ? new ReserveOutcome.LimitReached(h, spec.perUserLimit())
                        : new ReserveOutcome.SoldOut(available);
            }
            Taker taker = new Taker(book, spec, quantity);
            book.held.compute(order.userId(), taker);
            if (taker.outcome != null) {
                return taker.outcome;
            }
            // The item was fenced or redefined under us; nothing was taken. Go round again.
        }
    }

    /**
     * Runs inside the user's map bin lock: checks the limit and takes stock in one step for that
     * user. Leaves {@code outcome} null when the item changed under it and nothing was taken.
     */
    private static final class Taker implements BiFunction<String, Integer, Integer> {
        private final ItemBook book;
        private final ItemSpec spec;
        private final int quantity;
        ReserveOutcome outcome;

        Taker(ItemBook book, ItemSpec spec, int quantity) {
            this.book = book;
            this.spec = spec;
            this.quantity = quantity;
        }

        @Override
        public Integer apply(String user, Integer held) {
            int h = held == null ? 0 : held;
            if (h + quantity > spec.perUserLimit()) {
                outcome = new ReserveOutcome.LimitReached(h, spec.perUserLimit());
                return held;
            }
            AtomicLong available = book.available;
            long a;
            do {
                a = available.get();
                if (a == FENCED) {
                    return held;
                }
                if (a < quantity) {
                    outcome = new ReserveOutcome.SoldOut(a);
                    return held;
                }
            } while (!available.compareAndSet(a, a - quantity));
            if (book.spec != spec) {
                // Redefined between our read of the spec and the CAS (only possible before the
                // item's first order): give the units back and judge again under the new spec.
                available.addAndGet(quantity);
                return held;
            }
            outcome = ReserveOutcome.reserved(spec.paymentWindow());
            return h + quantity;
        }
    }

    @Override
    public void confirm(String sku, String idempotencyKey) {
        ItemBook book = books.get(sku);
        KeyEntry entry = book == null ? null : book.keys.get(idempotencyKey);
        if (entry == null) {
            LOG.error("confirm of unknown reservation {}/{}", sku, idempotencyKey);
            return;
        }
        book.everOrdered = true;
        if (entry.transition(KeyEntry.PENDING, KeyEntry.CONFIRMED)) {
            entry.settle();
        }
    }

    @Override
    public void release(String sku, String idempotencyKey) {
        ItemBook book = books.get(sku);
        KeyEntry entry = book == null ? null : book.keys.get(idempotencyKey);
        if (entry == null || !entry.transition(KeyEntry.PENDING, KeyEntry.RELEASED)) {
            return;
        }
        giveBack(book, entry.userId, entry.quantity);
        book.keys.remove(idempotencyKey, entry);
        entry.settle();
    }

    @Override
    public void returnUnits(Order cancelled) {
        ItemBook book = books.get(cancelled.sku());
        KeyEntry entry = book == null ? null : book.keys.get(cancelled.idempotencyKey());
        if (entry == null) {
            LOG.error("cancel of order {} that the ledger does not know ({}/{}); units not returned",
                    cancelled.orderId(), cancelled.sku(), cancelled.idempotencyKey());
            return;
        }
        if (entry.transition(KeyEntry.CONFIRMED, KeyEntry.CANCELLED)
                || entry.transition(KeyEntry.PENDING, KeyEntry.CANCELLED)) {
            book.everOrdered = true;
            giveBack(book, entry.userId, entry.quantity);
            entry.settle();
        }
    }

    private static void giveBack(ItemBook book, String userId, int quantity) {
        book.held.compute(userId, (u, held) -> {
            int left = (held == null ? 0 : held) - quantity;
            return left <= 0 ? null : left;
        });
        book.available.addAndGet(quantity);
    }

    @Override
    public Definition beginDefinition(String sku) {
        ItemBook fresh = ItemBook.fenced(sku);
        ItemBook book = books.putIfAbsent(sku, fresh);
        if (book == null) {
            return new BookDefinition(fresh, true, 0);
        }
        synchronized (book) {
            if (book.everOrdered) {
                throw locked(sku, "has had orders");
            }
            long stock = book.stock;
            if (!book.available.compareAndSet(stock, FENCED)) {
                throw locked(sku, "has an order in flight");
            }
            return new BookDefinition(book, false, stock);
        }
    }

    private static RejectedException locked(String sku, String why) {
        return new RejectedException(Rejection.ITEM_LOCKED, "item " + sku + " " + why + " and can no longer be replaced");
    }

    private final class BookDefinition implements Definition {
        private final ItemBook book;
        private final boolean creates;
        private final long previousStock;

        BookDefinition(ItemBook book, boolean creates, long previousStock) {
            this.book = book;
            this.creates = creates;
            this.previousStock = previousStock;
        }

        @Override
        public boolean creates() {
            return creates;
        }

        @Override
        public ItemView commit(ItemSpec spec) {
            synchronized (book) {
                book.define(spec);
                book.available.set(spec.stock()); // lifts the fence
            }
            return view(book);
        }

        @Override
        public void abort() {
            synchronized (book) {
                if (creates) {
                    book.removed = true;
                    books.remove(book.sku, book);
                    book.available.set(0);
                } else {
                    book.available.set(previousStock);
                }
            }
        }
    }

    @Override
    public ItemView adjustStock(String sku, long delta) {
        ItemBook book = books.get(sku);
        if (book == null || book.spec == null) {
            throw new RejectedException(Rejection.UNKNOWN_ITEM, "there is no item " + sku);
        }
        synchronized (book) {
            if (delta >= 0) {
                book.stock += delta;
                book.available.addAndGet(delta);
            } else {
                long a;
                do {
                    a = book.available.get();
                    if (a + delta < 0) {
                        throw new RejectedException(Rejection.SOLD_OUT,
                                "item " + sku + " has " + a + " units available, fewer than the " + -delta + " to remove");
                    }
                } while (!book.available.compareAndSet(a, a + delta));
                book.stock += delta;
            }
            return view(book);
        }
    }

    @Override
    public Optional<ItemView> view(String sku) {
        ItemBook book = books.get(sku);
        return book == null || book.spec == null ? Optional.empty() : Optional.of(view(book));
    }

    @Override
    public List<ItemView> views() {
        List<ItemView> views = new ArrayList<>(books.size());
        for (ItemBook book : books.values()) {
            if (book.spec != null) {
                views.add(view(book));
            }
        }
        views.sort(Comparator.comparing(v -> v.spec().sku()));
        return views;
    }

    private ItemView view(ItemBook book) {
        long stock = book.stock;
        long available = book.available.get();
        if (available == FENCED) {
            available = stock; // a fence only goes up while nothing is reserved or sold
        }
        ItemSpec spec = book.spec.withStock(stock);
        return new ItemView(spec, available, SaleState.of(spec, available, Instant.ofEpochMilli(clock.millis())));
    }

    /**
     * Scans every item's keys: O(keys), for the reconciler's period, never for a request. The
     * reservation time is the order's creation time.
     */
    @Override
    public List<Reservation> pendingReservations(java.time.Instant reservedBefore, int max) {
        List<Reservation> found = new java.util.ArrayList<>();
        for (ItemBook book : books.values()) {
            for (var e : book.keys.entrySet()) {
                KeyEntry entry = e.getValue();
                if (entry.state() != KeyEntry.PENDING) {
                    continue;
                }
                java.time.Instant at = java.time.Instant.ofEpochMilli(entry.createdAtMillis);
                if (at.isBefore(reservedBefore)) {
                    found.add(new Reservation(book.sku, e.getKey(), entry.orderId, entry.userId, entry.quantity, at));
                    if (found.size() >= max) {
                        return found;
                    }
                }
            }
        }
        return found;
    }

    /**
     * See {@link StockLedger#repair}. Each key changes by CAS, as everywhere else here, so a repair
     * runs beside reservations of the same item; units a repair adds may take {@code available}
     * below zero, which says that the store holds more orders than the stock (and is logged).
     */
    @Override
    public Repaired repair(String sku, List<Order> durable, Lock.Fence fence) {
        ItemBook book = books.get(sku);
        if (book == null) {
            return Repaired.NOTHING;
        }
        long seen = book.repairToken.accumulateAndGet(fence.token(), Math::max);
        if (seen > fence.token()) {
            throw new StaleFencingTokenException(fence.lockName(), fence.token(), seen);
        }
        long added = 0;
        long repaired = 0;
        long conflicts = 0;
        for (Order order : durable) {
            if (!order.sku().equals(sku) || book.available.get() == FENCED) {
                continue; // an item being defined has no orders: nothing to repair
            }
            boolean live = order.status().holdsUnits();
            KeyEntry fresh = new KeyEntry(order.orderId(), order.userId(), order.quantity(),
                    live ? KeyEntry.CONFIRMED : KeyEntry.CANCELLED);
            KeyEntry prior = book.keys.putIfAbsent(order.idempotencyKey(), fresh);
            if (prior == null) {
                added++;
                book.everOrdered = true;
                if (live) {
                    book.held.merge(order.userId(), order.quantity(), Integer::sum);
                    book.available.addAndGet(-order.quantity());
                }
            } else if (!prior.orderId.equals(order.orderId())) {
                conflicts++;
            } else if (live && prior.transition(KeyEntry.PENDING, KeyEntry.CONFIRMED)) {
                book.everOrdered = true;
                prior.settle();
                repaired++;
            } else if (!live && (prior.transition(KeyEntry.CONFIRMED, KeyEntry.CANCELLED)
                    || prior.transition(KeyEntry.PENDING, KeyEntry.CANCELLED))) {
                giveBack(book, prior.userId, prior.quantity);
                prior.settle();
                repaired++;
            } else if (live && prior.state() == KeyEntry.CANCELLED) {
                conflicts++;
            }
        }
        if (book.available.get() < 0 && book.available.get() != FENCED) {
            LOG.error("item {}: after repair the store's orders hold {} units more than its stock", sku,
                    -book.available.get());
        }
        return new Repaired(added, repaired, conflicts);
    }

    /** Units held by one user of one item, for tests and audits. */
    public int held(String sku, String userId) {
        ItemBook book = books.get(sku);
        Integer held = book == null ? null : book.held.get(userId);
        return held == null ? 0 : held;
    }

    /** The sale state of one item. */
    static final class ItemBook {
        final String sku;
        /** Null only while a new item's first definition is in progress. */
        volatile ItemSpec spec;
        volatile long startsAtMillis;
        volatile long endsAtMillis;
        /** Units put on sale; written under the book's monitor only. */
        volatile long stock;
        final AtomicLong available;
        final ConcurrentHashMap<String, KeyEntry> keys = new ConcurrentHashMap<>();
        /** Units held (reserved or sold, not cancelled) per user; absent means none. */
        final ConcurrentHashMap<String, Integer> held = new ConcurrentHashMap<>();
        volatile boolean everOrdered;
        volatile boolean removed;
        /** The newest fencing token that repaired this item. */
        final AtomicLong repairToken = new AtomicLong();

        private ItemBook(String sku, long available) {
            this.sku = sku;
            this.available = new AtomicLong(available);
        }

        static ItemBook of(ItemSpec spec) {
            ItemBook book = new ItemBook(spec.sku(), spec.stock());
            book.define(spec);
            return book;
        }

        static ItemBook fenced(String sku) {
            return new ItemBook(sku, FENCED);
        }

        void define(ItemSpec spec) {
            this.startsAtMillis = spec.startsAt() == null ? Long.MIN_VALUE : spec.startsAt().toEpochMilli();
            this.endsAtMillis = spec.endsAt() == null ? Long.MAX_VALUE : spec.endsAt().toEpochMilli();
            this.stock = spec.stock();
            this.spec = spec;
        }
    }

    /**
     * One idempotency key's reservation. State moves PENDING to CONFIRMED, RELEASED or CANCELLED,
     * and CONFIRMED to CANCELLED; each transition happens once, by CAS.
     */
    static final class KeyEntry {
        static final int PENDING = 0;
        static final int CONFIRMED = 1;
        static final int RELEASED = 2;
        static final int CANCELLED = 3;
        private static final CountDownLatch SETTLED = new CountDownLatch(0);

        final String orderId;
        final String userId;
        final int quantity;
        /** When the order was made (its reservation time), for the reconciler; 0 for restored keys. */
        final long createdAtMillis;
        private final AtomicInteger state;
        /** Waiters for a pending key; replaced by {@link #SETTLED} once it settles, to free it. */
        private volatile CountDownLatch settledLatch;

        KeyEntry(String orderId, String userId, int quantity, int state) {
            this(orderId, userId, quantity, state, 0L);
        }

        KeyEntry(String orderId, String userId, int quantity, int state, long createdAtMillis) {
            this.createdAtMillis = createdAtMillis;
            this.orderId = orderId;
            this.userId = userId;
            this.quantity = quantity;
            this.state = new AtomicInteger(state);
            this.settledLatch = state == PENDING ? new CountDownLatch(1) : SETTLED;
        }

        int state() {
            return state.get();
        }

        boolean transition(int from, int to) {
            return state.compareAndSet(from, to);
        }

        boolean matches(String user, int qty) {
            return userId.equals(user) && quantity == qty;
        }

        void settle() {
            CountDownLatch latch = settledLatch;
            settledLatch = SETTLED;
            latch.countDown();
        }

        /** Waits until the key is no longer pending; false if the deadline passed first. */
        boolean awaitSettled(Deadline deadline) {
            try {
                return settledLatch.await(deadline.remainingNanos(), TimeUnit.NANOSECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
    }
}
