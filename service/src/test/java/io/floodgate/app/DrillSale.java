package io.floodgate.app;

import io.floodgate.testing.Api;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;

import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.atomic.LongAccumulator;

import static org.awaitility.Awaitility.await;

/**
 * One flash sale spread over several Floodgate processes that share the Redis ledger, the Kafka
 * log and the MariaDB store, for the distributed drills: a seeded scenario (items of small stock,
 * per-user limits, many users), a burst of concurrent clients that retry with the same
 * Idempotency-Key (some on another instance, some twice at once), every answer recorded; then the
 * checks, against the store itself (JDBC) and the ledger itself (Redis), not against what the
 * service says about itself.
 *
 * <p>Answers are sorted as the API defines them: 200/201/202 acknowledge an order; 409 and
 * 429/503 say it was not taken (and leave nothing reserved); 504 and a broken connection leave
 * the outcome in doubt (the order may exist; a retry with the same key must find it).
 */
final class DrillSale implements AutoCloseable {

    record Item(String sku, long stock, int perUserLimit) {
    }

    record Intent(String key, String userId, String sku, int quantity) {
        String body() {
            return "{\"userId\":\"" + userId + "\",\"sku\":\"" + sku + "\",\"quantity\":" + quantity + "}";
        }
    }

    /** An order row of the store. */
    record Stored(String orderId, String sku, String key, String userId, int quantity, String status) {
        boolean live() {
            return !"CANCELLED".equals(status);
        }
    }

    /** What the burst does besides ordering: a fault, and when. */
    interface Fault {
        /** Runs on the controller thread once {@code acks} orders were acknowledged (or a timeout). */
        void inject(DrillSale sale) throws Exception;
    }

    static final int MAX_ATTEMPTS = 4;

    final String context;
    final List<Item> items;
    final Map<String, Item> itemsBySku = new LinkedHashMap<>();
    final List<Intent> intents;
    final Map<String, Intent> intentsByKey = new ConcurrentHashMap<>();
    private final String dbUrl;
    private final String dbUser;
    private final String namespace;
    private final RedisClient redisClient;
    private final AtomicReferenceArray<ServiceProcess> nodes;
    private final Set<Integer> dead = ConcurrentHashMap.newKeySet();
    private final long answerBoundMillis;
    private final String itemsPrefix;

    // ---- what the clients saw ----
    /** Order ids acknowledged (200/201/202) per key. */
    final Map<String, Set<String>> ackedIds = new ConcurrentHashMap<>();
    /** Keys with at least one answer that leaves the outcome in doubt (504, broken connection, 5xx). */
    final Set<String> inDoubt = ConcurrentHashMap.newKeySet();
    /** Keys sent at least once. */
    final Set<String> sent = ConcurrentHashMap.newKeySet();
    final Set<String> cancelAttempted = ConcurrentHashMap.newKeySet();
    final Set<String> cancelAcked = ConcurrentHashMap.newKeySet();
    final Queue<String> problems = new ConcurrentLinkedQueue<>();
    final Queue<String> slow = new ConcurrentLinkedQueue<>();
    final Map<String, AtomicInteger> answers = new ConcurrentHashMap<>();
    final AtomicInteger acks = new AtomicInteger();
    final LongAccumulator slowest = new LongAccumulator(Math::max, 0);
    private final AtomicInteger sequence = new AtomicInteger();
    private volatile long burstStart = System.nanoTime();

    private DrillSale(String context, String prefix, List<Item> items, List<Intent> intents, Map<String, String> env,
                      String redisUrl, ServiceProcess[] nodes, long answerBoundMillis) {
        this.context = context;
        this.itemsPrefix = prefix;
        this.items = List.copyOf(items);
        this.intents = List.copyOf(intents);
        items.forEach(i -> itemsBySku.put(i.sku(), i));
        intents.forEach(i -> intentsByKey.put(i.key(), i));
        this.dbUrl = env.get("FLOODGATE_DB_URL");
        this.dbUser = env.get("FLOODGATE_DB_USER");
        this.namespace = env.get("FLOODGATE_REDIS_NAMESPACE");
        this.redisClient = RedisClient.create(RedisURI.create(redisUrl));
        this.nodes = new AtomicReferenceArray<>(nodes);
        this.answerBoundMillis = answerBoundMillis;
    }

    /**
     * A seeded scenario: 3-5 items of stock 30-120 and limit 1-3, 500-800 users, {@code clients}
     * keys of quantity 1-2 (demand many times the stock).
     */
    static DrillSale create(Random rnd, String context, String prefix, int clients, Map<String, String> env,
                            String redisUrl, ServiceProcess[] nodes, long answerBoundMillis) {
        List<Item> items = new ArrayList<>();
        int itemCount = 3 + rnd.nextInt(3);
        for (int i = 0; i < itemCount; i++) {
            items.add(new Item(prefix + "-i" + i, 30 + rnd.nextInt(91), 1 + rnd.nextInt(3)));
        }
        int users = 500 + rnd.nextInt(301);
        List<Intent> intents = new ArrayList<>();
        for (int k = 0; k < clients; k++) {
            Item item = items.get(rnd.nextInt(itemCount));
            intents.add(new Intent(String.format("%s-k%05d", prefix, k), prefix + "-u" + rnd.nextInt(users), item.sku(),
                    1 + rnd.nextInt(2)));
        }
        return new DrillSale(context, prefix, items, intents, env, redisUrl, nodes, answerBoundMillis);
    }

    long totalStock() {
        return items.stream().mapToLong(Item::stock).sum();
    }

    ServiceProcess node(int i) {
        return nodes.get(i);
    }

    int nodeCount() {
        return nodes.length();
    }

    /** Marks a node dead (clients stop choosing it; a request to it would be refused anyway). */
    void markDead(int i) {
        dead.add(i);
    }

    void createItems() {
        Api api = liveApi(0);
        for (Item item : items) {
            // a PUT is idempotent: one that answered 503 or 504 on a busy machine is sent again (and answers 200
            // if the first did create the item)
            Api.Response r = api.putItem(item.sku(), "Drill " + item.sku(), item.stock(), item.perUserLimit());
            for (int tries = 1; (r.status() == 503 || r.status() == 504) && tries < 10; tries++) {
                r = api.putItem(item.sku(), "Drill " + item.sku(), item.stock(), item.perUserLimit());
            }
            if (r.status() != 201 && r.status() != 200) {
                throw new AssertionError(context + ": creating " + item + " answered " + r);
            }
        }
    }

    /**
     * Warms the instances up before the burst (class loading, the JIT, pools, the Kafka producer
     * and consumers, Redis scripts): {@code ordersPerNode} orders on an item of its own, which the
     * checks leave out. Without it the first seconds of the burst on freshly started JVMs (C1
     * only, two cores) are a stall that no deadline can cover.
     */
    void warmUp(int ordersPerNode) {
        String sku = itemsPrefix + "-warm";
        Api.Response r = liveApi(0).putItem(sku, "Warm-up", 1_000_000, 1);
        if (r.status() != 201) {
            throw new AssertionError(context + ": creating the warm-up item answered " + r);
        }
        List<Integer> work = new ArrayList<>();
        for (int n = 0; n < ordersPerNode * nodeCount(); n++) {
            work.add(n);
        }
        parallel(work, n -> {
            Api api = liveApi(n % nodeCount());
            try {
                api.order(sku + "-k" + n, "{\"userId\":\"warm-" + n + "\",\"sku\":\"" + sku + "\",\"quantity\":1}",
                        Map.of());
                api.item(items.get(n % items.size()).sku());
            } catch (RuntimeException e) {
                // warming only
            }
        });
    }

    // ---------------------------------------------------------------- the burst

    /**
     * Every intent from its own virtual thread, arriving over {@code spreadMillis}, home instance
     * chosen at random; about one in twelve sent twice at once (to two instances), one in twelve
     * sent again to another instance once acknowledged (a replay), one in thirty cancelled once
     * acknowledged. {@code fault} runs once {@code faultAfterAcks} orders were acknowledged (or
     * after {@code spreadMillis} if that never happens), on a thread of its own, while the
     * burst goes on. Returns when every client and the fault are done.
     */
    void burst(Random rnd, long spreadMillis, int faultAfterAcks, Fault fault) {
        record Plan(Intent intent, int home, long delay, boolean twice, boolean replay, boolean cancel) {
        }
        List<Plan> plans = new ArrayList<>();
        for (Intent intent : intents) {
            plans.add(new Plan(intent, rnd.nextInt(nodeCount()), rnd.nextLong(spreadMillis), rnd.nextInt(12) == 0,
                    rnd.nextInt(12) == 0, rnd.nextInt(30) == 0));
        }
        CountDownLatch go = new CountDownLatch(1);
        AtomicBoolean faultDone = new AtomicBoolean(fault == null);
        try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
            if (fault != null) {
                threads.submit(() -> {
                    try {
                        go.await();
                        long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(spreadMillis);
                        while (acks.get() < faultAfterAcks && System.nanoTime() < until) {
                            Thread.sleep(2);
                        }
                        System.out.println(context + ": fault after " + acks.get() + " acks");
                        fault.inject(this);
                    } catch (Throwable e) {
                        problems.add("the fault failed: " + e);
                        e.printStackTrace(System.out);
                    } finally {
                        faultDone.set(true);
                    }
                    return null;
                });
            }
            for (Plan p : plans) {
                int copies = p.twice() ? 2 : 1;
                for (int c = 0; c < copies; c++) {
                    int home = (p.home() + c) % nodeCount();
                    boolean first = c == 0;
                    threads.submit(() -> {
                        go.await();
                        Thread.sleep(p.delay());
                        client(p.intent(), home, p.replay() && first, p.cancel() && first);
                        return null;
                    });
                }
            }
            burstStart = System.nanoTime();
            go.countDown();
        }
        if (!faultDone.get()) {
            problems.add("the fault did not finish");
        }
    }

    /** One client: sends its intent until it gets an answer that is not "try again", at most MAX_ATTEMPTS. */
    void client(Intent intent, int home, boolean replayAfterAck, boolean cancelAfterAck) {
        int node = liveNode(home);
        for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
            Answer a = send(node, intent, "burst");
            switch (a.kind()) {
                case ACK -> {
                    if (replayAfterAck) {
                        Answer again = send(liveNode(node + 1), intent, "replay");
                        if (again.kind() == Kind.ACK && (again.status() != 200 || !a.orderId().equals(again.orderId()))) {
                            problems.add("key " + intent.key() + " acknowledged as " + a + " then, sent again, as "
                                    + again + " (a replay must answer 200 with the same order)");
                        }
                    }
                    if (cancelAfterAck) {
                        cancel(a.orderId(), node);
                    }
                    return;
                }
                case REFUSED -> {
                    return;
                }
                case NOT_TAKEN, IN_DOUBT -> {
                    // jitter, not from the seed: the interleaving of a burst is not reproducible anyway
                    sleep(50 + java.util.concurrent.ThreadLocalRandom.current().nextLong(150));
                    node = liveNode(node + 1);
                }
            }
        }
    }

    enum Kind { ACK, REFUSED, NOT_TAKEN, IN_DOUBT }

    record Answer(Kind kind, int status, String code, String orderId) {
    }

    /** One attempt of {@code intent} on node {@code i}, recorded. */
    Answer send(int i, Intent intent, String phase) {
        sent.add(intent.key());
        Api api = liveApi(i);
        String requestId = intent.key() + "." + sequence.incrementAndGet();
        long start = System.nanoTime();
        Api.Response r;
        try {
            r = api.order(intent.key(), intent.body(), Map.of("X-Request-Id", requestId));
        } catch (UncheckedIOException | IllegalStateException e) {
            long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            timed(millis, intent, "connection error " + e.getCause());
            Throwable cause = e.getCause();
            if (cause instanceof ConnectException) {
                count(phase + " refused-connection");
                return new Answer(Kind.NOT_TAKEN, -1, "REFUSED_CONNECTION", null);
            }
            count(phase + " broken-connection");
            if (dead.isEmpty()) {
                problems.add("request " + requestId + " to node " + i + " broke with no node killed: " + e);
            }
            inDoubt.add(intent.key());
            return new Answer(Kind.IN_DOUBT, -1, "BROKEN_CONNECTION", null);
        }
        long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        timed(millis, intent, r.status() + " " + r.code());
        String code = r.code();
        count(phase + " " + r.status() + (code == null ? "" : " " + code)
                + (r.status() == 503 ? " (" + r.json().path("detail").asText("").replaceAll("[0-9a-f-]{20,}|[0-9]+", "#") + ")" : ""));
        switch (r.status()) {
            case 200, 201, 202 -> {
                String orderId = r.json().path("orderId").asText(null);
                List<String> wrong = new ArrayList<>();
                if (orderId == null) {
                    wrong.add("no orderId");
                }
                if (!intent.sku().equals(r.json().path("sku").asText()) || !intent.userId().equals(r.json().path("userId").asText())
                        || r.json().path("quantity").asInt() != intent.quantity()) {
                    wrong.add("the order view does not match the request");
                }
                String status = r.json().path("status").asText();
                if (r.status() == 201 && !"CONFIRMED".equals(status) || r.status() == 202 && !"ACCEPTED".equals(status)) {
                    wrong.add("status " + status + " on a " + r.status());
                }
                if (r.status() == 200 && !"true".equals(r.header("Idempotent-Replayed").orElse(null))) {
                    wrong.add("a 200 without Idempotent-Replayed: true");
                }
                if (!wrong.isEmpty()) {
                    problems.add("request " + requestId + " (" + intent + "): " + wrong + ": " + r);
                }
                if (orderId != null) {
                    ackedIds.computeIfAbsent(intent.key(), k -> ConcurrentHashMap.newKeySet()).add(orderId);
                    acks.incrementAndGet();
                }
                return new Answer(Kind.ACK, r.status(), null, orderId);
            }
            case 409 -> {
                if (!"SOLD_OUT".equals(code) && !"PER_USER_LIMIT".equals(code)) {
                    problems.add("request " + requestId + " (" + intent + ") answered 409 " + code + ": " + r);
                }
                return new Answer(Kind.REFUSED, 409, code, null);
            }
            case 429, 503 -> {
                if (!Set.of("RATE_LIMITED", "OVERLOADED", "DEPENDENCY_UNAVAILABLE").contains(code)) {
                    problems.add("request " + requestId + " (" + intent + ") answered " + r);
                }
                return new Answer(Kind.NOT_TAKEN, r.status(), code, null);
            }
            case 504 -> {
                if (!"DEADLINE_EXCEEDED".equals(code)) {
                    problems.add("request " + requestId + " (" + intent + ") answered " + r);
                }
                inDoubt.add(intent.key());
                return new Answer(Kind.IN_DOUBT, 504, code, null);
            }
            default -> {
                problems.add("request " + requestId + " (" + intent + ") answered unexpectedly: " + r);
                inDoubt.add(intent.key());
                return new Answer(Kind.IN_DOUBT, r.status(), code, null);
            }
        }
    }

    private void timed(long millis, Intent intent, String what) {
        slowest.accumulate(millis);
        if (millis > answerBoundMillis) {
            slow.add(intent.key() + " answered " + what + " after " + millis + " ms, sent at +"
                    + (TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - burstStart) - millis) + " ms");
        }
    }

    private void count(String what) {
        answers.computeIfAbsent(what, k -> new AtomicInteger()).incrementAndGet();
    }

    /** Cancels an acknowledged order, retrying "not now" answers a few times. */
    void cancel(String orderId, int node) {
        cancelAttempted.add(orderId);
        for (int attempt = 0; attempt < 6; attempt++) {
            Api.Response r;
            try {
                r = liveApi(node).cancel(orderId);
            } catch (UncheckedIOException | IllegalStateException e) {
                node = liveNode(node + 1);
                continue;
            }
            count("cancel " + r.status() + (r.code() == null ? "" : " " + r.code()));
            if (r.status() == 200) {
                if ("CANCELLED".equals(r.json().path("status").asText())) {
                    cancelAcked.add(orderId);
                } else {
                    problems.add("cancel of " + orderId + " answered 200 with " + r);
                }
                return;
            }
            if (r.status() != 503 && r.status() != 504 && r.status() != 429) {
                problems.add("cancel of acknowledged order " + orderId + " answered " + r);
                return;
            }
            sleep(200);
            node = liveNode(node + 1);
        }
    }

    int liveNode(int from) {
        for (int k = 0; k < nodeCount(); k++) {
            int i = Math.floorMod(from + k, nodeCount());
            if (!dead.contains(i)) {
                return i;
            }
        }
        throw new IllegalStateException("no live node");
    }

    private Api liveApi(int i) {
        return nodes.get(liveNode(i)).api();
    }

    // ---------------------------------------------------------------- after the burst

    /** Every order row of the store, by id. */
    Map<String, Stored> storeOrders() {
        Map<String, Stored> orders = new HashMap<>();
        try (Connection c = DriverManager.getConnection(dbUrl, dbUser, "");
             Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT order_id, sku, idempotency_key, user_id, quantity, status FROM orders")) {
            while (rs.next()) {
                if (rs.getString(2).equals(itemsPrefix + "-warm")) {
                    continue;
                }
                Stored o = new Stored(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4), rs.getInt(5),
                        rs.getString(6));
                if (orders.put(o.orderId(), o) != null) {
                    problems.add("order " + o.orderId() + " is in the store twice");
                }
            }
        } catch (SQLException e) {
            throw new IllegalStateException(context + ": cannot read the store: " + e.getMessage(), e);
        }
        return orders;
    }

    /** The ledger's own figures for an item: {available, pending units, pending keys}. */
    long[] ledger(String sku) {
        try (StatefulRedisConnection<String, String> c = redisClient.connect()) {
            c.setTimeout(Duration.ofSeconds(2));
            String prefix = namespace + ":{" + sku + "}:";
            String avail = c.sync().hget(prefix + "item", "avail");
            long pendingKeys = c.sync().zcard(prefix + "pending");
            long pendingUnits = 0;
            for (String key : c.sync().zrange(prefix + "pending", 0, -1)) {
                String entry = c.sync().hget(prefix + "keys", key);
                if (entry != null) {
                    pendingUnits += Long.parseLong(entry.split("\\|", 4)[2]);
                }
            }
            return new long[] {avail == null ? Long.MIN_VALUE : Long.parseLong(avail), pendingUnits, pendingKeys};
        }
    }

    static Map<String, Long> liveUnitsBySku(Collection<Stored> orders) {
        Map<String, Long> live = new TreeMap<>();
        for (Stored o : orders) {
            if (o.live()) {
                live.merge(o.sku(), (long) o.quantity(), Long::sum);
            }
        }
        return live;
    }

    /** The store and the ledger agree per item, nothing pending: {@code sold + available == stock}. */
    String unsettled() {
        Map<String, Stored> orders = storeOrders();
        for (Map.Entry<String, Set<String>> e : ackedIds.entrySet()) {
            for (String id : e.getValue()) {
                if (!orders.containsKey(id)) {
                    return "acknowledged order " + id + " (" + e.getKey() + ") is not in the store yet";
                }
            }
        }
        Map<String, Long> live = liveUnitsBySku(orders.values());
        List<String> off = new ArrayList<>();
        for (Item item : items) {
            long[] l = ledger(item.sku());
            long sold = live.getOrDefault(item.sku(), 0L);
            if (l[2] != 0 || sold + l[0] != item.stock()) {
                off.add(item.sku() + ": stock " + item.stock() + ", store sold " + sold + ", ledger available " + l[0]
                        + ", pending " + l[2] + " keys/" + l[1] + " units");
            }
        }
        return off.isEmpty() ? null : String.join("; ", off);
    }

    /** Waits (bounded) until {@link #unsettled()} is null; fails with the last state otherwise. */
    void awaitSettled(Duration atMost) {
        String[] last = new String[1];
        long start = System.nanoTime();
        try {
            await().atMost(atMost).pollInterval(Duration.ofMillis(250)).ignoreExceptions().until(() -> {
                last[0] = unsettled();
                return last[0] == null;
            });
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            throw new AssertionError(context + ": not settled within " + atMost.toSeconds() + " s: " + last[0]
                    + logs(), e);
        }
        System.out.println(context + ": settled in " + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start) + " ms");
    }

    /** The invariants on the store, against what the clients were told. */
    List<String> violations(Map<String, Stored> orders) {
        List<String> v = new ArrayList<>(problems);
        Map<String, List<Stored>> byKey = new HashMap<>();
        Map<String, Long> held = new TreeMap<>();
        for (Stored o : orders.values()) {
            Intent intent = intentsByKey.get(o.key());
            if (intent == null) {
                v.add("stored order " + o + " has a key none of our clients sent");
                continue;
            }
            if (!intent.sku().equals(o.sku()) || !intent.userId().equals(o.userId()) || intent.quantity() != o.quantity()) {
                v.add("stored order " + o + " does not match its request " + intent);
            }
            byKey.computeIfAbsent(o.key(), k -> new ArrayList<>()).add(o);
            if (o.live()) {
                held.merge(o.sku() + "|" + o.userId(), (long) o.quantity(), Long::sum);
            }
        }
        byKey.forEach((key, list) -> {
            if (list.size() > 1) {
                v.add("key " + key + " has " + list.size() + " orders in the store: " + list);
            }
        });
        Map<String, Long> live = liveUnitsBySku(orders.values());
        for (Item item : items) {
            long sold = live.getOrDefault(item.sku(), 0L);
            if (sold > item.stock()) {
                v.add("OVERSOLD: item " + item + " has " + sold + " units in live orders in the store");
            }
        }
        held.forEach((skuUser, units) -> {
            Item item = itemsBySku.get(skuUser.substring(0, skuUser.indexOf('|')));
            if (units > item.perUserLimit()) {
                v.add("user limit broken: " + skuUser + " holds " + units + " units, limit " + item.perUserLimit());
            }
        });
        ackedIds.forEach((key, ids) -> {
            if (ids.size() > 1) {
                v.add("key " + key + " was acknowledged as " + ids.size() + " different orders: " + ids);
            }
            for (String id : ids) {
                Stored o = orders.get(id);
                if (o == null) {
                    v.add("acknowledged order " + id + " (" + intentsByKey.get(key) + ") is not in the store");
                } else if (!key.equals(o.key())) {
                    v.add("acknowledged order " + id + " for key " + key + " is stored under key " + o.key());
                } else if (cancelAcked.contains(id) && o.live()) {
                    v.add("order " + id + " was cancelled (200) but is stored as " + o.status());
                } else if (!cancelAttempted.contains(id) && !o.live()) {
                    v.add("order " + id + " was never cancelled but is stored as " + o.status());
                }
            }
        });
        for (String key : sent) {
            if (!ackedIds.containsKey(key) && !inDoubt.contains(key) && byKey.containsKey(key)) {
                v.add("key " + key + " was only ever refused (409/429/503) yet has an order in the store: "
                        + byKey.get(key));
            }
        }
        return v;
    }

    /**
     * The keys whose outcome stayed in doubt, sent again now that everything settled: one with
     * an order in the store must replay it (200, that order); one without is judged afresh.
     */
    List<String> probeInDoubt() {
        Map<String, Stored> byKey = new HashMap<>();
        storeOrders().values().forEach(o -> byKey.put(o.key(), o));
        List<String> keys = inDoubt.stream().filter(k -> !ackedIds.containsKey(k)).sorted().toList();
        Queue<String> v = new ConcurrentLinkedQueue<>();
        AtomicInteger replays = new AtomicInteger();
        AtomicInteger fresh = new AtomicInteger();
        parallel(keys, key -> {
            Intent intent = intentsByKey.get(key);
            Stored stored = byKey.get(key);
            for (int attempt = 0; attempt < 10; attempt++) {
                Answer a = send(liveNode(attempt), intent, "probe");
                if (a.kind() == Kind.NOT_TAKEN || a.kind() == Kind.IN_DOUBT) {
                    sleep(300);
                    continue;
                }
                if (stored != null) {
                    if (a.status() != 200 || !stored.orderId().equals(a.orderId())) {
                        v.add("in-doubt key " + key + " has order " + stored + " in the store, but a retry answered "
                                + a + " instead of replaying it");
                    } else {
                        replays.incrementAndGet();
                    }
                } else if (a.status() == 200) {
                    v.add("in-doubt key " + key + " has no order in the store, yet a retry replayed " + a.orderId());
                } else {
                    fresh.incrementAndGet();
                }
                return;
            }
            v.add("in-doubt key " + key + " (stored: " + stored + ") got no definite answer in 10 retries");
        });
        System.out.println(context + ": probed " + keys.size() + " in-doubt keys: " + replays + " replayed their stored"
                + " order, " + fresh + " judged afresh, " + v.size() + " wrong");
        return List.copyOf(v);
    }

    /**
     * Buys what is left of every item, one unit at a time from fresh users, until the ledger
     * itself has nothing available: what the faults released must be sellable again.
     */
    void sweep(Duration atMost) {
        long until = System.nanoTime() + atMost.toNanos();
        AtomicInteger bought = new AtomicInteger();
        parallel(items, item -> {
            int n = 0;
            while (System.nanoTime() < until) {
                long[] l;
                try {
                    l = ledger(item.sku());
                } catch (RuntimeException e) {
                    sleep(200);
                    continue;
                }
                if (l[0] <= 0) {
                    return;
                }
                Intent intent = new Intent(item.sku() + "-sweep-" + n, item.sku() + "-sweeper-" + n, item.sku(), 1);
                intentsByKey.put(intent.key(), intent);
                n++;
                for (int attempt = 0; attempt < 10; attempt++) {
                    Answer a = send(liveNode(n + attempt), intent, "sweep");
                    if (a.kind() == Kind.ACK) {
                        bought.incrementAndGet();
                        break;
                    }
                    if (a.kind() == Kind.REFUSED) {
                        sleep(100); // a sold-out marker of an instance may lag a release made elsewhere
                        break;
                    }
                    sleep(200);
                }
            }
            problems.add("the sweep of " + item.sku() + " did not sell out within " + atMost.toSeconds() + " s");
        });
        System.out.println(context + ": the sweep bought " + bought + " more units");
    }

    /** Sold == stock and nothing available, per item (after {@link #sweep}). */
    List<String> soldOutExactly(Map<String, Stored> orders) {
        List<String> v = new ArrayList<>();
        Map<String, Long> live = liveUnitsBySku(orders.values());
        for (Item item : items) {
            long[] l = ledger(item.sku());
            long sold = live.getOrDefault(item.sku(), 0L);
            if (sold != item.stock() || l[0] != 0 || l[2] != 0) {
                v.add("item " + item + " after the sweep: store sold " + sold + ", ledger available " + l[0]
                        + ", pending " + l[2]);
            }
        }
        return v;
    }

    String summary() {
        return context + ": " + intents.size() + " keys for " + items + "; acks " + acks.get() + " ("
                + ackedIds.size() + " keys), in doubt " + inDoubt.size() + " keys, cancels " + cancelAcked.size() + "/"
                + cancelAttempted.size() + ", slowest answer " + slowest.get() + " ms; answers " + new TreeMap<>(answers);
    }

    String logs() {
        StringBuilder b = new StringBuilder("\nservice logs:");
        for (int i = 0; i < nodeCount(); i++) {
            b.append(' ').append(nodes.get(i).logFile());
        }
        return b.toString();
    }

    static <T> void parallel(Collection<T> elements, java.util.function.Consumer<T> work) {
        Semaphore permits = new Semaphore(32);
        try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
            for (T e : elements) {
                threads.submit(() -> {
                    permits.acquireUninterruptibly();
                    try {
                        work.accept(e);
                    } finally {
                        permits.release();
                    }
                });
            }
        }
    }

    private static void sleep(long millis) {
        OrderBurst.sleep(millis);
    }

    @Override
    public void close() {
        redisClient.shutdown(Duration.ZERO, Duration.ofSeconds(1));
    }
}
