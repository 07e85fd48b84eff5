package io.floodgate.testing;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;

/**
 * An etcd member of the test's own, from Debian's package, on free ports. Configured as
 * scripts/coordination.sh configures the shared one: heartbeat 10 ms, election timeout 100 ms, so
 * that leases may be as short as etcd allows (1 s). Its data survives {@link #kill()} and
 * {@link #start()}, as a real member's would.
 */
public final class EtcdServer extends ServerProcess {

    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofMillis(500)).build();

    private final int clientPort = Ports.free();
    private final int peerPort = Ports.free();
    private final String prefix;

    private EtcdServer(String prefix) {
        super("etcd");
        this.prefix = prefix;
    }

    /** Starts one; skips the test when Debian's etcd-server package is missing (fails when services are required). */
    public static EtcdServer start(String prefix) {
        TestCoordination.requireEtcdPackage();
        EtcdServer server = new EtcdServer(prefix);
        server.start();
        return server;
    }

    public String address() {
        return "127.0.0.1:" + clientPort;
    }

    @Override
    public String lockUrl() {
        return "etcd://" + address() + prefix;
    }

    @Override
    protected List<String> command() {
        String peer = "http://127.0.0.1:" + peerPort;
        String client = "http://" + address();
        return List.of(TestCoordination.ETCD_BINARY.toString(), "--name", "t", "--data-dir", dir.resolve("data").toString(),
                "--listen-client-urls", client, "--advertise-client-urls", client,
                "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer, "--initial-cluster", "t=" + peer,
                "--heartbeat-interval", "10", "--election-timeout", "100", "--logger", "zap", "--log-outputs", "stderr");
    }

    @Override
    protected boolean answers() {
        try {
            HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://" + address() + "/health"))
                    .timeout(Duration.ofSeconds(1)).build(), HttpResponse.BodyHandlers.ofString());
            return r.statusCode() == 200 && r.body().contains("\"health\":\"true\"");
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    @Override
    public String toString() {
        return "EtcdServer[" + address() + ", " + dir + "]";
    }
}
