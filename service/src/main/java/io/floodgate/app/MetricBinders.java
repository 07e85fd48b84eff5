package io.floodgate.app;

import io.floodgate.core.EventFeed;
import io.floodgate.core.EventRelay;
import io.floodgate.core.FailedOrders;
import io.floodgate.core.OrderService;
import io.floodgate.core.PaymentExpiry;
import io.floodgate.core.PaymentService;
import io.floodgate.core.domain.PaymentState;
import io.floodgate.core.Reconciler;
import io.floodgate.core.port.OrderLog;
import io.floodgate.direct.GroupCommitOrderLog;
import io.floodgate.flow.Admission;
import io.floodgate.flow.Breakers;
import io.floodgate.flow.ClusterRateLimiter;
import io.floodgate.flow.ConcurrencyGate;
import io.floodgate.kafka.KafkaOrderLog;
import io.floodgate.observe.Metrics;
import io.floodgate.redis.RedisLedger;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;

import java.util.List;
import java.util.Locale;

/**
 * Each part's metrics, registered in one method per part, so that the wiring in {@link Floodgate}
 * reads as what it builds. Every metric is a function of the part's own counters, read at scrape
 * time; label values come from closed sets only (dependency names, states, kinds of work).
 */
final class MetricBinders {

    private MetricBinders() {
    }

    /** What every order log reports: what it holds here, what the store has not taken yet anywhere. */
    static void bindLog(Metrics metrics, OrderLog log, FailedOrders failed) {
        metrics.gauge("floodgate.log.depth", "Orders this instance's order log holds: queued for the group-commit"
                + " writer, or sent to Kafka and not yet acknowledged", log::depth);
        metrics.gauge("floodgate.log.backlog.orders", "Accepted orders not yet in the store, on every instance (the"
                + " Kafka log; the group-commit log answers only once stored)", () -> log.backlog().orders());
        metrics.gauge("floodgate.log.backlog.age.seconds", "How long the oldest accepted order not yet in the store has"
                + " waited", () -> log.backlog().age().toMillis() / 1000.0);
        metrics.counter("floodgate.orders.failed", "Acknowledged orders that could never be stored (their item is"
                + " missing), recorded FAILED with their units returned, by this instance", failed::count);
    }

    static void bindGroupCommit(Metrics metrics, GroupCommitOrderLog writer) {
        metrics.counter("floodgate.orders.persisted", "Orders written to the store", writer::persisted);
        metrics.counter("floodgate.writer.batches", "Group-commit batches written", writer::batches);
        metrics.counter("floodgate.writer.failed.batches", "Group-commit batches that failed", writer::failedBatches);
        metrics.counter("floodgate.writer.doubtful.batches", "Batches whose commit was in doubt and was resolved by"
                + " reading back", writer::inDoubtBatches);
    }

    static void bindKafka(Metrics metrics, KafkaOrderLog kafka) {
        metrics.counter("floodgate.orders.persisted", "Orders written to the store by this instance's Kafka consumers",
                () -> kafka.stats().stored());
        metrics.counter("floodgate.writer.batches", "Store batches written by this instance's Kafka consumers",
                () -> kafka.stats().batches());
        metrics.counter("floodgate.kafka.acknowledged", "Orders the Kafka brokers acknowledged",
                () -> kafka.stats().acknowledged());
        metrics.counter("floodgate.kafka.store.retries", "Consumer store writes that failed and were tried again (the"
                + " records stay in the log until stored)", () -> kafka.stats().storeRetries());
        metrics.counter("floodgate.kafka.dead.lettered", "Records sent to the dead-letter topic (poison records, and"
                + " copies of orders ended FAILED)", () -> kafka.stats().deadLettered());
        metrics.counter("floodgate.kafka.stored.directly", "Orders whose Kafka send failed and were written to the store"
                + " directly", () -> kafka.stats().storedDirectly());
    }

    static void bindRedis(Metrics metrics, RedisLedger redis) {
        metrics.counter("floodgate.redis.commands", "Commands sent to Redis", () -> redis.stats().redisCommands());
        metrics.counter("floodgate.redis.sold.out.local", "Reservations answered by the local sold-out marker",
                () -> redis.stats().soldOutLocalAnswers());
        metrics.gauge("floodgate.redis.unsettled", "Confirms, releases and cancels waiting for Redis",
                () -> redis.stats().unsettled());
        metrics.counter("floodgate.redis.rebuilds", "Rebuilds and repairs of the ledger from the store (Redis came back"
                + " empty, or failed over)", () -> redis.stats().rebuilds());
    }

    static void bindClusterRate(Metrics metrics, ClusterRateLimiter limiter) {
        String name = "floodgate.cluster.rate.decisions";
        String help = "Cluster-wide order rate decisions: by the shared bucket (allowed, limited) or, while it cannot"
                + " be reached, by the local fallback (fallback_allowed, fallback_limited)";
        metrics.counter(name, help, List.of("decision", "allowed"), () -> limiter.stats().allowed());
        metrics.counter(name, help, List.of("decision", "limited"), () -> limiter.stats().limited());
        metrics.counter(name, help, List.of("decision", "fallback_allowed"), () -> limiter.stats().fallbackAllowed());
        metrics.counter(name, help, List.of("decision", "fallback_limited"), () -> limiter.stats().fallbackLimited());
        metrics.counter("floodgate.cluster.rate.leases", "Round trips to the shared rate bucket that answered",
                () -> limiter.stats().leases());
    }

    static void bindAdmission(Metrics metrics, Admission admission, Breakers breakers) {
        metrics.gauge("floodgate.admission.in.flight", "Requests in flight under the adaptive concurrency limit",
                admission::inFlight);
        metrics.gauge("floodgate.admission.limit", "The adaptive concurrency limit", admission::limit);
        metrics.gauge("floodgate.admission.tracked.users", "Per-user rate buckets held", admission::trackedUsers);
        for (ConcurrencyGate.Work work : ConcurrencyGate.Work.values()) {
            metrics.counter("floodgate.admissions", "Requests let through the concurrency limit, cancels counted as orders"
                            + " (an open breaker may still refuse one after; refusals: floodgate.rejections)",
                    List.of("work", work.name().toLowerCase(Locale.ROOT)), () -> admission.admitted(work));
        }
        breakers.states().keySet().forEach(dependency -> {
            for (CircuitBreaker.State state : CircuitBreaker.State.values()) {
                metrics.gauge("floodgate.circuit.state", "1 when the dependency's breaker is in this state",
                        List.of("dependency", dependency, "state", state.name().toLowerCase(Locale.ROOT)),
                        () -> breakers.states().get(dependency) == state ? 1 : 0);
            }
        });
    }

    static void bindIntake(Metrics metrics, OrderService orders) {
        metrics.gauge("floodgate.intake.refusing.backlog", "1 while new orders are refused because the store is too far"
                + " behind the order log", () -> orders.refusingForBacklog() ? 1 : 0);
    }

    static void bindReconciler(Metrics metrics, Reconciler r) {
        metrics.gauge("floodgate.reconciler.leader", "1 while this instance leads the reconciler",
                () -> r.stats().leader() ? 1 : 0);
        metrics.counter("floodgate.reconciler.passes", "Reconciler passes led by this instance", () -> r.stats().passes());
        metrics.counter("floodgate.reconciler.confirmed", "Stale reservations the reconciler confirmed (order was stored)",
                () -> r.stats().confirmed());
        metrics.counter("floodgate.reconciler.released", "Stale reservations the reconciler released (order never stored)",
                () -> r.stats().released());
        metrics.gauge("floodgate.reconciler.drifting.items", "Items whose ledger and store disagreed at the last audit",
                () -> r.stats().driftingItems());
        metrics.gauge("floodgate.reconciler.drift.units", "Units of disagreement between ledger and store at the last audit",
                () -> r.stats().driftUnits());
        metrics.counter("floodgate.reconciler.repairs", "Repairs of an item's ledger from the store", () -> r.stats().repairs());
        metrics.counter("floodgate.reconciler.repaired.keys", "Keys the reconciler's repairs added to the ledger or moved"
                + " to the store's state", () -> r.stats().repairedKeys());
        metrics.counter("floodgate.reconciler.repair.conflicts", "Keys a repair left alone because ledger and store"
                + " disagree in a way neither may decide", () -> r.stats().repairConflicts());
    }

    /**
     * Payments: orders by payment state (from the store, every instance's orders, refreshed at most
     * once a second), callbacks by outcome, expiries and their units, the event relay.
     */
    static void bindPayments(Metrics metrics, java.util.function.Supplier<java.util.Map<PaymentState, Long>> counts,
                             PaymentService payments, PaymentExpiry expiry, EventRelay relay, EventFeed feed,
                             Admission admission) {
        for (PaymentState state : PaymentState.values()) {
            metrics.gauge("floodgate.payments.orders", "Orders with a payment window, by payment state (all instances)",
                    List.of("state", state.name().toLowerCase(Locale.ROOT)), () -> counts.get().getOrDefault(state, 0L));
        }
        for (PaymentService.Outcome outcome : PaymentService.Outcome.values()) {
            metrics.counter("floodgate.payments.callbacks", "Payment callbacks taken by this instance, by outcome",
                    List.of("outcome", outcome.name().toLowerCase(Locale.ROOT)), () -> payments.outcomes(outcome));
        }
        metrics.gauge("floodgate.payments.in.flight", "Payment callbacks being served here", admission::paymentsInFlight);
        metrics.counter("floodgate.payments.expired", "Orders expired by this instance", () -> expiry.stats().expired());
        metrics.counter("floodgate.payments.units.returned", "Expired orders whose units this instance gave back",
                () -> expiry.stats().unitsReturned());
        metrics.counter("floodgate.payments.return.failures", "Unit returns of expired orders that failed here (retried"
                + " by a later pass)", () -> expiry.stats().returnFailures());
        metrics.gauge("floodgate.events.relay.leader", "1 while this instance relays order events",
                () -> relay.stats().leader() ? 1 : 0);
        metrics.counter("floodgate.events.stamped", "Order events given their position by this instance's relay"
                + " (none on the embedded store, whose events get theirs as they are written)", () -> relay.stats().stamped());
        metrics.counter("floodgate.events.published", "Order events this instance published to Kafka",
                () -> relay.stats().published());
        metrics.gauge("floodgate.events.readers.waiting", "GET /api/v1/events readers waiting here", feed::waiting);
    }
}
