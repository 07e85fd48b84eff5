package io.floodgate.nemesis;

import io.floodgate.testing.Api;

import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The buyers of a nemesis run: {@code clients} virtual threads, each with a {@link Random} of its
 * own from the run's seed, ordering until stopped. A client makes a fresh Idempotency-Key for each
 * order (an item, mostly the newest hot one on sale, a user among {@value #USERS}, quantity 1-2),
 * sends it to an instance, and after 429/503/504 or a connection error sends it again, same key and
 * body, to the next instance (up to {@value #ATTEMPTS} times, with jitter). Now and then it sends a
 * key twice at once to two instances, replays an acknowledged key (same or another instance),
 * cancels an acknowledged order, or orders an item that is not on sale yet. Every call goes to the
 * {@link History}; the clients only remember which keys were acknowledged or left in doubt, for the
 * probe after the run.
 */
final class Workload {

    static final int USERS = 1_200;
    static final int ATTEMPTS = 6;

    record Intent(String key, String userId, String sku, int quantity) {
        String body() {
            return "{\"userId\":\"" + userId + "\",\"sku\":\"" + sku + "\",\"quantity\":" + quantity + "}";
        }
    }

    private final List<Cluster.Node> nodes;
    private final List<History.Item> items;
    private final History history;
    private final long seed;
    private final String tag;
    private final List<Thread> threads = new ArrayList<>();
    private final AtomicLong requestIds = new AtomicLong();
    private final Set<String> acked = ConcurrentHashMap.newKeySet();
    private final Map<String, Intent> inDoubt = new ConcurrentHashMap<>();
    private volatile boolean running;

    Workload(List<Cluster.Node> nodes, List<History.Item> items, History history, long seed, String tag) {
        this.nodes = nodes;
        this.items = items.stream().sorted(Comparator.comparingLong(History.Item::opensAtMs)).toList();
        this.history = history;
        this.seed = seed;
        this.tag = tag;
    }

    void start(int clients) {
        running = true;
        for (int c = 0; c < clients; c++) {
            int client = c;
            threads.add(Thread.ofVirtual().name("nemesis-client-" + c).start(() -> client(client)));
        }
    }

    /** Stops starting new keys; waits for the clients to finish the key in hand (each call is bounded). */
    void stop() {
        running = false;
        for (Thread t : threads) {
            try {
                t.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private void client(int c) {
        Random r = new Random(seed * 1_000_003L + c);
        int n = 0;
        while (running && !history.full()) {
            Intent intent = new Intent(String.format("%s-c%02d-%06d", tag, c, n++), "u" + r.nextInt(USERS),
                    pick(r, history.now()).sku(), 1 + r.nextInt(2));
            int home = r.nextInt(nodes.size());
            boolean twice = r.nextInt(25) == 0;
            boolean replay = r.nextInt(10) == 0;
            boolean cancel = r.nextInt(20) == 0;
            Thread second = twice ? Thread.ofVirtual().start(() -> place(intent, home + 1, "twice", c)) : null;
            History.Op answer = place(intent, home, "new", c);
            if (answer.outcome() == History.Outcome.ACK) {
                if (replay) {
                    retrying(intent, r.nextInt(nodes.size()), "replay", c, 3);
                }
                if (cancel) {
                    cancel(intent, answer.orderId(), answer.node() + 1, c);
                }
            }
            join(second);
            sleep(20 + r.nextInt(130));
        }
    }

    /**
     * The item a buyer wants now: mostly the newest hot item on sale, sometimes any item on sale,
     * rarely the next one before it opens.
     */
    private History.Item pick(Random r, long now) {
        List<History.Item> open = new ArrayList<>();
        History.Item newestHot = null;
        History.Item nextHot = null;
        for (History.Item item : items) {
            if (item.opensAtMs() <= now) {
                open.add(item);
                if (item.hot()) {
                    newestHot = item;
                }
            } else if (item.hot() && nextHot == null) {
                nextHot = item;
            }
        }
        double x = r.nextDouble();
        if (x < 0.03 && nextHot != null) {
            return nextHot;
        }
        if (x < 0.6 && newestHot != null) {
            return newestHot;
        }
        return open.isEmpty() ? items.getFirst() : open.get(r.nextInt(open.size()));
    }

    /** Sends a new key until it is answered for good (acknowledged or refused), at most {@value #ATTEMPTS} times. */
    private History.Op place(Intent intent, int home, String phase, int client) {
        return retrying(intent, home, phase, client, ATTEMPTS);
    }

    private History.Op retrying(Intent intent, int home, String phase, int client, int attempts) {
        History.Op op = null;
        for (int a = 0; a < attempts; a++) {
            op = send(Math.floorMod(home + a, nodes.size()), intent, a == 0 ? phase : phase + "-retry", client);
            History.Outcome o = op.outcome();
            if (o == History.Outcome.ACK || o == History.Outcome.REFUSED) {
                return op;
            }
            sleep(50 + (long) (Math.random() * 250)); // jitter, not from the seed: timing does not replay anyway
        }
        return op;
    }

    /** One call: POST /api/v1/orders with the intent's key, recorded. */
    History.Op send(int node, Intent intent, String phase, int client) {
        Api api = nodes.get(node).api;
        long t0 = history.now();
        Api.Response r = null;
        String error = null;
        try {
            r = api.order(intent.key(), intent.body(), Map.of("X-Request-Id", intent.key() + "." + requestIds.incrementAndGet()));
        } catch (UncheckedIOException | IllegalStateException e) {
            error = errorKind(e);
        }
        History.Op op = record("order", phase, client, node, intent, t0, r, error, null);
        switch (op.outcome()) {
            case ACK -> {
                acked.add(intent.key());
                inDoubt.remove(intent.key());
            }
            case IN_DOUBT -> {
                if (!acked.contains(intent.key())) {
                    inDoubt.put(intent.key(), intent);
                }
            }
            default -> {
            }
        }
        return op;
    }

    /** Cancels an acknowledged order, trying the next instance after an answer that is not final. */
    private void cancel(Intent intent, String orderId, int home, int client) {
        for (int a = 0; a < 5; a++) {
            int node = Math.floorMod(home + a, nodes.size());
            long t0 = history.now();
            Api.Response r = null;
            String error = null;
            try {
                r = nodes.get(node).api.cancel(orderId);
            } catch (UncheckedIOException | IllegalStateException e) {
                error = errorKind(e);
            }
            History.Op op = record("cancel", a == 0 ? "cancel" : "cancel-retry", client, node, intent, t0, r, error, orderId);
            if (op.status() == 200 || op.status() == 404 || op.status() == 409) {
                return;
            }
            sleep(100 + (long) (Math.random() * 300));
        }
    }

    private History.Op record(String kind, String phase, int client, int node, Intent intent, long t0, Api.Response r,
                              String error, String orderId) {
        long t1 = history.now();
        int status = r == null ? -1 : r.status();
        boolean success = status >= 200 && status < 300;
        String id = success ? r.json().path("orderId").asText(null) : orderId;
        History.Op op = new History.Op(history.nextId(), kind, phase, client, node, intent.key(), intent.sku(),
                intent.userId(), intent.quantity(), t0, t1, status, r == null ? null : r.code(), id,
                success ? r.json().path("status").asText(null) : null,
                r != null && "true".equals(r.header("Idempotent-Replayed").orElse(null)), error);
        history.op(op);
        return op;
    }

    private static String errorKind(RuntimeException e) {
        Throwable cause = e.getCause() == null ? e : e.getCause();
        if (cause instanceof ConnectException || cause instanceof HttpConnectTimeoutException) {
            return "refused";
        }
        if (cause instanceof HttpTimeoutException) {
            return "timeout";
        }
        return "broken: " + cause.getClass().getSimpleName() + (cause.getMessage() == null ? "" : " " + cause.getMessage());
    }

    /**
     * Sends every key left in doubt (and never acknowledged) again, once the system has settled: a
     * key whose order exists must replay it; one without is judged afresh. Recorded as phase "probe".
     */
    void probeInDoubt(Duration atMost) {
        long until = System.nanoTime() + atMost.toNanos();
        List<Intent> keys = inDoubt.values().stream().filter(i -> !acked.contains(i.key()))
                .sorted(Comparator.comparing(Intent::key)).toList();
        for (Intent intent : keys) {
            if (System.nanoTime() - until > 0) {
                history.mark("probe stopped: time is up");
                return;
            }
            History.Op op = retrying(intent, Math.floorMod(intent.key().hashCode(), nodes.size()), "probe", -1, 10);
            if (op.outcome() != History.Outcome.ACK && op.outcome() != History.Outcome.REFUSED) {
                sleep(300);
            }
        }
    }

    int inDoubtKeys() {
        return (int) inDoubt.keySet().stream().filter(k -> !acked.contains(k)).count();
    }

    private static void join(Thread t) {
        if (t != null) {
            try {
                t.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private static void sleep(long millis) {
        Cluster.sleep(millis);
    }
}
