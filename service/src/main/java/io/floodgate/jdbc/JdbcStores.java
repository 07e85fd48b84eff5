package io.floodgate.jdbc;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.floodgate.core.DependencyUnavailableException;
import io.floodgate.core.port.OrderStore;
import org.flywaydb.core.Flyway;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;

/**
 * Builds JDBC order stores: the embedded SQLite file under a data directory, or a server
 * database by URL. Migrations run (Flyway) before the store is handed out.
 *
 * <h2>Why SQLite for the embedded store</h2>
 * An acknowledged order must be on disk. SQLite in WAL mode with {@code synchronous=FULL} fsyncs
 * the write-ahead log on every commit, so a commit that returned survives a process crash and a
 * power cut; group commit amortises that fsync over a batch of orders. (H2 2.5, the other
 * candidate, does not flush on each commit by default.)
 */
public final class JdbcStores {

    private static final Logger LOG = LoggerFactory.getLogger(JdbcStores.class);
    static final String EMBEDDED_FILE = "floodgate.db";
    static final String LOCK_FILE = "floodgate.lock";

    private JdbcStores() {
    }

    /** Thrown when another process holds the data directory. */
    public static final class DataDirectoryInUseException extends IllegalStateException {
        DataDirectoryInUseException(String message) {
            super(message);
        }
    }

    /**
     * Opens (creating if needed) the embedded store in {@code dataDir}, taking an exclusive lock
     * on the directory for as long as the store is open.
     *
     * @throws DataDirectoryInUseException if another process has the directory open
     */
    public static OrderStore embedded(Path dataDir, Clock clock) {
        Path dir = dataDir.toAbsolutePath().normalize();
        FileLock lock = lockDirectory(dir);
        try {
            HikariConfig config = new HikariConfig();
            config.setPoolName("floodgate-sqlite");
            config.setJdbcUrl("jdbc:sqlite:" + dir.resolve(EMBEDDED_FILE));
            config.addDataSourceProperty("journal_mode", "WAL");
            config.addDataSourceProperty("synchronous", "FULL");
            config.addDataSourceProperty("busy_timeout", "5000");
            config.addDataSourceProperty("foreign_keys", "true");
            // Transactions take the write lock when they begin (BEGIN IMMEDIATE), so that one that
            // reads before it writes (an item definition, a fenced write) waits its turn under
            // busy_timeout. A deferred one that read first would fail at once with SQLITE_BUSY when
            // another connection wrote in between: SQLite cannot upgrade its snapshot and does not
            // call the busy handler for it. Reads outside transactions still run beside the writer.
            config.addDataSourceProperty("transaction_mode", "IMMEDIATE");
            // One writer at a time in SQLite; readers run beside it in WAL mode.
            config.setMaximumPoolSize(8);
            config.setConnectionTimeout(1_000);
            HikariDataSource ds = new HikariDataSource(config);
            migrate(ds, Dialect.SQLITE);
            LOG.info("embedded store at {}", dir.resolve(EMBEDDED_FILE));
            JdbcOrderStore store = new JdbcOrderStore(ds, Dialect.SQLITE, clock, () -> releaseQuietly(lock));
            int leftovers;
            try {
                leftovers = store.stampLeftovers();
            } catch (RuntimeException e) {
                store.close();
                throw e;
            }
            if (leftovers > 0) {
                LOG.info("embedded store: {} order events left by an earlier version for its relay now have their"
                        + " positions", leftovers);
            }
            return store;
        } catch (RuntimeException e) {
            releaseQuietly(lock);
            throw e;
        }
    }

    /**
     * The engine a JDBC URL names, as people say it ({@code PostgreSQL}, {@code MariaDB/MySQL},
     * {@code SQLite}), or empty when the store does not run on it: the one place that tells
     * engines apart by URL.
     */
    public static java.util.Optional<String> engineOf(String jdbcUrl) {
        return java.util.Optional.ofNullable(Dialect.ofOrNull(jdbcUrl)).map(Dialect::engine);
    }

    /** Connects to a server database (MariaDB/MySQL or PostgreSQL) by JDBC URL. */
    public static OrderStore connect(String jdbcUrl, String user, String password, Clock clock) {
        Dialect dialect = Dialect.of(jdbcUrl);
        return connect(jdbcUrl, user, password, clock, dialect, "floodgate-" + dialect.migrations);
    }

    /**
     * Connects to several server databases of one dialect and shards orders over them by user
     * (see {@code ShardedOrderStore}: shard {@code CRC32(userId) mod N}, in the order given;
     * items, fences and audits of record on the first). Each database is migrated. Refuses to
     * start when a database holds orders of users who belong to another shard: the list was
     * reordered, or databases were added or removed, and orders would be looked for in the wrong
     * place.
     *
     * @throws IllegalArgumentException if the list is empty, repeats a URL, mixes dialects or
     *         names SQLite
     */
    public static OrderStore sharded(List<String> jdbcUrls, String user, String password, Clock clock) {
        if (jdbcUrls.isEmpty()) {
            throw new IllegalArgumentException("a sharded store needs at least one JDBC URL");
        }
        if (new HashSet<>(jdbcUrls).size() != jdbcUrls.size()) {
            throw new IllegalArgumentException("the shard URLs " + jdbcUrls + " name a database twice");
        }
        Dialect dialect = Dialect.of(jdbcUrls.getFirst());
        for (String url : jdbcUrls) {
            if (Dialect.of(url) != dialect || dialect == Dialect.SQLITE) {
                throw new IllegalArgumentException("shard URL '" + url + "': every shard must be the same server"
                        + " engine, PostgreSQL or MariaDB/MySQL (the first is " + jdbcUrls.getFirst() + ")");
            }
        }
        List<JdbcOrderStore> shards = new ArrayList<>(jdbcUrls.size());
        try {
            for (int i = 0; i < jdbcUrls.size(); i++) {
                shards.add(connect(jdbcUrls.get(i), user, password, clock, dialect,
                        "floodgate-" + dialect.migrations + "-shard" + i));
            }
        } catch (RuntimeException e) {
            shards.forEach(JdbcOrderStore::close);
            throw e;
        }
        ShardedOrderStore store = new ShardedOrderStore(shards);
        for (int i = 0; i < shards.size(); i++) {
            List<String> misplaced = store.misplacedUsers(i, 1_000);
            if (!misplaced.isEmpty()) {
                store.close();
                throw new IllegalStateException("shard " + i + " (" + jdbcUrls.get(i) + ") holds orders of users who"
                        + " belong to another of the " + shards.size() + " shards, e.g. '" + misplaced.getFirst()
                        + "' (shard " + ShardedOrderStore.shardOf(misplaced.getFirst(), shards.size()) + "): the"
                        + " shard list was reordered or resized; list the databases as they were, or move the"
                        + " orders first");
            }
        }
        LOG.info("order store sharded by user over {} {} databases", shards.size(), dialect.migrations);
        return store;
    }

    /**
     * Whether the server database at {@code jdbcUrl} answers, as {@link #connect} would reach it
     * (same driver, user and password) but with one connection, no migration, nothing written:
     * for {@code floodgate check-config}.
     *
     * @return what answered, e.g. {@code MariaDB 10.11.11}
     * @throws DependencyUnavailableException saying why (the driver's words)
     */
    public static String ping(String jdbcUrl, String user, String password, Duration timeout) {
        Dialect dialect = Dialect.of(jdbcUrl);
        HikariConfig config = new HikariConfig();
        config.setPoolName("floodgate-ping-" + dialect.migrations);
        config.setJdbcUrl(jdbcUrl);
        config.setUsername(user);
        config.setPassword(password);
        config.setMaximumPoolSize(1);
        config.setMinimumIdle(0);
        config.setConnectionTimeout(Math.max(250, timeout.toMillis()));
        config.setValidationTimeout(Math.max(250, timeout.toMillis()));
        config.setInitializationFailTimeout(-1); // no connection at construction: getConnection reports
        try (HikariDataSource ds = new HikariDataSource(config); Connection c = ds.getConnection()) {
            if (!c.isValid((int) Math.max(1, timeout.toSeconds()))) {
                throw new SQLException("the connection did not answer a validation query within " + timeout.toMillis()
                        + " ms");
            }
            DatabaseMetaData meta = c.getMetaData();
            return meta.getDatabaseProductName() + " " + meta.getDatabaseProductVersion();
        } catch (SQLException | RuntimeException e) {
            Throwable root = e;
            while (root.getCause() != null && root.getCause() != root) {
                root = root.getCause();
            }
            // not the URL: it may hold a password; the caller names the database
            throw new DependencyUnavailableException("store", root.getMessage(), e);
        }
    }

    private static JdbcOrderStore connect(String jdbcUrl, String user, String password, Clock clock, Dialect dialect,
                                          String poolName) {
        HikariConfig config = new HikariConfig();
        config.setPoolName(poolName);
        config.setJdbcUrl(jdbcUrl);
        config.setUsername(user);
        config.setPassword(password);
        config.setMaximumPoolSize(16);
        // Short: a request's budget is about a second, and the breaker answers for a dead server.
        config.setConnectionTimeout(500);
        config.setValidationTimeout(1_000);
        config.setInitializationFailTimeout(10_000);
        HikariDataSource ds = new HikariDataSource(config);
        try {
            migrate(ds, dialect);
        } catch (RuntimeException e) {
            ds.close();
            throw e;
        }
        return new JdbcOrderStore(ds, dialect, clock, () -> { });
    }

    /**
     * Migrates the schema. Out of order: V4 (payments and events) was numbered before V5 (order
     * fates) but written after it, so a database already at V5 gets V4 next, where Flyway would
     * otherwise refuse to start ("resolved migration not applied"); the two touch different
     * tables, so their order does not matter. Fresh databases run them in version order.
     */
    private static void migrate(HikariDataSource ds, Dialect dialect) {
        Flyway.configure()
                .dataSource(ds)
                .locations("classpath:db/migration/" + dialect.migrations)
                .outOfOrder(true)
                .load()
                .migrate();
    }

    private static FileLock lockDirectory(Path dir) {
        try {
            Files.createDirectories(dir);
            Path lockPath = dir.resolve(LOCK_FILE);
            FileChannel channel = FileChannel.open(lockPath, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            FileLock lock;
            try {
                lock = channel.tryLock();
            } catch (OverlappingFileLockException e) {
                lock = null;
            }
            if (lock == null) {
                channel.close();
                throw new DataDirectoryInUseException("data directory " + dir + " is in use by another Floodgate"
                        + " process (it holds " + lockPath + "); stop that process, or set FLOODGATE_DATA_DIR to"
                        + " another directory");
            }
            return lock;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open data directory " + dir + ": " + e.getMessage(), e);
        }
    }

    private static void releaseQuietly(FileLock lock) {
        try {
            lock.release();
            lock.channel().close();
        } catch (IOException e) {
            LOG.debug("releasing the data directory lock failed", e);
        }
    }
}
