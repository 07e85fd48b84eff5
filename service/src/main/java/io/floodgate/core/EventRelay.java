package io.floodgate.core;

import io.floodgate.concurrent.Periodic;
import io.floodgate.core.domain.OrderEvent;
import io.floodgate.core.port.EventPublisher;
import io.floodgate.core.port.Lock;
import io.floodgate.core.port.OrderStore;

import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongConsumer;

/**
 * Relays the transactional outbox, on one instance at a time (the holder of the {@value #LOCK_NAME}
 * lock).
 *
 * <h2>Stamping: the cursor in commit order</h2>
 * Every change writes its event in its own transaction, where an auto-increment number is given
 * when the row is written, not when it commits: a reader that followed it would skip a row whose
 * transaction commits after a later one's. So the relay gives each committed event its position
 * ({@link OrderStore#stampEvents}), in one fenced transaction per batch, and readers follow the
 * positions up to the watermark the same transaction moves. An order's changes lock its row, so
 * its second change writes its event after the first committed: it is stamped after it. A store
 * whose write transactions run one at a time (the embedded SQLite store) gives each event its
 * position as it is written, in commit order by construction, and visible as it commits: it has
 * nothing to stamp, and the relay only publishes.
 *
 * <h2>Publishing: exactly once, resumed from what was published</h2>
 * With a publisher (Kafka), the leader publishes the stamped events in position order, in batches
 * that are all or nothing. Where it stopped is read back from the destination
 * ({@link EventPublisher#resume}), never kept beside it, so a relay that died after a batch went out
 * and before it could note so neither repeats nor skips it; taking over fences the previous
 * publisher, so a relay that was paused and wakes cannot publish behind the new one's back.
 *
 * <p>{@code publishDelay} is told, for each event published, the time from its change to its
 * publication (ms).
 */
public final class EventRelay implements AutoCloseable {

    public static final String LOCK_NAME = "floodgate.events";
    private static final System.Logger LOG = System.getLogger(EventRelay.class.getName());

    /**
     * @param period how long the relay rests when there was nothing to stamp or publish
     * @param batch  events stamped or published at once
     * @param lease  the lock's lease
     */
    public record Settings(Duration period, int batch, Duration lease) {
        public Settings {
            if (period == null || period.isNegative() || period.isZero()) {
                throw new IllegalArgumentException("period must be positive, was " + period);
            }
            if (batch < 1) {
                throw new IllegalArgumentException("batch must be >= 1, was " + batch);
            }
            if (lease == null || lease.isNegative() || lease.isZero()) {
                throw new IllegalArgumentException("lease must be positive, was " + lease);
            }
        }
    }

    /** Figures for metrics. */
    public record Stats(boolean leader, long stamped, long published, long lastPublished, long failures) {
    }

    private final OrderStore store;
    private final EventPublisher publisher;
    private final Clock clock;
    private final Settings settings;
    private final LongConsumer publishDelay;
    private final AtomicLong stamped = new AtomicLong();
    private final AtomicLong published = new AtomicLong();
    private final AtomicLong failures = new AtomicLong();
    /** The highest position the publisher holds, as last resumed and advanced; -1: resume first. */
    private volatile long publishedUpTo = -1;
    private final Leadership leadership;
    /** The lease the publisher last worked under: a new one means resuming from what was published. */
    private volatile Lock.Lease publishingUnder;
    private final List<Periodic> loops = new java.util.concurrent.CopyOnWriteArrayList<>();
    private volatile boolean closed;

    /** @param publisher null: events are only stamped (read over HTTP) */
    public EventRelay(OrderStore store, Lock lock, EventPublisher publisher, Clock clock, Settings settings,
                      LongConsumer publishDelay) {
        this.store = Objects.requireNonNull(store, "store");
        this.publisher = publisher;
        this.clock = Objects.requireNonNull(clock, "clock");
        this.settings = Objects.requireNonNull(settings, "settings");
        this.publishDelay = Objects.requireNonNull(publishDelay, "publishDelay");
        this.leadership = new Leadership(lock, LOCK_NAME, settings.lease(), "relays order events");
    }

    /**
     * Runs on virtual threads of their own until {@link #close()}: one stamps (and holds the
     * lock), one publishes (while this instance holds it), so that a broker that is away (a
     * publisher that waits to take over) never holds up the stamps the events endpoint reads.
     */
    public EventRelay start() {
        loops.add(Periodic.start("floodgate-event-stamper", settings.period(), this::stampOnce, this::failed));
        if (publisher != null) {
            loops.add(Periodic.start("floodgate-event-publisher", settings.period(), this::publishOnce, this::failed));
        }
        return this;
    }

    private void failed(RuntimeException e) {
        failures.incrementAndGet();
        LOG.log(System.Logger.Level.WARNING, "event relay pass failed (" + e.getMessage() + "); the next one tries again");
    }

    /**
     * One pass of each, on this thread: stamps a batch, then publishes a batch, if this instance
     * leads.
     *
     * @return whether there may be more to do at once (a full batch)
     */
    public boolean runOnce() {
        boolean more = stampOnce();
        if (publisher != null) {
            more |= publishOnce();
        }
        return more;
    }

    /** Stamps a batch if this instance leads (taking the lock when free); true when it was full. */
    boolean stampOnce() {
        Lock.Lease held = closed ? null : leadership.acquire();
        if (held == null) {
            return false;
        }
        try {
            int n = store.stampEvents(held.fence(), settings.batch());
            stamped.addAndGet(n);
            return n == settings.batch();
        } catch (StaleFencingTokenException e) {
            leadership.stepDown(held, e);
            return false;
        } catch (DependencyUnavailableException e) {
            failures.incrementAndGet();
            LOG.log(System.Logger.Level.WARNING, "event relay could not stamp events (" + e.getMessage()
                    + "); the next pass tries again");
            return false;
        }
    }

    /**
     * Publishes the next stamped batch while this instance holds the lock (the stamper takes it);
     * true when the batch was full. A new tenure, or any failure, reads back from the topic where
     * to go on.
     */
    boolean publishOnce() {
        Lock.Lease held = leadership.current();
        if (closed || held == null || !held.isHeld()) {
            return false;
        }
        if (held != publishingUnder) {
            publishingUnder = held;
            publishedUpTo = -1; // read back what the previous leader published
        }
        try {
            return publishBatch();
        } catch (StaleFencingTokenException e) {
            // another relay took the topic over: this one has lost the lock, or is about to
            publishedUpTo = -1;
            LOG.log(System.Logger.Level.WARNING, "another relay publishes order events now; this one stops");
            return false;
        } catch (DependencyUnavailableException e) {
            // the brokers or the store failed, maybe after a batch committed: resume from what the
            // topic holds, after a rest
            failures.incrementAndGet();
            publishedUpTo = -1;
            LOG.log(System.Logger.Level.WARNING, "event relay could not publish (" + e.getMessage()
                    + "); the next pass resumes from what was published");
            return false;
        }
    }

    /** Publishes the next stamped batch; true when it was full. */
    private boolean publishBatch() {
        long from = publishedUpTo;
        if (from < 0) {
            from = publisher.resume();
            publishedUpTo = from;
            LOG.log(System.Logger.Level.INFO, "event relay publishes from position " + (from + 1));
        }
        List<OrderEvent> batch = store.events(from, settings.batch());
        if (batch.isEmpty()) {
            return false;
        }
        publisher.publish(batch);
        long now = clock.millis();
        for (OrderEvent e : batch) {
            publishDelay.accept(Math.max(0, now - e.time().toEpochMilli()));
        }
        publishedUpTo = batch.getLast().position();
        published.addAndGet(batch.size());
        return batch.size() == settings.batch();
    }

    public Stats stats() {
        return new Stats(leadership.held(), stamped.get(), published.get(), publishedUpTo, failures.get());
    }

    @Override
    public void close() {
        closed = true;
        loops.forEach(Periodic::close);
        leadership.close();
    }
}
