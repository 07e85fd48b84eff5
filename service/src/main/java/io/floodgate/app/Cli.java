package io.floodgate.app;

import picocli.AutoComplete;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Callable;

/**
 * The {@code floodgate} command line: one command per job, {@code serve} when none is named (so
 * that {@code java -jar floodgate.jar} starts the service as it always did).
 *
 * <pre>
 * floodgate [serve]          the service ({@link Serve})
 * floodgate bench ...        the load generator: not in this jar (see {@link #BENCH_ELSEWHERE})
 * floodgate check-config     the configuration and its dependencies, without starting ({@link CheckConfig})
 * floodgate train            the warm-up alone: the training run of the AOT cache ({@link Train})
 * floodgate completion       a bash/zsh completion script (picocli's {@link AutoComplete})
 * floodgate --help | --version
 * </pre>
 *
 * Exit status: that of the command; 2 for a command line picocli cannot parse, and for
 * {@code bench} in this jar.
 *
 * <p>The load generator is a client and a module of its own (floodgate-bench.jar): this jar carries
 * none of its code. {@code bin/floodgate bench} runs that jar; here {@code bench} is listed in the
 * help so that the command line reads as one, and says where to find it.
 */
@Command(name = "floodgate", mixinStandardHelpOptions = true, versionProvider = Cli.Version.class,
        description = {"Floodgate, the flash-sale order engine. Without a command it serves.",
                "Configuration: FLOODGATE_* environment variables (README.md)."},
        commandListHeading = "%nCommands:%n",
        footer = {"", "Examples:",
                "  FLOODGATE_PORT=9090 floodgate          the service, on port 9090",
                "  FLOODGATE_REDIS_URL=redis://127.0.0.1:6379/0 floodgate check-config",
                "  floodgate bench --admin-token TOKEN    a flash sale against it",
                "  source <(floodgate completion)         TAB completion in this shell"})
final class Cli implements Callable<Integer> {

    /** What {@code floodgate.jar bench} prints: the load generator ships in a jar of its own. */
    static final String BENCH_ELSEWHERE = "floodgate: the load generator is not in this jar; run 'bin/floodgate bench ...'"
            + " (it runs lib/floodgate-bench.jar, or bench/target/floodgate-bench.jar in a checkout)";

    private final Serve serve;

    private Cli(Serve serve) {
        this.serve = serve;
    }

    /** Runs the command line {@code args} with these streams and environment; returns the exit status. */
    static int run(String[] args, PrintStream out, PrintStream err, Map<String, String> env) {
        if (args.length > 0 && "bench".equals(args[0])) {
            err.println(BENCH_ELSEWHERE);
            return 2;
        }
        CommandLine cli = commandLine(env);
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        return cli.execute(args);
    }

    /** Every command, for running and for the completion script. */
    static CommandLine commandLine(Map<String, String> env) {
        Serve serve = new Serve(env);
        CommandLine cli = new CommandLine(new Cli(serve));
        cli.addSubcommand("serve", serve);
        // for --help and the completion script only: run() answers "bench" before picocli, and
        // bin/floodgate runs floodgate-bench.jar for it
        CommandSpec bench = CommandSpec.create().name("bench");
        bench.usageMessage().header("Drives a flash sale over HTTP and verifies it (bench --help).");
        cli.addSubcommand("bench", bench);
        cli.addSubcommand("check-config", new CheckConfig(env, Clock.systemUTC()));
        cli.addSubcommand("train", new Train(env));
        cli.addSubcommand("completion", new Completion());
        cli.addSubcommand("help", new CommandLine.HelpCommand());
        return cli;
    }

    /**
     * Whether {@code args} run the service's code as the service does, and log as it does: the
     * service, and {@code train}, whose warm-up a cache is recorded from (nothing else does).
     */
    static boolean serves(String[] args) {
        return args.length == 0 || "serve".equals(args[0]) || "train".equals(args[0]);
    }

    @Override
    public Integer call() throws InterruptedException {
        return serve.call();
    }

    @Command(name = "completion", header = "Prints a bash/zsh completion script.", description = {
            "Prints a bash (and zsh) completion script for floodgate and its commands:",
            "  source <(floodgate completion)            this shell",
            "  floodgate completion > /etc/bash_completion.d/floodgate"})
    static final class Completion implements Callable<Integer> {
        @Spec
        private CommandSpec spec;

        @Override
        public Integer call() {
            PrintWriter out = spec.commandLine().getOut();
            out.print(AutoComplete.bash("floodgate", spec.root().commandLine()));
            out.flush();
            return 0;
        }
    }

    /** {@code floodgate --version}: this build's version and the Java that runs it. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[]{"floodgate " + version(),
                    "Java " + Runtime.version() + " (" + System.getProperty("java.vendor") + ") at "
                            + System.getProperty("java.home")};
        }

        static String version() {
            Properties p = new Properties();
            try (InputStream in = Cli.class.getResourceAsStream("version.properties")) {
                if (in != null) {
                    p.load(in);
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return p.getProperty("version", "(unknown version)");
        }
    }
}
