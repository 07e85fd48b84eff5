package io.floodgate.kafka;

import io.floodgate.core.port.OrderLog;

import java.time.Duration;

/**
 * The order log on Kafka, as the application sees it: the {@link OrderLog} port plus readiness and
 * figures for metrics. Built by {@link KafkaOrderLogs}.
 */
public interface KafkaOrderLog extends OrderLog {

    /** Whether the brokers answer within {@code timeout}. */
    boolean ping(Duration timeout);

    Stats stats();

    /**
     * Stops taking orders, waits up to {@code timeout} for the brokers to acknowledge what was
     * sent and for this instance's consumers to store what they hold, then stops.
     */
    void close(Duration timeout);

    /**
     * What the log has done since it started, on this instance.
     *
     * @param acknowledged  orders the brokers acknowledged (answered 202)
     * @param inFlight      orders sent and not yet acknowledged or failed
     * @param stored        orders this instance's consumers wrote to the store (replays included)
     * @param batches       store batches written by this instance's consumers
     * @param storeRetries  batch writes that failed and were retried
     * @param deadLettered  records sent to the dead-letter topic, with their reason
     * @param failed        acknowledged orders that could never be stored (their item is missing),
     *                      ended FAILED with their units returned
     * @param storedDirectly orders whose Kafka write failed ambiguously and that were written to
     *                       the store directly instead
     */
    record Stats(long acknowledged, int inFlight, long stored, long batches, long storeRetries, long deadLettered,
                 long failed, long storedDirectly) {
    }
}
