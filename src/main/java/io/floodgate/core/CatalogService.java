package io.floodgate.core;

import io.floodgate.core.domain.ItemSpec;
import io.floodgate.core.domain.ItemView;
import io.floodgate.core.port.OrderStore;
import io.floodgate.core.port.StockLedger;

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
 */
public final class CatalogService {

    private final StockLedger ledger;
    private final OrderStore store;
    private final ConcurrentHashMap<String, ReentrantLock> adminLocks = new ConcurrentHashMap<>();

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
            return new Defined(definition.commit(spec), created);
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
                return ledger.adjustStock(sku, delta);
            }
            ItemView taken = ledger.adjustStock(sku, delta);
            try {
                store.addStock(sku, delta);
            } catch (RuntimeException e) {
                ledger.adjustStock(sku, -delta);
                throw e;
            }
            return taken;
        } finally {
            lock.unlock();
        }
    }

    public Optional<ItemView> item(String sku) {
        return ledger.view(sku);
    }

    public List<ItemView> items() {
        return ledger.views();
    }

    private ReentrantLock adminLock(String sku) {
        return adminLocks.computeIfAbsent(sku, k -> new ReentrantLock());
    }
}
