package io.floodgate.app;

import io.floodgate.app.Config.LockService.Kind;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** FLOODGATE_LOCK_URL: where the reconciler's lock lives, checked at start. */
class ConfigLockUrlTest {

    @Test
    void unsetKeepsTheLockWithTheLedger() {
        assertThat(Config.fromEnv(Map.of()).lock()).isNull();
    }

    @Test
    void zooKeeperUrlsNameTheEnsembleAndTheRoot() {
        Config.LockService lock = lockOf("zk://h1:2181,h2:2182/floodgate/prod");
        assertThat(lock.kind()).isEqualTo(Kind.ZOOKEEPER);
        assertThat(lock.hosts()).containsExactly("h1:2181", "h2:2182");
        assertThat(lock.path()).isEqualTo("/floodgate/prod");
        assertThat(lockOf("zk://127.0.0.1:2181").path()).as("the adapter's default root").isNull();
        assertThat(Floodgate.zooKeeperSettings(lockOf("zk://127.0.0.1:2181").hosts(), null).root()).isEqualTo("/floodgate");
        assertThat(Floodgate.zooKeeperSettings(lock.hosts(), lock.path()).connectString()).isEqualTo("h1:2181,h2:2182");
    }

    @Test
    void etcdUrlsNameTheMembersAndTheKeyPrefix() {
        Config.LockService lock = lockOf("etcd://h1:2379,h2:2379/");
        assertThat(lock.kind()).isEqualTo(Kind.ETCD);
        assertThat(lock.hosts()).containsExactly("h1:2379", "h2:2379");
        assertThat(Floodgate.etcdSettings(lock.hosts(), lock.path(), false).prefix()).isEqualTo("/floodgate");
        assertThat(Floodgate.etcdSettings(lock.hosts(), lock.path(), false).endpoints())
                .extracting(Object::toString).containsExactly("http://h1:2379", "http://h2:2379");
        Config.LockService tls = lockOf("etcd+https://[::1]:2379/fg");
        assertThat(Floodgate.etcdSettings(tls.hosts(), tls.path(), true).endpoints())
                .extracting(Object::toString).containsExactly("https://[::1]:2379");
    }

    @Test
    void aRedisUrlGivesTheLockARedisOfItsOwn() {
        Config.LockService lock = lockOf("redis://:secret@10.0.0.5:6379/2");
        assertThat(lock.kind()).isEqualTo(Kind.REDIS);
        assertThat(lock.toString()).doesNotContain("secret");
    }

    @Test
    void badUrlsAreRefusedNamingTheVariableAndTheForm() {
        assertThatThrownBy(() -> Config.fromEnv(Map.of("FLOODGATE_LOCK_URL", "consul://h:8500")))
                .isInstanceOf(Config.ConfigException.class).hasMessageContaining("FLOODGATE_LOCK_URL")
                .hasMessageContaining("zk://");
        assertThatThrownBy(() -> Config.fromEnv(Map.of("FLOODGATE_LOCK_URL", "zk://h1:2181,,h2:2181")))
                .isInstanceOf(Config.ConfigException.class).hasMessageContaining("is not host:port");
        assertThatThrownBy(() -> Config.fromEnv(Map.of("FLOODGATE_LOCK_URL", "etcd://h1")))
                .isInstanceOf(Config.ConfigException.class).hasMessageContaining("'h1' is not host:port");
        assertThatThrownBy(() -> Config.fromEnv(Map.of("FLOODGATE_LOCK_URL", "zk://h1:70000")))
                .isInstanceOf(Config.ConfigException.class).hasMessageContaining("70000");
        assertThatThrownBy(() -> Config.fromEnv(Map.of("FLOODGATE_LOCK_URL", "zk://h1:2181/zookeeper")))
                .isInstanceOf(Config.ConfigException.class).hasMessageContaining("FLOODGATE_LOCK_URL")
                .hasMessageContaining("outside /zookeeper");
        assertThatThrownBy(() -> Config.fromEnv(Map.of("FLOODGATE_LOCK_URL", "etcd://h1:2379/a b")))
                .isInstanceOf(Config.ConfigException.class).hasMessageContaining("prefix");
    }

    private static Config.LockService lockOf(String url) {
        return Config.fromEnv(Map.of("FLOODGATE_LOCK_URL", url)).lock();
    }
}
