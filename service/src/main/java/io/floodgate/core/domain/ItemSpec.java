package io.floodgate.core.domain;

import java.time.Duration;
import java.time.Instant;
import java.util.Objects;

/**
 * What an administrator puts on sale: the units, the per-user cap, the sale window and the
 * payment terms. {@code stock} is the number of units put on sale (initial stock plus every delta
 * since). The window is half open: the item is on sale while {@code startsAt <= now < endsAt}; a
 * null bound is no bound.
 *
 * @param paymentWindow how long an order may wait for its payment before it expires (1 s to a day,
 *                      whole seconds); null: orders are final at once
 * @param price         the price of one unit, checked against payments; null: any amount is taken
 */
public record ItemSpec(String sku, String name, long stock, int perUserLimit, Instant startsAt, Instant endsAt,
                       Duration paymentWindow, Price price) {

    /** The most units one item may have on sale (API.md). */
    public static final long MAX_STOCK = 1_000_000_000L;
    /** The longest payment window (API.md: 86,400 seconds). */
    public static final Duration MAX_PAYMENT_WINDOW = Duration.ofDays(1);

    public ItemSpec(String sku, String name, long stock, int perUserLimit, Instant startsAt, Instant endsAt) {
        this(sku, name, stock, perUserLimit, startsAt, endsAt, null, null);
    }

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
        if (paymentWindow != null && (paymentWindow.compareTo(Duration.ofSeconds(1)) < 0
                || paymentWindow.compareTo(MAX_PAYMENT_WINDOW) > 0 || paymentWindow.getNano() != 0)) {
            throw new IllegalArgumentException("paymentWindow must be whole seconds from 1 s to " + MAX_PAYMENT_WINDOW
                    + ", was " + paymentWindow);
        }
    }

    public boolean onSaleAt(Instant now) {
        return (startsAt == null || !now.isBefore(startsAt)) && (endsAt == null || now.isBefore(endsAt));
    }

    public ItemSpec withStock(long newStock) {
        return new ItemSpec(sku, name, newStock, perUserLimit, startsAt, endsAt, paymentWindow, price);
    }
}
