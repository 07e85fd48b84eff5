package io.floodgate.core;

/**
 * A backing store (store, Redis, Kafka) did not answer, answered with an error, or its circuit is
 * open. Crossing into the HTTP layer it becomes 503 {@code DEPENDENCY_UNAVAILABLE}; the operation
 * that threw it changed nothing, or was rolled back.
 */
public class DependencyUnavailableException extends RuntimeException {

    private final String dependency;
    private final boolean outcomeUnknown;

    public DependencyUnavailableException(String dependency, String message, Throwable cause) {
        this(dependency, message, cause, false);
    }

    /**
     * @param outcomeUnknown true when the failure struck while a write was being committed, so that
     *                       it may or may not have taken effect (a lost connection during commit)
     */
    public DependencyUnavailableException(String dependency, String message, Throwable cause, boolean outcomeUnknown) {
        super(dependency + ": " + message, cause);
        this.dependency = dependency;
        this.outcomeUnknown = outcomeUnknown;
    }

    public DependencyUnavailableException(String dependency, String message) {
        this(dependency, message, null);
    }

    /** Whether the failed write may nonetheless have taken effect. */
    public boolean outcomeUnknown() {
        return outcomeUnknown;
    }

    /** Which dependency failed: {@code store}, {@code redis}, {@code kafka}. */
    public String dependency() {
        return dependency;
    }
}
