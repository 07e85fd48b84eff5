package io.floodgate.http;

import io.floodgate.core.CatalogService;
import io.floodgate.core.Rejection;
import io.floodgate.flow.Admission;
import io.floodgate.observe.Diagnostics;
import io.floodgate.observe.Metrics;
import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.function.Supplier;

import static io.floodgate.http.Problems.json;

/**
 * What operators use: health, readiness, metrics, the dashboard and its figures, the OpenAPI
 * document of the whole API ({@code /openapi.yaml}, a resource of the jar), thread dumps and
 * profiles (the last two for the admin).
 */
final class OperationRoutes implements HttpService {

    private static final byte[] UP = "{\"status\":\"UP\"}".getBytes(StandardCharsets.US_ASCII);

    private final CatalogService catalog;
    private final Admission admission;
    private final Supplier<List<String>> downDependencies;
    private final Metrics metrics;
    private final Auth auth;
    private final Problems problems;
    private final Clock clock;
    private final byte[] dashboard;
    private final byte[] openApi;
    private final String dashboardPolicy;

    static final HeaderName CONTENT_SECURITY_POLICY = HeaderNames.create("Content-Security-Policy");
    static final HeaderName X_CONTENT_TYPE_OPTIONS = HeaderNames.create("X-Content-Type-Options");
    static final HeaderName REFERRER_POLICY = HeaderNames.create("Referrer-Policy");
    static final HeaderName X_FRAME_OPTIONS = HeaderNames.create("X-Frame-Options");
    private final Supplier<java.util.Map<io.floodgate.core.domain.PaymentState, Long>> paymentCounts;

    OperationRoutes(CatalogService catalog, Admission admission, Supplier<List<String>> downDependencies, Metrics metrics,
                    Auth auth, Problems problems, Clock clock,
                    Supplier<java.util.Map<io.floodgate.core.domain.PaymentState, Long>> paymentCounts) {
        this.paymentCounts = paymentCounts;
        this.catalog = catalog;
        this.admission = admission;
        this.downDependencies = downDependencies;
        this.metrics = metrics;
        this.auth = auth;
        this.problems = problems;
        this.clock = clock;
        this.dashboard = resource("/static/index.html");
        this.openApi = resource("/static/openapi.yaml");
        this.dashboardPolicy = policyFor(dashboard);
    }

    /**
     * The dashboard's Content-Security-Policy: nothing but its own inline script (allowed by its
     * hash, computed from the page served, so an edit of the page cannot fall out of step), inline
     * styles (it draws bars with style attributes), and requests to its own origin (it polls
     * /api/v1/stats); never framed (clickjacking), no base or form target.
     */
    static String policyFor(byte[] page) {
        String html = new String(page, StandardCharsets.UTF_8);
        StringBuilder scripts = new StringBuilder();
        int at = 0;
        while ((at = html.indexOf("<script>", at)) >= 0) {
            int end = html.indexOf("</script>", at);
            if (end < 0) {
                throw new IllegalStateException("the dashboard has a <script> with no end");
            }
            String body = html.substring(at + "<script>".length(), end);
            try {
                byte[] digest = MessageDigest.getInstance("SHA-256").digest(body.getBytes(StandardCharsets.UTF_8));
                scripts.append(" 'sha256-").append(Base64.getEncoder().encodeToString(digest)).append('\'');
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
            at = end;
        }
        return "default-src 'none'; script-src" + (scripts.isEmpty() ? " 'none'" : scripts) + "; style-src 'unsafe-inline';"
                + " img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
    }

    @Override
    public void routing(HttpRules r) {
        get(r, "/api/v1/stats", this::stats);
        get(r, "/health/live", (req, res) -> json(res, 200, UP));
        get(r, "/health/ready", this::ready);
        get(r, "/metrics", (req, res) -> {
            res.header(HeaderNames.CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
            res.send(metrics.scrape().getBytes(StandardCharsets.UTF_8));
        });
        get(r, "/", (req, res) -> {
            try (Admission.Permit permit = admission.admitRead()) {
                res.header(HeaderNames.CONTENT_TYPE, "text/html; charset=utf-8");
                res.header(CONTENT_SECURITY_POLICY, dashboardPolicy);
                res.header(X_CONTENT_TYPE_OPTIONS, "nosniff");
                res.header(REFERRER_POLICY, "no-referrer");
                res.header(X_FRAME_OPTIONS, "DENY");
                res.send(dashboard);
            }
        });
        get(r, "/openapi.yaml", (req, res) -> {
            res.header(HeaderNames.CONTENT_TYPE, "application/yaml; charset=utf-8");
            res.send(openApi);
        });
        get(r, "/debug/threads", this::threads);
        r.post("/debug/profile", problems.endpoint("/debug/profile", this::profile))
                .any("/debug/profile", problems.notAllowed("POST"));
    }

    /** A GET route, HEAD on it, and 405 with both for any other method. */
    private void get(HttpRules r, String path, Problems.Endpoint endpoint) {
        r.get(path, problems.endpoint(path, endpoint))
                .head(path, problems.head(path, endpoint))
                .any(path, problems.notAllowed("GET, HEAD"));
    }

    private void ready(ServerRequest req, ServerResponse res) {
        List<String> down = downDependencies.get();
        if (down.isEmpty()) {
            json(res, 200, UP);
            return;
        }
        problems.send(res, Rejection.NOT_READY, "not ready: waiting for " + String.join(", ", down), 0, g -> {
            g.writeArrayFieldStart("down");
            for (String d : down) {
                g.writeString(d);
            }
            g.writeEndArray();
        });
    }

    /** The dashboard's figures: items, readiness and {@link Metrics#snapshot()}, read at once. */
    private void stats(ServerRequest req, ServerResponse res) {
        json(res, 200, Json.stats(clock.instant(), catalog.items(), downDependencies.get(), metrics.snapshot(),
                paymentCounts.get()));
    }

    private void threads(ServerRequest req, ServerResponse res) throws IOException {
        auth.requireAdmin(req);
        res.header(HeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8");
        res.send(Diagnostics.threadDump().getBytes(StandardCharsets.UTF_8));
    }

    private void profile(ServerRequest req, ServerResponse res) throws IOException, InterruptedException {
        int seconds = Json.intParameter("seconds", req.query().contains("seconds") ? req.query().get("seconds") : null,
                10, 1, 120);
        auth.requireAdmin(req);
        byte[] jfr = Diagnostics.profile(Duration.ofSeconds(seconds));
        res.header(HeaderNames.CONTENT_TYPE, "application/octet-stream");
        res.header(HeaderNames.CONTENT_DISPOSITION, "attachment; filename=\"floodgate-" + System.currentTimeMillis() + ".jfr\"");
        res.send(jfr);
    }

    private static byte[] resource(String path) {
        try (InputStream in = OperationRoutes.class.getResourceAsStream(path)) {
            if (in == null) {
                throw new IllegalStateException("resource " + path + " is missing from the build");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
