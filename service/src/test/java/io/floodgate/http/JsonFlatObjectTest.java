package io.floodgate.http;

import com.fasterxml.jackson.databind.JsonNode;
import io.floodgate.core.RejectedException;
import io.floodgate.core.Rejection;
import io.floodgate.testing.Seeds;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

/**
 * The streaming body reader ({@link Json#flatObject}) against the tree parse it replaces on the
 * request paths ({@link Json#object}): over thousands of random documents, valid and mutated,
 * both accept the same bodies, find the same members with the same scalar values (or the same
 * kind of container), and turn down the same bodies as invalid JSON.
 */
class JsonFlatObjectTest {

    private static final String[] NAMES = {"userId", "sku", "quantity", "name", "stock", "delta", "x", "é", "a\\\"b"};
    private static final String NOISE = "{}[]:,\"\\ \t\n0-1.e+xtrunfalse\u00e9";

    @Test
    void agreesWithTheTreeParseOnRandomAndMutatedDocuments() {
        long seed = Seeds.seed("json.flat.seed");
        Random random = new Random(seed);
        int accepted = 0;
        int refused = 0;
        for (int i = 0; i < 20_000; i++) {
            String doc = document(random);
            if (random.nextInt(3) == 0) {
                doc = mutate(doc, random);
            }
            if (compare(doc)) {
                accepted++;
            } else {
                refused++;
            }
        }
        // both branches must have been exercised, or the comparison proved little
        assertThat(accepted).as("documents both accepted (seed %d)", seed).isGreaterThan(1_000);
        assertThat(refused).as("documents both refused (seed %d)", seed).isGreaterThan(1_000);
    }

    @Test
    void crafted() {
        for (String doc : List.of("", " ", "null", "[]", "[1,2", "\"s\"", "1", "{}", "{} ", "{}{}", "{} x",
                "{\"a\":1,}", "{\"a\":1,\"a\":2}", "{\"a\":{\"a\":1,\"a\":2}}", "{\"a\":[1,{\"b\":[]}]}",
                "{\"q\":99999999999999999999999}", "{\"q\":1.0}", "{\"q\":1e3}", "{\"q\":-0}", "{\"q\":01}",
                "{\"s\":\"\\u00e9\\n\"}", "{\"s\":\"\\x\"}", "{'a':1}", "{a:1}", "{\"a\":NaN}", "{\"a\" 1}",
                "{\"a\":1", "{\"a\":tru}", "\uFEFF{}")) {
            compare(doc);
        }
    }

    /** True when both accepted {@code doc} (and agreed), false when both refused it. */
    private static boolean compare(String doc) {
        byte[] body = doc.getBytes(StandardCharsets.UTF_8);
        JsonNode tree = null;
        RejectedException treeRefusal = null;
        try {
            tree = Json.object(body);
        } catch (RejectedException e) {
            treeRefusal = e;
        }
        JsonNode flat = null;
        RejectedException flatRefusal = null;
        try {
            flat = Json.flatObject(body);
        } catch (RejectedException e) {
            flatRefusal = e;
        }
        if (treeRefusal != null || flatRefusal != null) {
            assertThat(flatRefusal).as("flat verdict on %s (tree: %s)", doc, treeRefusal).isNotNull();
            assertThat(treeRefusal).as("tree verdict on %s (flat: %s)", doc, flatRefusal).isNotNull();
            assertThat(flatRefusal.rejection()).isEqualTo(Rejection.INVALID_REQUEST);
            assertThat(flatRefusal.detail()).as(doc).startsWith("body ");
            assertThat(treeRefusal.detail()).as(doc).startsWith("body ");
            return false;
        }
        Iterator<Map.Entry<String, JsonNode>> expected = tree.properties().iterator();
        Iterator<Map.Entry<String, JsonNode>> actual = flat.properties().iterator();
        while (expected.hasNext()) {
            assertThat(actual.hasNext()).as("members of %s", doc).isTrue();
            Map.Entry<String, JsonNode> e = expected.next();
            Map.Entry<String, JsonNode> a = actual.next();
            assertThat(a.getKey()).as(doc).isEqualTo(e.getKey());
            JsonNode ev = e.getValue();
            JsonNode av = a.getValue();
            assertThat(av.getNodeType()).as("type of %s in %s", e.getKey(), doc).isEqualTo(ev.getNodeType());
            if (ev.isContainerNode()) {
                assertThat(av.isEmpty()).as("a nested value is kept empty").isTrue();
            } else {
                assertThat(av).as("%s in %s", e.getKey(), doc).isEqualTo(ev);
                assertThat(av.isIntegralNumber()).isEqualTo(ev.isIntegralNumber());
                assertThat(av.canConvertToLong()).isEqualTo(ev.canConvertToLong());
            }
        }
        if (actual.hasNext()) {
            fail("extra member in %s", doc);
        }
        return true;
    }

    private static String document(Random r) {
        StringBuilder b = new StringBuilder(ws(r)).append('{');
        int members = r.nextInt(5);
        for (int i = 0; i < members; i++) {
            if (i > 0) {
                b.append(',');
            }
            b.append(ws(r)).append('"').append(NAMES[r.nextInt(NAMES.length)]).append('"').append(ws(r)).append(':')
                    .append(ws(r)).append(value(r, 0)).append(ws(r));
        }
        return b.append('}').append(ws(r)).toString();
    }

    private static String value(Random r, int depth) {
        return switch (r.nextInt(depth < 2 ? 12 : 10)) {
            case 0 -> "\"" + "abc-é\\\"\\n\\u0041".substring(0, r.nextInt(14)).replaceAll("\\\\u?0?0?4?$|\\\\$", "") + "\"";
            case 1 -> Integer.toString(r.nextInt(2001) - 1000);
            case 2 -> Long.toString(r.nextLong());
            case 3 -> "1" + "0".repeat(18 + r.nextInt(4));
            case 4 -> "-" + r.nextInt(100) + "." + r.nextInt(100);
            case 5 -> r.nextInt(9) + "e" + (r.nextBoolean() ? "+" : "-") + r.nextInt(400);
            case 6 -> "true";
            case 7 -> "false";
            case 8 -> "null";
            case 9 -> "\"u" + r.nextInt(1000) + "\"";
            case 10 -> {
                List<String> parts = new ArrayList<>();
                for (int i = r.nextInt(3); i > 0; i--) {
                    parts.add(value(r, depth + 1));
                }
                yield "[" + String.join(",", parts) + "]";
            }
            default -> {
                StringBuilder o = new StringBuilder("{");
                for (int i = r.nextInt(3); i > 0; i--) {
                    o.append(o.length() > 1 ? "," : "").append('"').append(NAMES[r.nextInt(NAMES.length)]).append("\":")
                            .append(value(r, depth + 1));
                }
                yield o.append('}').toString();
            }
        };
    }

    private static String ws(Random r) {
        return switch (r.nextInt(8)) {
            case 0 -> " ";
            case 1 -> "\n\t ";
            default -> "";
        };
    }

    private static String mutate(String doc, Random r) {
        StringBuilder b = new StringBuilder(doc);
        for (int n = 1 + r.nextInt(2); n > 0; n--) {
            int at = b.isEmpty() ? 0 : r.nextInt(b.length() + 1);
            switch (r.nextInt(3)) {
                case 0 -> {
                    if (at < b.length()) {
                        b.deleteCharAt(at);
                    }
                }
                case 1 -> b.insert(at, NOISE.charAt(r.nextInt(NOISE.length())));
                default -> b.append(r.nextBoolean() ? doc : "x");
            }
        }
        return b.toString();
    }
}
