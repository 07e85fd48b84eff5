package io.floodgate.bench;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;

/**
 * The default transport: each worker owns one {@link Http1Connection} per target, opened on first
 * use and reopened after the server closes it or a request fails. With one virtual thread per
 * worker this is exactly "N keep-alive connections, one request in flight on each", which is what
 * wrk does with its event loops.
 *
 * <p>The client timeout bounds each request as a whole, connecting included: a server that
 * accepts and never answers (or answers a byte at a time) gives a {@link
 * java.net.SocketTimeoutException} when it runs out, not a worker that hangs.
 */
final class RawTransport implements Transport {

    private final InetSocketAddress[] addresses;
    private final byte[][] hostHeaders;
    private final long timeoutNanos;

    RawTransport(List<URI> targets, Duration timeout) {
        this.addresses = new InetSocketAddress[targets.size()];
        this.hostHeaders = new byte[targets.size()][];
        for (int i = 0; i < addresses.length; i++) {
            URI t = targets.get(i);
            int port = t.getPort() < 0 ? 80 : t.getPort();
            addresses[i] = new InetSocketAddress(t.getHost(), port);
            hostHeaders[i] = ("Host: " + t.getHost() + ":" + port + "\r\n").getBytes(StandardCharsets.US_ASCII);
        }
        this.timeoutNanos = Math.max(1_000_000L, timeout.toNanos());
    }

    @Override
    public Channel channel() {
        return new RawChannel();
    }

    @Override
    public void close() {
        // channels own the sockets
    }

    /** Serializes a request: request line, Host, our headers, then the body. */
    byte[] encode(int target, Request r) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(256 + (r.body() == null ? 0 : r.body().length));
        out.writeBytes((r.method() + ' ' + r.path() + " HTTP/1.1\r\n").getBytes(StandardCharsets.US_ASCII));
        out.writeBytes(hostHeaders[target]);
        StringBuilder h = new StringBuilder(160);
        if (r.idempotencyKey() != null) {
            h.append("Idempotency-Key: ").append(r.idempotencyKey()).append("\r\n");
        }
        if (r.requestId() != null) {
            h.append("X-Request-Id: ").append(r.requestId()).append("\r\n");
        }
        if (r.body() != null) {
            h.append("Content-Type: application/json\r\nContent-Length: ").append(r.body().length).append("\r\n");
        }
        h.append("\r\n");
        out.writeBytes(h.toString().getBytes(StandardCharsets.US_ASCII));
        if (r.body() != null) {
            out.writeBytes(r.body());
        }
        return out.toByteArray();
    }

    private final class RawChannel implements Channel {
        private final Http1Connection[] connections = new Http1Connection[addresses.length];
        private final Request[] lastRequest = new Request[addresses.length];
        private final byte[][] lastBytes = new byte[addresses.length][];

        @Override
        public void connect() throws IOException {
            for (int t = 0; t < connections.length; t++) {
                if (connections[t] == null) {
                    connections[t] = new Http1Connection(addresses[t], System.nanoTime() + timeoutNanos);
                }
            }
        }

        @Override
        public Reply send(int target, Request request) throws IOException {
            long deadline = System.nanoTime() + timeoutNanos;
            // a request sent again as the same object (the ceiling's GET) is encoded once
            byte[] bytes;
            if (lastRequest[target] == request) {
                bytes = lastBytes[target];
            } else {
                bytes = encode(target, request);
                lastRequest[target] = request;
                lastBytes[target] = bytes;
            }
            Http1Connection c = connections[target];
            if (c == null || !c.reusable()) {
                if (c != null) {
                    c.close();
                }
                connections[target] = null;
                c = new Http1Connection(addresses[target], deadline);
                connections[target] = c;
            }
            return c.exchange(bytes, deadline);
        }

        @Override
        public void close() {
            for (Http1Connection c : connections) {
                if (c != null) {
                    c.close();
                }
            }
        }
    }
}
