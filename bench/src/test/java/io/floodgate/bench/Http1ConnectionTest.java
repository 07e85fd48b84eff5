package io.floodgate.bench;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;

class Http1ConnectionTest {

    /** A server that answers each request on a connection with the next canned response. */
    private static ServerSocket serve(List<String> responses, List<String> requests) throws IOException {
        ServerSocket server = new ServerSocket(0);
        Thread.ofVirtual().start(() -> {
            try (Socket s = server.accept()) {
                InputStream in = s.getInputStream();
                OutputStream out = s.getOutputStream();
                for (String response : responses) {
                    requests.add(readRequest(in));
                    out.write(response.getBytes(StandardCharsets.UTF_8));
                    out.flush();
                }
            } catch (IOException ignored) {
                // the test has what it needs
            }
        });
        return server;
    }

    private static String readRequest(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int c;
        while ((c = in.read()) >= 0) {
            b.write(c);
            String s = b.toString(StandardCharsets.US_ASCII);
            int end = s.indexOf("\r\n\r\n");
            if (end >= 0) {
                int length = 0;
                for (String line : s.substring(0, end).split("\r\n")) {
                    if (line.toLowerCase().startsWith("content-length:")) {
                        length = Integer.parseInt(line.substring(15).trim());
                    }
                }
                return s + new String(in.readNBytes(length), StandardCharsets.US_ASCII);
            }
        }
        return b.toString(StandardCharsets.US_ASCII);
    }

    @Test
    void readsFixedAndChunkedBodiesOnOneKeepAliveConnectionUntilTheServerCloses() throws Exception {
        String problem = "{\"code\":\"SOLD_OUT\"}";
        List<String> requests = new CopyOnWriteArrayList<>();
        try (ServerSocket server = serve(List.of(
                "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\ncontent-length: 17\r\n\r\n{\"orderId\":\"o1\"}\n",
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nIdempotent-Replayed: true\r\n\r\n5\r\n{\"ord\r\nC;x=y\r\nerId\":\"o1\"}\n\r\n0\r\n\r\n",
                "HTTP/1.1 409 Conflict\r\nContent-Length: " + problem.length() + "\r\nConnection: close\r\n\r\n" + problem),
                requests);
             Http1Connection c = new Http1Connection(new InetSocketAddress("127.0.0.1", server.getLocalPort()), System.nanoTime() + 5_000_000_000L)) {
            RawTransport encoder = new RawTransport(List.of(java.net.URI.create("http://127.0.0.1:" + server.getLocalPort())),
                    java.time.Duration.ofSeconds(5));
            Transport.Request order = new Transport.Request("POST", "/api/v1/orders", "k-1", "k-1:0",
                    "{\"userId\":\"u\"}".getBytes(StandardCharsets.US_ASCII));

            Transport.Reply first = c.exchange(encoder.encode(0, order), System.nanoTime() + 5_000_000_000L);
            assertThat(first.status()).isEqualTo(201);
            assertThat(first.body()).isEqualTo("{\"orderId\":\"o1\"}\n");
            assertThat(first.replayed()).isFalse();
            assertThat(c.reusable()).isTrue();

            Transport.Reply second = c.exchange(encoder.encode(0, order), System.nanoTime() + 5_000_000_000L);
            assertThat(second.status()).isEqualTo(200);
            assertThat(second.body()).isEqualTo("{\"orderId\":\"o1\"}\n");
            assertThat(second.replayed()).isTrue();

            Transport.Reply third = c.exchange(encoder.encode(0, order), System.nanoTime() + 5_000_000_000L);
            assertThat(third.status()).isEqualTo(409);
            assertThat(Outcome.field(third.body(), "code")).isEqualTo("SOLD_OUT");
            assertThat(c.reusable()).isFalse();
        }
        assertThat(requests.getFirst())
                .startsWith("POST /api/v1/orders HTTP/1.1\r\nHost: 127.0.0.1:")
                .contains("\r\nIdempotency-Key: k-1\r\n", "\r\nX-Request-Id: k-1:0\r\n",
                        "\r\nContent-Type: application/json\r\n", "\r\nContent-Length: 14\r\n")
                .endsWith("\r\n\r\n{\"userId\":\"u\"}");
    }

    @Test
    void aServerThatAcceptsAndNeverAnswersGivesATimeoutNotAHang() throws Exception {
        try (ServerSocket server = new ServerSocket(0)) {
            Thread.ofVirtual().start(() -> {
                try (Socket s = server.accept()) {
                    s.getInputStream().readAllBytes(); // reads the request, never answers
                } catch (IOException ignored) {
                    // closed by the test
                }
            });
            RawTransport transport = new RawTransport(List.of(java.net.URI.create("http://127.0.0.1:" + server.getLocalPort())),
                    java.time.Duration.ofMillis(200));
            try (Transport.Channel channel = transport.channel()) {
                channel.connect();
                Transport.Request live = new Transport.Request("GET", "/health/live", null, null, null);
                IOException thrown = org.junit.jupiter.api.Assertions.assertThrows(IOException.class, () -> channel.send(0, live));
                assertThat(thrown).isInstanceOf(java.net.SocketTimeoutException.class);
                assertThat(Outcome.transport(thrown).label()).isEqualTo(Outcome.TIMEOUT_LABEL);
            }
        }
    }
}
