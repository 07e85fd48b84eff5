package io.floodgate.bench;

import java.net.SocketTimeoutException;
import java.net.http.HttpTimeoutException;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.IntStream;

/**
 * What one request came to, as the summary counts it: a label ({@code 201}, {@code 409 SOLD_OUT},
 * {@code transport timeout}) and the kind whose latency histogram and counter it goes to.
 */
record Outcome(String label, Kind kind, String code) {

    /**
     * The kinds of outcome, each with latency histograms of its own. In a flash sale most buyers
     * are meant to be turned away, and under overload most are meant to be shed fast: one
     * histogram for all of them would hide how long the admitted ones took.
     */
    enum Kind {
        /** 201 or 202: a new order, acknowledged (in the ceiling scenario: the 200 of the health check). Goodput. */
        ACKNOWLEDGED,
        /** 200 to an order: the replay of an order a key already has. */
        REPLAYED,
        /** 409: the sale's verdict (sold out, per-user limit, not on sale). Expected, not an error. */
        REJECTED,
        /** 429 (rate limited) or 503 {@code OVERLOADED}: shed by admission control, as it should be under overload. */
        SHED,
        /** Any other 503 (a dependency down, its circuit open) or 504 (the request's deadline ran out). */
        DEPENDENCY,
        /** Anything else: other statuses, no answer, and client timeouts (label {@code transport timeout}). */
        ERROR;

        /** Whether the server let the request through admission: everything but the shed ones. */
        boolean admitted() {
            return this != SHED;
        }
    }

    /** The label of a request that got no complete answer within the client timeout. */
    static final String TIMEOUT_LABEL = "transport timeout";

    private static final Outcome LIVE_OK = new Outcome("200", Kind.ACKNOWLEDGED, null);

    /** Outcomes are few and the hot path asks for them per request: made once per (status, code). */
    private static final List<ConcurrentHashMap<String, Outcome>> CACHE = IntStream.range(0, 600)
            .mapToObj(i -> new ConcurrentHashMap<String, Outcome>(4)).toList();

    /** Classifies an answer to an order; {@code code} is the problem's code, or null. */
    static Outcome of(int status, String code) {
        if (status < 0 || status >= CACHE.size()) {
            return make(status, code);
        }
        String key = code == null ? "" : code;
        ConcurrentHashMap<String, Outcome> ofStatus = CACHE.get(status);
        Outcome o = ofStatus.get(key);
        return o != null ? o : ofStatus.computeIfAbsent(key, k -> make(status, code));
    }

    /** Classifies an answer to the ceiling scenario's health check: 200 is its goodput. */
    static Outcome ofLive(int status, String code) {
        return status == 200 ? LIVE_OK : of(status, code);
    }

    private static Outcome make(int status, String code) {
        Kind kind;
        if (status == 201 || status == 202) {
            kind = Kind.ACKNOWLEDGED;
        } else if (status == 200) {
            kind = Kind.REPLAYED;
        } else if (status == 409) {
            kind = Kind.REJECTED;
        } else if (status == 429 || (status == 503 && "OVERLOADED".equals(code))) {
            kind = Kind.SHED;
        } else if (status == 503 || status == 504) {
            kind = Kind.DEPENDENCY;
        } else {
            kind = Kind.ERROR;
        }
        return new Outcome(code == null ? Integer.toString(status) : status + " " + code, kind, code);
    }

    /** A request that got no answer: the outcome is unknown. */
    static Outcome transport(Exception e) {
        if (isTimeout(e)) {
            return new Outcome(TIMEOUT_LABEL, Kind.ERROR, null);
        }
        return new Outcome("transport " + e.getClass().getSimpleName(), Kind.ERROR, null);
    }

    static boolean isTimeout(Exception e) {
        return e instanceof SocketTimeoutException || e instanceof HttpTimeoutException;
    }

    /** Reads {@code "name":"value"} out of a small JSON body without parsing all of it; null if absent. */
    static String field(String json, String name) {
        if (json == null) {
            return null;
        }
        String needle = "\"" + name + "\":\"";
        int at = json.indexOf(needle);
        if (at < 0) {
            return null;
        }
        int start = at + needle.length();
        int end = json.indexOf('"', start);
        return end < 0 ? null : json.substring(start, end);
    }
}
