package io.floodgate.memory;

import io.floodgate.testing.LedgerStress;
import io.floodgate.testing.Seeds;
import org.junit.jupiter.api.Test;

import java.time.Clock;

/**
 * The in-process ledger's invariants under real concurrency and randomised schedules (the shared
 * round of {@link LedgerStress}, which the Redis ledger runs too): thousands of virtual threads
 * reserving with duplicated keys, confirming, releasing, cancelling and restocking at once, over
 * many rounds. After each round: stock = available + units of live orders, per item; no user
 * over the limit; one order per key.
 */
class LedgerStressTest {

    private static final int ROUNDS = 100;
    private static final int OPERATIONS = 3_000;

    @Test
    void invariantsHoldUnderConcurrentReserveConfirmReleaseCancelAndRestock() throws Exception {
        long seed = Seeds.seed("ledger.seed");
        for (int round = 0; round < ROUNDS; round++) {
            LedgerStress.runRound(seed + round, OPERATIONS, () -> new InMemoryStockLedger(Clock.systemUTC()),
                    (ledger, sku, user) -> ((InMemoryStockLedger) ledger).held(sku, user));
        }
    }
}
