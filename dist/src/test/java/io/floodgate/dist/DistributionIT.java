package io.floodgate.dist;

import io.floodgate.testing.Api;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.spi.ToolProvider;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The distribution tarball, as a user with no Java at all gets it: unpacked in a temporary folder
 * and run through its {@code bin/floodgate} with a {@code PATH} that holds no {@code java} and no
 * {@code JAVA_HOME}, so that only the bundled runtime can run it. It serves orders, takes a JFR
 * profile and a thread dump (the runtime's modules suffice), checks its configuration, runs a short
 * sale against itself with the bundled load generator ({@code bin/floodgate bench}), and stops on
 * SIGTERM with exit 0.
 *
 * <p>An integration test (failsafe, {@code mvn verify}), not a unit test: the tarball exists only
 * after {@code package}. {@code mvn verify -DskipUTs} runs it alone; .ci/run does so after the
 * tests. The tarball's path and the runtime's module list come from dist/pom.xml as system
 * properties.
 */
@Tag("dist")
class DistributionIT {

    private static final String ADMIN_TOKEN = "dist-test-admin-token";
    private static final Pattern LISTENING = Pattern.compile("Floodgate listening on (http://[^\\s]+)");

    @TempDir
    static Path temp;

    private static Path tarball;
    /** Where the tarball's one folder was unpacked. */
    private static Path home;
    /** A PATH with the few tools the launcher uses and no java. */
    private static Path tools;

    @BeforeAll
    static void unpack() throws Exception {
        tarball = Path.of(System.getProperty("dist.tarball", "dist/target/floodgate-dist.tar.gz"));
        assertThat(tarball).as("run `mvn package` first").exists();
        Path unpacked = Files.createDirectory(temp.resolve("unpacked"));
        Run tar = run(new ProcessBuilder("tar", "xzf", tarball.toAbsolutePath().toString(), "-C", unpacked.toString()),
                Duration.ofMinutes(2));
        assertThat(tar.status()).as(tar.output()).isZero();
        try (Stream<Path> top = Files.list(unpacked)) {
            List<Path> dirs = top.toList();
            assertThat(dirs).as("one top folder").hasSize(1);
            home = dirs.getFirst();
        }
        tools = Files.createDirectory(temp.resolve("tools"));
        // what the launcher runs: readlink and dirname always; for its ahead-of-time cache (aot)
        // stat and cksum to tell what a cache was recorded for, and rm, mv, grep, tail, wc
        for (String tool : List.of("readlink", "dirname", "stat", "cksum", "rm", "mv", "grep", "tail", "wc")) {
            Path real = Stream.of("/usr/bin", "/bin").map(d -> Path.of(d, tool)).filter(Files::isExecutable)
                    .findFirst().orElseThrow();
            Files.copy(real, tools.resolve(tool), StandardCopyOption.COPY_ATTRIBUTES);
        }
        System.out.printf("tarball %s: %.1f MB; unpacked to %s%n", tarball.getFileName(),
                Files.size(tarball) / 1e6, home);
    }

    @Test
    void holdsARuntimeTheJarsTheirLibrariesTheLauncherAndTheDocs() throws IOException {
        assertThat(home.getFileName().toString()).startsWith("floodgate-");
        for (String executable : List.of("bin/floodgate", "bin/find-java", "jdk/bin/java", "jdk/bin/jcmd",
                "jdk/lib/jspawnhelper")) {
            assertThat(Files.isExecutable(home.resolve(executable))).as(executable).isTrue();
        }
        assertThat(home.resolve("lib/floodgate.jar")).isRegularFile();
        assertThat(home.resolve("lib/floodgate-bench.jar")).isRegularFile();
        assertThat(home.resolve("README.md")).isRegularFile();
        assertThat(home.resolve("docs/ARCHITECTURE.md")).isRegularFile();
        try (Stream<Path> libs = Files.list(home.resolve("lib/libs"))) {
            assertThat(libs.filter(p -> p.toString().endsWith(".jar")).count()).isGreaterThan(50);
        }
        assertThat(home.resolve("jdk/include")).doesNotExist();
        assertThat(home.resolve("jdk/jmods")).doesNotExist();
    }

    /** What jdeps finds the jars and their libraries use is in the runtime (a new library may need more). */
    @Test
    void theRuntimeHoldsEveryModuleTheJarsAndTheirLibrariesUse() throws IOException {
        List<String> bundled = modulesOfRuntime();
        assertThat(bundled).containsAll(Arrays.asList(System.getProperty("dist.modules", "java.base").split(",")));

        List<String> args = new ArrayList<>(List.of("--print-module-deps", "--ignore-missing-deps",
                "--multi-release", String.valueOf(Runtime.version().feature()),
                home.resolve("lib/floodgate.jar").toString(), home.resolve("lib/floodgate-bench.jar").toString()));
        try (Stream<Path> libs = Files.list(home.resolve("lib/libs"))) {
            libs.map(Path::toString).sorted().forEach(args::add);
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int status = ToolProvider.findFirst("jdeps").orElseThrow().run(
                new PrintStream(out, true, StandardCharsets.UTF_8), System.err, args.toArray(String[]::new));
        assertThat(status).isZero();
        String lines = out.toString(StandardCharsets.UTF_8).strip();
        String used = lines.substring(lines.lastIndexOf('\n') + 1).strip(); // after any warnings
        System.out.println("jdeps: " + used);
        assertThat(bundled).as("jdk/release MODULES; add what is missing to dist.modules in pom.xml")
                .containsAll(Arrays.asList(used.split(",")));
    }

    @Test
    void servesOrdersWithNoJavaOnThePathAndStopsOnSigterm() throws Exception {
        Path data = Files.createDirectory(temp.resolve("data"));
        Path log = temp.resolve("service.log");
        ProcessBuilder builder = new ProcessBuilder(home.resolve("bin/floodgate").toString())
                .redirectErrorStream(true).redirectOutput(log.toFile());
        env(builder.environment(), Map.of("FLOODGATE_PORT", "0", "FLOODGATE_HOST", "127.0.0.1",
                "FLOODGATE_DATA_DIR", data.toString(), "FLOODGATE_ADMIN_TOKEN", ADMIN_TOKEN));
        long start = System.nanoTime();
        Process service = builder.start();
        try {
            String base = awaitListening(service, log, Duration.ofSeconds(90));
            System.out.printf("listening after %d ms%n", Duration.ofNanos(System.nanoTime() - start).toMillis());
            Api api = new Api(base, ADMIN_TOKEN);

            // ready once the warm-up (until the JIT is quiet, 60 s at most by default) has run on the bundled runtime
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(100))
                    .until(() -> api.get("/health/ready").status() == 200);
            System.out.printf("ready after %d ms%n", Duration.ofNanos(System.nanoTime() - start).toMillis());
            assertThat(api.putItem("dist-1", "Dist", 10, 1).status()).isEqualTo(201);
            Api.Response placed = api.order("dist-k1", "dist-u1", "dist-1", 1);
            assertThat(placed.status()).as(placed.toString()).isEqualTo(201);
            String orderId = placed.json().path("orderId").asText();
            Api.Response read = api.get("/api/v1/orders/" + orderId);
            assertThat(read.status()).isEqualTo(200);
            assertThat(read.json().path("status").asText()).isEqualTo("CONFIRMED");

            // the modules an operator needs: metrics (management), thread dumps, JFR
            Api.Response metrics = api.get("/metrics");
            assertThat(metrics.status()).isEqualTo(200);
            assertThat(metrics.body()).contains("jvm_threads_live_threads", "process_cpu_usage");
            assertThat(api.get("/").status()).isEqualTo(200);
            Api.Response threads = api.adminGet("/debug/threads");
            assertThat(threads.status()).isEqualTo(200);
            assertThat(threads.body()).contains("\"main\"");
            Api.Response profile = api.send("POST", "/debug/profile?seconds=1", null,
                    Map.of("Authorization", "Bearer " + ADMIN_TOKEN));
            assertThat(profile.status()).as(profile.toString()).isEqualTo(200);
            assertThat(profile.body()).startsWith("FLR");

            // the other commands, on the bundled runtime too
            Run version = launch(Map.of(), "--version");
            assertThat(version.status()).isZero();
            assertThat(version.output()).contains("Java " + Runtime.version().feature())
                    .contains(home.resolve("jdk").toString());
            Run check = launch(Map.of("FLOODGATE_DATA_DIR", temp.resolve("check").toString()), "check-config");
            assertThat(check.status()).as(check.output()).isZero();
            // the load generator, lib/floodgate-bench.jar: a short sale against this service, verified
            Run bench = launch(Map.of(), "bench", "--target", base, "--admin-token", ADMIN_TOKEN, "--sku", "dist-bench",
                    "--stock", "50", "--users", "500", "--requests", "200", "--concurrency", "4", "--no-progress");
            assertThat(bench.status()).as(bench.output()).isZero();

            service.toHandle().destroy(); // SIGTERM
            assertThat(service.waitFor(60, TimeUnit.SECONDS)).as("exited within 60 s of SIGTERM").isTrue();
            assertThat(service.exitValue()).as(Files.readString(log)).isZero();
            assertThat(Files.readString(log)).contains("stopped in");
        } finally {
            service.destroyForcibly();
        }
    }

    /**
     * {@code bin/floodgate aot} records the JDK's ahead-of-time cache on the bundled runtime, and
     * the launcher serves with it (the JVM maps it) until the jar changes, then without it.
     */
    @Test
    void recordsAnAheadOfTimeCacheAndServesWithItUntilTheJarChanges() throws Exception {
        Path cache = home.resolve("lib/floodgate.aot");
        Run aot = launch(Map.of("FLOODGATE_WARMUP_SECONDS", "20"), Duration.ofMinutes(3), "aot");
        assertThat(aot.status()).as(aot.output()).isZero();
        assertThat(aot.output()).contains("floodgate: trained: ", "floodgate: recorded " + cache);
        assertThat(cache).isRegularFile();
        assertThat(home.resolve("lib/floodgate.aot.key")).isRegularFile();
        try (Stream<Path> lib = Files.list(home.resolve("lib"))) {
            assertThat(lib.map(p -> p.getFileName().toString())).as("no recording left behind")
                    .noneMatch(name -> name.contains(".recording."));
        }

        List<String> served = serveAndReadJvmArguments("aot-on");
        assertThat(served).contains("-XX:AOTCache=" + cache);

        // a rebuilt or replaced jar: the cache no longer belongs to it and is not used
        Path jar = home.resolve("lib/floodgate.jar");
        Files.setLastModifiedTime(jar, java.nio.file.attribute.FileTime.fromMillis(
                Files.getLastModifiedTime(jar).toMillis() + 60_000));
        assertThat(serveAndReadJvmArguments("aot-stale")).noneMatch(arg -> arg.startsWith("-XX:AOTCache"));
    }

    /**
     * Serves from the distribution (no warm-up), and returns the arguments its JVM was started
     * with once it listens; when it was given a cache, also that the JVM mapped it.
     */
    private static List<String> serveAndReadJvmArguments(String name) throws Exception {
        Path log = temp.resolve(name + ".log");
        ProcessBuilder builder = new ProcessBuilder(home.resolve("bin/floodgate").toString())
                .redirectErrorStream(true).redirectOutput(log.toFile());
        env(builder.environment(), Map.of("FLOODGATE_PORT", "0", "FLOODGATE_HOST", "127.0.0.1",
                "FLOODGATE_DATA_DIR", temp.resolve(name).toString(), "FLOODGATE_ADMIN_TOKEN", ADMIN_TOKEN,
                "FLOODGATE_WARMUP_SECONDS", "0"));
        Process service = builder.start();
        try {
            awaitListening(service, log, Duration.ofSeconds(90));
            List<String> arguments = List.of(service.toHandle().info().arguments().orElseThrow());
            String cache = arguments.stream().filter(arg -> arg.startsWith("-XX:AOTCache="))
                    .map(arg -> arg.substring("-XX:AOTCache=".length())).findFirst().orElse(null);
            if (cache != null) {
                // the JVM's memory map (in VM.info) lists the file when it mapped it; a cache it
                // refused is only in its command line
                Run info = run(new ProcessBuilder(home.resolve("jdk/bin/jcmd").toString(),
                        String.valueOf(service.pid()), "VM.info"), Duration.ofSeconds(60));
                assertThat(info.output().lines()).as("the JVM mapped the cache")
                        .anyMatch(line -> line.strip().endsWith(" " + cache));
            }
            assertThat(Files.readString(log)).as("nothing said about the cache").doesNotContain("[aot", "AOT");
            service.toHandle().destroy();
            assertThat(service.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(service.exitValue()).as(Files.readString(log)).isZero();
            return arguments;
        } finally {
            service.destroyForcibly();
        }
    }

    /** The launcher's environment: no JAVA_HOME, a PATH without java, and {@code vars}. */
    private static void env(Map<String, String> env, Map<String, String> vars) {
        env.clear();
        env.put("PATH", tools.toString());
        env.put("HOME", temp.toString());
        env.put("LANG", "C.UTF-8");
        env.putAll(vars);
        assertThat(tools.resolve("java")).doesNotExist();
    }

    private record Run(int status, String output) {
    }

    /** {@code bin/floodgate args} in the launcher's environment, to its end. */
    private static Run launch(Map<String, String> vars, String... args) throws Exception {
        return launch(vars, Duration.ofSeconds(60), args);
    }

    private static Run launch(Map<String, String> vars, Duration timeout, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(home.resolve("bin/floodgate").toString()));
        command.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command);
        env(builder.environment(), vars);
        return run(builder, timeout);
    }

    /** Runs to its end, at most {@code timeout}: past it, the process and its children are killed and the test fails. */
    private static Run run(ProcessBuilder builder, Duration timeout) throws Exception {
        Path out = Files.createTempFile(temp, "run-", ".out");
        Process p = builder.redirectErrorStream(true).redirectOutput(out.toFile()).start();
        try {
            assertThat(p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS))
                    .as("%s finished within %s:%n%s", builder.command(), timeout, Files.readString(out)).isTrue();
        } finally {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        }
        return new Run(p.exitValue(), Files.readString(out));
    }

    private static String awaitListening(Process service, Path log, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            String output = Files.exists(log) ? Files.readString(log) : "";
            Matcher m = LISTENING.matcher(output);
            if (m.find()) {
                return m.group(1);
            }
            if (!service.isAlive()) {
                throw new AssertionError("exited with " + service.exitValue() + " before listening:\n" + output);
            }
            Thread.sleep(20);
        }
        throw new AssertionError("not listening within " + timeout.toSeconds() + " s:\n" + Files.readString(log));
    }

    private static List<String> modulesOfRuntime() throws IOException {
        return Files.readAllLines(home.resolve("jdk/release")).stream()
                .filter(l -> l.startsWith("MODULES="))
                .map(l -> l.substring("MODULES=".length()).replace("\"", ""))
                .flatMap(l -> Arrays.stream(l.split(" ")))
                .toList();
    }
}
