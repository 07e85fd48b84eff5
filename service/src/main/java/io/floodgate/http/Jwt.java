package io.floodgate.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.Optional;

/**
 * Verifies HS256 user tokens (RFC 7519, RFC 7515 compact form) and returns their subject.
 *
 * <p>The policy, each point a reason to refuse (docs/SECURITY.md has the table):
 * <ul>
 *   <li>three parts, each canonical base64url: only {@code [A-Za-z0-9_-]}, no padding, no other
 *       alphabet, and no stray bits in the last character (re-encoding gives the same text), so a
 *       token has exactly one spelling;</li>
 *   <li>header {@code alg} exactly {@code HS256} (never {@code none}, never another key type), and
 *       no {@code crit}: this verifier understands no extension, and RFC 7515 4.1.11 says a token
 *       naming one it does not understand is invalid;</li>
 *   <li>the HMAC-SHA256 of the first two parts, compared in constant time;</li>
 *   <li>claims a JSON object with {@code exp} (required), {@code nbf} and {@code iat} (optional)
 *       numbers: not expired and not early, within the clock skew; {@code iat} not in the future
 *       beyond the skew; valid for at most the maximum lifetime ({@code exp} minus {@code iat},
 *       or minus now without {@code iat}); a non-empty string {@code sub}.</li>
 * </ul>
 *
 * <p>Hand-written rather than nimbus-jose-jwt, decided by what each gets right (docs/SECURITY.md):
 * Nimbus checks {@code alg}, refuses an unknown {@code crit} and checks {@code exp}/{@code nbf}
 * with a skew, all of which this does in a few lines; but its base64url decoder ignores characters
 * outside the alphabet (padding included), it has no maximum lifetime and does not refuse a future
 * {@code iat}, so the finding's cases would still need code of ours around it, for one algorithm.
 */
final class Jwt {

    /** How long tokens may live and how far clocks may disagree. */
    record Policy(Duration maxLifetime, Duration clockSkew) {
        static Policy defaults() {
            return new Policy(Duration.ofDays(1), Duration.ofSeconds(60));
        }
    }

    private static final Base64.Decoder DECODER = Base64.getUrlDecoder();
    private static final Base64.Encoder ENCODER = Base64.getUrlEncoder().withoutPadding();
    /** A token longer than this is not one of ours (an HS256 token with a 64-character subject is ~200). */
    private static final int MAX_LENGTH = 4_096;

    private final SecretKeySpec key;
    private final ObjectMapper mapper;
    private final Clock clock;
    private final long maxLifetimeSeconds;
    private final long skewSeconds;

    Jwt(String secret, ObjectMapper mapper, Clock clock) {
        this(secret, mapper, clock, Policy.defaults());
    }

    Jwt(String secret, ObjectMapper mapper, Clock clock, Policy policy) {
        this.key = new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256");
        this.mapper = mapper;
        this.clock = clock;
        this.maxLifetimeSeconds = policy.maxLifetime().toSeconds();
        this.skewSeconds = policy.clockSkew().toSeconds();
    }

    /** The token's {@code sub}, or empty if the token breaks any rule of the policy. */
    Optional<String> subject(String token) {
        if (token.length() > MAX_LENGTH) {
            return Optional.empty();
        }
        int first = token.indexOf('.');
        int second = token.indexOf('.', first + 1);
        if (first <= 0 || second <= first + 1 || second == token.length() - 1 || token.indexOf('.', second + 1) >= 0) {
            return Optional.empty();
        }
        try {
            byte[] headerBytes = canonical(token.substring(0, first));
            byte[] claimsBytes = canonical(token.substring(first + 1, second));
            byte[] signature = canonical(token.substring(second + 1));
            if (headerBytes == null || claimsBytes == null || signature == null) {
                return Optional.empty();
            }
            JsonNode header = mapper.readTree(headerBytes);
            if (header == null || !header.isObject() || !"HS256".equals(header.path("alg").textValue())
                    || header.has("crit")) {
                return Optional.empty();
            }
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(key);
            byte[] expected = mac.doFinal(token.substring(0, second).getBytes(StandardCharsets.US_ASCII));
            if (!MessageDigest.isEqual(expected, signature)) {
                return Optional.empty();
            }
            JsonNode claims = mapper.readTree(claimsBytes);
            if (claims == null || !claims.isObject() || !timely(claims)) {
                return Optional.empty();
            }
            JsonNode sub = claims.get("sub");
            return sub != null && sub.isTextual() && !sub.textValue().isEmpty() ? Optional.of(sub.textValue())
                    : Optional.empty();
        } catch (java.io.IOException | RuntimeException | GeneralSecurityException e) {
            return Optional.empty();
        }
    }

    private boolean timely(JsonNode claims) {
        long now = Math.floorDiv(clock.millis(), 1000);
        JsonNode exp = claims.get("exp");
        if (exp == null || !exp.isNumber()) {
            return false; // a token without exp would never expire
        }
        long expires = (long) Math.floor(exp.asDouble());
        if (expires + skewSeconds <= now) {
            return false;
        }
        JsonNode nbf = claims.get("nbf");
        if (nbf != null && (!nbf.isNumber() || (long) Math.floor(nbf.asDouble()) - skewSeconds > now)) {
            return false;
        }
        JsonNode iat = claims.get("iat");
        long issued = now;
        if (iat != null) {
            if (!iat.isNumber()) {
                return false;
            }
            issued = (long) Math.floor(iat.asDouble());
            if (issued - skewSeconds > now) {
                return false; // issued in the future: a clock far off, or a token minted to outlive the policy
            }
        }
        return expires - issued <= maxLifetimeSeconds + skewSeconds;
    }

    /**
     * The bytes of a canonical base64url text (RFC 7515 2: no padding, the URL alphabet only, and
     * no bits set past the last whole byte), or null for anything else.
     */
    static byte[] canonical(String part) {
        if (part.isEmpty() || part.length() % 4 == 1) {
            return null;
        }
        for (int i = 0; i < part.length(); i++) {
            char c = part.charAt(i);
            boolean alphabet = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'
                    || c == '_';
            if (!alphabet) {
                return null;
            }
        }
        byte[] bytes;
        try {
            bytes = DECODER.decode(part);
        } catch (IllegalArgumentException e) {
            return null;
        }
        return ENCODER.encodeToString(bytes).equals(part) ? bytes : null;
    }
}
