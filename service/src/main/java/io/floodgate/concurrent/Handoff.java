package io.floodgate.concurrent;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;

/**
 * One result handed from a <em>completer</em> to a <em>waiter</em> who may stop waiting: an
 * order queued for the group-commit writer, a record sent to Kafka, a shutdown that one caller
 * performs while the others wait for it.
 *
 * <h2>States</h2>
 * The state moves only along the {@link Transition}s, each one a single compare-and-set:
 * <pre>
 *                take (completer)             deliver (completer)
 *   QUEUED ───────────────────────► TAKEN ───────────────────────► DELIVERED
 *     │                               │
 *     │ withdraw (waiter left)        │ abandon (waiter left)
 *     ▼                               ▼          complete late (completer)
 *   WITHDRAWN                      ABANDONED ───────────────────────► COMPLETED_LATE
 * </pre>
 * A hand-off starts {@linkplain #queued queued} (the completer has yet to take it, and the
 * waiter may still withdraw it so that it is never done) or {@linkplain #taken taken} (the work
 * is under way from the start, as a record already given to a producer).
 *
 * <h2>Who owns the result</h2>
 * Exactly one party owns the result, decided by which compare-and-set wins:
 * <ul>
 *   <li>the waiter, when the completer delivers before the waiter leaves ({@link Delivered});</li>
 *   <li>nobody, when the waiter withdraws before the completer takes: the completer's
 *   {@link #take()} fails and the work is never done ({@link Withdrawn});</li>
 *   <li>the <em>late path</em>, when the waiter leaves after the take ({@link Abandoned}):
 *   {@link #complete} runs the {@code onLate} action given at creation, on the completer's
 *   thread, with the result the waiter never saw.</li>
 * </ul>
 * So for a taken hand-off exactly one of "the waiter got the result" and "the late action
 * ran" happens, once (HandoffModelCheckTest explores the interleavings).
 *
 * <h2>Memory ordering</h2>
 * {@code result} is a plain field. The completer writes it before the compare-and-set
 * {@code TAKEN → DELIVERED} (a volatile write); the waiter reads it only after a volatile read
 * of {@code state} returned {@code DELIVERED}. A volatile write and a later volatile read of the
 * value it wrote synchronize, so the plain write happens-before the plain read. Waking goes
 * through the latch (for {@link #awaitUninterruptibly()}) or an unpark of the timed waiter (for
 * {@link #await(long)}, whose deadline {@link Deadlines} watches), which only tell a waiter when
 * to look; correctness rests on the state.
 * A waiter that times out and finds the state already {@code DELIVERED} (the completer won by a
 * hair) reads the result at once, without waiting for the latch.
 *
 * <p>Any number of threads may {@link #awaitUninterruptibly()}: they never leave, so they never
 * move the state. At most one may {@link #await(long)} with a timeout, since leaving is a
 * transition that only one waiter can make.
 *
 * @param <R> what the completer hands over
 */
public final class Handoff<R> {

    /** Where a hand-off stands; see the class comment for the diagram. */
    public enum State {
        /** Waiting for a completer to take it; the waiter may still withdraw it. */
        QUEUED,
        /** A completer is doing the work; the waiter can no longer call it off, only leave. */
        TAKEN,
        /** The waiter left before the work was taken: it is never done. Final. */
        WITHDRAWN,
        /** The waiter left while the work was under way: the late path owns the result. */
        ABANDONED,
        /** The waiter has the result. Final. */
        DELIVERED,
        /** The late path ran with the result. Final. */
        COMPLETED_LATE
    }

    /**
     * Every legal move, and the only place that lists them (as Resilience4j's
     * {@code CircuitBreaker.StateTransition} does). Anything else is a bug in the caller.
     */
    enum Transition {
        TAKE(State.QUEUED, State.TAKEN),
        WITHDRAW(State.QUEUED, State.WITHDRAWN),
        ABANDON(State.TAKEN, State.ABANDONED),
        DELIVER(State.TAKEN, State.DELIVERED),
        COMPLETE_LATE(State.ABANDONED, State.COMPLETED_LATE);

        final State from;
        final State to;

        Transition(State from, State to) {
            this.from = from;
            this.to = to;
        }
    }

    /** What the waiter came away with. */
    public sealed interface Waited<R> {
    }

    /** The completer delivered {@code result} in time. */
    public record Delivered<R>(R result) implements Waited<R> {
    }

    /** The waiter left before the completer took the work; it will never be done. */
    public record Withdrawn<R>() implements Waited<R> {
    }

    /** The waiter left while the work was under way; its result goes to the late path. */
    public record Abandoned<R>() implements Waited<R> {
    }

    private static final VarHandle STATE;

    static {
        try {
            STATE = MethodHandles.lookup().findVarHandle(Handoff.class, "state", State.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final Consumer<? super R> onLate;
    private final CountDownLatch delivered = new CountDownLatch(1);
    /** Set by the constructor, then written only through {@link #move} (a compare-and-set); read as a volatile. */
    private volatile State state;
    /** Plain: published by the volatile write of {@code DELIVERED} (class comment). */
    private R result;
    /** The one waiter with a timeout, once it waits: the completer unparks it. */
    private volatile Thread timedWaiter;

    private Handoff(State initial, Consumer<? super R> onLate) {
        this.onLate = Objects.requireNonNull(onLate, "onLate");
        this.state = initial;
    }

    /**
     * A hand-off that waits for a completer to {@link #take()} it; {@code onLate} receives the
     * result if the waiter leaves after the take.
     */
    public static <R> Handoff<R> queued(Consumer<? super R> onLate) {
        return new Handoff<>(State.QUEUED, onLate);
    }

    /**
     * A hand-off whose work is already under way (it cannot be withdrawn);
     * {@code onLate} receives the result if the waiter leaves before it comes.
     */
    public static <R> Handoff<R> taken(Consumer<? super R> onLate) {
        return new Handoff<>(State.TAKEN, onLate);
    }

    /** The current state (a volatile read): for decisions that race with nothing, and for tests. */
    public State state() {
        return state;
    }

    // ---------------------------------------------------------------- completer

    /**
     * Claims the work; true for exactly one caller, and only while the waiter has not withdrawn
     * it. Never blocks.
     */
    public boolean take() {
        return move(Transition.TAKE);
    }

    /**
     * Hands {@code value} to the waiter, or, if the waiter has left, runs the late action with
     * it on this thread (what that action throws reaches the caller). Never blocks, beyond what
     * the late action does. Call once, after a successful {@link #take()} (or on a
     * {@linkplain #taken taken} hand-off).
     *
     * @throws IllegalStateException if the hand-off was not taken or is already complete
     */
    public void complete(R value) {
        result = value; // published by the DELIVER compare-and-set below
        if (move(Transition.DELIVER)) {
            delivered.countDown();
            // After the volatile write of DELIVERED, a volatile read of the timed waiter: either the
            // waiter wrote itself there first and is unparked here, or it reads DELIVERED itself
            // before it parks (both sides write, then read the other's volatile: one must see it).
            Thread waiter = timedWaiter;
            if (waiter != null) {
                LockSupport.unpark(waiter);
            }
        } else if (move(Transition.COMPLETE_LATE)) {
            onLate.accept(value);
        } else {
            throw new IllegalStateException("cannot complete a hand-off that is " + state
                    + "; only a TAKEN or ABANDONED one can be completed, once");
        }
    }

    // ---------------------------------------------------------------- waiter

    /**
     * Blocks until the result is delivered or {@code timeoutNanos} pass, then leaves: withdrawn
     * if the work was never taken, abandoned if it is under way. An interrupt counts as the time
     * running out, and the thread's interrupt status is set again on return.
     *
     * @throws IllegalStateException if another waiter already left
     */
    public Waited<R> await(long timeoutNanos) {
        boolean interrupted = false;
        if (timeoutNanos > 0 && state != State.DELIVERED) {
            // Parked without a timeout, woken by the completer or by the shared deadline watch: a
            // timed park per wait costs far more on virtual threads (Deadlines).
            Thread me = Thread.currentThread();
            timedWaiter = me; // volatile write, then volatile reads of state: see complete()
            try (Deadlines.Watch watch = Deadlines.SHARED.watch(System.nanoTime() + timeoutNanos, me)) {
                while (state != State.DELIVERED && !watch.due()) {
                    LockSupport.park(this);
                    if (Thread.interrupted()) {
                        interrupted = true;
                        break;
                    }
                }
            }
        }
        try {
            return leave();
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * Blocks until the result is delivered, through interrupts (the interrupt status is set again
     * on return). For waiters that must not leave, such as later callers of a {@code close()}
     * that the first one performs.
     */
    public R awaitUninterruptibly() {
        boolean interrupted = false;
        while (true) {
            try {
                delivered.await();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        return result; // the latch opens only after DELIVERED was written: it happens-before too
    }

    /** Takes the result if it is there, else withdraws or abandons; loops only when a CAS lost. */
    private Waited<R> leave() {
        while (true) {
            State seen = state;
            switch (seen) {
                case DELIVERED -> {
                    return new Delivered<>(result);
                }
                case QUEUED -> {
                    if (move(Transition.WITHDRAW)) {
                        return new Withdrawn<>();
                    }
                }
                case TAKEN -> {
                    if (move(Transition.ABANDON)) {
                        return new Abandoned<>();
                    }
                }
                case WITHDRAWN, ABANDONED, COMPLETED_LATE ->
                        throw new IllegalStateException("a waiter already left this hand-off (" + seen
                                + "); only one waiter may wait with a timeout");
            }
        }
    }

    private boolean move(Transition t) {
        return STATE.compareAndSet(this, t.from, t.to);
    }

    @Override
    public String toString() {
        return "Handoff[" + state + "]";
    }
}
