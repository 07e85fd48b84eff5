package io.floodgate.app;

import io.floodgate.core.StaleFencingTokenException;
import io.floodgate.core.domain.ItemAudit;
import io.floodgate.core.port.Lock;
import io.floodgate.core.port.OrderStore;
import io.floodgate.jdbc.JdbcStores;
import io.floodgate.testing.Commands;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A lock holder in a JVM of its own, for the lock contract's pause test: it takes a lock through
 * the application's wiring ({@code FLOODGATE_LOCK_URL}, {@link Floodgate#openLock}), then, for as
 * long as the lease says it is held, checks, says {@code CHECKED}, waits a second (the window a
 * test freezes it in: between the check and the write, the worst moment), and writes a fenced
 * audit to the store. Lines on stdout, each starting with {@value #MARK}: {@code ACQUIRED <token>},
 * {@code CHECKED}, {@code WROTE}, {@code REFUSED <newest>} (the store refused the token: it stops),
 * {@code NOT-HELD} (the check failed: it stops), {@code LOST <token>} (the loss listener ran).
 *
 * <p>Arguments: lock URL, lock name, lease in ms, JDBC URL of the store, its user.
 */
public final class LockHolder {

    static final String MARK = "HOLDER ";
    private static final Duration WINDOW = Duration.ofSeconds(1);

    private LockHolder() {
    }

    public static void main(String[] args) throws Exception {
        Config config = Config.fromEnv(Map.of("FLOODGATE_LOCK_URL", args[0]));
        String name = args[1];
        Duration lease = Duration.ofMillis(Long.parseLong(args[2]));
        try (Lock lock = Floodgate.openLock(config);
             OrderStore store = JdbcStores.connect(args[3], args[4], "", Clock.systemUTC())) {
            Lock.Lease held = null;
            while (held == null) {
                if (lock.tryAcquire(name, lease) instanceof Lock.Acquisition.Acquired(Lock.Lease l)) {
                    held = l;
                } else {
                    Thread.sleep(50);
                }
            }
            say("ACQUIRED " + held.token());
            CountDownLatch lost = new CountDownLatch(1);
            long token = held.token();
            held.onLost(() -> {
                say("LOST " + token);
                lost.countDown();
            });
            while (true) {
                if (!held.isHeld()) {
                    say("NOT-HELD");
                    break;
                }
                say("CHECKED");
                Thread.sleep(WINDOW);
                try {
                    store.recordAudit(held.fence(), List.of(new ItemAudit("S", 0, 0, 0, Instant.now())));
                    say("WROTE");
                } catch (StaleFencingTokenException e) {
                    say("REFUSED " + e.newest());
                    break;
                }
            }
            lost.await(30, TimeUnit.SECONDS);
        }
        System.exit(0);
    }

    private static void say(String line) {
        synchronized (System.out) {
            System.out.println(MARK + line);
            System.out.flush();
        }
    }

    /** Starts a holder; its protocol lines are read with {@link Child#await}. */
    public static Child start(String lockUrl, String name, Duration lease, String jdbcUrl, String user) {
        List<String> command = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"),
                "-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xshare:auto",
                "--enable-native-access=ALL-UNNAMED", "-cp", ServiceProcess.classPath(), LockHolder.class.getName(),
                lockUrl, name, Long.toString(lease.toMillis()), jdbcUrl, user));
        try {
            return new Child(new ProcessBuilder(command).redirectErrorStream(true).start());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + command, e);
        }
    }

    /** A running holder. */
    public static final class Child implements AutoCloseable {
        private final Process process;
        private final LinkedBlockingQueue<String> lines = new LinkedBlockingQueue<>();
        private final StringBuilder output = new StringBuilder();

        private Child(Process process) {
            this.process = process;
            Thread.ofPlatform().daemon().name("lock-holder-pump").start(() -> {
                try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(),
                        StandardCharsets.UTF_8))) {
                    String line;
                    while ((line = in.readLine()) != null) {
                        synchronized (output) {
                            output.append(line).append('\n');
                        }
                        if (line.startsWith(MARK)) {
                            lines.add(line.substring(MARK.length()));
                        }
                    }
                } catch (IOException e) {
                    // the process ended
                }
            });
        }

        /**
         * Waits for the next protocol line that starts with {@code prefix}, passing over others.
         *
         * @throws AssertionError with the output so far when none comes within {@code timeout}
         */
        public String await(String prefix, Duration timeout) throws InterruptedException {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (true) {
                String line = lines.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                if (line == null) {
                    throw new AssertionError("the holder did not say " + prefix + " within " + timeout.toSeconds()
                            + " s; its output:\n" + output());
                }
                if (line.startsWith(prefix)) {
                    return line;
                }
            }
        }

        /** Every protocol line said so far and not yet awaited, and those to come until it exits. */
        public List<String> remainingLines(Duration timeout) throws InterruptedException {
            process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
            Thread.sleep(100); // the pump's last lines
            List<String> rest = new ArrayList<>();
            lines.drainTo(rest);
            return rest;
        }

        public void signal(String name) {
            Commands.run(List.of("/bin/kill", "-" + name, Long.toString(process.pid())), Duration.ofSeconds(10));
        }

        public String output() {
            synchronized (output) {
                return output.toString();
            }
        }

        @Override
        public void close() {
            process.destroyForcibly();
        }
    }
}
