package io.floodgate.http;

import java.util.concurrent.ThreadLocalRandom;

/**
 * The character rules of API.md for identifiers, checked with lookup tables rather than regular
 * expressions: they run on every request.
 */
final class Ids {

    private static final boolean[] KEY = table("._:-");
    private static final boolean[] SKU = table("._-");
    private static final boolean[] USER = table("._:@-");

    private Ids() {
    }

    private static boolean[] table(String punctuation) {
        boolean[] allowed = new boolean[128];
        for (char c = 'a'; c <= 'z'; c++) {
            allowed[c] = true;
        }
        for (char c = 'A'; c <= 'Z'; c++) {
            allowed[c] = true;
        }
        for (char c = '0'; c <= '9'; c++) {
            allowed[c] = true;
        }
        for (char c : punctuation.toCharArray()) {
            allowed[c] = true;
        }
        return allowed;
    }

    private static boolean matches(String s, boolean[] allowed) {
        if (s == null || s.isEmpty() || s.length() > 64) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c >= 128 || !allowed[c]) {
                return false;
            }
        }
        return true;
    }

    /** Idempotency keys: 1-64 of {@code [A-Za-z0-9._:-]}. */
    static boolean isIdempotencyKey(String s) {
        return matches(s, KEY);
    }

    /** Request ids a client may send in {@code X-Request-Id}: the same rule as keys. */
    static boolean isRequestId(String s) {
        return matches(s, KEY);
    }

    /**
     * Whether {@code s} could be an order id (opaque, at most 64 of the key characters): one that
     * could not names no order, and is 404 without a lookup.
     */
    static boolean couldBeOrderId(String s) {
        return matches(s, KEY);
    }

    /** SKUs: 1-64 of {@code [A-Za-z0-9._-]}. */
    static boolean isSku(String s) {
        return matches(s, SKU);
    }

    /** User ids: 1-64 of {@code [A-Za-z0-9._:@-]}. */
    static boolean isUserId(String s) {
        return matches(s, USER);
    }

    private static final char[] HEX = "0123456789abcdef".toCharArray();

    /** A fresh request id: 24 random hex digits. */
    static String newRequestId() {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        char[] out = new char[24];
        long a = random.nextLong();
        long b = random.nextLong();
        for (int i = 0; i < 16; i++) {
            out[i] = HEX[(int) (a >>> (i * 4)) & 0xF];
        }
        for (int i = 16; i < 24; i++) {
            out[i] = HEX[(int) (b >>> (i * 4)) & 0xF];
        }
        return new String(out);
    }
}
