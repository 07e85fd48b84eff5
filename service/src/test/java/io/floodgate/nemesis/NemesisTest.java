package io.floodgate.nemesis;

import io.floodgate.testing.Seeds;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

/**
 * The nemesis run (see {@link NemesisRun}): three instances sell while a seeded schedule kills,
 * pauses, flushes, fails over, locks, cuts and slows their dependencies; then a checker holds the
 * history of every answer against the store and the ledger.
 *
 * <p>Short form by default (a fault phase of 75 s with every kind of fault at least once: about
 * three minutes in all). {@code -Dnemesis.minutes=N} makes it the long form (N minutes of faults,
 * at least 10 a minute; {@code scripts/nemesis.sh} runs it). {@code -Dnemesis.seed=N} replays a
 * schedule; the seed is printed first. {@code -Dnemesis.kinds=STORE_WRITE_LOCK,KILL_KAFKA} narrows the
 * schedule to some kinds of {@link FaultKind} (to tell which fault a finding comes from).
 */
@Tag("nemesis")
class NemesisTest {

    @Test
    void aSaleUnderASeededFaultScheduleLosesNoAcknowledgedOrderAndOversellsNothing() {
        long seed = Seeds.seed("nemesis.seed");
        double minutes = Double.parseDouble(System.getProperty("nemesis.minutes", "0"));
        boolean shortForm = minutes <= 0;
        Duration phase = shortForm ? Duration.ofSeconds(75) : Duration.ofMillis((long) (minutes * 60_000));
        // a safety net only: every wait of the run is bounded; this is their sum, and then some
        NemesisRun.Result result = assertTimeoutPreemptively(phase.plusMinutes(20), () -> NemesisRun.run(seed, phase, shortForm,
                Schedule.kinds(System.getProperty("nemesis.kinds"))));
        assertThat(result.report().ok()).as("seed %d: the nemesis run found violations (%s):%n%s", seed,
                result.dir().resolve("summary.txt").toAbsolutePath(), result.summary()).isTrue();
    }
}
