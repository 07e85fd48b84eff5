package io.floodgate.flow;

import io.floodgate.core.port.OrderStore;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.floodgate.core.DependencyUnavailableException;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * A circuit breaker per dependency (Resilience4j), opened by failures or by slow calls, closed
 * again by half-open probes on its own. While a breaker is open, calls through it fail at once
 * with {@link DependencyUnavailableException}, and order placement is refused before anything is
 * reserved.
 *
 * <p>Only {@link DependencyUnavailableException} counts as a failure: a verdict such as "item
 * locked" is the store working.
 */
public final class Breakers {

    private final CircuitBreaker store;

    public Breakers(Duration slowCall, Duration openFor) {
        this.store = CircuitBreaker.of("store", config(slowCall, openFor));
    }

    static CircuitBreakerConfig config(Duration slowCall, Duration openFor) {
        return CircuitBreakerConfig.custom()
                .slidingWindowType(CircuitBreakerConfig.SlidingWindowType.COUNT_BASED)
                .slidingWindowSize(20)
                .minimumNumberOfCalls(8)
                .failureRateThreshold(50)
                .slowCallDurationThreshold(slowCall)
                .slowCallRateThreshold(80)
                .waitDurationInOpenState(openFor)
                .permittedNumberOfCallsInHalfOpenState(3)
                .automaticTransitionFromOpenToHalfOpenEnabled(true)
                .recordExceptions(DependencyUnavailableException.class)
                .build();
    }

    /** The store, behind its breaker. */
    public OrderStore guardStore(OrderStore raw) {
        return new GuardedOrderStore(raw, store);
    }

    /** The name of a dependency whose breaker is open now, if any. */
    public Optional<String> openDependency() {
        return store.getState() == CircuitBreaker.State.OPEN ? Optional.of("store") : Optional.empty();
    }

    /** Every breaker's state, by dependency. */
    public Map<String, CircuitBreaker.State> states() {
        Map<String, CircuitBreaker.State> states = new LinkedHashMap<>();
        states.put("store", store.getState());
        return states;
    }

    CircuitBreaker storeBreaker() {
        return store;
    }
}
