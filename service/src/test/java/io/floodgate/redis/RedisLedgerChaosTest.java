package io.floodgate.redis;

import io.floodgate.core.Deadline;
import io.floodgate.core.DependencyUnavailableException;
import io.floodgate.core.domain.ItemSpec;
import io.floodgate.core.domain.ItemView;
import io.floodgate.core.domain.Order;
import io.floodgate.core.port.StockLedger;
import io.floodgate.testing.TestOrderStore;
import io.floodgate.testing.LedgerStress;
import io.floodgate.testing.Seeds;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Supplier;

/**
 * The randomized invariant check while Redis keeps stalling: a redis-server of the test's own is
 * paused (CLIENT PAUSE) for 150 ms at random moments, and the ledger's commands time out after
 * 100 ms, so replies are lost while the commands still run later. Reservations whose reply was
 * lost must be undone, confirms, releases and cancels that failed must be finished in the
 * background; once they all have, stock = available + live units, no user is over the limit, and
 * every key has at most one order. The seed is printed; replay with {@code -Dredis.chaos.seed=...}.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class RedisLedgerChaosTest {

    /** An empty store of record for the ledgers to rebuild from (they only read it). */
    private static final TestOrderStore STORE = TestOrderStore.embedded();

    @org.junit.jupiter.api.AfterAll
    static void closeStore() {
        STORE.close();
    }

    private static final int ROUNDS = 5;
    private static final int OPERATIONS = 2_000;

    @Test
    void invariantsHoldWhileRedisStallsAndRepliesAreLost() throws Exception {
        RedisTestSupport.requireRedisServerBinary();
        long seed = Seeds.seed("redis.chaos.seed");
        try (RedisProcess server = RedisProcess.start()) {
            RedisClient client = RedisClient.create(RedisURI.create(server.url()));
            try (StatefulRedisConnection<String, String> pauser = client.connect()) {
                for (int round = 0; round < ROUNDS; round++) {
                    int thisRound = round;
                    AtomicBoolean stalling = new AtomicBoolean();
                    AtomicBoolean stop = new AtomicBoolean();
                    Thread chaos = Thread.ofVirtual().start(() -> {
                        while (!stop.get()) {
                            if (stalling.get()) {
                                pauser.sync().clientPause(150);
                            }
                            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50 + ThreadLocalRandom.current().nextInt(200)));
                        }
                    });
                    String namespace = RedisTestSupport.freshNamespace();
                    LedgerStress.runRound(seed + round, OPERATIONS,
                            () -> new StallOnFirstReserve(retried(() -> RedisStockLedger.open(RedisLedgers.settings(server.url())
                                    .namespace(namespace).maxCommandTimeout(Duration.ofMillis(100)).build(),
                                    Clock.systemUTC(), STORE)), stalling),
                            (ledger, sku, user) -> retried(() -> ((StallOnFirstReserve) ledger).redis.held(sku, user)),
                            ledger -> {
                                stop.set(true);
                                try {
                                    chaos.join();
                                } catch (InterruptedException e) {
                                    Thread.currentThread().interrupt();
                                }
                                server.cli("client", "unpause"); // the last pause may still hold
                                RedisStockLedger redis = ((StallOnFirstReserve) ledger).redis;
                                while (redis.unsettled() > 0) {
                                    LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
                                }
                                System.out.println("round " + thisRound + ": settled; Redis commands " + redis.redisCalls());
                            });
                }
            } finally {
                client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
            }
        }
    }

    /** Connecting, and reads for the final checks, with the ledger's short timeout on a busy two-core machine. */
    private static <T> T retried(Supplier<T> read) {
        for (int attempt = 1; ; attempt++) {
            try {
                return read.get();
            } catch (DependencyUnavailableException e) {
                if (attempt == 50) {
                    throw e;
                }
            }
        }
    }

    /** The Redis ledger, with the stalls switched on once the items are defined (at the first reserve). */
    private static final class StallOnFirstReserve implements StockLedger {
        final RedisStockLedger redis;
        private final AtomicBoolean stalling;

        StallOnFirstReserve(RedisStockLedger redis, AtomicBoolean stalling) {
            this.redis = redis;
            this.stalling = stalling;
        }

        @Override
        public ReserveOutcome reserve(Order order, Deadline deadline) {
            stalling.set(true);
            return redis.reserve(order, deadline);
        }

        @Override
        public void confirm(String sku, String idempotencyKey) {
            redis.confirm(sku, idempotencyKey);
        }

        @Override
        public void release(String sku, String idempotencyKey) {
            redis.release(sku, idempotencyKey);
        }

        @Override
        public void returnUnits(Order cancelled) {
            redis.returnUnits(cancelled);
        }

        @Override
        public java.util.List<Reservation> pendingReservations(java.time.Instant reservedBefore, int max) {
            return redis.pendingReservations(reservedBefore, max);
        }

        @Override
        public Definition beginDefinition(String sku) {
            return redis.beginDefinition(sku);
        }

        @Override
        public ItemView adjustStock(String sku, long delta) {
            return redis.adjustStock(sku, delta);
        }

        @Override
        public Optional<ItemView> view(String sku) {
            return retried(() -> redis.view(sku));
        }

        @Override
        public List<ItemView> views() {
            return retried(redis::views);
        }

        @Override
        public Repaired repair(String sku, List<Order> durable, io.floodgate.core.port.Lock.Fence fence) {
            return redis.repair(sku, durable, fence);
        }

        @Override
        public void close() {
            redis.close();
        }
    }
}
