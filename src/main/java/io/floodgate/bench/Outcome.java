package io.floodgate.bench;

import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.IntStream;

/**
 * What one request came to, as the summary counts it: a label ({@code 201}, {@code 409 SOLD_OUT},
 * {@code transport ConnectException}) and the class the live line adds it to.
 */
record Outcome(String label, Kind kind, String code) {

    /** The classes of outcome. In a flash sale most buyers are meant to be turned away. */
    enum Kind {
        /** 2xx: an order (or a replay of one), or the health answer. */
        OK,
        /** 409: the sale's verdict (sold out, per-user limit, not on sale). Expected, not an error. */
        REJECTED,
        /** 429 or 503: the service shed load, as it should under overload. */
        SHED,
        /** Anything else, including no answer at all. */
        ERROR
    }

    /** Outcomes are few and the hot path asks for them per request: made once per (status, code). */
    private static final List<ConcurrentHashMap<String, Outcome>> CACHE = IntStream.range(0, 600)
            .mapToObj(i -> new ConcurrentHashMap<String, Outcome>(4)).toList();

    /** Classifies an answer; {@code code} is the problem's code, or null. */
    static Outcome of(int status, String code) {
        if (status < 0 || status >= CACHE.size()) {
            return make(status, code);
        }
        String key = code == null ? "" : code;
        ConcurrentHashMap<String, Outcome> ofStatus = CACHE.get(status);
        Outcome o = ofStatus.get(key);
        return o != null ? o : ofStatus.computeIfAbsent(key, k -> make(status, code));
    }

    private static Outcome make(int status, String code) {
        Kind kind;
        if (status >= 200 && status < 300) {
            kind = Kind.OK;
        } else if (status == 409) {
            kind = Kind.REJECTED;
        } else if (status == 429 || status == 503) {
            kind = Kind.SHED;
        } else {
            kind = Kind.ERROR;
        }
        return new Outcome(code == null ? Integer.toString(status) : status + " " + code, kind, code);
    }

    /** A request that got no answer: the outcome is unknown. */
    static Outcome transport(Exception e) {
        return new Outcome("transport " + e.getClass().getSimpleName(), Kind.ERROR, null);
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
