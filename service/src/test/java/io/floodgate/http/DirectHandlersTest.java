package io.floodgate.http;

import com.fasterxml.jackson.databind.JsonNode;
import io.floodgate.observe.Metrics;
import io.helidon.http.DirectHandler;
import io.helidon.http.HeaderNames;
import io.helidon.http.ServerResponseHeaders;
import io.helidon.http.Status;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What the server answers for requests Helidon turns down before routing: problem+json with a
 * request id, the status the contract gives, and for Helidon's own 503 a {@code Retry-After}, as
 * for every other refusal of load.
 */
class DirectHandlersTest {

    private final HttpApi api = new HttpApi(null, null, null, List::of, new Metrics(),
            new HttpApi.Settings("admin", null, 16_384, Duration.ofMillis(500), Duration.ofSeconds(5)), Clock.systemUTC());

    private DirectHandler.TransportResponse answer(Status status) {
        return api.directHandlers().handler(DirectHandler.EventType.OTHER)
                .handle(DirectHandler.TransportRequest.empty(), DirectHandler.EventType.OTHER, status,
                        ServerResponseHeaders.create(), "refused");
    }

    private static JsonNode body(DirectHandler.TransportResponse response) throws IOException {
        return Json.MAPPER.readTree(response.entity().orElseThrow());
    }

    @Test
    void theServersOwn503IsOverloadedWithRetryAfter() throws IOException {
        DirectHandler.TransportResponse r = answer(Status.SERVICE_UNAVAILABLE_503);
        assertThat(r.status().code()).isEqualTo(503);
        assertThat(r.headers().first(HeaderNames.RETRY_AFTER)).contains("1");
        assertThat(r.headers().first(HeaderNames.CONTENT_TYPE)).contains("application/problem+json");
        JsonNode body = body(r);
        assertThat(body.path("code").asText()).isEqualTo("OVERLOADED");
        assertThat(body.path("status").asInt()).isEqualTo(503);
        assertThat(body.path("requestId").asText()).isEqualTo(r.headers().first(HeaderNames.create("X-Request-Id")).orElseThrow());
    }

    @Test
    void malformedAndTooLargeKeepTheirStatusesAndHaveNoRetryAfter() throws IOException {
        DirectHandler.TransportResponse bad = answer(Status.BAD_REQUEST_400);
        assertThat(bad.status().code()).isEqualTo(400);
        assertThat(body(bad).path("code").asText()).isEqualTo("INVALID_REQUEST");
        assertThat(bad.headers().contains(HeaderNames.RETRY_AFTER)).isFalse();
        DirectHandler.TransportResponse large = answer(Status.REQUEST_ENTITY_TOO_LARGE_413);
        assertThat(large.status().code()).isEqualTo(413);
        assertThat(body(large).path("code").asText()).isEqualTo("PAYLOAD_TOO_LARGE");
    }
}
