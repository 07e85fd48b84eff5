package io.floodgate.http;

import io.floodgate.testing.MutableClock;
import org.junit.jupiter.api.Test;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The user-token policy of issue 17, item 6, token by token: what was accepted and must not be
 * (no {@code exp}, {@code crit}, padding and other non-canonical base64url, a future {@code iat},
 * a lifetime over the maximum), what must still pass (a plain valid token, the clock skew's
 * margins), and the old refusals kept ({@code alg: none}, a wrong key, a tampered payload).
 * Time is a clock the test sets.
 */
class JwtPolicyTest {

    private static final String SECRET = "jwt-policy-test-secret-0123456789abcdef";
    private static final Instant NOW = Instant.parse("2026-12-03T12:00:00Z");
    private static final long T = NOW.getEpochSecond();

    private final MutableClock clock = new MutableClock(NOW);
    private final Jwt jwt = new Jwt(SECRET, Json.MAPPER, clock, new Jwt.Policy(Duration.ofHours(24), Duration.ofSeconds(60)));

    private static String b64(String s) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    private static String sign(String input) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(SECRET.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
            return Base64.getUrlEncoder().withoutPadding().encodeToString(mac.doFinal(input.getBytes(StandardCharsets.US_ASCII)));
        } catch (java.security.GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String token(String header, String claims) {
        String input = b64(header) + "." + b64(claims);
        return input + "." + sign(input);
    }

    private static String token(String claims) {
        return token("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", claims);
    }

    @Test
    void aValidTokenGivesItsSubject() {
        assertThat(jwt.subject(token("{\"sub\":\"u-1\",\"iat\":" + T + ",\"exp\":" + (T + 3600) + "}"))).contains("u-1");
        assertThat(jwt.subject(token("{\"sub\":\"u-1\",\"exp\":" + (T + 3600) + "}"))).as("iat is optional").contains("u-1");
    }

    @Test
    void aTokenWithoutExpIsRefused() {
        assertThat(jwt.subject(token("{\"sub\":\"u-1\"}"))).isEmpty();
        assertThat(jwt.subject(token("{\"sub\":\"u-1\",\"iat\":" + T + "}"))).isEmpty();
        assertThat(jwt.subject(token("{\"sub\":\"u-1\",\"exp\":\"" + (T + 60) + "\"}"))).as("exp must be a number").isEmpty();
    }

    @Test
    void expiryAndNotBeforeAllowTheClockSkewAndNoMore() {
        assertThat(jwt.subject(token("{\"sub\":\"u\",\"exp\":" + (T - 59) + "}"))).as("expired 59 s ago, skew 60 s").isPresent();
        assertThat(jwt.subject(token("{\"sub\":\"u\",\"exp\":" + (T - 60) + "}"))).isEmpty();
        assertThat(jwt.subject(token("{\"sub\":\"u\",\"exp\":" + (T + 600) + ",\"nbf\":" + (T + 60) + "}"))).isPresent();
        assertThat(jwt.subject(token("{\"sub\":\"u\",\"exp\":" + (T + 600) + ",\"nbf\":" + (T + 61) + "}"))).isEmpty();
        clock.advance(Duration.ofSeconds(700));
        assertThat(jwt.subject(token("{\"sub\":\"u\",\"exp\":" + (T + 600) + "}"))).as("the clock moved past exp").isEmpty();
    }

    @Test
    void anIssuedAtInTheFutureBeyondTheSkewIsRefused() {
        assertThat(jwt.subject(token("{\"sub\":\"u\",\"iat\":" + (T + 60) + ",\"exp\":" + (T + 600) + "}"))).isPresent();
        assertThat(jwt.subject(token("{\"sub\":\"u\",\"iat\":" + (T + 61) + ",\"exp\":" + (T + 600) + "}"))).isEmpty();
        assertThat(jwt.subject(token("{\"sub\":\"u\",\"iat\":" + (T + 86_400 * 30) + ",\"exp\":" + (T + 86_400 * 31) + "}")))
                .as("minted to start in a month").isEmpty();
        assertThat(jwt.subject(token("{\"sub\":\"u\",\"iat\":\"now\",\"exp\":" + (T + 600) + "}"))).isEmpty();
    }

    @Test
    void aLifetimeOverTheMaximumIsRefused() {
        long day = 86_400;
        assertThat(jwt.subject(token("{\"sub\":\"u\",\"iat\":" + T + ",\"exp\":" + (T + day) + "}"))).isPresent();
        assertThat(jwt.subject(token("{\"sub\":\"u\",\"iat\":" + T + ",\"exp\":" + (T + day + 61) + "}"))).isEmpty();
        assertThat(jwt.subject(token("{\"sub\":\"u\",\"exp\":" + (T + 10 * 365 * day) + "}"))).as("without iat, from now")
                .isEmpty();
        assertThat(jwt.subject(token("{\"sub\":\"u\",\"iat\":" + (T - 365 * day) + ",\"exp\":" + (T + 60) + "}")))
                .as("issued a year ago for a year").isEmpty();
    }

    @Test
    void aCritHeaderIsRefused() {
        String claims = "{\"sub\":\"u\",\"exp\":" + (T + 600) + "}";
        assertThat(jwt.subject(token("{\"alg\":\"HS256\",\"crit\":[\"exp\"]}", claims))).isEmpty();
        assertThat(jwt.subject(token("{\"alg\":\"HS256\",\"crit\":[\"x-unknown\"],\"x-unknown\":1}", claims))).isEmpty();
        assertThat(jwt.subject(token("{\"alg\":\"HS256\",\"b64\":false,\"crit\":[\"b64\"]}", claims))).isEmpty();
        assertThat(jwt.subject(token("{\"alg\":\"HS256\",\"crit\":[]}", claims))).isEmpty();
    }

    @Test
    void nonCanonicalBase64urlIsRefused() {
        String valid = token("{\"sub\":\"u\",\"exp\":" + (T + 600) + "}");
        assertThat(jwt.subject(valid)).isPresent();
        String[] p = valid.split("\\.");
        // HMAC-SHA256 is 32 bytes: 43 characters, whose last carries 2 unused bits
        assertThat(jwt.subject(p[0] + "." + p[1] + "." + p[2] + "=")).as("padded signature").isEmpty();
        String std = valid.replace('-', '+').replace('_', '/');
        if (!std.equals(valid)) {
            assertThat(jwt.subject(std)).as("the standard alphabet").isEmpty();
        }
        char last = p[2].charAt(p[2].length() - 1);
        int index = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".indexOf(last);
        char sibling = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".charAt(index ^ 1);
        assertThat(jwt.subject(p[0] + "." + p[1] + "." + p[2].substring(0, p[2].length() - 1) + sibling))
                .as("the same signature bytes spelled with a stray low bit").isEmpty();
        assertThat(jwt.subject(p[0] + "=." + p[1] + "." + p[2])).as("padded header").isEmpty();
        assertThat(jwt.subject(p[0] + "." + p[1] + " ." + p[2])).as("a space").isEmpty();
        assertThat(jwt.subject(p[0] + "." + p[1] + "." + p[2] + ".")).as("four parts").isEmpty();
    }

    @Test
    void theOldRefusalsStand() {
        String claims = "{\"sub\":\"u\",\"exp\":" + (T + 600) + "}";
        assertThat(jwt.subject(b64("{\"alg\":\"none\"}") + "." + b64(claims) + ".")).isEmpty();
        assertThat(jwt.subject(token("{\"alg\":\"HS512\"}", claims))).isEmpty();
        assertThat(jwt.subject(token("{\"alg\":\"hs256\"}", claims))).isEmpty();
        String valid = token(claims);
        String[] p = valid.split("\\.");
        assertThat(jwt.subject(p[0] + "." + b64(claims.replace("\"u\"", "\"v\"")) + "." + p[2])).isEmpty();
        assertThat(jwt.subject(token("{\"sub\":\"\",\"exp\":" + (T + 600) + "}"))).as("empty sub").isEmpty();
        assertThat(jwt.subject(token("{\"sub\":\"u\",\"sub\":\"v\",\"exp\":" + (T + 600) + "}"))).as("duplicate").isEmpty();
        assertThat(jwt.subject("x".repeat(5_000))).isEmpty();
    }
}
