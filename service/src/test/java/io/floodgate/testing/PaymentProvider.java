package io.floodgate.testing;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.HexFormat;
import java.util.Map;

/**
 * A payment provider as tests play it: signs callbacks as API.md says ({@code Floodgate-Signature:
 * t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">}) and sends them.
 */
public final class PaymentProvider {

    /** The secret test servers are started with ({@code FLOODGATE_PAYMENT_SECRET}). */
    public static final String SECRET = "test-payment-secret-0123456789abcdef";

    private final Api api;
    private final String secret;

    public PaymentProvider(Api api) {
        this(api, SECRET);
    }

    public PaymentProvider(Api api, String secret) {
        this.api = api;
        this.secret = secret;
    }

    /** The callback body of API.md. */
    public static String body(String paymentId, String orderId, String status, long amountMinor, String currency) {
        return "{\"paymentId\":\"" + paymentId + "\",\"orderId\":\"" + orderId + "\",\"status\":\"" + status
                + "\",\"amountMinor\":" + amountMinor + ",\"currency\":\"" + currency + "\"}";
    }

    /** A signed success, now. */
    public Api.Response succeeded(String paymentId, String orderId, long amountMinor, String currency) {
        return send(body(paymentId, orderId, "SUCCEEDED", amountMinor, currency));
    }

    /** {@code body}, signed now with this provider's secret. */
    public Api.Response send(String body) {
        return send(body, header(System.currentTimeMillis() / 1000, body));
    }

    /** {@code body} with the given signature header (null: none). */
    public Api.Response send(String body, String signatureHeader) {
        Map<String, String> headers = signatureHeader == null ? Map.of("Content-Type", "application/json")
                : Map.of("Content-Type", "application/json", "Floodgate-Signature", signatureHeader);
        return api.send("POST", "/api/v1/payments/callback", body, headers);
    }

    /** {@code t=<t>,v1=<signature>} with this provider's secret. */
    public String header(long unixSeconds, String body) {
        return "t=" + unixSeconds + ",v1=" + sign(secret, unixSeconds, body);
    }

    public static String sign(String secret, long unixSeconds, String body) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
            return HexFormat.of().formatHex(mac.doFinal((unixSeconds + "." + body).getBytes(StandardCharsets.UTF_8)));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }
}
