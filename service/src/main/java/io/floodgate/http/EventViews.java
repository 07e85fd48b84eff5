package io.floodgate.http;

import io.floodgate.core.domain.OrderEvent;

/**
 * Order events as CloudEvents 1.0 JSON, the one rendering every reader gets: the events endpoint
 * here, and (handed over by the wiring) the Kafka events topic.
 */
public final class EventViews {

    private EventViews() {
    }

    /** One event, structured mode: the whole CloudEvent as a JSON object, {@code data} the order view. */
    public static byte[] cloudEvent(OrderEvent event) {
        return Json.write(g -> Json.writeCloudEvent(g, event));
    }
}
