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
 *  "createdAt":1764158400000,"requestId":"…","idempotencyKey":"k-1"}}</pre>
 *
 * A record that does not decode to a valid order is a poison record: {@link #decode} says why,
 * and the consumer sends it to the dead-letter topic with that reason.
 */
final class OrderCodec {

    static final int VERSION = 1;

    /** Encoded on request threads (virtual): buffers from the shared pool, as in the HTTP adapter. */
    private static final ObjectMapper MAPPER = JsonMapper.builder(JsonFactory.builder()
                    .recyclerPool(JsonRecyclerPools.sharedBoundedPool()).build())
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .build();

    /** The wire form; field names are the contract, so they are spelled out. */
    record Wire(Integer v, String orderId, String sku, String userId, Integer quantity, Long createdAt,
                String requestId, String idempotencyKey) {
    }

    private OrderCodec() {
    }

    static byte[] encode(Order order) {
        try {
            return MAPPER.writeValueAsBytes(new Wire(VERSION, order.orderId(), order.sku(), order.userId(),
                    order.quantity(), order.createdAt().toEpochMilli(), order.requestId(), order.idempotencyKey()));
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
        require(wire.orderId(), "orderId", 64);
        require(wire.sku(), "sku", 64);
        require(wire.userId(), "userId", 64);
        require(wire.idempotencyKey(), "idempotencyKey", 64);
        if (wire.quantity() == null || wire.quantity() < 1) {
            throw new PoisonRecordException("quantity must be a positive integer, was " + wire.quantity());
        }
        if (wire.createdAt() == null || wire.createdAt() < 0) {
            throw new PoisonRecordException("createdAt must be epoch milliseconds, was " + wire.createdAt());
        }
        return new Order(wire.orderId(), wire.sku(), wire.userId(), wire.quantity(), OrderStatus.CONFIRMED,
                Instant.ofEpochMilli(wire.createdAt()), wire.requestId(), wire.idempotencyKey());
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
