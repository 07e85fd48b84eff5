package io.floodgate.flow;

import io.floodgate.core.RejectedException;
import io.floodgate.core.Rejection;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Payment callbacks have their own rate and their own cap, and neither takes nor waits for a slot
 * of the concurrency limit that order placement learns: a flood of orders cannot starve the
 * provider's callbacks, and a burst of callbacks cannot shed orders.
 */
class PaymentAdmissionTest {

    private static Breakers breakers() {
        return new Breakers(Duration.ofSeconds(1), Duration.ofSeconds(1));
    }

    private static void assertRejected(Runnable call, Rejection expected) {
        assertThatThrownBy(call::run).isInstanceOfSatisfying(RejectedException.class,
                e -> assertThat(e.rejection()).isEqualTo(expected));
    }

    @Test
    void callbacksPassWhileOrdersFillTheConcurrencyLimitAndOrdersPassWhileCallbacksFillTheirCap() {
        try (Admission admission = new Admission(1e6, 1_000_000, 0, 0, null, new ConcurrencyGate(1, 1, 1), breakers(),
                1_000, 1e6, 2)) {
            Admission.Permit order = admission.admitOrder("u1", "S");
            assertRejected(() -> admission.admitOrder("u2", "S"), Rejection.OVERLOADED);
            Admission.Permit first = admission.admitPayment();
            Admission.Permit second = admission.admitPayment();
            assertThat(admission.paymentsInFlight()).isEqualTo(2);
            assertRejected(admission::admitPayment, Rejection.OVERLOADED);
            order.close();
            admission.admitOrder("u3", "S").close(); // the callbacks held none of the order slots
            first.close();
            admission.admitPayment().close();
            second.close();
            assertThat(admission.paymentsInFlight()).isZero();
        }
    }

    @Test
    void callbacksHaveARateOfTheirOwnAnsweredWithRetryAfter() {
        try (Admission admission = new Admission(1e6, 1_000_000, 0, 0, null, new ConcurrencyGate(100, 100), breakers(),
                1_000, 5, 100)) {
            List<Admission.Permit> taken = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                taken.add(admission.admitPayment());
            }
            assertThatThrownBy(admission::admitPayment).isInstanceOfSatisfying(RejectedException.class, e -> {
                assertThat(e.rejection()).isEqualTo(Rejection.RATE_LIMITED);
                assertThat(e.retryAfterSeconds()).isPositive();
            });
            taken.forEach(Admission.Permit::close);
            for (int i = 0; i < 50; i++) { // orders have their own buckets: untouched by the callbacks' rate
                admission.admitOrder("u" + i, "S").close();
            }
        }
    }
}
