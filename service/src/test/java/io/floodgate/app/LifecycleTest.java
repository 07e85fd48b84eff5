package io.floodgate.app;

import com.fasterxml.jackson.databind.JsonNode;
import io.floodgate.testing.Api;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The service's life as a process: a SIGTERM drains and exits 0 without losing an acknowledged
 * order; a second process on the same data directory is refused (exit 2) and the first goes on
 * serving; and items and orders survive a clean restart.
 */
class LifecycleTest {

    private static final int LONG_REQUEST_SECONDS = 3;
    private static final Pattern HTTP_IN_FLIGHT = Pattern.compile("(?m)^floodgate_http_in_flight\\S*\\s+([0-9.]+)");

    @TempDir(cleanup = CleanupMode.ON_SUCCESS)
    Path tmp;

    private final List<ServiceProcess> processes = new ArrayList<>();

    @AfterEach
    void killProcesses() {
        processes.forEach(ServiceProcess::close);
    }

    private ServiceProcess start(Path dataDir, String label) {
        ServiceProcess process = ServiceProcess.start(dataDir, label);
        processes.add(process);
        return process;
    }

    @Test
    void sigtermDuringABurstDrainsExitsZeroAndKeepsEveryAcknowledgedOrder() {
        String name = "term";
        long seed = Long.getLong("crash.seed", System.nanoTime());
        String context = "LifecycleTest SIGTERM seed=" + seed;
        System.out.println(context);
        Random rnd = new Random(seed);
        Path dataDir = tmp.resolve(name);
        OrderBurst burst = OrderBurst.random(rnd, context, name, 600, 1000);
        int ackTarget = 20 + rnd.nextInt((int) Math.max(1, burst.totalStock() / 3));

        ServiceProcess first = start(dataDir, name + "-first");
        burst.createItems(first.api());
        burst.run(first, OrderBurst.Stop.TERM, ackTarget, burst.requests.size() * 3 / 4, 48);
        int exitCode = first.awaitExit(ServiceProcess.EXIT_TIMEOUT);
        String summary = burst.summary();
        System.out.println(summary + "; exit code " + exitCode);
        assertThat(exitCode).as("%s: exit code after SIGTERM; output %s:%n%s", context, first.logFile(),
                ServiceProcess.tail(first.output(), 5000)).isZero();
        assertThat(burst.acks).as("%s: nothing was acknowledged; %s", context, summary).isNotEmpty();

        ServiceProcess restarted = start(dataDir, name + "-restart");
        OrderBurst.AuditReport report = burst.audit(restarted.api());
        System.out.println(context + ": " + report);
        assertThat(report.violations())
                .as("%s: %s%nservice logs: %s, %s%nviolations:%s", context, summary, first.logFile(),
                        restarted.logFile(), OrderBurst.describe(report.violations(), 40))
                .isEmpty();
        // A drain finishes what it started: no order was made durable and then left unanswered
        // (a request that got no answer may have been refused, never half-done).
        assertThat(report.durableButUnanswered())
                .as("%s: orders stored whose requests got a broken connection instead of an answer during the"
                        + " drain; %s; service log %s", context, summary, first.logFile())
                .isEmpty();
        assertThat(restarted.terminate()).as("%s: SIGTERM after the audit", context).isZero();
    }

    /** The drain lets a long request in flight finish: it is answered, then the process exits 0. */
    @Test
    void sigtermLetsALongRequestInFlightFinish() throws Exception {
        ServiceProcess service = start(tmp.resolve("long"), "long-request");
        try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
            Future<Api.Response> profile = threads.submit(() -> longRequest(service.api()));
            awaitInFlight(service.api(), profile);
            service.sendTerm();
            int code = service.awaitExit(ServiceProcess.EXIT_TIMEOUT);
            assertThat(answerOf(profile)).as("the request in flight at the SIGTERM; service log %s",
                    service.logFile()).isEqualTo("200");
            assertThat(code).as("exit code after SIGTERM; output:%n%s", service.output()).isZero();
        }
    }

    /**
     * A second SIGTERM (or a SIGINT after the SIGTERM, as from an impatient operator or a
     * supervisor that signals twice) while the drain runs must not cut the drain short: the
     * request in flight is still answered, and the process still exits 0.
     */
    @Test
    void aSecondSigtermWhileDrainingDoesNotCutTheDrainShort() throws Exception {
        ServiceProcess service = start(tmp.resolve("long2"), "long-request-twice");
        try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
            Future<Api.Response> profile = threads.submit(() -> longRequest(service.api()));
            awaitInFlight(service.api(), profile);
            service.sendTerm();
            awaitListenerClosed(service.api());
            service.sendTerm();
            int code = service.awaitExit(ServiceProcess.EXIT_TIMEOUT);
            assertThat(answerOf(profile)).as("the request in flight at the first SIGTERM, after a second SIGTERM"
                    + " during the drain; service output:%n%s", service.output()).isEqualTo("200");
            assertThat(code).as("exit code after two SIGTERMs; output:%n%s", service.output()).isZero();
        }
    }

    /** A request that takes {@link #LONG_REQUEST_SECONDS} seconds: a Flight Recorder profile. */
    private static Api.Response longRequest(Api api) {
        return api.send("POST", "/debug/profile?seconds=" + LONG_REQUEST_SECONDS, null,
                Map.of("Authorization", "Bearer " + ServiceProcess.ADMIN_TOKEN));
    }

    /**
     * Waits until the service is serving the long request: its in-flight gauge counts it and the
     * scrape itself (if the gauge cannot be found, waits a fixed second instead).
     */
    private static void awaitInFlight(Api api, Future<Api.Response> request) {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (System.nanoTime() < deadline && !request.isDone()) {
            Matcher m = HTTP_IN_FLIGHT.matcher(api.get("/metrics").body());
            if (!m.find()) {
                OrderBurst.sleep(1000);
                return;
            }
            if (Double.parseDouble(m.group(1)) >= 2) {
                return;
            }
            OrderBurst.sleep(20);
        }
        assertThat(request).as("the long request ended before the SIGTERM").isNotDone();
        throw new AssertionError("the long request was not seen in flight within 20 s");
    }

    /** Waits until the listener no longer answers: the drain has begun. */
    private static void awaitListenerClosed(Api api) {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (System.nanoTime() < deadline) {
            try {
                api.get("/health/live");
            } catch (RuntimeException e) {
                return;
            }
            OrderBurst.sleep(10);
        }
        throw new AssertionError("the service still answers 20 s after SIGTERM");
    }

    /** The status of the request's answer, or what broke it. */
    private static String answerOf(Future<Api.Response> request) throws InterruptedException {
        try {
            return String.valueOf(request.get(60, TimeUnit.SECONDS).status());
        } catch (ExecutionException e) {
            return "no answer: " + e.getCause();
        } catch (TimeoutException e) {
            return "no answer within 60 s";
        }
    }

    @Test
    void aSecondProcessOnTheSameDataDirectoryExitsTwoAndTheFirstKeepsServing() {
        Path dataDir = tmp.resolve("shared");
        ServiceProcess first = start(dataDir, "owner");
        Api api = first.api();
        assertThat(api.putItem("lock-item", "Locked", 10, 2).status()).isEqualTo(201);
        Api.Response placed = api.order("lock-k1", "lock-u1", "lock-item", 1);
        assertThat(placed.status()).as("%s", placed).isEqualTo(201);
        String orderId = placed.json().path("orderId").asText();

        ServiceProcess second = ServiceProcess.launch(dataDir, "intruder", Map.of());
        processes.add(second);
        int code = second.awaitExit(ServiceProcess.START_TIMEOUT);
        String output = second.output();
        System.out.println("second process exited " + code + ":\n" + output);
        assertThat(code).as("exit code of a second process on %s; output:%n%s", dataDir, output).isEqualTo(2);
        assertThat(output).as("the second process's output").containsIgnoringCase("in use")
                .doesNotContain("Floodgate listening");

        assertThat(first.isAlive()).as("the first process is still running").isTrue();
        assertThat(api.get("/health/ready").status()).isEqualTo(200);
        Api.Response replay = api.order("lock-k1", "lock-u1", "lock-item", 1);
        assertThat(replay.status()).as("%s", replay).isEqualTo(200);
        assertThat(replay.json().path("orderId").asText()).isEqualTo(orderId);
        Api.Response another = api.order("lock-k2", "lock-u2", "lock-item", 2);
        assertThat(another.status()).as("%s", another).isEqualTo(201);
        JsonNode item = api.item("lock-item").json();
        assertThat(item.path("available").asLong()).isEqualTo(7);

        // The lock goes with the owner: after a clean exit the directory can be opened again.
        assertThat(first.terminate()).isZero();
        ServiceProcess next = start(dataDir, "next-owner");
        assertThat(next.api().get("/api/v1/orders/" + orderId).status()).isEqualTo(200);
        assertThat(next.api().item("lock-item").json().path("available").asLong()).isEqualTo(7);
        assertThat(next.terminate()).isZero();
    }

    @Test
    void itemsAndOrdersSurviveACleanRestart() {
        Path dataDir = tmp.resolve("restart");
        ServiceProcess first = start(dataDir, "restart-first");
        Api api = first.api();

        assertThat(api.putItem("phone", "{\"name\":\"Phone X\",\"stock\":100,\"perUserLimit\":2,"
                + "\"startsAt\":\"2020-01-01T00:00:00Z\",\"endsAt\":\"2999-01-01T00:00:00Z\"}").status()).isEqualTo(201);
        assertThat(api.putItem("case", "Phone case", 5, 1).status()).isEqualTo(201);
        assertThat(api.putItem("spare", "Never ordered", 3, 1).status()).isEqualTo(201);

        Map<String, JsonNode> orders = new LinkedHashMap<>();
        for (int u = 0; u < 6; u++) {
            Api.Response r = api.order("phone-" + u, "user-" + u, "phone", 1 + u % 2);
            assertThat(r.status()).as("%s", r).isEqualTo(201);
            orders.put(r.json().path("orderId").asText(), r.json());
        }
        for (int u = 0; u < 5; u++) {
            Api.Response r = api.order("case-" + u, "user-" + u, "case", 1);
            assertThat(r.status()).as("%s", r).isEqualTo(201);
            orders.put(r.json().path("orderId").asText(), r.json());
        }
        assertThat(api.order("case-5", "user-5", "case", 1).code()).isEqualTo("SOLD_OUT");
        assertThat(api.order("phone-1b", "user-1", "phone", 1).code()).isEqualTo("PER_USER_LIMIT");

        String cancelledId = orders.keySet().stream().filter(id -> orders.get(id).path("sku").asText().equals("case"))
                .findFirst().orElseThrow();
        Api.Response cancelled = api.cancel(cancelledId);
        assertThat(cancelled.status()).as("%s", cancelled).isEqualTo(200);
        orders.put(cancelledId, cancelled.json());
        assertThat(api.addStock("phone", 10).status()).isEqualTo(200);
        assertThat(api.addStock("phone", -3).status()).isEqualTo(200);

        Map<String, JsonNode> itemsBefore = new LinkedHashMap<>();
        for (String sku : List.of("phone", "case", "spare")) {
            itemsBefore.put(sku, api.item(sku).json());
        }
        assertThat(itemsBefore.get("phone").path("stock").asLong()).isEqualTo(107);
        assertThat(itemsBefore.get("phone").path("available").asLong()).isEqualTo(107 - 9);
        assertThat(itemsBefore.get("case").path("available").asLong()).isEqualTo(1);
        Map<String, JsonNode> listsBefore = new LinkedHashMap<>();
        for (int u = 0; u < 6; u++) {
            listsBefore.put("user-" + u, api.get("/api/v1/users/user-" + u + "/orders?limit=500").json());
        }

        assertThat(first.terminate()).as("exit code of a SIGTERM; output %s", first.logFile()).isZero();
        ServiceProcess second = start(dataDir, "restart-second");
        Api after = second.api();

        for (var e : itemsBefore.entrySet()) {
            assertThat(after.item(e.getKey()).json()).as("item %s after the restart", e.getKey()).isEqualTo(e.getValue());
        }
        for (var e : orders.entrySet()) {
            Api.Response r = after.get("/api/v1/orders/" + e.getKey());
            assertThat(r.status()).as("order %s after the restart", e.getKey()).isEqualTo(200);
            assertThat(r.json()).as("order %s after the restart", e.getKey()).isEqualTo(e.getValue());
        }
        for (var e : listsBefore.entrySet()) {
            assertThat(after.get("/api/v1/users/" + e.getKey() + "/orders?limit=500").json())
                    .as("orders of %s after the restart", e.getKey()).isEqualTo(e.getValue());
        }

        // The ledger was rebuilt, not just the rows: keys replay, limits and locks hold, and the
        // cancelled unit is for sale again.
        Api.Response replay = after.order("phone-3", "user-3", "phone", 2);
        assertThat(replay.status()).as("%s", replay).isEqualTo(200);
        assertThat(replay.header("Idempotent-Replayed")).hasValue("true");
        assertThat(replay.json().path("orderId").asText()).isEqualTo(orders.values().stream()
                .filter(o -> o.path("userId").asText().equals("user-3") && o.path("sku").asText().equals("phone"))
                .findFirst().orElseThrow().path("orderId").asText());
        assertThat(after.order("phone-3", "user-3", "phone", 1).code()).isEqualTo("IDEMPOTENCY_KEY_REUSED");
        assertThat(after.order("phone-1c", "user-1", "phone", 1).code()).isEqualTo("PER_USER_LIMIT");
        assertThat(after.putItem("phone", "Phone Y", 5, 1).code()).isEqualTo("ITEM_LOCKED");
        assertThat(after.putItem("spare", "Still replaceable", 4, 1).status()).isEqualTo(200);
        Api.Response cancelledReplay = after.order(keyOfCase(orders, cancelledId), userOf(orders, cancelledId), "case", 1);
        assertThat(cancelledReplay.status()).as("replay of the cancelled order's key: %s", cancelledReplay).isEqualTo(200);
        assertThat(cancelledReplay.json().path("status").asText()).isEqualTo("CANCELLED");
        Api.Response resold = after.order("case-9", "user-9", "case", 1);
        assertThat(resold.status()).as("the cancelled unit is for sale again: %s", resold).isEqualTo(201);
        assertThat(after.order("case-10", "user-10", "case", 1).code()).isEqualTo("SOLD_OUT");

        assertThat(second.terminate()).isZero();
    }

    /** The case orders were placed as case-0..case-4 by user-0..user-4, in that order. */
    private static String keyOfCase(Map<String, JsonNode> orders, String orderId) {
        return "case-" + userOf(orders, orderId).substring("user-".length());
    }

    private static String userOf(Map<String, JsonNode> orders, String orderId) {
        return orders.get(orderId).path("userId").asText();
    }
}
