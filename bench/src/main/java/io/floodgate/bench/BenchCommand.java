package io.floodgate.bench;

import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Option;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The command line of {@code floodgate bench}: picocli options, nothing else. {@link #plan} turns
 * them into a checked {@link Plan}; picocli reports what it cannot parse, the plan what it cannot
 * run, both naming the option.
 */
@Command(name = "floodgate bench", sortOptions = false, mixinStandardHelpOptions = true,
        version = "floodgate bench 1",
        description = {
                "Drives a flash sale against Floodgate over HTTP, prints a live line every second and a summary,",
                "then verifies the sale through the API (units sold, per-user limit, one order per key, store and",
                "item view in agreement). Exit status: 0 all good, 1 an invariant failed, 2 bad usage, 3 the run",
                "could not start (target unreachable, item not created)."},
        footer = {"", "Examples:",
                "  floodgate bench --stock 10000 --users 50000 --concurrency 256 --admin-token $TOKEN",
                "  floodgate bench --rate 20000 --duration 30s --no-stop-on-sold-out --stock 1000000 --admin-token $TOKEN",
                "  floodgate bench --scenario live --concurrency 256 --duration 10s --warmup 5s"})
final class BenchCommand {

    @Option(names = {"-t", "--target"}, split = ",", paramLabel = "URL",
            description = "Instance(s) to drive, round robin by request (repeat or comma-separate). Default: ${DEFAULT-VALUE}",
            defaultValue = "http://127.0.0.1:8080")
    List<URI> targets = new ArrayList<>();

    @Option(names = "--scenario", paramLabel = "sale|live", defaultValue = "sale",
            description = "sale: POST orders for one item and verify; live: GET /health/live (the generator's ceiling). Default: ${DEFAULT-VALUE}")
    String scenario;

    @Option(names = "--sku", description = "Item to sell. Default: bench-<run id>, created for the run")
    String sku;

    @Option(names = "--existing", description = "Use the item --sku as it is, without creating it (no admin token needed)")
    boolean existing;

    @Option(names = "--stock", defaultValue = "10000", description = "Units on sale when the item is created. Default: ${DEFAULT-VALUE}")
    long stock;

    @Option(names = "--per-user-limit", defaultValue = "1", description = "The item's per-user limit when created. Default: ${DEFAULT-VALUE}")
    int perUserLimit;

    @Option(names = {"-u", "--users"}, defaultValue = "50000", description = "Distinct users, picked at random per request. Default: ${DEFAULT-VALUE}")
    int users;

    @Option(names = "--quantity", defaultValue = "1", description = "Units per order. Default: ${DEFAULT-VALUE}")
    int quantity;

    @Option(names = {"-c", "--concurrency", "--connections"}, defaultValue = "256",
            description = "Closed loop: requests in flight. Open loop (--connections): workers, each with one keep-alive connection per target and one request in flight; arrivals due while all are busy wait for one and are counted as client backlog. Default: ${DEFAULT-VALUE}")
    int concurrency;

    @Option(names = {"-r", "--rate"}, defaultValue = "0",
            description = "Open loop: intended requests per second; latency counts from each request's intended send time"
                    + " (coordinated omission corrected). 0: closed loop. Default: ${DEFAULT-VALUE}")
    double rate;

    @Option(names = {"-d", "--duration"}, defaultValue = "60s", converter = DurationConverter.class,
            description = "Longest run (500ms, 30s, 2m, 1h). Default: ${DEFAULT-VALUE}")
    Duration duration;

    @Option(names = {"-n", "--requests"}, defaultValue = "0", description = "Stop after this many requests (0: no cap). Default: ${DEFAULT-VALUE}")
    long requests;

    @Option(names = "--stop-on-sold-out", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Stop at the first SOLD_OUT answer (--no-stop-on-sold-out: keep selling into a sold-out item). Default: ${DEFAULT-VALUE}")
    boolean stopOnSoldOut;

    @Option(names = "--retry-share", defaultValue = "0.05",
            description = "Share of requests that resend an earlier request with the same Idempotency-Key. Default: ${DEFAULT-VALUE}")
    double retryShare;

    @Option(names = "--timeout", defaultValue = "10s", converter = DurationConverter.class,
            description = "Client timeout per request, connecting included: no complete answer by then counts as a timeout (outcome unknown). Default: ${DEFAULT-VALUE}")
    Duration timeout;

    @Option(names = "--client", defaultValue = "raw", paramLabel = "raw|jdk",
            description = "raw: our HTTP/1.1 over one socket per worker; jdk: java.net.http.HttpClient. Default: ${DEFAULT-VALUE}")
    String client;

    @Option(names = "--warmup", defaultValue = "0s", converter = DurationConverter.class,
            description = "Unrecorded load first, at the run's rate on the same JVM, so that the generator's own JIT is warm"
                    + " when recording starts (in a sale only with --no-verify: it sells). Default: ${DEFAULT-VALUE}")
    Duration warmup;

    @Option(names = "--admin-token", description = "Admin bearer token, to create the item. Default: $FLOODGATE_ADMIN_TOKEN")
    String adminToken;

    @Option(names = "--report-dir", paramLabel = "DIR", description = "Write report.json and report.html here")
    Path reportDir;

    @Option(names = "--seed", description = "Seed for every random choice (printed; default: random)")
    Long seed;

    @Option(names = "--verify", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Verify the sale through the API afterwards. Default: ${DEFAULT-VALUE}")
    boolean verify;

    @Option(names = "--payment-window", defaultValue = "0", paramLabel = "SECONDS",
            description = "Create the item with this payment window (0: none; orders are final at once). Default: ${DEFAULT-VALUE}")
    int paymentWindow;

    @Option(names = "--price", defaultValue = "100", paramLabel = "CENTS",
            description = "With --payment-window: the item's price a unit, in EUR cents. Default: ${DEFAULT-VALUE}")
    long price;

    @Option(names = "--pay-share", defaultValue = "0",
            description = "Share of acknowledged orders whose buyer pays (signed callbacks); the rest expire. Default: ${DEFAULT-VALUE}")
    double payShare;

    @Option(names = "--late-share", defaultValue = "0",
            description = "Share of the paying buyers who pay after the due time (refund due). Default: ${DEFAULT-VALUE}")
    double lateShare;

    @Option(names = "--payment-secret", description = "The service's payment callback secret. Default: $FLOODGATE_PAYMENT_SECRET")
    String paymentSecret;

    @Option(names = "--progress", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Print a live line every second. Default: ${DEFAULT-VALUE}")
    boolean progress;

    /** Picocli's converter for {@link Durations}. */
    static final class DurationConverter implements ITypeConverter<Duration> {
        @Override
        public Duration convert(String value) {
            return Durations.parse(value);
        }
    }

    /** The payments part of the plan; {@code env} supplies FLOODGATE_PAYMENT_SECRET. */
    Payments.PaymentPlan payments(Map<String, String> env) {
        if (paymentWindow > 0 && existing) {
            throw new Plan.InvalidPlanException("--payment-window sets up the item: it cannot go with --existing");
        }
        return new Payments.PaymentPlan(paymentWindow, price, payShare, lateShare,
                paymentSecret != null ? paymentSecret : env.get("FLOODGATE_PAYMENT_SECRET"));
    }

    /** The plan these options describe; {@code env} supplies FLOODGATE_ADMIN_TOKEN. */
    Plan plan(Map<String, String> env) {
        String runId = Long.toString(ThreadLocalRandom.current().nextLong(36L * 36 * 36 * 36 * 36 * 36), 36);
        Plan.Scenario parsedScenario = switch (scenario.toLowerCase(Locale.ROOT)) {
            case "sale" -> Plan.Scenario.SALE;
            case "live" -> Plan.Scenario.LIVE;
            default -> throw new Plan.InvalidPlanException("--scenario must be sale or live, was '" + scenario + "'");
        };
        Plan.Client parsedClient = switch (client.toLowerCase(Locale.ROOT)) {
            case "raw" -> Plan.Client.RAW;
            case "jdk" -> Plan.Client.JDK;
            default -> throw new Plan.InvalidPlanException("--client must be raw or jdk, was '" + client + "'");
        };
        if (existing && sku == null) {
            throw new Plan.InvalidPlanException("--existing needs --sku naming the item to drive");
        }
        String token = adminToken != null ? adminToken : env.get("FLOODGATE_ADMIN_TOKEN");
        return new Plan(runId, targets, parsedScenario, sku != null ? sku : "bench-" + runId, !existing, stock,
                perUserLimit, users, quantity, concurrency, rate, duration, requests, stopOnSoldOut, retryShare,
                timeout, parsedClient, warmup, token, reportDir,
                seed != null ? seed : ThreadLocalRandom.current().nextLong(), verify, progress);
    }
}
