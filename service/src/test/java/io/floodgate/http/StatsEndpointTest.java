package io.floodgate.http;

import com.fasterxml.jackson.databind.JsonNode;
import io.floodgate.testing.Api;
import io.floodgate.testing.TestFloodgate;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class StatsEndpointTest {

    @Test
    void statsCountOrdersRejectionsAndLatencyAndShowEachItem() {
        try (TestFloodgate floodgate = TestFloodgate.start()) {
            Api api = floodgate.api;
            assertThat(api.putItem("S1", "Phone", 3, 1).status()).isEqualTo(201);
            for (int i = 0; i < 5; i++) {
                api.order("k" + i, "u" + i, "S1", 1);
            }
            api.order("k0", "u0", "S1", 1); // a replay

            Api.Response r = api.get("/api/v1/stats");
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.header("Content-Type")).hasValue("application/json");
            JsonNode s = r.json();
            assertThat(s.path("ready").asBoolean()).isTrue();
            assertThat(s.path("down")).isEmpty();
            JsonNode item = s.path("items").get(0);
            assertThat(item.path("sku").asText()).isEqualTo("S1");
            assertThat(item.path("sold").asLong()).isEqualTo(3);
            assertThat(item.path("available").asLong()).isZero();

            JsonNode m = s.path("metrics");
            assertThat(m.path("orders").path("created").asLong()).isEqualTo(3);
            assertThat(m.path("orders").path("replayed").asLong()).isEqualTo(1);
            assertThat(m.path("rejections").path("SOLD_OUT").asLong()).isEqualTo(2);
            JsonNode latency = m.path("orderLatency");
            assertThat(latency.path("count").asLong()).isEqualTo(6);
            assertThat(latency.path("buckets")).hasSize(12);
            assertThat(latency.path("buckets").get(11).path("leMs").asDouble()).isEqualTo(5000.0);
            assertThat(latency.path("p99Ms").asDouble()).isGreaterThan(0);
            assertThat(m.path("gauges").path("floodgate.admission.limit").asDouble()).isPositive();
            assertThat(m.path("gauges").path("floodgate.admissions{work=order}").asDouble())
                    .as("every order passed admission; sold out is the ledger's verdict").isEqualTo(6.0);
            assertThat(m.path("gauges").path("floodgate.circuit.state{dependency=store,state=closed}").asDouble()).isEqualTo(1.0);
            assertThat(m.path("gauges").path("floodgate.orders.persisted").asDouble()).isEqualTo(3.0);
            assertThat(m.path("jvm").path("heapUsedBytes").asDouble()).isGreaterThan(0);
            assertThat(api.send("POST", "/api/v1/stats", null, java.util.Map.of()).status()).isEqualTo(405);
        }
    }

    @Test
    void theConcurrencyLimitStartsAtAFloorAbove256AndNeverAboveTheCeiling() {
        try (TestFloodgate floodgate = TestFloodgate.start(java.util.Map.of("FLOODGATE_MIN_IN_FLIGHT", "1024"))) {
            assertThat(limit(floodgate)).as("a floor of 1024 was clamped to 256 once").isEqualTo(1024.0);
        }
        try (TestFloodgate floodgate = TestFloodgate.start(java.util.Map.of(
                "FLOODGATE_MIN_IN_FLIGHT", "4096", "FLOODGATE_MAX_IN_FLIGHT", "2048"))) {
            assertThat(limit(floodgate)).isEqualTo(2048.0);
        }
    }

    private static double limit(TestFloodgate floodgate) {
        return floodgate.api.get("/api/v1/stats").json().path("metrics").path("gauges")
                .path("floodgate.admission.limit").asDouble();
    }
}
