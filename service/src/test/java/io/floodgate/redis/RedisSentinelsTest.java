package io.floodgate.redis;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.api.StatefulRedisConnection;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The failure the ledger must notice, shown on real processes: after the sentinels promote a
 * replica that was behind, a client on the sentinel URL reaches the new primary, which lacks the
 * writes the old one took while the replica was stopped, and nothing in it is empty. A key written
 * unreplicated ({@code redis.set_repl(redis.REPL_NONE)}) is missing there: that is how the ledger
 * tells a failed-over server from the one it marked.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RedisSentinelsTest {

    @Test
    void aPromotedLaggingReplicaMissesTheLastWritesAndTheUnreplicatedMarker() {
        try (RedisSentinels group = RedisSentinels.start()) {
            RedisClient client = RedisClient.create(RedisURI.create(group.url(0)));
            try (StatefulRedisConnection<String, String> c = client.connect()) {
                c.sync().set("before", "1");
                c.sync().eval("redis.set_repl(redis.REPL_NONE); redis.call('SET', KEYS[1], '1'); return 1",
                        ScriptOutputType.INTEGER, "marker");
                await().atMost(Duration.ofSeconds(10)).until(() -> "1".equals(RedisProcess.run(java.util.List.of(
                        "/usr/bin/redis-cli", "-p", Integer.toString(group.replica().port()), "GET", "before")).strip()));
                int oldPrimary = group.primaryPort();

                group.failOverToALaggingReplica(() -> c.sync().set("during", "1"));

                assertThat(group.primaryPort()).isNotEqualTo(oldPrimary);
                await().atMost(Duration.ofSeconds(30)).ignoreExceptions()
                        .until(() -> "1".equals(c.sync().get("before")));
                assertThat(c.sync().get("during")).as("the write the replica never heard of").isNull();
                assertThat(c.sync().get("marker")).as("the unreplicated marker").isNull();
            } finally {
                client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
            }
        }
    }
}
