package io.floodgate.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/**
 * The process side of a {@link CoordinationServer}: one command, started in a data directory of
 * its own with its output in a log file there, waited for until it answers, killed by process id.
 */
abstract class ServerProcess implements CoordinationServer {

    private static final Duration START_TIMEOUT = Duration.ofSeconds(60);

    protected final Path dir;
    private Process process;

    ServerProcess(String name) {
        try {
            this.dir = Files.createTempDirectory("fg-" + name);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The command that runs the server in the foreground. */
    protected abstract List<String> command();

    /** Whether it answers now. */
    protected abstract boolean answers();

    @Override
    public final void start() {
        if (process != null && process.isAlive()) {
            throw new IllegalStateException(this + " already runs");
        }
        try {
            process = new ProcessBuilder(command()).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("server.log").toFile())).start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + command(), e);
        }
        awaitUntil(this::answers, "to answer");
    }

    private void awaitUntil(BooleanSupplier condition, String what) {
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        while (!condition.getAsBoolean()) {
            if (!process.isAlive()) {
                throw new IllegalStateException(this + " exited (" + process.exitValue() + ") before it answered; log: "
                        + dir.resolve("server.log"));
            }
            if (System.nanoTime() - deadline > 0) {
                throw new IllegalStateException(this + " did not answer within " + START_TIMEOUT.toSeconds() + " s; log: "
                        + dir.resolve("server.log"));
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50));
        }
    }

    /** SIGSTOP ({@code STOP}) or SIGCONT ({@code CONT}). */
    public void signal(String name) {
        Commands.run(List.of("/bin/kill", "-" + name, Long.toString(process.pid())), Duration.ofSeconds(10));
    }

    @Override
    public final void kill() {
        if (process != null && process.isAlive()) {
            process.destroyForcibly();
            try {
                if (!process.waitFor(30, TimeUnit.SECONDS)) {
                    throw new IllegalStateException(this + " did not die on SIGKILL");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Override
    public void close() {
        kill();
        TestFloodgate.deleteRecursively(dir);
    }
}
