package io.floodgate.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.MissingNode;
import io.floodgate.testing.Api;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * HTTP/1.1 over a raw socket, for what no client library will send: broken framing, control
 * bytes, duplicated and nameless headers, slow and silent connections. Reads answers framed by
 * Content-Length (all Floodgate sends) and tells an answer apart from a connection that was
 * closed without one.
 */
final class RawHttp implements AutoCloseable {

    /** One answer, or none ({@code status} -1) when the server closed the connection first. */
    record Reply(int status, Map<String, List<String>> headers, byte[] body) {
        static final Reply NONE = new Reply(-1, Map.of(), new byte[0]);

        Optional<String> header(String name) {
            List<String> values = headers.get(name);
            return values == null || values.isEmpty() ? Optional.empty() : Optional.of(values.getFirst());
        }

        String text() {
            return new String(body, StandardCharsets.UTF_8);
        }

        JsonNode json() {
            try {
                JsonNode node = body.length == 0 ? null : Api.JSON.readTree(body);
                return node == null ? MissingNode.getInstance() : node;
            } catch (IOException e) {
                return MissingNode.getInstance();
            }
        }

        String code() {
            return json().path("code").asText(null);
        }

        @Override
        public String toString() {
            if (status < 0) {
                return "(closed without an answer)";
            }
            String t = text();
            return status + " " + headers + " " + (t.length() > 300 ? t.substring(0, 300) + "..." : t);
        }
    }

    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;

    RawHttp(int port) {
        this(port, 10_000);
    }

    RawHttp(int port, int readTimeoutMillis) {
        try {
            socket = new Socket("127.0.0.1", port);
            socket.setSoTimeout(readTimeoutMillis);
            socket.setTcpNoDelay(true);
            in = socket.getInputStream();
            out = socket.getOutputStream();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    RawHttp send(String text) {
        return send(text.getBytes(StandardCharsets.ISO_8859_1));
    }

    RawHttp send(byte[] bytes) {
        try {
            out.write(bytes);
            out.flush();
        } catch (IOException e) {
            // the server may have answered and closed already; the answer is still read below
        }
        return this;
    }

    /** Says the request is all there is: an incomplete request then fails at once instead of waiting. */
    RawHttp endOfInput() {
        try {
            socket.shutdownOutput();
        } catch (IOException e) {
            // closed already
        }
        return this;
    }

    /** Reads one answer's head only (an answer to HEAD has no body whatever its Content-Length). */
    Reply readHead() {
        return read(false);
    }

    /** Reads one answer; {@link Reply#NONE} if the connection ends (EOF or reset) before one. */
    Reply read() {
        return read(true);
    }

    private Reply read(boolean withBody) {
        try {
            ByteArrayOutputStream head = new ByteArrayOutputStream();
            int b;
            while ((b = in.read()) >= 0) {
                head.write(b);
                byte[] h = head.toByteArray();
                int n = h.length;
                if (n >= 4 && h[n - 4] == '\r' && h[n - 3] == '\n' && h[n - 2] == '\r' && h[n - 1] == '\n') {
                    break;
                }
                if (n > 65_536) {
                    throw new IllegalStateException("an answer head over 64 KiB");
                }
            }
            if (b < 0) {
                return Reply.NONE;
            }
            String[] lines = head.toString(StandardCharsets.ISO_8859_1).split("\r\n");
            String[] statusLine = lines[0].split(" ", 3);
            if (!statusLine[0].equals("HTTP/1.1")) {
                throw new IllegalStateException("not an HTTP/1.1 answer: " + lines[0]);
            }
            int status = Integer.parseInt(statusLine[1]);
            Map<String, List<String>> headers = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
            for (int i = 1; i < lines.length; i++) {
                int colon = lines[i].indexOf(':');
                if (colon > 0) {
                    headers.computeIfAbsent(lines[i].substring(0, colon).trim(), k -> new ArrayList<>())
                            .add(lines[i].substring(colon + 1).trim());
                }
            }
            List<String> length = headers.get("Content-Length");
            byte[] body;
            if (!withBody) {
                body = new byte[0];
            } else if (length != null) {
                body = in.readNBytes(Integer.parseInt(length.getFirst()));
            } else if (headers.getOrDefault("Transfer-Encoding", List.of()).stream()
                    .anyMatch(v -> v.toLowerCase(Locale.ROOT).contains("chunked"))) {
                body = readChunked();
            } else {
                body = new byte[0];
            }
            return new Reply(status, headers, body);
        } catch (SocketTimeoutException e) {
            throw new AssertionError("no answer and no close within the read timeout", e);
        } catch (SocketException e) {
            return Reply.NONE; // reset
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private byte[] readChunked() throws IOException {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        while (true) {
            String size = line();
            int n = Integer.parseInt(size.split(";")[0].trim(), 16);
            if (n == 0) {
                while (!line().isEmpty()) {
                    // trailers
                }
                return body.toByteArray();
            }
            body.write(in.readNBytes(n));
            line();
        }
    }

    private String line() throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        int b;
        while ((b = in.read()) >= 0 && b != '\n') {
            if (b != '\r') {
                line.write(b);
            }
        }
        return line.toString(StandardCharsets.ISO_8859_1);
    }

    /**
     * Whether the server has closed this connection: waits (up to the read timeout) for EOF or a
     * reset. Bytes that arrive instead are an answer the server should not have sent: false.
     */
    boolean closedByServer() {
        try {
            return in.read() < 0;
        } catch (SocketTimeoutException e) {
            return false;
        } catch (IOException e) {
            return true; // reset
        }
    }

    /** Sends one request with end of input, reads one answer: a request on a connection of its own. */
    static Reply exchange(int port, byte[] request) {
        try (RawHttp http = new RawHttp(port)) {
            return http.send(request).endOfInput().read();
        }
    }

    static Reply exchange(int port, String request) {
        return exchange(port, request.getBytes(StandardCharsets.ISO_8859_1));
    }

    @Override
    public void close() {
        try {
            socket.close();
        } catch (IOException e) {
            // nothing to do
        }
    }
}
