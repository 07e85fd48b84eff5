package io.floodgate.observe;

import io.floodgate.testing.Api;
import io.floodgate.testing.DistributedMode;
import io.floodgate.testing.TestFloodgate;

import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Real {@code /metrics} scrapes of a running service after some traffic: orders made, replayed,
 * rejected (sold out, per-user limit, unknown item, invalid), reads, a cancel, so that the
 * counters and histograms that only appear once used are there.
 */
final class Scrapes {

    private Scrapes() {
    }

    /** The embedded default (SQLite store, direct log, in-process ledger). */
    static String embedded() {
        try (TestFloodgate floodgate = TestFloodgate.start()) {
            return afterTraffic(floodgate.api);
        }
    }

    /**
     * Distributed mode (Redis ledger, Kafka log, MariaDB store); skipped, or failed under
     * FLOODGATE_REQUIRE_SERVICES=1, when those do not answer.
     */
    static String distributed() {
        try (DistributedMode mode = DistributedMode.createWithKafka();
             TestFloodgate floodgate = TestFloodgate.start(mode.environment())) {
            return afterTraffic(floodgate.api);
        }
    }

    private static String afterTraffic(Api api) {
        assertThat(api.putItem("M1", "Metered", 5, 1).status()).isEqualTo(201);
        String first = null;
        for (int i = 0; i < 8; i++) {
            Api.Response r = api.order("mk-" + i, "mu-" + i, "M1", 1);
            if (first == null) {
                first = r.json().path("orderId").asText();
            }
        }
        api.order("mk-0", "mu-0", "M1", 1);                 // replay
        api.order("mk-x", "mu-0", "M1", 1);                 // per-user limit
        api.order("mk-y", "mu-9", "NO-SUCH-ITEM", 1);       // unknown item
        api.order(null, "mu-9", "M1", 1);                   // invalid (no key)
        api.get("/api/v1/items");
        api.item("M1");
        api.get("/api/v1/orders/" + first);
        api.cancel(first);
        api.get("/api/v1/users/mu-1/orders");
        api.get("/no/such/path");
        api.send("DELETE", "/api/v1/items", null, Map.of());
        // A collection, so that the GC pause timers exist (they appear with the first pause); the
        // service runs in this JVM. The JVM tells Micrometer of the pause on its notification
        // thread, after System.gc() has returned: the scrape is read again until the timer is
        // there (seen in CI: a scrape right after the collection did not have it yet).
        System.gc();
        Api.Response scrape = api.get("/metrics");
        for (int i = 0; i < 100 && scrape.status() == 200 && !scrape.body().contains("jvm_gc_pause_seconds_count"); i++) {
            sleep(50);
            scrape = api.get("/metrics");
        }
        assertThat(scrape.status()).isEqualTo(200);
        return scrape.body();
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** The metric names in an exposition (samples, so histogram series by their own names). */
    static Set<String> names(String exposition) {
        Set<String> names = new TreeSet<>();
        for (String line : exposition.split("\n")) {
            if (line.isBlank() || line.startsWith("#")) {
                continue;
            }
            int end = 0;
            while (end < line.length() && line.charAt(end) != '{' && line.charAt(end) != ' ') {
                end++;
            }
            names.add(line.substring(0, end));
        }
        return names;
    }
}
