package io.floodgate.bench;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * One bench run, fully decided and checked: what to drive, how hard, for how long, and what to do
 * afterwards. Built from the command line by {@link BenchCommand}; every value is validated here so
 * that a plan that exists can run, and a bad value is reported by name with what would be right.
 *
 * @param runId          names this run's users, keys and request ids ({@code [a-z0-9]}, 1-16)
 * @param targets        base URIs of the instances to drive, round robin by request
 * @param scenario       the flash sale, or the generator's ceiling against {@code /health/live}
 * @param sku            the item on sale
 * @param createItem     create (or replace) the item before the run, or use it as it is
 * @param stock          units put on sale when the item is created
 * @param perUserLimit   the item's per-user limit when it is created
 * @param users          distinct buyers, chosen uniformly at random per request
 * @param quantity       units per order
 * @param concurrency    closed loop: requests in flight; open loop: connections (and workers)
 * @param rate           open loop: intended arrivals per second; 0 for a closed loop
 * @param duration       the longest the load runs (after any warm-up)
 * @param maxRequests    stop after this many requests; 0 for no cap
 * @param stopOnSoldOut  stop at the first {@code SOLD_OUT} answer
 * @param retryShare     the share of requests that repeat an earlier request with its key
 * @param timeout        a request's client-side timeout: past it the outcome is unknown
 * @param client         which HTTP client drives the load
 * @param warmup         unrecorded load before the run, on the same JVM (its JIT warm); in a sale only
 *                       without {@code verify}, since it sells
 * @param adminToken     bearer token for item creation, or null
 * @param reportDir      where report.json and report.html go, or null
 * @param seed           seeds every random choice of the run
 * @param verify         check the sale's invariants through the API afterwards
 * @param progress       print the live line every second
 */
record Plan(
        String runId,
        List<URI> targets,
        Scenario scenario,
        String sku,
        boolean createItem,
        long stock,
        int perUserLimit,
        int users,
        int quantity,
        int concurrency,
        double rate,
        Duration duration,
        long maxRequests,
        boolean stopOnSoldOut,
        double retryShare,
        Duration timeout,
        Client client,
        Duration warmup,
        String adminToken,
        Path reportDir,
        long seed,
        boolean verify,
        boolean progress) {

    /** What the load is. */
    enum Scenario {
        /** {@code POST /api/v1/orders} against one item, then verification. */
        SALE,
        /** {@code GET /health/live}: the generator's own ceiling, to compare with wrk. */
        LIVE
    }

    /** Which HTTP client sends the load; see docs/BENCH-GENERATOR.md for how they compare. */
    enum Client {
        /** Our own HTTP/1.1 over one blocking socket per worker (see {@code Http1Connection}). */
        RAW,
        /** {@code java.net.http.HttpClient}, HTTP/1.1, shared by all workers. */
        JDK
    }

    /** A value that cannot make a run: says which option, what it was and what would be right. */
    static final class InvalidPlanException extends IllegalArgumentException {
        InvalidPlanException(String message) {
            super(message);
        }
    }

    Plan {
        Objects.requireNonNull(scenario, "scenario");
        Objects.requireNonNull(client, "client");
        if (runId == null || !runId.matches("[a-z0-9]{1,16}")) {
            throw new InvalidPlanException("run id must be 1-16 characters of [a-z0-9], was '" + runId + "'");
        }
        if (targets == null || targets.isEmpty()) {
            throw new InvalidPlanException("--target: at least one target is needed, e.g. http://127.0.0.1:8080");
        }
        for (URI t : targets) {
            if (!"http".equals(t.getScheme()) || t.getHost() == null) {
                throw new InvalidPlanException("--target must be an http://host:port URL, was '" + t + "'");
            }
            if (t.getRawPath() != null && !t.getRawPath().isEmpty() && !"/".equals(t.getRawPath())) {
                throw new InvalidPlanException("--target must have no path (the API is at its root), was '" + t + "'");
            }
        }
        targets = List.copyOf(targets);
        if (sku == null || !sku.matches("[A-Za-z0-9._-]{1,64}")) {
            throw new InvalidPlanException("--sku must be 1-64 characters of [A-Za-z0-9._-], was '" + sku + "'");
        }
        check(stock >= 0 && stock <= 1_000_000_000L, "--stock", "from 0 to 1,000,000,000", stock);
        check(perUserLimit >= 1 && perUserLimit <= 1_000_000, "--per-user-limit", "from 1 to 1,000,000", perUserLimit);
        check(users >= 1 && users <= 100_000_000, "--users", "from 1 to 100,000,000", users);
        check(quantity >= 1 && quantity <= 1000, "--quantity", "from 1 to 1000", quantity);
        check(concurrency >= 1 && concurrency <= 100_000, "--concurrency", "from 1 to 100,000", concurrency);
        if (!(rate >= 0 && rate <= 10_000_000) || Double.isNaN(rate)) {
            throw new InvalidPlanException("--rate must be from 0 (closed loop) to 10,000,000 per second, was " + rate);
        }
        requirePositive(duration, "--duration");
        check(maxRequests >= 0, "--requests", "0 (no cap) or more", maxRequests);
        if (!(retryShare >= 0 && retryShare < 1)) {
            throw new InvalidPlanException("--retry-share must be from 0 to below 1, was " + retryShare);
        }
        requirePositive(timeout, "--timeout");
        Objects.requireNonNull(warmup, "warmup");
        if (warmup.isNegative()) {
            throw new InvalidPlanException("--warmup must not be negative, was " + Durations.format(warmup));
        }
        if (scenario == Scenario.SALE && !warmup.isZero() && verify) {
            throw new InvalidPlanException("--warmup in a sale sells stock before the run, which the checks would count:"
                    + " pass --no-verify with it, or use --scenario live (was " + Durations.format(warmup) + ")");
        }
        if (scenario == Scenario.SALE && createItem && (adminToken == null || adminToken.isBlank())) {
            throw new InvalidPlanException("creating item " + sku + " needs the admin token: pass --admin-token or set"
                    + " FLOODGATE_ADMIN_TOKEN, or drive an existing item with --sku <sku> --existing");
        }
        if (verify && scenario == Scenario.SALE && perUserLimit > 500 && createItem) {
            throw new InvalidPlanException("--per-user-limit " + perUserLimit + " is over 500, the most orders one"
                    + " listing returns, so the verification could not see every order; use 500 or less, or --no-verify");
        }
    }

    boolean openLoop() {
        return rate > 0;
    }

    private static void check(boolean ok, String option, String range, long value) {
        if (!ok) {
            throw new InvalidPlanException(option + " must be " + range + ", was " + value);
        }
    }

    private static void requirePositive(Duration d, String option) {
        Objects.requireNonNull(d, option);
        if (d.isNegative() || d.isZero()) {
            throw new InvalidPlanException(option + " must be positive, was " + Durations.format(d));
        }
    }
}
