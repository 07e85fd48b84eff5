package io.floodgate.testing;

/**
 * A lock service of the test's own (ZooKeeper, etcd, Redis), on free loopback ports, that the
 * test may kill and start again: what the server-backed lock contract needs beyond the shared
 * test servers.
 */
public interface CoordinationServer extends AutoCloseable {

    /** The server as {@code FLOODGATE_LOCK_URL} names it ({@code zk://127.0.0.1:p/root}, ...). */
    String lockUrl();

    /** SIGKILL; waits until it is gone. Keeps its data, where it has any. */
    void kill();

    /** Starts it again on the same ports and data; returns once it answers. */
    void start();

    /** Kills it and deletes its data. */
    @Override
    void close();
}
