package io.floodgate.http;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class TraceParentTest {

    private static final String VALID = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    @Test
    void aValidVersion00HeaderIsKeptAndItsTraceIdRead() {
        assertThat(TraceParent.valid(VALID)).isEqualTo(VALID);
        assertThat(TraceParent.traceId(VALID)).isEqualTo("4bf92f3577b34da6a3ce929d0e0e4736");
        assertThat(TraceParent.valid("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"))
                .as("not sampled is still a trace to join").isNotNull();
    }

    @Test
    void aLaterVersionIsReadAsVersion00AndItsUnknownFieldsAreDropped() {
        assertThat(TraceParent.valid("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-holds"))
                .isEqualTo(VALID);
        assertThat(TraceParent.valid("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")).isEqualTo(VALID);
        assertThat(TraceParent.valid("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-\r\nX-Evil: 1\"}"))
                .as("nothing of an unknown tail is passed on").isEqualTo(VALID);
        assertThat(TraceParent.valid("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x"))
                .as("more than the flags must follow a dash").isNull();
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "",
            "00",
            // version 00 is exactly 55 characters
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01 ",
            // version ff is invalid
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            // all-zero ids are invalid
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            // uppercase hex is invalid
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01",
            // wrong separators, wrong lengths, not hex
            "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g",
            "0-04bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e47zz-00f067aa0ba902b7-01",
            // an attempt at log or JSON injection
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\nX-Evil: 1",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-\"}",
            "00-4bf92f3577b34da6a3ce929d0e0e4736\n-00f067aa0ba902b7-01"})
    void aMalformedHeaderIsIgnored(String header) {
        assertThat(TraceParent.valid(header)).as("traceparent '%s'", header.replace("\r", "\\r").replace("\n", "\\n"))
                .isNull();
    }

    @Test
    void noHeaderIsNoTrace() {
        assertThat(TraceParent.valid(null)).isNull();
    }
}
