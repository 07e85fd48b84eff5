package io.floodgate.redis;

import io.floodgate.core.port.Lock;
import io.floodgate.core.port.Lock.Lease;
import io.floodgate.testing.CoordinationServer;
import io.floodgate.testing.ServerLockContract;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;

import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.locks.LockSupport;

/**
 * The Redis lock on the machine's Redis (a namespace of its own per test), held to the lock
 * contract; the server cases on a redis-server of their own, without persistence (a restart
 * loses the token counter: tokens still rise, from the server's clock). Redis keeps its own time,
 * so here leases run out in real time.
 */
class RedisLockTest extends ServerLockContract {

    private final String namespace = RedisTestSupport.freshNamespace();

    @BeforeAll
    static void redisAnswers() {
        RedisTestSupport.requireOrSkip(RedisTestSupport.URL);
    }

    @Override
    protected Lock newLock(Clock clock) {
        return RedisLocks.connect(RedisLedgers.settings(RedisTestSupport.URL).namespace(namespace).build());
    }

    @Override
    protected void elapse(Duration d) {
        LockSupport.parkNanos(d.toNanos());
    }

    @Override
    protected void suspendRenewal(Lease lease) {
        ((RedisLock.RedisLease) lease).keeper().suspendRenewal();
    }

    /** The owner key deleted behind the holder's back (an operator, an eviction). */
    @Override
    protected void endOnTheService(Lease lease, Duration length) {
        RedisTestSupport.command(RedisTestSupport.URL, "DEL", namespace + ":{lock:" + lease.name() + "}:owner");
    }

    @Override
    protected CoordinationServer startPrivateServer() {
        RedisTestSupport.requireRedisServerBinary();
        RedisProcess redis = RedisProcess.start();
        return new CoordinationServer() {
            @Override
            public String lockUrl() {
                return redis.url();
            }

            @Override
            public void kill() {
                redis.kill();
            }

            @Override
            public void start() {
                redis.startAgain();
            }

            @Override
            public void close() {
                redis.close();
            }
        };
    }

    /** In the namespace the application gives a lock of its own ({@code fg}): the frozen holder's. */
    @Override
    protected Lock openOn(CoordinationServer server) {
        return RedisLocks.connect(RedisLedgers.settings(server.lockUrl()).namespace("fg")
                .maxCommandTimeout(Duration.ofMillis(200)).build());
    }

    @AfterEach
    void deleteKeys() {
        opened().forEach(Lock::close); // first, or renewers would find their keys gone
        RedisTestSupport.deleteNamespace(RedisTestSupport.URL, namespace);
    }
}
