package io.floodgate.flow;

import io.floodgate.core.port.OrderStore;
import io.floodgate.core.port.StockLedger;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.floodgate.core.DependencyUnavailableException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import io.floodgate.core.port.OrderLog;

/**
 * A circuit breaker per dependency (Resilience4j), opened by failures or by slow calls, closed
 * again by half-open probes on its own. While a breaker is open, calls through it fail at once
 * with {@link DependencyUnavailableException}, and order placement is refused before anything is
 * reserved.
 *
 * <p>Only {@link DependencyUnavailableException} counts as a failure: a verdict such as "item
 * locked" is the store working.
 *
 * <p>Dependencies: {@code store} always; {@code redis} once a Redis ledger is
 * {@linkplain #guardRedisLedger guarded} (its own slow-call threshold: a Redis call takes well under
 * a millisecond, a store call several); {@code kafka} once a Kafka order log is
 * {@linkplain #guardLog guarded}.
 */
public final class Breakers {

    private final CircuitBreaker store;
    private final Duration slowCall;
    private final Duration openFor;
    /** False once the log answers before the store ({@link #storeOffOrderPath}); set at wiring. */
    private volatile boolean storeOnOrderPath = true;
    /** Set once, at wiring, when the ledger is in Redis; null otherwise. */
    private volatile CircuitBreaker redis;
    /** Every breaker by dependency, in the order they were made; written only while wiring. */
    private static final Logger LOG = LoggerFactory.getLogger(Breakers.class);
    /**
     * What a breaker judges on: the calls that ended in the last five seconds, once there are at least
     * {@link #MIN_CALLS}. It was the last 20 calls, which at thousands of calls a second is a few
     * milliseconds: one pause of this JVM's collector (or the machine's CPU taken for a moment) made every call
     * in flight slow and opened a breaker on a healthy Redis in an overload run (7,170 orders refused in 10 s).
     * Over five seconds such a moment is a small share of the calls. The minimum is small because some
     * dependencies are called rarely when they fail: the order writer calls a dead store about twice a second
     * (each call waits out the pool's connection timeout), and must still open its breaker. After a busy healthy
     * spell, a dead dependency opens its breaker once its failures outnumber the window's successes: within the
     * window, sooner the faster its calls fail.
     */
    static final Duration WINDOW = Duration.ofSeconds(5);
    static final int MIN_CALLS = 5;

    /**
     * Every breaker, in the order registered: copy-on-write, because every order reads it
     * ({@link #openOnOrderPath}) and only wiring adds to it. A synchronized map here put a monitor
     * every order request took on the hot path.
     */
    private volatile CircuitBreaker[] all = {};

    public Breakers(Duration slowCall, Duration openFor) {
        this.store = logged(CircuitBreaker.of("store", config(slowCall, openFor)));
        this.slowCall = slowCall;
        this.openFor = openFor;
        all = new CircuitBreaker[] {store};
    }

    /**
     * Logs each state change, and what opened a breaker at WARN with its rate: an operator reading why orders
     * were refused should not need the metrics history to learn that a breaker opened, and on what. The rate
     * comes from the event that tripped it (the breaker's own metrics are already those of the new state);
     * the calls judged are the window's when closed, the probes' when half open.
     */
    private static CircuitBreaker logged(CircuitBreaker breaker) {
        breaker.getEventPublisher()
                .onFailureRateExceeded(e -> LOG.warn("circuit breaker {} ({}): failure rate {}% of the calls judged",
                        breaker.getName(), breaker.getState(), Math.round(e.getFailureRate())))
                .onSlowCallRateExceeded(e -> LOG.warn("circuit breaker {} ({}): {}% of the calls judged took over {} ms",
                        breaker.getName(), breaker.getState(), Math.round(e.getSlowCallRate()),
                        breaker.getCircuitBreakerConfig().getSlowCallDurationThreshold().toMillis()))
                .onStateTransition(e -> {
                    if (e.getStateTransition().getToState() == CircuitBreaker.State.OPEN) {
                        LOG.warn("circuit breaker {}: {}", breaker.getName(), e.getStateTransition());
                    } else {
                        LOG.info("circuit breaker {}: {}", breaker.getName(), e.getStateTransition());
                    }
                });
        return breaker;
    }

    static CircuitBreakerConfig config(Duration slowCall, Duration openFor) {
        return CircuitBreakerConfig.custom()
                .slidingWindowType(CircuitBreakerConfig.SlidingWindowType.TIME_BASED)
                .slidingWindowSize((int) WINDOW.toSeconds())
                .minimumNumberOfCalls(MIN_CALLS)
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
     * The Redis ledger, behind a breaker of its own; call once, at wiring.
     *
     * @param slowCall a Redis call slower than this counts toward the slow-call rate
     */
    public StockLedger guardRedisLedger(StockLedger raw, Duration slowCall) {
        if (redis != null) {
            throw new IllegalStateException("the Redis ledger is already guarded");
        }
        CircuitBreaker breaker = register(CircuitBreaker.of("redis", config(slowCall, openFor)));
        redis = breaker;
        return new GuardedStockLedger(raw, breaker);
    }

    /**
     * An order log that answers before the store (Kafka), behind a breaker of its own named
     * {@code dependency}; call once, at wiring. The direct log needs none: its failures are the
     * store's.
     */
    public OrderLog guardLog(String dependency, OrderLog raw) {
        return new GuardedOrderLog(raw, register(CircuitBreaker.of(dependency, config(slowCall, openFor))));
    }

    private synchronized CircuitBreaker register(CircuitBreaker breaker) {
        CircuitBreaker[] before = all;
        for (CircuitBreaker b : before) {
            if (b.getName().equals(breaker.getName())) {
                throw new IllegalStateException("a breaker for " + breaker.getName() + " exists already");
            }
        }
        CircuitBreaker[] after = java.util.Arrays.copyOf(before, before.length + 1);
        after[before.length] = breaker;
        all = after;
        return logged(breaker);
    }

    /**
     * The order log answers before the store (Kafka): placing an order no longer touches the store,
     * so its open breaker no longer refuses orders (cancels still write the store, and are still
     * refused). Intake is bounded by the log's backlog instead. Call once, at wiring.
     */
    public void storeOffOrderPath() {
        storeOnOrderPath = false;
    }

    /** The name of a dependency on order placement's path whose breaker is open now, if any. */
    public Optional<String> openOnOrderPath() {
        return open(storeOnOrderPath);
    }

    /** The name of a dependency whose breaker is open now, if any. */
    public Optional<String> openDependency() {
        return open(true);
    }

    private Optional<String> open(boolean withStore) {
        if (withStore && store.getState() == CircuitBreaker.State.OPEN) {
            return Optional.of("store");
        }
        if (redisOpen()) {
            return Optional.of("redis");
        }
        for (CircuitBreaker breaker : all) {
            if (breaker != store && breaker.getState() == CircuitBreaker.State.OPEN) {
                return Optional.of(breaker.getName());
            }
        }
        return Optional.empty();
    }

    /** Whether Redis's breaker is open now (false when there is no Redis). */
    public boolean redisOpen() {
        CircuitBreaker r = redis;
        return r != null && r.getState() == CircuitBreaker.State.OPEN;
    }

    /** Every breaker's state, by dependency. */
    public Map<String, CircuitBreaker.State> states() {
        Map<String, CircuitBreaker.State> states = new LinkedHashMap<>();
        for (CircuitBreaker breaker : all) {
            states.put(breaker.getName(), breaker.getState());
        }
        return states;
    }

    CircuitBreaker storeBreaker() {
        return store;
    }

    CircuitBreaker redisBreaker() {
        return redis;
    }
}
