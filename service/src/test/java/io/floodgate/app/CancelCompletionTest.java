package io.floodgate.app;

import io.floodgate.core.CatalogService;
import io.floodgate.core.Deadline;
import io.floodgate.core.OrderService;
import io.floodgate.core.RejectedException;
import io.floodgate.core.Rejection;
import io.floodgate.core.domain.ItemSpec;
import io.floodgate.core.domain.Order;
import io.floodgate.core.domain.OrderStatus;
import io.floodgate.core.domain.PlaceOrder;
import io.floodgate.core.port.OrderStore;
import io.floodgate.core.port.StockLedger;
import io.floodgate.direct.GroupCommitOrderLog;
import io.floodgate.jdbc.JdbcStores;
import io.floodgate.memory.InMemoryStockLedger;
import io.floodgate.redis.RedisLedgers;
import io.floodgate.redis.RedisTestSupport;
import io.floodgate.testing.TestFloodgate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A cancel is two steps, the store's cancel and the ledger's return of the units. A process that
 * dies between them leaves the order cancelled in the store and its units held in the ledger; a
 * Redis ledger is never rebuilt from the store while it is intact, so only a retried cancel can
 * finish the job. Here the crash is the state it leaves behind: the store's cancel done, the
 * ledger's return never sent.
 */
class CancelCompletionTest {

    private final List<AutoCloseable> closeAfter = new ArrayList<>();
    private final List<String> namespaces = new ArrayList<>();
    private Path dir;

    @AfterEach
    void cleanUp() throws Exception {
        for (AutoCloseable c : closeAfter.reversed()) {
            c.close();
        }
        namespaces.forEach(ns -> RedisTestSupport.deleteNamespace(RedisTestSupport.URL, ns));
        if (dir != null) {
            TestFloodgate.deleteRecursively(dir);
        }
    }

    private record Service(OrderService orders, CatalogService catalog, OrderStore store) {
    }

    private Service service(String ledgerKind) throws Exception {
        dir = Files.createTempDirectory("floodgate-cancel");
        Clock clock = Clock.systemUTC();
        OrderStore store = JdbcStores.embedded(dir, clock);
        closeAfter.add(store);
        StockLedger ledger;
        if (ledgerKind.equals("redis")) {
            RedisTestSupport.requireOrSkip(RedisTestSupport.URL);
            String namespace = RedisTestSupport.freshNamespace();
            namespaces.add(namespace);
            ledger = RedisLedgers.connect(RedisLedgers.settings(RedisTestSupport.URL).namespace(namespace).build(),
                    clock, store);
        } else {
            ledger = InMemoryStockLedger.restoredFrom(store, clock);
        }
        closeAfter.add(ledger);
        GroupCommitOrderLog log = new GroupCommitOrderLog(store, 64, 16);
        closeAfter.add(log);
        return new Service(new OrderService(ledger, log, store, clock), new CatalogService(ledger, store), store);
    }

    private static Order place(Service s, String key, String user) {
        return s.orders().place(new PlaceOrder(key, user, "S", 1), "req-" + key,
                Deadline.after(Duration.ofSeconds(5))).order();
    }

    private static long available(Service s) {
        return s.catalog().item("S").orElseThrow().available();
    }

    @ParameterizedTest(name = "{0} ledger")
    @ValueSource(strings = {"in-process", "redis"})
    void aCancelRetriedAfterACrashBetweenStoreAndLedgerReturnsTheUnitsOnce(String ledgerKind) throws Exception {
        Service s = service(ledgerKind);
        s.catalog().putItem(new ItemSpec("S", "Phone", 3, 1, null, null));
        Order order = place(s, "k1", "u1");
        place(s, "k2", "u2");
        assertThat(available(s)).isEqualTo(1);

        // the process cancelled in the store, then died before the ledger heard of it
        assertThat(s.store().cancel(order.orderId(), java.time.Instant.now())).isPresent();
        assertThat(available(s)).as("units still held after the crash").isEqualTo(1);
        assertThatThrownBy(() -> place(s, "k3", "u1")).as("u1 still counted at its limit of 1")
                .isInstanceOfSatisfying(RejectedException.class,
                        e -> assertThat(e.rejection()).isEqualTo(Rejection.PER_USER_LIMIT));

        // the client retries its cancel
        Order cancelled = s.orders().cancel(order.orderId(), user -> true);
        assertThat(cancelled.status()).isEqualTo(OrderStatus.CANCELLED);
        assertThat(available(s)).as("the retry returned the units").isEqualTo(2);

        // and retries again: nothing more comes back
        s.orders().cancel(order.orderId(), user -> true);
        s.orders().cancel(order.orderId(), user -> true);
        assertThat(available(s)).as("returned exactly once").isEqualTo(2);
        assertThat(place(s, "k3", "u1").status()).as("u1 no longer counts the cancelled unit")
                .isEqualTo(OrderStatus.CONFIRMED);
        assertThat(available(s)).isEqualTo(1);
    }
}
