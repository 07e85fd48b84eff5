package io.floodgate.concurrent;

import java.util.function.Consumer;

/**
 * The failures of several independent steps (one per shard, one per resource to close), kept as
 * one exception: the first that happened, with each later one {@linkplain
 * Throwable#addSuppressed suppressed} in it, so nothing is lost and the stack trace of the one
 * reported first is the one a reader sees first.
 *
 * <p>Not thread-safe: one thread collects, typically while it looks at the outcomes of work it
 * waited for.
 */
public final class Failures {

    private RuntimeException first;

    /** Records {@code failure}: the first one kept, every later one suppressed in it. */
    public void add(RuntimeException failure) {
        if (first == null) {
            first = failure;
        } else if (failure != first) { // a throwable cannot suppress itself
            first.addSuppressed(failure);
        }
    }

    /** Runs {@code step}, recording what it throws instead of throwing it. */
    public void run(Runnable step) {
        try {
            step.run();
        } catch (RuntimeException e) {
            add(e);
        }
    }

    public boolean any() {
        return first != null;
    }

    /** The first failure, carrying the later ones; null when there was none. */
    public RuntimeException first() {
        return first;
    }

    /** Throws the first failure, carrying the later ones, if there was any. */
    public void throwIfAny() {
        if (first != null) {
            throw first;
        }
    }

    /**
     * Applies {@code action} to every item even when some fail, then throws the first failure
     * with the later ones suppressed: closing several resources, say.
     */
    public static <T> void forEach(Iterable<? extends T> items, Consumer<? super T> action) {
        Failures failures = new Failures();
        for (T item : items) {
            failures.run(() -> action.accept(item));
        }
        failures.throwIfAny();
    }
}
