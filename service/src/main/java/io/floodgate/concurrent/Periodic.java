package io.floodgate.concurrent;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * A job that runs in passes on a virtual thread of its own until closed: a pass that says there
 * is more to do is followed at once by the next, any other pass (and one that failed) by a rest.
 * The reconciler, the payment expiry and the event relay's stamper and publisher each run on one.
 *
 * <p>A failed pass is handed to {@code failed} and the loop goes on: the next pass tries again.
 * {@link #close()} interrupts a rest (or a pass blocked in an interruptible call) and waits, up
 * to a bound, for the thread to end.
 */
public final class Periodic implements AutoCloseable {

    private static final Duration CLOSE_WAIT = Duration.ofSeconds(5);

    private final Thread thread;
    private final CountDownLatch ended = new CountDownLatch(1);
    private volatile boolean closed;

    private Periodic(String name, Duration rest, BooleanSupplier pass, Consumer<RuntimeException> failed) {
        Objects.requireNonNull(pass, "pass");
        Objects.requireNonNull(failed, "failed");
        if (rest == null || rest.isNegative() || rest.isZero()) {
            throw new IllegalArgumentException("rest must be positive, was " + rest);
        }
        this.thread = Thread.ofVirtual().name(name).unstarted(() -> {
            try {
                while (!closed) {
                    boolean more = false;
                    try {
                        more = pass.getAsBoolean();
                    } catch (RuntimeException e) {
                        failed.accept(e);
                    }
                    if (!more && !closed) {
                        try {
                            Thread.sleep(rest);
                        } catch (InterruptedException e) {
                            return;
                        }
                    }
                }
            } finally {
                ended.countDown();
            }
        });
    }

    /**
     * Starts the loop.
     *
     * @param rest   the pause after a pass that returned false or failed
     * @param pass   one pass; true when there is more to do at once
     * @param failed told of a pass that threw
     */
    public static Periodic start(String name, Duration rest, BooleanSupplier pass, Consumer<RuntimeException> failed) {
        Periodic periodic = new Periodic(name, rest, pass, failed);
        periodic.thread.start();
        return periodic;
    }

    /** Stops the loop: no pass starts after this; waits a few seconds for the one running. */
    @Override
    public void close() {
        closed = true;
        thread.interrupt();
        try {
            ended.await(CLOSE_WAIT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
