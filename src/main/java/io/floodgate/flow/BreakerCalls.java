package io.floodgate.flow;

import io.floodgate.core.DependencyUnavailableException;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;

import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * One call through a breaker, the same for every guarded dependency: refused at once while the
 * breaker is open; {@link DependencyUnavailableException} counts as a failure; any other outcome,
 * a verdict included (item locked, unknown item), as the dependency working. Durations count
 * toward the slow-call rate either way.
 */
final class BreakerCalls {

    private BreakerCalls() {
    }

    static <T> T call(CircuitBreaker breaker, String dependency, Supplier<T> work) {
        if (!breaker.tryAcquirePermission()) {
            throw new DependencyUnavailableException(dependency, "the " + dependency + "'s circuit is open");
        }
        long start = System.nanoTime();
        try {
            T result = work.get();
            breaker.onSuccess(System.nanoTime() - start, TimeUnit.NANOSECONDS);
            return result;
        } catch (DependencyUnavailableException e) {
            breaker.onError(System.nanoTime() - start, TimeUnit.NANOSECONDS, e);
            throw e;
        } catch (RuntimeException e) {
            breaker.onSuccess(System.nanoTime() - start, TimeUnit.NANOSECONDS);
            throw e;
        }
    }
}
