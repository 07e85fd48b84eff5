package io.floodgate.http;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import com.fasterxml.jackson.core.util.JsonRecyclerPools;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.floodgate.core.RejectedException;
import io.floodgate.core.Rejection;
import io.floodgate.core.domain.ItemSpec;
import io.floodgate.core.domain.ItemView;
import io.floodgate.core.domain.Order;
import io.floodgate.core.domain.OrderEvent;
import io.floodgate.core.domain.Payment;
import io.floodgate.observe.Metrics;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.List;

/**
 * JSON in and out. Requests are read strictly (one object, no trailing tokens, no duplicate
 * fields, integers that are integers); views are written with a streaming generator, which on the
 * order path costs one small buffer per response.
 */
final class Json {

    /*
     * Buffers come from one pool shared by every thread, not Jackson's default pool of one per
     * thread: with a virtual thread per connection, that kept 5,000 idle connections holding their
     * own byte and char buffers (about 17 KB each, 83 MB in all, measured with jmap -histo:live),
     * all of it old-generation garbage that G1 had to copy first.
     *
     * A lock-free deque, not Jackson's bounded pool (an ArrayBlockingQueue: a lock taken twice per
     * parse or write, 2.5% of the CPU of a sold-out answer in a JFR profile, issue 14). The deque
     * keeps at most as many buffers as were ever in use at once, and here that is the number of
     * threads running JSON code at the same moment, not the number of connections: this mapper only
     * reads and writes byte arrays (never a socket's stream), so no thread parks while it holds a
     * buffer, and a virtual thread gives up its carrier only when it parks.
     */
    static final ObjectMapper MAPPER = JsonMapper.builder(JsonFactory.builder()
                    .recyclerPool(JsonRecyclerPools.newConcurrentDequePool()).build())
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();
    private static final JsonFactory FACTORY = MAPPER.getFactory();
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    private Json() {
    }

    // ---- reading --------------------------------------------------------------------------

    /** Parses a request body that must be one JSON object. */
    static JsonNode object(byte[] body) {
        if (body.length == 0) {
            throw invalid("body", "is empty; a JSON object is required");
        }
        JsonNode node;
        try {
            node = MAPPER.readTree(body);
        } catch (IOException e) {
            throw invalid("body", "is not valid JSON" + location(e));
        }
        if (node == null || !node.isObject()) {
            throw invalid("body", "must be a JSON object");
        }
        return node;
    }

    /**
     * Parses a request body that must be one JSON object, as {@link #object} does and with the same
     * verdicts, but streaming: the object's members are read straight off the parser and a nested
     * value is skipped and kept as an empty container of its kind (the request bodies here have
     * scalar fields only, so only a member's type is ever asked of it). This is the order path:
     * the tree mapper's per-call deserialization context, and the tree itself, were 7% of the
     * service's CPU when most orders were being shed.
     */
    static ObjectNode flatObject(byte[] body) {
        if (body.length == 0) {
            throw invalid("body", "is empty; a JSON object is required");
        }
        try (JsonParser p = FACTORY.createParser(body)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                return (ObjectNode) object(body); // not an object: the tree parse gives the exact verdict
            }
            ObjectNode node = NODES.objectNode();
            String name;
            while ((name = p.nextFieldName()) != null) {
                node.set(name, scalar(p, p.nextToken()));
            }
            if (p.currentToken() != JsonToken.END_OBJECT) {
                throw invalid("body", "is not valid JSON" + location(p));
            }
            if (p.nextToken() != null) {
                throw invalid("body", "is not valid JSON: trailing content" + location(p));
            }
            return node;
        } catch (IOException e) {
            throw invalid("body", "is not valid JSON" + location(e));
        }
    }

    private static JsonNode scalar(JsonParser p, JsonToken token) throws IOException {
        return switch (token) {
            case VALUE_STRING -> NODES.textNode(p.getText());
            case VALUE_NUMBER_INT -> switch (p.getNumberType()) {
                case INT -> NODES.numberNode(p.getIntValue());
                case LONG -> NODES.numberNode(p.getLongValue());
                default -> NODES.numberNode(p.getBigIntegerValue());
            };
            case VALUE_NUMBER_FLOAT -> NODES.numberNode(p.getDoubleValue());
            case VALUE_TRUE -> NODES.booleanNode(true);
            case VALUE_FALSE -> NODES.booleanNode(false);
            case VALUE_NULL -> NODES.nullNode();
            case START_OBJECT -> {
                p.skipChildren();
                yield NODES.objectNode();
            }
            case START_ARRAY -> {
                p.skipChildren();
                yield NODES.arrayNode();
            }
            default -> throw new JsonParseException(p, "unexpected " + token);
        };
    }

    private static String location(JsonParser p) {
        var where = p.currentLocation();
        return " (at line " + where.getLineNr() + ", column " + where.getColumnNr() + ")";
    }

    private static String location(IOException e) {
        if (e instanceof com.fasterxml.jackson.core.JsonProcessingException jpe && jpe.getLocation() != null) {
            return " (at line " + jpe.getLocation().getLineNr() + ", column " + jpe.getLocation().getColumnNr() + ")";
        }
        return "";
    }

    /** A query parameter that must be an integer from {@code min} to {@code max}; {@code raw} null: {@code otherwise}. */
    static int intParameter(String name, String raw, int otherwise, int min, int max) {
        if (raw == null) {
            return otherwise;
        }
        int value;
        try {
            value = Integer.parseInt(raw);
        } catch (NumberFormatException e) {
            value = min - 1;
        }
        if (value < min || value > max) {
            throw invalid(name, "must be an integer from " + min + " to " + max + ", was '" + abbreviate(raw) + "'");
        }
        return value;
    }

    static RejectedException invalid(String field, String problem) {
        return new RejectedException(Rejection.INVALID_REQUEST, field + " " + problem);
    }

    static String requiredString(JsonNode object, String field) {
        JsonNode node = object.get(field);
        if (node == null || node.isNull()) {
            throw invalid(field, "is required");
        }
        if (!node.isTextual()) {
            throw invalid(field, "must be a string");
        }
        return node.textValue();
    }

    static long requiredLong(JsonNode object, String field, long min, long max) {
        JsonNode node = object.get(field);
        if (node == null || node.isNull()) {
            throw invalid(field, "is required");
        }
        return integer(node, field, min, max);
    }

    static long optionalLong(JsonNode object, String field, long min, long max, long otherwise) {
        JsonNode node = object.get(field);
        return node == null || node.isNull() ? otherwise : integer(node, field, min, max);
    }

    private static long integer(JsonNode node, String field, long min, long max) {
        if (!node.isIntegralNumber() || !node.canConvertToLong()) {
            throw invalid(field, "must be a JSON integer from " + min + " to " + max);
        }
        long value = node.longValue();
        if (value < min || value > max) {
            throw invalid(field, "must be from " + min + " to " + max + ", was " + value);
        }
        return value;
    }

    /** An RFC 3339 timestamp with an offset, or null when absent or null. */
    static Instant optionalInstant(JsonNode object, String field) {
        JsonNode node = object.get(field);
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isTextual()) {
            throw invalid(field, "must be an RFC 3339 timestamp string or null");
        }
        try {
            OffsetDateTime parsed = OffsetDateTime.parse(node.textValue(), DateTimeFormatter.ISO_OFFSET_DATE_TIME);
            if (parsed.getYear() < 0 || parsed.getYear() > 9999) {
                throw invalid(field, "must have a four-digit year (RFC 3339), was '" + abbreviate(node.textValue()) + "'");
            }
            // The store keeps milliseconds; keep the same here so that views never change on restart.
            return parsed.toInstant().truncatedTo(java.time.temporal.ChronoUnit.MILLIS);
        } catch (DateTimeParseException e) {
            throw invalid(field, "must be an RFC 3339 timestamp such as 2026-11-26T12:00:00Z, was '"
                    + abbreviate(node.textValue()) + "'");
        }
    }

    static String abbreviate(String s) {
        return s.length() <= 80 ? s : s.substring(0, 77) + "...";
    }

    // ---- writing --------------------------------------------------------------------------

    @FunctionalInterface
    interface Body {
        void write(JsonGenerator g) throws IOException;
    }

    static byte[] write(Body body) {
        try (ByteArrayBuilder out = new ByteArrayBuilder(256);
             JsonGenerator g = FACTORY.createGenerator(out)) {
            body.write(g);
            g.flush();
            return out.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static byte[] order(Order order) {
        return write(g -> writeOrder(g, order));
    }

    static void writeOrder(JsonGenerator g, Order o) throws IOException {
        g.writeStartObject();
        g.writeStringField("orderId", o.orderId());
        g.writeStringField("sku", o.sku());
        g.writeStringField("userId", o.userId());
        g.writeNumberField("quantity", o.quantity());
        g.writeStringField("status", o.status().name());
        g.writeStringField("createdAt", o.createdAt().toString());
        g.writeStringField("requestId", o.requestId());
        switch (o.status()) {
            case CANCELLED -> g.writeStringField("cancelReason",
                    o.statusReason() == null ? Order.CANCEL_REQUESTED : o.statusReason());
            case FAILED -> g.writeStringField("failureReason", o.statusReason());
            case ACCEPTED, CONFIRMED -> {
            }
        }
        Payment p = o.payment();
        if (p != null) {
            g.writeObjectFieldStart("payment");
            g.writeStringField("state", p.state().name());
            g.writeStringField("dueAt", p.dueAt().toString());
            g.writeStringField("paymentId", p.paymentId());
            g.writeStringField("paidAt", p.paidAt() == null ? null : p.paidAt().toString());
            g.writeEndObject();
        }
        g.writeEndObject();
    }

    /**
     * One order event as a CloudEvents 1.0 JSON object (structured mode): {@code data} is the order
     * view after the change; {@code floodgateposition} (the cursor) and {@code floodgaterequestid}
     * (the request that made the change, when one did) are extension attributes.
     */
    static void writeCloudEvent(JsonGenerator g, OrderEvent e) throws IOException {
        g.writeStartObject();
        g.writeStringField("specversion", "1.0");
        g.writeStringField("id", e.id());
        g.writeStringField("source", "/floodgate");
        g.writeStringField("type", e.type().cloudEventType());
        g.writeStringField("subject", e.order().orderId());
        g.writeStringField("time", e.time().toString());
        g.writeStringField("datacontenttype", "application/json");
        g.writeNumberField("floodgateposition", e.position());
        if (e.changeRequestId() != null) {
            g.writeStringField("floodgaterequestid", e.changeRequestId());
        }
        g.writeFieldName("data");
        writeOrder(g, e.order());
        g.writeEndObject();
    }

    static byte[] orders(List<Order> orders) {
        return write(g -> {
            g.writeStartObject();
            g.writeArrayFieldStart("orders");
            for (Order o : orders) {
                writeOrder(g, o);
            }
            g.writeEndArray();
            g.writeEndObject();
        });
    }

    static byte[] item(ItemView view) {
        return write(g -> writeItem(g, view));
    }

    static byte[] items(List<ItemView> views) {
        return write(g -> {
            g.writeStartObject();
            g.writeArrayFieldStart("items");
            for (ItemView v : views) {
                writeItem(g, v);
            }
            g.writeEndArray();
            g.writeEndObject();
        });
    }

    static void writeItem(JsonGenerator g, ItemView v) throws IOException {
        ItemSpec s = v.spec();
        g.writeStartObject();
        g.writeStringField("sku", s.sku());
        g.writeStringField("name", s.name());
        g.writeNumberField("stock", s.stock());
        g.writeNumberField("available", v.available());
        g.writeNumberField("perUserLimit", s.perUserLimit());
        g.writeStringField("startsAt", s.startsAt() == null ? null : s.startsAt().toString());
        g.writeStringField("endsAt", s.endsAt() == null ? null : s.endsAt().toString());
        g.writeStringField("state", v.state().name());
        if (s.paymentWindow() != null) {
            g.writeNumberField("paymentWindowSeconds", s.paymentWindow().toSeconds());
        }
        if (s.price() != null) {
            g.writeObjectFieldStart("price");
            g.writeNumberField("amountMinor", s.price().amountMinor());
            g.writeStringField("currency", s.price().currency());
            g.writeEndObject();
        }
        if (v.stale()) {
            g.writeBooleanField("stale", true);
        }
        g.writeEndObject();
    }

    /** {@code GET /api/v1/stats}: see docs/API.md. */
    static byte[] stats(Instant now, List<ItemView> items, List<String> down, Metrics.Snapshot snapshot,
                        java.util.Map<io.floodgate.core.domain.PaymentState, Long> payments) {
        return write(g -> {
            g.writeStartObject();
            g.writeStringField("time", now.toString());
            g.writeObjectFieldStart("payments");
            for (io.floodgate.core.domain.PaymentState state : io.floodgate.core.domain.PaymentState.values()) {
                g.writeNumberField(state.name(), payments.getOrDefault(state, 0L));
            }
            g.writeEndObject();
            g.writeBooleanField("ready", down.isEmpty());
            g.writeArrayFieldStart("down");
            for (String d : down) {
                g.writeString(d);
            }
            g.writeEndArray();
            g.writeArrayFieldStart("items");
            for (ItemView v : items) {
                g.writeStartObject();
                g.writeStringField("sku", v.spec().sku());
                g.writeStringField("name", v.spec().name());
                g.writeNumberField("stock", v.spec().stock());
                g.writeNumberField("available", v.available());
                g.writeNumberField("sold", v.spec().stock() - v.available());
                g.writeStringField("state", v.state().name());
                if (v.stale()) {
                    g.writeBooleanField("stale", true);
                }
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeObjectField("metrics", snapshot);
            g.writeEndObject();
        });
    }

    /** An RFC 9457 problem body. {@code extra} may add members (e.g. {@code down}). */
    /**
     * Each problem's body up to its {@code detail}'s value, by rejection: the part that never
     * changes, encoded once ({@link JsonBytes}).
     */
    private static final byte[][] PROBLEM_HEADS = new byte[Rejection.values().length][];
    private static final byte[] REQUEST_ID_FIELD = ",\"requestId\":".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

    static {
        for (Rejection r : Rejection.values()) {
            ProblemType problem = ProblemType.of(r);
            JsonBytes head = new JsonBytes(160).syntax('{');
            head.string("type").syntax(':').string(problem.type()).syntax(',');
            head.string("title").syntax(':').string(problem.title()).syntax(',');
            head.string("status").syntax(':').number(problem.status()).syntax(',');
            head.string("code").syntax(':').string(r.name()).syntax(',');
            head.string("detail").syntax(':');
            PROBLEM_HEADS[r.ordinal()] = head.toByteArray();
        }
    }

    /**
     * An RFC 9457 problem: type, title, status, code, detail, requestId, then {@code extra}'s
     * fields. Without extra fields (every refusal on the hot paths) from the pre-encoded head.
     */
    static byte[] problem(Rejection rejection, String detail, String requestId, Body extra) {
        if (extra == null) {
            return new JsonBytes(PROBLEM_HEADS[rejection.ordinal()].length + 128)
                    .raw(PROBLEM_HEADS[rejection.ordinal()]).string(detail)
                    .raw(REQUEST_ID_FIELD).string(requestId).syntax('}')
                    .toByteArray();
        }
        return problemWithGenerator(rejection, detail, requestId, extra);
    }

    /** {@link #problem} written by Jackson's generator: the form with extra fields, and the reference. */
    static byte[] problemWithGenerator(Rejection rejection, String detail, String requestId, Body extra) {
        return write(g -> {
            g.writeStartObject();
            ProblemType problem = ProblemType.of(rejection);
            g.writeStringField("type", problem.type());
            g.writeStringField("title", problem.title());
            g.writeNumberField("status", problem.status());
            g.writeStringField("code", rejection.name());
            g.writeStringField("detail", detail);
            g.writeStringField("requestId", requestId);
            if (extra != null) {
                extra.write(g);
            }
            g.writeEndObject();
        });
    }

}
