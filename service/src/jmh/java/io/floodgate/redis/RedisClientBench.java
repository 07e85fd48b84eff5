package io.floodgate.redis;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import org.apache.commons.pool2.impl.GenericObjectPoolConfig;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;

/**
 * Which Redis client serves the reserve script best from many virtual threads: EVALSHA of the
 * ledger's own {@code reserve.lua} (fresh key and user each call, on one item with stock that never
 * runs out), from {@code threads} virtual threads for {@code seconds}, after a warm-up.
 *
 * <ul>
 *   <li>{@code lettuce}: Lettuce 7 sync API over one shared, multiplexed connection;</li>
 *   <li>{@code lettuce-ledger}: the same through {@code RedisStockLedger.reserve} (what the
 *   service runs: per-call deadline, outcome mapping, sold-out marker check);</li>
 *   <li>{@code jedis-N}: Jedis 8 {@code RedisClient} with a pool of N connections.</li>
 * </ul>
 * Run: {@code scripts/redis-bench.sh} (prints the redis-benchmark line for the same script too).
 * Arguments: {@code url mode threads seconds}, e.g. {@code redis://127.0.0.1:6379/9 lettuce 256 10}.
 */
public final class RedisClientBench {

    private RedisClientBench() {
    }

    public static void main(String[] args) throws Exception {
        String url = args[0];
        String mode = args[1];
        int threads = Integer.parseInt(args[2]);
        int seconds = Integer.parseInt(args[3]);
        String ns = "bench" + Long.toString(System.nanoTime(), 36);
        String sku = "BENCH";
        String[] keys = {ns + ":{" + sku + "}:item", ns + ":{" + sku + "}:keys", ns + ":{" + sku + "}:held",
                ns + ":{" + sku + "}:pending", ns + ":{" + sku + "}:fence", ns + ":epoch"};
        String script = resource("reserve.lua");

        Supplier<Runnable> caller;
        AutoCloseable closer;
        RedisClient lettuce = RedisClient.create(RedisURI.create(url));
        StatefulRedisConnection<String, String> setup = lettuce.connect();
        RedisCommands<String, String> admin = setup.sync();
        admin.hset(keys[0], java.util.Map.of("name", "bench", "stock", "1000000000000", "avail", "1000000000000",
                "limit", "1000000"));
        // the epoch marker as mark_epoch.lua writes it: this server's run id first, or every reserve answers NO_EPOCH
        String runId = admin.info("server").lines().filter(l -> l.startsWith("run_id:")).findFirst()
                .orElseThrow().substring("run_id:".length()).strip();
        admin.set(keys[5], runId + " bench");
        String sha = admin.scriptLoad(script);
        LongAdder other = new LongAdder();
        switch (mode) {
            case "lettuce" -> {
                RedisCommands<String, String> sync = setup.sync();
                caller = () -> () -> {
                    List<Object> r = sync.evalsha(sha, ScriptOutputType.MULTI, keys, args(sku));
                    count(r, other);
                };
                closer = () -> { };
            }
            case "lettuce-ledger" -> {
                RedisLedger ledger = RedisLedgers.connect(RedisLedgers.settings(url)
                        .namespace(ns).build(), java.time.Clock.systemUTC(), null);
                ledger.beginDefinition(sku + "L").commit(new io.floodgate.core.domain.ItemSpec(sku + "L", "bench",
                        io.floodgate.core.domain.ItemSpec.MAX_STOCK, 1_000_000, null, null));
                io.floodgate.core.Deadline far = io.floodgate.core.Deadline.after(Duration.ofHours(1));
                caller = () -> () -> {
                    ThreadLocalRandom rnd = ThreadLocalRandom.current();
                    String id = Long.toString(rnd.nextLong() & Long.MAX_VALUE, 36);
                    var outcome = ledger.reserve(new io.floodgate.core.domain.Order(id, sku + "L", "u" + id, 1,
                            io.floodgate.core.domain.OrderStatus.CONFIRMED, java.time.Instant.EPOCH, "r", "k" + id), far);
                    if (outcome != io.floodgate.core.port.StockLedger.ReserveOutcome.RESERVED) {
                        other.increment();
                    }
                };
                closer = ledger;
            }
            default -> {
                if (!mode.startsWith("jedis-")) {
                    throw new IllegalArgumentException("mode must be lettuce, lettuce-ledger or jedis-N, was " + mode);
                }
                int poolSize = Integer.parseInt(mode.substring("jedis-".length()));
                GenericObjectPoolConfig<redis.clients.jedis.Connection> pool = new GenericObjectPoolConfig<>();
                pool.setMaxTotal(poolSize);
                pool.setMaxIdle(poolSize);
                pool.setMinIdle(poolSize);
                pool.setJmxEnabled(false);
                redis.clients.jedis.RedisClient jedis = redis.clients.jedis.RedisClient.builder()
                        .fromURI(url).poolConfig(pool).build();
                List<String> keyList = List.of(keys);
                caller = () -> () -> {
                    Object r = jedis.evalsha(sha, keyList, List.of(args(sku)));
                    @SuppressWarnings("unchecked")
                    List<Object> list = (List<Object>) r;
                    count(list, other);
                };
                closer = jedis;
            }
        }

        LongAdder done = new LongAdder();
        AtomicBoolean stop = new AtomicBoolean();
        AtomicBoolean measuring = new AtomicBoolean();
        List<Throwable> errors = java.util.Collections.synchronizedList(new ArrayList<>());
        long start;
        long end;
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int t = 0; t < threads; t++) {
                Runnable call = caller.get();
                pool.submit(() -> {
                    while (!stop.get()) {
                        try {
                            call.run();
                            if (measuring.get()) {
                                done.increment();
                            }
                        } catch (RuntimeException e) {
                            errors.add(e);
                            return;
                        }
                    }
                });
            }
            Thread.sleep(3_000); // warm-up: JIT, connections, pool
            measuring.set(true);
            start = System.nanoTime();
            Thread.sleep(seconds * 1_000L);
            measuring.set(false);
            end = System.nanoTime();
            stop.set(true);
        }
        double perSecond = done.sum() / ((end - start) / 1e9);
        System.out.printf(Locale.ROOT, "mode=%s threads=%d seconds=%d reserves=%d per_second=%.0f not_reserved=%d errors=%d%s%n",
                mode, threads, seconds, done.sum(), perSecond, other.sum(), errors.size(),
                errors.isEmpty() ? "" : " first_error=" + errors.getFirst());
        closer.close();
        io.lettuce.core.ScanCursor cursor = io.lettuce.core.ScanCursor.INITIAL;
        do { // every key this run wrote, raw and through the ledger, and nothing else
            io.lettuce.core.KeyScanCursor<String> page = admin.scan(cursor,
                    io.lettuce.core.ScanArgs.Builder.matches(ns + ":*").limit(1000));
            if (!page.getKeys().isEmpty()) {
                admin.unlink(page.getKeys().toArray(String[]::new));
            }
            cursor = page;
        } while (!cursor.isFinished());
        setup.close();
        lettuce.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }

    private static String[] args(String sku) {
        ThreadLocalRandom rnd = ThreadLocalRandom.current();
        String id = Long.toString(rnd.nextLong() & Long.MAX_VALUE, 36);
        return new String[]{"k" + id, "o" + id, "u" + id, "1", "0"};
    }

    private static void count(List<Object> reply, LongAdder other) {
        if (!"RESERVED".equals(reply.getFirst())) {
            other.increment();
        }
    }

    private static String resource(String name) throws IOException {
        try (InputStream in = RedisClientBench.class.getResourceAsStream("/io/floodgate/redis/" + name)) {
            if (in == null) {
                throw new IOException("script " + name + " is not on the class path");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
