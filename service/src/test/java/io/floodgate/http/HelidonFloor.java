package io.floodgate.http;

import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.WebServer;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.UUID;

/**
 * The framework's floor for scripts/bench-cost.sh (issue 14): a bare Helidon server, on the same
 * Helidon and JVM as Floodgate, with Helidon's defaults and no edge, admission, auth, metrics or
 * request scope, that does only what any answer must. {@code GET /health/live} writes the same
 * bytes as Floodgate's; {@code POST /api/v1/orders} reads the body the way Floodgate does (by its
 * Content-Length) and answers a 409 problem of the same shape and size as Floodgate's sold-out
 * answer, with a fresh request id. What Floodgate costs beyond this server's CPU per answer is
 * Floodgate's own; what this server costs, no handler can take away.
 *
 * <p>Not a test: run with the test classes and the service jar on the class path (the jar's
 * manifest brings Helidon), {@code java -cp service/target/test-classes:service/target/floodgate.jar
 * io.floodgate.http.HelidonFloor}. Prints {@code listening on http://127.0.0.1:PORT} as Floodgate
 * does, and runs until killed.
 */
public final class HelidonFloor {

    private static final byte[] UP = "{\"status\":\"UP\"}".getBytes(StandardCharsets.US_ASCII);

    private HelidonFloor() {
    }

    public static void main(String[] args) {
        int port = args.length > 0 ? Integer.parseInt(args[0]) : 0;
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
                            try (InputStream in = req.content().inputStream()) {
                                in.readNBytes((int) Math.min(length, 16_384));
                            } catch (IOException e) {
                                res.status(Status.BAD_REQUEST_400).send();
                                return;
                            }
                            res.status(Status.CONFLICT_409);
                            res.header(HeaderNames.CONTENT_TYPE, "application/problem+json");
                            res.send(soldOut(UUID.randomUUID().toString()));
                        }))
                .build()
                .start();
        System.out.println("Helidon floor listening on http://127.0.0.1:" + server.port());
    }

    /** The sold-out problem as Floodgate words it, with the given request id. */
    private static byte[] soldOut(String requestId) {
        return ("{\"type\":\"/problems/sold-out\",\"title\":\"Sold out\",\"status\":409,"
                + "\"code\":\"SOLD_OUT\",\"detail\":\"item GONE has no stock left\",\"requestId\":\"" + requestId + "\"}")
                .getBytes(StandardCharsets.UTF_8);
    }
}
