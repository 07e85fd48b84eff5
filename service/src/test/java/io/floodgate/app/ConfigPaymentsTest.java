package io.floodgate.app;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The payment variables: secrets (several during a rotation), never shown; the rest in range. */
class ConfigPaymentsTest {

    private static final String OLD = "old-payment-secret-0123456789";
    private static final String NEW = "new-payment-secret-9876543210";

    @Test
    void noSecretMeansCallbacksOffAndTheDefaultsOfApiMd() {
        Config.Payments p = Config.fromEnv(Map.of()).payments();
        assertThat(p.secrets()).isEmpty();
        assertThat(p.tolerance()).isEqualTo(Duration.ofSeconds(300));
        assertThat(p.eventsTopic()).isEqualTo("floodgate.order-events");
    }

    @Test
    void severalSecretsDuringARotationAreReadAndNeverShown() {
        Config c = Config.fromEnv(Map.of("FLOODGATE_PAYMENT_SECRET", OLD + ", " + NEW, "FLOODGATE_PAYMENT_TOLERANCE_S", "60"));
        assertThat(c.payments().secrets()).containsExactly(OLD, NEW);
        assertThat(c.payments().tolerance()).isEqualTo(Duration.ofSeconds(60));
        assertThat(c.toString()).doesNotContain(OLD).doesNotContain(NEW).contains("2 x ***");
    }

    @Test
    void aShortSecretIsRefusedNamingTheVariableButNotTheValue() {
        assertThatThrownBy(() -> Config.fromEnv(Map.of("FLOODGATE_PAYMENT_SECRET", NEW + ",short-one")))
                .isInstanceOf(Config.ConfigException.class)
                .hasMessageContaining("FLOODGATE_PAYMENT_SECRET")
                .hasMessageContaining("secret 2 of 2")
                .hasMessageNotContaining("short-one")
                .hasMessageNotContaining(NEW);
        assertThatThrownBy(() -> Config.fromEnv(Map.of("FLOODGATE_PAYMENT_TOLERANCE_S", "0")))
                .hasMessageContaining("FLOODGATE_PAYMENT_TOLERANCE_S");
    }
}
