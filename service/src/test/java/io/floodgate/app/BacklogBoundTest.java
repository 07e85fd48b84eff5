package io.floodgate.app;

import io.floodgate.core.CatalogService;
import io.floodgate.core.Deadline;
import io.floodgate.core.OrderService;
import io.floodgate.core.RejectedException;
import io.floodgate.core.Rejection;
import io.floodgate.core.domain.ItemSpec;
import io.floodgate.core.domain.Order;
import io.floodgate.core.domain.PlaceOrder;
import io.floodgate.core.port.OrderLog;
import io.floodgate.core.port.OrderStore;
import io.floodgate.direct.GroupCommitOrderLog;
import io.floodgate.jdbc.JdbcStores;
import io.floodgate.memory.InMemoryStockLedger;
import io.floodgate.testing.TestFloodgate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Intake stops taking orders while the store is too far behind the log (too many acknowledged
 * orders not stored, or the oldest waiting too long), refuses with 503 DEPENDENCY_UNAVAILABLE and
 * Retry-After reserving nothing, and takes orders again once the backlog is well under the bound.
 * The backlog is set by hand here (the Kafka log measures it; KafkaBacklogTest drives it with a
 * real store outage).
 */
class BacklogBoundTest {

    private Path dir;
    private OrderStore store;
    private GroupCommitOrderLog writer;
    private volatile OrderLog.Backlog backlog = OrderLog.Backlog.NONE;
    private OrderService orders;
    private CatalogService catalog;
    private int keys;

    @BeforeEach
    void start() throws Exception {
        dir = Files.createTempDirectory("floodgate-backlog");
        store = JdbcStores.embedded(dir, Clock.systemUTC());
        writer = new GroupCommitOrderLog(store, 64, 16);
        OrderLog log = new OrderLog() {
            @Override
            public AppendOutcome append(Order order, Deadline deadline, LateFate late) {
                return writer.append(order, deadline, late);
            }

            @Override
            public Backlog backlog() {
                return backlog;
            }

            @Override
            public int depth() {
                return writer.depth();
            }

            @Override
            public void close() {
            }
        };
        InMemoryStockLedger ledger = InMemoryStockLedger.restoredFrom(store, Clock.systemUTC());
        orders = new OrderService(ledger, log, store, Clock.systemUTC(),
                new OrderService.BacklogBound(100, Duration.ofSeconds(60)));
        catalog = new CatalogService(ledger, store);
        catalog.putItem(new ItemSpec("S", "Phone", 1_000, 1_000, null, null));
    }

    @AfterEach
    void stop() {
        writer.close();
        store.close();
        TestFloodgate.deleteRecursively(dir);
    }

    private Order place() {
        keys++;
        return orders.place(new PlaceOrder("k" + keys, "u1", "S", 1), "r", Deadline.after(Duration.ofSeconds(5))).order();
    }

    private void assertRefused() {
        long available = catalog.item("S").orElseThrow().available();
        assertThatThrownBy(this::place).isInstanceOfSatisfying(RejectedException.class, e -> {
            assertThat(e.rejection()).isEqualTo(Rejection.DEPENDENCY_UNAVAILABLE);
            assertThat(e.retryAfterSeconds()).isPositive();
            assertThat(e.getMessage()).contains("nothing was reserved");
        });
        assertThat(catalog.item("S").orElseThrow().available()).as("nothing reserved").isEqualTo(available);
    }

    @Test
    void ordersAreRefusedWhileTooManyAcceptedOrdersAreUnstoredAndTakenAgainWellUnderTheBound() {
        backlog = new OrderLog.Backlog(100, Duration.ofSeconds(1));
        place();
        backlog = new OrderLog.Backlog(101, Duration.ofSeconds(1));
        assertRefused();
        backlog = new OrderLog.Backlog(90, Duration.ofSeconds(1));
        assertRefused(); // still over three quarters: no flapping at the edge
        backlog = new OrderLog.Backlog(75, Duration.ofSeconds(1));
        place();
        backlog = new OrderLog.Backlog(99, Duration.ofSeconds(1));
        place();
    }

    @Test
    void ordersAreRefusedWhileTheOldestUnstoredOrderWaitsTooLong() {
        backlog = new OrderLog.Backlog(3, Duration.ofSeconds(61));
        assertRefused();
        backlog = new OrderLog.Backlog(3, Duration.ofSeconds(50));
        assertRefused();
        backlog = new OrderLog.Backlog(3, Duration.ofSeconds(45));
        place();
    }
}
