package io.floodgate.core.domain;

import java.time.Instant;

/**
 * One item's counts as the reconciler found them: what the ledger says is sold and available, and
 * how many units the orders in the store hold. {@link #drift()} is zero when they agree.
 */
public record ItemAudit(String sku, long ledgerSold, long ledgerAvailable, long storeSold, Instant at) {

    public ItemAudit {
        if (sku == null || sku.isEmpty()) {
            throw new IllegalArgumentException("an audit needs a sku, was " + sku);
        }
        if (at == null) {
            throw new IllegalArgumentException("audit of " + sku + " needs a time");
        }
    }

    /** Units the ledger counts as sold beyond those the store holds (negative: the store holds more). */
    public long drift() {
        return ledgerSold - storeSold;
    }
}
