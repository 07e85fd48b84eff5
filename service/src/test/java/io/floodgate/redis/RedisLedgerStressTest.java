package io.floodgate.redis;

import io.floodgate.testing.TestOrderStore;
import io.floodgate.testing.LedgerStress;
import io.floodgate.testing.Seeds;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code LedgerStressTest}'s randomized invariant check against the Redis ledger: thousands of
 * virtual threads reserving (with duplicate keys in flight), confirming, releasing, cancelling and
 * restocking through one multiplexed connection. Fewer rounds than the in-process run, since each
 * operation is a round trip on a shared two-core machine. The seed is printed; replay with
 * {@code -Dredis.ledger.seed=...}.
 */
class RedisLedgerStressTest {

    /** An empty store of record for the ledgers to rebuild from (they only read it). */
    private static final TestOrderStore STORE = TestOrderStore.embedded();

    @org.junit.jupiter.api.AfterAll
    static void closeStore() {
        STORE.close();
    }

    private static final int ROUNDS = 12;
    private static final int OPERATIONS = 3_000;
    private final List<String> namespaces = new ArrayList<>();

    @BeforeAll
    static void redisAnswers() {
        RedisTestSupport.requireOrSkip(RedisTestSupport.URL);
    }

    @AfterEach
    void deleteKeys() {
        namespaces.forEach(ns -> RedisTestSupport.deleteNamespace(RedisTestSupport.URL, ns));
    }

    @Test
    void invariantsHoldUnderConcurrentReserveConfirmReleaseCancelAndRestock() throws Exception {
        long seed = Seeds.seed("redis.ledger.seed");
        for (int round = 0; round < ROUNDS; round++) {
            LedgerStress.runRound(seed + round, OPERATIONS, () -> {
                String ns = RedisTestSupport.freshNamespace();
                namespaces.add(ns);
                return RedisLedgers.connect(RedisLedgers.settings(RedisTestSupport.URL).namespace(ns).build(),
                        Clock.systemUTC(), STORE);
            }, (ledger, sku, user) -> ((RedisStockLedger) ledger).held(sku, user));
        }
    }
}
