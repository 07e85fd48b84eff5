#!/usr/bin/env bash
# A/B of one change's CPU cost per answer (issue 14): the service CPU (utime + stime from
# /proc/PID/stat) per answer, with two decimals, for new orders (STOCK > 0) or sold-out answers
# (STOCK=0) on the embedded default, from a fresh process warmed 10 s (wrk -t2 -c64) and measured
# 10 s (wrk -t2 -c128), with bench/order.lua. Alternate builds, several pairs: runs of one build
# vary by a few µs.
#
# Usage: scripts/bench-ab.sh JAR_DIR STOCK [orders|read]
#   read: GET /api/v1/orders/{id} of one order placed first (the store read every order read makes),
#         with the admin token; orders (the default): POST /api/v1/orders as above.
#   JAR_DIR: a copy of service/target's floodgate.jar and libs/ (cp -r service/target/floodgate.jar
#            service/target/libs DIR), one per build compared.
#   The FLOODGATE_* environment passes through (e.g. FLOODGATE_REDIS_URL and a fresh
#   FLOODGATE_REDIS_NAMESPACE per run for the Redis ledger).
# Example: for i in 1 2 3; do scripts/bench-ab.sh /tmp/before 1000000000; scripts/bench-ab.sh /tmp/after 1000000000; done
set -euo pipefail
cd "$(dirname "$0")/.."
jars=${1:?usage: $0 JAR_DIR STOCK [orders|read]}; stock=${2:?usage: $0 JAR_DIR STOCK [orders|read]}; what=${3:-orders}
java=$(bin/find-java)
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }
data=$(mktemp -d)
env FLOODGATE_PORT=0 FLOODGATE_HOST=127.0.0.1 FLOODGATE_DATA_DIR="$data/data" FLOODGATE_ADMIN_TOKEN=tok \
  FLOODGATE_WARMUP_SECONDS=0 "$java" ${FLOODGATE_JAVA_OPTS:-} -jar "$jars/floodgate.jar" >"$data/out" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 1 300); do grep -q "listening on" "$data/out" && break; sleep 0.1; done
port=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$data/out"); base=http://127.0.0.1:$port
curl -sf -X PUT "$base/api/v1/items/BENCH" -H "Authorization: Bearer tok" -H 'Content-Type: application/json' \
  -d "{\"name\":\"B\",\"stock\":$stock,\"perUserLimit\":1000000}" >/dev/null
script=bench/order.lua url=$base
if [ "$what" = read ]; then
  id=$(curl -sf -X POST "$base/api/v1/orders" -H 'Content-Type: application/json' -H 'Idempotency-Key: ab-read' \
    -d '{"userId":"ab","sku":"BENCH","quantity":1}' | sed -n 's/.*"orderId":"\([^"]*\)".*/\1/p')
  [ -n "$id" ] || { echo "could not place the order to read (is STOCK > 0?)" >&2; exit 1; }
  script=$data/read.lua url=$base/api/v1/orders/$id
  echo 'wrk.headers["Authorization"] = "Bearer tok"' >"$script"
fi
SKU=BENCH wrk -t2 -c64 -d10s -s "$script" "$url" >/dev/null
before=$(awk '{print $14 + $15}' "/proc/$pid/stat")
out=$(SKU=BENCH wrk -t2 -c128 -d10s -s "$script" "$url")
after=$(awk '{print $14 + $15}' "/proc/$pid/stat")
n=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' <<<"$out")
awk -v a="$after" -v b="$before" -v n="$n" -v j="$jars" -v t="$(getconf CLK_TCK)" \
  'BEGIN { printf "%s %.2f us/answer, %d answers\n", j, (a - b) * 1e6 / t / n, n }'
