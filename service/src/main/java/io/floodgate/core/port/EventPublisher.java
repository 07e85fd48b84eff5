package io.floodgate.core.port;

import io.floodgate.core.domain.OrderEvent;

import java.util.List;

/**
 * Where the outbox's events go beyond the store (Kafka): published by one relay at a time, in
 * position order, each exactly once as a consumer that follows the committed offsets sees it.
 */
public interface EventPublisher extends AutoCloseable {

    /**
     * Takes over publishing: fences any publisher that held it before (its later sends fail), and
     * answers the highest position already published, read back from where the events went (0:
     * none). The relay publishes from just after it, so a relay that died mid-batch neither skips
     * nor repeats an event.
     *
     * @throws io.floodgate.core.DependencyUnavailableException when the destination does not answer
     */
    long resume();

    /**
     * Publishes {@code events} (positions rising, all after the last published) all or none.
     *
     * @throws io.floodgate.core.StaleFencingTokenException when another publisher has taken over
     *         since {@link #resume()}: this one must stop
     * @throws io.floodgate.core.DependencyUnavailableException when none of them was published (or
     *         it is unknown which were: resume again before going on)
     */
    void publish(List<OrderEvent> events);

    @Override
    void close();
}
