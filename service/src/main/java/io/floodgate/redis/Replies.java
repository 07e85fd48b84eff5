package io.floodgate.redis;

import io.floodgate.core.domain.ItemSpec;
import io.floodgate.core.domain.ItemView;
import io.floodgate.core.domain.SaleState;

import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * What the ledger's and the rate bucket's scripts answer, as types, and the outbox records they
 * write ({@link OutboxRecord}). A script replies with a Lua
 * table, a status and then values by position ({@code {'LIMIT', held, limit}}); each static method
 * here reads one script's table, and is the only code that knows those positions. Callers switch
 * over the sealed type, so the compiler checks that every answer is handled.
 *
 * <p>A reply that a script's interface does not list fails with {@link IllegalStateException}
 * naming the script, the item and the reply: a script newer than this code (or a bug) must stop
 * the call, not be taken for another answer.
 *
 * <p>Answers several scripts give alike, such as {@code NO_EPOCH} from the epoch check every item
 * script starts with, are one record that implements each of those scripts' interfaces. The lock
 * scripts answer {@code 1} or {@code 0}, which {@link RedisLock} reads itself; {@code abort.lua}
 * always answers {@code ABORTED}, so its reply is not read.
 */
final class Replies {

    private Replies() {
    }

    // ---------------------------------------------------------------- answers shared by scripts

    /** The epoch marker of the item's slot is missing: Redis lost its data ({@link LedgerRebuild}). */
    record NoEpoch() implements ReserveReply, ConfirmReply, ReleaseReply, CancelReply, BeginReply, CommitReply,
            AdjustReply, ViewReply, SoldOutReply, RestoreOrdersReply {
    }

    /** The item is being put back from the order store. */
    record Rebuilding() implements ReserveReply, BeginReply, AdjustReply, ViewReply {
    }

    record UnknownItem() implements ReserveReply, AdjustReply, ViewReply, RestoreOrdersReply {
    }

    /** A definition of the item is in progress; the caller waits for it. */
    record Fenced() implements ReserveReply, AdjustReply {
    }

    /** The idempotency key has no reservation (released, never made, or lost with Redis). */
    record UnknownKey() implements ConfirmReply, ReleaseReply, CancelReply {
    }

    /** The idempotency key now holds another order than the caller's. */
    record NotOwner(String orderId) implements ConfirmReply, ReleaseReply, CancelReply {
    }

    /** The item cannot be defined: {@code why} completes "item sku ...". */
    record Locked(String why) implements BeginReply, CommitReply {
    }

    /** The item as Redis holds it (after the change, for {@code adjust}). */
    record Item(ItemSpec spec, long available) implements ViewReply, AdjustReply {
        ItemView view(Instant now) {
            return new ItemView(spec, available, SaleState.of(spec, available, now));
        }
    }

    // ---------------------------------------------------------------- one interface per script

    sealed interface ReserveReply {
        /** @param paymentWindow the item's, read by the same script (null: none) */
        record Reserved(java.time.Duration paymentWindow) implements ReserveReply {
        }

        record Replayed(String orderId) implements ReserveReply {
        }

        record KeyReused(String orderId) implements ReserveReply {
        }

        /** The key's first request holds a reservation it has not confirmed or released yet. */
        record Pending(String orderId) implements ReserveReply {
        }

        record NotOnSale() implements ReserveReply {
        }

        record Limit(long held, int limit) implements ReserveReply {
        }

        /** Fewer units available than asked for (not necessarily none). */
        record SoldOut(long available) implements ReserveReply {
        }
    }

    sealed interface ConfirmReply {
        record Confirmed() implements ConfirmReply {
        }

        /** Not pending any more: {@code state} is {@code C} (confirmed) or {@code X} (cancelled). */
        record Already(String state) implements ConfirmReply {
        }
    }

    sealed interface ReleaseReply {
        record Released() implements ReleaseReply {
        }

        /** Confirmed or cancelled: a durable order's units are not released. */
        record NotPending(String state) implements ReleaseReply {
        }
    }

    sealed interface CancelReply {
        record Cancelled() implements CancelReply {
        }

        record AlreadyCancelled() implements CancelReply {
        }
    }

    sealed interface BeginReply {
        /** The fence is up; {@code creates} when the item did not exist. */
        record Begun(boolean creates) implements BeginReply {
        }
    }

    sealed interface CommitReply {
        record Committed() implements CommitReply {
        }
    }

    sealed interface AdjustReply {
        /** Fewer units available than the decrease would take. */
        record NotEnough(long available) implements AdjustReply {
        }
    }

    sealed interface ViewReply {
    }

    sealed interface SoldOutReply {
        record SoldOut(SoldOutMarks.Snapshot snapshot) implements SoldOutReply {
        }

        /** Units are available, or the item is missing, fenced or being rebuilt: no marker. */
        record NotSoldOut() implements SoldOutReply {
        }

        /** More keys and holders than a marker may hold. */
        record TooBig() implements SoldOutReply {
        }
    }

    sealed interface RestoreItemReply {
        /**
         * The item is being restored (Redis lost it: made from the store's definition) or repaired
         * (Redis has it: its state stays, the store's orders are checked against it); its orders
         * follow.
         */
        record Restoring(boolean repair) implements RestoreItemReply {
        }
    }

    sealed interface RestoreOrdersReply {
        /**
         * {@code added} orders were new to Redis, {@code repaired} keys moved to the store's state
         * (pending to confirmed, live to cancelled), {@code conflicts} keys disagreed in a way the
         * ledger leaves alone (another order on the key, or cancelled here and live in the store).
         */
        record Added(long added, long repaired, long conflicts) implements RestoreOrdersReply {
        }

        /** A repair under a fencing token older than {@code newest}, which already repaired the item. */
        record Stale(long newest) implements RestoreOrdersReply {
        }
    }

    sealed interface RestoreFinishReply {
        /** The item takes orders again; a negative {@code available} means its orders exceed its stock. */
        record Ready(long available) implements RestoreFinishReply {
        }

        record Gone() implements RestoreFinishReply {
        }
    }

    sealed interface EpochCheckReply {
        /** The marker is there and was written on this server. */
        record Whole() implements EpochCheckReply {
        }

        record Missing() implements EpochCheckReply {
        }

        /** The marker named another server ({@code runId}): copied in a full resync; now deleted. */
        record Foreign(String runId) implements EpochCheckReply {
        }
    }

    sealed interface MarkEpochReply {
        record Marked() implements MarkEpochReply {
        }

        /** The rebuild's sentinel is gone: Redis lost data again during the rebuild. */
        record Lost() implements MarkEpochReply {
        }
    }

    /** {@code rate.lua} answers {@code {granted, 0}} or {@code {0, wait}}. */
    sealed interface RateReply {
        record Granted(int tokens) implements RateReply {
        }

        /** None taken: as many as asked for are there in {@code micros}. */
        record Wait(long micros) implements RateReply {
        }
    }

    /**
     * A value of the item's keys hash, the outbox ({@link KeySpace}): {@code state|orderId|quantity|userId}.
     *
     * @param state {@code P} pending, {@code C} confirmed, {@code X} cancelled
     */
    record OutboxRecord(String state, String orderId, int quantity, String userId) {
        boolean pending() {
            return state.equals("P");
        }
    }

    // ---------------------------------------------------------------- parsers, one per script

    static ReserveReply reserve(String sku, List<Object> reply) {
        return switch (status(reply)) {
            case "RESERVED" -> new ReserveReply.Reserved(reply.size() > 1 ? window(string(reply, 1)) : null);
            case "REPLAYED" -> new ReserveReply.Replayed(string(reply, 1));
            case "KEY_REUSED" -> new ReserveReply.KeyReused(string(reply, 1));
            case "PENDING" -> new ReserveReply.Pending(string(reply, 1));
            case "FENCED" -> new Fenced();
            case "UNKNOWN_ITEM" -> new UnknownItem();
            case "NOT_ON_SALE" -> new ReserveReply.NotOnSale();
            case "LIMIT" -> new ReserveReply.Limit(number(reply, 1), (int) number(reply, 2));
            case "SOLD_OUT" -> new ReserveReply.SoldOut(number(reply, 1));
            case "NO_EPOCH" -> new NoEpoch();
            case "REBUILDING" -> new Rebuilding();
            default -> throw unexpected(Script.RESERVE, sku, reply);
        };
    }

    static ConfirmReply confirm(String sku, List<Object> reply) {
        return switch (status(reply)) {
            case "CONFIRMED" -> new ConfirmReply.Confirmed();
            case "ALREADY" -> new ConfirmReply.Already(string(reply, 1));
            case "UNKNOWN" -> new UnknownKey();
            case "NOT_OWNER" -> new NotOwner(string(reply, 1));
            case "NO_EPOCH" -> new NoEpoch();
            default -> throw unexpected(Script.CONFIRM, sku, reply);
        };
    }

    static ReleaseReply release(String sku, List<Object> reply) {
        return switch (status(reply)) {
            case "RELEASED" -> new ReleaseReply.Released();
            case "NOT_PENDING" -> new ReleaseReply.NotPending(string(reply, 1));
            case "UNKNOWN" -> new UnknownKey();
            case "NOT_OWNER" -> new NotOwner(string(reply, 1));
            case "NO_EPOCH" -> new NoEpoch();
            default -> throw unexpected(Script.RELEASE, sku, reply);
        };
    }

    static CancelReply cancel(String sku, List<Object> reply) {
        return switch (status(reply)) {
            case "CANCELLED" -> new CancelReply.Cancelled();
            case "ALREADY" -> new CancelReply.AlreadyCancelled();
            case "UNKNOWN" -> new UnknownKey();
            case "NOT_OWNER" -> new NotOwner(string(reply, 1));
            case "NO_EPOCH" -> new NoEpoch();
            default -> throw unexpected(Script.CANCEL, sku, reply);
        };
    }

    static BeginReply begin(String sku, List<Object> reply) {
        return switch (status(reply)) {
            case "BEGUN" -> new BeginReply.Begun(number(reply, 1) == 1);
            case "LOCKED" -> new Locked(string(reply, 1));
            case "NO_EPOCH" -> new NoEpoch();
            case "REBUILDING" -> new Rebuilding();
            default -> throw unexpected(Script.BEGIN, sku, reply);
        };
    }

    static CommitReply commit(String sku, List<Object> reply) {
        return switch (status(reply)) {
            case "COMMITTED" -> new CommitReply.Committed();
            case "LOCKED" -> new Locked(string(reply, 1));
            case "NO_EPOCH" -> new NoEpoch();
            default -> throw unexpected(Script.COMMIT, sku, reply);
        };
    }

    static AdjustReply adjust(String sku, List<Object> reply) {
        return switch (status(reply)) {
            case "ITEM" -> item(sku, reply);
            case "SOLD_OUT" -> new AdjustReply.NotEnough(number(reply, 1));
            case "UNKNOWN_ITEM" -> new UnknownItem();
            case "FENCED" -> new Fenced();
            case "NO_EPOCH" -> new NoEpoch();
            case "REBUILDING" -> new Rebuilding();
            default -> throw unexpected(Script.ADJUST, sku, reply);
        };
    }

    static ViewReply view(String sku, List<Object> reply) {
        return switch (status(reply)) {
            case "ITEM" -> item(sku, reply);
            case "UNKNOWN_ITEM" -> new UnknownItem();
            case "NO_EPOCH" -> new NoEpoch();
            case "REBUILDING" -> new Rebuilding();
            default -> throw unexpected(Script.VIEW, sku, reply);
        };
    }

    /** {@code SOLD_OUT limit starts ends keys holders}, the window's bounds in ms or empty. */
    static SoldOutReply soldOut(String sku, List<Object> reply) {
        return switch (status(reply)) {
            case "SOLD_OUT" -> {
                String starts = string(reply, 2);
                String ends = string(reply, 3);
                yield new SoldOutReply.SoldOut(new SoldOutMarks.Snapshot(strings(reply, 4), strings(reply, 5),
                        (int) number(reply, 1), starts.isEmpty() ? Long.MIN_VALUE : Long.parseLong(starts),
                        ends.isEmpty() ? Long.MAX_VALUE : Long.parseLong(ends)));
            }
            case "NOT_SOLD_OUT" -> new SoldOutReply.NotSoldOut();
            case "TOO_BIG" -> new SoldOutReply.TooBig();
            case "NO_EPOCH" -> new NoEpoch();
            default -> throw unexpected(Script.SOLD_OUT, sku, reply);
        };
    }

    static RestoreItemReply restoreItem(String sku, List<Object> reply) {
        return switch (status(reply)) {
            case "RESTORING" -> new RestoreItemReply.Restoring(number(reply, 1) == 1);
            default -> throw unexpected(Script.RESTORE_ITEM, sku, reply);
        };
    }

    static RestoreOrdersReply restoreOrders(String sku, List<Object> reply) {
        return switch (status(reply)) {
            case "ADDED" -> new RestoreOrdersReply.Added(number(reply, 1), number(reply, 2), number(reply, 3));
            case "STALE" -> new RestoreOrdersReply.Stale(number(reply, 1));
            case "NO_EPOCH" -> new NoEpoch();
            case "UNKNOWN_ITEM" -> new UnknownItem();
            default -> throw unexpected(Script.RESTORE_ORDERS, sku, reply);
        };
    }

    static RestoreFinishReply restoreFinish(String sku, List<Object> reply) {
        return switch (status(reply)) {
            case "READY" -> new RestoreFinishReply.Ready(number(reply, 1));
            case "GONE" -> new RestoreFinishReply.Gone();
            default -> throw unexpected(Script.RESTORE_FINISH, sku, reply);
        };
    }

    static EpochCheckReply epochCheck(String marker, List<Object> reply) {
        return switch (status(reply)) {
            case "OK" -> new EpochCheckReply.Whole();
            case "MISSING" -> new EpochCheckReply.Missing();
            case "FOREIGN" -> new EpochCheckReply.Foreign(string(reply, 1));
            default -> throw unknownReply(Script.EPOCH_CHECK, "epoch marker " + marker, reply);
        };
    }

    static void sentinel(String sentinel, List<Object> reply) {
        if (!"SET".equals(status(reply))) {
            throw unknownReply(Script.SENTINEL, "sentinel " + sentinel, reply);
        }
    }

    static MarkEpochReply markEpoch(String marker, List<Object> reply) {
        return switch (status(reply)) {
            case "MARKED" -> new MarkEpochReply.Marked();
            case "LOST" -> new MarkEpochReply.Lost();
            default -> throw unknownReply(Script.MARK_EPOCH, "epoch marker " + marker, reply);
        };
    }

    static RateReply rate(String bucket, List<Object> reply) {
        if (reply == null || reply.size() != 2 || !(reply.get(0) instanceof Number granted)
                || !(reply.get(1) instanceof Number wait)) {
            throw unknownReply(Script.RATE, "rate bucket " + bucket, reply);
        }
        return granted.longValue() > 0 ? new RateReply.Granted((int) granted.longValue())
                : new RateReply.Wait(wait.longValue());
    }

    /** The record as {@code HGET} or {@code HMGET} of the keys hash gives it; null when it is not one. */
    static OutboxRecord outboxRecord(String value) {
        String[] parts = value.split("\\|", 4);
        return parts.length == 4 ? new OutboxRecord(parts[0], parts[1], Integer.parseInt(parts[2]), parts[3]) : null;
    }

    // ---------------------------------------------------------------- reading a table

    /**
     * From {@code ITEM name stock avail limit starts ends terms}, the window's bounds in ms or empty,
     * the payment terms as {@link Script#terms} writes them (absent from replies of items defined
     * before payments: none).
     */
    private static Item item(String sku, List<Object> reply) {
        String terms = reply.size() > 7 ? string(reply, 7) : "";
        ItemSpec spec = new ItemSpec(sku, string(reply, 1), number(reply, 2), (int) number(reply, 4),
                instantOrNull(string(reply, 5)), instantOrNull(string(reply, 6)), window(terms), price(terms));
        return new Item(spec, number(reply, 3));
    }

    /** The payment window in {@link Script#terms}; null when none. */
    static java.time.Duration window(String terms) {
        int bar = terms.indexOf('|');
        String ms = bar < 0 ? terms : terms.substring(0, bar);
        return ms.isEmpty() ? null : java.time.Duration.ofMillis(Long.parseLong(ms));
    }

    /** The price in {@link Script#terms}; null when none. */
    static io.floodgate.core.domain.Price price(String terms) {
        String[] parts = terms.split("\\|", -1);
        return parts.length == 3 && !parts[1].isEmpty()
                ? new io.floodgate.core.domain.Price(Long.parseLong(parts[1]), parts[2]) : null;
    }

    private static Instant instantOrNull(String millis) {
        return millis.isEmpty() ? null : Instant.ofEpochMilli(Long.parseLong(millis));
    }

    private static String status(List<Object> reply) {
        return reply == null || reply.isEmpty() ? "" : String.valueOf(reply.getFirst());
    }

    private static String string(List<Object> reply, int index) {
        Object value = reply.get(index);
        return value == null ? "" : value.toString();
    }

    private static long number(List<Object> reply, int index) {
        Object value = reply.get(index);
        return value instanceof Number n ? n.longValue() : Long.parseLong(value.toString());
    }

    @SuppressWarnings("unchecked")
    private static Set<String> strings(List<Object> reply, int index) {
        List<Object> values = (List<Object>) reply.get(index);
        Set<String> set = new HashSet<>(values.size() * 2);
        values.forEach(v -> set.add(v.toString()));
        return set;
    }

    private static IllegalStateException unexpected(Script script, String sku, List<Object> reply) {
        return unknownReply(script, "item " + sku, reply);
    }

    private static IllegalStateException unknownReply(Script script, String subject, List<Object> reply) {
        return new IllegalStateException(script.file() + " for " + subject + " answered " + reply
                + ", which this version of Floodgate does not know");
    }
}
