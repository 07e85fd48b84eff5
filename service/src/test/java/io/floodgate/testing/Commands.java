package io.floodgate.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Short external commands for tests (redis-cli, kill, mariadb-install-db): run, wait, check. */
public final class Commands {

    private Commands() {
    }

    /**
     * Runs {@code command} (stdout and stderr merged) and returns its output; fails with that
     * output when it exits non-zero or does not finish within {@code timeout} (it is killed then).
     */
    public static String run(List<String> command, Duration timeout) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException(command + " did not finish in " + timeout.toSeconds() + " s: " + out);
            }
            if (p.exitValue() != 0) {
                throw new IllegalStateException(command + " exited " + p.exitValue() + ": " + out);
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run " + command, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
