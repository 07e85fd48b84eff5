package io.floodgate.core;

/**
 * A backing store (store, Redis, Kafka) did not answer, answered with an error, or its circuit is
 * open. Crossing into the HTTP layer it becomes 503 {@code DEPENDENCY_UNAVAILABLE}; the operation
 * that threw it changed nothing, or was rolled back.
 */
public class DependencyUnavailableException extends RuntimeException {

    private final String dependency;

    public DependencyUnavailableException(String dependency, String message, Throwable cause) {
        super(dependency + ": " + message, cause);
        this.dependency = dependency;
    }

    public DependencyUnavailableException(String dependency, String message) {
        this(dependency, message, null);
    }

    /** Which dependency failed: {@code store}, {@code redis}, {@code kafka}. */
    public String dependency() {
        return dependency;
    }
}
