package io.floodgate.app;

import com.fasterxml.jackson.databind.JsonNode;
import io.floodgate.testing.Api;
import io.floodgate.testing.ShardDatabases;
import io.floodgate.testing.TestFloodgate;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A real server with {@code FLOODGATE_DB_SHARDS} over two fresh PostgreSQL databases: orders of
 * users in both shards are placed, read, listed and cancelled over HTTP, land in their user's
 * database, and are all there again after a restart (the ledger rebuilt from both shards).
 */
class ShardedStoreEndToEndTest {

    private static int shardOf(String user) {
        CRC32 crc = new CRC32();
        crc.update(user.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        return (int) (crc.getValue() % 2);
    }

    @Test
    void ordersArePlacedReadAndCancelledOverHttpOnTwoPostgresShards() {
        try (ShardDatabases dbs = ShardDatabases.create(ShardDatabases.Server.POSTGRESQL, 2)) {
            Map<String, String> env = Map.of("FLOODGATE_DB_SHARDS", dbs.shardsVariable(), "FLOODGATE_DB_USER", dbs.user());
            List<String> users = List.of("alice", "bob", "carol", "dave");
            assertThat(users).extracting(ShardedStoreEndToEndTest::shardOf).contains(0, 1);
            List<String> orderIds = new ArrayList<>();
            try (TestFloodgate server = TestFloodgate.start(env)) {
                Api api = server.api;
                assertThat(api.putItem("S1", "Phone", 10, 2).status()).isEqualTo(201);
                for (String user : users) {
                    Api.Response placed = api.order("key-" + user, user, "S1", 1);
                    assertThat(placed.status()).as(placed.toString()).isEqualTo(201);
                    orderIds.add(placed.json().get("orderId").asText());
                    assertThat(api.order("key-" + user, user, "S1", 1).json().get("orderId").asText())
                            .as("a retry replays the order").isEqualTo(orderIds.getLast());
                }
                for (int i = 0; i < users.size(); i++) {
                    JsonNode read = api.adminGet("/api/v1/orders/" + orderIds.get(i)).json();
                    assertThat(read.get("userId").asText()).isEqualTo(users.get(i));
                    JsonNode listed = api.adminGet("/api/v1/users/" + users.get(i) + "/orders").json().get("orders");
                    assertThat(listed).hasSize(1);
                    String user = users.get(i);
                    assertThat(dbs.queryLong(shardOf(user), "SELECT COUNT(*) FROM orders WHERE user_id = '" + user + "'"))
                            .isEqualTo(1);
                    assertThat(dbs.queryLong(1 - shardOf(user), "SELECT COUNT(*) FROM orders WHERE user_id = '" + user + "'"))
                            .isZero();
                }
                Api.Response cancelled = api.cancel(orderIds.get(1));
                assertThat(cancelled.status()).isEqualTo(200);
                assertThat(cancelled.json().get("status").asText()).isEqualTo("CANCELLED");
                assertThat(api.item("S1").json().get("available").asLong()).isEqualTo(7);
                assertThat(api.putItem("S1", "Phone X", 10, 2).status()).as("an item with orders is locked").isEqualTo(409);
                assertThat(api.get("/health/ready").status()).isEqualTo(200);
            }
            try (TestFloodgate again = TestFloodgate.start(env)) {
                assertThat(again.api.item("S1").json().get("available").asLong()).isEqualTo(7);
                assertThat(again.api.adminGet("/api/v1/orders/" + orderIds.get(1)).json().get("status").asText())
                        .isEqualTo("CANCELLED");
                assertThat(again.api.adminGet("/api/v1/orders/" + orderIds.get(2)).status()).isEqualTo(200);
            }
        }
    }
}
