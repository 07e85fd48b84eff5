package io.floodgate.http;

import com.fasterxml.jackson.databind.JsonNode;
import io.floodgate.core.Rejection;
import io.floodgate.testing.Seeds;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The hand-written problem writer ({@link JsonBytes}, {@link Json#problem}) against Jackson's
 * generator, its reference: the same bytes for every rejection and for random text drawn from the
 * ranges where JSON writers differ (control characters, quotes and backslashes, two- and
 * three-byte UTF-8, surrogate pairs, DEL and the slash).
 */
class JsonBytesTest {

    private static final String TRICKY = "\"\\/\u007f\u0000\u001f\b\t\n\f\r \u00e9\u07ff\u0800\uffff\u2028";

    @Test
    void problemsAreJacksonsBytesForRandomText() {
        long seed = Seeds.seed("json.bytes.seed");
        SplittableRandom random = new SplittableRandom(seed);
        for (int round = 0; round < 50_000; round++) {
            Rejection rejection = Rejection.values()[random.nextInt(Rejection.values().length)];
            String detail = random.nextInt(20) == 0 ? null : text(random);
            String requestId = random.nextInt(20) == 0 ? null : text(random);
            byte[] ours = Json.problem(rejection, detail, requestId, null);
            byte[] jackson = Json.problemWithGenerator(rejection, detail, requestId, null);
            assertThat(new String(ours, StandardCharsets.UTF_8))
                    .as("seed %d, round %d", seed, round)
                    .isEqualTo(new String(jackson, StandardCharsets.UTF_8));
            assertThat(ours).as("seed %d, round %d", seed, round).isEqualTo(jackson);
        }
    }

    @Test
    void everyRejectionReadsBackAsItsProblem() {
        for (Rejection rejection : Rejection.values()) {
            JsonNode problem = Json.object(Json.problem(rejection, "detail " + TRICKY, "req-1", null));
            ProblemType type = ProblemType.of(rejection);
            assertThat(problem.get("type").asText()).isEqualTo(type.type());
            assertThat(problem.get("title").asText()).isEqualTo(type.title());
            assertThat(problem.get("status").asInt()).isEqualTo(type.status());
            assertThat(problem.get("code").asText()).isEqualTo(rejection.name());
            assertThat(problem.get("detail").asText()).isEqualTo("detail " + TRICKY);
            assertThat(problem.get("requestId").asText()).isEqualTo("req-1");
            assertThat(problem.size()).isEqualTo(6);
        }
    }

    @Test
    void surrogatesAreEscapedPairedOrNotAsJacksonDoes() {
        String text = "a\ud800b\udc00c\ud83d\ude00d";
        byte[] ours = Json.problem(Rejection.INVALID_REQUEST, text, "r", null);
        assertThat(ours).isEqualTo(Json.problemWithGenerator(Rejection.INVALID_REQUEST, text, "r", null));
        assertThat(new String(ours, StandardCharsets.US_ASCII)).contains("a\\uD800b\\uDC00c\\uD83D\\uDE00d");
    }

    @Test
    void longTextGrowsTheBuffer() {
        String detail = "\u0001".repeat(5_000) + "\u00e9".repeat(5_000) + "x".repeat(5_000);
        assertThat(Json.problem(Rejection.SOLD_OUT, detail, "r", null))
                .isEqualTo(Json.problemWithGenerator(Rejection.SOLD_OUT, detail, "r", null));
    }

    /** Random text: mostly ASCII, with runs from the ranges where writers differ. */
    private static String text(SplittableRandom random) {
        int length = random.nextInt(80);
        StringBuilder s = new StringBuilder(length);
        while (s.length() < length) {
            switch (random.nextInt(8)) {
                case 0 -> s.append((char) random.nextInt(0x20));
                case 1 -> s.append(TRICKY.charAt(random.nextInt(TRICKY.length())));
                case 2 -> s.append((char) (0x80 + random.nextInt(0x780)));
                case 3 -> s.append((char) (0x800 + random.nextInt(0xD800 - 0x800)));
                case 4 -> s.appendCodePoint(0x10000 + random.nextInt(0x100000));
                case 5 -> s.append((char) (0xD800 + random.nextInt(0x2800))); // lone surrogates, and above
                default -> s.append((char) (0x20 + random.nextInt(0x5F)));
            }
        }
        return s.toString();
    }
}
