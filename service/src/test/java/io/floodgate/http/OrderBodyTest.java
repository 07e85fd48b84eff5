package io.floodgate.http;

import com.fasterxml.jackson.databind.JsonNode;
import io.floodgate.core.RejectedException;
import io.floodgate.testing.Seeds;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

/**
 * The hand-written reader of the plain order body ({@link OrderBody}) against Jackson
 * ({@link Json#flatObject}), whose verdicts stand: wherever the fast reader gives a body, Jackson
 * accepts the same bytes as an object of exactly those three members with the same values; and the
 * plain form itself, whatever its spacing and order, is never left to Jackson.
 */
class OrderBodyTest {

    private static final String[] STRINGS = {"u1", "user-42", "BENCH", "sku.1_x", "", "a b", "é", "a\\\"b", "a\\u0041",
            "x".repeat(64), "x".repeat(65), "tab\tin", "~!@#$%^&*()"};
    private static final String[] NUMBERS = {"1", "7", "1000", "999", "1001", "0", "01", "-1", "1.0", "1e2", "2E0", "10000",
            "99999999999999999999", "true", "null", "\"1\""};
    private static final String[] NAMES = {"userId", "sku", "quantity", "userid", "other", "user\\u0049d"};
    private static final String NOISE = "{}[]:,\"\\ \t\n\r0-1.e+xtrunfalse\u00e9\u000b";

    @Test
    void whereItReadsABodyJacksonReadsTheSameValues() {
        long seed = Seeds.seed("order.body.seed");
        Random random = new Random(seed);
        int read = 0;
        int leftToJackson = 0;
        for (int i = 0; i < 50_000; i++) {
            String doc = switch (random.nextInt(4)) {
                case 0 -> plain(random);
                case 1 -> mutate(plain(random), random);
                default -> document(random);
            };
            if (compare(doc, seed)) {
                read++;
            } else {
                leftToJackson++;
            }
        }
        assertThat(read).as("bodies read by hand (seed %d)", seed).isGreaterThan(10_000);
        assertThat(leftToJackson).as("bodies left to Jackson (seed %d)", seed).isGreaterThan(10_000);
    }

    @Test
    void thePlainFormIsAlwaysReadByHand() {
        long seed = Seeds.seed("order.body.plain.seed");
        Random random = new Random(seed);
        for (int i = 0; i < 10_000; i++) {
            String doc = plain(random);
            assertThat(OrderBody.parse(doc.getBytes(StandardCharsets.UTF_8))).as("seed %d: %s", seed, doc).isNotNull();
        }
        assertThat(OrderBody.parse("{\"userId\":\"u1\",\"sku\":\"S\",\"quantity\":3}".getBytes(StandardCharsets.UTF_8)))
                .isEqualTo(new OrderBody("u1", "S", 3));
    }

    @Test
    void everythingElseIsLeftToJackson() {
        for (String doc : List.of("", " ", "{}", "[]", "{\"userId\":\"u\",\"sku\":\"s\"}",
                "{\"userId\":\"u\",\"sku\":\"s\",\"quantity\":1,}", "{\"userId\":\"u\",\"sku\":\"s\",\"quantity\":1} x",
                "{\"userId\":\"u\",\"sku\":\"s\",\"quantity\":1}{}", "{\"userId\":\"u\",\"userId\":\"v\",\"sku\":\"s\",\"quantity\":1}",
                "{\"userId\":\"u\",\"sku\":\"s\",\"quantity\":1,\"quantity\":2}", "{\"userId\":\"u\",\"sku\":\"s\",\"quantity\":0}",
                "{\"userId\":\"u\",\"sku\":\"s\",\"quantity\":1001}", "{\"userId\":\"u\",\"sku\":\"s\",\"quantity\":01}",
                "{\"userId\":\"u\",\"sku\":\"s\",\"quantity\":1.5}", "{\"userId\":\"u\",\"sku\":\"s\",\"quantity\":-1}",
                "{\"userId\":\"\\u0075\",\"sku\":\"s\",\"quantity\":1}", "{\"userId\":\"u\",\"sku\":\"s\",\"quantity\":1,\"x\":1}",
                "{\"userId\":1,\"sku\":\"s\",\"quantity\":1}", "{\"userId\":\"u\u00e9\",\"sku\":\"s\",\"quantity\":1}",
                "\u000b{\"userId\":\"u\",\"sku\":\"s\",\"quantity\":1}", "{\"userId\":\"u\",\"sku\":\"s\",\"quantity\":1")) {
            assertThat(OrderBody.parse(doc.getBytes(StandardCharsets.UTF_8))).as(doc).isNull();
        }
    }

    /** True when the fast reader read {@code doc} (and Jackson agreed), false when it left it to Jackson. */
    private static boolean compare(String doc, long seed) {
        byte[] bytes = doc.getBytes(StandardCharsets.UTF_8);
        OrderBody fast = OrderBody.parse(bytes);
        if (fast == null) {
            return false;
        }
        JsonNode jackson;
        try {
            jackson = Json.flatObject(bytes);
        } catch (RejectedException e) {
            fail("seed %d: read by hand as %s, but Jackson refuses %s: %s", seed, fast, doc, e.detail());
            return false;
        }
        assertThat(jackson.size()).as("seed %d: members of %s", seed, doc).isEqualTo(3);
        assertThat(jackson.get("userId").isTextual()).as(doc).isTrue();
        assertThat(jackson.get("userId").textValue()).as(doc).isEqualTo(fast.userId());
        assertThat(jackson.get("sku").isTextual()).as(doc).isTrue();
        assertThat(jackson.get("sku").textValue()).as(doc).isEqualTo(fast.sku());
        assertThat(jackson.get("quantity").isIntegralNumber()).as(doc).isTrue();
        assertThat(jackson.get("quantity").longValue()).as(doc).isEqualTo(fast.quantity()).isBetween(1L, 1000L);
        return true;
    }

    /** The plain form: the three members in any order, valid values, random JSON whitespace. */
    private static String plain(Random r) {
        List<String> members = new ArrayList<>(List.of(
                "\"userId\"" + ws(r) + ":" + ws(r) + "\"" + printable(r) + "\"",
                "\"sku\"" + ws(r) + ":" + ws(r) + "\"" + printable(r) + "\"",
                "\"quantity\"" + ws(r) + ":" + ws(r) + (1 + r.nextInt(1000))));
        Collections.shuffle(members, r);
        StringBuilder b = new StringBuilder(ws(r)).append('{');
        for (int i = 0; i < members.size(); i++) {
            b.append(i > 0 ? "," : "").append(ws(r)).append(members.get(i)).append(ws(r));
        }
        return b.append('}').append(ws(r)).toString();
    }

    /** Any document of up to five members drawn from names and values near the plain form. */
    private static String document(Random r) {
        StringBuilder b = new StringBuilder(ws(r)).append('{');
        int members = r.nextInt(6);
        for (int i = 0; i < members; i++) {
            b.append(i > 0 ? "," : "").append(ws(r)).append('"').append(NAMES[r.nextInt(NAMES.length)]).append('"')
                    .append(ws(r)).append(':').append(ws(r))
                    .append(r.nextBoolean() ? "\"" + STRINGS[r.nextInt(STRINGS.length)] + "\"" : NUMBERS[r.nextInt(NUMBERS.length)])
                    .append(ws(r));
        }
        return b.append('}').append(ws(r)).toString();
    }

    private static String mutate(String doc, Random r) {
        StringBuilder b = new StringBuilder(doc);
        for (int i = 1 + r.nextInt(2); i > 0 && !b.isEmpty(); i--) {
            int at = r.nextInt(b.length());
            switch (r.nextInt(3)) {
                case 0 -> b.deleteCharAt(at);
                case 1 -> b.insert(at, NOISE.charAt(r.nextInt(NOISE.length())));
                default -> b.setCharAt(at, NOISE.charAt(r.nextInt(NOISE.length())));
            }
        }
        return b.toString();
    }

    private static String printable(Random r) {
        int length = 1 + r.nextInt(64);
        StringBuilder s = new StringBuilder(length);
        for (int i = 0; i < length; i++) {
            char c;
            do {
                c = (char) (0x20 + r.nextInt(0x5F));
            } while (c == '"' || c == '\\');
            s.append(c);
        }
        return s.toString();
    }

    private static String ws(Random r) {
        return switch (r.nextInt(6)) {
            case 0 -> " ";
            case 1 -> "\n\t ";
            case 2 -> "\r\n";
            default -> "";
        };
    }
}
