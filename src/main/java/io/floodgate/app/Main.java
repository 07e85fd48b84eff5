package io.floodgate.app;

import io.floodgate.bench.Bench;
import io.floodgate.jdbc.JdbcStores;
import org.slf4j.bridge.SLF4JBridgeHandler;

import java.time.Clock;
import java.util.Arrays;
import java.util.concurrent.CountDownLatch;

/**
 * {@code java -jar floodgate.jar}: starts the service from environment variables, prints where it
 * listens (and the admin token, once, when it made one up), and on SIGTERM or SIGINT drains and
 * exits 0. {@code java -jar floodgate.jar bench [options]} runs the load generator instead
 * ({@link Bench}; {@code bench --help} lists the options) and exits with its status.
 */
public final class Main {

    private Main() {
    }

    public static void main(String[] args) throws InterruptedException {
        if (args.length > 0 && "bench".equals(args[0])) {
            System.exit(Bench.run(Arrays.copyOfRange(args, 1, args.length)));
            return;
        }
        SLF4JBridgeHandler.removeHandlersForRootLogger();
        SLF4JBridgeHandler.install();

        Config config;
        Floodgate floodgate;
        try {
            config = Config.fromEnv(System.getenv());
            floodgate = Floodgate.start(config, Clock.systemUTC());
        } catch (Config.ConfigException | JdbcStores.DataDirectoryInUseException e) {
            System.err.println("floodgate: " + e.getMessage());
            System.exit(2);
            return;
        } catch (RuntimeException e) {
            System.err.println("floodgate: cannot start: " + e.getMessage());
            e.printStackTrace();
            System.exit(1);
            return;
        }
        System.out.println("Floodgate listening on http://" + displayHost(config.host()) + ":" + floodgate.port());
        if (config.adminTokenGenerated()) {
            System.out.println("Admin token (generated; set FLOODGATE_ADMIN_TOKEN to choose one): " + config.adminToken());
        }
        System.out.flush();

        CountDownLatch stopped = new CountDownLatch(1);
        Runnable stop = () -> {
            floodgate.close();
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
        stopped.await();
    }

    private static String displayHost(String host) {
        return "0.0.0.0".equals(host) ? "127.0.0.1" : host;
    }
}
