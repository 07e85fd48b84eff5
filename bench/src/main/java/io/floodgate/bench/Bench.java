package io.floodgate.bench;

import picocli.CommandLine;

import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code floodgate bench}: the flash-sale load generator. A client of the HTTP API and nothing
 * else: a module of its own (floodgate-bench.jar), built without the service on its class path,
 * so it cannot import the service.
 *
 * <p>A run goes: plan (parse and check the options) → set up (targets answer, item created or
 * found) → load ({@link LoadDriver}, with a live line every second) → verify ({@link Verifier})
 * → summary, and report.json and report.html when asked. Exit status: {@value #OK} all good,
 * {@value #INVARIANT_FAILED} an invariant failed, {@value #USAGE} bad usage, {@value #CANNOT_RUN}
 * the run could not start.
 */
public final class Bench {

    public static final int OK = 0;
    public static final int INVARIANT_FAILED = 1;
    public static final int USAGE = 2;
    public static final int CANNOT_RUN = 3;

    private final Plan plan;
    private final Payments.PaymentPlan payments;
    private final PrintStream out;
    private final PrintStream err;

    private Bench(Plan plan, Payments.PaymentPlan payments, PrintStream out, PrintStream err) {
        this.plan = plan;
        this.payments = payments;
        this.out = out;
        this.err = err;
    }

    /**
     * {@code floodgate bench}: the entry point of floodgate-bench.jar, which {@code bin/floodgate
     * bench} runs. Exits with the run's status.
     */
    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs {@code floodgate bench} with these arguments, on standard output, error and environment. */
    public static int run(String... args) {
        return run(args, System.out, System.err, System.getenv());
    }

    /** Runs {@code floodgate bench}; returns the exit status. */
    public static int run(String[] args, PrintStream out, PrintStream err, Map<String, String> env) {
        BenchCommand command = new BenchCommand();
        CommandLine cli = new CommandLine(command).setCaseInsensitiveEnumValuesAllowed(true);
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        Plan plan;
        Payments.PaymentPlan payments;
        try {
            CommandLine.ParseResult parsed = cli.parseArgs(args);
            if (CommandLine.printHelpIfRequested(parsed)) {
                return OK;
            }
            plan = command.plan(env);
            payments = command.payments(env);
        } catch (CommandLine.ParameterException e) {
            err.println("floodgate bench: " + e.getMessage());
            err.println("Try 'floodgate bench --help'.");
            return USAGE;
        } catch (IllegalArgumentException e) { // Plan.InvalidPlanException, and picocli's own
            err.println("floodgate bench: " + e.getMessage());
            return USAGE;
        }
        try {
            Result result = new Bench(plan, payments, out, err).execute(redacted(args));
            return result.summary().exitCode();
        } catch (CannotRunException e) {
            err.println("floodgate bench: " + e.getMessage());
            return CANNOT_RUN;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            err.println("floodgate bench: interrupted");
            return CANNOT_RUN;
        }
    }

    /** The run could not start: a target does not answer, the item cannot be created, and so on. */
    static final class CannotRunException extends Exception {
        CannotRunException(String message) {
            super(message);
        }
    }

    /** A finished run: its summary, and (for the tests of the verification) what it was told. */
    record Result(Summary summary, KeyBook keys, long soldBefore, LoadDriver.StopReason stopReason) {
    }

    /** Runs a plan that is already checked; for tests and for {@link #run}. */
    static Result execute(Plan plan, PrintStream out, PrintStream err) throws CannotRunException, InterruptedException {
        return execute(plan, Payments.PaymentPlan.NONE, out, err);
    }

    /** {@link #execute(Plan, PrintStream, PrintStream)}, with payments. */
    static Result execute(Plan plan, Payments.PaymentPlan payments, PrintStream out, PrintStream err)
            throws CannotRunException, InterruptedException {
        return new Bench(plan, payments, out, err).execute("(in-process)");
    }

    private Result execute(String commandLine) throws CannotRunException, InterruptedException {
        boolean sale = plan.scenario() == Plan.Scenario.SALE;
        try (ControlClient control = new ControlClient(plan.targets().getFirst(), plan.adminToken(), Duration.ofSeconds(10));
             Transport transport = Transport.of(plan.client(), plan.targets(), plan.timeout())) {
            for (URI target : plan.targets()) {
                try (ControlClient probe = new ControlClient(target, null, Duration.ofSeconds(5))) {
                    if (!probe.live()) {
                        throw new CannotRunException("target " + target + " does not answer GET /health/live with 200;"
                                + " is Floodgate running there? (--target)");
                    }
                }
            }
            String fdProblem = OwnProcess.fileDescriptorProblem(plan.concurrency(), plan.targets().size());
            if (fdProblem != null) {
                throw new CannotRunException(fdProblem);
            }
            long soldBefore = 0;
            if (sale) {
                soldBefore = setUpItem(control);
            }
            err.println(header());

            LoadDriver driver = new LoadDriver(plan, transport);
            if (!plan.warmup().isZero()) {
                err.println("warming up for " + Durations.format(plan.warmup()) + " (not recorded)");
                driver.warmUp(plan.warmup());
            }
            LoadDriver.Channels channels = driver.openChannels();
            if (channels.failed() > 0) {
                err.println(String.format(Locale.ROOT, "warning: %,d of %,d connections could not be opened before the run"
                        + " (first: %s); they are retried on first use", channels.failed(),
                        plan.concurrency() * plan.targets().size(), channels.firstFailure()));
            }
            Instant startedAt = Instant.now();
            long cpuBefore = OwnProcess.cpuNanos();
            long start = System.nanoTime();
            Tally tally = new Tally(start, LoadDriver.schedule(plan, start, plan.duration()));
            KeyBook keys = new KeyBook(sale ? plan.users() : 1);
            Payments buyers = sale && payments.active()
                    ? new Payments(payments, control, plan.sku(), plan.seed(), Payments.cursorNow(control)) : null;
            if (buyers != null) {
                keys.onNewOrder(buyers::acknowledged);
            }
            AtomicLong stockLeft = new AtomicLong(-1);
            Thread stockWatch = sale ? Thread.ofVirtual().name("bench-stock-watch").start(() -> watchStock(control, stockLeft)) : null;
            LoadDriver.Run run = driver.newRun(tally, keys, plan.duration(), start, channels.channels()).start();
            try {
                clock(run, tally, stockLeft);
            } finally {
                if (stockWatch != null) {
                    stockWatch.interrupt();
                }
            }
            boolean drained = run.awaitWorkers(plan.timeout().plusSeconds(5));
            long end = System.nanoTime();
            long cpuAfter = OwnProcess.cpuNanos();
            tally.tick(end, stockLeft.get());
            if (!drained) {
                err.println("warning: some requests were still unanswered " + Durations.format(plan.timeout().plusSeconds(5))
                        + " after the stop; they are not counted");
            }
            List<Summary.OutcomeCount> outcomes = tally.outcomes();
            long requests = outcomes.stream().mapToLong(Summary.OutcomeCount::count).sum();
            double seconds = (end - start) / 1e9;

            Verification verification = null;
            List<Verification.Check> paymentChecks = List.of();
            if (buyers != null) {
                try (buyers) {
                    err.println("waiting for every payment and expiry (window " + payments.windowSeconds() + " s)...");
                    buyers.awaitEnded(Duration.ofSeconds(30));
                    if (plan.verify()) {
                        paymentChecks = buyers.verify(plan.stock(), soldBefore);
                    }
                }
            }
            if (sale && plan.verify()) {
                err.println("verifying the sale through the API...");
                // expired orders give their units back: a sold-out item may have stock again
                boolean sawRelease = buyers != null || outcomes.stream().anyMatch(o -> o.label().startsWith("5")
                        || o.label().startsWith("transport"));
                verification = new Verifier(control, new Names(plan.runId()), plan.sku(), plan.quantity())
                        .verify(keys, soldBefore, run.stopReason(), sawRelease);
                if (!paymentChecks.isEmpty()) {
                    List<Verification.Check> all = new ArrayList<>(verification.checks());
                    all.addAll(paymentChecks);
                    verification = new Verification(all, verification.figures());
                }
            }
            int exitCode = exitCode(verification);
            long timeouts = outcomes.stream().filter(o -> o.label().equals(Outcome.TIMEOUT_LABEL))
                    .mapToLong(Summary.OutcomeCount::count).sum();
            double cpuSeconds = cpuBefore < 0 || cpuAfter < 0 ? -1 : (cpuAfter - cpuBefore) / 1e9;
            Summary summary = new Summary(plan.runId(), startedAt.truncatedTo(ChronoUnit.MILLIS).toString(),
                    settings(commandLine), seconds, String.valueOf(run.stopReason()), requests,
                    seconds > 0 ? requests / seconds : 0,
                    seconds > 0 ? tally.count(Outcome.Kind.ACKNOWLEDGED) / seconds : 0,
                    Summary.byKind(outcomes), outcomes,
                    Summary.latency(tally.totalLatency()), plan.openLoop() ? Summary.latency(tally.totalService()) : null,
                    Summary.latency(tally.admittedLatency()), plan.openLoop() ? Summary.latency(tally.admittedService()) : null,
                    tally.byKind(), timeouts, tally.clientBacklog(end),
                    new Summary.Generator(plan.concurrency() * plan.targets().size(), cpuSeconds,
                            cpuSeconds < 0 || seconds <= 0 ? -1 : cpuSeconds / seconds),
                    tally.timeline(), verification, exitCode);
            out.print(summary.text());
            out.flush();
            if (plan.reportDir() != null) {
                writeReports(summary);
            }
            return new Result(summary, keys, soldBefore, run.stopReason());
        } catch (ControlClient.ControlException e) {
            throw new CannotRunException(e.getMessage());
        }
    }

    /** The exit status a verification (null: none was run) calls for. */
    static int exitCode(Verification verification) {
        return verification == null || verification.passed() ? OK : INVARIANT_FAILED;
    }

    /** Creates the item, or reads the existing one; returns the units it had sold already. */
    private long setUpItem(ControlClient control) throws CannotRunException {
        if (plan.createItem()) {
            ControlClient.Item item = control.putItem(plan.sku(), "Bench " + plan.runId(), plan.stock(), plan.perUserLimit(),
                    payments.windowSeconds(), payments.priceMinor());
            return item.sold();
        }
        ControlClient.Item item = control.item(plan.sku()).orElseThrow(() -> new CannotRunException(
                "item " + plan.sku() + " does not exist at " + control.base() + "; drop --existing to create it"));
        if (!"ON_SALE".equals(item.state())) {
            err.println("note: item " + plan.sku() + " is " + item.state() + ", not ON_SALE");
        }
        return item.sold();
    }

    /**
     * The driver's clock, on the calling thread: a live line every second, the stop at the end
     * of the duration, and an early return when the workers stop themselves (sold out, request cap).
     */
    private void clock(LoadDriver.Run run, Tally tally, AtomicLong stockLeft) throws InterruptedException {
        long nextTick = run.startNanos() + 1_000_000_000L;
        while (!run.stopping()) {
            long now = System.nanoTime();
            if (now - run.endNanos() >= 0) {
                run.stop(run.endReason());
                break;
            }
            if (now - nextTick >= 0) {
                Tally.Interval i = tally.tick(now, stockLeft.get());
                if (plan.progress()) {
                    err.println(progressLine(i, tally.p99SoFarMs(), plan.openLoop()));
                }
                nextTick += 1_000_000_000L;
                continue;
            }
            Thread.sleep(Duration.ofNanos(Math.min(20_000_000L, Math.min(nextTick - now, run.endNanos() - now) + 1)));
        }
    }

    /** The live line: counts by kind, p99 of all and of admitted requests, and the generator's backlog. */
    static String progressLine(Tally.Interval i, double runP99Ms, boolean openLoop) {
        StringBuilder b = new StringBuilder(160);
        b.append(String.format(Locale.ROOT, "[%4.0fs] %,8.0f req/s | ack %,6d | 200 %,5d | 409 %,6d | shed %,6d | dep %,5d | err %,5d"
                        + " | p99 %7.1f ms, admitted %7.1f (run %7.1f)",
                i.atSeconds(), i.rate(), i.acknowledged(), i.replayed(), i.rejected(), i.shed(), i.dependency(), i.errors(),
                i.p99Ms(), i.admittedP99Ms(), runP99Ms));
        if (openLoop) {
            b.append(String.format(Locale.ROOT, " | backlog %,d", i.backlog()));
        }
        if (i.stockLeft() >= 0) {
            b.append(String.format(Locale.ROOT, " | stock %,d", i.stockLeft()));
        }
        return b.toString();
    }

    private void watchStock(ControlClient control, AtomicLong stockLeft) {
        while (!Thread.currentThread().isInterrupted()) {
            try {
                control.item(plan.sku()).ifPresent(item -> stockLeft.set(item.available()));
                Thread.sleep(500);
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                stockLeft.set(-1); // unknown for now; the live line leaves it out
            }
        }
    }

    private String header() {
        String loop = loopDescription();
        if (plan.scenario() == Plan.Scenario.LIVE) {
            return String.format(Locale.ROOT, "bench %s: GET /health/live on %s, %s, client %s, up to %s",
                    plan.runId(), plan.targets(), loop, plan.client().name().toLowerCase(Locale.ROOT), Durations.format(plan.duration()));
        }
        return String.format(Locale.ROOT, "bench %s: selling item %s (%s) to %,d users, %s, %.0f%% retries, client %s, up to %s%s%s; seed %d",
                plan.runId(), plan.sku(), plan.createItem() ? String.format(Locale.ROOT, "%,d units, limit %d per user", plan.stock(), plan.perUserLimit()) : "existing",
                plan.users(), loop, plan.retryShare() * 100, plan.client().name().toLowerCase(Locale.ROOT), Durations.format(plan.duration()),
                plan.maxRequests() > 0 ? String.format(Locale.ROOT, " or %,d requests", plan.maxRequests()) : "",
                plan.stopOnSoldOut() ? " or sold out" : "", plan.seed());
    }

    private String loopDescription() {
        return plan.openLoop()
                ? String.format(Locale.ROOT, "open loop %,.0f req/s on %,d connections", plan.rate(), plan.concurrency())
                : String.format(Locale.ROOT, "closed loop %d in flight", plan.concurrency());
    }

    private Map<String, Object> settings(String commandLine) {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("command", commandLine);
        s.put("scenario", plan.scenario().name().toLowerCase(Locale.ROOT));
        s.put("loop", loopDescription());
        s.put("targets", plan.targets().stream().map(URI::toString).toList());
        s.put("client", plan.client().name().toLowerCase(Locale.ROOT));
        if (plan.scenario() == Plan.Scenario.SALE) {
            s.put("sku", plan.sku());
            s.put("createdItem", plan.createItem());
            s.put("stock", plan.stock());
            s.put("perUserLimit", plan.perUserLimit());
            s.put("users", plan.users());
            s.put("quantity", plan.quantity());
            s.put("retryShare", plan.retryShare());
            s.put("stopOnSoldOut", plan.stopOnSoldOut());
            if (payments.active()) {
                s.put("paymentWindowSeconds", payments.windowSeconds());
                s.put("priceMinor", payments.priceMinor());
                s.put("payShare", payments.payShare());
                s.put("lateShare", payments.lateShare());
            }
        }
        s.put("concurrency", plan.concurrency());
        s.put("rate", plan.rate());
        s.put("duration", Durations.format(plan.duration()));
        s.put("maxRequests", plan.maxRequests());
        s.put("timeout", Durations.format(plan.timeout()));
        s.put("warmup", Durations.format(plan.warmup()));
        s.put("seed", plan.seed());
        s.put("cores", Runtime.getRuntime().availableProcessors());
        s.put("java", Runtime.version().toString());
        return s;
    }

    private void writeReports(Summary summary) throws CannotRunException {
        Path dir = plan.reportDir();
        try {
            Files.createDirectories(dir);
            Files.writeString(dir.resolve("report.json"), Reports.json(summary));
            Files.writeString(dir.resolve("report.html"), Reports.html(summary));
            err.println("reports: " + dir.resolve("report.html") + ", " + dir.resolve("report.json"));
        } catch (IOException e) {
            throw new CannotRunException("cannot write the reports to " + dir + ": " + e.getMessage());
        }
    }

    /** The command line for the report, with the admin token blanked out. */
    private static String redacted(String[] args) {
        List<String> shown = new ArrayList<>();
        shown.add("floodgate bench");
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--admin-token") && i + 1 < args.length) {
                shown.add(args[i]);
                shown.add("***");
                i++;
            } else if (args[i].startsWith("--admin-token=")) {
                shown.add("--admin-token=***");
            } else {
                shown.add(args[i]);
            }
        }
        return String.join(" ", shown);
    }
}
