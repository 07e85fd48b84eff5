package io.floodgate.http;

import io.floodgate.core.Rejection;
import io.floodgate.observe.Metrics;
import io.helidon.common.buffers.BufferData;
import io.helidon.common.concurrency.limits.Limit;
import io.helidon.http.HeaderValues;
import io.helidon.http.Headers;
import io.helidon.http.HttpPrologue;
import io.helidon.webserver.ConnectionContext;
import io.helidon.webserver.http1.Http1Config;
import io.helidon.webserver.http1.Http1ConnectionListener;
import io.helidon.webserver.http1.Http1ConnectionSelector;
import io.helidon.webserver.spi.ServerConnection;
import io.helidon.webserver.spi.ServerConnectionSelector;

import java.io.ByteArrayOutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Floodgate's HTTP/1.1 edge: what a connection may cost and how a request must be framed, on top
 * of what Helidon 4.5's listener already bounds. The wiring ({@code app.Floodgate}) gives the
 * listener Helidon's own limits (idle-connection timeout, {@code maxTcpConnections}, prologue and
 * header sizes) and this class's {@link #selector()} as its only connection selector, which
 * builds Helidon's HTTP/1 connection for each socket and adds, hand-written because Helidon 4.5
 * has no setting for them:
 *
 * <ul>
 *   <li>a cap on the connections of one client address ({@code maxConnectionsPerClient}, off at 0:
 *       behind a proxy every connection has the proxy's address); one over it is answered 429
 *       and closed;</li>
 *   <li>a deadline for the header section and for a body ({@link EdgeConnection}); Helidon's idle
 *       timeout closes a connection that sends no request line, but a request stuck inside its
 *       headers or body kept its socket for good;</li>
 *   <li>the framing rules of {@link EdgeRules}, applied by {@link EdgeReader} and by the receive
 *       listener here: a bad request line (a method not in upper case included), header section,
 *       chunk line or trailer is 400 before any route runs;</li>
 *   <li>{@code Connection: close} from the client honoured: the connection ends after its answer
 *       (Helidon 4.5 said close and went on reading the socket).</li>
 * </ul>
 *
 * <p>Counts: open connections, connections refused, phases timed out (all labels from closed sets).
 */
public final class Edge implements AutoCloseable {

    /**
     * What the edge bounds.
     *
     * @param headerTimeout           the most the header section may take after the request line
     * @param maxConnectionsPerClient connections one address may hold at once; 0: no cap
     */
    public record Limits(Duration headerTimeout, int maxConnectionsPerClient) {
        public Limits {
            Objects.requireNonNull(headerTimeout, "headerTimeout");
            if (headerTimeout.isNegative() || headerTimeout.isZero()) {
                throw new IllegalArgumentException("headerTimeout must be positive, was " + headerTimeout);
            }
            if (maxConnectionsPerClient < 0) {
                throw new IllegalArgumentException("maxConnectionsPerClient must be >= 0 (0: no cap), was "
                        + maxConnectionsPerClient);
            }
        }
    }

    /** How often phase deadlines are checked: a phase may outlive its deadline by this much. */
    private static final long SWEEP_MILLIS = 200;

    private final Limits limits;
    private final Http1ConnectionSelector http1;
    private final Set<EdgeConnection> open = ConcurrentHashMap.newKeySet();
    /** Connections per client address, when capped; an address leaves the map with its last connection. */
    private final ConcurrentHashMap<InetAddress, Integer> perClient = new ConcurrentHashMap<>();
    private final AtomicLong refusedPerClient = new AtomicLong();
    private final AtomicLong headerTimeouts = new AtomicLong();
    private final AtomicLong bodyTimeouts = new AtomicLong();
    private final Thread sweeper;
    private volatile boolean closed;

    public Edge(Limits limits, Metrics metrics) {
        this.limits = limits;
        Http1Config config = Http1Config.builder()
                .addReceiveListener(new Listener())
                // Helidon's packet logging: a listener on every read and write that asks its logger
                // whether to log; Floodgate logs requests itself
                .receiveLog(false)
                .sendLog(false)
                .build();
        this.http1 = Http1ConnectionSelector.builder().config(new CheckedOnce(config)).build();
        metrics.gauge("floodgate.http.connections", "HTTP connections open", open::size);
        metrics.counter("floodgate.http.connections.refused", "Connections refused by the edge, by reason",
                List.of("reason", "per_client"), refusedPerClient::get);
        metrics.counter("floodgate.http.timeouts", "Connections closed because a request phase ran out of time",
                List.of("phase", "headers"), headerTimeouts::get);
        metrics.counter("floodgate.http.timeouts", "Connections closed because a request phase ran out of time",
                List.of("phase", "body"), bodyTimeouts::get);
        this.sweeper = Thread.ofPlatform().daemon().name("floodgate-edge-sweeper").start(this::sweepLoop);
    }

    /** The listener's one connection selector: Helidon's HTTP/1, with the edge around each connection. */
    public ServerConnectionSelector selector() {
        return new Selector();
    }

    /** Connections open now. */
    public int openConnections() {
        return open.size();
    }

    @Override
    public void close() {
        closed = true;
        sweeper.interrupt();
    }

    private final class Selector implements ServerConnectionSelector {
        @Override
        public int bytesToIdentifyConnection() {
            return http1.bytesToIdentifyConnection();
        }

        @Override
        public Support supports(BufferData data) {
            return http1.supports(data);
        }

        @Override
        public Set<String> supportedApplicationProtocols() {
            return http1.supportedApplicationProtocols();
        }

        @Override
        public ServerConnection connection(ConnectionContext ctx) {
            InetAddress client = ctx.remotePeer().address() instanceof InetSocketAddress a ? a.getAddress() : null;
            if (limits.maxConnectionsPerClient() > 0 && client != null && !admit(client)) {
                refusedPerClient.incrementAndGet();
                return new Refusal(ctx);
            }
            EdgeConnection connection = new EdgeConnection(Edge.this, ctx, limits.maxConnectionsPerClient() > 0 ? client : null);
            connection.attach(http1.connection(connection));
            open.add(connection);
            return connection;
        }
    }

    private boolean admit(InetAddress client) {
        boolean[] admitted = {false};
        perClient.compute(client, (address, held) -> {
            int now = held == null ? 0 : held;
            if (now >= limits.maxConnectionsPerClient()) {
                return held;
            }
            admitted[0] = true;
            return now + 1;
        });
        return admitted[0];
    }

    /** A connection ended (its handling returned). */
    void closed(EdgeConnection connection) {
        if (open.remove(connection) && connection.client() != null) {
            perClient.computeIfPresent(connection.client(), (address, held) -> held <= 1 ? null : held - 1);
        }
    }

    private void sweepLoop() {
        while (!closed) {
            try {
                Thread.sleep(SWEEP_MILLIS);
            } catch (InterruptedException e) {
                return;
            }
            long now = System.nanoTime();
            for (EdgeConnection connection : open) {
                EdgeConnection.Phase expired = connection.sweep(now);
                if (expired == EdgeConnection.Phase.HEADERS) {
                    headerTimeouts.incrementAndGet();
                } else if (expired == EdgeConnection.Phase.BODY) {
                    bodyTimeouts.incrementAndGet();
                }
            }
        }
    }

    /** Sees each request once its request line, then its header section, is read. */
    /**
     * Helidon's HTTP/1 settings with its own header validation off, because the edge does it:
     * {@link EdgeRules#headers} checks every request header (names are tokens, values hold no
     * control character) before routing, and every response header is Floodgate's own (the one
     * echoed value, the request id, is checked by {@code Ids.isRequestId}). Helidon 4.5 offers no
     * setting for it ({@code HttpConfig}'s defaults are fixed at true), and its check copied every
     * header name into a char array on the way in and out: 18% of the bytes allocated by a
     * sold-out answer and 4% of its CPU in a JFR profile (issue 14). Everything else is Helidon's.
     */
    private record CheckedOnce(Http1Config helidon) implements Http1Config {
        @Override public boolean validateRequestHeaders() { return false; }
        @Override public boolean validateResponseHeaders() { return false; }
        @Override public String name() { return helidon.name(); }
        @Override public int maxPrologueLength() { return helidon.maxPrologueLength(); }
        @Override public int maxHeadersSize() { return helidon.maxHeadersSize(); }
        @Override public boolean validateRequestHostHeader() { return helidon.validateRequestHostHeader(); }
        @Override public boolean sendKeepAliveHeader() { return helidon.sendKeepAliveHeader(); }
        @Override public boolean validatePrologue() { return helidon.validatePrologue(); }
        @Override public boolean validatePath() { return helidon.validatePath(); }
        @Override public boolean continueImmediately() { return helidon.continueImmediately(); }
        @Override public io.helidon.http.RequestedUriDiscoveryContext requestedUriDiscovery() {
            return helidon.requestedUriDiscovery();
        }
        @Override public List<Http1ConnectionListener> sendListeners() { return helidon.sendListeners(); }
        @Override public List<Http1ConnectionListener> receiveListeners() { return helidon.receiveListeners(); }
        @Override public Http1ConnectionListener compositeSendListener() { return helidon.compositeSendListener(); }
        @Override public Http1ConnectionListener compositeReceiveListener() { return helidon.compositeReceiveListener(); }
        @Override public boolean receiveLog() { return helidon.receiveLog(); }
        @Override public boolean sendLog() { return helidon.sendLog(); }
        @Override public io.helidon.common.Size maxBufferedEntitySize() { return helidon.maxBufferedEntitySize(); }
        @Override public io.helidon.http.HttpLogConfig log() { return helidon.log(); }
        @Override public String type() { return helidon.type(); }
    }

    private final class Listener implements Http1ConnectionListener {
        @Override
        public void prologue(ConnectionContext ctx, HttpPrologue prologue) {
            if (ctx instanceof EdgeConnection c) {
                c.begin(EdgeConnection.Phase.HEADERS, limits.headerTimeout());
            }
        }

        @Override
        public void headers(ConnectionContext ctx, Headers headers) {
            if (!(ctx instanceof EdgeConnection c)) {
                EdgeRules.headers(headers); // Helidon's own header checks are off (CheckedOnce): never skip these
                return;
            }
            if (!c.end()) {
                throw EdgeConnection.dropped("the header section did not arrive in time");
            }
            c.edgeReader().headersRead();
            EdgeRules.headers(headers);
            if (headers.containsToken(HeaderValues.CONNECTION_CLOSE)) {
                c.closeAfterThisRequest();
            }
        }
    }

    /** A connection over its address's cap: answered 429 at once and closed, nothing read. */
    private static final class Refusal implements ServerConnection {
        private final ConnectionContext ctx;

        Refusal(ConnectionContext ctx) {
            this.ctx = ctx;
        }

        @Override
        public void handle(Limit limit) {
            String requestId = Ids.newRequestId();
            byte[] body = Json.problem(Rejection.RATE_LIMITED, "this address holds too many connections; close some"
                    + " or retry later", requestId, null);
            ByteArrayOutputStream out = new ByteArrayOutputStream(body.length + 200);
            out.writeBytes(("HTTP/1.1 429 Too Many Requests\r\nContent-Type: " + Problems.PROBLEM_JSON + "\r\n"
                    + "Retry-After: 1\r\nX-Request-Id: " + requestId + "\r\nConnection: close\r\nContent-Length: "
                    + body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.writeBytes(body);
            ctx.dataWriter().writeNow(BufferData.create(out.toByteArray()));
        }

        @Override
        public Duration idleTime() {
            return Duration.ZERO;
        }

        @Override
        public void close(boolean interrupt) {
        }
    }
}
