package io.floodgate.bench;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ProtocolException;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * A minimal HTTP/1.1 client connection: one blocking socket, one request at a time, keep-alive.
 * It exists because the load generator must not be the bottleneck: on a virtual thread a blocking
 * socket costs a parked continuation, not a platform thread, and a request here is one
 * {@code write} and (usually) one {@code read} into a reused buffer, with no selector thread, no
 * futures and no header maps in between (see docs/BENCH-GENERATOR.md for the measurement against
 * the JDK's HttpClient and wrk).
 *
 * <p>It understands what an HTTP/1.1 server may answer: {@code Content-Length} or chunked bodies,
 * {@code Connection: close} (after which {@link #reusable()} is false), and HTTP/1.0 status lines.
 * Header names are matched in the buffer without making strings of them; only the body becomes a
 * string, because the caller reads codes and order ids out of it.
 */
final class Http1Connection implements AutoCloseable {

    private static final byte[] CONTENT_LENGTH = "content-length".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] TRANSFER_ENCODING = "transfer-encoding".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] CONNECTION = "connection".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] IDEMPOTENT_REPLAYED = "idempotent-replayed".getBytes(StandardCharsets.US_ASCII);
    private static final int MAX_HEADER_LINE = 16 * 1024;

    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;
    /** Small, because there is one per connection (thousands in an open loop); it grows for a large answer. */
    private byte[] buf = new byte[2 * 1024];
    private long deadlineNanos;
    private int pos;
    private int lim;
    private boolean reusable = true;

    /** Connects, or throws {@link SocketTimeoutException} if not connected by {@code deadlineNanos}. */
    Http1Connection(InetSocketAddress address, long deadlineNanos) throws IOException {
        Socket s = new Socket();
        try {
            s.setTcpNoDelay(true);
            s.connect(address, remainingMillis(deadlineNanos));
        } catch (IOException e) {
            s.close();
            throw e;
        }
        this.socket = s;
        this.in = s.getInputStream();
        this.out = s.getOutputStream();
    }

    /** False once the server said it will close, or a read failed: open a new connection then. */
    boolean reusable() {
        return reusable;
    }

    /**
     * Writes the complete request bytes and reads the whole answer, or throws
     * {@link SocketTimeoutException} if the answer is not complete by {@code deadlineNanos}
     * ({@link System#nanoTime()}); the connection is not reusable after that.
     */
    Transport.Reply exchange(byte[] request, long deadlineNanos) throws IOException {
        this.deadlineNanos = deadlineNanos;
        boolean done = false;
        try {
            out.write(request);
            out.flush();
            Transport.Reply reply = readReply();
            done = true;
            return reply;
        } finally {
            if (!done) {
                reusable = false;
            }
        }
    }

    private Transport.Reply readReply() throws IOException {
        int start = readLine();
        int end = pos - 2;
        // "HTTP/1.1 201 Created": the code is at 9..11
        if (end - start < 12 || buf[start] != 'H' || buf[start + 8] != ' ') {
            throw new ProtocolException("not an HTTP status line: '" + ascii(start, Math.min(end, start + 60)) + "'");
        }
        boolean http10 = buf[start + 7] == '0';
        int status = digit(start + 9) * 100 + digit(start + 10) * 10 + digit(start + 11);
        long contentLength = -1;
        boolean chunked = false;
        boolean close = http10;
        boolean replayed = false;
        while (true) {
            start = readLine();
            end = pos - 2;
            if (end == start) {
                break;
            }
            int colon = indexOf(start, end, (byte) ':');
            if (colon < 0) {
                throw new ProtocolException("malformed header line: '" + ascii(start, Math.min(end, start + 60)) + "'");
            }
            int v = colon + 1;
            while (v < end && (buf[v] == ' ' || buf[v] == '\t')) {
                v++;
            }
            int ve = end;
            while (ve > v && (buf[ve - 1] == ' ' || buf[ve - 1] == '\t')) {
                ve--;
            }
            if (nameIs(start, colon, CONTENT_LENGTH)) {
                contentLength = parseLong(v, ve);
            } else if (nameIs(start, colon, TRANSFER_ENCODING)) {
                chunked = ascii(v, ve).toLowerCase(java.util.Locale.ROOT).contains("chunked");
            } else if (nameIs(start, colon, CONNECTION)) {
                String value = ascii(v, ve).toLowerCase(java.util.Locale.ROOT);
                close = value.contains("close") || (http10 && !value.contains("keep-alive"));
            } else if (nameIs(start, colon, IDEMPOTENT_REPLAYED)) {
                replayed = "true".equalsIgnoreCase(ascii(v, ve));
            }
        }
        String body;
        if (status / 100 == 1 || status == 204 || status == 304) {
            body = "";
        } else if (chunked) {
            body = readChunked();
        } else if (contentLength >= 0) {
            body = readFixed(contentLength);
        } else {
            body = readToEnd();
            close = true;
        }
        if (close) {
            reusable = false;
        }
        return new Transport.Reply(status, body, replayed);
    }

    /** Reads up to and including the next CRLF; returns the line's start (its end is pos - 2). */
    private int readLine() throws IOException {
        int scan = pos;
        while (true) {
            for (int i = scan; i < lim; i++) {
                if (buf[i] == '\n') {
                    if (i == pos || buf[i - 1] != '\r') {
                        throw new ProtocolException("header line not ended by CRLF");
                    }
                    int start = pos;
                    pos = i + 1;
                    return start;
                }
            }
            scan = lim;
            if (lim - pos >= MAX_HEADER_LINE) {
                throw new ProtocolException("header line longer than " + MAX_HEADER_LINE + " bytes");
            }
            int consumed = pos;
            if (!fill()) {
                throw new EOFException("the server closed the connection mid-answer");
            }
            scan -= consumed - pos;
        }
    }

    /** Reads more bytes, compacting or growing the buffer; false at end of stream. */
    private boolean fill() throws IOException {
        if (pos > 0) {
            System.arraycopy(buf, pos, buf, 0, lim - pos);
            lim -= pos;
            pos = 0;
        }
        if (lim == buf.length) {
            buf = Arrays.copyOf(buf, buf.length * 2);
        }
        // each read may wait only what is left of the request's time (setSoTimeout is a field store)
        socket.setSoTimeout(remainingMillis(deadlineNanos));
        int n = in.read(buf, lim, buf.length - lim);
        if (n < 0) {
            return false;
        }
        lim += n;
        return true;
    }

    private String readFixed(long length) throws IOException {
        if (length > Integer.MAX_VALUE - 16) {
            throw new ProtocolException("body of " + length + " bytes is too large");
        }
        int n = (int) length;
        while (lim - pos < n) {
            if (lim == buf.length && pos == 0) {
                buf = Arrays.copyOf(buf, Math.max(buf.length * 2, n));
            }
            if (!fill()) {
                throw new EOFException("the server closed the connection " + (lim - pos) + " bytes into a body of " + n);
            }
        }
        String body = new String(buf, pos, n, StandardCharsets.UTF_8);
        pos += n;
        return body;
    }

    private String readChunked() throws IOException {
        StringBuilder body = new StringBuilder();
        while (true) {
            int start = readLine();
            int end = pos - 2;
            int semi = indexOf(start, end, (byte) ';');
            long size = Long.parseLong(ascii(start, semi < 0 ? end : semi).trim(), 16);
            if (size == 0) {
                while (readLine() != pos - 2) {
                    // trailers, ignored
                }
                return body.toString();
            }
            body.append(readFixed(size));
            int crlf = readLine();
            if (crlf != pos - 2) {
                throw new ProtocolException("chunk not followed by CRLF");
            }
        }
    }

    private String readToEnd() throws IOException {
        while (fill()) {
            // read until the server closes
        }
        String body = new String(buf, pos, lim - pos, StandardCharsets.UTF_8);
        pos = lim;
        return body;
    }

    private static int remainingMillis(long deadlineNanos) throws SocketTimeoutException {
        long left = deadlineNanos - System.nanoTime();
        if (left <= 0) {
            throw new SocketTimeoutException("no complete answer within the client timeout");
        }
        return (int) Math.min(Integer.MAX_VALUE, Math.max(1, (left + 999_999) / 1_000_000));
    }

    private boolean nameIs(int start, int end, byte[] lowerName) {
        if (end - start != lowerName.length) {
            return false;
        }
        for (int i = 0; i < lowerName.length; i++) {
            int c = buf[start + i];
            if (c >= 'A' && c <= 'Z') {
                c += 'a' - 'A';
            }
            if (c != lowerName[i]) {
                return false;
            }
        }
        return true;
    }

    private int indexOf(int start, int end, byte b) {
        for (int i = start; i < end; i++) {
            if (buf[i] == b) {
                return i;
            }
        }
        return -1;
    }

    private long parseLong(int start, int end) throws ProtocolException {
        if (start == end) {
            throw new ProtocolException("empty Content-Length");
        }
        long value = 0;
        for (int i = start; i < end; i++) {
            int d = buf[i] - '0';
            if (d < 0 || d > 9 || value > Long.MAX_VALUE / 10) {
                throw new ProtocolException("bad Content-Length '" + ascii(start, end) + "'");
            }
            value = value * 10 + d;
        }
        return value;
    }

    private int digit(int at) throws ProtocolException {
        int d = buf[at] - '0';
        if (d < 0 || d > 9) {
            throw new ProtocolException("bad status code in '" + ascii(at - 9, Math.min(lim, at + 20)) + "'");
        }
        return d;
    }

    private String ascii(int start, int end) {
        return new String(buf, start, Math.max(0, end - start), StandardCharsets.ISO_8859_1);
    }

    @Override
    public void close() {
        reusable = false;
        try {
            socket.close();
        } catch (IOException ignored) {
            // closing a socket we are done with: nothing to do
        }
    }
}
