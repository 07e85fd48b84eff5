package io.floodgate.bench;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;

/**
 * The JDK's {@link HttpClient} (HTTP/1.1, keep-alive pool per target) behind the same interface,
 * for comparison and for targets our minimal client does not understand. One client serves all
 * workers; its pool opens as many connections as there are requests in flight.
 */
final class JdkTransport implements Transport {

    private final HttpClient client;
    private final URI[] bases;
    private final Duration timeout;

    JdkTransport(List<URI> targets, Duration timeout) {
        this.client = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(timeout)
                .build();
        this.bases = targets.toArray(URI[]::new);
        this.timeout = timeout;
    }

    @Override
    public Channel channel() {
        return new Channel() {
            @Override
            public Reply send(int target, Request r) throws IOException {
                HttpRequest.Builder b = HttpRequest.newBuilder(bases[target].resolve(r.path())).timeout(timeout);
                if (r.idempotencyKey() != null) {
                    b.header("Idempotency-Key", r.idempotencyKey());
                }
                if (r.requestId() != null) {
                    b.header("X-Request-Id", r.requestId());
                }
                if (r.body() != null) {
                    b.header("Content-Type", "application/json");
                    b.method(r.method(), HttpRequest.BodyPublishers.ofByteArray(r.body()));
                } else {
                    b.method(r.method(), HttpRequest.BodyPublishers.noBody());
                }
                try {
                    HttpResponse<String> res = client.send(b.build(), HttpResponse.BodyHandlers.ofString());
                    boolean replayed = res.headers().firstValue("Idempotent-Replayed").map("true"::equalsIgnoreCase).orElse(false);
                    return new Reply(res.statusCode(), res.body(), replayed);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new InterruptedIOException("interrupted while waiting for " + r.path());
                }
            }

            @Override
            public void close() {
                // the shared client owns the connections
            }
        };
    }

    @Override
    public void close() {
        client.close();
    }
}
