package io.floodgate.http;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import com.fasterxml.jackson.databind.JsonNode;
import io.floodgate.testing.Api;
import io.floodgate.testing.LogCapture;
import io.floodgate.testing.Seeds;
import io.floodgate.testing.TestFloodgate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A seeded fuzz of the whole HTTP edge over raw sockets: valid requests of every kind, mutated at
 * the level of bytes (control bytes, deleted and doubled lines, bare LFs, folded and nameless
 * headers, methods and versions), of framing (Content-Length and Transfer-Encoding, chunk sizes,
 * extensions and trailers, pipelined and truncated requests) and of JSON bodies. Every answer
 * must be below 500, and a problem+json with a request id when it is a 4xx (checked on the answer to
 * the first request, whose body is known to be read right); nothing may change
 * (the fixture's items are sold out and no request carries the admin token, so a request that
 * is valid after mutation is refused too); the metric series stay bounded; no line is logged at
 * ERROR.
 *
 * <p>Case {@code i} of a run is generated from {@code seed} and {@code i} alone, so a failure
 * names both and replays alone: {@code -Dfuzz.edge.seed=<seed> -Dfuzz.edge.case=<i>}. The number
 * of cases is {@code -Dfuzz.edge.cases} (default 24,000, about half a minute here).
 */
class EdgeFuzzTest {

    private static final String SOLD = "FZ-SOLD";
    private static final String ZERO = "FZ-ZERO";
    private static final String USER = "fz-user";

    private static TestFloodgate server;
    private static Api api;
    private static String fixtureOrder;

    @BeforeAll
    static void start() {
        server = TestFloodgate.start(Map.of(
                "FLOODGATE_IDLE_TIMEOUT_MS", "2000",
                "FLOODGATE_HEADER_TIMEOUT_MS", "2000",
                "FLOODGATE_BODY_TIMEOUT_MS", "2000"));
        api = server.api;
        assertThat(api.putItem(SOLD, "Fuzz sold out", 1, 1).status()).isEqualTo(201);
        assertThat(api.putItem(ZERO, "Fuzz zero", 0, 1).status()).isEqualTo(201);
        Api.Response placed = api.order("fz-fixture", USER, SOLD, 1);
        assertThat(placed.status()).isEqualTo(201);
        fixtureOrder = placed.json().get("orderId").asText();
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static Map<String, JsonNode> state() {
        Map<String, JsonNode> s = new TreeMap<>();
        s.put("items", api.get("/api/v1/items").json());
        s.put("orders", api.get("/api/v1/users/" + USER + "/orders").json());
        s.put("fixture", api.get("/api/v1/orders/" + fixtureOrder).json());
        return s;
    }

    @Test
    void noMutatedRequestGetsA5xxChangesStateGrowsMetricsOrLogsAnError() throws Exception {
        long seed = Seeds.seed("fuzz.edge.seed");
        int cases = Integer.getInteger("fuzz.edge.cases", 24_000);
        String only = System.getProperty("fuzz.edge.case");
        Map<String, JsonNode> before = state();
        // one pass of every template first, so that the series a valid request adds exist before counting
        for (int t = 0; t < TEMPLATES; t++) {
            RawHttp.exchange(server.port(), template(t, new Random(t)));
        }
        int seriesBefore = series();

        Map<Integer, AtomicInteger> statuses = new ConcurrentHashMap<>();
        List<String> failures = new CopyOnWriteArrayList<>();
        AtomicLong unanswered = new AtomicLong();
        AtomicInteger next = new AtomicInteger(only == null ? 0 : Integer.parseInt(only));
        int end = only == null ? cases : Integer.parseInt(only) + 1;
        List<ILoggingEvent> errors;
        try (LogCapture logs = LogCapture.capture()) {
            List<Thread> workers = new ArrayList<>();
            for (int w = 0; w < 4; w++) {
                workers.add(Thread.ofVirtual().start(() -> {
                    int i;
                    while ((i = next.getAndIncrement()) < end && failures.size() < 10) {
                        byte[] request = generate(seed, i);
                        List<RawHttp.Reply> replies = exchangeAll(request);
                        if (replies.isEmpty()) {
                            unanswered.incrementAndGet();
                        }
                        for (RawHttp.Reply r : replies) {
                            statuses.computeIfAbsent(r.status(), k -> new AtomicInteger()).incrementAndGet();
                            String problem = check(r);
                            if (problem != null) {
                                failures.add("seed=" + seed + " case=" + i + ": " + problem + "\n  request: "
                                        + printable(request) + "\n  answer: " + r);
                            }
                        }
                    }
                }));
            }
            for (Thread w : workers) {
                w.join();
            }
            errors = logs.atLeast(Level.ERROR);
        }
        System.out.println("EdgeFuzzTest seed=" + seed + " cases=" + (end - (only == null ? 0 : Integer.parseInt(only)))
                + " statuses=" + new TreeMap<>(statuses) + " closed without an answer=" + unanswered);
        assertThat(failures).as("answers that break the contract").isEmpty();
        assertThat(errors).as("ERROR lines: a client's request is never the server's error")
                .extracting(ILoggingEvent::getFormattedMessage).isEmpty();
        assertThat(state()).as("seed=%d: state after the fuzz", seed).isEqualTo(before);
        int seriesAfter = series();
        System.out.println("EdgeFuzzTest metric series: " + seriesBefore + " before, " + seriesAfter + " after");
        assertThat(seriesAfter).as("seed=%d: metric series before %d, after %d", seed, seriesBefore, seriesAfter)
                .isLessThanOrEqualTo(MAX_SERIES);
        assertLabelsFromClosedSets();
    }

    /** Far above what the closed label sets allow in a run like this, far below one series per request. */
    private static final int MAX_SERIES = 3_000;

    private static final java.util.Set<String> ROUTES = java.util.Set.of("/api/v1/orders", "/api/v1/orders/{orderId}",
            "/api/v1/orders/{orderId}/cancel", "/api/v1/users/{userId}/orders", "/api/v1/items", "/api/v1/items/{sku}",
            "/api/v1/items/{sku}/stock", "/api/v1/stats", "/health/live", "/health/ready", "/metrics", "/",
            "/debug/threads", "/debug/profile", "unmatched");
    private static final java.util.Set<String> METHOD_LABELS = java.util.Set.of("GET", "HEAD", "POST", "PUT", "DELETE",
            "PATCH", "OPTIONS", "TRACE", "CONNECT", "OTHER");
    private static final java.util.regex.Pattern LABEL = java.util.regex.Pattern.compile("(\\w+)=\"([^\"]*)\"");

    /** Every label value of Floodgate's request and rejection series is one of a closed set. */
    private static void assertLabelsFromClosedSets() {
        java.util.Set<String> codes = new java.util.HashSet<>();
        for (io.floodgate.core.Rejection r : io.floodgate.core.Rejection.values()) {
            codes.add(r.name());
        }
        for (String line : api.get("/metrics").body().split("\n")) {
            if (!line.startsWith("floodgate_http_requests") && !line.startsWith("floodgate_rejections")) {
                continue;
            }
            java.util.regex.Matcher m = LABEL.matcher(line);
            while (m.find()) {
                String name = m.group(1);
                String value = m.group(2);
                switch (name) {
                    case "route" -> assertThat(ROUTES).as("route label in %s", line).contains(value);
                    case "method" -> assertThat(METHOD_LABELS).as("method label in %s", line).contains(value);
                    case "status" -> assertThat(value).as("status label in %s", line).matches("0|[1-5][0-9][0-9]");
                    case "code" -> assertThat(codes).as("code label in %s", line).contains(value);
                    default -> {
                    }
                }
            }
        }
    }

    /**
     * The answer to the first request on a connection of its own, then the server's answers to
     * whatever was pipelined behind it, until it closes. Only the first is known to answer a request
     * whose method is known (an answer to HEAD has no body, whatever its Content-Length), so after
     * a mutation only the first is read as an answer of its kind; the others are read as best they
     * can be, and reading stops at the first that cannot.
     */
    private static List<RawHttp.Reply> exchangeAll(byte[] request) {
        List<RawHttp.Reply> replies = new ArrayList<>();
        boolean head = new String(request, 0, Math.min(5, request.length), StandardCharsets.ISO_8859_1).equals("HEAD ");
        try (RawHttp http = new RawHttp(server.port())) {
            http.send(request).endOfInput();
            RawHttp.Reply first = head ? http.readHead() : http.read();
            if (first.status() < 0) {
                return replies;
            }
            replies.add(first);
            for (int n = 0; n < 8; n++) {
                RawHttp.Reply r;
                try {
                    r = http.read();
                } catch (IllegalStateException | NumberFormatException | ArrayIndexOutOfBoundsException e) {
                    break; // out of step after an answer to a pipelined HEAD
                }
                if (r.status() < 0) {
                    break;
                }
                replies.add(new RawHttp.Reply(r.status(), r.headers(), new byte[0]));
            }
        }
        return replies;
    }

    /**
     * What is wrong with an answer, or null. The body is checked where it was read (not for an
     * answer to HEAD, nor for answers to pipelined requests, whose bodies are left unread).
     */
    private static String check(RawHttp.Reply r) {
        if (r.status() >= 500) {
            return "a 5xx";
        }
        if (r.status() < 400) {
            return null;
        }
        if (!r.header("Content-Type").orElse("").startsWith("application/problem+json")) {
            return "a 4xx that is not problem+json";
        }
        if (r.header("X-Request-Id").isEmpty()) {
            return "a problem without a request id";
        }
        if (r.body().length == 0) {
            return null;
        }
        if (!r.json().path("requestId").asText().equals(r.header("X-Request-Id").get())) {
            return "a problem whose requestId is not its X-Request-Id";
        }
        String detail = r.json().path("detail").asText("");
        for (String leak : List.of("Exception", "\tat ", "java.", "io.floodgate.", "io.helidon.", "com.fasterxml")) {
            if (detail.contains(leak)) {
                return "internals in the detail";
            }
        }
        return null;
    }

    /** Lines of the Prometheus scrape that are series (not comments). */
    private static int series() {
        return (int) Arrays.stream(api.get("/metrics").body().split("\n")).filter(l -> !l.startsWith("#")).count();
    }

    // ==== generation =================================================================================

    private static final int TEMPLATES = 11;

    /** Case {@code i}: a template, then zero to four mutations, all drawn from (seed, i). */
    static byte[] generate(long seed, int i) {
        Random rnd = new Random(seed * 1_000_003L + i);
        byte[] request = template(rnd.nextInt(TEMPLATES), rnd);
        int mutations = rnd.nextInt(5);
        for (int m = 0; m < mutations; m++) {
            request = mutate(request, rnd);
        }
        return request;
    }

    private static String orderBody(Random rnd) {
        String body = "{\"userId\":\"" + (rnd.nextBoolean() ? USER : "fz-" + rnd.nextInt(50)) + "\",\"sku\":\""
                + (rnd.nextBoolean() ? SOLD : ZERO) + "\",\"quantity\":" + (1 + rnd.nextInt(3)) + "}";
        return rnd.nextInt(3) == 0 ? mutateJson(body, rnd) : body;
    }

    private static String chunk(String body, Random rnd) {
        StringBuilder out = new StringBuilder();
        int at = 0;
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        while (at < bytes.length) {
            int n = Math.min(bytes.length - at, 1 + rnd.nextInt(Math.max(1, bytes.length)));
            out.append(Integer.toHexString(n));
            if (rnd.nextInt(4) == 0) {
                out.append(rnd.nextBoolean() ? ";ext=1" : ";q=\"a b\"");
            }
            out.append("\r\n").append(new String(bytes, at, n, StandardCharsets.ISO_8859_1)).append("\r\n");
            at += n;
        }
        out.append("0\r\n");
        if (rnd.nextInt(4) == 0) {
            out.append("X-Trailer: ").append(rnd.nextInt(100)).append("\r\n");
        }
        return out.append("\r\n").toString();
    }

    /** A valid request that must change nothing, whatever it is answered. */
    static byte[] template(int which, Random rnd) {
        String head = "Host: localhost\r\n" + (rnd.nextInt(4) == 0 ? "X-Request-Id: fz-" + rnd.nextInt(1000) + "\r\n" : "");
        String request = switch (which) {
            case 0 -> "GET /api/v1/items/" + SOLD + " HTTP/1.1\r\n" + head + "\r\n";
            case 1 -> {
                String body = orderBody(rnd);
                yield "POST /api/v1/orders HTTP/1.1\r\n" + head + "Content-Type: application/json\r\nIdempotency-Key: fz-"
                        + rnd.nextInt(1_000_000) + "\r\nContent-Length: " + body.getBytes(StandardCharsets.UTF_8).length
                        + "\r\n\r\n" + body;
            }
            case 2 -> "POST /api/v1/orders HTTP/1.1\r\n" + head + "Content-Type: application/json\r\nIdempotency-Key: fz-"
                    + rnd.nextInt(1_000_000) + "\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk(orderBody(rnd), rnd);
            case 3 -> {
                String body = "{\"name\":\"Fuzzed\",\"stock\":5}";
                yield "PUT /api/v1/items/FZ-NEW HTTP/1.1\r\n" + head + "Content-Type: application/json\r\n"
                        + "Authorization: Bearer not-the-admin-token\r\nContent-Length: " + body.length() + "\r\n\r\n" + body;
            }
            case 4 -> {
                String body = "{\"delta\":" + (rnd.nextInt(20) - 10) + "}";
                yield "POST /api/v1/items/" + ZERO + "/stock HTTP/1.1\r\n" + head + "Content-Type: application/json\r\n"
                        + "Content-Length: " + body.length() + "\r\n\r\n" + body;
            }
            case 5 -> "GET /api/v1/orders/" + UUID.randomUUID() + " HTTP/1.1\r\n" + head + "\r\n";
            case 6 -> "POST /api/v1/orders/" + new UUID(rnd.nextLong(), rnd.nextLong()) + "/cancel HTTP/1.1\r\n" + head
                    + "Content-Length: 0\r\n\r\n";
            case 7 -> "GET /api/v1/users/" + USER + "/orders?limit=" + (1 + rnd.nextInt(600)) + " HTTP/1.1\r\n" + head + "\r\n";
            case 8 -> "GET /metrics HTTP/1.1\r\n" + head + "\r\n";
            case 9 -> "HEAD / HTTP/1.1\r\n" + head + "\r\n";
            default -> "GET /health/ready HTTP/1.1\r\n" + head + "Connection: close\r\n\r\n";
        };
        return request.getBytes(StandardCharsets.ISO_8859_1);
    }

    private static final byte[] SPECIAL = {0, '\t', '\r', '\n', ' ', 0x7F, (byte) 0x80, (byte) 0xFF, ':', ';', '"', '%',
            ',', '=', '/', '?', '#', '\\', 0x01, 0x1B};
    private static final List<String> METHODS = List.of("GET", "get", "Post", "PUT", "HEAD", "DELETE", "OPTIONS", "TRACE",
            "PATCH", "CONNECT", "BREW", "M00042X", "", "G ET", "POST\u0000");
    private static final List<String> HEADERS = List.of("Content-Length: 5", "Content-Length: -1",
            "Content-Length: 99999999999", "Content-Length: 1, 2", "Transfer-Encoding: chunked",
            "Transfer-Encoding: gzip, chunked", "Transfer-Encoding: chunked, identity", "Transfer-Encoding:\tchunked",
            ": empty", " folded: continuation", "Authorization: Bearer a", "Authorization: Bearer b",
            "Idempotency-Key: dup", "Content-Type: application/json; charset=utf-16", "Content-Type: text/plain",
            "Expect: 100-continue", "Connection: close", "Connection: keep-alive, Upgrade", "Upgrade: h2c",
            "Host:", "Host: a", "X-Request-Id: \u0000", "Request-Timeout: -5", "Request-Timeout: 100000",
            "Content-Encoding: gzip", "X-" + "a".repeat(300) + ": v");

    static byte[] mutate(byte[] request, Random rnd) {
        String text = new String(request, StandardCharsets.ISO_8859_1);
        int headEnd = Math.max(0, text.indexOf("\r\n\r\n"));
        return switch (rnd.nextInt(14)) {
            case 0 -> { // a byte replaced
                byte[] copy = request.clone();
                if (copy.length > 0) {
                    copy[rnd.nextInt(copy.length)] = rnd.nextBoolean() ? SPECIAL[rnd.nextInt(SPECIAL.length)] : (byte) rnd.nextInt(256);
                }
                yield copy;
            }
            case 1 -> insert(request, rnd.nextInt(request.length + 1), new byte[]{SPECIAL[rnd.nextInt(SPECIAL.length)]});
            case 2 -> { // a range deleted
                if (request.length == 0) {
                    yield request;
                }
                int from = rnd.nextInt(request.length);
                int to = Math.min(request.length, from + 1 + rnd.nextInt(12));
                yield concat(Arrays.copyOfRange(request, 0, from), Arrays.copyOfRange(request, to, request.length));
            }
            case 3 -> { // a header line doubled
                String[] lines = text.substring(0, headEnd).split("\r\n", -1);
                if (lines.length < 2) {
                    yield request;
                }
                int l = 1 + rnd.nextInt(lines.length - 1);
                yield latin1(text.substring(0, headEnd) + "\r\n" + lines[l] + text.substring(headEnd));
            }
            case 4 -> { // the method replaced
                int space = text.indexOf(' ');
                yield space < 0 ? request : latin1(METHODS.get(rnd.nextInt(METHODS.size())) + text.substring(space));
            }
            case 5 -> latin1(text.replaceFirst("HTTP/1\\.1", List.of("HTTP/1.0", "HTTP/2", "HTTP/1.1x", "http/1.1", "HTTP/1.1 ",
                    "HTTP/9.9", "HTTP/1.10").get(rnd.nextInt(7))));
            case 6 -> { // a CRLF made a bare LF or a bare CR
                int at = text.indexOf("\r\n", rnd.nextInt(Math.max(1, text.length())));
                yield at < 0 ? request : latin1(text.substring(0, at) + (rnd.nextBoolean() ? "\n" : "\r")
                        + text.substring(at + 2));
            }
            case 7 -> latin1(text.substring(0, headEnd) + "\r\n" + HEADERS.get(rnd.nextInt(HEADERS.size()))
                    + text.substring(headEnd));
            case 8 -> Arrays.copyOf(request, rnd.nextInt(request.length + 1)); // truncated
            case 9 -> concat(request, template(rnd.nextInt(TEMPLATES), rnd)); // a second request pipelined
            case 10 -> { // the chunked body's framing
                String[] chunkish = {"zz\r\n", "7;foo=bar\r\n", "0\r\nTrailer: x\r\n", "-1\r\n", "1;\r\n", "ffffffff\r\n",
                        "5\r\nhello\r\n", "0\r\n\r\n", "3\r\nab", "\r\n"};
                int at = headEnd + 4 <= text.length() ? headEnd + 4 + rnd.nextInt(text.length() - headEnd - 3) : text.length();
                yield latin1(text.substring(0, at) + chunkish[rnd.nextInt(chunkish.length)] + text.substring(at));
            }
            case 11 -> { // Content-Length off by some
                yield latin1(text.replaceFirst("Content-Length: (\\d+)", "Content-Length: " + (rnd.nextInt(40) - 5
                        + (text.contains("Content-Length: ") ? 20 : 0))));
            }
            case 12 -> { // the body's JSON
                if (headEnd + 4 > text.length()) {
                    yield request;
                }
                String body = mutateJson(text.substring(headEnd + 4), rnd);
                String head = text.substring(0, headEnd + 4).replaceFirst("Content-Length: \\d+",
                        "Content-Length: " + body.getBytes(StandardCharsets.ISO_8859_1).length);
                yield latin1(head + body);
            }
            default -> { // a header line with random bytes
                byte[] junk = new byte[1 + rnd.nextInt(20)];
                for (int j = 0; j < junk.length; j++) {
                    junk[j] = rnd.nextInt(3) == 0 ? SPECIAL[rnd.nextInt(SPECIAL.length)] : (byte) (0x20 + rnd.nextInt(0x5F));
                }
                yield insert(request, headEnd, concat(latin1("\r\n"), junk));
            }
        };
    }

    private static String mutateJson(String json, Random rnd) {
        if (json.isEmpty()) {
            return "{";
        }
        int at = rnd.nextInt(json.length());
        String[] pieces = {"\"", "{", "}", "[", "]", ",", ":", "\\", "\\u0000", "\\ud800", "null", "1e999", "-0", "\u0000",
                "\u00e9", "\ufeff", "\"quantity\":1", "\"userId\":\"x\"", " ", "99999999999999999999"};
        String piece = pieces[rnd.nextInt(pieces.length)];
        return switch (rnd.nextInt(4)) {
            case 0 -> json.substring(0, at) + piece + json.substring(at);
            case 1 -> json.substring(0, at) + piece + json.substring(Math.min(json.length(), at + 1));
            case 2 -> json.substring(0, at) + json.substring(Math.min(json.length(), at + 1 + rnd.nextInt(5)));
            default -> json + piece;
        };
    }

    private static byte[] latin1(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    private static byte[] insert(byte[] into, int at, byte[] what) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(into.length + what.length);
        out.write(into, 0, at);
        out.writeBytes(what);
        out.write(into, at, into.length - at);
        return out.toByteArray();
    }

    private static byte[] concat(byte[] a, byte[] b) {
        return insert(a, a.length, b);
    }

    /** The request as a Java string literal would show it. */
    static String printable(byte[] request) {
        StringBuilder s = new StringBuilder("\"");
        for (int i = 0; i < request.length && s.length() < 1_500; i++) {
            int c = request[i] & 0xFF;
            switch (c) {
                case '\r' -> s.append("\\r");
                case '\n' -> s.append("\\n");
                case '"' -> s.append("\\\"");
                case '\\' -> s.append("\\\\");
                default -> {
                    if (c < 0x20 || c >= 0x7F) {
                        s.append(String.format("\\u%04x", c));
                    } else {
                        s.append((char) c);
                    }
                }
            }
        }
        return s.append(s.length() >= 1_500 ? "...\"" : "\"").toString();
    }
}
