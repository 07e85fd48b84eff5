package io.floodgate.observe;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * docs/grafana/floodgate.json is a well-formed Grafana dashboard, and every metric it queries is
 * in a real scrape: the embedded service's for everything but the distributed-only metrics
 * (Redis, Kafka), which are checked against a distributed service's scrape when Redis, Kafka and
 * MariaDB answer.
 */
class GrafanaDashboardTest {

    private static final Path DASHBOARD = Path.of("docs", "grafana", "floodgate.json");
    /** Metrics only a distributed instance has. */
    private static final Pattern DISTRIBUTED_ONLY = Pattern.compile("floodgate_(redis|kafka|cluster)_.*");
    /** PromQL words that are not metric names: functions, aggregations, modifiers, keywords. */
    private static final Set<String> PROMQL_WORDS = Set.of("sum", "avg", "min", "max", "count", "rate", "irate",
            "increase", "histogram_quantile", "by", "without", "on", "ignoring", "group_left", "group_right", "and",
            "or", "unless", "label_values", "topk", "bottomk", "clamp_min", "clamp_max", "abs", "delta", "deriv",
            "vector", "scalar", "offset", "bool", "time");
    private static final Pattern IDENTIFIER = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*");

    private static JsonNode dashboard;

    @BeforeAll
    static void read() throws IOException {
        dashboard = new ObjectMapper().readTree(Files.readString(DASHBOARD));
    }

    @Test
    void theDashboardIsWellFormed() {
        assertThat(dashboard.path("title").asText()).isNotBlank();
        assertThat(dashboard.path("uid").asText()).matches("[A-Za-z0-9_-]{1,40}");
        assertThat(dashboard.path("schemaVersion").asInt()).isGreaterThanOrEqualTo(36);
        assertThat(dashboard.path("__inputs").get(0).path("name").asText()).isEqualTo("DS_PROMETHEUS");
        Set<Integer> ids = new HashSet<>();
        int queries = 0;
        for (JsonNode panel : dashboard.path("panels")) {
            assertThat(ids.add(panel.path("id").asInt())).as("panel id %s is unique", panel.path("id")).isTrue();
            assertThat(panel.path("title").asText()).as("every panel has a title").isNotBlank();
            JsonNode grid = panel.path("gridPos");
            assertThat(grid.path("w").asInt()).as("width of %s", panel.path("title")).isBetween(1, 24);
            assertThat(grid.path("x").asInt() + grid.path("w").asInt()).as("%s fits in 24 columns", panel.path("title"))
                    .isLessThanOrEqualTo(24);
            if ("row".equals(panel.path("type").asText())) {
                continue;
            }
            assertThat(panel.path("datasource").path("uid").asText()).isEqualTo("${DS_PROMETHEUS}");
            assertThat(panel.path("targets")).as("%s has queries", panel.path("title")).isNotEmpty();
            for (JsonNode target : panel.path("targets")) {
                assertThat(target.path("expr").asText()).isNotBlank();
                assertThat(balanced(target.path("expr").asText())).as("brackets of %s", target.path("expr")).isTrue();
                queries++;
            }
        }
        assertThat(queries).isGreaterThan(10);
    }

    @Test
    void everyMetricItQueriesIsInARealScrapeOfTheEmbeddedService() {
        Set<String> scraped = Scrapes.names(Scrapes.embedded());
        Set<String> queried = new TreeSet<>(queriedMetrics());
        queried.removeIf(name -> DISTRIBUTED_ONLY.matcher(name).matches());
        assertThat(queried).as("metrics the dashboard queries").isNotEmpty();
        assertThat(minus(queried, scraped)).as("metrics the dashboard queries that the embedded service does not have")
                .isEmpty();
    }

    @Test
    void everyDistributedMetricItQueriesIsInARealScrapeOfADistributedService() {
        Set<String> scraped = Scrapes.names(Scrapes.distributed());
        assertThat(minus(queriedMetrics(), scraped))
                .as("metrics the dashboard queries that a distributed service (Redis, Kafka, MariaDB) does not have")
                .isEmpty();
    }

    /** Metric names in every query and template variable of the dashboard. */
    static Set<String> queriedMetrics() {
        List<String> expressions = new ArrayList<>();
        for (JsonNode panel : dashboard.path("panels")) {
            panel.path("targets").forEach(t -> expressions.add(t.path("expr").asText()));
        }
        dashboard.path("templating").path("list").forEach(v -> expressions.add(v.path("query").path("query").asText()));
        Set<String> names = new TreeSet<>();
        for (String expr : expressions) {
            names.addAll(metricNames(expr));
        }
        return names;
    }

    /**
     * The metric names of a PromQL expression: identifiers outside label matchers ({...}), range
     * selectors ([...]), strings and grouping clauses (by/without (...)), that are not PromQL words.
     */
    static Set<String> metricNames(String expr) {
        String bare = expr.replaceAll("\"(?:[^\"\\\\]|\\\\.)*\"", "\"\"")
                .replaceAll("\\{[^}]*\\}", " ")
                .replaceAll("\\[[^\\]]*\\]", " ")
                .replaceAll("\\b(by|without|on|ignoring|group_left|group_right)\\s*\\([^)]*\\)", " ")
                .replaceAll("\\$\\w+", " ");
        Set<String> names = new TreeSet<>();
        Matcher m = IDENTIFIER.matcher(bare);
        while (m.find()) {
            String word = m.group();
            boolean number = m.start() > 0 && Character.isDigit(bare.charAt(m.start() - 1));
            if (!PROMQL_WORDS.contains(word) && !number) {
                names.add(word);
            }
        }
        // label_values(metric, label): the label is not a metric
        Matcher lv = Pattern.compile("label_values\\(\\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\\s*,\\s*(\\w+)\\s*\\)").matcher(expr);
        while (lv.find()) {
            names.remove(lv.group(2));
        }
        return names;
    }

    @Test
    void metricNamesAreReadFromPromQl() {
        assertThat(metricNames("histogram_quantile(0.99, sum by (le) (rate(floodgate_http_requests_seconds_bucket"
                + "{instance=~\"$instance\",route=\"/api/v1/orders\"}[$__rate_interval])))"))
                .containsExactly("floodgate_http_requests_seconds_bucket");
        assertThat(metricNames("label_values(floodgate_http_requests_seconds_count, instance)"))
                .containsExactly("floodgate_http_requests_seconds_count");
        assertThat(metricNames("sum(a_total) / max(b)")).containsExactly("a_total", "b");
    }

    private static boolean balanced(String s) {
        int depth = 0;
        for (char c : s.toCharArray()) {
            if (c == '(' || c == '{' || c == '[') {
                depth++;
            } else if (c == ')' || c == '}' || c == ']') {
                depth--;
            }
            if (depth < 0) {
                return false;
            }
        }
        return depth == 0;
    }

    private static Set<String> minus(Set<String> a, Set<String> b) {
        Set<String> out = new TreeSet<>(a);
        out.removeAll(b);
        return out;
    }
}
