package io.floodgate.nemesis;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/** The fault schedule: what a seed replays, and what the short form is sure to contain. */
class ScheduleTest {

    @Test
    void aSeedReplaysEachPartsFaultsWhicheverOrderTheLanesAskIn() {
        for (long seed = 0; seed < 20; seed++) {
            Schedule inTurn = new Schedule(seed, false, 3, List.of(FaultKind.values()));
            Schedule atRandom = new Schedule(seed, false, 3, List.of(FaultKind.values()));
            List<FaultKind.Part> parts = List.of(FaultKind.Part.values());
            List<List<Schedule.Fault>> a = new ArrayList<>();
            List<List<Schedule.Fault>> b = new ArrayList<>();
            for (int i = 0; i < parts.size(); i++) {
                a.add(new ArrayList<>());
                b.add(new ArrayList<>());
            }
            Random asking = new Random(seed);
            for (int n = 0; n < 200; n++) {
                int p = n % parts.size();
                a.get(p).add(inTurn.next(parts.get(p)));
                int q = asking.nextInt(parts.size());
                b.get(q).add(atRandom.next(parts.get(q)));
            }
            for (int p = 0; p < parts.size(); p++) {
                int common = Math.min(a.get(p).size(), b.get(p).size());
                assertThat(b.get(p).subList(0, common)).as("seed %d, %s", seed, parts.get(p))
                        .isEqualTo(a.get(p).subList(0, common));
                FaultKind.Part part = parts.get(p);
                assertThat(a.get(p)).allMatch(f -> f.kind().part == part);
            }
        }
    }

    @Test
    void theShortFormRunsEveryKindFirstWithTheLongWriteLockAtTheHeadOfTheStoresLane() {
        for (long seed = 0; seed < 20; seed++) {
            Schedule s = new Schedule(seed, true, 3, List.of(FaultKind.values()));
            Set<FaultKind> covered = EnumSet.noneOf(FaultKind.class);
            for (FaultKind.Part part : s.parts()) {
                Schedule.Fault f = s.next(part);
                if (part == FaultKind.Part.STORE) {
                    assertThat(f.kind()).isEqualTo(FaultKind.STORE_WRITE_LOCK);
                    assertThat(f.holdMs()).isBetween(80_000L, 90_000L);
                }
                if (part == FaultKind.Part.REDIS) {
                    assertThat(f.gapMs()).as("Redis stays whole through the long lock").isGreaterThan(85_000L);
                }
                while (f.covering()) {
                    covered.add(f.kind());
                    f = s.next(part);
                }
            }
            assertThat(covered).as("seed %d", seed).containsExactlyInAnyOrder(FaultKind.values());
        }
    }

    @Test
    void aNarrowedScheduleBreaksOnlyTheNamedKinds() {
        Schedule s = new Schedule(7, false, 3, Schedule.kinds("redis_flushall, STORE_CUT"));
        assertThat(s.parts()).containsExactlyInAnyOrder(FaultKind.Part.REDIS, FaultKind.Part.STORE);
        for (int i = 0; i < 50; i++) {
            assertThat(s.next(FaultKind.Part.REDIS).kind()).isEqualTo(FaultKind.REDIS_FLUSHALL);
            assertThat(s.next(FaultKind.Part.STORE).kind()).isEqualTo(FaultKind.STORE_CUT);
        }
    }
}
