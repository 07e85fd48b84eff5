package io.floodgate.core.port;

/**
 * A token bucket shared by every Floodgate instance: the cluster-wide order rate. Its rate and
 * burst are fixed when it is made. Tokens are taken several at a time, so that an instance can
 * lease a few and spend them without a round trip each ({@code flow.ClusterRateLimiter}).
 */
public interface SharedRateBucket {

    /**
     * Takes {@code count} tokens (at most the burst), all or none.
     *
     * @param timeoutNanos the longest to wait for the answer
     * @throws io.floodgate.core.DependencyUnavailableException when the bucket's store does not
     *         answer in time; tokens may or may not have been taken
     */
    Grant take(int count, long timeoutNanos);

    /**
     * @param granted   tokens taken, 0 when the bucket is empty
     * @param waitNanos when none were: how long until as many as asked for are there
     */
    record Grant(int granted, long waitNanos) {
        public Grant {
            if (granted < 0 || waitNanos < 0 || (granted == 0) == (waitNanos == 0)) {
                throw new IllegalArgumentException("a grant is some tokens and no wait, or no token and a wait; was "
                        + granted + " tokens, wait " + waitNanos + " ns");
            }
        }
    }
}
