package io.floodgate.redis;

import io.floodgate.core.Deadline;
import io.floodgate.core.DependencyUnavailableException;
import io.floodgate.core.RejectedException;
import io.floodgate.core.Rejection;
import io.floodgate.core.domain.ItemSpec;
import io.floodgate.core.domain.ItemView;
import io.floodgate.core.domain.SaleState;
import io.floodgate.core.port.StockLedger.Definition;
import io.floodgate.redis.Replies.AdjustReply;
import io.floodgate.redis.Replies.BeginReply;
import io.floodgate.redis.Replies.CommitReply;
import io.floodgate.redis.Replies.Fenced;
import io.floodgate.redis.Replies.Item;
import io.floodgate.redis.Replies.Locked;
import io.floodgate.redis.Replies.NoEpoch;
import io.floodgate.redis.Replies.Rebuilding;
import io.floodgate.redis.Replies.UnknownItem;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;

/**
 * Defining items and changing their stock in Redis, for {@link RedisStockLedger}.
 *
 * <p>A definition fences its item: {@code begin.lua} sets the fence key with a lease (so a definer
 * that dies does not fence the item for ever), reservations and stock changes wait while it is
 * up, and {@code commit.lua} installs the spec with {@code available = stock} and lifts it. An
 * item that has ever had an order, or has one in flight, is refused with {@code ITEM_LOCKED}: its
 * units are owed to orders, and a new spec would lose count of them.
 *
 * <p>A stock change ({@code adjust.lua}) moves stock and available together; a decrease takes
 * available units only, so it never takes back a unit already reserved or sold. Any change that
 * may make units available again drops this instance's sold-out marker for the item.
 */
final class ItemDefinitions {

    private static final Logger LOG = LoggerFactory.getLogger(ItemDefinitions.class);

    private final Redis redis;
    private final KeySpace keys;
    private final Clock clock;
    private final Duration lease;
    private final SoldOutMarks soldOut;
    private final LedgerRebuild rebuild;

    ItemDefinitions(Redis redis, KeySpace keys, Clock clock, Duration lease, SoldOutMarks soldOut,
                    LedgerRebuild rebuild) {
        this.redis = redis;
        this.keys = keys;
        this.clock = clock;
        this.lease = lease;
        this.soldOut = soldOut;
        this.rebuild = rebuild;
    }

    /** See {@link io.floodgate.core.port.StockLedger#beginDefinition}. */
    Definition begin(String sku) {
        String token = UUID.randomUUID().toString();
        List<Object> r = redis.eval(Script.BEGIN, keys.of(sku).toArray(), redis.maxTimeoutNanos(), token,
                Long.toString(lease.toMillis()));
        return switch (Replies.begin(sku, r)) {
            case BeginReply.Begun(boolean creates) -> new RedisDefinition(sku, token, creates);
            case Locked(String why) -> throw locked(sku, why);
            case NoEpoch _ -> throw rebuild.noEpoch(sku);
            case Rebuilding _ -> throw rebuild.rebuilding(sku);
        };
    }

    private static RejectedException locked(String sku, String why) {
        return new RejectedException(Rejection.ITEM_LOCKED, "item " + sku + " " + why
                + (why.startsWith("is being defined") ? "; try again when it is done" : " and can no longer be replaced"));
    }

    /** A definition whose fence is up, holding the token that owns it. */
    private final class RedisDefinition implements Definition {
        private final String sku;
        private final String token;
        private final boolean creates;

        RedisDefinition(String sku, String token, boolean creates) {
            this.sku = sku;
            this.token = token;
            this.creates = creates;
        }

        @Override
        public boolean creates() {
            return creates;
        }

        @Override
        public ItemView commit(ItemSpec spec) {
            if (!spec.sku().equals(sku)) {
                throw new IllegalArgumentException("definition of " + sku + " committed with the spec of " + spec.sku());
            }
            List<Object> r;
            try {
                // Listed first: the index may name an item that is not there (views skip it), never the reverse.
                redis.call("SADD " + keys.index(), redis.maxTimeoutNanos(), c -> c.sadd(keys.index(), sku));
                r = redis.eval(Script.COMMIT, keys.of(sku).toArray(), redis.maxTimeoutNanos(), token, spec.name(),
                        Long.toString(spec.stock()), Integer.toString(spec.perUserLimit()),
                        Script.millisOrEmpty(spec.startsAt()), Script.millisOrEmpty(spec.endsAt()), Script.terms(spec));
            } catch (DependencyUnavailableException e) {
                // Lift our fence if it is still up (the token makes this a no-op after a commit that did
                // run), so that the administrator can retry now rather than after the lease.
                abort();
                throw e;
            }
            return switch (Replies.commit(sku, r)) {
                case CommitReply.Committed _ -> {
                    soldOut.stockReturned(sku);
                    yield new ItemView(spec, spec.stock(), SaleState.of(spec, spec.stock(), clock.instant()));
                }
                case Locked(String why) -> throw locked(sku, why);
                case NoEpoch _ -> throw rebuild.noEpoch(sku);
            };
        }

        @Override
        public void abort() {
            try {
                redis.eval(Script.ABORT, keys.of(sku).toArray(), redis.maxTimeoutNanos(), token);
            } catch (DependencyUnavailableException e) {
                LOG.warn("abort of the definition of {} failed; its fence lapses in {}: {}", sku, lease, e.getMessage());
            }
        }
    }

    /** See {@link io.floodgate.core.port.StockLedger#adjustStock}; waits out a definition in progress. */
    ItemView adjustStock(String sku, long delta) {
        Deadline fenceWait = new Deadline(System.nanoTime() + redis.maxTimeoutNanos());
        int polls = 0;
        while (true) {
            List<Object> r = redis.eval(Script.ADJUST, keys.of(sku).toArray(), redis.maxTimeoutNanos(),
                    Long.toString(delta));
            switch (Replies.adjust(sku, r)) {
                case Item item -> {
                    if (delta > 0) {
                        soldOut.stockReturned(sku);
                    }
                    return item.view(Instant.ofEpochMilli(clock.millis()));
                }
                case AdjustReply.NotEnough(long available) -> throw new RejectedException(Rejection.SOLD_OUT, "item " + sku
                        + " has " + available + " units available, fewer than the " + -delta + " to remove");
                case UnknownItem _ -> throw new RejectedException(Rejection.UNKNOWN_ITEM, "there is no item " + sku);
                case Fenced _ -> {
                    if (!RedisStockLedger.pause(fenceWait, RedisStockLedger.POLL.delayNanos(polls++))) {
                        throw new DependencyUnavailableException("redis", "item " + sku + " is being defined; its stock"
                                + " cannot change until that is done");
                    }
                }
                case NoEpoch _ -> throw rebuild.noEpoch(sku);
                case Rebuilding _ -> throw rebuild.rebuilding(sku);
            }
        }
    }
}
