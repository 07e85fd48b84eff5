package io.floodgate.kafka;

import io.floodgate.core.FailedOrders;
import io.floodgate.core.port.OrderLog;
import io.floodgate.core.port.OrderStore;
import io.floodgate.testing.OrderLogContract;
import io.floodgate.testing.TestKafka;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/** The Kafka order log, on the test broker, held to the order log's contract. */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class KafkaOrderLogContractTest extends OrderLogContract {

    private String bootstrap;
    private String topic;

    @Override
    protected OrderLog newLog(OrderStore store) {
        bootstrap = TestKafka.bootstrapOrSkip();
        topic = "fg-log-contract-" + Long.toHexString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE);
        return KafkaOrderLogs.start(KafkaOrderLogs.settings(bootstrap).topic(topic).group(topic).partitions(3)
                .consumers(2).build(), store, new FailedOrders(store));
    }

    @Override
    protected boolean inDoubtEndsStored() {
        return true;
    }

    @Override
    protected void close(OrderLog log, Duration timeout) {
        ((KafkaOrderLog) log).close(timeout);
    }

    @AfterEach
    void deleteTopics() {
        if (topic != null) {
            TestKafka.deleteTopics(bootstrap, topic, topic + ".dlq");
        }
    }
}
