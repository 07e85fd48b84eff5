#!/usr/bin/env bash
# Latency of the reconciler's lock on each service (io.floodgate.app.LockLatencyBench, service/src/jmh):
# acquire a free lock, release, attempt a held one, renew; one thread, on this machine's private
# ZooKeeper and etcd (scripts/coordination.sh, started when not running) and its Redis.
# Usage: scripts/lock-bench.sh [rounds] [renew-seconds]     (defaults 2000, 10)
#   LOCK_BENCH_URLS  the lock URLs to measure (default: zk, etcd and redis on this machine)
set -euo pipefail
cd "$(dirname "$0")/.."
java=$(bin/find-java)
eval "$(scripts/coordination.sh start)"
urls=${LOCK_BENCH_URLS:-"zk://$FLOODGATE_TEST_ZK/fg-bench etcd://$FLOODGATE_TEST_ETCD/fg-bench redis://127.0.0.1:6379/9"}
mvn -q -B -pl service test-compile dependency:build-classpath -Dmdep.outputFile=target/test-classpath.txt -Dmdep.includeScope=test
for url in $urls; do
  "$java" -Xmx256m -cp "service/target/test-classes:service/target/classes:$(cat service/target/test-classpath.txt)" \
    -Dlogback.configurationFile=logback-cli.xml io.floodgate.app.LockLatencyBench "$url" "${1:-2000}" "${2:-10}"
done
