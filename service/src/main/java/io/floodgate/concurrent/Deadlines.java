package io.floodgate.concurrent;

import java.time.Duration;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * Wakes parked threads at their deadlines, one thread for all of them, about a {@code tick}
 * late (later when the watch thread waits for the CPU on a saturated machine): a waiter
 * {@linkplain #watch registers} its deadline, parks without a timeout, and leaves once it is
 * woken and finds its {@link Watch#due()} set (or what it waited for done).
 *
 * <p>Why not {@code parkNanos}: on JDK 25 a virtual thread's timed park schedules a task on the
 * carrier pool's delay scheduler and cancels it when woken, and each scheduling signals that
 * scheduler's thread. One timed park per order cost about 13 µs of CPU per durable order
 * (74 µs against 61 µs, issue 14), most of it in the kernel, for a deadline that almost never
 * passes: the group commit answers in milliseconds, the deadline is seconds away. Here a waiter
 * costs a set insertion and a removal and two atomic counts, and the watch thread wakes every
 * tick while anyone waits.
 *
 * <p>Once nobody has waited for {@value #IDLE_TICKS} ticks in a row, the watch thread parks
 * without a timeout (an idle instance, or a flood of refusals, which wait on nothing: ticking
 * regardless cost some 1,100 futex calls a second beside a sold-out flood). Waiting that long
 * first keeps the waiters of a steady trickle of orders, whose set empties between orders, from
 * paying an unpark each. The first waiter after the park is not missed, by a Dekker-style pair of
 * volatile accesses: the watch thread writes {@code idle} and then reads {@code waiting}; a
 * waiter increments {@code waiting} and then reads {@code idle}, and unparks the watch thread if
 * it is set. Whichever order the two run in, one of them sees the other's write.
 *
 * <p>Memory ordering: {@code due} is volatile and set before the unpark, so a woken waiter that
 * reads it true is past its deadline; one woken for another reason (its result came, or a
 * spurious wake-up) looks at its own condition again and parks again if it must.
 */
public final class Deadlines {

    private static final System.Logger LOG = System.getLogger(Deadlines.class.getName());

    /** The process's watch: ticks every 2 ms. */
    public static final Deadlines SHARED = new Deadlines(Duration.ofMillis(2), "floodgate-deadlines");

    private final long tickNanos;
    private final String threadName;
    /** Empty ticks in a row (100 ms at the shared watch's 2 ms) before the watch thread parks untimed. */
    static final int IDLE_TICKS = 50;

    private final Set<Watch> watched = ConcurrentHashMap.newKeySet();
    /** Watches not yet closed: the count the idle handshake reads (a set's size is no such guarantee). */
    private final AtomicInteger waiting = new AtomicInteger();
    private volatile Thread sweeper;
    /** The watch thread is parked, or about to park, until a waiter comes. */
    private volatile boolean idle;

    Deadlines(Duration tick, String threadName) {
        this.tickNanos = tick.toNanos();
        this.threadName = threadName;
    }

    /**
     * Watches {@code thread}'s deadline ({@link System#nanoTime} units) until the watch is
     * closed: once it has passed, the watch is due and the thread is unparked.
     */
    public Watch watch(long deadlineNanos, Thread thread) {
        Watch watch = new Watch(deadlineNanos, thread);
        watched.add(watch);
        waiting.incrementAndGet();
        Thread watching = sweeper;
        if (watching == null) {
            start();
        } else if (idle) {
            LockSupport.unpark(watching);
        }
        return watch;
    }

    /**
     * {@link Future#get(long, TimeUnit)} without a timed park: the future's completion or this
     * process's watch wakes the caller. For the waits every request makes on a dependency (a Redis
     * command's reply).
     */
    public static <T, F extends Future<T> & CompletionStage<T>> T get(F future, long timeoutNanos)
            throws ExecutionException, TimeoutException, InterruptedException {
        if (!future.isDone()) {
            Thread me = Thread.currentThread();
            future.whenComplete((value, failure) -> LockSupport.unpark(me));
            try (Watch watch = SHARED.watch(System.nanoTime() + timeoutNanos, me)) {
                while (!future.isDone()) {
                    if (watch.due()) {
                        throw new TimeoutException();
                    }
                    LockSupport.park(future);
                    if (Thread.interrupted()) {
                        throw new InterruptedException();
                    }
                }
            }
        }
        return future.get(); // done: returns at once
    }

    private synchronized void start() {
        if (sweeper == null) {
            // a platform thread: its sleeps must not go through the carrier pool's delay scheduler
            sweeper = Thread.ofPlatform().daemon().name(threadName).start(this::sweepLoop);
        }
    }

    private void sweepLoop() {
        int emptyTicks = 0;
        while (true) {
            emptyTicks = waiting.get() == 0 ? emptyTicks + 1 : 0;
            if (emptyTicks >= IDLE_TICKS) {
                idle = true;
                if (waiting.get() == 0) { // read again after the write: see the class comment
                    LockSupport.park(this);
                }
                idle = false;
                emptyTicks = 0;
            }
            LockSupport.parkNanos(this, tickNanos);
            try {
                sweep(System.nanoTime());
            } catch (Throwable t) {
                // a waiter nobody wakes would wait for good: whatever one sweep met, the next one runs
                LOG.log(System.Logger.Level.ERROR, "the deadline watch's sweep failed; sweeping on", t);
            }
        }
    }

    /** Marks due and wakes every watched thread whose deadline is at or before {@code now}. */
    void sweep(long now) {
        for (Watch w : watched) {
            if (!w.due && now - w.deadlineNanos >= 0) {
                w.due = true;
                LockSupport.unpark(w.thread);
            }
        }
    }

    /** Threads watched now (for tests). */
    int watching() {
        return watched.size();
    }

    /** The watch thread, once started (for tests). */
    Thread watchThread() {
        return sweeper;
    }

    /** One thread's deadline; close it when the wait ends, however it ends. */
    public final class Watch implements AutoCloseable {
        private final long deadlineNanos;
        private final Thread thread;
        private volatile boolean due;

        private Watch(long deadlineNanos, Thread thread) {
            this.deadlineNanos = deadlineNanos;
            this.thread = thread;
        }

        /** Whether the deadline has passed (as the watch thread saw it, or as this call does). */
        public boolean due() {
            return due || System.nanoTime() - deadlineNanos >= 0;
        }

        @Override
        public void close() {
            if (watched.remove(this)) {
                waiting.decrementAndGet();
            }
        }
    }
}
