package io.floodgate.memory;

import io.floodgate.core.port.StockLedger;
import io.floodgate.testing.MutableClock;
import io.floodgate.testing.StockLedgerContract;

/** The in-process ledger held to the one ledger contract that the Redis ledger also keeps. */
class InMemoryStockLedgerContractTest extends StockLedgerContract {

    @Override
    protected StockLedger newLedger(MutableClock clock) {
        return new InMemoryStockLedger(clock);
    }

    @Override
    protected int held(String sku, String userId) {
        return ((InMemoryStockLedger) ledger).held(sku, userId);
    }
}
