package io.floodgate.redis;

import io.floodgate.core.domain.ItemSpec;
import io.floodgate.redis.Replies.Item;
import io.floodgate.redis.Replies.NoEpoch;
import io.floodgate.redis.Replies.OutboxRecord;
import io.floodgate.redis.Replies.RateReply;
import io.floodgate.redis.Replies.ReserveReply;
import io.floodgate.redis.Replies.SoldOutReply;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Reading the scripts' Lua tables, as Lettuce hands them over (integers as Long, strings as String). */
class RepliesTest {

    @Test
    void reserveAnswersCarryTheirValues() {
        assertThat(Replies.reserve("S", List.of("LIMIT", 2L, 3L))).isEqualTo(new ReserveReply.Limit(2, 3));
        assertThat(Replies.reserve("S", List.of("SOLD_OUT", 0L))).isEqualTo(new ReserveReply.SoldOut(0));
        assertThat(Replies.reserve("S", List.of("PENDING", "o-1"))).isEqualTo(new ReserveReply.Pending("o-1"));
        assertThat(Replies.reserve("S", List.of("NO_EPOCH"))).isEqualTo(new NoEpoch());
    }

    @Test
    void anAnswerTheScriptCannotGiveFailsNamingScriptItemAndReply() {
        assertThatThrownBy(() -> Replies.reserve("S", List.of("GRANTED", 1L)))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("reserve.lua")
                .hasMessageContaining("item S")
                .hasMessageContaining("[GRANTED, 1]");
        assertThatThrownBy(() -> Replies.markEpoch("fg:epoch", List.of()))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("mark_epoch.lua for epoch marker fg:epoch");
        assertThatThrownBy(() -> Replies.rate("fg:{rate.orders}", List.of("RATE")))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("rate.lua for rate bucket fg:{rate.orders}");
    }

    @Test
    void anItemReadsHashStringsAndAnEmptyBoundAsNoBound() {
        Item item = (Item) Replies.view("S", List.of("ITEM", "Shoe", "10", "4", "2", "1000", ""));
        assertThat(item.spec()).isEqualTo(new ItemSpec("S", "Shoe", 10, 2, Instant.ofEpochMilli(1000), null));
        assertThat(item.available()).isEqualTo(4);
    }

    @Test
    void aSoldOutSnapshotKeepsKeysHoldersAndAnOpenWindow() {
        SoldOutReply reply = Replies.soldOut("S", List.of("SOLD_OUT", "2", "", "5000", List.of("k1"), List.of("u1", "u2")));
        assertThat(reply).isEqualTo(new SoldOutReply.SoldOut(
                new SoldOutMarks.Snapshot(Set.of("k1"), Set.of("u1", "u2"), 2, Long.MIN_VALUE, 5000)));
    }

    @Test
    void theRateBucketGrantsOrSaysHowLongToWait() {
        assertThat(Replies.rate("b", List.of(3L, 0L))).isEqualTo(new RateReply.Granted(3));
        assertThat(Replies.rate("b", List.of(0L, 1500L))).isEqualTo(new RateReply.Wait(1500));
    }

    @Test
    void anOutboxRecordSplitsAtTheFirstThreeBarsOnly() {
        assertThat(Replies.outboxRecord("P|o-1|2|user|with|bars"))
                .isEqualTo(new OutboxRecord("P", "o-1", 2, "user|with|bars"));
        assertThat(Replies.outboxRecord("P|o-1|2|u").pending()).isTrue();
        assertThat(Replies.outboxRecord("C|o-1|2|u").pending()).isFalse();
        assertThat(Replies.outboxRecord("garbage")).isNull();
    }
}
