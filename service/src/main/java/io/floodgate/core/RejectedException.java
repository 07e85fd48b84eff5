package io.floodgate.core;

/**
 * A request turned down for a reason the client is told ({@link Rejection}). Thrown where an
 * outcome type would only be unwrapped and rethrown; carries no stack trace because it is a
 * verdict, not a fault, and is thrown on hot paths (sold out, rate limited).
 */
public final class RejectedException extends RuntimeException {

    private final Rejection rejection;
    private final long retryAfterSeconds;

    public RejectedException(Rejection rejection, String detail) {
        this(rejection, detail, 0);
    }

    public RejectedException(Rejection rejection, String detail, long retryAfterSeconds) {
        super(detail, null, false, false);
        this.rejection = rejection;
        this.retryAfterSeconds = retryAfterSeconds;
    }

    public Rejection rejection() {
        return rejection;
    }

    public String detail() {
        return getMessage();
    }

    /** Seconds for a {@code Retry-After} header; 0 when none applies. */
    public long retryAfterSeconds() {
        return retryAfterSeconds;
    }
}
