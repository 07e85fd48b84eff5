package io.floodgate.observe;

import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A client chooses the method token, and a server that made it a label grew a series per
 * invented method (15,000 of them took /metrics from 800 series to 240,000). Every label of the
 * request metric comes from a closed set.
 */
class MetricsLabelsTest {

    @Test
    void invented_methods_share_one_label_and_the_series_stay_bounded() {
        try (Metrics metrics = new Metrics()) {
            metrics.request("/health/live", "GET", 200, 1_000);
            long before = requestSeries(metrics);
            for (int i = 0; i < 10_000; i++) {
                metrics.request("/anything", "M" + i + "X", 405, 1_000);
                metrics.request("/anything", "GET", 1_000 + i, 1_000);
            }
            String scrape = metrics.scrape();
            assertThat(scrape).contains("method=\"OTHER\"").doesNotContain("M42X");
            assertThat(requestSeries(metrics)).as("series for 20,000 hostile requests").isLessThanOrEqualTo(before + 2);
        }
    }

    @Test
    void a_routes_own_timers_keep_the_labels_closed_and_share_the_series() {
        try (Metrics metrics = new Metrics()) {
            Metrics.RouteTimers route = metrics.route("/api/v1/orders");
            metrics.request("/api/v1/orders", "POST", 409, 1_000);
            long before = requestSeries(metrics);
            for (int i = 0; i < 10_000; i++) {
                route.record("M" + i + "X", 405, 1_000);
                route.record("POST", 1_000 + i, 1_000);
                route.record("POST", -i, 1_000);
                route.record("POST", 409, 1_000);
            }
            String scrape = metrics.scrape();
            assertThat(scrape).contains("method=\"OTHER\"").doesNotContain("M42X")
                    .contains("floodgate_http_requests_seconds_count{method=\"POST\",route=\"/api/v1/orders\",status=\"409\"} 10001");
            assertThat(requestSeries(metrics)).as("series for 30,000 hostile requests").isLessThanOrEqualTo(before + 2);
        }
    }

    private static long requestSeries(Metrics metrics) {
        return Arrays.stream(metrics.scrape().split("\n"))
                .filter(l -> l.startsWith("floodgate_http_requests_seconds_count{")).count();
    }
}
