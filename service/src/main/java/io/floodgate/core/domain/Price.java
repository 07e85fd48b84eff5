package io.floodgate.core.domain;

import java.util.Objects;

/**
 * A price in integer minor units of an ISO 4217 currency (cents of EUR, yen of JPY): exact, no
 * floating point anywhere between the item and the payment callback.
 */
public record Price(long amountMinor, String currency) {

    /** The largest amount a price or a payment may carry (API.md). */
    public static final long MAX_AMOUNT_MINOR = 1_000_000_000_000L;

    public Price {
        Objects.requireNonNull(currency, "currency");
        if (amountMinor < 0 || amountMinor > MAX_AMOUNT_MINOR) {
            throw new IllegalArgumentException("amountMinor must be from 0 to " + MAX_AMOUNT_MINOR + ", was " + amountMinor);
        }
        if (!isCurrencyCode(currency)) {
            throw new IllegalArgumentException("currency must be an ISO 4217 code such as EUR, was '" + currency + "'");
        }
    }

    /** Three capital letters that the JDK knows as an ISO 4217 currency. */
    public static boolean isCurrencyCode(String code) {
        if (code == null || code.length() != 3 || !code.chars().allMatch(c -> c >= 'A' && c <= 'Z')) {
            return false;
        }
        try {
            java.util.Currency.getInstance(code);
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    /**
     * Whether a payment of {@code amountMinor} in {@code currency} pays {@code quantity} units at
     * this price (a total above {@link #MAX_AMOUNT_MINOR}, 10^12 times 1,000 at most, fits a long).
     */
    public boolean paidBy(long paidMinor, String paidCurrency, int quantity) {
        return currency.equals(paidCurrency) && Math.multiplyExact(amountMinor, (long) quantity) == paidMinor;
    }
}
