package io.floodgate.http;

import io.helidon.common.buffers.DataReader;
import io.helidon.common.buffers.DataWriter;
import io.helidon.common.concurrency.limits.Limit;
import io.helidon.common.socket.HelidonSocket;
import io.helidon.common.socket.PeerInfo;
import io.helidon.webserver.CloseConnectionException;
import io.helidon.webserver.ConnectionContext;
import io.helidon.webserver.ListenerContext;
import io.helidon.webserver.ProxyProtocolData;
import io.helidon.webserver.Router;
import io.helidon.webserver.spi.ServerConnection;

import java.net.InetAddress;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One accepted connection as Floodgate's edge sees it: the context Helidon's HTTP/1 connection
 * runs in (everything delegated but the reader, which is an {@link EdgeReader}), and the
 * connection Helidon's listener drives (delegated to Helidon's, plus bookkeeping).
 *
 * <p>It keeps the deadline of the phase the connection is in, which Helidon 4.5 does not bound:
 * the header section (begun once the request line is read) and the body (begun when a handler
 * reads it). Helidon's idle timeout covers the rest: it closes a connection whose request line
 * does not come, but not one that is slow inside the header section or the body (its closing
 * only stops the connection after the request in progress). {@link Edge}'s sweeper calls
 * {@link #sweep} a few times a second; a phase past its deadline is ended by interrupting the
 * connection's thread, which closes the socket its blocking read waits on (so it works for a
 * client that sends nothing at all).
 *
 * <p>The interrupt must land on the read it is meant for and nowhere else (a stray interrupt
 * would fail the next blocking call of a later request). So the phase's start, end and expiry
 * take this connection's own lock: the sweeper interrupts only while the phase is still open,
 * and the thread that ends a phase which expired clears its interrupt before going on.
 */
final class EdgeConnection implements ConnectionContext, ServerConnection {

    /** The connection whose thread is the current one, for the body phase ({@link Bodies}). */
    private static final ThreadLocal<EdgeConnection> CURRENT = new ThreadLocal<>();

    enum Phase { HEADERS, BODY }

    private final Edge edge;
    private final ConnectionContext context;
    private final InetAddress client;
    private final EdgeReader reader;
    private ServerConnection http1;

    private final ReentrantLock lock = new ReentrantLock();
    /** {@link System#nanoTime} at which the open phase expires; read by the sweeper without the lock. */
    private volatile long deadline;
    private volatile boolean phaseOpen;
    private Phase phase;
    private Thread thread;
    private boolean expired;
    /** Set for good once a phase expired: the connection is being closed by us. */
    private volatile boolean cut;

    EdgeConnection(Edge edge, ConnectionContext context, InetAddress client) {
        this.edge = edge;
        this.context = context;
        this.client = client;
        DataReader source = context.dataReader();
        this.reader = new EdgeReader(() -> {
            try {
                source.ensureAvailable();
            } catch (DataReader.InsufficientDataAvailableException e) {
                // The client closed its side. Helidon 4.5 takes that for a clean close only while it reads
                // a request line; met in a header section it answered 500 (any exception there is its
                // "internal error"), though the request is the client's, cut short.
                throw new CloseConnectionException("the client closed the connection", e);
            }
            return source.readBytes(source.available());
        });
    }

    void attach(ServerConnection http1) {
        this.http1 = http1;
    }

    static EdgeConnection current() {
        return CURRENT.get();
    }

    InetAddress client() {
        return client;
    }

    EdgeReader edgeReader() {
        return reader;
    }

    // ---- phases ---------------------------------------------------------------------------------

    /** Opens a phase that must end within {@code timeout}; called on the connection's thread. */
    void begin(Phase phase, Duration timeout) {
        lock.lock();
        try {
            this.phase = phase;
            this.thread = Thread.currentThread();
            this.expired = false;
            this.deadline = System.nanoTime() + timeout.toNanos();
            this.phaseOpen = true;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Ends the open phase (a no-op without one). Returns false when it had expired: the socket is
     * then closed or closing, and the interrupt that closed it has been cleared from this thread.
     */
    boolean end() {
        lock.lock();
        try {
            phaseOpen = false;
            if (expired) {
                expired = false;
                Thread.interrupted();
                return false;
            }
            return true;
        } finally {
            lock.unlock();
        }
    }

    /** Whether a phase of this connection ran out of time (it is being closed). */
    boolean cut() {
        return cut;
    }

    /** Expires the open phase if its deadline has passed; returns the phase expired, or null. */
    Phase sweep(long now) {
        if (!phaseOpen || now - deadline < 0) {
            return null;
        }
        lock.lock();
        try {
            if (!phaseOpen || expired || now - deadline < 0) {
                return null;
            }
            expired = true;
            cut = true;
            thread.interrupt();
            return phase;
        } finally {
            lock.unlock();
        }
    }

    // ---- ServerConnection: Helidon's, with bookkeeping ---------------------------------------------

    @Override
    public void handle(Limit limit) throws InterruptedException {
        handled(() -> http1.handle(limit));
    }

    @Override
    @SuppressWarnings("deprecation")
    public void handle(Semaphore requestSemaphore) throws InterruptedException {
        handled(() -> http1.handle(requestSemaphore));
    }

    /** What Helidon's handling may throw. */
    @FunctionalInterface
    private interface Handling {
        void run() throws InterruptedException;
    }

    private void handled(Handling handling) throws InterruptedException {
        CURRENT.set(this);
        try {
            handling.run();
        } catch (RuntimeException e) {
            if (!cut) {
                throw e;
            }
            // the socket was closed by our own interrupt (a phase ran out): nothing to report
        } catch (InterruptedException e) {
            if (!cut) {
                throw e;
            }
            Thread.interrupted();
        } finally {
            CURRENT.remove();
            edge.closed(this);
        }
    }

    @Override
    public Duration idleTime() {
        return http1.idleTime();
    }

    @Override
    public void close(boolean interrupt) {
        http1.close(interrupt);
    }

    /** Ends the connection after the request in progress (a client's {@code Connection: close}). */
    void closeAfterThisRequest() {
        http1.close(false);
    }

    /** Throws what makes Helidon drop this connection quietly (a phase ran out; nothing can be sent). */
    static RuntimeException dropped(String why) {
        return new CloseConnectionException(why);
    }

    // ---- ConnectionContext: Helidon's, but our reader ------------------------------------------------

    @Override
    public DataReader dataReader() {
        return reader;
    }

    @Override
    public ListenerContext listenerContext() {
        return context.listenerContext();
    }

    @Override
    public ExecutorService executor() {
        return context.executor();
    }

    @Override
    public DataWriter dataWriter() {
        return context.dataWriter();
    }

    @Override
    public Router router() {
        return context.router();
    }

    @Override
    public Optional<ProxyProtocolData> proxyProtocolData() {
        return context.proxyProtocolData();
    }

    @Override
    public HelidonSocket serverSocket() {
        return context.serverSocket();
    }

    @Override
    public PeerInfo remotePeer() {
        return context.remotePeer();
    }

    @Override
    public PeerInfo localPeer() {
        return context.localPeer();
    }

    @Override
    public boolean isSecure() {
        return context.isSecure();
    }

    @Override
    public String socketId() {
        return context.socketId();
    }

    @Override
    public String childSocketId() {
        return context.childSocketId();
    }
}
