package io.floodgate.redis;

import io.floodgate.core.DependencyUnavailableException;
import io.floodgate.core.port.Lock;

import java.util.Objects;

/**
 * Builds the Redis {@link Lock}. Takes the ledger's settings (URL, namespace, timeouts) and opens
 * a connection of its own, so that lease renewals never wait behind ledger traffic.
 *
 * <pre>{@code
 * Lock lock = RedisLocks.connect(RedisLedgers.settings("redis://127.0.0.1:6379/0").build());
 * }</pre>
 */
public final class RedisLocks {

    private RedisLocks() {
    }

    /**
     * Connects and loads the scripts.
     *
     * @throws DependencyUnavailableException when Redis does not answer
     */
    public static Lock connect(RedisLedgers.Settings settings) {
        Objects.requireNonNull(settings, "settings");
        return new RedisLock(Redis.connect(settings), settings.namespace());
    }
}
