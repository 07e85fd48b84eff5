package io.floodgate.jdbc;

import io.floodgate.core.port.OrderStore;
import io.floodgate.testing.OrderStoreContract;
import io.floodgate.testing.TestFloodgate;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;

/** The embedded store (SQLite in WAL mode, a fresh file per test) held to the store contract. */
class SqliteOrderStoreContractTest extends OrderStoreContract {

    private Path dir;

    @Override
    protected OrderStore open() throws Exception {
        dir = Files.createTempDirectory("floodgate-store");
        return JdbcStores.embedded(dir, Clock.systemUTC());
    }

    @Override
    protected boolean positionsAtCommit() {
        return true;
    }

    @Override
    protected void discard() {
        TestFloodgate.deleteRecursively(dir);
    }
}
