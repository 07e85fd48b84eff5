package io.floodgate.jdbc;

import io.floodgate.testing.ShardDatabases.Server;

/** The store contract on the store sharded by user over two fresh MariaDB databases (what sharding adds: ShardedOrderStoreTest). */
class ShardedMariaDbOrderStoreContractTest extends ServerOrderStoreContract {

    ShardedMariaDbOrderStoreContractTest() {
        super(Server.MARIADB, 2);
    }
}
