package io.floodgate.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A ZooKeeper server of the test's own, from Debian's package, on a free port, run by the JVM
 * running the tests. Configured as scripts/coordination.sh configures the shared one: a tick of
 * 100 ms, sessions from 200 ms to 60 s. Its data (snapshots, transaction log) survives
 * {@link #kill()} and {@link #start()}, as a real server's would. Its locks live under {@code root}.
 */
public final class ZooKeeperServer extends ServerProcess {

    private final int port = Ports.free();
    private final String root;

    private ZooKeeperServer(String root) {
        super("zookeeper");
        this.root = root;
    }

    /** Starts one; skips the test when Debian's zookeeper package is missing (fails when services are required). */
    public static ZooKeeperServer start(String root) {
        TestCoordination.requireZooKeeperPackage();
        ZooKeeperServer server = new ZooKeeperServer(root);
        try {
            Files.writeString(server.dir.resolve("zoo.cfg"), String.join("\n",
                    "tickTime=100", "minSessionTimeout=200", "maxSessionTimeout=60000",
                    "dataDir=" + server.dir.resolve("data"), "clientPort=" + server.port,
                    "clientPortAddress=127.0.0.1", "maxClientCnxns=0", "admin.enableServer=false",
                    "4lw.commands.whitelist=ruok,srvr"), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        server.start();
        return server;
    }

    public String address() {
        return "127.0.0.1:" + port;
    }

    @Override
    public String lockUrl() {
        return "zk://" + address() + root;
    }

    @Override
    protected List<String> command() {
        String java = ProcessHandle.current().info().command().orElse("java");
        return List.of(java, "-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xshare:auto",
                "-cp", TestCoordination.ZOOKEEPER_JAR + ":" + Path.of("/usr/share/java/slf4j-simple.jar"),
                "org.apache.zookeeper.server.ZooKeeperServerMain", dir.resolve("zoo.cfg").toString());
    }

    @Override
    protected boolean answers() {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 500);
            s.setSoTimeout(1_000);
            // "srvr", not "ruok": ruok answers as soon as the port listens, before the server takes
            // sessions (a client then is turned away and backs off for seconds); srvr says "Mode:"
            // only once it serves
            s.getOutputStream().write("srvr".getBytes(StandardCharsets.US_ASCII));
            InputStream in = s.getInputStream();
            return new String(in.readAllBytes(), StandardCharsets.US_ASCII).contains("Mode: ");
        } catch (IOException e) {
            return false;
        }
    }

    @Override
    public String toString() {
        return "ZooKeeperServer[" + address() + ", " + dir + "]";
    }
}
