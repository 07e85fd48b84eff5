package io.floodgate.redis;

import io.floodgate.core.port.OrderStore;
import io.floodgate.core.port.SharedRateBucket;
import io.floodgate.core.port.StockLedger;

import java.time.Duration;

/**
 * The stock ledger kept in Redis, as {@link RedisLedgers#connect} returns it: the
 * {@link StockLedger} port, plus what the application needs to run it.
 */
public interface RedisLedger extends StockLedger {

    /**
     * Puts back into Redis every item that Redis no longer has, with the units, user counts and
     * keys of its orders in {@code store}, then marks the data as whole again (the epoch markers).
     * Items Redis still has are left alone: Redis's state wins, since it may hold reservations the
     * store has not seen yet. Safe to run from several instances at once.
     *
     * <p>The ledger runs this by itself, from the store given to {@link RedisLedgers#connect},
     * when it finds that Redis has lost its data; until it is done, reservations for the lost
     * items fail with {@link io.floodgate.core.DependencyUnavailableException}.
     */
    Rebuilt rebuildFrom(OrderStore store);

    /**
     * A token bucket in the same Redis (over the same connection), shared by every instance of
     * this namespace: the cluster-wide rate limit {@code name}. Every instance must give it the
     * same rate and burst.
     */
    SharedRateBucket rateBucket(String name, double ratePerSecond, long burst);

    /** Whether Redis answers a PING within {@code timeout}; for readiness checks. */
    boolean ping(Duration timeout);

    /** Counters for metrics and dashboards; cheap to read. */
    Stats stats();

    /**
     * @param redisCommands       commands sent to Redis since start
     * @param soldOutLocalAnswers reservations answered by a local sold-out marker, without Redis
     * @param unsettled           confirms, releases and cancels waiting for Redis to take them
     */
    record Stats(long redisCommands, long soldOutLocalAnswers, int unsettled) {
    }

    /** What a rebuild did: items in the store, items put back into Redis, orders put back. */
    record Rebuilt(int items, int restoredItems, long restoredOrders) {
    }
}
