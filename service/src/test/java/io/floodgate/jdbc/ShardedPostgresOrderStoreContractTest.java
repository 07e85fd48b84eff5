package io.floodgate.jdbc;

import io.floodgate.testing.ShardDatabases.Server;

/** The store contract on the store sharded by user over two fresh PostgreSQL databases (what sharding adds: ShardedOrderStoreTest). */
class ShardedPostgresOrderStoreContractTest extends ServerOrderStoreContract {

    ShardedPostgresOrderStoreContractTest() {
        super(Server.POSTGRESQL, 2);
    }
}
