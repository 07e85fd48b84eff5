package io.floodgate.redis;

import io.floodgate.concurrent.Deadlines;
import io.floodgate.core.DependencyTime;
import io.floodgate.core.DependencyUnavailableException;
import io.lettuce.core.AbstractRedisClient;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.RedisNoScriptException;
import io.lettuce.core.RedisURI;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulConnection;
import io.lettuce.core.cluster.ClusterClientOptions;
import io.lettuce.core.cluster.ClusterTopologyRefreshOptions;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.Delay;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Function;

/**
 * One multiplexed Lettuce connection (to a server, or to a cluster, where Lettuce routes each
 * command to the node of its first key's slot), and the rules every call follows:
 *
 * <ul>
 *   <li><b>Bounded wait.</b> Each call waits for its reply at most the time it is given (the
 *   caller passes the request's remaining deadline, capped at {@code maxCommandTimeout}). A late
 *   reply, a lost connection, or an error reply becomes {@link DependencyUnavailableException}
 *   naming the call and the server. While the connection is down, commands are refused at once
 *   rather than queued, so nothing hangs behind a dead server.</li>
 *   <li><b>Outcome unknown.</b> A call that timed out or lost its connection may still run on
 *   the server; the exception says so ({@code outcomeUnknown}) and the caller compensates.
 *   Commands on one connection execute in the order sent, so a compensating command sent after a
 *   timed-out one runs after it.</li>
 *   <li><b>Why one connection.</b> Virtual threads block on the reply future (which parks them
 *   cheaply); Lettuce pipelines every caller's commands over the one socket. Measured against
 *   Jedis pools in docs/REDIS.md.</li>
 * </ul>
 * {@link #calls()} counts every command sent, for tests that check a path stays off Redis.
 */
final class Redis implements AutoCloseable {

    /** Commands a bulk operation keeps awaiting replies at once. */
    private static final int BULK_WINDOW = 512;
    /** A bulk window may take this many times {@code maxCommandTimeout}: it is not on a request's path. */
    private static final int BULK_TIMEOUT_FACTOR = 10;

    private final AbstractRedisClient client;
    private final ClientResources resources;
    private final StatefulConnection<String, String> connection;
    private final RedisClusterAsyncCommands<String, String> commands;
    private final boolean cluster;
    private final String where;
    private final long maxTimeoutNanos;
    private final LongAdder calls = new LongAdder();

    private Redis(AbstractRedisClient client, ClientResources resources, StatefulConnection<String, String> connection,
                  RedisClusterAsyncCommands<String, String> commands, boolean cluster, String where, Duration maxTimeout) {
        this.client = client;
        this.resources = resources;
        this.connection = connection;
        this.commands = commands;
        this.cluster = cluster;
        this.where = where;
        this.maxTimeoutNanos = maxTimeout.toNanos();
    }

    /**
     * Connects and loads every script, so that EVALSHA finds them.
     *
     * @throws DependencyUnavailableException when Redis does not answer
     */
    static Redis connect(RedisLedgers.Settings settings) {
        Redis redis = connectOnly(settings);
        try {
            redis.loadScripts();
        } catch (RuntimeException e) {
            redis.close();
            throw e;
        }
        return redis;
    }

    /**
     * Connects without loading the scripts.
     *
     * @throws DependencyUnavailableException when Redis does not answer
     */
    static Redis connectOnly(RedisLedgers.Settings settings) {
        String url = settings.url();
        String where = redact(url);
        SocketOptions socket = SocketOptions.builder().connectTimeout(settings.connectTimeout()).keepAlive(true).build();
        // Lettuce's own timeout is only a backstop; callers wait with their own, shorter timeouts
        // (bulk work at start and rebuild waits longer, see bulk()).
        TimeoutOptions timeouts = TimeoutOptions.enabled(settings.maxCommandTimeout().multipliedBy(BULK_TIMEOUT_FACTOR));
        // Reconnect soon after Redis comes back (Lettuce's default backs off to 30 s).
        ClientResources resources = ClientResources.builder()
                .reconnectDelay(Delay.exponential(Duration.ofMillis(10), Duration.ofSeconds(1), 2, TimeUnit.MILLISECONDS))
                .build();
        AbstractRedisClient client = null;
        try {
            if (url.startsWith("redis-cluster://")) {
                List<RedisURI> seeds = new ArrayList<>();
                for (String hostPort : url.substring("redis-cluster://".length()).split(",")) {
                    seeds.add(RedisURI.create("redis://" + hostPort.strip()));
                }
                RedisClusterClient clusterClient = RedisClusterClient.create(resources, seeds);
                client = clusterClient;
                clusterClient.setOptions(ClusterClientOptions.builder()
                        .autoReconnect(true)
                        .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
                        .requestQueueSize(65_536)
                        .socketOptions(socket)
                        .timeoutOptions(timeouts)
                        .topologyRefreshOptions(ClusterTopologyRefreshOptions.builder()
                                .enableAllAdaptiveRefreshTriggers()
                                .enablePeriodicRefresh(Duration.ofSeconds(30))
                                .build())
                        .build());
                StatefulRedisClusterConnection<String, String> c = clusterClient.connect(StringCodec.UTF8);
                return new Redis(client, resources, c, c.async(), true, where, settings.maxCommandTimeout());
            }
            RedisClient single = RedisClient.create(resources, RedisURI.create(url));
            client = single;
            single.setOptions(ClientOptions.builder()
                    .autoReconnect(true)
                    .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
                    .requestQueueSize(65_536)
                    .socketOptions(socket)
                    .timeoutOptions(timeouts)
                    .build());
            StatefulRedisConnection<String, String> c = single.connect(StringCodec.UTF8);
            return new Redis(client, resources, c, c.async(), false, where, settings.maxCommandTimeout());
        } catch (RuntimeException e) {
            if (client != null) {
                client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
            }
            resources.shutdown(0, 1, TimeUnit.SECONDS);
            throw new DependencyUnavailableException("redis", "cannot connect to " + where + ": " + e.getMessage(), e);
        }
    }

    boolean cluster() {
        return cluster;
    }

    String where() {
        return where;
    }

    long maxTimeoutNanos() {
        return maxTimeoutNanos;
    }

    /** Commands sent so far. */
    long calls() {
        return calls.sum();
    }

    /** Loads every script (on every master of a cluster). */
    private void loadScripts() {
        for (Script script : Script.values()) {
            String sha = call("SCRIPT LOAD " + script.file(), maxTimeoutNanos,
                    c -> c.scriptLoad(script.text().getBytes(StandardCharsets.UTF_8)));
            if (!script.sha().equals(sha)) {
                throw new IllegalStateException("Redis gave SHA " + sha + " for " + script.file() + ", expected "
                        + script.sha());
            }
        }
    }

    /**
     * Runs {@code script} on the item whose keys are {@code keys}: EVALSHA, or EVAL when the
     * server does not have it. The reply is the script's table, as a list.
     */
    List<Object> eval(Script script, String[] keys, long timeoutNanos, String... args) {
        try {
            return call(script.file(), timeoutNanos, c -> c.<List<Object>>evalsha(script.sha(), ScriptOutputType.MULTI, keys, args));
        } catch (DependencyUnavailableException e) {
            if (!(e.getCause() instanceof RedisNoScriptException)) {
                throw e;
            }
            return call(script.file(), timeoutNanos, c -> c.<List<Object>>eval(script.text(), ScriptOutputType.MULTI, keys, args));
        }
    }

    /** Sends one command and waits for its reply, at most {@code timeoutNanos}. */
    <T> T call(String what, long timeoutNanos, Function<RedisClusterAsyncCommands<String, String>, RedisFuture<T>> command) {
        if (!connection.isOpen()) {
            // Known not to have run: nothing to compensate.
            throw new DependencyUnavailableException("redis", what + ": not connected to " + where + " (reconnecting)");
        }
        RedisFuture<T> future;
        try {
            future = send(command);
        } catch (RuntimeException e) {
            throw failure(what, e, false);
        }
        return await(what, future, timeoutNanos);
    }

    /** Sends one command; the caller awaits the future (or drops it). */
    <T> RedisFuture<T> send(Function<RedisClusterAsyncCommands<String, String>, RedisFuture<T>> command) {
        calls.increment();
        DependencyTime time = DependencyTime.current();
        if (time == null) {
            return command.apply(commands);
        }
        // Redis's own time, for the breaker around this call: from sending to the reply, timed on
        // Lettuce's I/O thread, so that a virtual thread waiting for a carrier on a saturated
        // machine does not make a healthy Redis look slow. Registered before anyone waits on the
        // future, so it runs right after the waiter is woken, long before that waiter runs again
        // when the machine is busy; when idle the breaker falls back to a wall time that is as short.
        long sent = System.nanoTime();
        RedisFuture<T> future = command.apply(commands);
        future.whenComplete((reply, failure) -> time.add(System.nanoTime() - sent));
        return future;
    }

    /**
     * Sends one command per item (the epoch markers, one per hash slot on a cluster), keeping at
     * most {@value #BULK_WINDOW} unanswered, and returns the replies in item order. For start-up and
     * rebuilds, never for a request: each window may take {@value #BULK_TIMEOUT_FACTOR} times
     * {@code maxCommandTimeout}.
     */
    <I, T> List<T> bulk(String what, List<I> items,
                        Function<I, Function<RedisClusterAsyncCommands<String, String>, RedisFuture<T>>> command) {
        List<T> replies = new ArrayList<>(items.size());
        for (int from = 0; from < items.size(); from += BULK_WINDOW) {
            List<RedisFuture<T>> window = new ArrayList<>(BULK_WINDOW);
            for (I item : items.subList(from, Math.min(items.size(), from + BULK_WINDOW))) {
                window.add(send(command.apply(item)));
            }
            long deadline = System.nanoTime() + maxTimeoutNanos * BULK_TIMEOUT_FACTOR;
            for (RedisFuture<T> future : window) {
                replies.add(await(what, future, Math.max(1, deadline - System.nanoTime())));
            }
        }
        return replies;
    }

    <T> T await(String what, RedisFuture<T> future, long timeoutNanos) {
        try {
            return Deadlines.get(future, timeoutNanos); // future.get(timeout) with no timed park per command
        } catch (TimeoutException e) {
            future.cancel(false);
            throw new DependencyUnavailableException("redis", what + " got no reply from " + where + " within "
                    + TimeUnit.NANOSECONDS.toMillis(timeoutNanos) + " ms", e, true);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause() == null ? e : e.getCause();
            throw failure(what, cause, !(cause instanceof RedisCommandExecutionException));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            future.cancel(false);
            throw new DependencyUnavailableException("redis", what + " was interrupted waiting for " + where, e, true);
        }
    }

    private DependencyUnavailableException failure(String what, Throwable cause, boolean outcomeUnknown) {
        return new DependencyUnavailableException("redis", what + " failed on " + where + ": " + cause.getMessage(),
                cause, outcomeUnknown);
    }

    /** The server's version from {@code INFO server} (of the node that answered, in a cluster). */
    String serverVersion(Duration timeout) {
        String info = call("INFO server", timeout.toNanos(), c -> c.info("server"));
        return info.lines().filter(l -> l.startsWith("redis_version:")).findFirst()
                .map(l -> l.substring("redis_version:".length()).strip()).orElse("(version not reported)");
    }

    boolean ping(Duration timeout) {
        try {
            return "PONG".equals(call("PING", timeout.toNanos(), RedisClusterAsyncCommands::ping));
        } catch (DependencyUnavailableException e) {
            return false;
        }
    }

    @Override
    public void close() {
        connection.close();
        client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
        resources.shutdown(0, 2, TimeUnit.SECONDS);
    }

    /** The URL without its password, for messages. */
    static String redact(String url) {
        return url.replaceAll("//([^:/@]*):[^@/]*@", "//$1:***@");
    }
}
