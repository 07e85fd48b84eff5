package io.floodgate.zookeeper;

import io.floodgate.core.DependencyUnavailableException;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.state.ConnectionState;
import org.apache.curator.retry.RetryNTimes;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.client.ZKClientConfig;
import org.apache.zookeeper.data.Stat;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;

/**
 * One ZooKeeper session, through a Curator client of its own: the ephemeral nodes of the leases
 * taken with one lease length live in it, and die with it.
 *
 * <p>A session ends once: when Curator reports it {@link ConnectionState#LOST} (expired, or gone
 * for longer than its timeout), when it comes back as another session, or when it is
 * {@linkplain #close() closed}. Then {@code onEnd} runs (once, not for a close), and the client is
 * closed, which ends the session on the server too if a server can still be reached (its
 * ephemeral nodes go at once); otherwise the server expires it after its timeout.
 *
 * <p>Calls that must not wait long (renewals, releases) go straight to the ZooKeeper handle's
 * asynchronous API and are waited for with a timeout; acquisition uses Curator's synchronous
 * builders (parents created as needed, protected creation that finds its node again after a lost
 * connection) and waits at most about two connection timeouts.
 */
final class Session implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(Session.class);

    private final CuratorFramework client;
    private final long id;
    private final int negotiatedMillis;
    private final Consumer<Session> onEnd;
    private volatile boolean ended;

    private Session(CuratorFramework client, long id, int negotiatedMillis, Consumer<Session> onEnd) {
        this.client = client;
        this.id = id;
        this.negotiatedMillis = negotiatedMillis;
        this.onEnd = onEnd;
    }

    /**
     * Opens a session asking for {@code timeoutMillis}; the ensemble may grant another (its
     * {@code minSessionTimeout} and {@code maxSessionTimeout}): see {@link #negotiatedMillis()}.
     *
     * @throws DependencyUnavailableException when no server answers within the connect timeout
     */
    static Session open(ZooKeeperLocks.Settings settings, int timeoutMillis, Consumer<Session> onEnd) {
        // No SASL: without a JAAS configuration the client would only log that it skips it. (It is
        // also the client code that reaches for javax.security.auth.Subject, whose old API the JDK
        // restricts since 23.)
        ZKClientConfig config = new ZKClientConfig();
        config.setProperty(ZKClientConfig.ENABLE_CLIENT_SASL_KEY, "false");
        CuratorFramework client = CuratorFrameworkFactory.builder()
                .connectString(settings.connectString())
                .sessionTimeoutMs(timeoutMillis)
                // how long a blocked call waits for a connection: no longer than the session lives
                .connectionTimeoutMs((int) Math.min(settings.connectTimeout().toMillis(), timeoutMillis))
                .retryPolicy(new RetryNTimes(1, 100))
                .ensembleTracker(false)
                .zkClientConfig(config)
                .build();
        client.start();
        try {
            if (!client.blockUntilConnected((int) settings.connectTimeout().toMillis(), TimeUnit.MILLISECONDS)) {
                throw new DependencyUnavailableException(ZooKeeperLocks.DEPENDENCY, "no server of " + settings.connectString()
                        + " answered within " + settings.connectTimeout().toMillis() + " ms");
            }
            ZooKeeper zk = client.getZookeeperClient().getZooKeeper();
            Session session = new Session(client, zk.getSessionId(), zk.getSessionTimeout(), onEnd);
            client.getConnectionStateListenable().addListener((c, state) -> session.changed(state));
            return session;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            client.close();
            throw new DependencyUnavailableException(ZooKeeperLocks.DEPENDENCY, "interrupted while connecting", e);
        } catch (DependencyUnavailableException e) {
            client.close();
            throw e;
        } catch (Exception e) {
            client.close();
            throw new DependencyUnavailableException(ZooKeeperLocks.DEPENDENCY, "cannot open a session on "
                    + settings.connectString() + ": " + e, e);
        }
    }

    long id() {
        return id;
    }

    /** The session's timeout, as the ensemble granted it. */
    int negotiatedMillis() {
        return negotiatedMillis;
    }

    /** The ZooKeeper handle's password for this session (tests expire the session with it). */
    byte[] password() {
        try {
            return client.getZookeeperClient().getZooKeeper().getSessionPasswd();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    boolean ended() {
        return ended;
    }

    String connectedServer() {
        try {
            return client.getZookeeperClient().getCurrentConnectionString();
        } catch (RuntimeException e) {
            return "?";
        }
    }

    private void changed(ConnectionState state) {
        if (state == ConnectionState.LOST) {
            end("ZooKeeper session 0x" + Long.toHexString(id) + " was lost (expired, or out of reach for its timeout)");
        } else if (state == ConnectionState.RECONNECTED && currentId() != id) {
            end("ZooKeeper session 0x" + Long.toHexString(id) + " came back as another session");
        }
    }

    private long currentId() {
        try {
            return client.getZookeeperClient().getZooKeeper().getSessionId();
        } catch (Exception e) {
            return 0;
        }
    }

    /** Ends the session: runs {@code onEnd} once and closes the client (on another thread). */
    void end(String why) {
        synchronized (this) {
            if (ended) {
                return;
            }
            ended = true;
        }
        LOG.warn("{}; its locks are lost", why);
        try {
            onEnd.accept(this);
        } finally {
            // not on Curator's event thread, which close() waits for
            Thread.ofVirtual().name("zk-session-close").start(client::close);
        }
    }

    @Override
    public void close() {
        synchronized (this) {
            if (ended) {
                return;
            }
            ended = true;
        }
        client.close();
    }

    /**
     * Creates an ephemeral sequential node {@code prefix<sequence>} (parents as needed), with
     * Curator's protection: a create whose answer was lost is found again on the retry.
     *
     * @return the node's path and its stat (its {@code czxid} is the fencing token)
     */
    Created createEphemeralSequential(String prefix, byte[] data) {
        handle(); // still this session
        Stat stat = new Stat();
        String path;
        try {
            path = client.create().storingStatIn(stat).creatingParentsIfNeeded().withProtection()
                    .withMode(CreateMode.EPHEMERAL_SEQUENTIAL).forPath(prefix, data);
        } catch (Exception e) {
            throw failure("create " + prefix, e);
        }
        if (stat.getEphemeralOwner() != id) {
            // Curator moved to a new session under us: that node is not this session's
            end("ZooKeeper session 0x" + Long.toHexString(id) + " was replaced while creating " + path);
            throw new DependencyUnavailableException(ZooKeeperLocks.DEPENDENCY, "session 0x" + Long.toHexString(id)
                    + " ended while creating " + path, null, true);
        }
        return new Created(path, stat);
    }

    record Created(String path, Stat stat) {
    }

    List<String> children(String path) {
        try {
            return client.getChildren().forPath(path);
        } catch (Exception e) {
            throw failure("list " + path, e);
        }
    }

    /**
     * The node's stat, or empty when there is none.
     *
     * @throws DependencyUnavailableException when no answer came within {@code timeoutNanos}, or
     *         the session expired (which also ends this session)
     */
    Optional<Stat> exists(String path, long timeoutNanos) {
        CompletableFuture<Optional<Stat>> answer = new CompletableFuture<>();
        handle().exists(path, false, (rc, p, ctx, stat) -> {
            KeeperException.Code code = KeeperException.Code.get(rc);
            if (code == KeeperException.Code.OK) {
                answer.complete(Optional.of(stat));
            } else if (code == KeeperException.Code.NONODE) {
                answer.complete(Optional.empty());
            } else {
                answer.completeExceptionally(KeeperException.create(code, p));
            }
        }, null);
        return await(answer, "exists " + path, timeoutNanos);
    }

    /**
     * Deletes {@code path} if it is there, waiting at most {@code timeoutNanos}. When that fails
     * (no server answers), Curator keeps trying in the background for as long as the session
     * lives, so that a node of this session never outlives its lease on a live session.
     *
     * @return whether it is known to be gone
     */
    boolean delete(String path, long timeoutNanos) {
        if (ended) {
            return true; // the node went with the session, or goes when the server expires it
        }
        CompletableFuture<Void> answer = new CompletableFuture<>();
        try {
            handle().delete(path, -1, (rc, p, ctx) -> {
                KeeperException.Code code = KeeperException.Code.get(rc);
                if (code == KeeperException.Code.OK || code == KeeperException.Code.NONODE) {
                    answer.complete(null);
                } else {
                    answer.completeExceptionally(KeeperException.create(code, p));
                }
            }, null);
            await(answer, "delete " + path, timeoutNanos);
            return true;
        } catch (DependencyUnavailableException e) {
            deleteInBackground(path);
            return false;
        }
    }

    /** Curator's guaranteed delete: retried whenever the connection comes back, until done or the session ends. */
    void deleteInBackground(String path) {
        if (ended) {
            return;
        }
        try {
            client.delete().guaranteed().inBackground().forPath(path);
        } catch (Exception e) {
            LOG.warn("could not schedule the deletion of {}: {}; it goes when session 0x{} ends", path, e.toString(),
                    Long.toHexString(id));
        }
    }

    /**
     * The ZooKeeper handle of this session. After an expiry Curator makes a new handle, with a new
     * session, on the same client: an answer through that one would say nothing about this
     * session (the old session's node may still be there, about to expire), so a handle of
     * another session ends this one instead.
     */
    private ZooKeeper handle() {
        ZooKeeper zk;
        try {
            zk = client.getZookeeperClient().getZooKeeper();
        } catch (Exception e) {
            throw failure("reach the ZooKeeper handle", e);
        }
        if (zk.getSessionId() != id) {
            end("ZooKeeper session 0x" + Long.toHexString(id) + " was replaced by Curator (it expired)");
            throw new DependencyUnavailableException(ZooKeeperLocks.DEPENDENCY, "session 0x" + Long.toHexString(id)
                    + " ended");
        }
        return zk;
    }

    private <T> T await(CompletableFuture<T> answer, String what, long timeoutNanos) {
        try {
            return answer.get(Math.max(0, timeoutNanos), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            throw new DependencyUnavailableException(ZooKeeperLocks.DEPENDENCY, what + ": no answer within "
                    + TimeUnit.NANOSECONDS.toMillis(timeoutNanos) + " ms", e, true);
        } catch (ExecutionException e) {
            throw failure(what, e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw failure(what, e);
        }
    }

    /** A failed call as the core sees it; an expired session also ends this one. */
    private DependencyUnavailableException failure(String what, Throwable e) {
        if (e instanceof KeeperException.SessionExpiredException) {
            end("ZooKeeper session 0x" + Long.toHexString(id) + " expired");
        }
        if (e instanceof InterruptedException) {
            Thread.currentThread().interrupt();
        }
        return new DependencyUnavailableException(ZooKeeperLocks.DEPENDENCY, what + " failed: " + e, e,
                !(e instanceof KeeperException.NoNodeException));
    }

    @Override
    public String toString() {
        return "Session[0x" + Long.toHexString(id) + ", " + negotiatedMillis + " ms" + (ended ? ", ended" : "") + "]";
    }
}
