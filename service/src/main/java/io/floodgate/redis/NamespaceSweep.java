package io.floodgate.redis;

import io.floodgate.core.DependencyUnavailableException;
import io.lettuce.core.KeyScanCursor;
import io.lettuce.core.ScanArgs;
import io.lettuce.core.ScanCursor;

import java.time.Duration;

/**
 * Deletes every key of one namespace: {@code SCAN MATCH ns:*} in pages of {@value #PAGE}, each page
 * {@code UNLINK}ed (freed off the server's main thread) before the next is asked for, so neither
 * side holds more than a page. On Redis Cluster the connection's SCAN walks every master in turn
 * and UNLINK is split by slot. Bounded by a deadline: what is left when it passes stays, and the
 * answer says so.
 *
 * <p>Only for a namespace nobody else uses (the warm-up's scratch one): a ledger writing into the
 * namespace meanwhile could add keys behind the cursor. The pattern needs no escaping: a namespace
 * is made of {@code [A-Za-z0-9._:-]} ({@link RedisLedgers.Settings.Builder#namespace}), none of them
 * special to SCAN's glob.
 */
final class NamespaceSweep {

    private static final int PAGE = 500;

    private NamespaceSweep() {
    }

    static RedisLedgers.Swept sweep(RedisLedgers.Settings settings, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        long deleted = 0;
        try (Redis redis = Redis.connectOnly(settings)) {
            ScanArgs match = ScanArgs.Builder.matches(new KeySpace(settings.namespace(), false).pattern()).limit(PAGE);
            ScanCursor cursor = ScanCursor.INITIAL;
            do {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return new RedisLedgers.Swept(deleted, false);
                }
                ScanCursor from = cursor;
                KeyScanCursor<String> page = redis.call("SCAN", Math.min(left, redis.maxTimeoutNanos()),
                        c -> c.scan(from, match));
                if (!page.getKeys().isEmpty()) {
                    String[] keys = page.getKeys().toArray(String[]::new);
                    Long unlinked = redis.call("UNLINK", Math.max(1, Math.min(deadline - System.nanoTime(),
                            redis.maxTimeoutNanos())), c -> c.unlink(keys));
                    deleted += unlinked == null ? 0 : unlinked;
                }
                cursor = page;
            } while (!cursor.isFinished());
            return new RedisLedgers.Swept(deleted, true);
        } catch (DependencyUnavailableException e) {
            throw new DependencyUnavailableException("redis", "deleting the keys of namespace " + settings.namespace()
                    + " stopped after " + deleted + ": " + e.getMessage(), e);
        }
    }
}
