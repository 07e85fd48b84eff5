package io.floodgate.app;

import ch.qos.logback.classic.Level;
import io.floodgate.testing.LogCapture;
import io.floodgate.testing.TestFloodgate;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * With user auth off anyone who reaches the port may act as any user (issue 17, item 10): that is
 * for trusted callers only, and the service says so at start when it listens beyond loopback.
 */
class UserAuthOffWarningTest {

    private static List<String> warningsAtStart(Map<String, String> env) {
        try (LogCapture logs = LogCapture.capture(); TestFloodgate ignored = TestFloodgate.start(env)) {
            return logs.atLeast(Level.WARN).stream().map(e -> e.getFormattedMessage()).toList();
        }
    }

    @Test
    void userAuthOffOnAPortBeyondLoopbackIsWarnedAtStart() {
        assertThat(warningsAtStart(Map.of("FLOODGATE_HOST", "0.0.0.0")))
                .anySatisfy(w -> assertThat(w).contains("user auth is off", "0.0.0.0", "docs/SECURITY.md"));
    }

    @Test
    void loopbackOrUserAuthOnIsNotWarned() {
        assertThat(warningsAtStart(Map.of("FLOODGATE_HOST", "127.0.0.1"))).noneMatch(w -> w.contains("user auth is off"));
        assertThat(warningsAtStart(Map.of("FLOODGATE_HOST", "0.0.0.0",
                "FLOODGATE_USER_JWT_SECRET", "a-secret-of-at-least-thirty-two-bytes!"))).noneMatch(w -> w.contains("user auth is off"));
    }
}
