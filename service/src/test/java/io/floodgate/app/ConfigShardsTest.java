package io.floodgate.app;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** FLOODGATE_DB_SHARDS: JDBC URLs separated by commas, checked at start. */
class ConfigShardsTest {

    private static final String PG0 = "jdbc:postgresql://db0:5432/orders";
    private static final String PG1 = "jdbc:postgresql://db1:5432/orders";

    @Test
    void unsetMeansNoShards() {
        assertThat(Config.fromEnv(Map.of()).store().shards()).isEmpty();
    }

    @Test
    void urlsAreTrimmedAndKeptInOrder() {
        Config c = Config.fromEnv(Map.of("FLOODGATE_DB_SHARDS", " " + PG0 + " , " + PG1 + " "));
        assertThat(c.store().shards()).containsExactly(PG0, PG1);
    }

    @Test
    void theSingleDatabaseUrlMayStayAsShardZeroOnly() {
        assertThat(Config.fromEnv(Map.of("FLOODGATE_DB_URL", PG0, "FLOODGATE_DB_SHARDS", PG0 + "," + PG1)).store().shards())
                .containsExactly(PG0, PG1);
        assertThatThrownBy(() -> Config.fromEnv(Map.of("FLOODGATE_DB_URL", PG1, "FLOODGATE_DB_SHARDS", PG0 + "," + PG1)))
                .isInstanceOf(Config.ConfigException.class)
                .hasMessageContaining("FLOODGATE_DB_URL").hasMessageContaining("not shard 0");
    }

    @Test
    void badListsAreRefusedNamingTheEntry() {
        assertThatThrownBy(() -> Config.fromEnv(Map.of("FLOODGATE_DB_SHARDS", PG0 + ",," + PG1)))
                .isInstanceOf(Config.ConfigException.class).hasMessageContaining("entry 1 is empty");
        assertThatThrownBy(() -> Config.fromEnv(Map.of("FLOODGATE_DB_SHARDS", PG0 + "," + PG0)))
                .isInstanceOf(Config.ConfigException.class).hasMessageContaining("twice");
        assertThatThrownBy(() -> Config.fromEnv(Map.of("FLOODGATE_DB_SHARDS", PG0 + ",jdbc:mariadb://db1/orders")))
                .isInstanceOf(Config.ConfigException.class).hasMessageContaining("same engine");
        assertThatThrownBy(() -> Config.fromEnv(Map.of("FLOODGATE_DB_SHARDS", "jdbc:sqlite:/tmp/x.db")))
                .isInstanceOf(Config.ConfigException.class).hasMessageContaining("not sharded");
        assertThatThrownBy(() -> Config.fromEnv(Map.of("FLOODGATE_DB_SHARDS", "postgres://db0/orders")))
                .isInstanceOf(Config.ConfigException.class).hasMessageContaining("entry 0");
    }
}
