package io.floodgate.jdbc;

import io.floodgate.core.domain.ItemSpec;
import io.floodgate.core.domain.Order;
import io.floodgate.core.domain.OrderIds;
import io.floodgate.core.domain.OrderStatus;
import io.floodgate.core.domain.PaymentState;
import io.floodgate.core.port.OrderStore;
import io.floodgate.testing.TestFloodgate;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * V4 (payments and events) was written after V5 (order fates): a database that a release before
 * payments migrated to V5 must take V4 next, not refuse to start; and what it held still reads.
 */
class MigrationOrderTest {

    @Test
    void aDatabaseAlreadyAtV5TakesV4NextAndKeepsItsOrders() throws Exception {
        Path dir = Files.createTempDirectory("floodgate-migration");
        Path before = Files.createTempDirectory("floodgate-migrations-before-v4");
        try {
            for (String file : List.of("V1__items_and_orders.sql", "V2__fences.sql", "V3__failed_orders.sql",
                    "V5__order_fates.sql")) {
                try (InputStream in = getClass().getResourceAsStream("/db/migration/sqlite/" + file)) {
                    Files.copy(in, before.resolve(file));
                }
            }
            String url = "jdbc:sqlite:" + dir.resolve(JdbcStores.EMBEDDED_FILE);
            Flyway.configure().dataSource(url, null, null).locations("filesystem:" + before).load().migrate();
            try (var c = java.sql.DriverManager.getConnection(url); var s = c.createStatement()) {
                s.execute("INSERT INTO items (sku, name, stock, per_user_limit, created_at, updated_at)"
                        + " VALUES ('OLD', 'Old item', 5, 1, 0, 0)");
                s.execute("INSERT INTO orders (order_id, sku, idempotency_key, user_id, quantity, status, created_at)"
                        + " VALUES ('old-order', 'OLD', 'k-old', 'u-old', 1, 'CONFIRMED', 0)");
            }

            try (OrderStore store = JdbcStores.embedded(dir, Clock.systemUTC())) {
                Order old = store.order("old-order").orElseThrow();
                assertThat(old.payment()).as("an order from before payments has none").isNull();
                assertThat(old.status()).isEqualTo(OrderStatus.CONFIRMED);
                store.putItem(new ItemSpec("NEW", "New item", 5, 1, null, null, Duration.ofSeconds(60), null));
                Instant now = Instant.now();
                Order fresh = new Order(OrderIds.next(now.toEpochMilli()), "NEW", "u1", 1, OrderStatus.CONFIRMED, now, "r",
                        "k1").due(now.plusSeconds(60));
                store.insertOrders(List.of(fresh));
                assertThat(store.order(fresh.orderId()).orElseThrow().payment().state()).isEqualTo(PaymentState.DUE);
            }
        } finally {
            TestFloodgate.deleteRecursively(dir);
            TestFloodgate.deleteRecursively(before);
        }
    }
}
