package io.floodgate.redis;

import io.floodgate.testing.TestFloodgate;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Redis as highly available deployments run it: a primary, a replica (asynchronous replication)
 * and three sentinels that agree (quorum 2) to promote the replica when the primary is down,
 * all redis-server processes of the test's own on free ports, with no persistence.
 *
 * <p>{@link #failOverToALaggingReplica} is the failure that the epoch markers alone cannot see:
 * the replica is stopped (SIGSTOP, as a long pause or a partition would), the primary takes
 * writes it never hears of, the primary dies, and the sentinels promote the replica, which comes
 * back as a primary that is behind, with nothing empty about it.
 */
public final class RedisSentinels implements AutoCloseable {

    public static final String MASTER = "fgmaster";
    private static final long DOWN_AFTER_MS = 1_000;

    private final Path dir;
    private final List<RedisProcess> servers = new ArrayList<>();
    private final List<Process> sentinels = new ArrayList<>();
    private final List<Integer> sentinelPorts = new ArrayList<>();

    private RedisSentinels(Path dir) {
        this.dir = dir;
    }

    /** Starts the primary, its replica and three sentinels; returns once the sentinels see both. */
    public static RedisSentinels start() {
        RedisTestSupport.requireRedisServerBinary();
        RedisSentinels group;
        try {
            group = new RedisSentinels(Files.createTempDirectory("fg-sentinels"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        try {
            RedisProcess primary = RedisProcess.start();
            group.servers.add(primary);
            RedisProcess replica = RedisProcess.start("--replicaof", "127.0.0.1", Integer.toString(primary.port()));
            group.servers.add(replica);
            group.awaitReplicaInSync(replica);
            for (int i = 0; i < 3; i++) {
                group.startSentinel(primary.port());
            }
            group.awaitSentinelsAgree();
            return group;
        } catch (RuntimeException e) {
            group.close();
            throw e;
        }
    }

    private void startSentinel(int primaryPort) {
        int port = RedisTestSupport.freePort();
        Path conf = dir.resolve("sentinel-" + port + ".conf");
        try {
            Files.writeString(conf, String.join("\n",
                    "port " + port,
                    "bind 127.0.0.1",
                    "dir " + dir,
                    "sentinel monitor " + MASTER + " 127.0.0.1 " + primaryPort + " 2",
                    "sentinel down-after-milliseconds " + MASTER + " " + DOWN_AFTER_MS,
                    "sentinel failover-timeout " + MASTER + " 5000",
                    "sentinel parallel-syncs " + MASTER + " 1",
                    ""));
            Process p = new ProcessBuilder("/usr/bin/redis-server", conf.toString(), "--sentinel")
                    .redirectErrorStream(true).redirectOutput(dir.resolve("sentinel-" + port + ".log").toFile()).start();
            sentinels.add(p);
            sentinelPorts.add(port);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start a sentinel on port " + port, e);
        }
    }

    /** {@code redis-sentinel://h:p,h:p,h:p/db#fgmaster}: what Floodgate is given. */
    public String url(int database) {
        StringBuilder url = new StringBuilder("redis-sentinel://");
        for (int i = 0; i < sentinelPorts.size(); i++) {
            url.append(i == 0 ? "" : ",").append("127.0.0.1:").append(sentinelPorts.get(i));
        }
        return url.append('/').append(database).append('#').append(MASTER).toString();
    }

    /** The port of the server the sentinels name as primary now. */
    public int primaryPort() {
        String out = sentinelCli("SENTINEL", "get-master-addr-by-name", MASTER);
        String[] lines = out.strip().split("\\R");
        return Integer.parseInt(lines[lines.length - 1].strip());
    }

    public RedisProcess primary() {
        int port = primaryPort();
        return servers.stream().filter(s -> s.port() == port).findFirst()
                .orElseThrow(() -> new IllegalStateException("no server of this group on the primary's port " + port));
    }

    public RedisProcess replica() {
        int port = primaryPort();
        return servers.stream().filter(s -> s.port() != port).findFirst().orElseThrow();
    }

    /**
     * Stops the replica, runs {@code whileBehind} (writes made now reach the primary only), kills
     * the primary, resumes the replica and waits until the sentinels have promoted it; then starts
     * the old primary again, empty, to become the new primary's replica. Returns once the new
     * primary takes writes.
     */
    public void failOverToALaggingReplica(Runnable whileBehind) {
        RedisProcess oldPrimary = primary();
        RedisProcess replica = replica();
        replica.signal("STOP");
        // the replication stream already in the replica's socket would still arrive after the
        // pause: cut the link, so that what follows reaches the primary only (as a partition would)
        oldPrimary.cli("CLIENT", "KILL", "TYPE", "replica");
        try {
            whileBehind.run();
        } finally {
            oldPrimary.kill();
            replica.signal("CONT");
        }
        awaitPrimary(replica.port());
        oldPrimary.startAgain();
        awaitSentinelsAgree();
    }

    /** FLUSHALL on the primary (replicated: the replica empties too); no process stops. */
    public void flushAll() {
        primary().cli("FLUSHALL");
    }

    /**
     * Kills the primary and starts it again at once, empty, as a primary, well within the time the
     * sentinels wait before they call it down: the replica then resynchronises from it and empties
     * too, which is what a primary without persistence does to its group. Returns once the replica
     * is in sync again and the sentinels agree. Should the sentinels fail over meanwhile (a restart
     * slower than {@value #DOWN_AFTER_MS} ms), they demote the restarted server to a replica; the
     * caller can tell by {@link #primaryPort()}.
     */
    public void restartPrimaryEmpty() {
        RedisProcess primary = primary();
        primary.kill();
        primary.startAgainAsPrimary();
        awaitReplicated();
    }

    /**
     * Waits until the group is whole again: every sentinel names the same primary, that server is a
     * primary whose replica is online, and the replica's link to it is up. (The sentinels count a
     * replica as soon as they know of it, and after a failover they know the old primary as one at
     * once, before it even runs: {@link #awaitSentinelsAgree} alone says little then.)
     */
    public void awaitReplicated() {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        String state = "not asked yet";
        while (System.nanoTime() - deadline < 0) {
            try {
                java.util.Set<Integer> named = new java.util.HashSet<>();
                for (int port : sentinelPorts) {
                    String out = RedisProcess.run(List.of("/usr/bin/redis-cli", "-p", Integer.toString(port),
                            "SENTINEL", "get-master-addr-by-name", MASTER)).strip();
                    named.add(Integer.parseInt(out.substring(out.lastIndexOf('\n') + 1).strip()));
                }
                RedisProcess primary = primary();
                String replication = primary.cli("INFO", "replication");
                String link = replica().cli("INFO", "replication");
                state = "sentinels name " + named + "; primary " + primary.port() + ": "
                        + replication.replaceAll("\\s+", " ") + "; replica: " + link.replaceAll("\\s+", " ");
                if (named.size() == 1 && replication.contains("role:master") && replication.contains("state=online")
                        && link.contains("master_link_status:up") && link.contains("master_port:" + primary.port())) {
                    awaitSentinelsAgree();
                    return;
                }
            } catch (RuntimeException notYet) {
                state = notYet.getMessage();
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(100));
        }
        throw new IllegalStateException("the Redis group is not whole again within 60 s (" + state + "); see " + dir);
    }

    /** Kills the primary and waits until the sentinels have promoted the replica (which is in sync). */
    public void failOver() {
        failOverToALaggingReplica(() -> { });
    }

    private void awaitPrimary(int port) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() - deadline < 0) {
            try {
                if (primaryPort() == port && RedisProcess.run(List.of("/usr/bin/redis-cli", "-p", Integer.toString(port),
                        "ROLE")).startsWith("master")) {
                    return;
                }
            } catch (RuntimeException notYet) {
                // a sentinel mid-failover
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(100));
        }
        throw new IllegalStateException("the sentinels did not promote 127.0.0.1:" + port + " within 60 s; see " + dir);
    }

    private void awaitReplicaInSync(RedisProcess replica) {
        for (int i = 0; i < 400; i++) {
            if (replica.cli("INFO", "replication").contains("master_link_status:up")) {
                return;
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(25));
        }
        throw new IllegalStateException("replica " + replica.port() + " did not sync with its primary");
    }

    /** Until every sentinel knows the replica and the other two sentinels (so that they can agree). */
    private void awaitSentinelsAgree() {
        for (int i = 0; i < 1_200; i++) {
            boolean all = true;
            for (int port : sentinelPorts) {
                try {
                    String out = RedisProcess.run(List.of("/usr/bin/redis-cli", "-p", Integer.toString(port),
                            "SENTINEL", "master", MASTER));
                    all &= field(out, "num-slaves") == 1 && field(out, "num-other-sentinels") == 2;
                } catch (RuntimeException notYet) {
                    all = false;
                }
            }
            if (all) {
                return;
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(25));
        }
        throw new IllegalStateException("the sentinels did not discover the replica and each other; see " + dir);
    }

    /** A field of redis-cli's answer to SENTINEL MASTER (name and value on lines of their own). */
    private static long field(String out, String name) {
        String[] lines = out.strip().split("\\R");
        for (int i = 0; i + 1 < lines.length; i++) {
            if (lines[i].strip().equals(name)) {
                return Long.parseLong(lines[i + 1].strip());
            }
        }
        return -1;
    }

    private String sentinelCli(String... args) {
        RuntimeException last = null;
        for (int port : sentinelPorts) {
            List<String> command = new ArrayList<>(List.of("/usr/bin/redis-cli", "-p", Integer.toString(port)));
            command.addAll(List.of(args));
            try {
                return RedisProcess.run(command);
            } catch (RuntimeException e) {
                last = e;
            }
        }
        throw last != null ? last : new IllegalStateException("no sentinel");
    }

    @Override
    public void close() {
        sentinels.forEach(p -> {
            p.destroyForcibly();
            try {
                p.waitFor(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        servers.forEach(RedisProcess::close);
        TestFloodgate.deleteRecursively(dir);
    }
}
