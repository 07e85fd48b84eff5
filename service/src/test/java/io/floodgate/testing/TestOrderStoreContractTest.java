package io.floodgate.testing;

import io.floodgate.core.port.OrderStore;

/**
 * The test double held to the store contract with no fault set: what other tests use in place of
 * a store answers as a store does.
 */
class TestOrderStoreContractTest extends OrderStoreContract {

    @Override
    protected OrderStore open() {
        return TestOrderStore.embedded();
    }

    @Override
    protected boolean positionsAtCommit() {
        return true; // it wraps the embedded (SQLite) store
    }
}
