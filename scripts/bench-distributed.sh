#!/usr/bin/env bash
# Distributed mode against the raw Redis script rate, in one run: one Floodgate on the whole
# distributed stack (Redis ledger, Kafka order log, MariaDB store), driven closed-loop by
# `floodgate bench` on an item that never sells out (orders/s, latency percentiles) and on a
# sold-out item (sold-out answers/s), and between them `redis-benchmark` running the ledger's own
# reserve.lua by EVALSHA (50 clients, no pipelining) on the same Redis. Prints one table.
#
# Usage: scripts/bench-distributed.sh [seconds=15] [connections=256] [rounds=2]
# Needs Redis on 6379 and MariaDB on 3306 (scripts/services.sh ensure); starts the project's Kafka
# broker (scripts/kafka.sh) when none runs and stops it again afterwards. Uses a fresh MariaDB
# database, Redis namespace and Kafka topic, all deleted at the end (Redis: only keys of its namespace).
# Environment: FLOODGATE_JAVA_OPTS goes to the server's JVM.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-15}; connections=${2:-256}; rounds=${3:-2}
java=$(bin/find-java)  # a Java 25 or later (bin/find-java); Maven finds its own (toolchains)
{ [ -f service/target/floodgate.jar ] && [ -f bench/target/floodgate-bench.jar ]; } || mvn -q -B package -DskipTests -Ddist.skip

run=$(date +%s)$RANDOM
db="fg_bench_$run"; ns="fgbench$run"; topic="fg-bench-$run"
out=$(mktemp -d -t floodgate-distributed.XXXXXX)
started_kafka=0; pid=
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  mariadb -uroot -e "DROP DATABASE IF EXISTS $db" 2>/dev/null || true
  redis-cli --scan --pattern "$ns:*" | xargs -r -n 500 redis-cli unlink >/dev/null 2>&1 || true
  redis-cli --scan --pattern "benchrb$run:*" | xargs -r -n 500 redis-cli unlink >/dev/null 2>&1 || true
  if [ "$started_kafka" = 1 ]; then scripts/kafka.sh stop >&2 || true
  elif [ -n "${kafka:-}" ]; then scripts/kafka.sh topics --delete --topic "$topic" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

if kafka=$(scripts/kafka.sh address 2>/dev/null); then :; else kafka=$(scripts/kafka.sh start); started_kafka=1; fi
mariadb -uroot -e "CREATE DATABASE $db"

log="$out/server.log"
env FLOODGATE_PORT=0 FLOODGATE_HOST=127.0.0.1 FLOODGATE_DATA_DIR="$out/data" FLOODGATE_ADMIN_TOKEN=bench \
    FLOODGATE_REDIS_URL=redis://127.0.0.1:6379 FLOODGATE_REDIS_NAMESPACE="$ns" \
    FLOODGATE_KAFKA_BOOTSTRAP="$kafka" FLOODGATE_KAFKA_TOPIC="$topic" FLOODGATE_KAFKA_GROUP="$topic" \
    FLOODGATE_DB_URL="jdbc:mariadb://127.0.0.1:3306/$db" FLOODGATE_DB_USER=root \
    FLOODGATE_USER_RATE=1000000 FLOODGATE_USER_BURST=1000000 FLOODGATE_REQUEST_TIMEOUT_MS=5000 \
    "$java" ${FLOODGATE_JAVA_OPTS:-} -jar service/target/floodgate.jar >"$log" 2>&1 &
pid=$!
for _ in $(seq 1 600); do grep -qs "listening on" "$log" && break; kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
port=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$log")
if [ -z "$port" ]; then echo "Floodgate did not start; its log:" >&2; cat "$log" >&2; exit 3; fi
base="http://127.0.0.1:$port"

bench() { # sku stock duration report-dir|-
  local args=(-t "$base" --admin-token bench --sku "$1" --stock "$2" --users 1000000 --per-user-limit 1000000
              --connections "$connections" -d "$3" --retry-share 0 --no-verify --no-progress)
  if [ "$4" = - ]; then "$java" -jar bench/target/floodgate-bench.jar "${args[@]}" >/dev/null 2>&1 || true
  else "$java" -jar bench/target/floodgate-bench.jar "${args[@]}" --no-stop-on-sold-out --warmup 3s --report-dir "$4" >"$4.txt" 2>&1 || true; fi
}

redis_benchmark() { # prints calls per second
  local item="benchrb$run:{B}:item" key="benchrb$run:{B}" epoch="benchrb$run:epoch"
  redis-cli hset "$item" name bench stock 1000000000000 avail 1000000000000 limit 1000000 >/dev/null
  redis-cli set "$epoch" bench >/dev/null
  local sha; sha=$(redis-cli script load "$(cat service/src/main/resources/io/floodgate/redis/reserve.lua)")
  redis-benchmark -c 50 -P 1 -n $((seconds * 40000)) -r 100000000 -q \
    EVALSHA "$sha" 6 "$item" "$key:keys" "$key:held" "$key:pending" "$key:fence" "$epoch" \
    k__rand_int__ o__rand_int__ u__rand_int__ 1 0 | tr '\r' '\n' | grep "requests per second" | tail -n1 \
    | sed 's/.*: \([0-9.]*\) requests per second.*/\1/'
  redis-cli unlink "$item" "$key:keys" "$key:held" "$key:pending" "$epoch" >/dev/null
}

# warm both JITs and the Kafka producer first, unrecorded
bench "warm-$run" 1000000000 5s -

echo "distributed (Redis ledger, Kafka log, MariaDB store), $(nproc) cores, closed loop $connections connections, ${seconds}s per run, load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| round | orders/s (201/202) | p50 ms | p99 ms | p99.9 ms | other answers | sold-out answers/s | sold-out p99 ms | redis-benchmark EVALSHA reserve/s | orders / script |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for r in $(seq 1 "$rounds"); do
  bench "open-$run-$r" 1000000000 "${seconds}s" "$out/open-$r"
  rb=$(redis_benchmark)
  bench "gone-$run-$r" 1 "${seconds}s" "$out/gone-$r"
  python3 - "$out/open-$r/report.json" "$out/gone-$r/report.json" "$rb" "$r" <<'PY'
import json, sys
o, g = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
rb, r = float(sys.argv[3]), sys.argv[4]
ok = o["byKind"]["ACKNOWLEDGED"]
other = o["requests"] - ok
lat = o["latencyByKind"].get("ACKNOWLEDGED", {"latency": o["latency"]})["latency"]
sold = g["byKind"].get("REJECTED", 0) / max(g["seconds"], 1e-9)
glat = g["latencyByKind"].get("REJECTED", {"latency": g["latency"]})["latency"]
print(f"| {r} | {o['goodput']:,.0f} | {lat['p50Ms']:.1f} | {lat['p99Ms']:.1f} | {lat['p999Ms']:.1f} | {other} | "
      f"{sold:,.0f} | {glat['p99Ms']:.1f} | {rb:,.0f} | **{100 * o['goodput'] / rb:.0f}%** |")
PY
done
echo
echo "reports (report.json, report.html) and the server log: $out"
