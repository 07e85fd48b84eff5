#!/usr/bin/env bash
# The opening of a sale on a freshly started instance (issue 16): starts bin/floodgate, waits for
# /health/ready (timing start-to-listening and start-to-ready), then runs three sales in a row of
# 1,000 units each, wrk -t2 -c128 for 10 s per sale (new key and user per request; once sold out
# the answers are 409), and prints answers/s, p50 and p99 of each.
#
# Usage: scripts/bench-cold.sh [WARMUP_SECONDS] [ROUNDS]
#   WARMUP_SECONDS  FLOODGATE_WARMUP_SECONDS for the instance: the most its warm-up may take (default
#                   60, as the service's; it ends sooner once the JIT is quiet; 0: ready at once)
#   ROUNDS          fresh instances, one after the other (default 1)
# The instance takes the caller's FLOODGATE_* variables (e.g. FLOODGATE_REDIS_URL,
# FLOODGATE_KAFKA_BOOTSTRAP, FLOODGATE_DB_URL for the distributed mode) and FLOODGATE_JAVA_OPTS.
set -euo pipefail
cd "$(dirname "$0")/.."
warmup=${1:-60}; rounds=${2:-1}
duration=10s; connections=128; threads=2; units=1000
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }
[ -f service/target/floodgate.jar ] || mvn -q -B package -DskipTests -Ddist.skip
token=bench-token

for round in $(seq 1 "$rounds"); do
  data=$(mktemp -d); log=$(mktemp)
  t0=$(date +%s%N)
  FLOODGATE_PORT=0 FLOODGATE_HOST=127.0.0.1 FLOODGATE_DATA_DIR="$data" FLOODGATE_ADMIN_TOKEN=$token \
  FLOODGATE_USER_RATE=1000000 FLOODGATE_USER_BURST=1000000 FLOODGATE_WARMUP_SECONDS=$warmup \
  FLOODGATE_REDIS_NAMESPACE=${FLOODGATE_REDIS_NAMESPACE:-cold$RANDOM} \
    bin/floodgate >"$log" 2>&1 &
  pid=$!
  trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data"' EXIT
  until grep -q "listening on" "$log" 2>/dev/null; do
    kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; exit 1; }
    sleep 0.01
  done
  t1=$(date +%s%N)
  port=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$log")
  base=http://127.0.0.1:$port
  until [ "$(curl -s -o /dev/null -w '%{http_code}' "$base/health/ready")" = 200 ]; do sleep 0.01; done
  t2=$(date +%s%N)
  echo "round $round: warm-up ${warmup} s; listening after $(( (t1 - t0) / 1000000 )) ms, ready after $(( (t2 - t0) / 1000000 )) ms ($(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
  printf '%-8s %12s %10s %10s\n' sale "answers/s" p50 p99
  run_id=$(date +%s)
  for sale in 1 2 3; do
    sku=SALE$sale-$run_id # a store that outlives the run (distributed mode) keeps its items
    curl -sf -X PUT "$base/api/v1/items/$sku" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
      -d "{\"name\":\"Sale $sale\",\"stock\":$units,\"perUserLimit\":1}" >/dev/null
    out=$(SKU=$sku wrk -t"$threads" -c"$connections" -d"$duration" --latency -s bench/order.lua "$base")
    rate=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
    p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
    printf '%-8s %12s %10s %10s\n' "$sale" "$rate" "$p50" "$p99"
  done
  grep "warm-up:" "$log" | sed 's/^.*warm-up:/  warm-up:/' || true
  kill -TERM "$pid"; wait "$pid" || true
  trap - EXIT
  rm -rf "$data" "$log"
done
