package io.floodgate.memory;

import io.floodgate.core.Deadline;
import io.floodgate.core.domain.ItemSpec;
import io.floodgate.core.domain.Order;
import io.floodgate.core.domain.OrderIds;
import io.floodgate.core.domain.OrderStatus;
import io.floodgate.core.port.StockLedger.ReserveOutcome;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The in-process ledger's reserve path, on one hot item (the flash-sale case), from two threads:
 * <ul>
 *   <li>{@code reserveAndConfirm}: a fresh key and user each time, reserved and confirmed (the
 *   order path; stock is topped up so it never runs out);</li>
 *   <li>{@code soldOut}: reserve on an item with no stock left (the traffic after the sale);</li>
 *   <li>{@code replay}: reserve with a key that already has a confirmed order.</li>
 * </ul>
 * Run: {@code scripts/jmh.sh LedgerBenchmark}
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
@Threads(2)
@State(Scope.Benchmark)
public class LedgerBenchmark {

    private InMemoryStockLedger ledger;
    private final AtomicLong sequence = new AtomicLong();
    private Order replayed;
    private final Deadline deadline = Deadline.after(Duration.ofDays(1));

    @Setup(Level.Iteration)
    public void setUp() {
        ledger = new InMemoryStockLedger(Clock.systemUTC());
        ledger.beginDefinition("HOT").commit(new ItemSpec("HOT", "hot", Long.MAX_VALUE / 4, 1, null, null));
        ledger.beginDefinition("GONE").commit(new ItemSpec("GONE", "gone", 0, 1, null, null));
        replayed = order("HOT", "replayed-key", "replayed-user");
        ledger.reserve(replayed, deadline);
        ledger.confirm("HOT", "replayed-key");
    }

    private static Order order(String sku, String key, String user) {
        return new Order(OrderIds.next(System.currentTimeMillis()), sku, user, 1, OrderStatus.CONFIRMED,
                Instant.EPOCH, "r", key);
    }

    @Benchmark
    public ReserveOutcome reserveAndConfirm() {
        long n = sequence.incrementAndGet();
        String id = Long.toString(n);
        ReserveOutcome outcome = ledger.reserve(order("HOT", id, id), deadline);
        ledger.confirm("HOT", id);
        return outcome;
    }

    @Benchmark
    public ReserveOutcome soldOut() {
        return ledger.reserve(order("GONE", "k", "u"), deadline);
    }

    @Benchmark
    public ReserveOutcome replay() {
        return ledger.reserve(replayed, deadline);
    }
}
