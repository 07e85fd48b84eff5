package io.floodgate.kafka;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.util.JsonRecyclerPools;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.floodgate.core.domain.Order;
import io.floodgate.core.domain.OrderStatus;

import java.io.IOException;
import java.time.Instant;

/**
 * An order as the value of a Kafka record: JSON, versioned, self-describing, so that a record
 * written by one release is read by the next and can be inspected with any Kafka tool.
 *
 * <pre>{@code {"v":1,"orderId":"…","sku":"S1","userId":"u-1","quantity":1,
 *  "createdAt":1764158400000,"requestId":"…","idempotencyKey":"k-1","dueAt":1764158700000}}</pre>
 *
 * {@code dueAt} (epoch ms) is there only for an order on an item with a payment window; a reader
 * of version 1 that does not know it ignores it (unknown fields are ignored), and a record
 * without it is an order with no payment due.
 *
 * A record that does not decode to a valid order is a poison record: {@link #decode} says why,
 * and the consumer sends it to the dead-letter topic with that reason.
 */
final class OrderCodec {

    static final int VERSION = 1;
    private static final java.util.regex.Pattern ORDER_ID =
            java.util.regex.Pattern.compile("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");

    /**
     * Encoded on request threads (virtual): buffers from a shared lock-free pool, as in the HTTP
     * adapter, and for the same reason (byte arrays only, so no thread parks holding a buffer).
     */
    private static final ObjectMapper MAPPER = JsonMapper.builder(JsonFactory.builder()
                    .recyclerPool(JsonRecyclerPools.newConcurrentDequePool()).build())
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .build();

    /** The wire form; field names are the contract, so they are spelled out. */
    @com.fasterxml.jackson.annotation.JsonInclude(com.fasterxml.jackson.annotation.JsonInclude.Include.NON_NULL)
    record Wire(Integer v, String orderId, String sku, String userId, Integer quantity, Long createdAt,
                String requestId, String idempotencyKey, Long dueAt) {
    }

    private OrderCodec() {
    }

    static byte[] encode(Order order) {
        try {
            return MAPPER.writeValueAsBytes(new Wire(VERSION, order.orderId(), order.sku(), order.userId(),
                    order.quantity(), order.createdAt().toEpochMilli(), order.requestId(), order.idempotencyKey(),
                    order.payment() == null ? null : order.payment().dueAt().toEpochMilli()));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot encode order " + order.orderId(), e);
        }
    }

    /**
     * The order in {@code value}, with status {@code CONFIRMED} (what it becomes once stored).
     *
     * @throws PoisonRecordException naming what is wrong with the record
     */
    static Order decode(byte[] value) {
        if (value == null) {
            throw new PoisonRecordException("record has no value");
        }
        Wire wire;
        try {
            wire = MAPPER.readValue(value, Wire.class);
        } catch (IOException e) {
            throw new PoisonRecordException("value is not an order in JSON: " + firstLine(e.getMessage()));
        }
        if (wire == null || wire.v() == null || wire.v() != VERSION) {
            throw new PoisonRecordException("unknown order record version " + (wire == null ? null : wire.v())
                    + " (this release reads version " + VERSION + ")");
        }
        // what the store can take, checked here: a record it cannot take for its shape must be
        // told from a store that is down, and only a poison record is ever set aside
        if (wire.orderId() == null || !ORDER_ID.matcher(wire.orderId()).matches()) {
            throw new PoisonRecordException("orderId must be a UUID (36 characters), was "
                    + (wire.orderId() == null ? "missing" : wire.orderId().length() + " characters"));
        }
        require(wire.sku(), "sku", 64);
        require(wire.userId(), "userId", 64);
        require(wire.idempotencyKey(), "idempotencyKey", 64);
        if (wire.quantity() == null || wire.quantity() < 1) {
            throw new PoisonRecordException("quantity must be a positive integer, was " + wire.quantity());
        }
        if (wire.requestId() != null && wire.requestId().length() > 64) {
            throw new PoisonRecordException("requestId must be at most 64 characters, was " + wire.requestId().length());
        }
        if (wire.createdAt() == null || wire.createdAt() < 0) {
            throw new PoisonRecordException("createdAt must be epoch milliseconds, was " + wire.createdAt());
        }
        if (wire.dueAt() != null && wire.dueAt() < wire.createdAt()) {
            throw new PoisonRecordException("dueAt must not be before createdAt, was " + wire.dueAt() + " < "
                    + wire.createdAt());
        }
        Order order = new Order(wire.orderId(), wire.sku(), wire.userId(), wire.quantity(), OrderStatus.CONFIRMED,
                Instant.ofEpochMilli(wire.createdAt()), wire.requestId(), wire.idempotencyKey());
        return wire.dueAt() == null ? order : order.due(Instant.ofEpochMilli(wire.dueAt()));
    }

    private static void require(String value, String field, int maxLength) {
        if (value == null || value.isEmpty() || value.length() > maxLength) {
            throw new PoisonRecordException(field + " must be 1-" + maxLength + " characters, was "
                    + (value == null ? "missing" : value.length() + " characters"));
        }
    }

    private static String firstLine(String message) {
        if (message == null) {
            return "unreadable";
        }
        int newline = message.indexOf('\n');
        return newline < 0 ? message : message.substring(0, newline);
    }

    /** A record that can never become an order: it goes to the dead-letter topic, with this reason. */
    static final class PoisonRecordException extends RuntimeException {
        PoisonRecordException(String reason) {
            super(reason, null, false, false);
        }
    }
}
