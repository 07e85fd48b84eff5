package io.floodgate.http;

/**
 * Text from a client made safe for a log line: every character outside printable ASCII (line
 * breaks, escape sequences, bidi overrides, NUL) is written as {@code \\uXXXX}, a backslash as
 * {@code \\\\}, and the whole is cut at a bound. A line can then never be forged or hidden by what
 * a client sent, whatever the level and whatever the encoder (the text pattern writes MDC values
 * and arguments as they are).
 */
final class LogText {

    /** The most characters of client text a log line carries. */
    static final int MAX = 80;

    private LogText() {
    }

    /** {@code text} escaped and bounded; {@code "-"} for null. */
    static String of(String text) {
        if (text == null) {
            return "-";
        }
        int end = Math.min(text.length(), MAX);
        StringBuilder out = null;
        for (int i = 0; i < end; i++) {
            char c = text.charAt(i);
            boolean plain = c >= 0x20 && c < 0x7F && c != '\\';
            if (!plain && out == null) {
                out = new StringBuilder(end + 16).append(text, 0, i);
            }
            if (out != null) {
                if (plain) {
                    out.append(c);
                } else if (c == '\\') {
                    out.append("\\\\");
                } else {
                    out.append(String.format("\\u%04x", (int) c));
                }
            }
        }
        String escaped = out == null ? text.substring(0, end) : out.toString();
        return text.length() > MAX ? escaped + "..." : escaped;
    }
}
