package io.floodgate.core.domain;

/**
 * An item as clients see it: its spec, the units neither reserved nor sold, and its state.
 *
 * @param stale true when the ledger could not be read and this is the last view known here, of
 *              unknown age (its {@code available} and {@code state} may be far behind)
 */
public record ItemView(ItemSpec spec, long available, SaleState state, boolean stale) {

    /** A fresh view. */
    public ItemView(ItemSpec spec, long available, SaleState state) {
        this(spec, available, state, false);
    }

    /** This view, marked stale. */
    public ItemView asStale() {
        return stale ? this : new ItemView(spec, available, state, true);
    }
}
