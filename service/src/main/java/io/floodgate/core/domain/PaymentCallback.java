package io.floodgate.core.domain;

import java.util.Objects;

/**
 * What a payment provider reports about one payment, as the signed callback carries it. Two
 * callbacks with the same {@code paymentId} are the same callback only when every field agrees.
 */
public record PaymentCallback(String paymentId, String orderId, Status status, long amountMinor, String currency) {

    public enum Status { SUCCEEDED, FAILED }

    public PaymentCallback {
        Objects.requireNonNull(paymentId, "paymentId");
        Objects.requireNonNull(orderId, "orderId");
        Objects.requireNonNull(status, "status");
        Objects.requireNonNull(currency, "currency");
    }

    public boolean sameAs(String otherOrderId, Status otherStatus, long otherAmountMinor, String otherCurrency) {
        return orderId.equals(otherOrderId) && status == otherStatus && amountMinor == otherAmountMinor
                && currency.equals(otherCurrency);
    }
}
