package io.floodgate.redis;

import io.floodgate.core.port.StockLedger;
import io.floodgate.testing.TestOrderStore;
import io.floodgate.testing.MutableClock;
import io.floodgate.testing.StockLedgerContract;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;

/** The Redis ledger, on the machine's Redis, held to the contract the in-process ledger keeps. */
class RedisStockLedgerContractTest extends StockLedgerContract {

    /** An empty store of record for the ledgers to rebuild from (they only read it). */
    private static final TestOrderStore STORE = TestOrderStore.embedded();

    @org.junit.jupiter.api.AfterAll
    static void closeStore() {
        STORE.close();
    }

    private String namespace;

    @BeforeAll
    static void redisAnswers() {
        RedisTestSupport.requireOrSkip(RedisTestSupport.URL);
    }

    @Override
    protected StockLedger newLedger(MutableClock clock) {
        namespace = RedisTestSupport.freshNamespace();
        return RedisLedgers.connect(RedisLedgers.settings(RedisTestSupport.URL).namespace(namespace).build(), clock,
                STORE);
    }

    @Override
    protected int held(String sku, String userId) {
        return ((RedisStockLedger) ledger).held(sku, userId);
    }

    @AfterEach
    void deleteKeys() {
        RedisTestSupport.deleteNamespace(RedisTestSupport.URL, namespace);
    }
}
