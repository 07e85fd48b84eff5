package io.floodgate.core;

import io.floodgate.core.domain.Order;
import io.floodgate.core.domain.PaymentCallback;
import io.floodgate.core.port.OrderLog;
import io.floodgate.core.port.OrderStore;
import io.floodgate.core.port.OrderStore.PaymentOutcome;

import java.time.Clock;
import java.util.Objects;
import java.util.concurrent.atomic.LongAdder;

/**
 * The payment provider's side: a verified callback is decided by the store in one transaction
 * ({@link OrderStore#recordPayment}), which keeps the one final state of each order whatever the
 * order of callbacks, retries and expiry; this class turns the outcome into an answer, and
 * returns the units of an order that the callback found past its due time (and so expired).
 *
 * <p>An order answered 202 may not be in the store yet when its payment arrives (the buyer pays
 * within the second): an unknown order is looked up again once the order log has stored what it
 * acknowledged.
 */
public final class PaymentService {

    private final OrderStore store;
    private final OrderLog log;
    private final PaymentExpiry expiry;
    private final Clock clock;
    private final LongAdder[] outcomes = new LongAdder[Outcome.values().length];

    /** What became of callbacks, for metrics. */
    public enum Outcome { PAID, REFUND_DUE, FAILED_PAYMENT, UNKNOWN_ORDER, NO_PAYMENT_DUE, MISMATCH, ALREADY_PAID, ID_REUSED }

    public PaymentService(OrderStore store, OrderLog log, PaymentExpiry expiry, Clock clock) {
        this.store = Objects.requireNonNull(store, "store");
        this.log = Objects.requireNonNull(log, "log");
        this.expiry = Objects.requireNonNull(expiry, "expiry");
        this.clock = Objects.requireNonNull(clock, "clock");
        for (int i = 0; i < outcomes.length; i++) {
            outcomes[i] = new LongAdder();
        }
    }

    /**
     * Takes a callback whose signature the caller has verified.
     *
     * @return the order after the callback took effect (now, or when it came before)
     * @throws RejectedException {@code UNKNOWN_ORDER}, {@code NO_PAYMENT_DUE}, {@code PAYMENT_MISMATCH},
     *         {@code ALREADY_PAID} or {@code IDEMPOTENCY_KEY_REUSED}; nothing was changed
     */
    public Order callback(PaymentCallback callback) {
        PaymentOutcome outcome = store.recordPayment(callback, clock.instant());
        if (outcome instanceof PaymentOutcome.UnknownOrder) {
            OrderService.awaitLogStored(log);
            outcome = store.recordPayment(callback, clock.instant());
        }
        return switch (outcome) {
            case PaymentOutcome.Applied(Order order, boolean expiredNow) -> {
                if (expiredNow) {
                    expiry.unitsBack(java.util.List.of(order));
                }
                count(switch (order.payment().state()) {
                    case PAID -> callback.status() == PaymentCallback.Status.SUCCEEDED ? Outcome.PAID : Outcome.FAILED_PAYMENT;
                    case REFUND_DUE -> callback.status() == PaymentCallback.Status.SUCCEEDED ? Outcome.REFUND_DUE
                            : Outcome.FAILED_PAYMENT;
                    case DUE, EXPIRED -> Outcome.FAILED_PAYMENT;
                });
                yield order;
            }
            case PaymentOutcome.UnknownOrder u -> {
                count(Outcome.UNKNOWN_ORDER);
                throw new RejectedException(Rejection.UNKNOWN_ORDER, "there is no order " + callback.orderId());
            }
            case PaymentOutcome.NoPaymentDue n -> {
                count(Outcome.NO_PAYMENT_DUE);
                throw new RejectedException(Rejection.NO_PAYMENT_DUE, "order " + callback.orderId()
                        + " has no payment due (its item has no payment window)");
            }
            case PaymentOutcome.Mismatch(var price, int quantity) -> {
                count(Outcome.MISMATCH);
                throw new RejectedException(Rejection.PAYMENT_MISMATCH, "order " + callback.orderId() + " costs "
                        + quantity + " x " + price.amountMinor() + " " + price.currency() + "; the payment was "
                        + callback.amountMinor() + " " + callback.currency() + "; nothing was changed");
            }
            case PaymentOutcome.AlreadyPaid(String paymentId) -> {
                count(Outcome.ALREADY_PAID);
                throw new RejectedException(Rejection.ALREADY_PAID, "order " + callback.orderId()
                        + " was already paid by payment " + paymentId + "; this payment was not taken");
            }
            case PaymentOutcome.PaymentIdReused(String orderId) -> {
                count(Outcome.ID_REUSED);
                throw new RejectedException(Rejection.IDEMPOTENCY_KEY_REUSED, "paymentId '" + callback.paymentId()
                        + "' was first reported for order " + orderId + " with other details");
            }
        };
    }

    private void count(Outcome outcome) {
        outcomes[outcome.ordinal()].increment();
    }

    /** Callbacks so far that ended in {@code outcome} (a replay counts as the outcome it repeats). */
    public long outcomes(Outcome outcome) {
        return outcomes[outcome.ordinal()].sum();
    }
}
