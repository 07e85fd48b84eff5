package io.floodgate.http;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;

/**
 * Checks the {@code Floodgate-Signature} of a payment callback: {@code t=<unix seconds>,v1=<hex>}
 * (one {@code t}, one or more {@code v1}), where {@code v1} is HMAC-SHA256, keyed with one of the
 * configured secrets (several during a rotation), of {@code <t>.<raw body>}: the bytes as received,
 * before any parsing. Each candidate is compared in constant time ({@link MessageDigest#isEqual}
 * on the decoded bytes), so a forger learns nothing from how long a refusal takes; {@code t} must
 * be within the tolerance of now, so a captured callback cannot be replayed later.
 *
 * <p>The secrets live only in their {@link SecretKeySpec}s: this class has no {@code toString}
 * that shows them, and no refusal says more than what was wrong with the header.
 */
final class PaymentSignatures {

    private static final String ALGORITHM = "HmacSHA256";
    private static final int MAX_SIGNATURES = 8;

    private final List<SecretKeySpec> keys;
    private final Duration tolerance;
    private final Clock clock;

    PaymentSignatures(List<String> secrets, Duration tolerance, Clock clock) {
        if (secrets.isEmpty()) {
            throw new IllegalArgumentException("at least one payment secret is needed");
        }
        List<SecretKeySpec> specs = new ArrayList<>(secrets.size());
        for (String secret : secrets) {
            specs.add(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), ALGORITHM));
        }
        this.keys = List.copyOf(specs);
        this.tolerance = Objects.requireNonNull(tolerance, "tolerance");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /** Why a signature was refused, for the 401's detail: never the secret, never the expected value. */
    static final class Refused extends Exception {
        Refused(String why) {
            super(why, null, false, false);
        }
    }

    /**
     * Passes when {@code header} signs {@code body} now with one of the secrets.
     *
     * @throws Refused saying what was wrong: missing or malformed header, time out of tolerance,
     *                 no matching signature
     */
    void verify(String header, byte[] body) throws Refused {
        if (header == null || header.isBlank()) {
            throw new Refused("the Floodgate-Signature header is missing");
        }
        String timestamp = null;
        List<byte[]> signatures = new ArrayList<>(2);
        for (String part : header.split(",", MAX_SIGNATURES + 2)) {
            String item = part.strip();
            if (item.startsWith("t=")) {
                if (timestamp != null) {
                    throw new Refused("the Floodgate-Signature header has more than one t=");
                }
                timestamp = item.substring(2);
            } else if (item.startsWith("v1=") && signatures.size() < MAX_SIGNATURES) {
                try {
                    signatures.add(HexFormat.of().parseHex(item.substring(3)));
                } catch (IllegalArgumentException notHex) {
                    // a v1 that is not hex matches nothing; the others may
                }
            }
        }
        long seconds = parseSeconds(timestamp);
        long skew = Math.abs(clock.instant().getEpochSecond() - seconds);
        if (skew > tolerance.toSeconds()) {
            throw new Refused("the signature's time t=" + seconds + " is " + skew + " s from now, more than the "
                    + tolerance.toSeconds() + " s allowed");
        }
        if (signatures.isEmpty()) {
            throw new Refused("the Floodgate-Signature header has no v1= signature");
        }
        byte[] signed = (seconds + ".").getBytes(StandardCharsets.US_ASCII);
        boolean match = false;
        for (SecretKeySpec key : keys) {
            byte[] expected = hmac(key, signed, body);
            for (byte[] candidate : signatures) {
                match |= MessageDigest.isEqual(expected, candidate); // every pair compared: no early exit
            }
        }
        if (!match) {
            throw new Refused("no v1 signature matches the body");
        }
    }

    private static long parseSeconds(String timestamp) throws Refused {
        if (timestamp == null) {
            throw new Refused("the Floodgate-Signature header has no t=<unix seconds>");
        }
        if (timestamp.isEmpty() || timestamp.length() > 12 || !timestamp.chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw new Refused("the signature's t= must be unix seconds");
        }
        return Long.parseLong(timestamp);
    }

    private static byte[] hmac(SecretKeySpec key, byte[] prefix, byte[] body) {
        try {
            Mac mac = Mac.getInstance(ALGORITHM);
            mac.init(key);
            mac.update(prefix);
            return mac.doFinal(body);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is not available in this JDK", e);
        }
    }
}
