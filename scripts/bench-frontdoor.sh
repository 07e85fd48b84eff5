#!/usr/bin/env bash
# The front door under open-loop overload: `floodgate bench --rate` through nginx (deploy/nginx/,
# started by scripts/cluster.sh with N distributed instances) at 1x, 4x and 10x a capacity, with
# nginx's limits on (limit_req at the capacity, limit_conn) and off (nginx only balances; each
# instance's own admission control still sheds). One cluster for the whole sweep: the instances
# keep running, nginx reloads between runs (the modes alternate within each load), every run sells
# its own item.
#
# Usage: scripts/bench-frontdoor.sh CAPACITY_PER_SECOND [duration=10s] [connections=2000] [instances=2]
# Environment: LOADS="1 4 10", MODES="on off"; FIRST_WARMUP=20s (unrecorded, at the capacity, once
#   after the instances start); WARMUP=5s (unrecorded, at the capacity, before each run);
#   GEN_WARMUP=3s (inside the measuring generator); TIMEOUT=12s; NGINX_ORDER_BURST (default a tenth
#   of the capacity), NGINX_MAX_CONN (default the capacity); FLOODGATE_JAVA_OPTS for the instances
#   (default -Xms1g -Xmx1g -Xmn512m); CLUSTER_KAFKA to use a running broker; KEEP=1 leaves the
#   cluster up afterwards (scripts/cluster.sh down stops it).
# Prints one table row per run, the columns of scripts/bench-overload.sh; reports stay in the
# directory printed first.
set -euo pipefail
cd "$(dirname "$0")/.."
capacity=${1:?"usage: $0 CAPACITY_PER_SECOND [duration=10s] [connections=2000] [instances=2]"}
duration=${2:-10s}; connections=${3:-2000}; instances=${4:-2}
loads=${LOADS:-1 4 10}; modes=${MODES:-on off}; warmup=${WARMUP:-5s}; timeout=${TIMEOUT:-12s}
gen_warmup=${GEN_WARMUP:-3s}
java=$(bin/find-java)
{ [ -f service/target/floodgate.jar ] && [ -f bench/target/floodgate-bench.jar ]; } || mvn -q -B package -DskipTests -Ddist.skip

export FLOODGATE_JAVA_OPTS=${FLOODGATE_JAVA_OPTS:--Xms1g -Xmx1g -Xmn512m}
export FLOODGATE_USER_RATE=1000000 FLOODGATE_USER_BURST=1000000
export NGINX_ORDER_RATE=$capacity NGINX_ORDER_BURST=${NGINX_ORDER_BURST:-$((capacity / 10))}
# In flight through nginx: by Little's law, a second's worth of the capacity (the capacity at one
# second of latency); more only waits longer.
export NGINX_MAX_CONN=${NGINX_MAX_CONN:-$capacity} NGINX_CLIENT_RATE=1000000 NGINX_CLIENT_BURST=100000
export NGINX_ACCESS_LOG=off

out=$(mktemp -d -t floodgate-frontdoor.XXXXXX)
cleanup() { if [ "${KEEP:-0}" != 1 ]; then scripts/cluster.sh down >/dev/null 2>&1 || true; fi; }
trap cleanup EXIT

row() { # report.json mode multiple: one table row (scripts/lib/bench_row.py)
  python3 scripts/lib/bench_row.py "$@"
}

echo "capacity ${capacity}/s, ${duration} per run, ${connections} connections, ${instances} instances behind nginx," \
     "$(nproc) cores (load average $(cut -d' ' -f1 /proc/loadavg) at the start); reports in $out"
echo "| nginx limits | load | offered/s | answered/s | goodput/s | admitted p99 ms | all p99 ms | shed % | not on time % | peak backlog | send delay p99 ms | 503/504/errors | timeouts | gen cores |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
url=$(scripts/cluster.sh up "$instances" 2>"$out/cluster.log")
token=$(scripts/cluster.sh token)
# fresh instances: their JIT, pools, Kafka producers and the breakers' windows settle first
"$java" -jar bench/target/floodgate-bench.jar -t "$url" --admin-token "$token" --sku "warm-first-$$" --stock 1000000000 \
  --users 1000000 --per-user-limit 1000000 --rate "$capacity" -d "${FIRST_WARMUP:-20s}" --connections "$connections" \
  --retry-share 0 --timeout "$timeout" --no-verify --no-progress >/dev/null 2>&1 || true
# Modes alternate within each load (nginx reloads; the instances keep running), so that both see the
# same machine: with other work on the cores, conditions drift within minutes.
for mult in $loads; do
  for mode in $modes; do
    NGINX_LIMITS=$mode scripts/cluster.sh up "$instances" >/dev/null 2>>"$out/cluster.log"
    tag="$mode-${mult}x-$$"
    rate=$((capacity * mult))
    "$java" -jar bench/target/floodgate-bench.jar -t "$url" --admin-token "$token" --sku "warm-$tag" --stock 1000000000 \
      --users 1000000 --per-user-limit 1000000 --rate "$capacity" -d "$warmup" --connections "$connections" \
      --retry-share 0 --timeout "$timeout" --no-verify --no-progress >/dev/null 2>&1 || true
    dir="$out/$tag"
    "$java" -jar bench/target/floodgate-bench.jar -t "$url" --admin-token "$token" --sku "load-$tag" --stock 1000000000 \
      --users 1000000 --per-user-limit 1000000 --rate "$rate" --connections "$connections" -d "$duration" \
      --warmup "$gen_warmup" --retry-share 0 --timeout "$timeout" --no-verify --no-progress --report-dir "$dir" \
      >"$dir.txt" 2>&1 || true
    if [ -f "$dir/report.json" ]; then row "$dir/report.json" "$mode" "$mult"; else echo "| $mode | ${mult}x | run failed: see $dir.txt |"; fi
  done
done
echo
echo "Columns as in scripts/bench-overload.sh. shed %: 429 and 503 OVERLOADED, whether nginx or an instance said it."
echo "Outcomes per run (who refused what): python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[\"outcomes\"])' $out/<run>/report.json"
