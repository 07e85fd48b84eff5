package io.floodgate.core;

/**
 * A fenced write carried a token older than one the store has already accepted for the same lock:
 * the writer's lease ran out and a newer holder has written since. The write changed nothing. The
 * writer is no longer the holder and must stop acting as one.
 */
public class StaleFencingTokenException extends RuntimeException {

    private final String lockName;
    private final long token;
    private final long newest;

    public StaleFencingTokenException(String lockName, long token, long newest) {
        super("lock " + lockName + ": fencing token " + token + " is stale, the store has accepted token " + newest
                + " from a newer holder; the write was refused and this holder must stop");
        this.lockName = lockName;
        this.token = token;
        this.newest = newest;
    }

    public String lockName() {
        return lockName;
    }

    /** The refused token. */
    public long token() {
        return token;
    }

    /** The newest token the store has accepted for the lock. */
    public long newest() {
        return newest;
    }
}
