package io.floodgate.http;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * A JSON text built straight into UTF-8 bytes, for the answers written on every request (problems).
 * Hand-written because it is the hot path of a refusal: Jackson's generator costs a buffer from
 * its pool, a writing context and a flush per answer, about a tenth of the CPU of a sold-out
 * answer in a JFR profile (issue 14), for six fields of which four never change. The bytes are
 * the same as Jackson's generator writes with its defaults (checked over random text by
 * {@code JsonBytesTest}): {@code "} and {@code \} escaped, the control characters as {@code \b},
 * {@code \t}, {@code \n}, {@code \f}, {@code \r} or a backslash, u and four upper-case hex digits,
 * as is each half of a surrogate pair (Jackson's default), everything else as UTF-8.
 */
final class JsonBytes {

    private static final byte[] HEX = "0123456789ABCDEF".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] NULL = {'n', 'u', 'l', 'l'};

    private byte[] buf;
    private int len;

    JsonBytes(int capacity) {
        buf = new byte[capacity];
    }

    /** Bytes taken as they are: already JSON (a constant part of a document). */
    JsonBytes raw(byte[] bytes) {
        ensure(bytes.length);
        System.arraycopy(bytes, 0, buf, len, bytes.length);
        len += bytes.length;
        return this;
    }

    /** A JSON string for {@code value} (quoted and escaped), or {@code null}. */
    JsonBytes string(String value) {
        if (value == null) {
            return raw(NULL);
        }
        int n = value.length();
        ensure(n * 3 + 2); // the most UTF-8 a char takes; an escape (6 bytes) makes room as it comes
        byte[] b = buf;
        int at = len;
        b[at++] = '"';
        for (int i = 0; i < n; i++) {
            char c = value.charAt(i);
            if (c < 0x80) {
                if (c >= 0x20 && c != '"' && c != '\\') {
                    b[at++] = (byte) c;
                    continue;
                }
                len = at;
                ensure(6 + (n - i) * 3 + 1);
                b = buf;
                at = escape(b, at, c);
            } else if (c < 0x800) {
                b[at++] = (byte) (0xC0 | c >> 6);
                b[at++] = (byte) (0x80 | c & 0x3F);
            } else if (Character.isSurrogate(c)) {
                // as Jackson writes them by default: each half of a pair (or a lone one) escaped
                len = at;
                ensure(6 + (n - i) * 3 + 1);
                b = buf;
                at = hexEscape(b, at, c);
            } else {
                b[at++] = (byte) (0xE0 | c >> 12);
                b[at++] = (byte) (0x80 | c >> 6 & 0x3F);
                b[at++] = (byte) (0x80 | c & 0x3F);
            }
        }
        b[at++] = '"';
        len = at;
        return this;
    }

    private static int escape(byte[] b, int at, char c) {
        b[at++] = '\\';
        char shortForm = switch (c) {
            case '"' -> '"';
            case '\\' -> '\\';
            case '\b' -> 'b';
            case '\t' -> 't';
            case '\n' -> 'n';
            case '\f' -> 'f';
            case '\r' -> 'r';
            default -> 0;
        };
        if (shortForm != 0) {
            b[at++] = (byte) shortForm;
            return at;
        }
        return hexEscape(b, at - 1, c);
    }

    private static int hexEscape(byte[] b, int at, char c) {
        b[at++] = '\\';
        b[at++] = 'u';
        b[at++] = HEX[c >> 12];
        b[at++] = HEX[c >> 8 & 0xF];
        b[at++] = HEX[c >> 4 & 0xF];
        b[at++] = HEX[c & 0xF];
        return at;
    }

    /** A JSON number. */
    JsonBytes number(long value) {
        return raw(Long.toString(value).getBytes(StandardCharsets.US_ASCII));
    }

    /** A single ASCII character of JSON's syntax ({@code {}, {@code ,}, {@code :} ...). */
    JsonBytes syntax(char c) {
        ensure(1);
        buf[len++] = (byte) c;
        return this;
    }

    byte[] toByteArray() {
        return Arrays.copyOf(buf, len);
    }

    private void ensure(int more) {
        if (len + more > buf.length) {
            buf = Arrays.copyOf(buf, Math.max(buf.length * 2, len + more));
        }
    }
}
