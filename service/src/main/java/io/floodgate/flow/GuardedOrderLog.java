package io.floodgate.flow;

import io.floodgate.core.Deadline;
import io.floodgate.core.DependencyUnavailableException;
import io.floodgate.core.domain.Order;
import io.floodgate.core.port.OrderLog;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;

import java.util.concurrent.TimeUnit;

/**
 * An order log behind its circuit breaker. An answer that leaves the order's fate open
 * ({@code InDoubt}) or says the log is unavailable counts as a failure, and every append's time
 * counts toward the slow-call rate; while the breaker is open, appends are refused at once
 * ({@code NotLogged}, so the caller releases the reservation) without touching the log.
 * A full queue or a spent deadline is the log working: it counts as neither.
 */
final class GuardedOrderLog implements OrderLog {

    private final OrderLog log;
    private final CircuitBreaker breaker;

    GuardedOrderLog(OrderLog log, CircuitBreaker breaker) {
        this.log = log;
        this.breaker = breaker;
    }

    @Override
    public AppendOutcome append(Order order, Deadline deadline, LateFate late) {
        if (!breaker.tryAcquirePermission()) {
            return new AppendOutcome.NotLogged(AppendOutcome.Reason.UNAVAILABLE,
                    breaker.getName() + " circuit is open: the order log failed or was slow recently");
        }
        long start = System.nanoTime();
        AppendOutcome outcome;
        try {
            outcome = log.append(order, deadline, late);
        } catch (RuntimeException e) {
            breaker.onError(System.nanoTime() - start, TimeUnit.NANOSECONDS, e);
            throw e;
        }
        long took = System.nanoTime() - start;
        switch (outcome) {
            case AppendOutcome.Stored s -> breaker.onSuccess(took, TimeUnit.NANOSECONDS);
            case AppendOutcome.Logged l -> breaker.onSuccess(took, TimeUnit.NANOSECONDS);
            case AppendOutcome.InDoubt d -> breaker.onError(took, TimeUnit.NANOSECONDS,
                    new DependencyUnavailableException(breaker.getName(), "append still open at its deadline"));
            case AppendOutcome.NotLogged n when n.reason() == AppendOutcome.Reason.UNAVAILABLE ->
                    breaker.onError(took, TimeUnit.NANOSECONDS, new DependencyUnavailableException(breaker.getName(), n.detail()));
            case AppendOutcome.NotLogged n -> breaker.releasePermission();
        }
        return outcome;
    }

    @Override
    public boolean awaitStored(Deadline deadline) {
        return log.awaitStored(deadline);
    }

    @Override
    public Backlog backlog() {
        return log.backlog();
    }

    @Override
    public int depth() {
        return log.depth();
    }

    @Override
    public void close() {
        log.close();
    }
}
