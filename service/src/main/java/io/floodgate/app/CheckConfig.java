package io.floodgate.app;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;

/**
 * {@code floodgate check-config}: reads the configuration from the environment exactly as
 * {@code serve} does ({@link Config#fromEnv}), lists every problem by variable, then asks each
 * dependency it names whether it answers ({@link Dependencies}), without starting the server.
 * Exit 0 all well, 2 a configuration error (nothing is reached then), 1 a dependency did not
 * answer.
 *
 * <p><b>No secret is printed.</b> A variable whose name says it holds one (token, password,
 * secret, key) is listed as {@code ***}; the password in a URL ({@code user:password@}, a
 * {@code password=} parameter) likewise; and every line (a driver's message included) is scrubbed
 * of all those values before it is printed. (Values shorter than {@value #SCRUB_MIN_LENGTH}
 * characters are not scrubbed from free text, where they cannot be told from ordinary words; they
 * are still never listed.)
 */
@Command(name = "check-config", sortOptions = false,
        header = "Checks the configuration and that each dependency answers, without serving.",
        description = {"Reads the configuration from the FLOODGATE_* environment variables as 'serve' would,"
                + " lists each problem by variable, then checks that each configured dependency (store, Redis,"
                + " Kafka, the lock service) answers, without starting the server. Secrets are shown as ***.",
                "Exit status: 0 all well, 2 a configuration error, 1 a dependency did not answer."})
final class CheckConfig implements Callable<Integer> {

    static final int OK = 0;
    static final int DEPENDENCY_DOWN = 1;
    static final int CONFIG_ERROR = 2;

    private static final Pattern SECRET_NAME = Pattern.compile("TOKEN|PASSWORD|SECRET|KEY|CREDENTIAL");
    private static final int SCRUB_MIN_LENGTH = 4;
    private static final String MASK = "***";

    private final Map<String, String> env;
    private final Clock clock;

    @Spec
    private CommandSpec spec;

    @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "5",
            description = "How long each dependency has to answer. Default: ${DEFAULT-VALUE}")
    private int timeoutSeconds;

    CheckConfig(Map<String, String> env, Clock clock) {
        this.env = env;
        this.clock = clock;
    }

    @Override
    public Integer call() {
        Report out = new Report(spec.commandLine().getOut(), secretValues(env));
        Map<String, String> set = new TreeMap<>();
        env.forEach((name, value) -> {
            if (name.startsWith("FLOODGATE_")) {
                set.put(name, value);
            }
        });
        out.line(set.isEmpty() ? "Configuration: no FLOODGATE_* variable is set; every setting takes its default."
                : "Configuration: " + set.size() + " FLOODGATE_* variable" + (set.size() == 1 ? "" : "s")
                + " set, the rest take their defaults:");
        set.forEach((name, value) ->
                out.line("  " + name + "=" + (isSecret(name) ? MASK : Config.withoutPassword(value))));

        Config config;
        try {
            config = Config.fromEnv(env);
        } catch (Config.ConfigException e) {
            out.line("");
            out.line("Problems (" + e.problems().size() + "):");
            e.problems().forEach(problem -> out.line("  " + problem));
            out.line("");
            out.line("floodgate check-config: the configuration has " + e.problems().size() + " problem"
                    + (e.problems().size() == 1 ? "" : "s") + "; no dependency was checked");
            return CONFIG_ERROR;
        }
        out.line("");
        out.line("Valid. Floodgate would run with:");
        describe(config).forEach(line -> out.line("  " + line));

        out.line("");
        out.line("Dependencies (each within " + timeoutSeconds + " s):");
        List<Dependencies.Ping> pings = Dependencies.pingAll(config, Duration.ofSeconds(timeoutSeconds), clock);
        int width = pings.stream().map(Dependencies.Ping::dependency).max(Comparator.comparingInt(String::length))
                .orElse("").length();
        long down = 0;
        for (Dependencies.Ping ping : pings) {
            String name = String.format(Locale.ROOT, "%-" + width + "s", ping.dependency());
            String where = Config.withoutPassword(ping.where());
            String took = " (" + ping.took().toMillis() + " ms)";
            if (ping.answered()) {
                out.line("  ok      " + name + "  " + where + ": " + ping.answer() + took);
            } else {
                down++;
                out.line("  FAILED  " + name + "  " + where + ": " + ping.problem() + took);
            }
        }
        out.line("");
        if (down > 0) {
            out.line("floodgate check-config: " + down + " of " + pings.size() + " dependencies did not answer");
            return DEPENDENCY_DOWN;
        }
        out.line("floodgate check-config: the configuration is valid and every dependency answers");
        return OK;
    }

    private static List<String> describe(Config config) {
        Config.Store store = config.store();
        String storeLine;
        if (!store.shards().isEmpty()) {
            storeLine = "store:      " + store.shards().size() + " shards, "
                    + Config.withoutPassword(String.join(", ", store.shards()));
        } else if (store.dbUrl() != null) {
            storeLine = "store:      " + Config.withoutPassword(store.dbUrl());
        } else {
            storeLine = "store:      embedded SQLite in " + store.dataDir().toAbsolutePath().normalize();
        }
        return List.of(
                "listen:     " + config.http().host() + ":" + config.http().port(),
                storeLine,
                "ledger:     " + (config.redis() == null ? "in-process"
                        : "Redis " + Config.withoutPassword(config.redis().url()) + " (namespace "
                        + config.redis().namespace() + ")"),
                "order log:  " + (config.kafka() == null ? "direct (group commit into the store, 201)"
                        : "Kafka " + config.kafka().bootstrap() + ", topic " + config.kafka().topic() + " (202)"),
                "lock:       " + (config.lock() != null
                        ? config.lock().kind().name().toLowerCase(Locale.ROOT) + " " + Config.withoutPassword(config.lock().url())
                        : config.redis() == null ? "in-process" : "Redis, beside the ledger"),
                "admin:      " + (config.http().adminTokenGenerated()
                        ? "token generated at start (FLOODGATE_ADMIN_TOKEN unset)" : "token from FLOODGATE_ADMIN_TOKEN"),
                "user auth:  " + (config.http().userJwtSecret() == null ? "off" : "HS256 tokens (FLOODGATE_USER_JWT_SECRET)"),
                "payments:   " + (config.payments().secrets().isEmpty() ? "callbacks off (FLOODGATE_PAYMENT_SECRET unset)"
                        : "callbacks signed with " + config.payments().secrets().size() + " secret(s), tolerance "
                        + config.payments().tolerance().toSeconds() + " s"));
    }

    /** Whether a variable holds a secret, by its name. */
    static boolean isSecret(String name) {
        return SECRET_NAME.matcher(name.toUpperCase(Locale.ROOT)).find();
    }

    /** The secrets in {@code env}: the values of secret variables, and the passwords in URLs. */
    private static List<String> secretValues(Map<String, String> env) {
        List<String> secrets = new ArrayList<>();
        env.forEach((name, value) -> {
            if (!name.startsWith("FLOODGATE_") || value == null) {
                return;
            }
            if (isSecret(name)) {
                secrets.add(value.strip());
            }
            for (Pattern p : Config.URL_PASSWORDS) {
                p.matcher(value).results().forEach(m -> secrets.add(m.group(2)));
            }
        });
        return secrets.stream().filter(v -> v.length() >= SCRUB_MIN_LENGTH).distinct()
                .sorted(Comparator.comparingInt(String::length).reversed())
                .toList();
    }

    /** Prints lines with no secret in them. */
    private record Report(PrintWriter out, List<String> secrets) {
        void line(String text) {
            String safe = text;
            for (String secret : secrets) {
                safe = safe.replace(secret, MASK);
            }
            out.println(safe);
            out.flush();
        }
    }
}
