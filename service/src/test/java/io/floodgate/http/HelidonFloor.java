package io.floodgate.http;

import io.floodgate.core.Deadline;
import io.floodgate.core.domain.ItemSpec;
import io.floodgate.core.domain.Order;
import io.floodgate.core.domain.OrderIds;
import io.floodgate.core.domain.OrderStatus;
import io.floodgate.core.port.OrderLog;
import io.floodgate.core.port.OrderStore;
import io.floodgate.direct.GroupCommitOrderLog;
import io.floodgate.jdbc.JdbcStores;
import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.WebServer;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.UUID;

/**
 * The framework's floor for scripts/bench-cost.sh (issue 14): a bare Helidon server, on the same
 * Helidon and JVM as Floodgate, with Helidon's defaults and no edge, admission, auth, metrics or
 * request scope, that does only what any answer must. {@code GET /health/live} writes the same
 * bytes as Floodgate's; {@code POST /api/v1/orders} reads the body the way Floodgate does (by its
 * Content-Length) and, for the item {@code GONE}, answers a 409 problem of the same shape and size
 * as Floodgate's sold-out answer, with a fresh request id. What Floodgate costs beyond this
 * server's CPU per answer is Floodgate's own; what this server costs, no handler can take away.
 *
 * <p>For any other item it is the floor of a <em>durable</em> order: the order is made durable the
 * way Floodgate's embedded default makes it, through the same group commit
 * ({@link GroupCommitOrderLog}, Floodgate's default queue and batch) into the same SQLite store
 * ({@link JdbcStores#embedded}, in a temporary folder), and answered 201 with a body of the size
 * of Floodgate's; with no ledger, no idempotency, no JSON parsing, no edge. The difference between
 * this and Floodgate's new order is what Floodgate adds to the writing of an order.
 *
 * <p>Not a test: run with the test classes and the service jar on the class path (the jar's
 * manifest brings Helidon), {@code java -cp service/target/test-classes:service/target/floodgate.jar
 * io.floodgate.http.HelidonFloor [PORT [DATA_DIR]]}. Prints {@code listening on http://127.0.0.1:PORT} as Floodgate
 * does, and runs until killed.
 */
public final class HelidonFloor {

    static final byte[] UP = "{\"status\":\"UP\"}".getBytes(StandardCharsets.US_ASCII);
    /** The item bench/order.lua names for sold-out answers ({@code SKU=GONE}). */
    static final String SOLD_OUT_SKU = "\"sku\":\"GONE\"";
    private static final HeaderName IDEMPOTENCY_KEY = HeaderNames.create("Idempotency-Key");
    /** The item every other order is written for. */
    static final String STOCKED = "BENCH";
    /** Nobody waits for an order whose caller stopped waiting: the floor has no ledger to tell. */
    static final OrderLog.LateFate NO_LATE_FATE = new OrderLog.LateFate() {
        @Override
        public void stored(Order order) {
        }

        @Override
        public void dropped(Order order) {
        }
    };

    private HelidonFloor() {
    }

    public static void main(String[] args) throws IOException {
        int port = args.length > 0 ? Integer.parseInt(args[0]) : 0;
        Path data = args.length > 1 ? Path.of(args[1]) : Files.createTempDirectory("floodgate-floor-");
        GroupCommitOrderLog log = durableLog(data);
        WebServer server = WebServer.builder()
                .host("127.0.0.1")
                .port(port)
                .routing(r -> r
                        .get("/health/live", (req, res) -> {
                            res.header(HeaderNames.CONTENT_TYPE, "application/json");
                            res.send(UP);
                        })
                        .post("/api/v1/orders", (req, res) -> {
                            long length = req.headers().contentLength().orElse(0);
                            byte[] body;
                            try (InputStream in = req.content().inputStream()) {
                                body = in.readNBytes((int) Math.min(length, 16_384));
                            } catch (IOException e) {
                                res.status(Status.BAD_REQUEST_400).send();
                                return;
                            }
                            String requestId = UUID.randomUUID().toString();
                            if (new String(body, StandardCharsets.ISO_8859_1).contains(SOLD_OUT_SKU)) {
                                res.status(Status.CONFLICT_409);
                                res.header(HeaderNames.CONTENT_TYPE, "application/problem+json");
                                res.send(soldOut(requestId));
                                return;
                            }
                            long now = System.currentTimeMillis();
                            // the client's key, as Floodgate stores it (bench/order.lua's keys rise within
                            // a connection, and so does where the store's unique index takes them), and a
                            // user per key, as bench/order.lua sends
                            String key = req.headers().first(IDEMPOTENCY_KEY).orElse(requestId);
                            Order order = new Order(OrderIds.next(now), STOCKED, "u" + key, 1, OrderStatus.CONFIRMED,
                                    Instant.ofEpochMilli(now), requestId, key);
                            if (log.append(order, Deadline.after(Duration.ofSeconds(5)), NO_LATE_FATE)
                                    instanceof OrderLog.AppendOutcome.Stored) {
                                res.status(Status.CREATED_201);
                                res.header(HeaderNames.CONTENT_TYPE, "application/json");
                                res.send(placed(order));
                            } else {
                                res.status(Status.SERVICE_UNAVAILABLE_503).send();
                            }
                        }))
                .build()
                .start();
        System.out.println("Helidon floor listening on http://127.0.0.1:" + server.port());
    }

    /** Floodgate's group commit (its default queue and batch) into its SQLite store in {@code data}, with the stocked item. */
    static GroupCommitOrderLog durableLog(Path data) {
        OrderStore store = JdbcStores.embedded(data, Clock.systemUTC());
        store.putItem(new ItemSpec(STOCKED, "Floor", ItemSpec.MAX_STOCK, 1_000_000, null, null));
        return new GroupCommitOrderLog(store, 8_192, 512);
    }

    /** An order's answer of the shape and size of Floodgate's 201 (the order view). */
    static byte[] placed(Order order) {
        return ("{\"orderId\":\"" + order.orderId() + "\",\"sku\":\"" + order.sku() + "\",\"userId\":\""
                + order.userId() + "\",\"quantity\":1,\"status\":\"CONFIRMED\",\"createdAt\":\""
                + order.createdAt() + "\",\"requestId\":\"" + order.requestId() + "\"}").getBytes(StandardCharsets.UTF_8);
    }

    /** The sold-out problem as Floodgate words it, with the given request id. */
    static byte[] soldOut(String requestId) {
        return ("{\"type\":\"/problems/sold-out\",\"title\":\"Sold out\",\"status\":409,"
                + "\"code\":\"SOLD_OUT\",\"detail\":\"item GONE has no stock left\",\"requestId\":\"" + requestId + "\"}")
                .getBytes(StandardCharsets.UTF_8);
    }
}
