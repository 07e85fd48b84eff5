package io.floodgate.kafka;

import io.floodgate.core.port.OrderLog;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListConsumerGroupOffsetsOptions;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Measures the order topic's backlog: records the brokers acknowledged that the writers' group
 * has not committed yet, on every instance (the writers commit only after the store transaction,
 * so these are accepted orders the store does not have), and how long the oldest has waited.
 *
 * <h2>How</h2>
 * Every {@code period} it asks the brokers for each partition's end offset and the group's
 * committed offset (two admin requests, whatever the number of instances or partitions). The
 * count is their difference. The age is that of the oldest record not yet committed: its
 * timestamp (the order's creation time, set by the producer) is read once per partition and
 * committed offset, with a consumer of its own that belongs to no group, and kept until the
 * writers commit past it; so an instance that starts while a backlog exists reads its true age at
 * once. Where that read fails, the age comes from history: each partition keeps the times at
 * which its end offset was seen to grow, and the oldest record not yet committed was appended no
 * later than the first of those samples whose end offset is past the committed one. The history
 * is bounded: when it is full, every other sample is dropped, which coarsens old times rather
 * than forgetting them.
 *
 * <p>While the brokers do not answer, the last measure stands: appends fail then too, and the
 * log's breaker, not this gauge, refuses orders.
 */
final class BacklogGauge implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(BacklogGauge.class);
    private static final int MAX_SAMPLES = 512;

    private record Sample(long atNanos, long endOffset) {
    }

    /** The timestamp of the record at {@code offset}, the oldest not yet committed in its partition. */
    private record Oldest(long offset, long timestampMillis) {
    }

    /** Reads one record per lagging partition for its timestamp; confined to the sampling thread. */
    private final org.apache.kafka.clients.consumer.Consumer<byte[], byte[]> reader;
    private final LongSupplier wallMillis;
    /** Confined to the sampling thread. */
    private final Map<TopicPartition, Oldest> oldest = new HashMap<>();

    private final Admin admin;
    private final String group;
    private final List<TopicPartition> partitions;
    private final Duration period;
    private final LongSupplier nanoTime;
    /** Confined to the sampling thread. */
    private final Map<TopicPartition, ArrayDeque<Sample>> growth = new HashMap<>();
    private volatile OrderLog.Backlog last = OrderLog.Backlog.NONE;
    /** When {@link #last} was measured (written before {@link #last}'s next value is read: benign race). */
    private volatile long lastMeasuredNanos;
    private volatile boolean closed;
    private Thread sampler;

    BacklogGauge(Admin admin, org.apache.kafka.clients.consumer.Consumer<byte[], byte[]> reader, String group,
                 List<TopicPartition> partitions, Duration period, LongSupplier nanoTime, LongSupplier wallMillis) {
        this.admin = admin;
        this.reader = reader;
        this.wallMillis = wallMillis;
        this.group = group;
        this.partitions = List.copyOf(partitions);
        this.period = period;
        this.nanoTime = nanoTime;
    }

    BacklogGauge start() {
        sampler = Thread.ofVirtual().name("floodgate-kafka-backlog").start(() -> {
            while (!closed) {
                try {
                    sampleOnce();
                } catch (RuntimeException e) {
                    LOG.debug("cannot measure the order log's backlog now: {}", KafkaLog.describe(e));
                }
                try {
                    Thread.sleep(period);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        return this;
    }

    /**
     * The backlog as last measured; while the brokers have not answered for more than two periods,
     * its age grows with the time since (it cannot have shrunk unseen by more than the writers
     * stored, and nothing says they did): a log that comes back after an outage is not read as
     * young before its first measure.
     */
    OrderLog.Backlog current() {
        OrderLog.Backlog measured = last;
        long silent = nanoTime.getAsLong() - lastMeasuredNanos;
        if (measured.orders() == 0 || silent <= 2 * period.toNanos()) {
            return measured;
        }
        return new OrderLog.Backlog(measured.orders(), measured.age().plusNanos(silent));
    }

    /** Takes one measure now, on this thread; false when the brokers did not answer in time. */
    boolean sampleOnce() {
        long timeoutMs = Math.max(1_000, period.toMillis() * 2);
        Map<TopicPartition, Long> ends;
        Map<TopicPartition, OffsetAndMetadata> committed;
        try {
            ends = offsets(OffsetSpec.latest(), partitions, timeoutMs);
            committed = admin.listConsumerGroupOffsets(group, new ListConsumerGroupOffsetsOptions()
                            .timeoutMs((int) timeoutMs))
                    .partitionsToOffsetAndMetadata().get(timeoutMs, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } catch (Exception e) {
            LOG.debug("order log backlog not measured: {}", KafkaLog.describe(e));
            return false;
        }
        long now = nanoTime.getAsLong();
        Map<TopicPartition, Long> done = new HashMap<>();
        List<TopicPartition> neverCommitted = new ArrayList<>();
        for (TopicPartition tp : partitions) {
            OffsetAndMetadata c = committed.get(tp);
            if (c != null) {
                done.put(tp, c.offset());
            } else {
                neverCommitted.add(tp);
            }
        }
        if (!neverCommitted.isEmpty()) {
            // the group starts these from the earliest record still in the log
            try {
                done.putAll(offsets(OffsetSpec.earliest(), neverCommitted, timeoutMs));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            } catch (Exception e) {
                LOG.debug("order log backlog not measured: {}", KafkaLog.describe(e));
                return false;
            }
        }
        long orders = 0;
        long oldestSince = now;
        readOldestTimestamps(ends, done);
        long oldestTimestamp = Long.MAX_VALUE;
        for (TopicPartition tp : partitions) {
            long end = ends.getOrDefault(tp, 0L);
            long from = Math.min(done.getOrDefault(tp, 0L), end);
            ArrayDeque<Sample> history = growth.computeIfAbsent(tp, k -> new ArrayDeque<>());
            if (history.isEmpty() || history.peekLast().endOffset() < end) {
                if (history.size() >= MAX_SAMPLES) {
                    thin(history);
                }
                history.addLast(new Sample(now, end));
            }
            // samples at or below the committed offset speak of stored records only
            while (history.size() > 1 && history.peekFirst().endOffset() <= from) {
                history.pollFirst();
            }
            if (end > from) {
                orders += end - from;
                Oldest known = oldest.get(tp);
                if (known != null && known.offset() == from) {
                    oldestTimestamp = Math.min(oldestTimestamp, known.timestampMillis());
                    continue;
                }
                Sample first = history.peekFirst();
                if (first != null && first.endOffset() > from && first.atNanos() - oldestSince < 0) {
                    oldestSince = first.atNanos();
                }
            } else {
                oldest.remove(tp);
            }
        }
        long age = now - oldestSince;
        if (oldestTimestamp != Long.MAX_VALUE) {
            age = Math.max(age, Duration.ofMillis(Math.max(0, wallMillis.getAsLong() - oldestTimestamp)).toNanos());
        }
        lastMeasuredNanos = now;
        last = new OrderLog.Backlog(orders, Duration.ofNanos(age));
        return true;
    }

    /**
     * For each partition with records not yet committed whose oldest one's timestamp is not known
     * yet, reads that record (seek to the committed offset, one poll). Best effort: what is not read
     * now is read at the next sample, and the history answers meanwhile.
     */
    private void readOldestTimestamps(Map<TopicPartition, Long> ends, Map<TopicPartition, Long> done) {
        Map<TopicPartition, Long> wanted = new HashMap<>();
        for (TopicPartition tp : partitions) {
            long end = ends.getOrDefault(tp, 0L);
            long from = Math.min(done.getOrDefault(tp, 0L), end);
            Oldest known = oldest.get(tp);
            if (end > from && (known == null || known.offset() != from)) {
                wanted.put(tp, from);
            }
        }
        if (wanted.isEmpty()) {
            return;
        }
        try {
            reader.assign(wanted.keySet());
            reader.resume(reader.assignment());
            wanted.forEach(reader::seek);
            long until = System.nanoTime() + Math.min(period.toNanos(), TimeUnit.MILLISECONDS.toNanos(500));
            while (!wanted.isEmpty() && System.nanoTime() - until < 0) {
                for (var record : reader.poll(Duration.ofMillis(100))) {
                    TopicPartition tp = new TopicPartition(record.topic(), record.partition());
                    Long from = wanted.remove(tp);
                    if (from != null) {
                        oldest.put(tp, new Oldest(from, record.timestamp()));
                        reader.pause(List.of(tp));
                    }
                }
            }
        } catch (RuntimeException e) {
            LOG.debug("cannot read the oldest unstored records' timestamps now: {}", KafkaLog.describe(e));
        }
    }

    private Map<TopicPartition, Long> offsets(OffsetSpec spec, List<TopicPartition> of, long timeoutMs) throws Exception {
        Map<TopicPartition, OffsetSpec> asked = new HashMap<>();
        of.forEach(tp -> asked.put(tp, spec));
        Map<TopicPartition, Long> offsets = new HashMap<>();
        admin.listOffsets(asked, new ListOffsetsOptions().timeoutMs((int) timeoutMs)).all()
                .get(timeoutMs, TimeUnit.MILLISECONDS)
                .forEach((tp, info) -> offsets.put(tp, info.offset()));
        return offsets;
    }

    /** Drops every other sample but the first and the last: old times get coarser, never lost. */
    private static void thin(ArrayDeque<Sample> history) {
        List<Sample> kept = new ArrayList<>(history.size() / 2 + 2);
        int i = 0;
        int last = history.size() - 1;
        for (Sample s : history) {
            if (i == 0 || i == last || i % 2 == 0) {
                kept.add(s);
            }
            i++;
        }
        history.clear();
        history.addAll(kept);
    }

    @Override
    public void close() {
        closed = true;
        Thread t = sampler;
        if (t != null) {
            t.interrupt();
            try {
                t.join(Duration.ofSeconds(2));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        reader.close(Duration.ofSeconds(1));
    }
}
