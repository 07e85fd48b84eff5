package io.floodgate.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.time.Clock;
import java.util.Base64;
import java.util.Optional;

/**
 * Verifies HS256 user tokens (RFC 7519) and returns their subject. Hand-written: one algorithm,
 * a few dozen lines over {@link Mac}, against a library that would bring every other algorithm
 * and its parser along. Only {@code alg: HS256} is accepted (never {@code none}); {@code exp} and
 * {@code nbf}, when present, are enforced.
 */
final class Jwt {

    private final SecretKeySpec key;
    private final ObjectMapper mapper;
    private final Clock clock;

    Jwt(String secret, ObjectMapper mapper, Clock clock) {
        this.key = new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256");
        this.mapper = mapper;
        this.clock = clock;
    }

    /** The token's {@code sub}, or empty if the token is malformed, forged, expired or early. */
    Optional<String> subject(String token) {
        int first = token.indexOf('.');
        int second = token.indexOf('.', first + 1);
        if (first <= 0 || second <= first + 1 || token.indexOf('.', second + 1) >= 0) {
            return Optional.empty();
        }
        try {
            Base64.Decoder decoder = Base64.getUrlDecoder();
            JsonNode header = mapper.readTree(decoder.decode(token.substring(0, first)));
            if (!"HS256".equals(header.path("alg").asText())) {
                return Optional.empty();
            }
            byte[] signature = decoder.decode(token.substring(second + 1));
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(key);
            byte[] expected = mac.doFinal(token.substring(0, second).getBytes(StandardCharsets.US_ASCII));
            if (!MessageDigest.isEqual(expected, signature)) {
                return Optional.empty();
            }
            JsonNode claims = mapper.readTree(decoder.decode(token.substring(first + 1, second)));
            long now = clock.millis() / 1000;
            if (claims.has("exp") && (!claims.get("exp").isNumber() || claims.get("exp").asLong() <= now)) {
                return Optional.empty();
            }
            if (claims.has("nbf") && (!claims.get("nbf").isNumber() || claims.get("nbf").asLong() > now)) {
                return Optional.empty();
            }
            JsonNode sub = claims.get("sub");
            return sub != null && sub.isTextual() ? Optional.of(sub.asText()) : Optional.empty();
        } catch (IllegalArgumentException | java.io.IOException | GeneralSecurityException e) {
            return Optional.empty();
        }
    }
}
