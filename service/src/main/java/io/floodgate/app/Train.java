package io.floodgate.app;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Function;

/**
 * {@code floodgate train}: the warm-up of {@code serve} and nothing else. A scratch instance is
 * started under names of its own (on the Redis and Kafka the configuration names, when it names
 * them), driven until the JIT is quiet, closed and cleaned up ({@link WarmUp}); the real data
 * directory, database, keys and topics are not touched, so it may run beside a serving instance.
 *
 * <p>It is the training run of the JDK's ahead-of-time cache: {@code bin/floodgate aot} runs it
 * under {@code -XX:AOTCacheOutput}, so that the cache holds the classes the service loads and links
 * and the method profiles of its hot paths (JEP 483, 514, 515). An instance served with the cache is
 * listening in about half the time, and in the distributed mode opens its first sale closer to a
 * warm instance (issue 16; docs/BENCHMARKS.md, "Warm at the first second").
 *
 * <p>Exit status: 0 the warm-up ran and cleaned up, 1 it met a problem (its line says which), 2 a
 * configuration error.
 */
@Command(name = "train", header = "Runs the warm-up alone: the training run of the ahead-of-time cache.",
        description = {"Runs the warm-up that 'serve' runs before it says ready (a scratch instance under names of"
                + " its own, driven until the JIT is quiet, then deleted) and exits, without serving and without"
                + " touching the real data, keys or topics. bin/floodgate aot runs it to record the JDK's"
                + " ahead-of-time cache. FLOODGATE_WARMUP_SECONDS caps it (0: the default, 60).",
                "Exit status: 0 it ran and cleaned up, 1 it met a problem, 2 a configuration error."})
final class Train implements Callable<Integer> {

    /** The cap when the configuration turns the warm-up off: a training run must still train. */
    static final Duration DEFAULT_BUDGET = Duration.ofSeconds(60);

    private final Map<String, String> env;
    private final Function<Config, WarmUp> warmUps;

    @Spec
    private CommandSpec spec;

    Train(Map<String, String> env) {
        this(env, config -> new WarmUp(config.warmUp().isZero() ? DEFAULT_BUDGET : config.warmUp(), config));
    }

    Train(Map<String, String> env, Function<Config, WarmUp> warmUps) {
        this.env = env;
        this.warmUps = warmUps;
    }

    @Override
    public Integer call() throws InterruptedException {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Serve.bridgeJavaUtilLogging(); // it logs as serve does
        Config config;
        try {
            config = Config.fromEnv(env);
        } catch (Config.ConfigException e) {
            e.problems().forEach(problem -> err.println("floodgate: " + problem));
            err.flush();
            return 2;
        }
        WarmUp warmUp = warmUps.apply(config);
        // SIGTERM or Ctrl-C (bin/floodgate aot passes them on): the warm-up is cut short and
        // deletes its scratch keys, topics and group before the JVM exits, as serve's does
        Thread hook = new Thread(() -> {
            warmUp.cancel();
            Serve.awaitWarmUpCleanup(warmUp);
        }, "floodgate-train-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        WarmUp.Report report;
        try {
            report = warmUp.run();
            // a scratch instance that finished starting after the budget is cleaned up by the
            // thread that started it: the process must not exit under it
            Serve.awaitWarmUpCleanup(warmUp);
        } finally {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // the hook is running or has run: it waits for the cleanup itself
            }
        }
        if (report.problem() != null || report.requests() == 0) {
            err.println("floodgate: the training run met a problem: "
                    + (report.problem() == null ? "no request was answered" : report.problem()));
            err.flush();
            return 1;
        }
        out.println("floodgate: trained: " + report.requests() + " requests in " + report.took().toMillis()
                + " ms; traffic ended: " + report.trafficEnded() + "; cleaned up: " + report.cleanup());
        out.flush();
        return 0;
    }
}
