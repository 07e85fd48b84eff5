package io.floodgate.http;

/**
 * The HTTP contract suite, unchanged, against the distributed mode: the Redis ledger and a
 * PostgreSQL order store (see {@link io.floodgate.testing.DistributedMode}).
 */
class DistributedHttpContractTest extends HttpContractTest {

    @Override
    protected io.floodgate.testing.DistributedMode mode() {
        return io.floodgate.testing.DistributedMode.create();
    }
}
