package io.floodgate.concurrent;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class FailuresTest {

    @Test
    void noFailureThrowsNothing() {
        Failures failures = new Failures();
        failures.run(() -> { });

        assertThat(failures.any()).isFalse();
        assertThat(failures.first()).isNull();
        failures.throwIfAny();
    }

    @Test
    void theFirstFailureIsThrownWithTheLaterOnesSuppressed() {
        Failures failures = new Failures();
        IllegalStateException first = new IllegalStateException("shard 1");
        failures.add(first);
        failures.run(() -> {
            throw new IllegalArgumentException("shard 2");
        });
        failures.add(new UnsupportedOperationException("shard 3"));

        assertThat(failures.any()).isTrue();
        assertThatThrownBy(failures::throwIfAny).isSameAs(first);
        assertThat(first.getSuppressed()).extracting(Throwable::getMessage).containsExactly("shard 2", "shard 3");
    }

    @Test
    void theSameFailureAddedTwiceIsNotSuppressedInItself() {
        Failures failures = new Failures();
        RuntimeException once = new RuntimeException("once");
        failures.add(once);
        failures.add(once);

        assertThat(failures.first()).isSameAs(once);
        assertThat(once.getSuppressed()).isEmpty();
    }

    @Test
    void forEachRunsEveryStepEvenAfterOneFailed() {
        List<String> closed = new ArrayList<>();

        assertThatThrownBy(() -> Failures.forEach(List.of("a", "b", "c", "d"), name -> {
            closed.add(name);
            if (name.equals("b") || name.equals("d")) {
                throw new IllegalStateException("cannot close " + name);
            }
        })).hasMessage("cannot close b")
                .satisfies(e -> assertThat(e.getSuppressed()).extracting(Throwable::getMessage)
                        .containsExactly("cannot close d"));
        assertThat(closed).containsExactly("a", "b", "c", "d");
    }
}
