package io.floodgate.app;

import com.fasterxml.jackson.databind.JsonNode;
import io.floodgate.testing.Api;

import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Queue;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * A randomized burst of order requests against one {@link ServiceProcess}, stopped part-way
 * (SIGKILL or SIGTERM) after a chosen number of acknowledgements, with every outcome recorded;
 * and the audit, on a restarted service, of the store against those outcomes.
 *
 * <p>Every request carries {@code X-Request-Id: <key>.<n>}, so a stored order names the key that
 * made it (the order view has {@code requestId}, not the key). That is what lets the audit check
 * "one key, one order" on the store itself, not only on the answers the client saw.
 */
final class OrderBurst {

    /** How the burst ends the service. */
    enum Stop { KILL, TERM }

    record Item(String sku, String name, long stock, int perUserLimit) {
    }

    record Intent(String key, String userId, String sku, int quantity) {
        String body() {
            return "{\"userId\":\"" + userId + "\",\"sku\":\"" + sku + "\",\"quantity\":" + quantity + "}";
        }

        String skuKey() {
            return sku + "|" + key;
        }
    }

    /** One HTTP attempt of an intent (duplicates share the intent and so the key and body). */
    record Request(int seq, Intent intent, boolean cancelIfNew) {
        String requestId() {
            return intent.key() + "." + seq;
        }
    }

    /** An answer 201 or 202 (new) or 200 (replay). */
    record Ack(String orderId, Intent intent, int status, String requestId) {
    }

    /** An order as the store lists it. */
    record Stored(String orderId, String sku, String userId, int quantity, String status, String requestId) {
        boolean live() {
            return !"CANCELLED".equals(status);
        }

        /** The idempotency key of the request that made it, from our request id scheme. */
        String key() {
            int dot = requestId == null ? -1 : requestId.lastIndexOf('.');
            return dot <= 0 ? null : requestId.substring(0, dot);
        }

        static Stored of(JsonNode o) {
            return new Stored(o.path("orderId").asText(null), o.path("sku").asText(null), o.path("userId").asText(null),
                    o.path("quantity").asInt(-1), o.path("status").asText(null), o.path("requestId").asText(null));
        }
    }

    final String context;
    final List<Item> items;
    final List<String> users;
    final List<Request> requests;
    private final Map<String, Intent> intentsByKey = new HashMap<>();
    private final Map<String, Item> itemsBySku = new LinkedHashMap<>();

    // ---- outcomes of the burst ----
    final Queue<Ack> acks = new ConcurrentLinkedQueue<>();
    final Queue<Request> rejected = new ConcurrentLinkedQueue<>();
    final Queue<Request> unknown = new ConcurrentLinkedQueue<>();
    final Queue<String> problems = new ConcurrentLinkedQueue<>();
    final Map<Integer, AtomicInteger> statusCounts = new ConcurrentHashMap<>();
    final Set<String> cancelAttempted = ConcurrentHashMap.newKeySet();
    final Set<String> cancelAcked = ConcurrentHashMap.newKeySet();
    final AtomicInteger notSent = new AtomicInteger();
    /** Requests sent before the stop whose connection broke without an answer. */
    final Queue<String> cutInFlight = new ConcurrentLinkedQueue<>();
    /** Connection errors by kind: refused (never delivered) or broken (maybe delivered). */
    final Map<String, AtomicInteger> connectionErrors = new ConcurrentHashMap<>();
    final AtomicInteger ackCount = new AtomicInteger();
    final AtomicInteger responseCount = new AtomicInteger();
    volatile String stopReason = "not stopped";
    volatile int acksAtStop = -1;

    private OrderBurst(String context, List<Item> items, List<String> users, List<Request> requests) {
        this.context = context;
        this.items = items;
        this.users = users;
        this.requests = requests;
        items.forEach(i -> itemsBySku.put(i.sku(), i));
        requests.forEach(r -> intentsByKey.put(r.intent().key(), r.intent()));
    }

    /**
     * A random scenario: 2-3 items (stock 50-400, limit 1-3), 100-400 users, {@code minIntents}
     * to {@code maxIntents} distinct keys with quantity 1-2, about one in eight sent two or three
     * times, about one new order in twenty cancelled straight after.
     */
    static OrderBurst random(Random rnd, String context, String keyPrefix, int minIntents, int maxIntents) {
        int itemCount = 2 + rnd.nextInt(2);
        List<Item> items = new ArrayList<>();
        for (int i = 0; i < itemCount; i++) {
            items.add(new Item(keyPrefix + "-item-" + i, "Item " + i + " of " + keyPrefix,
                    50 + rnd.nextInt(351), 1 + rnd.nextInt(3)));
        }
        int userCount = 100 + rnd.nextInt(301);
        List<String> users = new ArrayList<>();
        for (int u = 0; u < userCount; u++) {
            users.add(keyPrefix + "-u" + u);
        }
        int intentCount = minIntents + rnd.nextInt(maxIntents - minIntents + 1);
        List<Intent> intents = new ArrayList<>();
        for (int k = 0; k < intentCount; k++) {
            Item item = items.get(rnd.nextInt(itemCount));
            intents.add(new Intent(String.format("%s-k%05d", keyPrefix, k), users.get(rnd.nextInt(userCount)),
                    item.sku(), 1 + rnd.nextInt(2)));
        }
        List<Intent> sends = new ArrayList<>(intents);
        for (Intent intent : intents) {
            if (rnd.nextInt(8) == 0) {
                int copies = 1 + rnd.nextInt(2);
                for (int c = 0; c < copies; c++) {
                    sends.add(intent);
                }
            }
        }
        Collections.shuffle(sends, rnd);
        List<Request> requests = new ArrayList<>(sends.size());
        for (int s = 0; s < sends.size(); s++) {
            requests.add(new Request(s, sends.get(s), rnd.nextInt(20) == 0));
        }
        return new OrderBurst(context, List.copyOf(items), List.copyOf(users), List.copyOf(requests));
    }

    long totalStock() {
        return items.stream().mapToLong(Item::stock).sum();
    }

    /** Creates the items on the service. */
    void createItems(Api api) {
        for (Item item : items) {
            Api.Response r = api.putItem(item.sku(), item.name(), item.stock(), item.perUserLimit());
            if (r.status() != 201) {
                throw new AssertionError(context + ": creating " + item + " answered " + r);
            }
        }
    }

    /**
     * Sends every request from its own virtual thread, at most {@code concurrency} at a time, and
     * stops the service ({@code how}) once {@code ackTarget} acknowledgements or
     * {@code responseTarget} responses have come back, whichever is first (or at the end, if
     * neither is reached). After a SIGKILL nothing more is sent; after a SIGTERM requests keep
     * going until the first connection error, so that some arrive while the service drains.
     */
    void run(ServiceProcess service, Stop how, int ackTarget, int responseTarget, int concurrency) {
        Api api = service.api();
        AtomicBoolean stopped = new AtomicBoolean();
        AtomicBoolean stopSending = new AtomicBoolean();
        Consumer<String> stop = reason -> {
            if (stopped.compareAndSet(false, true)) {
                stopReason = reason;
                acksAtStop = ackCount.get();
                switch (how) {
                    case KILL -> {
                        stopSending.set(true);
                        service.sendKill();
                    }
                    case TERM -> service.sendTerm();
                }
            }
        };
        Semaphore permits = new Semaphore(concurrency);
        try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
            for (Request request : requests) {
                threads.submit(() -> {
                    if (stopSending.get()) {
                        notSent.incrementAndGet();
                        return;
                    }
                    permits.acquireUninterruptibly();
                    try {
                        if (stopSending.get()) {
                            notSent.incrementAndGet();
                            return;
                        }
                        send(api, request, stopped, stopSending, stop, ackTarget, responseTarget);
                    } finally {
                        permits.release();
                    }
                });
            }
        }
        stop.accept("the burst ended before the stop was triggered (" + ackCount.get() + " acks, "
                + responseCount.get() + " responses)");
    }

    private void send(Api api, Request request, AtomicBoolean stopped, AtomicBoolean stopSending,
                      Consumer<String> stop, int ackTarget, int responseTarget) {
        Intent intent = request.intent();
        boolean sentBeforeStop = !stopped.get();
        Api.Response r;
        try {
            r = api.order(intent.key(), intent.body(), Map.of("X-Request-Id", request.requestId()));
        } catch (UncheckedIOException | IllegalStateException e) {
            unknown.add(request);
            String kind = errorKind(e);
            connectionErrors.computeIfAbsent(kind, k -> new AtomicInteger()).incrementAndGet();
            if (sentBeforeStop && !"refused".equals(kind)) {
                cutInFlight.add(request.requestId() + " (" + kind + ")");
            }
            if (stopped.get()) {
                stopSending.set(true);
            } else {
                problems.add("request " + request.requestId() + " failed with a connection error before the"
                        + " service was stopped: " + e);
            }
            return;
        }
        statusCounts.computeIfAbsent(r.status(), s -> new AtomicInteger()).incrementAndGet();
        switch (r.status()) {
            case 201, 202, 200 -> {
                String orderId = r.json().path("orderId").asText(null);
                checkOrderView(r, intent, request.requestId());
                if (orderId != null) {
                    acks.add(new Ack(orderId, intent, r.status(), request.requestId()));
                }
                if (ackCount.incrementAndGet() == ackTarget) {
                    stop.accept("after " + ackTarget + " acknowledgements");
                }
                if ((r.status() == 201 || r.status() == 202) && request.cancelIfNew() && orderId != null && !stopSending.get()) {
                    cancel(api, orderId, stopped);
                }
            }
            case 409 -> {
                String code = r.code();
                if (!"SOLD_OUT".equals(code) && !"PER_USER_LIMIT".equals(code)) {
                    problems.add("request " + request.requestId() + " answered 409 with code " + code + ": " + r);
                }
                rejected.add(request);
            }
            // allowed by the contract, and they leave nothing reserved: counted, not faulted
            case 429, 503 -> rejected.add(request);
            // in doubt (API.md): the order may still complete; the audit's retry with the key must find it
            case 504 -> unknown.add(request);
            default -> {
                problems.add("request " + request.requestId() + " (" + intent + ") answered unexpectedly: " + r);
                unknown.add(request); // whatever it did, the audit's retry must find at most one order
            }
        }
        if (responseCount.incrementAndGet() == responseTarget) {
            stop.accept("after " + responseTarget + " responses");
        }
    }

    private static String errorKind(Throwable e) {
        Throwable cause = e.getCause() == null ? e : e.getCause();
        return cause instanceof java.net.ConnectException ? "refused" : cause.getClass().getSimpleName() + ": " + cause.getMessage();
    }

    private void checkOrderView(Api.Response r, Intent intent, String requestId) {
        JsonNode o = r.json();
        List<String> wrong = new ArrayList<>();
        if (o.path("orderId").asText("").isEmpty()) {
            wrong.add("no orderId");
        }
        if (!intent.sku().equals(o.path("sku").asText(null))) {
            wrong.add("sku");
        }
        if (!intent.userId().equals(o.path("userId").asText(null))) {
            wrong.add("userId");
        }
        if (o.path("quantity").asInt(-1) != intent.quantity()) {
            wrong.add("quantity");
        }
        if (r.status() == 201 && !"CONFIRMED".equals(o.path("status").asText(null))) {
            wrong.add("status (201 must be CONFIRMED)");
        }
        if (r.status() == 202 && !"ACCEPTED".equals(o.path("status").asText(null))) {
            wrong.add("status (202 must be ACCEPTED)");
        }
        if (r.status() == 200 && !"true".equals(r.header("Idempotent-Replayed").orElse(null))) {
            wrong.add("no Idempotent-Replayed: true on a 200");
        }
        if (!("/api/v1/orders/" + o.path("orderId").asText("")).equals(r.header("Location").orElse(null))) {
            wrong.add("Location header " + r.header("Location").orElse("missing"));
        }
        if (!wrong.isEmpty()) {
            problems.add("request " + requestId + " (" + intent + ") answered " + r.status() + " with wrong "
                    + wrong + ": " + r.body());
        }
    }

    private void cancel(Api api, String orderId, AtomicBoolean stopped) {
        cancelAttempted.add(orderId);
        Api.Response r;
        try {
            r = api.cancel(orderId);
        } catch (UncheckedIOException | IllegalStateException e) {
            if (!stopped.get()) {
                problems.add("cancel of " + orderId + " failed with a connection error before the stop: " + e);
            }
            return;
        }
        if (r.status() == 200 && "CANCELLED".equals(r.json().path("status").asText(null))) {
            cancelAcked.add(orderId);
        } else if (!(stopped.get() && r.status() == 503)) {
            problems.add("cancel of " + orderId + " answered " + r);
        }
    }

    String summary() {
        return context + ": " + requests.size() + " requests (" + intentsByKey.size() + " keys) for " + items
                + ", " + users.size() + " users; stopped " + stopReason + " (acks then: " + acksAtStop + "); statuses "
                + new TreeMap<>(statusCounts) + "; acks " + acks.size() + ", rejected " + rejected.size()
                + ", unknown outcome " + unknown.size() + " " + new TreeMap<>(connectionErrors) + " (" + cutInFlight.size()
                + " of them sent before the stop), not sent " + notSent.get() + ", cancels acked "
                + cancelAcked.size() + " of " + cancelAttempted.size();
    }

    // ---- the audit ----------------------------------------------------------------------------

    /** What the audit did, for the test's log. */
    record AuditReport(List<String> violations, int storedBefore, int storedAfter, int retried, int retriedNew,
                       int retriedReplayed, List<String> durableButUnanswered, int retriedRejected) {
        @Override
        public String toString() {
            return "audit: " + storedBefore + " orders in the store after restart, " + retried
                    + " unknown-outcome keys retried (" + retriedNew + " new, " + retriedReplayed + " replayed, of"
                    + " which " + durableButUnanswered.size() + " were never acknowledged, " + retriedRejected
                    + " rejected), " + storedAfter + " orders at the end, " + violations.size() + " violations";
        }
    }

    /**
     * Checks a restarted service against what the burst saw; returns every violation found (the
     * problems seen during the burst included). Retries the unknown-outcome requests, so it
     * changes the store; run it once.
     */
    AuditReport audit(Api api) {
        List<String> v = new ArrayList<>(problems);

        // What the client was told: one order per key, one key per order.
        Map<String, String> ackedIdByKey = new HashMap<>();
        Map<String, String> ackedKeyById = new HashMap<>();
        Map<String, Intent> ackedIntentById = new HashMap<>();
        for (Ack ack : acks) {
            String prior = ackedIdByKey.putIfAbsent(ack.intent().skuKey(), ack.orderId());
            if (prior != null && !prior.equals(ack.orderId())) {
                v.add("key " + ack.intent().skuKey() + " was acknowledged as two orders: " + prior + " and "
                        + ack.orderId());
            }
            String priorKey = ackedKeyById.putIfAbsent(ack.orderId(), ack.intent().skuKey());
            if (priorKey != null && !priorKey.equals(ack.intent().skuKey())) {
                v.add("order " + ack.orderId() + " was acknowledged for two keys: " + priorKey + " and "
                        + ack.intent().skuKey());
            }
            ackedIntentById.put(ack.orderId(), ack.intent());
        }

        // Every acknowledged order is readable, as acknowledged.
        parallel(ackedIntentById.entrySet(), e -> {
            String id = e.getKey();
            Intent intent = e.getValue();
            Api.Response r = withRetry(() -> api.get("/api/v1/orders/" + id));
            if (r.status() != 200) {
                return "acknowledged order " + id + " (" + intent + ") is gone after the restart: " + r;
            }
            Stored s = Stored.of(r.json());
            if (!intent.sku().equals(s.sku()) || !intent.userId().equals(s.userId()) || intent.quantity() != s.quantity()) {
                return "acknowledged order " + id + " for " + intent + " reads back as " + s;
            }
            if (cancelAcked.contains(id) && !"CANCELLED".equals(s.status())) {
                return "order " + id + " was cancelled (200) but reads back as " + s.status();
            }
            if (!cancelAttempted.contains(id) && !"CONFIRMED".equals(s.status())) {
                return "order " + id + " was never cancelled but reads back as " + s.status();
            }
            return null;
        }, v);

        // The store's orders, before anything is retried.
        Map<String, Stored> before = storedOrders(api, v);
        for (String id : ackedIntentById.keySet()) {
            if (!before.containsKey(id)) {
                v.add("acknowledged order " + id + " (" + ackedIntentById.get(id) + ") is missing from its user's"
                        + " order list");
            }
        }
        checkStoredAgainstRequests(before, v);
        checkInvariants(api, before, "after the restart", v);

        // Acknowledged requests, sent again, are replays of the same order.
        Map<String, Intent> ackedIntents = new HashMap<>();
        ackedIdByKey.keySet().forEach(k -> ackedIntents.put(k, intentBySkuKey(k)));
        parallel(ackedIntents.entrySet(), e -> {
            Intent intent = e.getValue();
            Api.Response r = withRetry(() -> api.order(intent.key(), intent.body(),
                    Map.of("X-Request-Id", intent.key() + ".replay")));
            String expected = ackedIdByKey.get(e.getKey());
            if (r.status() != 200 || !expected.equals(r.json().path("orderId").asText(null))
                    || !"true".equals(r.header("Idempotent-Replayed").orElse(null))) {
                return "acknowledged " + intent + " (order " + expected + ") sent again after the restart answered "
                        + r + " instead of a 200 replay of " + expected;
            }
            return null;
        }, v);

        // Unknown outcomes, retried with the same key: at most one order each.
        Map<String, Intent> unknownIntents = new LinkedHashMap<>();
        unknown.forEach(r -> unknownIntents.putIfAbsent(r.intent().skuKey(), r.intent()));
        Map<String, String> claimed = new HashMap<>(); // orderId -> key, for every order a key leads to
        ackedIdByKey.forEach((k, id) -> claimed.put(id, k));
        Map<String, String> newIds = new ConcurrentHashMap<>();
        AtomicInteger replayed = new AtomicInteger();
        AtomicInteger rejectedRetries = new AtomicInteger();
        Map<String, String> replayedIds = new ConcurrentHashMap<>();
        Queue<String> durableButUnanswered = new ConcurrentLinkedQueue<>();
        parallel(unknownIntents.entrySet(), e -> {
            Intent intent = e.getValue();
            String acked = ackedIdByKey.get(e.getKey());
            Api.Response r = withRetry(() -> api.order(intent.key(), intent.body(),
                    Map.of("X-Request-Id", intent.key() + ".retry")));
            String id = r.json().path("orderId").asText(null);
            switch (r.status()) {
                case 200 -> {
                    replayed.incrementAndGet();
                    if (acked != null && !acked.equals(id)) {
                        return "retry of " + intent + " replayed order " + id + ", but the key was acknowledged as "
                                + acked;
                    }
                    if (!before.containsKey(id)) {
                        return "retry of " + intent + " replayed order " + id + ", which was not in the store";
                    }
                    replayedIds.put(id, e.getKey());
                    if (acked == null) {
                        durableButUnanswered.add(before.get(id).toString());
                    }
                    return null;
                }
                case 201, 202 -> {
                    if (acked != null) {
                        return "retry of " + intent + " made a new order " + id + ", but the key was acknowledged"
                                + " as " + acked + ": two orders for one key";
                    }
                    if (id == null || before.containsKey(id)) {
                        return "retry of " + intent + " answered 201 with order " + id + " that was already stored";
                    }
                    Stored already = before.values().stream()
                            .filter(s -> e.getKey().equals(s.sku() + "|" + s.key())).findFirst().orElse(null);
                    if (already != null) {
                        return "retry of " + intent + " made a new order " + id + ", but the store already had "
                                + already + " for that key: two orders for one key";
                    }
                    newIds.put(id, e.getKey());
                    return null;
                }
                case 409 -> {
                    rejectedRetries.incrementAndGet();
                    if (acked != null) {
                        return "retry of acknowledged " + intent + " answered " + r + " instead of a replay of "
                                + acked;
                    }
                    return null;
                }
                default -> {
                    return "retry of " + intent + " answered unexpectedly: " + r;
                }
            }
        }, v);
        claimed.putAll(replayedIds);
        for (Stored s : before.values()) {
            if (!claimed.containsKey(s.orderId())) {
                v.add("stored order " + s + " belongs to no acknowledged request and no retried key led to it"
                        + " (an order for a request that was refused, or a second order for a key)");
            }
        }

        // The store at the end: what it had plus the new orders, and the invariants still hold.
        Map<String, Stored> after = storedOrders(api, v);
        Set<String> expectedIds = new HashSet<>(before.keySet());
        expectedIds.addAll(newIds.keySet());
        if (!after.keySet().equals(expectedIds)) {
            Set<String> extra = new HashSet<>(after.keySet());
            extra.removeAll(expectedIds);
            Set<String> missing = new HashSet<>(expectedIds);
            missing.removeAll(after.keySet());
            v.add("after the retries the store has unexpected orders " + extra + " and lacks " + missing);
        }
        checkStoredAgainstRequests(after, v);
        checkInvariants(api, after, "after the retries", v);
        return new AuditReport(v, before.size(), after.size(), unknownIntents.size(), newIds.size(), replayed.get(),
                List.copyOf(durableButUnanswered), rejectedRetries.get());
    }

    private Intent intentBySkuKey(String skuKey) {
        return intentsByKey.get(skuKey.substring(skuKey.indexOf('|') + 1));
    }

    /** Every order of every user of the scenario, by id. */
    Map<String, Stored> storedOrders(Api api, List<String> v) {
        Map<String, Stored> all = new ConcurrentHashMap<>();
        parallel(users, user -> {
            Api.Response r = withRetry(() -> api.get("/api/v1/users/" + user + "/orders?limit=500"));
            if (r.status() != 200) {
                return "listing the orders of " + user + " answered " + r;
            }
            JsonNode orders = r.json().path("orders");
            if (orders.size() >= 500) {
                return "user " + user + " has 500 or more orders; the audit cannot see them all";
            }
            List<String> wrong = new ArrayList<>();
            for (JsonNode o : orders) {
                Stored s = Stored.of(o);
                if (!user.equals(s.userId())) {
                    wrong.add("the orders of " + user + " include " + s);
                }
                if (all.putIfAbsent(s.orderId(), s) != null) {
                    wrong.add("order " + s.orderId() + " is listed twice");
                }
            }
            return wrong.isEmpty() ? null : String.join("; ", wrong);
        }, v);
        return new HashMap<>(all);
    }

    /** Each stored order came from one of our keys, matches it, and no key has two orders. */
    private void checkStoredAgainstRequests(Map<String, Stored> stored, List<String> v) {
        Map<String, List<Stored>> byKey = new HashMap<>();
        for (Stored s : stored.values()) {
            String key = s.key();
            Intent intent = key == null ? null : intentsByKey.get(key);
            if (intent == null) {
                v.add("stored order " + s + " has a requestId that none of our requests sent");
                continue;
            }
            if (!intent.sku().equals(s.sku()) || !intent.userId().equals(s.userId()) || intent.quantity() != s.quantity()) {
                v.add("stored order " + s + " does not match the request of its key: " + intent);
            }
            if (!itemsBySku.containsKey(s.sku())) {
                v.add("stored order " + s + " names an item we never created");
            }
            byKey.computeIfAbsent(s.sku() + "|" + key, k -> new ArrayList<>()).add(s);
        }
        byKey.forEach((key, orders) -> {
            if (orders.size() > 1) {
                v.add("key " + key + " has " + orders.size() + " orders in the store: " + orders);
            }
        });
    }

    /** Stock = available + live units, available >= 0, and no user over the item's limit. */
    private void checkInvariants(Api api, Map<String, Stored> stored, String when, List<String> v) {
        Map<String, Long> live = new HashMap<>();
        Map<String, Long> held = new TreeMap<>();
        for (Stored s : stored.values()) {
            if (s.live()) {
                live.merge(s.sku(), (long) s.quantity(), Long::sum);
                held.merge(s.sku() + "|" + s.userId(), (long) s.quantity(), Long::sum);
            }
        }
        for (Item item : items) {
            long liveUnits = live.getOrDefault(item.sku(), 0L);
            // API.md lets available lag by up to a second: look again for a few seconds before
            // calling a mismatch (nothing else is running, so a real one does not go away).
            String problem = null;
            for (int attempt = 0; attempt < 20; attempt++) {
                Api.Response r = withRetry(() -> api.item(item.sku()));
                if (r.status() != 200) {
                    problem = "item " + item.sku() + " " + when + " answered " + r;
                } else {
                    long stock = r.json().path("stock").asLong(-1);
                    long available = r.json().path("available").asLong(Long.MIN_VALUE);
                    if (stock != item.stock()) {
                        problem = "item " + item.sku() + " " + when + ": stock " + stock + " but " + item.stock()
                                + " was put on sale";
                    } else if (available < 0) {
                        problem = "item " + item.sku() + " " + when + ": available " + available + " is negative";
                    } else if (stock != available + liveUnits) {
                        problem = "item " + item.sku() + " " + when + ": stock " + stock + " != available " + available
                                + " + " + liveUnits + " units in live orders in the store";
                    } else if (r.json().path("perUserLimit").asInt(-1) != item.perUserLimit()) {
                        problem = "item " + item.sku() + " " + when + ": perUserLimit " + r.json().path("perUserLimit")
                                + " but " + item.perUserLimit() + " was set";
                    } else {
                        problem = null;
                    }
                }
                if (problem == null) {
                    break;
                }
                sleep(250);
            }
            if (problem != null) {
                v.add(problem);
            }
        }
        held.forEach((skuUser, units) -> {
            Item item = itemsBySku.get(skuUser.substring(0, skuUser.indexOf('|')));
            if (item != null && units > item.perUserLimit()) {
                v.add(when + ": " + skuUser + " holds " + units + " units, over the limit of " + item.perUserLimit());
            }
        });
    }

    // ---- plumbing -----------------------------------------------------------------------------

    /**
     * Runs {@code check} for every element on virtual threads, 32 at a time; adds every non-null
     * answer (a violation) to {@code v}.
     */
    static <T> void parallel(Collection<T> elements, Function<T, String> check, List<String> v) {
        Queue<String> found = new ConcurrentLinkedQueue<>();
        Semaphore permits = new Semaphore(32);
        try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
            for (T element : elements) {
                threads.submit(() -> {
                    permits.acquireUninterruptibly();
                    try {
                        String problem = check.apply(element);
                        if (problem != null) {
                            found.add(problem);
                        }
                    } catch (RuntimeException | AssertionError e) {
                        found.add("checking " + element + " failed: " + e);
                    } finally {
                        permits.release();
                    }
                });
            }
        }
        v.addAll(found);
    }

    /**
     * A call on a freshly started service, retried on a connection error (a pooled connection
     * to a dead process on a reused port, say). Only for reads and keyed, idempotent requests.
     */
    static Api.Response withRetry(Supplier<Api.Response> call) {
        UncheckedIOException last = null;
        for (int attempt = 0; attempt < 3; attempt++) {
            try {
                return call.get();
            } catch (UncheckedIOException e) {
                last = e;
                sleep(200);
            }
        }
        throw Objects.requireNonNull(last);
    }

    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** The first {@code max} violations, one a line, for an assertion message. */
    static String describe(Collection<String> violations, int max) {
        StringBuilder b = new StringBuilder();
        violations.stream().limit(max).forEach(s -> b.append("\n  - ").append(s));
        if (violations.size() > max) {
            b.append("\n  ... and ").append(violations.size() - max).append(" more");
        }
        return b.toString();
    }
}
