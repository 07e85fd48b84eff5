package io.floodgate.http;

/**
 * The W3C Trace Context {@code traceparent} header (https://www.w3.org/TR/trace-context/), read
 * strictly: {@code version "-" trace-id "-" parent-id "-" trace-flags}, all lowercase hex, version
 * {@code 00} exactly 55 characters, a later version at least that with a {@code "-"} after the
 * flags, version {@code ff} and all-zero ids invalid. A header that is not exactly that is
 * ignored, as the specification asks, and nothing of it reaches a log line or a record: only a
 * valid header's trace id (32 hex digits) becomes the request id, and only a valid header, in its
 * version 00 form (55 characters of hex and dashes), is passed on (in the order's Kafka record).
 */
final class TraceParent {

    static final int LENGTH = 55;

    private TraceParent() {
    }

    /** {@code header} as version 00 when it is a valid traceparent (itself, for version 00), else null. */
    static String valid(String header) {
        if (header == null || header.length() < LENGTH) {
            return null;
        }
        if (!hex(header, 0, 2) || header.startsWith("ff") || header.charAt(2) != '-'
                || !hex(header, 3, 35) || header.charAt(35) != '-'
                || !hex(header, 36, 52) || header.charAt(52) != '-'
                || !hex(header, 53, 55)) {
            return null;
        }
        if (header.startsWith("00") ? header.length() != LENGTH : header.length() > LENGTH && header.charAt(LENGTH) != '-') {
            return null;
        }
        if (zeros(header, 3, 35) || zeros(header, 36, 52)) {
            return null;
        }
        // A later version is read as version 00 and passed on as one: its extra fields are
        // unknown here, and nothing unknown is passed on.
        return header.length() == LENGTH && header.startsWith("00") ? header : "00" + header.substring(2, LENGTH);
    }

    /** The trace id (32 lowercase hex digits) of a header {@link #valid} accepted. */
    static String traceId(String validHeader) {
        return validHeader.substring(3, 35);
    }

    private static boolean hex(String s, int from, int to) {
        for (int i = from; i < to; i++) {
            char c = s.charAt(i);
            if (!(c >= '0' && c <= '9' || c >= 'a' && c <= 'f')) {
                return false;
            }
        }
        return true;
    }

    private static boolean zeros(String s, int from, int to) {
        for (int i = from; i < to; i++) {
            if (s.charAt(i) != '0') {
                return false;
            }
        }
        return true;
    }
}
