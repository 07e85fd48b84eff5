package io.floodgate.core.domain;

import java.security.SecureRandom;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;

/**
 * UUIDv7 order ids (RFC 9562): 48 bits of Unix milliseconds, then random bits. Time-ordered ids
 * keep B-tree indexes compact and appends local, where random v4 ids scatter every insert.
 * The JDK has no v7 generator; this is the whole of one.
 */
public final class OrderIds {

    private static final long RANDOM_SEED_MIX = new SecureRandom().nextLong();

    private OrderIds() {
    }

    public static String next(long epochMillis) {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        long msb = (epochMillis << 16) | 0x7000L | (random.nextInt() & 0x0FFF);
        long lsb = ((random.nextLong() ^ RANDOM_SEED_MIX) & 0x3FFFFFFFFFFFFFFFL) | 0x8000000000000000L;
        return new UUID(msb, lsb).toString();
    }
}
