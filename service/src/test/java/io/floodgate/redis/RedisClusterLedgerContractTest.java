package io.floodgate.redis;

import io.floodgate.core.DependencyUnavailableException;
import io.floodgate.core.domain.ItemSpec;
import io.floodgate.core.domain.Order;
import io.floodgate.core.domain.OrderIds;
import io.floodgate.core.domain.OrderStatus;
import io.floodgate.core.port.StockLedger;
import io.floodgate.core.port.StockLedger.ReserveOutcome;
import io.floodgate.testing.TestOrderStore;
import io.floodgate.testing.LedgerStress;
import io.floodgate.testing.MutableClock;
import io.floodgate.testing.Seeds;
import io.floodgate.testing.StockLedgerContract;
import io.lettuce.core.cluster.SlotHash;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The same contract on a Redis Cluster of three masters that this test starts: the scripts run
 * unchanged because every key of an item shares its hash tag. Plus what only a cluster shows:
 * items spread over every master, and one master that restarts empty costs only its own items a
 * rebuild.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class RedisClusterLedgerContractTest extends StockLedgerContract {

    private static RedisClusterProcess cluster;
    private final TestOrderStore store = TestOrderStore.embedded();
    private String namespace;

    @BeforeAll
    static void startCluster() {
        RedisTestSupport.requireRedisServerBinary();
        cluster = RedisClusterProcess.start();
    }

    @AfterAll
    static void stopCluster() {
        if (cluster != null) {
            cluster.close();
        }
    }

    @org.junit.jupiter.api.AfterEach
    void closeStore() {
        store.close();
    }

    @Override
    protected StockLedger newLedger(MutableClock clock) {
        namespace = RedisTestSupport.freshNamespace();
        return RedisLedgers.connect(RedisLedgers.settings(cluster.url()).namespace(namespace).build(), clock, store);
    }

    @Override
    protected int held(String sku, String userId) {
        return ((RedisStockLedger) ledger).held(sku, userId);
    }

    private static Order order(String key, String user, String sku) {
        return new Order(OrderIds.next(NOW.toEpochMilli()), sku, user, 1, OrderStatus.CONFIRMED, NOW, "r", key);
    }

    @Test
    void randomizedInvariantCheckHoldsOnTheCluster() throws Exception {
        long seed = Seeds.seed("redis.cluster.seed");
        for (int round = 0; round < 2; round++) {
            LedgerStress.runRound(seed + round, 2_000,
                    () -> RedisLedgers.connect(RedisLedgers.settings(cluster.url())
                            .namespace(RedisTestSupport.freshNamespace()).build(), java.time.Clock.systemUTC(), store),
                    (l, sku, user) -> ((RedisStockLedger) l).held(sku, user));
        }
    }

    @Test
    void itemsOnEveryMasterReserveAndOneEmptiedMasterIsRebuiltAlone() {
        // 30 items: with 3 masters, each holds some of them.
        for (int i = 0; i < 30; i++) {
            String sku = "item-" + i;
            ItemSpec spec = new ItemSpec(sku, sku, 3, 1, null, null);
            var definition = ledger.beginDefinition(sku);
            store.putItem(spec);
            definition.commit(spec);
            Order o = order("k-" + sku, "u1", sku);
            assertThat(ledger.reserve(o, soon())).isEqualTo(ReserveOutcome.RESERVED);
            store.insertOrders(List.of(o));
            ledger.confirm(sku, o.idempotencyKey());
        }
        assertThat(ledger.views()).hasSize(30).allSatisfy(v -> assertThat(v.available()).isEqualTo(2));

        RedisProcess victim = cluster.masters().getFirst();
        Set<String> lost = new HashSet<>();
        Set<String> kept = new HashSet<>();
        for (int i = 0; i < 30; i++) {
            String sku = "item-" + i;
            int slot = SlotHash.getSlot("{" + sku + "}");
            // a node counts only the keys it serves, and every item has keys
            boolean onVictim = !victim.cli("cluster", "countkeysinslot", Integer.toString(slot)).strip().equals("0");
            (onVictim ? lost : kept).add(sku);
        }
        assertThat(lost).as("items on the first master").isNotEmpty();
        assertThat(kept).as("items on the others").isNotEmpty();

        TestOrderStore.Gate scans = store.hold(TestOrderStore.Op.FOR_EACH_ORDER, TestOrderStore.Phase.BEFORE);
        victim.cli("flushall"); // that shard restarted empty; the others did not
        String lostSku = lost.iterator().next();
        assertThatThrownBy(() -> ledger.reserve(order("k-x", "u2", lostSku), soon()))
                .isInstanceOf(DependencyUnavailableException.class);
        String keptSku = kept.iterator().next();
        assertThat(ledger.reserve(order("k-y", "u2", keptSku), soon())).as("an item on an intact master")
                .isEqualTo(ReserveOutcome.RESERVED);
        scans.open();

        while (true) { // until every lost item answers again
            try {
                if (lost.stream().allMatch(sku -> ledger.view(sku).isPresent())) {
                    break;
                }
            } catch (DependencyUnavailableException stillRebuilding) {
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
            }
        }
        assertThat(ledger.reserve(order("k-x", "u2", lostSku), soon())).isEqualTo(ReserveOutcome.RESERVED);
        for (String sku : lost) {
            assertThat(ledger.view(sku).orElseThrow().available()).as(sku).isEqualTo(sku.equals(lostSku) ? 1 : 2);
            assertThat(held(sku, "u1")).as(sku).isEqualTo(1);
        }
        assertThat(ledger.view(keptSku).orElseThrow().available()).as("untouched by the rebuild").isEqualTo(1);
    }
}
