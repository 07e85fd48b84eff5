package io.floodgate.redis;

import io.floodgate.core.port.OrderStore;
import io.floodgate.core.port.StockLedger;

import java.time.Duration;

/**
 * The stock ledger kept in Redis, as {@link RedisLedgers#connect} returns it: the
 * {@link StockLedger} port, plus what the application needs to run it.
 */
public interface RedisLedger extends StockLedger {

    /**
     * Makes the ledger in Redis agree with the durable orders of {@code store}, then marks the data
     * as whole again (the epoch markers). Every item Redis no longer has is put back with the
     * units, user counts and keys of its orders; every item Redis still has keeps its state (it may
     * hold reservations the store has not seen yet) and gets the store's orders it lacks, its
     * pending keys whose orders are stored confirmed, and its live keys whose orders the store
     * cancelled returned: a server that came back behind (a replica promoted by a failover) is
     * repaired, never trusted. Safe to run from several instances at once.
     *
     * <p>The ledger runs this by itself, from the store given to {@link RedisLedgers#connect},
     * when it finds that Redis lost its data or is not the server it marked; until it is done,
     * every call fails with {@link io.floodgate.core.DependencyUnavailableException}.
     */
    Rebuilt rebuildFrom(OrderStore store);

    /** Whether Redis answers a PING within {@code timeout}; for readiness checks. */
    boolean ping(Duration timeout);

    /** Counters for metrics and dashboards; cheap to read. */
    Stats stats();

    /**
     * @param redisCommands       commands sent to Redis since start
     * @param soldOutLocalAnswers reservations answered by a local sold-out marker, without Redis
     * @param unsettled           confirms, releases and cancels waiting for Redis to take them
     * @param rebuilds            rebuilds and repairs from the store this instance ran (Redis came
     *                            back empty, or failed over)
     */
    record Stats(long redisCommands, long soldOutLocalAnswers, int unsettled, long rebuilds) {
    }

    /**
     * What a rebuild did: items in the store, items put back into Redis, orders put back, keys
     * repaired to the store's state, and keys left alone because they disagree in a way the ledger
     * cannot decide (logged).
     */
    record Rebuilt(int items, int restoredItems, long restoredOrders, long repairedKeys, long conflicts) {
    }
}
