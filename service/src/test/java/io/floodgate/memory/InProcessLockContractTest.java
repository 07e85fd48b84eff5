package io.floodgate.memory;

import io.floodgate.core.port.Lock;
import io.floodgate.testing.LockContract;

import java.time.Clock;
import java.time.Duration;

/** The in-process lock, on a clock the test moves, held to the lock contract. */
class InProcessLockContractTest extends LockContract {

    @Override
    protected Lock newLock(Clock clock) {
        return new InProcessLock(clock);
    }

    @Override
    protected void elapse(Duration d) {
        clock.advance(d);
    }

    @Override
    protected void suspendRenewal(Lock.Lease lease) {
        ((InProcessLock.Held) lease).suspendRenewal();
    }
}
