package io.floodgate.kafka;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.DeleteConsumerGroupsOptions;
import org.apache.kafka.clients.admin.DeleteTopicsOptions;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.errors.GroupIdNotFoundException;
import org.apache.kafka.common.errors.GroupNotEmptyException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Deletes an order log from the brokers: its order topic, its dead-letter topic and its consumer
 * group, within one deadline. A topic or group that is not there counts as gone (it was never
 * created, or an earlier try took it). The group can only go once its members have left: a
 * {@link GroupNotEmptyException} (the writers' leave requests still on their way) is tried again
 * until the deadline.
 */
final class LogDeletion {

    private static final long RETRY_MILLIS = 100;

    private LogDeletion() {
    }

    static KafkaOrderLogs.Deleted delete(KafkaOrderLogs.Settings settings, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        List<String> topics = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        boolean group = false;
        Admin admin = Admin.create(KafkaLog.adminProperties(settings));
        try {
            Map<String, KafkaFuture<Void>> deletions = admin.deleteTopics(
                    List.of(settings.topic(), settings.deadLetterTopic()),
                    new DeleteTopicsOptions().timeoutMs(millisLeft(deadline))).topicNameValues();
            for (var deletion : deletions.entrySet()) {
                try {
                    deletion.getValue().get(millisLeft(deadline), TimeUnit.MILLISECONDS);
                    topics.add(deletion.getKey());
                } catch (ExecutionException e) {
                    if (e.getCause() instanceof UnknownTopicOrPartitionException) {
                        topics.add(deletion.getKey());
                    } else {
                        problems.add("topic " + deletion.getKey() + ": " + KafkaLog.describe(e.getCause()));
                    }
                } catch (TimeoutException e) {
                    problems.add("topic " + deletion.getKey() + ": no answer in time");
                }
            }
            while (true) {
                try {
                    admin.deleteConsumerGroups(List.of(settings.group()),
                                    new DeleteConsumerGroupsOptions().timeoutMs(millisLeft(deadline)))
                            .all().get(millisLeft(deadline), TimeUnit.MILLISECONDS);
                    group = true;
                    break;
                } catch (ExecutionException e) {
                    if (e.getCause() instanceof GroupIdNotFoundException) {
                        group = true;
                        break;
                    }
                    if (!(e.getCause() instanceof GroupNotEmptyException)
                            || deadline - System.nanoTime() < TimeUnit.MILLISECONDS.toNanos(RETRY_MILLIS)) {
                        problems.add("group " + settings.group() + ": " + KafkaLog.describe(e.getCause()));
                        break;
                    }
                    Thread.sleep(RETRY_MILLIS);
                } catch (TimeoutException e) {
                    problems.add("group " + settings.group() + ": no answer in time");
                    break;
                }
            }
        } finally {
            admin.close(Duration.ofSeconds(1)); // what it waited for has timed out by now
        }
        return new KafkaOrderLogs.Deleted(List.copyOf(topics), group, List.copyOf(problems));
    }

    private static int millisLeft(long deadline) {
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
    }
}
