package io.floodgate.jdbc;

import io.floodgate.core.DependencyUnavailableException;
import io.floodgate.core.RejectedException;
import io.floodgate.core.Rejection;
import io.floodgate.core.StaleFencingTokenException;
import io.floodgate.core.domain.ItemSpec;
import io.floodgate.core.domain.Order;
import io.floodgate.core.domain.OrderIds;
import io.floodgate.core.domain.OrderStatus;
import io.floodgate.core.port.Lock.Fence;
import io.floodgate.core.port.OrderStore;
import io.floodgate.testing.ShardDatabases;
import io.floodgate.testing.ShardDatabases.Server;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * What sharding adds to the store's contract (which {@link ShardedPostgresOrderStoreContractTest}
 * and {@link ShardedMariaDbOrderStoreContractTest} hold the sharded store to), on two fresh
 * databases of PostgreSQL or MariaDB: where orders land, that items with an order in any shard are
 * locked and their copies follow shard 0, where fences live, what a batch that fails in one shard
 * reports, and that a reordered shard list is refused.
 */
class ShardedOrderStoreTest {

    private static final Instant T0 = Instant.parse("2026-11-26T12:00:00Z");

    private ShardDatabases dbs;
    private OrderStore store;

    private ShardedOrderStore open(Server server) {
        dbs = ShardDatabases.create(server, 2);
        store = JdbcStores.sharded(dbs.urls(), dbs.user(), "", Clock.systemUTC());
        return (ShardedOrderStore) store;
    }

    @AfterEach
    void tearDown() {
        if (store != null) {
            store.close();
        }
        if (dbs != null) {
            dbs.close();
        }
    }

    private static Order order(String sku, String key, String user, int qty, Instant at) {
        return new Order(OrderIds.next(at.toEpochMilli()), sku, user, qty, OrderStatus.CONFIRMED, at, "req-" + key, key);
    }

    /** The first {@code count} users u0, u1, ... that hash to {@code shard}. */
    private static List<String> usersOf(ShardedOrderStore s, int shard, int count) {
        List<String> users = new ArrayList<>();
        for (int i = 0; users.size() < count; i++) {
            if (s.shardOf("u" + i) == shard) {
                users.add("u" + i);
            }
        }
        return users;
    }

    private long ordersIn(int shard, String where) {
        return dbs.queryLong(shard, "SELECT COUNT(*) FROM orders" + (where.isEmpty() ? "" : " WHERE " + where));
    }

    @Test
    void theShardOfAUserIsCrc32OfItsUtf8BytesModTheShardCountAndNeverChanges() {
        // pinned: existing orders stay where they are only while these hold
        assertThat(ShardedOrderStore.shardOf("alice", 2)).isEqualTo(1);
        assertThat(ShardedOrderStore.shardOf("bob", 2)).isEqualTo(0);
        assertThat(ShardedOrderStore.shardOf("alice", 3)).isEqualTo(2);
        assertThat(ShardedOrderStore.shardOf("user-42", 16)).isEqualTo(3);
        assertThat(ShardedOrderStore.shardOf("Zoë", 16)).isEqualTo(10);
    }

    @ParameterizedTest
    @EnumSource(Server.class)
    void aUsersOrdersLandInOneShardAndAreListedNewestFirst(Server server) {
        ShardedOrderStore s = open(server);
        s.putItem(new ItemSpec("S1", "Phone", 100, 100, null, null));
        String one = usersOf(s, 1, 1).getFirst();
        String zero = usersOf(s, 0, 1).getFirst();
        List<Order> placed = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            placed.add(order("S1", "k" + i, one, 1, T0.plusMillis(i)));
            placed.add(order("S1", "z" + i, zero, 1, T0.plusMillis(i)));
        }
        Collections.shuffle(placed, new Random(1));
        s.insertOrders(placed);

        assertThat(ordersIn(1, "user_id = '" + one + "'")).isEqualTo(4);
        assertThat(ordersIn(0, "user_id = '" + one + "'")).isZero();
        assertThat(ordersIn(0, "user_id = '" + zero + "'")).isEqualTo(4);
        assertThat(s.ordersOfUser(one, 3)).extracting(Order::idempotencyKey).containsExactly("k3", "k2", "k1");
        assertThat(s.ordersOfUser(zero, 10)).extracting(Order::idempotencyKey).containsExactly("z3", "z2", "z1", "z0");
    }

    @ParameterizedTest
    @EnumSource(Server.class)
    void anItemWithAnOrderOnlyInShardOneIsLockedAndItsCopiesFollowShardZero(Server server) {
        ShardedOrderStore s = open(server);
        assertThat(s.putItem(new ItemSpec("S1", "Phone", 10, 1, null, null))).isTrue();
        assertThat(s.putItem(new ItemSpec("S1", "Phone X", 20, 2, null, null))).isFalse();
        assertThat(dbs.queryLong(1, "SELECT stock FROM items WHERE sku = 'S1'")).isEqualTo(20);
        s.addStock("S1", 5);
        assertThat(dbs.queryLong(1, "SELECT stock FROM items WHERE sku = 'S1'")).isEqualTo(25);

        s.insertOrders(List.of(order("S1", "k", usersOf(s, 1, 1).getFirst(), 1, T0)));
        assertThat(ordersIn(0, "")).isZero();
        assertThatThrownBy(() -> s.putItem(new ItemSpec("S1", "Again", 5, 1, null, null)))
                .isInstanceOfSatisfying(RejectedException.class, e -> assertThat(e.rejection()).isEqualTo(Rejection.ITEM_LOCKED));
        List<ItemSpec> items = new ArrayList<>();
        s.forEachItem(items::add);
        assertThat(items).containsExactly(new ItemSpec("S1", "Phone X", 25, 2, null, null));
        assertThat(dbs.queryLong(1, "SELECT stock FROM items WHERE sku = 'S1'")).isEqualTo(25);
    }

    @ParameterizedTest
    @EnumSource(Server.class)
    void aBatchThatFailsInOneShardAfterAnotherCommittedIsInDoubtAndPresentIdsSettlesIt(Server server) {
        ShardedOrderStore s = open(server);
        s.putItem(new ItemSpec("S1", "Phone", 100, 100, null, null));
        dbs.execute(1, "ALTER TABLE orders ADD CONSTRAINT refuse_all CHECK (quantity < 0)");
        Order zero = order("S1", "a", usersOf(s, 0, 1).getFirst(), 1, T0);
        Order one = order("S1", "b", usersOf(s, 1, 1).getFirst(), 1, T0);

        assertThatThrownBy(() -> s.insertOrders(List.of(zero, one)))
                .isInstanceOfSatisfying(DependencyUnavailableException.class, e -> assertThat(e.outcomeUnknown()).isTrue());
        assertThat(s.presentIds(List.of(zero.orderId(), one.orderId()))).containsExactly(zero.orderId());

        // failing in its only shard, before any commit: reported as having changed nothing
        Order other = order("S1", "c", usersOf(s, 1, 2).getLast(), 1, T0);
        assertThatThrownBy(() -> s.insertOrders(List.of(other)))
                .isInstanceOfSatisfying(DependencyUnavailableException.class, e -> assertThat(e.outcomeUnknown()).isFalse());
    }

    @ParameterizedTest
    @EnumSource(Server.class)
    void fencedInsertsAreCheckedOnShardZeroAndWriteEveryShard(Server server) {
        ShardedOrderStore s = open(server);
        s.putItem(new ItemSpec("S1", "Phone", 100, 100, null, null));
        Order zero = order("S1", "a", usersOf(s, 0, 1).getFirst(), 1, T0);
        Order one = order("S1", "b", usersOf(s, 1, 1).getFirst(), 1, T0);
        s.insertOrders(new Fence("reconciler", 7), List.of(zero, one));
        assertThat(s.presentIds(List.of(zero.orderId(), one.orderId()))).hasSize(2);

        Order late = order("S1", "late", usersOf(s, 1, 2).getLast(), 1, T0);
        assertThatThrownBy(() -> s.insertOrders(new Fence("reconciler", 6), List.of(late)))
                .isInstanceOf(StaleFencingTokenException.class);
        assertThat(s.order(late.orderId())).isEmpty();
        assertThat(dbs.queryLong(0, "SELECT token FROM fences WHERE name = 'reconciler'")).isEqualTo(7);
        assertThat(dbs.queryLong(1, "SELECT COUNT(*) FROM fences")).isZero();
    }

    @Test
    void refusesToStartWhenTheShardListWasReordered() {
        ShardedOrderStore s = open(Server.POSTGRESQL);
        s.putItem(new ItemSpec("S1", "Phone", 100, 100, null, null));
        s.insertOrders(List.of(order("S1", "a", usersOf(s, 1, 1).getFirst(), 1, T0)));
        store.close();
        store = null;

        assertThatThrownBy(() -> JdbcStores.sharded(dbs.urls().reversed(), dbs.user(), "", Clock.systemUTC()))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("shard 0")
                .hasMessageContaining("reordered or resized");
        store = JdbcStores.sharded(dbs.urls(), dbs.user(), "", Clock.systemUTC());
        assertThat(store.ordersOfUser(usersOf(s, 1, 1).getFirst(), 10)).hasSize(1);
    }
}
