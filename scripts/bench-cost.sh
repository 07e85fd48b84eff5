#!/usr/bin/env bash
# Cost per answer (issue 14): the service's CPU time per answer, by kind of answer, beside the rate.
# CPU per answer carries across machines better than a rate does: it is the service process's
# utime + stime (/proc/PID/stat) over one wrk run, divided by the answers wrk counted; the load
# generator's CPU is not in it. One instance on the embedded default with the default limits
# (only the warm-up is off: the script warms every path itself), then a second one whose
# concurrency limit is 1 for the 503s, then the framework's floor: a bare Helidon server
# (io.floodgate.http.HelidonFloor, in the service's test classes) that reads the same order body
# and writes the same sold-out answer with no edge, admission, auth, metrics or request scope, and
# that writes an order through Floodgate's own group commit into its SQLite store and answers 201
# (the floor of a durable order: no ledger, idempotency, JSON parsing or edge); last the same three
# answers on Netty directly (io.floodgate.http.NettyFloor: one event loop per core, the native
# epoll transport), the alternative HTTP layer measured on the same work. NETTY lists its modes
# (default "epoll"; "nio" for Java's transport, "epoll-vt" to answer each order from a virtual
# thread of its own, as Floodgate's design would on Netty; empty to skip).
#
# Usage: scripts/bench-cost.sh [duration=10s] [connections=128] [threads=2]
# FLOORS=only measures the floors alone (to compare HTTP layers in alternating runs).
# Prints a Markdown table: answer, how many answers were not 2xx (wrk's count: a run meant to
# refuse should show nearly all, one meant to accept nearly none), answers/s, the share of
# /health/live's rate, CPU µs per answer, the part of it in the kernel (stime), and its ratio to
# /health/live's.
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-10s}; connections=${2:-128}; threads=${3:-2}
java=$(bin/find-java)
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }
[ -f service/target/floodgate.jar ] || mvn -q -B package -DskipTests -Ddist.skip
[ -f service/target/test-classes/io/floodgate/http/NettyFloor.class ] || mvn -q -B test-compile -pl service
# the test class path, made again when the pom changes (Netty's HTTP codec is a test dependency: only the floor uses it)
[ service/target/test.classpath -nt service/pom.xml ] || mvn -q -B dependency:build-classpath -pl service \
  -Dmdep.includeScope=test -Dmdep.outputFile=target/test.classpath
netty=${NETTY-epoll}
token=bench-token
tick_us=$((1000000 / $(getconf CLK_TCK)))

pid=; data=
stop() { if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi; rm -rf "$data"; pid=; }
trap stop EXIT

start() { # extra FLOODGATE_* assignments...
  data=$(mktemp -d); local log=$data/out
  env FLOODGATE_PORT=0 FLOODGATE_HOST=127.0.0.1 FLOODGATE_DATA_DIR="$data/data" FLOODGATE_ADMIN_TOKEN=$token \
    FLOODGATE_WARMUP_SECONDS=0 "$@" "$java" ${FLOODGATE_JAVA_OPTS:-} -jar service/target/floodgate.jar >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 1 300); do grep -q "listening on" "$log" && break; sleep 0.1; done
  port=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$log")
  base=http://127.0.0.1:$port
  item BENCH 1000000000; item GONE 0
}
item() { # sku stock
  curl -sf -X PUT "$base/api/v1/items/$1" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d "{\"name\":\"$1\",\"stock\":$2,\"perUserLimit\":1000000}" >/dev/null
}
start_floor() { # main class, arguments after the data folder
  data=$(mktemp -d); local log=$data/out main=$1; shift
  "$java" ${FLOODGATE_JAVA_OPTS:-} -cp "service/target/test-classes:service/target/floodgate.jar:$(cat service/target/test.classpath)" \
    "$main" 0 "$data/floor" "$@" >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 1 300); do grep -q "listening on" "$log" && break; sleep 0.1; done
  port=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$log")
  base=http://127.0.0.1:$port
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
sys_ticks() { awk '{print $15}' "/proc/$pid/stat"; }

health_rate=; health_cpu=
measure() { # title, SKU and MODE for bench/order.lua (- for a GET), URL
  local title=$1 envs=$2 url=$3
  local before after sys_before sys_after out requests rate refused cpu sys script=()
  if [ "$envs" = - ]; then envs=; else script=(-s bench/order.lua); fi
  before=$(cpu_ticks); sys_before=$(sys_ticks)
  out=$(env $envs wrk -t"$threads" -c"$connections" -d"$duration" "${script[@]}" "$url" 2>&1)
  after=$(cpu_ticks); sys_after=$(sys_ticks)
  requests=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' <<<"$out")
  rate=$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' <<<"$out")
  refused=$(sed -n 's/^ *Non-2xx or 3xx responses: *\([0-9]*\).*/\1/p' <<<"$out")
  statuses="${refused:-0} of $requests"
  # one decimal: a health check costs about 10 µs on a fast machine, where whole microseconds are 10% steps
  cpu=$(awk -v t=$((after - before)) -v u="$tick_us" -v n="$requests" 'BEGIN { printf "%.1f", t * u / (n > 0 ? n : 1) }')
  sys=$(awk -v t=$((sys_after - sys_before)) -v u="$tick_us" -v n="$requests" 'BEGIN { printf "%.1f", t * u / (n > 0 ? n : 1) }')
  if [ -z "$health_rate" ]; then health_rate=$rate; health_cpu=$cpu; fi
  awk -v t="$title" -v s="$statuses" -v r="$rate" -v hr="$health_rate" -v c="$cpu" -v k="$sys" -v hc="$health_cpu" \
    'BEGIN { printf "| %s | %s | %.0f | %.2f | %.1f | %.1f | %.2fx |\n", t, s, r, r / hr, c, k, c / (hc > 0 ? hc : 1) }'
}
warm() { # as measure, for a time (default 5 s) at 64 connections, not measured
  local envs=$1 url=$2 time=${3:-5s} script=()
  if [ "$envs" = - ]; then envs=; else script=(-s bench/order.lua); fi
  env $envs wrk -t"$threads" -c64 -d"$time" "${script[@]}" "$url" >/dev/null 2>&1
}

echo "scripts/bench-cost.sh $duration $connections $threads: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ)"
echo
echo "| answer | not 2xx | answers/s | share of /health/live's rate | service CPU µs per answer | of which in the kernel | x /health/live |"
echo "|---|---|---|---|---|---|---|"
if [ "${FLOORS:-}" != only ]; then
  start
  warm - "$base/health/live"
  warm "SKU=BENCH" "$base"
  warm "SKU=GONE" "$base"
  warm "SKU=BENCH MODE=replay" "$base"
  warm "SKU=BENCH MODE=hot-user" "$base"
  measure "GET /health/live" - "$base/health/live"
  measure "new order (201)" "SKU=BENCH" "$base"
  measure "sold out (409)" "SKU=GONE" "$base"
  measure "replay (200, a key placed before)" "SKU=BENCH MODE=replay" "$base"
  measure "rate limited (429, one user)" "SKU=BENCH MODE=hot-user" "$base"
  stop
  # The 503s: an instance whose concurrency limit is 1, so nearly every order is turned away.
  health_rate_main=$health_rate health_cpu_main=$health_cpu
  start FLOODGATE_MAX_IN_FLIGHT=1 FLOODGATE_MIN_IN_FLIGHT=1
  warm "SKU=BENCH" "$base" 20s # a fresh JVM: as long as the first instance's warm-up in all
  health_rate=$health_rate_main health_cpu=$health_cpu_main
  measure "overloaded (503, limit 1)" "SKU=BENCH" "$base"
  stop
fi
# The floors: bare Helidon, then Netty, each warmed as the first instance was.
floor() { # name, main class, arguments
  local name=$1; shift
  start_floor "$@"
  warm - "$base/health/live"
  warm "SKU=GONE" "$base" 10s
  warm "SKU=BENCH" "$base" 10s
  measure "floor: $name, GET /health/live" - "$base/health/live"
  measure "floor: $name, order body read, 409 written" "SKU=GONE" "$base"
  measure "floor: $name, order written by the group commit to SQLite, 201" "SKU=BENCH" "$base"
  stop
}
floor "bare Helidon" io.floodgate.http.HelidonFloor
for mode in $netty; do floor "Netty ($mode)" io.floodgate.http.NettyFloor "$mode"; done
