package io.floodgate.redis;

import io.floodgate.core.port.SharedRateBucket;
import io.floodgate.redis.Replies.RateReply;

import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * The cluster-wide rate bucket in Redis, made by {@link RedisRateBuckets}: one key,
 * {@code ns:{rate.name}} (a string: the GCRA time in microseconds, apart from every item; it
 * expires once the bucket is full), and one script ({@code rate.lua}, loaded once and called by
 * SHA) that takes N tokens per call, all or none. The time is Redis's own ({@code TIME}), the one
 * clock every instance shares, unless a test gives one.
 */
final class RedisRateBucket implements SharedRateBucket {

    private final Redis redis;
    private final String[] key;
    private final String emissionMicros;
    private final String burst;
    /** Microseconds, or null for the server's TIME. */
    private final LongSupplier nowMicros;

    RedisRateBucket(Redis redis, String key, double ratePerSecond, long burst, LongSupplier nowMicros) {
        if (!(ratePerSecond > 0) || burst < 1) {
            throw new IllegalArgumentException("a rate bucket needs rate > 0 and burst >= 1, was " + ratePerSecond
                    + " per second and " + burst);
        }
        this.redis = redis;
        this.key = new String[]{key};
        this.emissionMicros = Double.toString(TimeUnit.SECONDS.toMicros(1) / ratePerSecond);
        this.burst = Long.toString(burst);
        this.nowMicros = nowMicros;
    }

    @Override
    public Grant take(int count, long timeoutNanos) {
        if (count < 1) {
            throw new IllegalArgumentException("count must be >= 1, was " + count);
        }
        List<Object> r = redis.eval(Script.RATE, key, timeoutNanos, emissionMicros, burst, Integer.toString(count),
                nowMicros == null ? "" : Long.toString(nowMicros.getAsLong()));
        return switch (Replies.rate(key[0], r)) {
            case RateReply.Granted(int tokens) -> new Grant(tokens, 0);
            case RateReply.Wait(long micros) -> new Grant(0, Math.max(1, TimeUnit.MICROSECONDS.toNanos(micros)));
        };
    }
}
