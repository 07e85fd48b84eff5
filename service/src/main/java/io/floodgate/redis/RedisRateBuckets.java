package io.floodgate.redis;

import io.floodgate.core.DependencyUnavailableException;
import io.floodgate.core.port.SharedRateBucket;

import java.util.Objects;
import java.util.function.LongSupplier;

/**
 * Builds the cluster-wide rate buckets in Redis ({@link SharedRateBucket}). Takes the ledger's
 * settings (URL, namespace, timeouts) and, as {@link RedisLocks} does, opens a connection of its
 * own: a rate bucket is not stock, and its leases should not queue behind the ledger's traffic.
 * Close it after whatever takes from its buckets.
 *
 * <pre>{@code
 * RedisRateBuckets buckets = RedisRateBuckets.connect(RedisLedgers.settings("redis://127.0.0.1:6379/0").build());
 * SharedRateBucket orders = buckets.bucket("orders", 500, 500);
 * }</pre>
 */
public final class RedisRateBuckets implements AutoCloseable {

    private final Redis redis;
    private final String namespace;

    private RedisRateBuckets(Redis redis, String namespace) {
        this.redis = redis;
        this.namespace = namespace;
    }

    /**
     * Connects and loads the scripts.
     *
     * @throws DependencyUnavailableException when Redis does not answer
     */
    public static RedisRateBuckets connect(RedisLedgers.Settings settings) {
        Objects.requireNonNull(settings, "settings");
        return new RedisRateBuckets(Redis.connect(settings), settings.namespace());
    }

    /**
     * The token bucket {@code name}, shared by every instance of this namespace: key
     * {@code ns:{rate.name}}, one key in one slot. Every instance must give it the same rate and
     * burst.
     */
    public SharedRateBucket bucket(String name, double ratePerSecond, long burst) {
        return bucket(name, ratePerSecond, burst, null);
    }

    /** With the time in microseconds given rather than Redis's own (tests move it). */
    RedisRateBucket bucket(String name, double ratePerSecond, long burst, LongSupplier nowMicros) {
        return new RedisRateBucket(redis, namespace + ":{rate." + name + "}", ratePerSecond, burst, nowMicros);
    }

    @Override
    public void close() {
        redis.close();
    }
}
