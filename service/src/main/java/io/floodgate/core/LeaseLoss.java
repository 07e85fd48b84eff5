package io.floodgate.core;

import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * The loss listeners of one {@link io.floodgate.core.port.Lock.Lease}, kept the same way by every
 * lock adapter: each listener runs once when the loss is {@linkplain #report() reported}, at once
 * (on the caller's thread) if added after it, and never if the holder {@linkplain #close() closed}
 * the lease first. A listener that throws goes to {@code onListenerError}; the others still run.
 */
public final class LeaseLoss {

    private final CompletableFuture<Void> lost = new CompletableFuture<>();
    private final Consumer<RuntimeException> onListenerError;

    public LeaseLoss(Consumer<RuntimeException> onListenerError) {
        this.onListenerError = onListenerError;
    }

    public void onLost(Runnable listener) {
        lost.thenRun(() -> {
            try {
                listener.run();
            } catch (RuntimeException e) {
                onListenerError.accept(e);
            }
        });
    }

    /** Reports the loss and runs the listeners, unless the lease was already lost or closed. */
    public void report() {
        lost.complete(null);
    }

    /** The holder closed the lease: from now on nothing is reported. */
    public void close() {
        lost.cancel(false);
    }

    /** Whether the lease has been lost or closed. */
    public boolean ended() {
        return lost.isDone();
    }
}
