package io.floodgate.core.domain;

import java.security.SecureRandom;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;

/**
 * UUIDv7 order ids (RFC 9562): 48 bits of Unix milliseconds, a 12-bit sequence, then random bits.
 * Time-ordered ids keep B-tree indexes compact and appends local, where random v4 ids scatter
 * every insert. Ids from one process are strictly increasing (RFC 9562 method 1: the sequence
 * counts within a millisecond and borrows the next millisecond when it overflows), so orders
 * created in the same millisecond still sort in creation order. The JDK has no v7 generator;
 * this is the whole of one.
 */
public final class OrderIds {

    private static final long RANDOM_SEED_MIX = new SecureRandom().nextLong();
    /** Last (millis << 12 | sequence) handed out. One CAS per order; benign contention. */
    private static final java.util.concurrent.atomic.AtomicLong LAST = new java.util.concurrent.atomic.AtomicLong();

    private OrderIds() {
    }

    public static String next(long epochMillis) {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        long stamp = LAST.updateAndGet(last -> Math.max(last + 1, epochMillis << 12));
        long millis = stamp >>> 12;
        long msb = (millis << 16) | 0x7000L | (stamp & 0x0FFF);
        long lsb = ((random.nextLong() ^ RANDOM_SEED_MIX) & 0x3FFFFFFFFFFFFFFFL) | 0x8000000000000000L;
        return new UUID(msb, lsb).toString();
    }
}
