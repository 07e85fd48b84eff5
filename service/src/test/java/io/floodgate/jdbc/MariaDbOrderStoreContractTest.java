package io.floodgate.jdbc;

import io.floodgate.testing.ShardDatabases.Server;

/** The store contract on MariaDB (a fresh database per test). */
class MariaDbOrderStoreContractTest extends ServerOrderStoreContract {

    MariaDbOrderStoreContractTest() {
        super(Server.MARIADB, 1);
    }
}
