package io.floodgate.http;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import com.fasterxml.jackson.databind.JsonNode;
import io.floodgate.testing.Api;
import io.floodgate.testing.LogCapture;
import io.floodgate.testing.TestFloodgate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;

import static io.floodgate.http.HttpTestSupport.assertProblemShape;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The findings of issue 17 at the HTTP edge, each as a hostile client would meet it, over raw
 * sockets: connections that send nothing or too little, {@code Connection: close}, broken and
 * valid-but-unusual chunked framing, control bytes in the request line, invented and lower-case
 * methods, doubled and nameless headers, HEAD, the dashboard's headers, log forging through the
 * path, bodies in other charsets, item names that cannot be stored faithfully. Each answer is
 * checked, and what each must not do: change state, answer 5xx, or log a client's mistake as the
 * server's error.
 *
 * <p>The server runs with short edge timeouts (idle 1 s, header section and body 500 ms); a
 * client waits up to 10 s for the close it expects, so nothing here depends on timing but the
 * order of things.
 */
class HostileEdgeTest {

    private static final String ITEM = "EDGE-1";
    private static final AtomicInteger KEYS = new AtomicInteger();

    private static TestFloodgate server;
    private static Api api;

    @BeforeAll
    static void start() {
        server = TestFloodgate.start(Map.of(
                "FLOODGATE_IDLE_TIMEOUT_MS", "1000",
                "FLOODGATE_HEADER_TIMEOUT_MS", "500",
                "FLOODGATE_BODY_TIMEOUT_MS", "500"));
        api = server.api;
        assertThat(api.putItem(ITEM, "Edge item", 1_000, 1_000).status()).isEqualTo(201);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static int port() {
        return server.port();
    }

    private static String key() {
        return "edge-" + KEYS.incrementAndGet();
    }

    private static String order(String user) {
        return "{\"userId\":\"" + user + "\",\"sku\":\"" + ITEM + "\",\"quantity\":1}";
    }

    private static String orderHead(String key, String framing) {
        return "POST /api/v1/orders HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                + "Idempotency-Key: " + key + "\r\n" + framing + "\r\n";
    }

    private static String chunked(String body) {
        return Integer.toHexString(body.getBytes(StandardCharsets.UTF_8).length) + "\r\n" + body + "\r\n0\r\n\r\n";
    }

    private static Map<String, JsonNode> state() {
        Map<String, JsonNode> s = new TreeMap<>();
        s.put("items", api.get("/api/v1/items").json());
        return s;
    }

    private static void assertProblem(RawHttp.Reply r, int status, String code) {
        assertThat(r.status()).as("%s", r).isEqualTo(status);
        assertProblemShape(r.status(), r.header("Content-Type"), r.header("X-Request-Id"), r.json(), r.toString());
        assertThat(r.code()).as("%s", r).isEqualTo(code);
    }

    /**
     * Warnings and errors of the server's own code (Floodgate's and Helidon's): the capture sees
     * every logger in this JVM, where another test's client may still be logging (a ZooKeeper
     * client's reconnect warning once failed this class in CI).
     */
    private static List<ILoggingEvent> serverErrors(LogCapture logs) {
        return logs.atLeast(Level.WARN).stream()
                .filter(e -> e.getLoggerName().startsWith("io.floodgate") || e.getLoggerName().startsWith("io.helidon"))
                .toList();
    }

    // ==== item 2: connections that hold a socket without finishing a request ===================

    @Test
    void aConnectionThatSendsNothingIsClosed() {
        try (RawHttp http = new RawHttp(port())) {
            assertThat(http.closedByServer()).as("a bare connect is closed by the idle timeout").isTrue();
        }
    }

    @Test
    void aRequestLineThatNeverEndsIsClosed() {
        try (RawHttp http = new RawHttp(port())) {
            http.send("GET /api/v1/ite");
            assertThat(http.closedByServer()).isTrue();
        }
    }

    @Test
    void aHeaderSectionThatNeverEndsIsClosed() {
        try (RawHttp http = new RawHttp(port())) {
            http.send("GET /api/v1/items HTTP/1.1\r\nHost: localhost\r\nX-Slow: 1\r\n");
            assertThat(http.closedByServer()).as("closed by the header timeout").isTrue();
        }
        assertThat(metric("floodgate_http_timeouts_total", "phase=\"headers\"")).isGreaterThanOrEqualTo(1);
    }

    @Test
    void aBodyThatNeverArrivesIsClosedAndPlacesNothing() {
        Map<String, JsonNode> before = state();
        try (LogCapture logs = LogCapture.capture(); RawHttp http = new RawHttp(port())) {
            String body = order("slow-body");
            http.send(orderHead(key(), "Content-Length: " + body.length() + "\r\n") + body.substring(0, 10));
            assertThat(http.closedByServer()).as("closed by the body timeout").isTrue();
            assertThat(serverErrors(logs)).as("a slow client is not the server's error").isEmpty();
        }
        assertThat(metric("floodgate_http_timeouts_total", "phase=\"body\"")).isGreaterThanOrEqualTo(1);
        assertThat(state()).isEqualTo(before);
    }

    @Test
    void anIdleKeepAliveConnectionIsClosedAfterItsAnswer() {
        try (RawHttp http = new RawHttp(port())) {
            RawHttp.Reply r = http.send("GET /health/live HTTP/1.1\r\nHost: localhost\r\n\r\n").read();
            assertThat(r.status()).isEqualTo(200);
            assertThat(http.closedByServer()).as("closed once idle").isTrue();
        }
    }

    @Test
    void connectionCloseFromTheClientEndsTheConnectionAfterTheAnswer() {
        try (RawHttp http = new RawHttp(port())) {
            // a second request pipelined behind the first: it must not be served
            RawHttp.Reply r = http.send("GET /health/live HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
                    + "GET /health/live HTTP/1.1\r\nHost: localhost\r\n\r\n").read();
            assertThat(r.status()).isEqualTo(200);
            assertThat(http.closedByServer()).as("nothing after the answer to Connection: close").isTrue();
        }
    }

    @Test
    void connectionsPerClientAreCappedWhenConfigured() throws InterruptedException {
        try (TestFloodgate capped = TestFloodgate.start(Map.of("FLOODGATE_MAX_CONNECTIONS_PER_CLIENT", "4"))) {
            List<RawHttp> held = new ArrayList<>();
            try {
                for (int i = 0; i < 4; i++) {
                    RawHttp http = new RawHttp(capped.port());
                    held.add(http);
                    assertThat(http.send("GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n").read().status()).isEqualTo(200);
                }
                RawHttp.Reply fifth = RawHttp.exchange(capped.port(), "GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n");
                assertThat(fifth.status()).as("%s", fifth).isIn(429, -1);
                if (fifth.status() == 429) {
                    assertThat(fifth.code()).isEqualTo("RATE_LIMITED");
                    assertThat(fifth.header("Retry-After")).isPresent();
                }
                held.removeFirst().close();
                // the freed slot is taken by the next connection once the server has seen the close
                RawHttp.Reply again = null;
                long giveUp = System.nanoTime() + 10_000_000_000L;
                while (System.nanoTime() - giveUp < 0) {
                    again = RawHttp.exchange(capped.port(), "GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n");
                    if (again.status() == 200) {
                        break;
                    }
                    Thread.sleep(20);
                }
                assertThat(again).isNotNull();
                assertThat(again.status()).as("a slot is free again: %s", again).isEqualTo(200);
            } finally {
                held.forEach(RawHttp::close);
            }
            assertThat(capped.api.get("/metrics").body())
                    .containsPattern("floodgate_http_connections_refused_total\\{reason=\"per_client\",?\\} [1-9]");
        }
    }

    @Test
    void connectionsPerInstanceAreCappedAndTheNextWaitsForAFreeSlot() {
        try (TestFloodgate capped = TestFloodgate.start(Map.of("FLOODGATE_MAX_CONNECTIONS", "1"));
             RawHttp held = new RawHttp(capped.port()); RawHttp waiting = new RawHttp(capped.port())) {
            assertThat(held.send("GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n").read().status()).isEqualTo(200);
            waiting.send("GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n");
            // the held connection sees one connection open: the waiting one was not accepted
            RawHttp.Reply metrics = held.send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").read();
            assertThat(metrics.text()).containsPattern("(?m)^floodgate_http_connections(\\{\\})? 1(\\.0)?$");
            held.close();
            assertThat(waiting.read().status()).as("answered once the slot is free").isEqualTo(200);
        }
    }

    // ==== item 4: chunked framing, control bytes in the request line ===========================

    @Test
    void malformedChunkSizesAre400AndNotLoggedAsServerErrors() {
        Map<String, JsonNode> before = state();
        try (LogCapture logs = LogCapture.capture()) {
            for (String framing : List.of("zz\r\n{}\r\n0\r\n\r\n", "-1\r\n{}\r\n0\r\n\r\n", "7;=x\r\n{\"a\":1}\r\n0\r\n\r\n",
                    "2\r\n{}XX0\r\n\r\n", "0\r\nnot a field\r\n\r\n", "fffffffff\r\n{}\r\n0\r\n\r\n",
                    "2 \u0000\r\n{}\r\n0\r\n\r\n")) {
                RawHttp.Reply r = RawHttp.exchange(port(), orderHead(key(), "Transfer-Encoding: chunked\r\n") + framing);
                assertProblem(r, 400, "INVALID_REQUEST");
            }
            assertThat(serverErrors(logs)).as("no ERROR or WARN line for a client's mistake").isEmpty();
        }
        assertThat(state()).isEqualTo(before);
    }

    @Test
    void aBrokenChunkedBodyClosesTheConnectionAfterItsAnswer() {
        try (RawHttp http = new RawHttp(port())) {
            RawHttp.Reply r = http.send(orderHead(key(), "Transfer-Encoding: chunked\r\n") + "zz\r\n{}\r\n0\r\n\r\n"
                    + "GET /health/live HTTP/1.1\r\nHost: localhost\r\n\r\n").read();
            assertProblem(r, 400, "INVALID_REQUEST");
            assertThat(http.closedByServer()).as("where the next request starts is unknown: closed").isTrue();
        }
    }

    @Test
    void validChunkExtensionsAndTrailersWork() {
        String body = order("chunk-ext");
        String half1 = body.substring(0, 20);
        String half2 = body.substring(20);
        String withExtensions = Integer.toHexString(half1.length()) + ";foo=bar\r\n" + half1 + "\r\n"
                + Integer.toHexString(half2.length()) + " ; name=\"quoted \\\" value\" ;flag\r\n" + half2 + "\r\n"
                + "0;last\r\n\r\n";
        RawHttp.Reply r = RawHttp.exchange(port(), orderHead(key(), "Transfer-Encoding: chunked\r\n") + withExtensions);
        assertThat(r.status()).as("%s", r).isEqualTo(201);
        String withTrailers = chunked(order("chunk-trailer")).replace("0\r\n\r\n", "0\r\nX-Checksum: abc\r\nX-More: 1\r\n\r\n");
        RawHttp.Reply t = RawHttp.exchange(port(), orderHead(key(), "Transfer-Encoding: chunked\r\n") + withTrailers);
        assertThat(t.status()).as("%s", t).isEqualTo(201);
        // chunks of one and two bytes (a two-byte chunk's data must not be taken for the CRLF after it)
        String small = order("chunk-small");
        StringBuilder tiny = new StringBuilder();
        for (int at = 0; at < small.length(); ) {
            int n = Math.min(small.length() - at, at % 3 == 0 ? 2 : 1);
            tiny.append(n).append("\r\n").append(small, at, at + n).append("\r\n");
            at += n;
        }
        RawHttp.Reply s = RawHttp.exchange(port(), orderHead(key(), "Transfer-Encoding: chunked\r\n") + tiny + "0\r\n\r\n");
        assertThat(s.status()).as("%s", s).isEqualTo(201);
        // and the connection stays usable after a chunked body with extensions and trailers
        try (RawHttp http = new RawHttp(port())) {
            String again = chunked(order("chunk-keepalive")).replace("0\r\n\r\n", "0\r\nX-Checksum: abc\r\n\r\n");
            RawHttp.Reply first = http.send(orderHead(key(), "Transfer-Encoding: chunked\r\n") + again).read();
            assertThat(first.status()).as("%s", first).isEqualTo(201);
            assertThat(http.send("GET /health/live HTTP/1.1\r\nHost: localhost\r\n\r\n").read().status()).isEqualTo(200);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"GET /api/v1/items\u0000 HTTP/1.1", "GET /api/v1/it\u0000ems HTTP/1.1",
            "GET\t/api/v1/items HTTP/1.1", "GET /api/v1/items\tHTTP/1.1", "GET /api/v1/it\tems HTTP/1.1",
            "GET /api/v1/items\u007F HTTP/1.1", "GET /api/v1/\u00e9 HTTP/1.1", "GET  /api/v1/items HTTP/1.1",
            "GET /api/v1/items HTTP/1.1 ", "G\u0000T /api/v1/items HTTP/1.1", "GE(T /api/v1/items HTTP/1.1"})
    void controlBytesAndBadSpacingInTheRequestLineAre400(String requestLine) {
        try (LogCapture logs = LogCapture.capture()) {
            RawHttp.Reply r = RawHttp.exchange(port(), requestLine + "\r\nHost: localhost\r\n\r\n");
            assertProblem(r, 400, "INVALID_REQUEST");
            assertThat(serverErrors(logs)).isEmpty();
        }
    }

    // ==== item 9: methods, headers, HEAD, the dashboard ==========================================

    @ParameterizedTest
    @ValueSource(strings = {"get", "Get", "post", "heAD"})
    void aMethodNotInUpperCaseIs400NotServedAsTheUpperCaseOne(String method) {
        Map<String, JsonNode> before = state();
        RawHttp.Reply r = RawHttp.exchange(port(), method + " /api/v1/items HTTP/1.1\r\nHost: localhost\r\n\r\n");
        assertProblem(r, 400, "INVALID_REQUEST");
        assertThat(r.json().path("detail").asText()).contains("upper case");
        assertThat(state()).isEqualTo(before);
    }

    @ParameterizedTest
    @ValueSource(strings = {"M00042X", "BREW", "PROPFIND"})
    void anUnknownMethodIs405WithAllowNeverA5xx(String method) {
        RawHttp.Reply r = RawHttp.exchange(port(), method + " /api/v1/items HTTP/1.1\r\nHost: localhost\r\n\r\n");
        assertProblem(r, 405, "METHOD_NOT_ALLOWED");
        assertThat(r.header("Allow")).hasValue("GET, HEAD");
        RawHttp.Reply unknownPath = RawHttp.exchange(port(), method + " /nowhere HTTP/1.1\r\nHost: localhost\r\n\r\n");
        assertProblem(unknownPath, 404, "NOT_FOUND");
    }

    @Test
    void aRequestCutShortInItsHeadersIsNotAServerError() {
        try (LogCapture logs = LogCapture.capture()) {
            for (String cut : List.of("GET /api/v1/items HTTP/1.1\r\nHost: localhost\r\nX-Request-Id: ",
                    "GET /api/v1/items HTTP/1.1\r\nHost: local", "GET /api/v1/items HTTP/1.1\r\n")) {
                RawHttp.Reply r = RawHttp.exchange(port(), cut);
                assertThat(r.status()).as("cut after %s: %s", cut, r).isLessThan(500);
            }
            assertThat(serverErrors(logs)).isEmpty();
        }
    }

    @Test
    void aKnownMethodAPathDoesNotTakeIs405WithAllow() {
        RawHttp.Reply r = RawHttp.exchange(port(), "DELETE /api/v1/items HTTP/1.1\r\nHost: localhost\r\n\r\n");
        assertProblem(r, 405, "METHOD_NOT_ALLOWED");
        assertThat(r.header("Allow")).hasValueSatisfying(a -> assertThat(a).contains("GET"));
    }

    @Test
    void twoAuthorizationHeadersAre400() {
        Map<String, JsonNode> before = state();
        RawHttp.Reply r = RawHttp.exchange(port(), "POST /api/v1/items/" + ITEM + "/stock HTTP/1.1\r\nHost: localhost\r\n"
                + "Content-Type: application/json\r\nAuthorization: Bearer wrong\r\nAuthorization: "
                + HttpTestSupport.ADMIN + "\r\nContent-Length: 12\r\n\r\n{\"delta\":10}");
        assertProblem(r, 400, "INVALID_REQUEST");
        assertThat(state()).isEqualTo(before);
    }

    @Test
    void twoIdempotencyKeysAre400() {
        String body = order("two-keys");
        RawHttp.Reply r = RawHttp.exchange(port(), "POST /api/v1/orders HTTP/1.1\r\nHost: localhost\r\n"
                + "Content-Type: application/json\r\nIdempotency-Key: a1\r\nIdempotency-Key: a2\r\nContent-Length: "
                + body.length() + "\r\n\r\n" + body);
        assertProblem(r, 400, "INVALID_REQUEST");
    }

    @ParameterizedTest
    @ValueSource(strings = {": empty-name", " : space-name", "X-Bad Name: v", "X-Ctl: a\u0001b", "X-Nul: a\u0000b",
            "X\u0000Y: v"})
    void anEmptyOrInvalidHeaderNameOrAControlCharacterIs400(String headerLine) {
        RawHttp.Reply r = RawHttp.exchange(port(), "GET /api/v1/items HTTP/1.1\r\nHost: localhost\r\n" + headerLine
                + "\r\n\r\n");
        assertProblem(r, 400, "INVALID_REQUEST");
    }

    @Test
    void headOnAGetRouteAnswersTheHeadersWithoutABody() {
        try (RawHttp http = new RawHttp(port())) {
            RawHttp.Reply get = http.send("GET /api/v1/items/" + ITEM + " HTTP/1.1\r\nHost: localhost\r\n\r\n").read();
            assertThat(get.status()).isEqualTo(200);
            http.send("HEAD /api/v1/items/" + ITEM + " HTTP/1.1\r\nHost: localhost\r\n\r\n");
            // read the head only: a HEAD answer has no body, whatever its Content-Length says
            RawHttp.Reply head = http.readHead();
            assertThat(head.status()).as("%s", head).isEqualTo(200);
            assertThat(head.header("Content-Type")).isEqualTo(get.header("Content-Type"));
            assertThat(head.header("Content-Length")).as("the length the body would have had")
                    .hasValue(Integer.toString(get.body().length));
            // the same connection goes on with the next answer right after the head: no body bytes came
            RawHttp.Reply next = http.send("GET /health/live HTTP/1.1\r\nHost: localhost\r\n\r\n").read();
            assertThat(next.status()).as("the answer after HEAD starts where the HEAD answer ended").isEqualTo(200);
        }
    }

    @Test
    void theDashboardSendsSecurityHeaders() {
        Api.Response r = api.get("/");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.header("Content-Security-Policy")).hasValueSatisfying(csp -> assertThat(csp)
                .contains("default-src 'none'", "script-src 'sha256-", "connect-src 'self'", "frame-ancestors 'none'")
                .doesNotContain("unsafe-eval").doesNotContainPattern("script-src[^;]*unsafe-inline"));
        assertThat(r.header("X-Content-Type-Options")).hasValue("nosniff");
        assertThat(r.header("Referrer-Policy")).hasValue("no-referrer");
        assertThat(r.header("X-Frame-Options")).hasValue("DENY");
    }

    // ==== item 5: nothing a client sends reaches a log line unescaped ============================

    @Test
    void aLineBreakInThePathCannotForgeALogLine() {
        try (LogCapture logs = LogCapture.at("io.floodgate", Level.DEBUG)) {
            Api.Response r = api.get("/api/v1/orders/abc%0a2026-01-01T00:00:00Z%20INFO%20forged%0d%1b%5b31m");
            assertThat(r.status()).isEqualTo(404);
            // the line is written once the answer is sent: wait for it (10 s at most)
            long giveUp = System.nanoTime() + 10_000_000_000L;
            while (logs.events().stream().noneMatch(e -> e.getFormattedMessage().contains("/api/v1/orders/{orderId}"))
                    && System.nanoTime() - giveUp < 0) {
                Thread.onSpinWait();
            }
            List<ILoggingEvent> events = logs.events();
            assertThat(events).as("DEBUG writes a line per answered request").isNotEmpty();
            for (ILoggingEvent e : events) {
                String line = e.getFormattedMessage() + " " + e.getMDCPropertyMap();
                assertThat(line).as("log line %s", line).doesNotContain("\n", "\r", "\u001b");
            }
            assertThat(events).anySatisfy(e -> assertThat(e.getMDCPropertyMap().get("orderId")).contains("\\u000a"));
        }
    }

    // ==== item 8: charsets and names ===============================================================

    @ParameterizedTest
    @ValueSource(strings = {"UTF-16", "UTF-16BE", "UTF-16LE", "UTF-32", "ISO-8859-1", "utf-7"})
    void aBodyInAnotherCharsetIs415AndPlacesNothing(String charset) {
        Map<String, JsonNode> before = state();
        byte[] body = order("charset-user").getBytes(java.nio.charset.Charset.isSupported(charset)
                ? java.nio.charset.Charset.forName(charset) : StandardCharsets.UTF_8);
        HttpTestSupport.Reply r = HttpTestSupport.send(api, "POST", "/api/v1/orders", body,
                Map.of("Content-Type", "application/json; charset=" + charset, "Idempotency-Key", key()));
        HttpTestSupport.assertProblem(r, 415, "UNSUPPORTED_MEDIA_TYPE");
        assertThat(state()).isEqualTo(before);
    }

    @Test
    void aUtf16Or32BodyWithoutACharsetIsRefusedAndPlacesNothing() {
        Map<String, JsonNode> before = state();
        String json = order("bom-user");
        List<byte[]> bodies = List.of(json.getBytes(StandardCharsets.UTF_16), // big-endian, with a BOM
                json.getBytes(StandardCharsets.UTF_16LE), json.getBytes(StandardCharsets.UTF_16BE),
                json.getBytes(java.nio.charset.Charset.forName("UTF-32")),
                concat(new byte[]{(byte) 0xFF, (byte) 0xFE}, json.getBytes(StandardCharsets.UTF_16LE)),
                concat(new byte[]{(byte) 0xEF, (byte) 0xBB, (byte) 0xBF}, json.getBytes(StandardCharsets.UTF_8)));
        for (byte[] body : bodies) {
            HttpTestSupport.Reply r = HttpTestSupport.send(api, "POST", "/api/v1/orders", body,
                    Map.of("Content-Type", "application/json", "Idempotency-Key", key()));
            assertThat(r.status()).as("%s", r).isIn(400, 415);
            assertProblemShape(r.status(), r.header("Content-Type"), r.header("X-Request-Id"), r.json(), r.toString());
        }
        assertThat(state()).isEqualTo(before);
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = new byte[a.length + b.length];
        System.arraycopy(a, 0, out, 0, a.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @ParameterizedTest
    @ValueSource(strings = {"lone \\ud800 surrogate", "trailing \\udc00", "nul \\u0000 inside", "bell \\u0007",
            "tab\\tinside", "new\\nline", "del \\u007f", "c1 \\u0085 control", "rtl \\u202e override", "isolate \\u2066 x",
            "mark \\u200f", "arabic mark \\u061c", "nonchar \\uffff", "nonchar \\ufdd0"})
    void anItemNameThatCannotBeStoredFaithfullyIs400AndChangesNothing(String name) {
        Map<String, JsonNode> before = state();
        Api.Response r = api.putItem("EDGE-NAME", "{\"name\":\"" + name + "\",\"stock\":5}");
        HttpTestSupport.assertProblem(r, 400, "INVALID_REQUEST");
        assertThat(r.json().path("detail").asText()).contains("name");
        assertThat(state()).isEqualTo(before);
    }

    @Test
    void anItemNameWithEmojiAndOtherScriptsIsKept() {
        String name = "Phone \uD83D\uDCF1 \u00e9\u4e2d \uD83D\uDC68\u200D\uD83D\uDC69";
        Api.Response r = api.putItem("EDGE-EMOJI", "{\"name\":\"" + name + "\",\"stock\":5}");
        assertThat(r.status()).as("%s", r).isEqualTo(201);
        assertThat(api.item("EDGE-EMOJI").json().get("name").asText()).isEqualTo(name);
    }

    // ==== item 7: a reused key does not name another user's order ====================================

    @Test
    void a422ForAKeyTakenByAnotherUserDoesNotNameTheirOrder() {
        String key = key();
        Api.Response bob = api.order(key, "bob-" + key, ITEM, 1);
        assertThat(bob.status()).isEqualTo(201);
        String bobsOrder = bob.json().get("orderId").asText();
        Api.Response alice = api.order(key, "alice-" + key, ITEM, 1);
        HttpTestSupport.assertProblem(alice, 422, "IDEMPOTENCY_KEY_REUSED");
        assertThat(alice.body()).doesNotContain(bobsOrder);
    }

    /** The value of the series of {@code name} whose labels hold {@code label}, or -1. */
    static long metric(String name, String label) {
        for (String line : api.get("/metrics").body().split("\n")) {
            if (line.startsWith(name + "{") && line.contains(label)) {
                return (long) Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1).trim());
            }
        }
        return -1;
    }
}
