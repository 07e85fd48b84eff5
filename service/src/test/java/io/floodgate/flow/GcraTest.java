package io.floodgate.flow;

import org.junit.jupiter.api.Test;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

class GcraTest {

    private static final long SECOND = TimeUnit.SECONDS.toNanos(1);

    @Test
    void admitsTheBurstAtOnceThenOnePerEmissionInterval() {
        Gcra gcra = new Gcra(10, 20);
        long now = 1_000 * SECOND;
        AtomicLong tat = new AtomicLong(now);
        for (int i = 0; i < 20; i++) {
            assertThat(gcra.tryAcquire(tat, now)).as("request %d of the burst", i + 1).isZero();
        }
        long wait = gcra.tryAcquire(tat, now);
        assertThat(wait).isEqualTo(SECOND / 10);
        assertThat(gcra.tryAcquire(tat, now + wait)).isZero();
        assertThat(gcra.tryAcquire(tat, now + wait)).isPositive();
    }

    @Test
    void anIdleBucketRefillsAndIsThenFull() {
        Gcra gcra = new Gcra(2, 3);
        long now = 5 * SECOND;
        AtomicLong tat = new AtomicLong(now);
        for (int i = 0; i < 3; i++) {
            gcra.tryAcquire(tat, now);
        }
        assertThat(Gcra.isFull(tat, now)).isFalse();
        assertThat(Gcra.isFull(tat, now + 2 * SECOND)).isTrue();
        for (int i = 0; i < 3; i++) {
            assertThat(gcra.tryAcquire(tat, now + 2 * SECOND)).isZero();
        }
        assertThat(gcra.tryAcquire(tat, now + 2 * SECOND)).isPositive();
    }

    @Test
    void retryAfterRoundsUpToWholeSecondsAndIsAtLeastOne() {
        assertThat(Admission.retryAfterSeconds(1)).isEqualTo(1);
        assertThat(Admission.retryAfterSeconds(SECOND)).isEqualTo(1);
        assertThat(Admission.retryAfterSeconds(SECOND + 1)).isEqualTo(2);
    }

    @Test
    void sweepingDropsOnlyFullBucketsSoMemoryFollowsActiveUsers() {
        // one token per 1,000 s: no bucket refills while the test runs, whatever the background sweeper does
        try (Admission admission = new Admission(0.001, 1, 0, new ConcurrencyGate(1_000, 1_000), breakers(), 10_000_000)) {
            for (int i = 0; i < 100_000; i++) {
                admission.admitOrder("user-" + i, "S1").close();
            }
            assertThat(admission.trackedUsers()).isEqualTo(100_000);
            admission.sweep(System.nanoTime());
            assertThat(admission.trackedUsers()).as("no bucket is full yet").isEqualTo(100_000);
            admission.sweep(System.nanoTime() + 2_000 * SECOND);
            assertThat(admission.trackedUsers()).as("all full after 2,000 s").isZero();
        }
    }

    @Test
    void aMillionDistinctUsersStayWithinTheCapAndStayLimited() {
        int cap = 50_000;
        try (Admission admission = new Admission(0.001, 1, 0, new ConcurrencyGate(1_000, 1_000), breakers(), cap)) {
            int admitted = 0;
            int limited = 0;
            for (int i = 0; i < 1_000_000; i++) {
                try {
                    admission.admitOrder("flood-" + i, "S1").close();
                    admitted++;
                } catch (io.floodgate.core.RejectedException e) {
                    assertThat(e.rejection()).isEqualTo(io.floodgate.core.Rejection.RATE_LIMITED);
                    limited++;
                }
            }
            assertThat(admission.trackedUsers()).isLessThanOrEqualTo(cap);
            // each tracked user got its one token; the overflow shares 4,096 buckets of one token each
            assertThat(admitted).isLessThanOrEqualTo(cap + 4_096);
            assertThat(limited).isGreaterThanOrEqualTo(1_000_000 - cap - 4_096);
        }
    }

    @Test
    void aFloodOfMadeUpSkusStaysWithinTheItemCapAndEachItemIsLimitedApartFromItsUsers() {
        // users may order freely; each item takes one order per 1,000 s
        try (Admission admission = new Admission(1e6, 1_000_000, 0.001, 0, null, new ConcurrencyGate(1_000, 1_000),
                breakers(), 10_000_000)) {
            admission.admitOrder("u-1", "HOT").close();
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> admission.admitOrder("u-2", "HOT"))
                    .isInstanceOfSatisfying(io.floodgate.core.RejectedException.class, e -> {
                        assertThat(e.rejection()).isEqualTo(io.floodgate.core.Rejection.RATE_LIMITED);
                        assertThat(e.retryAfterSeconds()).isGreaterThan(900);
                    });
            admission.admitOrder("u-2", "OTHER").close();

            int admitted = 0;
            for (int i = 0; i < 300_000; i++) {
                try {
                    admission.admitOrder("u-" + i, "made-up-" + i).close();
                    admitted++;
                } catch (io.floodgate.core.RejectedException e) {
                    assertThat(e.rejection()).isEqualTo(io.floodgate.core.Rejection.RATE_LIMITED);
                }
            }
            assertThat(admission.trackedItems()).isLessThanOrEqualTo(100_000);
            assertThat(admitted).as("one per tracked item, then one per overflow bucket").isLessThanOrEqualTo(100_000 + 1_024);
        }
    }

    @Test
    void aGivenBackTokenCanBeTakenAgainAndNoMore() {
        Gcra gcra = new Gcra(1, 2);
        long now = 100 * SECOND;
        AtomicLong tat = new AtomicLong(now);
        assertThat(gcra.tryAcquire(tat, now)).isZero();
        assertThat(gcra.tryAcquire(tat, now)).isZero();
        assertThat(gcra.tryAcquire(tat, now)).isPositive();
        gcra.refund(tat);
        assertThat(gcra.tryAcquire(tat, now)).isZero();
        assertThat(gcra.tryAcquire(tat, now)).isPositive();
        gcra.refund(tat);
        gcra.refund(tat);
        gcra.refund(tat); // past full: simply full
        assertThat(Gcra.isFull(tat, now)).isTrue();
        assertThat(gcra.tryAcquire(tat, now)).isZero();
        assertThat(gcra.tryAcquire(tat, now)).isZero();
        assertThat(gcra.tryAcquire(tat, now)).as("never more than the burst").isPositive();
    }

    @Test
    void aRequestRefusedFurtherOnGivesItsTokensBack() {
        // one order per user and one per item per 1,000 s: any token not given back shows as a 429
        try (Admission admission = new Admission(0.001, 1, 0.001, 0, null, new ConcurrencyGate(1, 1, 1),
                breakers(), 1_000)) {
            Admission.Permit held = admission.admitOrder("u0", "A");
            // shed by the concurrency limit (503): neither u1's nor item B's token is spent
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> admission.admitOrder("u1", "B"))
                    .isInstanceOfSatisfying(io.floodgate.core.RejectedException.class,
                            e -> assertThat(e.rejection()).isEqualTo(io.floodgate.core.Rejection.OVERLOADED));
            held.close();
            admission.admitOrder("u1", "B").close();
            // refused by item A's bucket (429): u2's token is not spent
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> admission.admitOrder("u2", "A"))
                    .isInstanceOfSatisfying(io.floodgate.core.RejectedException.class,
                            e -> assertThat(e.detail()).contains("item A"));
            admission.admitOrder("u2", "C").close();
        }
    }

    private static Breakers breakers() {
        return new Breakers(java.time.Duration.ofSeconds(1), java.time.Duration.ofSeconds(1));
    }

    @Test
    void concurrencyLimitShedsAndFreesSlotsOnClose() {
        try (Admission admission = new Admission(1_000, 1_000, 0, new ConcurrencyGate(2, 2), breakers(), 1_000)) {
            Admission.Permit a = admission.admitOrder("u1", "S1");
            Admission.Permit b = admission.admitOrder("u2", "S1");
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> admission.admitOrder("u3", "S1"))
                    .isInstanceOfSatisfying(io.floodgate.core.RejectedException.class,
                            e -> assertThat(e.rejection()).isEqualTo(io.floodgate.core.Rejection.OVERLOADED));
            a.close();
            admission.admitOrder("u3", "S1").close();
            b.close();
            assertThat(admission.inFlight()).isZero();
        }
    }

    @Test
    void readsGetTheRoomOrdersLeaveAndAlwaysATenthButNeverCrowdOrdersOut() {
        try (Admission admission = new Admission(1_000, 1_000, 0, new ConcurrencyGate(20, 20, 20), breakers(), 1_000)) {
            java.util.List<Admission.Permit> permits = new java.util.ArrayList<>();
            for (int i = 0; i < 20; i++) {
                permits.add(admission.admitRead()); // reads may use what orders leave free
            }
            org.assertj.core.api.Assertions.assertThatThrownBy(admission::admitRead)
                    .isInstanceOf(io.floodgate.core.RejectedException.class);
            for (int i = 0; i < 20; i++) {
                permits.add(admission.admitOrder("u" + i, "S1")); // orders may use the whole limit regardless
            }
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> admission.admitOrder("u20", "S1"))
                    .isInstanceOf(io.floodgate.core.RejectedException.class);
            permits.forEach(Admission.Permit::close);
            // with the limit full of orders, reads still get their tenth
            java.util.List<Admission.Permit> orders = new java.util.ArrayList<>();
            for (int i = 0; i < 20; i++) {
                orders.add(admission.admitOrder("v" + i, "S1"));
            }
            Admission.Permit a = admission.admitRead();
            Admission.Permit b = admission.admitRead();
            org.assertj.core.api.Assertions.assertThatThrownBy(admission::admitRead)
                    .isInstanceOf(io.floodgate.core.RejectedException.class);
            a.close();
            b.close();
            orders.forEach(Admission.Permit::close);
            assertThat(admission.inFlight()).isZero();
        }
    }

}
