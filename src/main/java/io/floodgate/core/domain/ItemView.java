package io.floodgate.core.domain;

/** An item as clients see it: its spec, the units neither reserved nor sold, and its state. */
public record ItemView(ItemSpec spec, long available, SaleState state) {
}
