package io.floodgate.core;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RequestContextTest {

    private static final RequestContext REQUEST = new RequestContext("req-1", Deadline.after(Duration.ofSeconds(5)));

    @Test
    void aCarriedTaskSeesItsRequestOnAnotherThread() throws Exception {
        Callable<RequestContext> carried = ScopedValue.where(RequestContext.CURRENT, REQUEST)
                .call(() -> RequestContext.carry(RequestContext.CURRENT::get));

        try (ExecutorService other = Executors.newVirtualThreadPerTaskExecutor()) {
            assertThat(other.submit(carried).get()).isSameAs(REQUEST);
            assertThat(other.submit(() -> RequestContext.CURRENT.isBound()).get())
                    .as("a task that was not carried sees no request").isFalse();
        }
    }

    @Test
    void theContextIsTakenWhenTheTaskIsWrappedNotWhenItRuns() throws Exception {
        Callable<String> carried = ScopedValue.where(RequestContext.CURRENT, REQUEST)
                .call(() -> RequestContext.carry(RequestContext::currentRequestId));

        RequestContext later = new RequestContext("req-2", Deadline.after(Duration.ofSeconds(5)));
        assertThat(ScopedValue.where(RequestContext.CURRENT, later).call(carried::call)).isEqualTo("req-1");
        assertThat(carried.call()).as("still bound after the request's own scope ended").isEqualTo("req-1");
    }

    @Test
    void outsideARequestTheTaskRunsAsItIsWithNoContext() throws Exception {
        Callable<String> task = RequestContext::currentRequestId;

        assertThat(RequestContext.carry(task)).isSameAs(task);
        assertThat(RequestContext.carry(task).call()).isNull();
    }

    @Test
    void whatTheTaskThrowsReachesTheCaller() {
        Callable<String> carried = ScopedValue.where(RequestContext.CURRENT, REQUEST)
                .call(() -> RequestContext.carry(() -> {
                    throw new java.io.IOException("store unreachable");
                }));

        assertThatThrownBy(carried::call).isInstanceOf(java.io.IOException.class).hasMessage("store unreachable");
    }
}
