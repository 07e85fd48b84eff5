package io.floodgate.jdbc;

import io.floodgate.core.port.OrderStore;
import io.floodgate.testing.OrderStoreContract;
import io.floodgate.testing.ShardDatabases;

import java.time.Clock;

/**
 * The store contract on the machine's MariaDB or PostgreSQL: one fresh database per test, or the
 * store sharded by user over several. Skipped when the server does not answer, unless
 * FLOODGATE_REQUIRE_SERVICES=1.
 */
abstract class ServerOrderStoreContract extends OrderStoreContract {

    private final ShardDatabases.Server server;
    private final int shards;
    private ShardDatabases dbs;

    /** @param shards 1: one database, {@code JdbcStores.connect}; more: {@code JdbcStores.sharded} */
    ServerOrderStoreContract(ShardDatabases.Server server, int shards) {
        this.server = server;
        this.shards = shards;
    }

    @Override
    protected OrderStore open() {
        dbs = ShardDatabases.create(server, shards);
        return shards == 1 ? JdbcStores.connect(dbs.urls().getFirst(), dbs.user(), "", Clock.systemUTC())
                : JdbcStores.sharded(dbs.urls(), dbs.user(), "", Clock.systemUTC());
    }

    @Override
    protected boolean keysUniquePerShardOnly() {
        return shards > 1;
    }

    @Override
    protected void discard() {
        if (dbs != null) {
            dbs.close();
        }
    }
}
