#!/usr/bin/env bash
# The load generator's own ceiling: GET /health/live with wrk, then with `floodgate bench --scenario
# live` (raw client, then the JDK HttpClient), same connections and duration, against one Floodgate
# started here, in one run; then the standard flash sale. Numbers go to docs/BENCH-GENERATOR.md.
# Usage: scripts/bench-generator.sh [duration=10s] [connections=256] [report-dir=target/bench-report]
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-10s}; connections=${2:-256}; reports=${3:-target/bench-report}
java=$(bin/find-java)  # a Java 25 or later (bin/find-java); Maven finds its own (toolchains)
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }
{ [ -f service/target/floodgate.jar ] && [ -f bench/target/floodgate-bench.jar ]; } || mvn -q -B package -DskipTests -Ddist.skip

data=$(mktemp -d); log=$(mktemp)
token=bench-token
FLOODGATE_PORT=0 FLOODGATE_HOST=127.0.0.1 FLOODGATE_DATA_DIR="$data" FLOODGATE_ADMIN_TOKEN=$token \
  "$java" ${FLOODGATE_JAVA_OPTS:-} -jar service/target/floodgate.jar >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data" "$log"' EXIT
for _ in $(seq 1 100); do grep -q "listening on" "$log" && break; sleep 0.2; done
port=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$log")
base=http://127.0.0.1:$port
echo "Floodgate pid $pid on $base; $(nproc) cores; $connections connections, $duration each"

wrk -t2 -c"$connections" -d5s "$base/health/live" >/dev/null   # warm the service's JIT first
echo; echo "== wrk -t2 -c$connections -d$duration $base/health/live"
wrk -t2 -c"$connections" -d"$duration" --latency "$base/health/live" | sed -n '/Thread Stats/,$p'
for client in raw jdk; do
  echo; echo "== floodgate bench --scenario live --client $client --concurrency $connections --duration $duration --warmup 5s"
  "$java" -jar bench/target/floodgate-bench.jar --target "$base" --scenario live --client "$client" \
    --concurrency "$connections" --duration "$duration" --warmup 5s --no-progress 2>/dev/null | sed -n '/requests in/p;/p50/p'
done

echo; echo "== the standard flash sale"
echo "floodgate bench --stock 10000 --users 50000 --concurrency 256 --report-dir $reports"
"$java" -jar bench/target/floodgate-bench.jar --target "$base" --admin-token "$token" \
  --stock 10000 --users 50000 --concurrency 256 --report-dir "$reports"
