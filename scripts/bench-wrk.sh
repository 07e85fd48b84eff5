#!/usr/bin/env bash
# Service benchmark with wrk: GET /health/live, order placement (unique keys and users) and
# sold-out requests, against one Floodgate on the embedded default, in one run with one tool.
# Usage: scripts/bench-wrk.sh [duration=20s] [connections=256] [threads=2]
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-20s}; connections=${2:-256}; threads=${3:-2}
java=$(bin/find-java)  # a Java 25 or later (bin/find-java); Maven finds its own (toolchains)
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }
[ -f service/target/floodgate.jar ] || mvn -q -B package -DskipTests -Ddist.skip

data=$(mktemp -d); log=$(mktemp)
token=bench-token
FLOODGATE_PORT=0 FLOODGATE_HOST=127.0.0.1 FLOODGATE_DATA_DIR="$data" FLOODGATE_ADMIN_TOKEN=$token \
FLOODGATE_USER_RATE=1000000 FLOODGATE_USER_BURST=1000000 FLOODGATE_MAX_IN_FLIGHT=100000 FLOODGATE_WRITER_QUEUE=100000 \
  "$java" ${FLOODGATE_JAVA_OPTS:-} -jar service/target/floodgate.jar >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 1 100); do grep -q "listening on" "$log" && break; sleep 0.2; done
port=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$log")
base=http://127.0.0.1:$port
echo "Floodgate pid $pid on $base; wrk -t$threads -c$connections -d$duration; $(nproc) cores"
curl -sf -X PUT "$base/api/v1/items/BENCH" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  -d '{"name":"Bench","stock":1000000000,"perUserLimit":1}' >/dev/null
curl -sf -X PUT "$base/api/v1/items/GONE" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  -d '{"name":"Gone","stock":0,"perUserLimit":1}' >/dev/null

run() { # title, wrk args...
  echo; echo "== $1"; shift
  wrk -t"$threads" -c"$connections" -d"$duration" --latency "$@" | sed -n '/Thread Stats/,$p'
}
# warm up the JIT on every path first
wrk -t"$threads" -c64 -d5s "$base/health/live" >/dev/null
SKU=BENCH wrk -t"$threads" -c64 -d5s -s bench/order.lua "$base" >/dev/null
SKU=GONE wrk -t"$threads" -c64 -d5s -s bench/order.lua "$base" >/dev/null

run "GET /health/live" "$base/health/live"
SKU=BENCH run "POST /api/v1/orders (new order each time, 201)" -s bench/order.lua "$base"
SKU=GONE run "POST /api/v1/orders (sold out, 409)" -s bench/order.lua "$base"
echo
echo "== after the run"
curl -s "$base/api/v1/items/BENCH"; echo
curl -s "$base/metrics" | grep -E '^floodgate_(orders|orders_persisted|writer_batches)_total' || true  # replays show as result="replayed"
