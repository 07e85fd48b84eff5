package io.floodgate.concurrent;

import org.jetbrains.lincheck.datastructures.ModelCheckingOptions;
import org.jetbrains.lincheck.datastructures.Operation;
import org.jetbrains.lincheck.datastructures.Validate;
import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * Model checking of the hand-off races with Lincheck. For each scenario (the operations below,
 * spread over threads) Lincheck explores interleavings, switching threads at every shared read,
 * write, CAS, park and unpark; it checks that the results could have come from some sequential
 * order of the operations, and runs the {@code @Validate} method after each run. A failure names
 * the schedule that broke it.
 *
 * <p>The waiter "times out now" ({@code await(0)}), so it leaves at any point relative to the
 * completer: the race that matters, a waiter giving up while the completer completes. The
 * property: for a taken hand-off, exactly one of "the waiter got the result" and "the late
 * action ran" happens, once; a withdrawn one is never done.
 *
 * <p>Lincheck's model checker assumes sequential consistency, so it checks the protocol, not the
 * memory ordering; {@link Handoff}'s class comment argues that part. On JDK 25 the
 * {@code @Operation} API used here works; {@code Lincheck.runConcurrentTest} (threads started by
 * the test body) explores nothing there: it passes even a plain lost update, which it catches on
 * JDK 17.
 */
public class HandoffModelCheckTest {

    private static ModelCheckingOptions options() {
        return new ModelCheckingOptions()
                .iterations(20)
                .invocationsPerIteration(1_000)
                .threads(2)
                .actorsPerThread(2)
                .actorsBefore(0)
                .actorsAfter(0);
    }

    @Test
    void aQueuedHandOffIsDeliveredWithdrawnOrCompletedLateExactlyOnce() {
        options().check(Queued.class);
    }

    @Test
    void aTakenHandOffIsDeliveredOrCompletedLateNeverBoth() {
        options().check(Taken.class);
    }

    @Test
    void laterClosersReturnOnlyAfterTheFirstOnesWorkRanOnce() {
        options().threads(3).actorsPerThread(1).check(OnlyOnce.class);
    }

    static String describe(Handoff.Waited<String> waited) {
        return switch (waited) {
            case Handoff.Delivered<String>(String result) -> "delivered " + result;
            case Handoff.Withdrawn<String> w -> "withdrawn";
            case Handoff.Abandoned<String> a -> "abandoned";
        };
    }

    static void check(boolean ok, String what, Object state) {
        if (!ok) {
            throw new AssertionError(what + " violated: " + state);
        }
    }

    /** A completer thread that takes and completes; a waiter thread that leaves. */
    public static class Queued {
        private final AtomicInteger lateRuns = new AtomicInteger();
        private final Handoff<String> handoff = Handoff.queued(r -> lateRuns.incrementAndGet());
        private volatile boolean taken;
        private volatile boolean completed;
        private volatile String left;

        @Operation(runOnce = true, nonParallelGroup = "completer")
        public boolean take() {
            taken = handoff.take();
            return taken;
        }

        @Operation(runOnce = true, nonParallelGroup = "completer")
        public String complete() {
            if (!taken) {
                return "not taken";
            }
            handoff.complete("result");
            completed = true;
            return "completed";
        }

        @Operation(runOnce = true, nonParallelGroup = "waiter")
        public String leave() {
            left = describe(handoff.await(0));
            return left;
        }

        @Validate
        public void exactlyOneOwner() {
            String state = "taken=" + taken + " completed=" + completed + " left=" + left + " lateRuns="
                    + lateRuns.get() + " " + handoff;
            check(lateRuns.get() <= 1, "the late action ran at most once", state);
            if (left == null) {
                check(lateRuns.get() == 0, "no late action while the waiter is there", state);
            } else if (left.startsWith("delivered")) {
                check(completed && lateRuns.get() == 0, "delivered: the waiter owns the result", state);
            } else if (left.equals("withdrawn")) {
                check(!taken && lateRuns.get() == 0, "withdrawn: never taken, never completed late", state);
            } else {
                check(taken && lateRuns.get() == (completed ? 1 : 0), "abandoned: the late path owns the result", state);
            }
        }
    }

    /** Work under way from the start (a record given to a producer): complete races leave. */
    public static class Taken {
        private final AtomicInteger lateRuns = new AtomicInteger();
        private final Handoff<String> handoff = Handoff.taken(r -> lateRuns.incrementAndGet());
        private volatile boolean completed;
        private volatile String left;

        @Operation(runOnce = true, nonParallelGroup = "completer")
        public void complete() {
            handoff.complete("result");
            completed = true;
        }

        @Operation(runOnce = true, nonParallelGroup = "waiter")
        public String leave() {
            left = describe(handoff.await(0));
            return left;
        }

        @Validate
        public void deliveredXorCompletedLate() {
            String state = "completed=" + completed + " left=" + left + " lateRuns=" + lateRuns.get() + " " + handoff;
            check(!"withdrawn".equals(left), "a taken hand-off cannot be withdrawn", state);
            boolean delivered = left != null && left.startsWith("delivered");
            boolean completedLate = lateRuns.get() == 1;
            check(lateRuns.get() <= 1, "the late action ran at most once", state);
            if (completed && left != null) {
                check(delivered != completedLate, "exactly one of delivered / completed late", state);
            } else {
                check(!delivered && !completedLate, "nothing delivered or completed late before both sides acted", state);
            }
        }
    }

    /** Floodgate.close(): the first caller does the work, later ones wait for it uninterruptibly. */
    public static class OnlyOnce {
        private final AtomicInteger runs = new AtomicInteger();
        private final Handoff<Void> closing = Handoff.queued(unused -> { });

        /** How many times the work had run when this call returned: 1, always. */
        @Operation
        public int close() {
            if (closing.take()) {
                runs.incrementAndGet();
                closing.complete(null);
            } else {
                closing.awaitUninterruptibly();
            }
            return runs.get();
        }
    }
}
