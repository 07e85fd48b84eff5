package io.floodgate.redis;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.HexFormat;

/**
 * The Lua scripts of the ledger and of the lock ({@code lock_*}), one per operation, kept as resources beside this class
 * ({@code io/floodgate/redis/*.lua}, each with a comment saying what it keeps). Each is loaded
 * once with SCRIPT LOAD and then called by its SHA-1 with EVALSHA; a server that answers NOSCRIPT
 * (restarted, failed over, flushed its script cache) gets the body with EVAL, which caches it again.
 *
 * <p>Every item script takes the same six keys of one item ({@link ItemKeys#toArray}), all in the
 * item's hash slot, so each runs unchanged on Redis Cluster; {@code mark_epoch} takes a marker and
 * its sentinel, also in one slot; the lock scripts take a lock's keys, which share the hash tag
 * {@code {lock:<name>}} ({@link RedisLock}); {@code rate} takes one key, the cluster-wide rate bucket.
 * {@link Replies} reads what each answers.
 */
enum Script {
    RESERVE("reserve"),
    CONFIRM("confirm"),
    RELEASE("release"),
    CANCEL("cancel"),
    BEGIN("begin"),
    COMMIT("commit"),
    ABORT("abort"),
    ADJUST("adjust"),
    VIEW("view"),
    SOLD_OUT("soldout"),
    RESTORE_ITEM("restore_item"),
    RESTORE_ORDERS("restore_orders"),
    RESTORE_FINISH("restore_finish"),
    SENTINEL("sentinel"),
    MARK_EPOCH("mark_epoch"),
    EPOCH_CHECK("epoch_check"),
    LOCK_ACQUIRE("lock_acquire"),
    LOCK_RENEW("lock_renew"),
    LOCK_RELEASE("lock_release"),
    RATE("rate");

    private final String file;
    private final String text;
    private final String sha;

    Script(String name) {
        this.file = name + ".lua";
        this.text = load(file);
        this.sha = sha1(text);
    }

    String file() {
        return file;
    }

    String text() {
        return text;
    }

    String sha() {
        return sha;
    }

    /**
     * An item's payment terms as the scripts keep them, in the item hash's {@code terms} field, opaque
     * to Lua but for its first part: {@code <window ms>|<price minor units>|<currency>}, each part
     * empty when absent; the whole empty when the item has neither.
     */
    static String terms(io.floodgate.core.domain.ItemSpec spec) {
        if (spec.paymentWindow() == null && spec.price() == null) {
            return "";
        }
        return (spec.paymentWindow() == null ? "" : Long.toString(spec.paymentWindow().toMillis())) + "|"
                + (spec.price() == null ? "|" : spec.price().amountMinor() + "|" + spec.price().currency());
    }

    /** An optional instant as the scripts take it: epoch milliseconds, or empty for none. */
    static String millisOrEmpty(Instant instant) {
        return instant == null ? "" : Long.toString(instant.toEpochMilli());
    }

    private static String load(String file) {
        try (InputStream in = Script.class.getResourceAsStream(file)) {
            if (in == null) {
                throw new IllegalStateException("Lua script " + file + " is missing from the class path (expected beside "
                        + Script.class.getName() + ")");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read Lua script " + file, e);
        }
    }

    private static String sha1(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1").digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-1", e);
        }
    }
}
