package io.floodgate.http;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import io.floodgate.testing.LogCapture;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A flood of the same cause writes one line a period, and the next line says how many were left
 * out; causes do not share a budget. Time is a counter the test moves.
 */
class RateLimitedLogTest {

    private static final String LOGGER = "io.floodgate.http.RateLimitedLogTest";

    @Test
    void aFloodOfOneCauseWritesOneLineAPeriodAndCountsTheRest() {
        AtomicLong now = new AtomicLong(1_000);
        RateLimitedLog log = new RateLimitedLog(LoggerFactory.getLogger(LOGGER), TimeUnit.MINUTES.toNanos(1), now::get);
        try (LogCapture logs = LogCapture.at(LOGGER, Level.INFO)) {
            for (int i = 0; i < 10_000; i++) {
                log.log(org.slf4j.event.Level.INFO, "framing", "refused {}", i);
            }
            log.log(org.slf4j.event.Level.INFO, "timeout", "other cause");
            now.addAndGet(TimeUnit.SECONDS.toNanos(59));
            log.log(org.slf4j.event.Level.INFO, "framing", "still within the minute");
            now.addAndGet(TimeUnit.SECONDS.toNanos(2));
            log.log(org.slf4j.event.Level.INFO, "framing", "a minute later {}", "x", new IllegalStateException("kept"));
            List<String> lines = logs.events().stream().filter(e -> e.getLoggerName().equals(LOGGER))
                    .map(ILoggingEvent::getFormattedMessage).toList();
            assertThat(lines).containsExactly("refused 0", "other cause",
                    "a minute later x (10000 more of this kind since the last such line)");
            assertThat(logs.events().getLast().getThrowableProxy().getMessage()).isEqualTo("kept");
        }
    }
}
