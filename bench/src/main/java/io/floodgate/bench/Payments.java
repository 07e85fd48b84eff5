package io.floodgate.bench;

import com.fasterxml.jackson.databind.JsonNode;
import io.floodgate.bench.Verification.Check;
import io.floodgate.bench.Verification.Verdict;
import org.HdrHistogram.Histogram;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.DelayQueue;
import java.util.concurrent.Delayed;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The buyers' side of a sale with a payment window: a chosen share of the acknowledged orders is
 * paid, some of those late (after the due time), the rest never; all through the signed callback,
 * as a payment provider would. While the sale runs, the order events are followed over the cursor
 * ({@code GET /api/v1/events}, long-poll), timing each from its commit to its arrival here. After
 * it, every order must reach the state its buyer's choice calls for, with exactly the events that
 * tell it, and the item's units must add up: available = stock - units of paid orders.
 *
 * <p>Memory: one entry per acknowledged order (as {@link KeyBook} keeps), bounded by the stock;
 * the payments not yet due wait in a delay queue of the same bound.
 */
final class Payments implements AutoCloseable {

    /**
     * @param windowSeconds the item's payment window (0: no payments at all)
     * @param priceMinor    the item's price a unit, in EUR cents
     * @param payShare      share of acknowledged orders that are paid
     * @param lateShare     share of the paid ones paid after their due time (refund due)
     * @param secret        the callback secret (FLOODGATE_PAYMENT_SECRET of the service)
     */
    record PaymentPlan(int windowSeconds, long priceMinor, double payShare, double lateShare, String secret) {
        static final PaymentPlan NONE = new PaymentPlan(0, 0, 0, 0, null);

        PaymentPlan {
            if (windowSeconds < 0 || windowSeconds > 86_400) {
                throw new Plan.InvalidPlanException("--payment-window must be from 0 (none) to 86400 seconds, was "
                        + windowSeconds);
            }
            if (!(payShare >= 0 && payShare <= 1) || !(lateShare >= 0 && lateShare <= 1)) {
                throw new Plan.InvalidPlanException("--pay-share and --late-share must be from 0 to 1, were "
                        + payShare + " and " + lateShare);
            }
            if (payShare > 0 && windowSeconds == 0) {
                throw new Plan.InvalidPlanException("--pay-share needs --payment-window: there is nothing to pay");
            }
            if (payShare > 0 && (secret == null || secret.isBlank())) {
                throw new Plan.InvalidPlanException("--pay-share needs the service's payment secret: pass"
                        + " --payment-secret or set FLOODGATE_PAYMENT_SECRET");
            }
            if (priceMinor < 0) {
                throw new Plan.InvalidPlanException("--price must not be negative, was " + priceMinor);
            }
        }

        boolean active() {
            return windowSeconds > 0;
        }

        @Override
        public String toString() {
            return "PaymentPlan[window=" + windowSeconds + " s, price=" + priceMinor + ", pay=" + payShare + ", late="
                    + lateShare + ", secret=" + (secret == null ? "none" : "***") + "]";
        }
    }

    /** What a buyer does about an order. */
    enum Choice { PAYS, PAYS_LATE, NEVER }

    private record Intent(String orderId, int quantity, Choice choice) {
    }

    private record Due(long atNanos, Intent intent) implements Delayed {
        @Override
        public long getDelay(TimeUnit unit) {
            return unit.convert(atNanos - System.nanoTime(), TimeUnit.NANOSECONDS);
        }

        @Override
        public int compareTo(Delayed other) {
            return Long.compare(atNanos, ((Due) other).atNanos);
        }
    }

    private static final int PAYERS = 64;

    private final PaymentPlan plan;
    private final String sku;
    private final ControlClient control;
    private final Random random;
    private final Map<String, Intent> intents = new ConcurrentHashMap<>();
    private final Map<String, String> answers = new ConcurrentHashMap<>();
    private final DelayQueue<Due> queue = new DelayQueue<>();
    private final AtomicInteger sending = new AtomicInteger();
    private final List<Thread> payers = new ArrayList<>();
    private final Thread follower;
    private final Map<String, List<JsonNode>> events = new ConcurrentHashMap<>();
    /** Commit to arrival over the cursor, in ms; @GuardedBy("feedDelay"). */
    private final Histogram feedDelay = new Histogram(3_600_000L, 3);
    private volatile boolean stopping;

    Payments(PaymentPlan plan, ControlClient control, String sku, long seed, String cursor) {
        this.plan = plan;
        this.sku = sku;
        this.control = control;
        this.random = new Random(seed ^ 0x5DEECE66DL);
        for (int i = 0; i < PAYERS; i++) {
            payers.add(Thread.ofVirtual().name("bench-payer-" + i).start(this::payLoop));
        }
        this.follower = Thread.ofVirtual().name("bench-event-follower").start(() -> follow(cursor));
    }

    /** Where the cursor stands now: a run follows the events from there. */
    static String cursorNow(ControlClient control) {
        String cursor = "0";
        while (true) {
            ControlClient.EventPage page = control.events(cursor, 1_000, 0);
            if (page.next().equals(cursor)) {
                return cursor;
            }
            cursor = page.next();
        }
    }

    /** An order was acknowledged: its buyer decides now whether, and when, to pay. */
    void acknowledged(String orderId, int quantity) {
        Choice choice;
        synchronized (random) {
            choice = random.nextDouble() >= plan.payShare() ? Choice.NEVER
                    : random.nextDouble() < plan.lateShare() ? Choice.PAYS_LATE : Choice.PAYS;
        }
        Intent intent = new Intent(orderId, quantity, choice);
        if (intents.putIfAbsent(orderId, intent) != null || choice == Choice.NEVER) {
            return;
        }
        long window = TimeUnit.SECONDS.toNanos(plan.windowSeconds());
        long delay = choice == Choice.PAYS
                ? Math.min(window / 2, TimeUnit.MILLISECONDS.toNanos(200)) // at once, well inside the window
                : window + TimeUnit.MILLISECONDS.toNanos(500); // after the due time (the order was made before now)
        queue.add(new Due(System.nanoTime() + delay, intent));
    }

    private void payLoop() {
        while (!Thread.currentThread().isInterrupted()) {
            Due due;
            try {
                due = queue.take();
            } catch (InterruptedException e) {
                return;
            }
            sending.incrementAndGet();
            try {
                Intent i = due.intent();
                String body = "{\"paymentId\":\"pay-" + i.orderId() + "\",\"orderId\":\"" + i.orderId()
                        + "\",\"status\":\"SUCCEEDED\",\"amountMinor\":" + plan.priceMinor() * i.quantity()
                        + ",\"currency\":\"EUR\"}";
                // a provider sends again what got no final answer: the paymentId makes that safe
                ControlClient.CallbackAnswer a = null;
                for (int attempt = 0; attempt < 10 && (a == null || a.status() >= 500); attempt++) {
                    long t = System.currentTimeMillis() / 1000;
                    a = control.callback(body, "t=" + t + ",v1=" + sign(t, body));
                }
                answers.put(i.orderId(), a.status() + " " + a.stateOrCode());
            } catch (RuntimeException e) {
                answers.put(due.intent().orderId(), "error " + e.getMessage());
            } finally {
                sending.decrementAndGet();
            }
        }
    }

    private String sign(long t, String body) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(plan.secret().getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
            return HexFormat.of().formatHex(mac.doFinal((t + "." + body).getBytes(StandardCharsets.UTF_8)));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    private void follow(String cursor) {
        String at = cursor;
        while (!stopping) {
            try {
                ControlClient.EventPage page = control.events(at, 1_000, 2);
                long now = System.currentTimeMillis();
                for (JsonNode e : page.events()) {
                    long delay = Math.max(0, now - Instant.parse(e.path("time").asText()).toEpochMilli());
                    synchronized (feedDelay) {
                        feedDelay.recordValue(Math.min(delay, feedDelay.getHighestTrackableValue()));
                    }
                    // every event of the sale's item: an order's created event may come before its answer
                    if (sku.equals(e.path("data").path("sku").asText())) {
                        events.computeIfAbsent(e.path("subject").asText(),
                                k -> java.util.Collections.synchronizedList(new ArrayList<>())).add(e);
                    }
                }
                at = page.next();
            } catch (RuntimeException e) {
                try {
                    Thread.sleep(200);
                } catch (InterruptedException ie) {
                    return;
                }
            }
        }
    }

    /** Waits until every payment is sent and every order has had the time to reach its end. */
    void awaitEnded(Duration extra) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(plan.windowSeconds()) + extra.toNanos()
                + TimeUnit.SECONDS.toNanos(2);
        while ((!queue.isEmpty() || sending.get() > 0 || !allEnded()) && System.nanoTime() - deadline < 0) {
            Thread.sleep(100);
        }
    }

    private boolean allEnded() {
        for (Intent i : intents.values()) {
            if (!story(answers.get(i.orderId())).equals(types(i.orderId()))) {
                return false;
            }
        }
        return true;
    }

    private List<String> types(String orderId) {
        List<JsonNode> seen = events.getOrDefault(orderId, List.of());
        synchronized (seen) {
            return seen.stream().map(e -> e.path("type").asText()).toList();
        }
    }

    /**
     * The events an order must have in the end, given what its payment was answered (null: never
     * paid): a payment meant to be on time that reached the service after the due time (a loaded
     * machine) is late, and is judged so.
     */
    private static List<String> story(String answer) {
        if (answer == null) {
            return List.of("io.floodgate.order.created", "io.floodgate.order.expired");
        }
        return answer.equals("200 PAID") ? List.of("io.floodgate.order.created", "io.floodgate.order.paid")
                : List.of("io.floodgate.order.created", "io.floodgate.order.expired", "io.floodgate.order.refund_due");
    }

    /** The payment checks, with the figures measured, after {@link #awaitEnded}. */
    List<Check> verify(long stock, long soldBefore) {
        List<Check> checks = new ArrayList<>();
        List<String> wrongStory = new ArrayList<>();
        List<String> wrongAnswer = new ArrayList<>();
        Histogram lateness = new Histogram(3_600_000L, 3);
        long paidUnits = 0;
        int[] counts = new int[Choice.values().length];
        int onTimeButLate = 0;
        for (Intent i : intents.values()) {
            counts[i.choice().ordinal()]++;
            String answer = answers.get(i.orderId());
            List<String> seen = types(i.orderId());
            if (!seen.equals(story(answer)) && wrongStory.size() < 5) {
                wrongStory.add(i.orderId() + " (" + i.choice() + ", answered " + answer + "): " + seen);
            }
            boolean answeredAsAllowed = switch (i.choice()) {
                case PAYS -> "200 PAID".equals(answer) || "200 REFUND_DUE".equals(answer);
                case PAYS_LATE -> "200 REFUND_DUE".equals(answer); // after the due time: never paid
                case NEVER -> answer == null;
            };
            if (!answeredAsAllowed && wrongAnswer.size() < 5) {
                wrongAnswer.add(i.orderId() + " (" + i.choice() + "): " + answer);
            }
            if (i.choice() == Choice.PAYS && "200 REFUND_DUE".equals(answer)) {
                onTimeButLate++;
            }
            if ("200 PAID".equals(answer)) {
                paidUnits += i.quantity();
            }
            for (JsonNode e : events.getOrDefault(i.orderId(), List.of())) {
                if (e.path("type").asText().equals("io.floodgate.order.expired")) {
                    long late = Instant.parse(e.path("time").asText()).toEpochMilli()
                            - Instant.parse(e.path("data").path("payment").path("dueAt").asText()).toEpochMilli();
                    lateness.recordValue(Math.max(0, Math.min(late, lateness.getHighestTrackableValue())));
                }
            }
        }
        checks.add(new Check("every order ends as its payment was answered, with exactly its events",
                wrongStory.isEmpty() ? Verdict.PASS : Verdict.FAIL, String.format(Locale.ROOT,
                "%,d paid at once (%,d of them reached the service after the due time: refund due), %,d paid late,"
                        + " %,d never paid%s", counts[0], onTimeButLate, counts[1], counts[2],
                wrongStory.isEmpty() ? "" : "; e.g. " + wrongStory)));
        checks.add(new Check("every payment answered 200: PAID before the due time, REFUND_DUE after",
                wrongAnswer.isEmpty() ? Verdict.PASS : Verdict.FAIL,
                wrongAnswer.isEmpty() ? "late payments were all refund due" : "e.g. " + wrongAnswer));
        long expectedAvailable = stock - soldBefore - paidUnits;
        long available = -1;
        for (int attempt = 0; attempt < 20; attempt++) {
            available = control.item(sku).map(ControlClient.Item::available).orElse(-1L);
            if (available == expectedAvailable) {
                break;
            }
            try {
                Thread.sleep(250);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        checks.add(new Check("stock = available + units of paid orders", available == expectedAvailable ? Verdict.PASS
                : Verdict.FAIL, String.format(Locale.ROOT, "available %,d, expected %,d (stock %,d, sold before %,d, paid"
                + " %,d units)", available, expectedAvailable, stock, soldBefore, paidUnits)));
        String measured;
        synchronized (feedDelay) {
            measured = String.format(Locale.ROOT, "expiry lateness ms: p50 %d, p99 %d, max %d (%,d expiries); commit to"
                            + " events feed ms: p50 %d, p99 %d, max %d (%,d events)",
                    lateness.getValueAtPercentile(50), lateness.getValueAtPercentile(99), lateness.getMaxValue(),
                    lateness.getTotalCount(), feedDelay.getValueAtPercentile(50), feedDelay.getValueAtPercentile(99),
                    feedDelay.getMaxValue(), feedDelay.getTotalCount());
        }
        checks.add(new Check("expiry within a second of the due time (p99)", lateness.getTotalCount() == 0 ? Verdict.SKIP
                : lateness.getValueAtPercentile(99) < 1_000 ? Verdict.PASS : Verdict.FAIL, measured));
        return checks;
    }

    @Override
    public void close() {
        stopping = true;
        payers.forEach(Thread::interrupt);
        follower.interrupt();
    }
}
