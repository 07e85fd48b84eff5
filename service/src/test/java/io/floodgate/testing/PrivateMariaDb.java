package io.floodgate.testing;

import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * A MariaDB server of the test's own: {@code mariadb-install-db} into a fresh data directory, then
 * {@code mariadbd} on a free loopback port with its own socket, root without a password. For
 * drills that hold {@code FLUSH TABLES WITH READ LOCK} ({@link #writeLock()}): that lock stops
 * every write on the whole server, so it must not be the machine's shared server, where other
 * tests write at the same time.
 *
 * <p>Small (64 MB buffer pool) and not durable per commit ({@code innodb_flush_log_at_trx_commit=2}):
 * drills never kill this server, they stop its writes and its connections. Killed by its own
 * process id; the data directory is deleted on {@link #close()}.
 */
public final class PrivateMariaDb implements AutoCloseable {

    private static final Path MARIADBD = Path.of("/usr/sbin/mariadbd");
    private static final Path INSTALL_DB = Path.of("/usr/bin/mariadb-install-db");

    private final Path dir;
    private final int port;
    private final Process process;

    private PrivateMariaDb(Path dir, int port, Process process) {
        this.dir = dir;
        this.port = port;
        this.process = process;
    }

    /** Installs and starts a server; returns once it answers. Skips where MariaDB is not installed. */
    public static PrivateMariaDb start() {
        if (!Files.isExecutable(MARIADBD) || !Files.isExecutable(INSTALL_DB)) {
            String message = MARIADBD + " or " + INSTALL_DB + " is missing (Debian: mariadb-server)";
            if (Services.required()) {
                throw new IllegalStateException(message + " (FLOODGATE_REQUIRE_SERVICES=1)");
            }
            Assumptions.abort(message + "; skipped");
        }
        Path dir;
        try {
            dir = Files.createTempDirectory("fg-mariadb");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Commands.run(List.of(INSTALL_DB.toString(), "--no-defaults", "--datadir=" + dir.resolve("data"), "--user=root",
                "--auth-root-authentication-method=normal", "--skip-test-db"), Duration.ofSeconds(120));
        int port = Ports.free();
        Process p;
        try {
            p = new ProcessBuilder(MARIADBD.toString(), "--no-defaults", "--datadir=" + dir.resolve("data"),
                    "--user=root", "--port=" + port, "--bind-address=127.0.0.1", "--socket=" + dir.resolve("sock"),
                    "--pid-file=" + dir.resolve("pid"), "--log-error=" + dir.resolve("error.log"),
                    "--skip-name-resolve", "--innodb-buffer-pool-size=64M", "--innodb-log-file-size=48M",
                    "--innodb-flush-log-at-trx-commit=2", "--max-connections=400")
                    .redirectErrorStream(true).redirectOutput(dir.resolve("mariadbd.out").toFile()).start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + MARIADBD, e);
        }
        PrivateMariaDb db = new PrivateMariaDb(dir, port, p);
        try {
            db.awaitAnswer();
            return db;
        } catch (RuntimeException e) {
            db.close();
            throw e;
        }
    }

    public int port() {
        return port;
    }

    /** The JDBC URL of {@code database} on this server, directly (not through any proxy). */
    public String url(String database) {
        return "jdbc:mariadb://127.0.0.1:" + port + "/" + database;
    }

    public void createDatabase(String name) {
        execute("CREATE DATABASE " + name);
    }

    /** Runs one statement as root, outside any database. */
    public void execute(String sql) {
        try (Connection c = DriverManager.getConnection(url(""), "root", ""); Statement s = c.createStatement()) {
            s.execute(sql);
        } catch (SQLException e) {
            throw new IllegalStateException("cannot run '" + sql + "' on " + this + ": " + e.getMessage(), e);
        }
    }

    /**
     * Takes {@code FLUSH TABLES WITH READ LOCK} in a session of its own: from then on every write
     * on this server waits (reads go on) until the returned handle is closed. Returns once the lock
     * is held (it waits for writes already running to finish).
     */
    public AutoCloseable writeLock() {
        try {
            Connection c = DriverManager.getConnection(url(""), "root", "");
            try (Statement s = c.createStatement()) {
                s.execute("FLUSH TABLES WITH READ LOCK");
            } catch (SQLException e) {
                c.close();
                throw e;
            }
            return () -> {
                try (c; Statement s = c.createStatement()) {
                    s.execute("UNLOCK TABLES");
                }
            };
        } catch (SQLException e) {
            throw new IllegalStateException("cannot take FLUSH TABLES WITH READ LOCK on " + this + ": " + e.getMessage(), e);
        }
    }

    private void awaitAnswer() {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        SQLException last = null;
        while (System.nanoTime() - deadline < 0) {
            if (!process.isAlive()) {
                throw new IllegalStateException("mariadbd exited " + process.exitValue() + " at start; see "
                        + dir.resolve("error.log"));
            }
            try (Connection c = DriverManager.getConnection(url(""), "root", "")) {
                if (c.isValid(2)) {
                    return;
                }
            } catch (SQLException e) {
                last = e;
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(100));
        }
        throw new IllegalStateException("mariadbd on port " + port + " did not answer within 60 s: " + last + "; see "
                + dir.resolve("error.log"));
    }

    @Override
    public void close() {
        process.toHandle().destroyForcibly();
        try {
            process.waitFor(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        TestFloodgate.deleteRecursively(dir);
    }

    @Override
    public String toString() {
        return "PrivateMariaDb[127.0.0.1:" + port + ", " + dir + "]";
    }
}
