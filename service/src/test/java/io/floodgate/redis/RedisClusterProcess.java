package io.floodgate.redis;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * A small Redis Cluster of the test's own: three masters on free ports, no replicas, made with
 * {@code redis-cli --cluster create}. Stopped (each server by its process) on close.
 */
final class RedisClusterProcess implements AutoCloseable {

    private final List<RedisProcess> masters = new ArrayList<>();

    static RedisClusterProcess start() {
        RedisClusterProcess cluster = new RedisClusterProcess();
        try {
            for (int i = 0; i < 3; i++) {
                cluster.masters.add(RedisProcess.start("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                        "--cluster-node-timeout", "5000"));
            }
            List<String> create = new ArrayList<>(List.of("/usr/bin/redis-cli", "--cluster", "create"));
            cluster.masters.forEach(m -> create.add("127.0.0.1:" + m.port()));
            create.addAll(List.of("--cluster-replicas", "0", "--cluster-yes"));
            RedisProcess.run(create);
            cluster.awaitOk();
            return cluster;
        } catch (RuntimeException e) {
            cluster.close();
            throw e;
        }
    }

    private void awaitOk() {
        for (int i = 0; i < 400; i++) {
            boolean ok = masters.stream().allMatch(m -> m.cli("cluster", "info").contains("cluster_state:ok"));
            if (ok) {
                return;
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50));
        }
        throw new IllegalStateException("the test cluster did not reach cluster_state:ok");
    }

    List<RedisProcess> masters() {
        return masters;
    }

    /** The ledger URL: every master as a seed. */
    String url() {
        StringBuilder url = new StringBuilder("redis-cluster://");
        for (int i = 0; i < masters.size(); i++) {
            url.append(i == 0 ? "" : ",").append("127.0.0.1:").append(masters.get(i).port());
        }
        return url.toString();
    }

    @Override
    public void close() {
        masters.forEach(RedisProcess::close);
    }
}
