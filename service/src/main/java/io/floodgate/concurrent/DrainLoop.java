package io.floodgate.concurrent;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import java.util.function.ToLongFunction;

/**
 * A bounded queue and the one thread that empties it: it takes whatever has gathered (up to
 * {@code maxBatch}), hands it to a {@link Sink} in one call, and when the sink throws, backs off
 * ({@link Backoff}) and hands it the same batch again, until it takes it. The group-commit
 * writer, the Kafka log's direct store writer and the Redis ledger's settler are each one of these.
 *
 * <h2>Invariants</h2>
 * <ul>
 *   <li>Producers never block: {@link #offer} answers at once, false when the queue is full.</li>
 *   <li>Items reach the sink in the order they were offered, and a batch that failed is retried
 *   whole (less what was given up) before anything newer is taken.</li>
 *   <li>Every item taken from the queue ends in exactly one of: written (the sink returned),
 *   {@linkplain Builder#giveUpAfter given up} (it failed after waiting longer than the retention),
 *   or handed to {@linkplain Builder#onStop onStop} when the loop stops. An item offered while
 *   {@link #close} runs may be left in the queue unseen: callers check {@link #isClosing()}
 *   before they offer, and each of them has its own answer for the rare one that slips through
 *   (a waiter's deadline, the reconciler).</li>
 * </ul>
 *
 * <h2>Stopping</h2>
 * {@link #close} stops taking new work (for callers that check {@link #isClosing()}), lets the
 * worker empty the queue for a while, then interrupts it. While closing, a failed batch is not
 * retried: the loop stops at once. An interrupt stops it at its next wait (the idle poll, the
 * backoff), or inside the sink if the sink honours it. Whatever was left, the failed batch first
 * and then the queue, goes to {@code onStop} on the worker thread.
 *
 * <p>The worker's batch list and retry count are confined to the worker thread; {@code closing}
 * is the only field written by another thread.
 *
 * @param <T> the queued item
 */
public final class DrainLoop<T> {

    /** Writes one batch; returns when it is done, throws to have it retried after a backoff. */
    @FunctionalInterface
    public interface Sink<T> {
        /** {@code batch} is the loop's own list, valid during the call only. */
        void write(List<T> batch);
    }

    /** Told of an item the loop stopped retrying because it waited longer than the retention. */
    @FunctionalInterface
    public interface GiveUp<T> {
        void gaveUp(T item, RuntimeException lastFailure);
    }

    /** How the worker waits out a backoff; tests replace it so they never sleep. */
    @FunctionalInterface
    interface Sleeper {
        void sleepNanos(long nanos) throws InterruptedException;
    }

    /** How long an idle worker waits for an item before it looks at {@code closing} again. */
    static final long IDLE_POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

    private final ArrayBlockingQueue<T> queue;
    private final int maxBatch;
    private final Sink<T> sink;
    private final Backoff backoff;
    private final long retentionNanos;
    private final ToLongFunction<? super T> queuedAtNanos;
    private final GiveUp<? super T> onGiveUp;
    private final Consumer<? super List<T>> onStop;
    private final LongSupplier nanoTime;
    private final Sleeper sleeper;
    private final Thread worker;
    private volatile boolean closing;

    private DrainLoop(Builder<T> b, Sink<T> sink) {
        this.queue = new ArrayBlockingQueue<>(b.capacity);
        this.maxBatch = b.maxBatch;
        this.sink = sink;
        this.backoff = b.backoff;
        this.retentionNanos = b.retentionNanos;
        this.queuedAtNanos = b.queuedAtNanos;
        this.onGiveUp = b.onGiveUp;
        this.onStop = b.onStop;
        this.nanoTime = b.nanoTime;
        this.sleeper = b.sleeper;
        this.worker = b.thread.unstarted(this::run);
    }

    /**
     * A loop whose worker is made by {@code thread} (platform or virtual, named), draining a
     * queue of {@code capacity} items in batches of at most {@code maxBatch}.
     */
    public static <T> Builder<T> builder(Thread.Builder thread, int capacity, int maxBatch) {
        return new Builder<>(thread, capacity, maxBatch);
    }

    /** Queues {@code item} if there is room; never blocks. */
    public boolean offer(T item) {
        return queue.offer(item);
    }

    /** Items queued, not counting the batch the worker holds. */
    public int size() {
        return queue.size();
    }

    public boolean isClosing() {
        return closing;
    }

    /**
     * Stops the loop: lets the worker empty the queue for up to {@code drainFor}, then interrupts
     * it and waits up to {@code stopFor} more for it to end. Blocks for at most their sum.
     *
     * @return true if the worker emptied the queue and ended within {@code drainFor}
     */
    public boolean close(Duration drainFor, Duration stopFor) {
        closing = true;
        try {
            if (worker.join(drainFor)) {
                return true;
            }
            worker.interrupt();
            worker.join(stopFor);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return false;
    }

    private void run() {
        List<T> batch = new ArrayList<>(maxBatch); // worker thread only
        int retry = 0; // worker thread only: failures of the current batch
        try {
            while (true) {
                if (batch.isEmpty()) {
                    T first = queue.poll(IDLE_POLL_NANOS, TimeUnit.NANOSECONDS);
                    if (first == null) {
                        if (closing && queue.isEmpty()) {
                            return;
                        }
                        continue;
                    }
                    batch.add(first);
                    queue.drainTo(batch, maxBatch - 1);
                }
                try {
                    sink.write(batch);
                    batch.clear();
                    retry = 0;
                } catch (RuntimeException e) {
                    if (closing) {
                        return;
                    }
                    giveUpExpired(batch, e);
                    if (!batch.isEmpty()) {
                        sleeper.sleepNanos(backoff.delayNanos(retry++));
                    } else {
                        retry = 0;
                    }
                }
            }
        } catch (InterruptedException e) {
            // stopped by close(): fall through to report what is left
        } finally {
            List<T> left = new ArrayList<>(batch);
            queue.drainTo(left);
            if (!left.isEmpty()) {
                onStop.accept(left);
            }
        }
    }

    private void giveUpExpired(List<T> batch, RuntimeException failure) {
        if (onGiveUp == null) {
            return;
        }
        long now = nanoTime.getAsLong();
        batch.removeIf(item -> {
            if (now - queuedAtNanos.applyAsLong(item) < retentionNanos) {
                return false;
            }
            onGiveUp.gaveUp(item, failure);
            return true;
        });
    }

    /** Configures and starts a {@link DrainLoop}; every setting is checked when it is set. */
    public static final class Builder<T> {
        private final Thread.Builder thread;
        private final int capacity;
        private final int maxBatch;
        private Backoff backoff;
        private long retentionNanos;
        private ToLongFunction<? super T> queuedAtNanos;
        private GiveUp<? super T> onGiveUp;
        private Consumer<? super List<T>> onStop = left -> { };
        private LongSupplier nanoTime = System::nanoTime;
        private Sleeper sleeper = TimeUnit.NANOSECONDS::sleep;

        private Builder(Thread.Builder thread, int capacity, int maxBatch) {
            this.thread = Objects.requireNonNull(thread, "thread");
            if (capacity < 1) {
                throw new IllegalArgumentException("capacity must be >= 1, was " + capacity);
            }
            if (maxBatch < 1) {
                throw new IllegalArgumentException("maxBatch must be >= 1, was " + maxBatch);
            }
            this.capacity = capacity;
            this.maxBatch = maxBatch;
        }

        /** How long to wait before handing a failed batch to the sink again. Required. */
        public Builder<T> backoff(Backoff backoff) {
            this.backoff = Objects.requireNonNull(backoff, "backoff");
            return this;
        }

        /**
         * After a failure, items queued (by {@code queuedAtNanos}, on {@link System#nanoTime()})
         * longer than {@code retention} ago leave the batch and go to {@code onGiveUp}; without
         * this, a failed batch is retried until it succeeds or the loop stops.
         */
        public Builder<T> giveUpAfter(Duration retention, ToLongFunction<? super T> queuedAtNanos, GiveUp<? super T> onGiveUp) {
            if (retention.isNegative()) {
                throw new IllegalArgumentException("retention must not be negative, was " + retention);
            }
            this.retentionNanos = retention.toNanos();
            this.queuedAtNanos = Objects.requireNonNull(queuedAtNanos, "queuedAtNanos");
            this.onGiveUp = Objects.requireNonNull(onGiveUp, "onGiveUp");
            return this;
        }

        /** Receives, on the worker thread as it ends, the items it did not write (never an empty list). */
        public Builder<T> onStop(Consumer<? super List<T>> onStop) {
            this.onStop = Objects.requireNonNull(onStop, "onStop");
            return this;
        }

        Builder<T> nanoTime(LongSupplier nanoTime) {
            this.nanoTime = Objects.requireNonNull(nanoTime, "nanoTime");
            return this;
        }

        Builder<T> sleeper(Sleeper sleeper) {
            this.sleeper = Objects.requireNonNull(sleeper, "sleeper");
            return this;
        }

        /** Builds the loop and starts its worker. */
        public DrainLoop<T> start(Sink<T> sink) {
            if (backoff == null) {
                throw new IllegalStateException("a DrainLoop needs a backoff for failed batches; call backoff(...)");
            }
            DrainLoop<T> loop = new DrainLoop<>(this, Objects.requireNonNull(sink, "sink"));
            loop.worker.start();
            return loop;
        }
    }
}
