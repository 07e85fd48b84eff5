package io.floodgate.core;

import io.floodgate.core.domain.ItemSpec;
import io.floodgate.core.domain.ItemView;
import io.floodgate.core.port.OrderStore;
import io.floodgate.core.port.StockLedger;

import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The administrator's side: defining items and changing their stock, in the ledger and the store
 * together. Admin changes to one item are serialized here (they are rare and never on the order
 * path); order placement is never blocked by this class.
 *
 * <p>Ordering keeps the ledger and the store in step if either fails: a definition fences the
 * ledger first and commits it only after the store has the item; added units go to the store
 * before the ledger sells them; removed units leave the ledger (where reservations compete for
 * them) before the store, and come back if the store refuses.
 *
 * <p>Item reads outlive the ledger: every view read or written here is kept as the last known
 * view of its item, and while the ledger cannot be read ({@link DependencyUnavailableException}:
 * Redis down, or its circuit open) reads answer that view, {@linkplain ItemView#stale() marked
 * stale}, or the exception when there is none. Memory: one view per item that exists.
 */
public final class CatalogService {

    private final StockLedger ledger;
    private final OrderStore store;
    private final ConcurrentHashMap<String, ReentrantLock> adminLocks = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, ItemView> lastKnown = new ConcurrentHashMap<>();

    public CatalogService(StockLedger ledger, OrderStore store) {
        this.ledger = Objects.requireNonNull(ledger, "ledger");
        this.store = Objects.requireNonNull(store, "store");
    }

    public record Defined(ItemView item, boolean created) {
    }

    public Defined putItem(ItemSpec spec) {
        ReentrantLock lock = adminLock(spec.sku());
        lock.lock();
        try {
            StockLedger.Definition definition = ledger.beginDefinition(spec.sku());
            boolean created;
            try {
                created = store.putItem(spec);
            } catch (RuntimeException e) {
                definition.abort();
                throw e;
            }
            return new Defined(known(definition.commit(spec)), created);
        } finally {
            lock.unlock();
        }
    }

    public ItemView adjustStock(String sku, long delta) {
        ReentrantLock lock = adminLock(sku);
        lock.lock();
        try {
            if (delta >= 0) {
                ItemView current = ledger.view(sku).orElseThrow(() -> OrderService.unknownItem(sku));
                if (current.spec().stock() + delta > ItemSpec.MAX_STOCK) {
                    throw new RejectedException(Rejection.INVALID_REQUEST, "delta " + delta + " would bring the stock of "
                            + sku + " to " + (current.spec().stock() + delta) + ", above " + ItemSpec.MAX_STOCK);
                }
                store.addStock(sku, delta);
                return known(ledger.adjustStock(sku, delta));
            }
            ItemView taken = ledger.adjustStock(sku, delta);
            try {
                store.addStock(sku, delta);
            } catch (RuntimeException e) {
                ledger.adjustStock(sku, -delta);
                throw e;
            }
            return known(taken);
        } finally {
            lock.unlock();
        }
    }

    /** The item's view; its last known view, stale, while the ledger cannot be read. */
    public Optional<ItemView> item(String sku) {
        Optional<ItemView> view;
        try {
            view = ledger.view(sku);
        } catch (DependencyUnavailableException e) {
            ItemView last = lastKnown.get(sku);
            if (last == null) {
                throw e;
            }
            return Optional.of(last.asStale());
        }
        view.ifPresent(this::known);
        return view;
    }

    /**
     * Every item's view; while the ledger cannot be read, every view known here, stale (none known:
     * the exception).
     */
    public List<ItemView> items() {
        List<ItemView> views;
        try {
            views = ledger.views();
        } catch (DependencyUnavailableException e) {
            if (lastKnown.isEmpty()) {
                throw e;
            }
            return lastKnown.values().stream().map(ItemView::asStale)
                    .sorted(Comparator.comparing(v -> v.spec().sku())).toList();
        }
        views.forEach(this::known);
        return views;
    }

    private ItemView known(ItemView view) {
        lastKnown.put(view.spec().sku(), view);
        return view;
    }

    private ReentrantLock adminLock(String sku) {
        return adminLocks.computeIfAbsent(sku, k -> new ReentrantLock());
    }
}
