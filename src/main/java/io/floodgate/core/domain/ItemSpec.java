package io.floodgate.core.domain;

import java.time.Instant;
import java.util.Objects;

/**
 * What an administrator puts on sale: the units, the per-user cap and the sale window.
 * {@code stock} is the number of units put on sale (initial stock plus every delta since).
 * The window is half open: the item is on sale while {@code startsAt <= now < endsAt};
 * a null bound is no bound.
 */
public record ItemSpec(String sku, String name, long stock, int perUserLimit, Instant startsAt, Instant endsAt) {

    /** The most units one item may have on sale (API.md). */
    public static final long MAX_STOCK = 1_000_000_000L;

    public ItemSpec {
        Objects.requireNonNull(sku, "sku");
        Objects.requireNonNull(name, "name");
        if (stock < 0) {
            throw new IllegalArgumentException("stock must be >= 0, was " + stock);
        }
        if (perUserLimit < 1) {
            throw new IllegalArgumentException("perUserLimit must be >= 1, was " + perUserLimit);
        }
        if (startsAt != null && endsAt != null && !endsAt.isAfter(startsAt)) {
            throw new IllegalArgumentException("endsAt (" + endsAt + ") must be after startsAt (" + startsAt + ")");
        }
    }

    public boolean onSaleAt(Instant now) {
        return (startsAt == null || !now.isBefore(startsAt)) && (endsAt == null || now.isBefore(endsAt));
    }

    public ItemSpec withStock(long newStock) {
        return new ItemSpec(sku, name, newStock, perUserLimit, startsAt, endsAt);
    }
}
