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
    private final Duration slowCall;
    private final Duration openFor;
    /** Breakers by dependency name, in the order they were made; written only while wiring. */
    private final Map<String, CircuitBreaker> all = new java.util.concurrent.ConcurrentHashMap<>();

    public Breakers(Duration slowCall, Duration openFor) {
        this.slowCall = slowCall;
        this.openFor = openFor;
        this.store = CircuitBreaker.of("store", config(slowCall, openFor));
        all.put("store", store);
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

    /**
     * An order log that answers before the store (Kafka), behind a breaker of its own named
     * {@code dependency}. The direct log needs none: its failures are the store's.
     */
    public io.floodgate.core.port.OrderLog guardLog(String dependency, io.floodgate.core.port.OrderLog raw) {
        CircuitBreaker breaker = CircuitBreaker.of(dependency, config(slowCall, openFor));
        if (all.putIfAbsent(dependency, breaker) != null) {
            throw new IllegalStateException("a breaker for " + dependency + " exists already");
        }
        return new GuardedOrderLog(raw, breaker);
    }

    /** The name of a dependency whose breaker is open now, if any. */
    public Optional<String> openDependency() {
        if (store.getState() == CircuitBreaker.State.OPEN) {
            return Optional.of("store");
        }
        for (CircuitBreaker breaker : all.values()) {
            if (breaker.getState() == CircuitBreaker.State.OPEN) {
                return Optional.of(breaker.getName());
            }
        }
        return Optional.empty();
    }

    /** Every breaker's state, by dependency. */
    public Map<String, CircuitBreaker.State> states() {
        Map<String, CircuitBreaker.State> states = new LinkedHashMap<>();
        states.put("store", store.getState());
        all.forEach((name, breaker) -> states.putIfAbsent(name, breaker.getState()));
        return states;
    }

    CircuitBreaker storeBreaker() {
        return store;
    }
}
