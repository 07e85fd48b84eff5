package io.floodgate.app;

/**
 * {@code java -jar floodgate.jar [command]} and {@code bin/floodgate [command]}: the command line
 * ({@link Cli}); with no command, the service ({@link Serve}). Exits with the command's status.
 */
public final class Main {

    private Main() {
    }

    public static void main(String[] args) {
        if (!Cli.serves(args)) {
            // Before any logger exists: the tools print reports, and the libraries stay quiet.
            System.setProperty("logback.configurationFile", "logback-cli.xml");
        }
        System.exit(Cli.run(args, System.out, System.err, System.getenv()));
    }
}
