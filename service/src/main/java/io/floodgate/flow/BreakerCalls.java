package io.floodgate.flow;

import io.floodgate.core.DependencyTime;
import io.floodgate.core.DependencyUnavailableException;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;

import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * One call through a breaker, the same for every guarded dependency: refused at once while the
 * breaker is open; {@link DependencyUnavailableException} counts as a failure; any other outcome,
 * a verdict included (item locked, unknown item), as the dependency working. Durations count
 * toward the slow-call rate either way: the dependency's own time where its adapter measured it
 * ({@link DependencyTime}), else the call's wall time.
 */
final class BreakerCalls {

    private BreakerCalls() {
    }

    static <T> T call(CircuitBreaker breaker, String dependency, Supplier<T> work) {
        if (!breaker.tryAcquirePermission()) {
            throw new DependencyUnavailableException(dependency, "the " + dependency + "'s circuit is open");
        }
        DependencyTime time = new DependencyTime();
        long start = System.nanoTime();
        try {
            T result = ScopedValue.where(DependencyTime.CURRENT, time).call(work::get);
            breaker.onSuccess(time.nanosOr(System.nanoTime() - start), TimeUnit.NANOSECONDS);
            return result;
        } catch (DependencyUnavailableException e) {
            breaker.onError(time.nanosOr(System.nanoTime() - start), TimeUnit.NANOSECONDS, e);
            throw e;
        } catch (RuntimeException e) {
            breaker.onSuccess(time.nanosOr(System.nanoTime() - start), TimeUnit.NANOSECONDS);
            throw e;
        }
    }
}
