package io.floodgate.app;

import io.floodgate.jdbc.JdbcStores;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.bridge.SLF4JBridgeHandler;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.time.Clock;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

/**
 * {@code floodgate serve}, the default command: starts the service from environment variables,
 * prints where it listens (and the admin token, once, when it made one up), and on SIGTERM or
 * SIGINT drains and exits 0. Exit 2 for a configuration error, 1 when it cannot start.
 */
@Command(name = "serve", header = "Runs the service (the default command).",
        description = {"Runs the service: configuration from the FLOODGATE_* environment variables (README.md),"
                + " listens, and on SIGTERM or Ctrl-C drains and exits 0.",
                "Exit status: 0 drained, 2 a configuration error, 1 the service could not start."})
final class Serve implements Callable<Integer> {

    private static final Logger LOG = LoggerFactory.getLogger(Serve.class);

    private final Map<String, String> env;

    @Spec
    private CommandSpec spec;

    Serve(Map<String, String> env) {
        this.env = env;
    }

    @Override
    public Integer call() throws InterruptedException {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        bridgeJavaUtilLogging();

        Config config;
        Floodgate floodgate;
        try {
            config = Config.fromEnv(env);
            floodgate = config.warmUp().isZero()
                    ? Floodgate.start(config, Clock.systemUTC())
                    : Floodgate.startCold(config, Clock.systemUTC());
        } catch (Config.ConfigException e) {
            e.problems().forEach(problem -> err.println("floodgate: " + problem));
            err.flush();
            return 2;
        } catch (JdbcStores.DataDirectoryInUseException e) {
            err.println("floodgate: " + e.getMessage());
            err.flush();
            return 2;
        } catch (RuntimeException e) {
            err.println("floodgate: cannot start: " + e.getMessage());
            e.printStackTrace(err);
            err.flush();
            return 1;
        }
        WarmUp warmUp = new WarmUp(config.warmUp(), config);
        CountDownLatch stopped = new CountDownLatch(1);
        Runnable stop = () -> {
            warmUp.cancel();
            floodgate.close();
            awaitWarmUpCleanup(warmUp);
            stopped.countDown();
        };
        Runtime.getRuntime().addShutdownHook(new Thread(stop, "floodgate-shutdown"));
        // A plain shutdown hook would end the process with 143 on SIGTERM; a drain is a normal
        // exit, so take the signal and exit 0 once drained.
        for (String signal : new String[]{"TERM", "INT"}) {
            sun.misc.Signal.handle(new sun.misc.Signal(signal), s -> Thread.ofPlatform().start(() -> {
                stop.run();
                System.exit(0);
            }));
        }
        // Said only now that a SIGTERM drains: a caller that signals as soon as it reads this line
        // (a supervisor, a test) must not meet the JVM's default handler, whose plain exit runs
        // the shutdown hooks while the JDK's own (Flight Recorder's) tear down under requests.
        out.println("Floodgate listening on http://" + displayHost(config.http().host()) + ":" + floodgate.port());
        if (config.http().adminTokenGenerated()) {
            out.println("Admin token (generated; set FLOODGATE_ADMIN_TOKEN to choose one): " + config.http().adminToken());
        }
        out.flush();
        if (!config.warmUp().isZero()) {
            Thread.ofPlatform().name("floodgate-warm-up").daemon().start(() -> warmUp(floodgate, warmUp));
        }
        stopped.await();
        return 0;
    }

    /** Sends the libraries' java.util.logging (Helidon's among them) through the service's log. */
    static void bridgeJavaUtilLogging() {
        SLF4JBridgeHandler.removeHandlersForRootLogger();
        SLF4JBridgeHandler.install();
    }

    /** Runs the warm-up, then lets readiness go by the dependencies, whatever the warm-up met. */
    private static void warmUp(Floodgate floodgate, WarmUp warmUp) {
        try {
            warmUp.run();
        } catch (RuntimeException e) {
            // run() reports what the scratch instance met itself; this is a bug of its own
            LOG.warn("warm-up failed; the instance says ready without it", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            floodgate.warmedUp();
        }
    }

    /**
     * A stop that came during the warm-up waits (boundedly) for its cleanup, so that the scratch
     * instance's keys, topics and group are deleted before the process exits.
     */
    static void awaitWarmUpCleanup(WarmUp warmUp) {
        try {
            if (!warmUp.awaitCleanedUp(WARM_UP_CLEANUP_WAIT)) {
                LOG.warn("the warm-up had not cleaned up after {} s; exiting without waiting longer (its scratch"
                        + " resources are named fg-warmup-...)", WARM_UP_CLEANUP_WAIT.toSeconds());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The scratch instance's close, then {@link WarmUp#CLEANUP_LIMIT}, with room. */
    private static final java.time.Duration WARM_UP_CLEANUP_WAIT = WarmUp.CLEANUP_LIMIT.multipliedBy(3);

    private static String displayHost(String host) {
        return "0.0.0.0".equals(host) ? "127.0.0.1" : host;
    }
}
