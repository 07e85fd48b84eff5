package io.floodgate.testing;

import org.junit.jupiter.api.Assumptions;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;

/**
 * The machine's backing services (MariaDB, PostgreSQL, Redis, Kafka) for tests. A fresh machine
 * with only a JDK skips the cases that need them; with FLOODGATE_REQUIRE_SERVICES=1 (set by
 * .ci/run, which starts them) a missing service fails the run instead of hiding.
 */
public final class Services {

    private Services() {
    }

    public static boolean required() {
        return "1".equals(System.getenv("FLOODGATE_REQUIRE_SERVICES"));
    }

    /** Skips (or, when services are required, fails) unless the database at {@code url} answers. */
    public static void requireOrSkip(String url, String user, String name) {
        try (Connection c = DriverManager.getConnection(url, user, "")) {
            c.isValid(2);
        } catch (SQLException e) {
            String message = name + " at " + url + " does not answer: " + e.getMessage();
            if (required()) {
                throw new IllegalStateException(message + " (FLOODGATE_REQUIRE_SERVICES=1)", e);
            }
            Assumptions.abort(message + "; skipped (set FLOODGATE_REQUIRE_SERVICES=1 to fail instead)");
        }
    }
}
