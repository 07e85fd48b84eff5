package io.floodgate.app;

import io.floodgate.core.DependencyUnavailableException;
import io.floodgate.core.port.OrderStore;
import io.floodgate.jdbc.JdbcStores;
import io.floodgate.kafka.KafkaOrderLogs;
import io.floodgate.redis.RedisLedgers;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * Whether each dependency a {@link Config} names answers, for {@code floodgate check-config}:
 * reached through the same adapters, URLs and credentials as {@link Floodgate} reaches them, but
 * only for a moment. A server database gets one connection and no migration; Redis a connection
 * and {@code INFO server}, no key touched; Kafka an admin client that lists the brokers, no topic
 * created. The embedded store is opened as {@code serve} opens it (created when missing, migrated)
 * and closed again: that is how to learn that its directory is writable and no other process
 * holds it.
 */
final class Dependencies {

    private Dependencies() {
    }

    /**
     * One dependency's answer.
     *
     * @param where   what was reached (a URL may hold a password: redact before printing)
     * @param answer  what answered ({@code MariaDB 10.11.11}), or null
     * @param problem why it did not answer, or null
     */
    record Ping(String dependency, String where, String answer, String problem, Duration took) {
        boolean answered() {
            return problem == null;
        }
    }

    /** Pings every dependency {@code config} names, one after another, each within {@code timeout}. */
    static List<Ping> pingAll(Config config, Duration timeout, Clock clock) {
        List<Ping> pings = new ArrayList<>();
        Config.Store store = config.store();
        if (!store.shards().isEmpty()) {
            for (int i = 0; i < store.shards().size(); i++) {
                String url = store.shards().get(i);
                pings.add(ping("store shard " + i, url,
                        () -> JdbcStores.ping(url, store.dbUser(), store.dbPassword(), timeout)));
            }
        } else if (store.dbUrl() != null) {
            pings.add(ping("store", store.dbUrl(),
                    () -> JdbcStores.ping(store.dbUrl(), store.dbUser(), store.dbPassword(), timeout)));
        } else {
            pings.add(ping("store", "embedded, in " + store.dataDir().toAbsolutePath().normalize(),
                    () -> openEmbedded(store, timeout, clock)));
        }
        if (config.redis() != null) {
            pings.add(ping("redis", config.redis().url(), () -> RedisLedgers.ping(
                    RedisLedgers.settings(config.redis().url()).connectTimeout(timeout).maxCommandTimeout(timeout).build())));
        }
        if (config.lock() != null) {
            pings.add(ping("lock", config.lock().url(), () -> Floodgate.pingLock(config.lock(), timeout)));
        }
        if (config.kafka() != null) {
            pings.add(ping("kafka", config.kafka().bootstrap(),
                    () -> KafkaOrderLogs.ping(Floodgate.kafkaSettings(config), timeout)));
        }
        return pings;
    }

    private static String openEmbedded(Config.Store store, Duration timeout, Clock clock) {
        try (OrderStore opened = Floodgate.openStore(store, clock)) {
            if (!opened.ping(timeout)) {
                throw new DependencyUnavailableException("store", "the embedded store opened but did not answer");
            }
            return "SQLite, opened and closed";
        }
    }

    private static Ping ping(String dependency, String where, Supplier<String> ping) {
        long start = System.nanoTime();
        String answer = null;
        String problem = null;
        try {
            answer = ping.get();
        } catch (DependencyUnavailableException e) {
            // its message starts with the dependency's name, which the report already shows
            problem = e.getMessage().substring(e.dependency().length() + 2);
        } catch (RuntimeException e) {
            problem = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        }
        return new Ping(dependency, where, answer, problem, Duration.ofNanos(System.nanoTime() - start));
    }
}
