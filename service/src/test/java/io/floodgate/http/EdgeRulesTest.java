package io.floodgate.http;

import io.helidon.http.RequestException;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The framing rules alone, line by line (the same rules over sockets: HostileEdgeTest, EdgeFuzzTest). */
class EdgeRulesTest {

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "7|7", "0|0", "000|000", "1a|1a", "FF|FF", "7;foo=bar|7", "7 ;foo=bar|7", "7; foo = bar |7",
            "7;foo|7", "7;a=b;c=d;e|7", "7;q=\"quoted ; = value\"|7", "7;q=\"esc \\\" aped\"|7", "7\t;x=y|7",
            "0;last|0", "7 |7"})
    void validChunkSizeLinesGiveTheirSize(String line, String size) {
        assertThat(EdgeRules.chunkSize(line)).isEqualTo(size);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "zz", "-1", "+1", "0x7", " 7", "7;", "7;=v", "7;a=", "7;a=\"open", "7 x", "7;a b",
            "123456789", "7;a=b c", "7,8", "7;a=\u0001"})
    void malformedChunkSizeLinesAre400(String line) {
        assertThatThrownBy(() -> EdgeRules.chunkSize(line)).isInstanceOfSatisfying(RequestException.class,
                e -> assertThat(e.status().code()).isEqualTo(400));
    }

    @ParameterizedTest
    @ValueSource(strings = {"GET / HTTP/1.1", "POST /api/v1/orders HTTP/1.1", "OPTIONS * HTTP/1.1",
            "GET /api/v1/items?x=%00 HTTP/1.1", "PATCH /a HTTP/1.1"})
    void wellFormedRequestLinesPass(String line) {
        byte[] bytes = line.getBytes(StandardCharsets.ISO_8859_1);
        EdgeRules.requestLine(bytes, bytes.length);
    }

    @ParameterizedTest
    @ValueSource(strings = {"GET /\u0000 HTTP/1.1", "GET\t/ HTTP/1.1", "GET / HTTP/1.1\t", "GET  / HTTP/1.1", " GET / HTTP/1.1",
            "GET / HTTP/1.1 ", "GET /\u00e9 HTTP/1.1", "GET /\u007f HTTP/1.1", "GET / HTTP/1.1 x", "GET", "GET /",
            "G(T / HTTP/1.1", "GET /a\rb HTTP/1.1"})
    void malformedRequestLinesAre400(String line) {
        byte[] bytes = line.getBytes(StandardCharsets.ISO_8859_1);
        assertThatThrownBy(() -> EdgeRules.requestLine(bytes, bytes.length)).isInstanceOfSatisfying(RequestException.class,
                e -> assertThat(e.status().code()).isEqualTo(400));
    }

    @ParameterizedTest
    @ValueSource(strings = {"get / HTTP/1.1", "Get / HTTP/1.1", "posT / HTTP/1.1", "m00042x / HTTP/1.1"})
    void methodsNotInUpperCaseAre400(String line) {
        byte[] bytes = line.getBytes(StandardCharsets.ISO_8859_1);
        assertThatThrownBy(() -> EdgeRules.requestLine(bytes, bytes.length)).isInstanceOfSatisfying(RequestException.class,
                e -> assertThat(e.status().code()).isEqualTo(400));
    }

    @ParameterizedTest
    @ValueSource(strings = {"BREW / HTTP/1.1", "M00042X / HTTP/1.1", "PROPFIND / HTTP/1.1"})
    void unknownUpperCaseMethodsGoOnToTheRoutes(String line) {
        byte[] bytes = line.getBytes(StandardCharsets.ISO_8859_1);
        EdgeRules.requestLine(bytes, bytes.length);
    }

    @ParameterizedTest
    @ValueSource(strings = {"X-Checksum: abc", "a:", "Expires:  Thu, 01 Dec 1994 16:00:00 GMT  "})
    void validTrailerFieldsPass(String line) {
        EdgeRules.trailerField(line);
    }

    @ParameterizedTest
    @ValueSource(strings = {"no colon", ": empty name", "bad name: x", "X-Ctl: a\u0000b"})
    void malformedTrailerFieldsAre400(String line) {
        assertThatThrownBy(() -> EdgeRules.trailerField(line)).isInstanceOf(RequestException.class);
    }
}
