package io.floodgate.http;

/**
 * The body of {@code POST /api/v1/orders} in the plain form nearly every client sends: one object
 * with exactly {@code userId} and {@code sku} as strings of printable ASCII without escapes and
 * {@code quantity} as an integer from 1 to 1000 written without sign, fraction, exponent or leading
 * zero, in any order, with JSON's whitespace anywhere between tokens.
 *
 * <p>Hand-written because it is the hot path of every order and of every sold-out answer: Jackson
 * sets up a parser per call (a bootstrapper, symbol tables, duplicate detection) and the body then
 * becomes a tree, together 9% of a sold-out answer's CPU in a JFR profile (issue 14). It decides
 * nothing on its own: a body in any other form (escapes, other members, another type, a
 * duplicate, bad JSON, a quantity out of range) gives {@code null}, and the caller reads it with
 * Jackson ({@link Json#flatObject}), whose verdicts and messages stand. Where it gives a body,
 * Jackson reads the same three values from the same bytes ({@code OrderBodyTest}, over random and
 * mutated documents).
 */
record OrderBody(String userId, String sku, int quantity) {

    private static final byte[] USER_ID = {'u', 's', 'e', 'r', 'I', 'd'};
    private static final byte[] SKU = {'s', 'k', 'u'};
    private static final byte[] QUANTITY = {'q', 'u', 'a', 'n', 't', 'i', 't', 'y'};
    /** Longer strings than any valid id are left to Jackson and the id rules (which refuse them). */
    private static final int MAX_STRING = 64;

    /** The body in the plain form, or null for Jackson to read. */
    static OrderBody parse(byte[] b) {
        int n = b.length;
        int i = space(b, 0);
        if (i >= n || b[i] != '{') {
            return null;
        }
        String userId = null;
        String sku = null;
        int quantity = 0;
        i++;
        while (true) {
            i = space(b, i);
            if (i >= n || b[i] != '"') {
                return null;
            }
            int nameStart = i + 1;
            int nameEnd = stringEnd(b, nameStart);
            if (nameEnd < 0) {
                return null;
            }
            i = space(b, nameEnd + 1);
            if (i >= n || b[i] != ':') {
                return null;
            }
            i = space(b, i + 1);
            if (is(b, nameStart, nameEnd, QUANTITY)) {
                if (quantity != 0) {
                    return null;
                }
                int start = i;
                int value = 0;
                while (i < n && b[i] >= '0' && b[i] <= '9' && i - start < 4) {
                    value = value * 10 + (b[i] - '0');
                    i++;
                }
                if (i == start || b[start] == '0' || value > 1000 || i < n && (b[i] >= '0' && b[i] <= '9')) {
                    return null;
                }
                quantity = value;
            } else {
                if (i >= n || b[i] != '"') {
                    return null;
                }
                int end = stringEnd(b, i + 1);
                if (end < 0) {
                    return null;
                }
                if (is(b, nameStart, nameEnd, USER_ID) && userId == null) {
                    userId = ascii(b, i + 1, end);
                } else if (is(b, nameStart, nameEnd, SKU) && sku == null) {
                    sku = ascii(b, i + 1, end);
                } else {
                    return null; // another member, or a duplicate
                }
                i = end + 1;
            }
            i = space(b, i);
            if (i >= n) {
                return null;
            }
            if (b[i] == ',') {
                i++;
            } else if (b[i] == '}') {
                break;
            } else {
                return null;
            }
        }
        if (space(b, i + 1) != n || userId == null || sku == null || quantity == 0) {
            return null;
        }
        return new OrderBody(userId, sku, quantity);
    }

    /** Past JSON's whitespace (space, tab, line feed, carriage return) from {@code i}. */
    private static int space(byte[] b, int i) {
        while (i < b.length && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r')) {
            i++;
        }
        return i;
    }

    /**
     * The index of the quote that ends a string begun at {@code from}, or -1 when the string holds
     * anything but printable ASCII without escapes, or is longer than {@link #MAX_STRING}.
     */
    private static int stringEnd(byte[] b, int from) {
        int limit = Math.min(b.length, from + MAX_STRING + 1);
        for (int i = from; i < limit; i++) {
            byte c = b[i];
            if (c == '"') {
                return i;
            }
            if (c < 0x20 || c > 0x7E || c == '\\') {
                return -1;
            }
        }
        return -1;
    }

    private static boolean is(byte[] b, int from, int to, byte[] name) {
        return java.util.Arrays.equals(b, from, to, name, 0, name.length);
    }

    private static String ascii(byte[] b, int from, int to) {
        return new String(b, from, to - from, java.nio.charset.StandardCharsets.ISO_8859_1); // printable ASCII
    }
}
