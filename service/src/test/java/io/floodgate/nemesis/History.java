package io.floodgate.nemesis;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

/**
 * What a nemesis run did and saw, one JSON object a line ({@code history.jsonl}), written as it
 * happens and read back whole by the {@link Checker}:
 * <pre>
 *   {"type":"run", seed, deadlineMs, slackMs, nodes, items:[...], settings:{...}}     first line
 *   {"type":"op", id, op:"order"|"cancel", phase, client, node, key, sku, user, qty,
 *                 t0, t1, status, code, orderId, view, replayed, error}             one per HTTP call
 *   {"type":"fault", id, kind, target, start, end, detail}          at the start (end -1) and the end
 *   {"type":"mark", t, what}                                     phases of the run: healed, settled...
 *   {"type":"gauge", t, end:[...], committed:[...]}        the order topic's offsets, once a second
 * </pre>
 * Times are milliseconds since the run started (a monotonic clock). {@code status} is -1 when no
 * HTTP answer came; {@code error} then says why: {@code refused} (never delivered), {@code broken}
 * (the connection broke: maybe delivered), {@code timeout} (the client gave up).
 *
 * <p>Bounded: past {@link #MAX_BYTES} nothing more is written and {@link #full()} turns true, so that
 * the workload stops starting new keys (a truncated history would make the checker guess).
 */
final class History implements AutoCloseable {

    static final long MAX_BYTES = 256L << 20;
    static final ObjectMapper JSON = new ObjectMapper()
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false)
            .setSerializationInclusion(JsonInclude.Include.NON_NULL);

    /** An item of the sale: on sale from {@code opensAtMs} (run time) on. */
    record Item(String sku, long stock, int perUserLimit, long opensAtMs, boolean hot) {
    }

    record Run(long seed, long deadlineMs, long slackMs, int nodes, List<Item> items, Map<String, String> settings) {
    }

    /** One HTTP call of a client and its answer. */
    record Op(long id, String op, String phase, int client, int node, String key, String sku, String user, int qty,
              long t0, long t1, int status, String code, String orderId, String view, boolean replayed, String error) {

        Outcome outcome() {
            return Outcome.of(this);
        }

        long millis() {
            return t1 - t0;
        }

        @Override
        public String toString() {
            return line(this, "op");
        }
    }

    /** One fault: {@code end} is -1 in the line written when it starts. */
    record Fault(long id, String kind, String target, long start, long end, String detail) {
        @Override
        public String toString() {
            return line(this, "fault");
        }
    }

    record Mark(long t, String what) {
    }

    /** The order topic sampled: end and committed offsets per partition (a broker that does not answer: none). */
    record Gauge(long t, long[] end, long[] committed) {
        long backlog() {
            long b = 0;
            for (int p = 0; p < end.length; p++) {
                b += end[p] - committed[p];
            }
            return b;
        }
    }

    /** What an answer says about the key's order. */
    enum Outcome {
        /** 200, 201, 202 with an order id: the order exists (or, 200, existed already). */
        ACK,
        /** 409, 422 and other 4xx; 500 (the API says it changes no state): no order made. */
        REFUSED,
        /** 429, 503, a refused connection: not taken now, nothing reserved; retry. */
        NOT_TAKEN,
        /** 504, a broken connection, a client timeout: the order may or may not exist. */
        IN_DOUBT;

        static Outcome of(Op op) {
            if (op.status() < 0) {
                return "refused".equals(op.error()) ? NOT_TAKEN : IN_DOUBT;
            }
            return switch (op.status()) {
                case 200, 201, 202 -> op.orderId() == null ? IN_DOUBT : ACK;
                case 429, 503 -> NOT_TAKEN;
                case 504 -> IN_DOUBT;
                default -> op.status() >= 400 && op.status() <= 500 ? REFUSED : IN_DOUBT;
            };
        }
    }

    /** A history read back. */
    record Read(Run run, List<Op> ops, List<Fault> faults, List<Mark> marks, List<Gauge> gauges) {
    }

    private final Path file;
    private final BufferedWriter out;
    private final long startNanos = System.nanoTime();
    private final AtomicLong ids = new AtomicLong();
    private long bytes;
    private volatile boolean full;

    private History(Path file) throws IOException {
        this.file = file;
        Files.createDirectories(file.getParent());
        this.out = Files.newBufferedWriter(file, StandardCharsets.UTF_8);
    }

    static History create(Path file) {
        try {
            return new History(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    Path file() {
        return file;
    }

    /** Milliseconds since the run started. */
    long now() {
        return (System.nanoTime() - startNanos) / 1_000_000;
    }

    long nextId() {
        return ids.incrementAndGet();
    }

    boolean full() {
        return full;
    }

    void run(Run run) {
        write(line(run, "run"));
    }

    void op(Op op) {
        write(line(op, "op"));
    }

    void fault(Fault fault) {
        write(line(fault, "fault"));
    }

    void mark(String what) {
        write(line(new Mark(now(), what), "mark"));
    }

    void gauge(Gauge gauge) {
        write(line(gauge, "gauge"));
    }

    static String line(Record r, String type) {
        ObjectNode node = JSON.createObjectNode().put("type", type);
        node.setAll((ObjectNode) JSON.valueToTree(r));
        return node.toString();
    }

    private synchronized void write(String line) {
        if (full) {
            return;
        }
        if (bytes + line.length() + 1 > MAX_BYTES) {
            full = true;
            line = "{\"type\":\"mark\",\"t\":" + now() + ",\"what\":\"history full: nothing more recorded\"}";
        }
        try {
            out.write(line);
            out.newLine();
            bytes += line.length() + 1;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the history " + file, e);
        }
    }

    synchronized void flush() {
        try {
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public synchronized void close() {
        try {
            out.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Reads a history file; a fault's line with an end replaces its start line. */
    static Read read(Path file) {
        Run run = null;
        List<Op> ops = new ArrayList<>();
        Map<Long, Fault> faults = new HashMap<>();
        List<Mark> marks = new ArrayList<>();
        List<Gauge> gauges = new ArrayList<>();
        try (Stream<String> lines = Files.lines(file, StandardCharsets.UTF_8)) {
            for (String line : (Iterable<String>) lines::iterator) {
                JsonNode node = JSON.readTree(line);
                switch (node.path("type").asText()) {
                    case "run" -> run = JSON.treeToValue(node, Run.class);
                    case "op" -> ops.add(JSON.treeToValue(node, Op.class));
                    case "fault" -> {
                        Fault f = JSON.treeToValue(node, Fault.class);
                        faults.merge(f.id(), f, (a, b) -> b.end() >= 0 ? b : a);
                    }
                    case "mark" -> marks.add(JSON.treeToValue(node, Mark.class));
                    case "gauge" -> gauges.add(JSON.treeToValue(node, Gauge.class));
                    default -> throw new IllegalStateException("unknown line in " + file + ": " + line);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the history " + file, e);
        }
        if (run == null) {
            throw new IllegalStateException(file + " has no run line");
        }
        List<Fault> sorted = new ArrayList<>(faults.values());
        sorted.sort(java.util.Comparator.comparingLong(Fault::start));
        return new Read(run, ops, sorted, marks, gauges);
    }
}
