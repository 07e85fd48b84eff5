package io.floodgate.direct;

import io.floodgate.core.port.OrderLog;
import io.floodgate.core.port.OrderStore;
import io.floodgate.testing.OrderLogContract;

import java.time.Duration;

/** The group-commit writer held to the order log's contract. */
class GroupCommitOrderLogContractTest extends OrderLogContract {

    @Override
    protected OrderLog newLog(OrderStore store) {
        return new GroupCommitOrderLog(store, 1_024, 64);
    }

    @Override
    protected void close(OrderLog log, Duration timeout) {
        ((GroupCommitOrderLog) log).close(timeout);
    }
}
