package io.floodgate.jdbc;

import io.floodgate.testing.ShardDatabases.Server;

/** The store contract on PostgreSQL (a fresh database per test). */
class PostgresOrderStoreContractTest extends ServerOrderStoreContract {

    PostgresOrderStoreContractTest() {
        super(Server.POSTGRESQL, 1);
    }
}
