package io.floodgate.testing;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Fresh, empty databases on the machine's PostgreSQL or MariaDB, one per shard, dropped on
 * {@link #close()}. Skipped where the server does not answer, unless FLOODGATE_REQUIRE_SERVICES=1.
 */
public final class ShardDatabases implements AutoCloseable {

    public enum Server {
        POSTGRESQL("jdbc:postgresql://127.0.0.1:5432/", "test", "postgres", " WITH (FORCE)"),
        MARIADB("jdbc:mariadb://127.0.0.1:3306/", "", "root", "");

        private final String base;
        private final String adminDatabase;
        public final String user;
        private final String dropSuffix;

        Server(String base, String adminDatabase, String user, String dropSuffix) {
            this.base = base;
            this.adminDatabase = adminDatabase;
            this.user = user;
            this.dropSuffix = dropSuffix;
        }
    }

    private final Server server;
    private final List<String> names;

    private ShardDatabases(Server server, List<String> names) {
        this.server = server;
        this.names = names;
    }

    public static ShardDatabases create(Server server, int count) {
        Services.requireOrSkip(server.base + server.adminDatabase, server.user, server.name());
        String prefix = "fg_shard_" + Long.toHexString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE) + "_";
        List<String> names = new ArrayList<>();
        ShardDatabases dbs = new ShardDatabases(server, names);
        for (int i = 0; i < count; i++) {
            execute(server, "CREATE DATABASE " + prefix + i);
            names.add(prefix + i);
        }
        return dbs;
    }

    /** The JDBC URLs, shard 0 first. */
    public List<String> urls() {
        return names.stream().map(n -> server.base + n).toList();
    }

    /** FLOODGATE_DB_SHARDS for these databases. */
    public String shardsVariable() {
        return String.join(",", urls());
    }

    public String user() {
        return server.user;
    }

    /** Runs one statement in shard {@code index}'s database. */
    public void execute(int index, String sql) {
        run(urls().get(index), server.user, sql);
    }

    /** The first column of the first row of a query in shard {@code index}'s database, as a long. */
    public long queryLong(int index, String sql) {
        try (Connection c = DriverManager.getConnection(urls().get(index), server.user, "");
             Statement s = c.createStatement();
             var rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        } catch (SQLException e) {
            throw new IllegalStateException("cannot run '" + sql + "' in shard " + index + ": " + e.getMessage(), e);
        }
    }

    private static void execute(Server server, String sql) {
        run(server.base + server.adminDatabase, server.user, sql);
    }

    /** Runs one statement on the database at {@code url} (password empty, as on this machine). */
    public static void run(String url, String user, String sql) {
        try (Connection c = DriverManager.getConnection(url, user, ""); Statement s = c.createStatement()) {
            s.execute(sql);
        } catch (SQLException e) {
            throw new IllegalStateException("cannot run '" + sql + "' on " + url + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        for (String name : names) {
            execute(server, "DROP DATABASE IF EXISTS " + name + server.dropSuffix);
        }
    }
}
