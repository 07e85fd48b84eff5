#!/usr/bin/env bash
# Start-to-ready of fresh instances (issue 16): starts bin/floodgate ROUNDS times, one after the
# other, each on an empty data folder, times "listening" and a 200 from /health/ready, prints what
# ended the warm-up's traffic (the JIT quiet, the budget) and what it passed over, and stops it.
# bin/floodgate uses the ahead-of-time cache when one was recorded for this build
# (bin/floodgate aot); FLOODGATE_AOT_CACHE=off runs without it. The caller's FLOODGATE_* variables
# pass through; JAVA_TOOL_OPTIONS reaches the JVM without changing the cache's key, e.g.
#   JAVA_TOOL_OPTIONS="-Xlog:jit+compilation=debug:file=/tmp/jit-%p.log:uptime" scripts/bench-ready.sh 10
#
# Usage: scripts/bench-ready.sh [ROUNDS=10]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-10}
[ -f service/target/floodgate.jar ] || mvn -q -B package -DskipTests -Ddist.skip

pid=; data=
stop() { if [ -n "$pid" ]; then kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi; rm -rf "$data"; pid=; }
trap stop EXIT
for round in $(seq 1 "$rounds"); do
  data=$(mktemp -d)
  t0=$(date +%s%N)
  FLOODGATE_PORT=0 FLOODGATE_HOST=127.0.0.1 FLOODGATE_DATA_DIR="$data/data" bin/floodgate >"$data/out" 2>&1 &
  pid=$!
  until grep -q "listening on" "$data/out" 2>/dev/null; do
    kill -0 "$pid" 2>/dev/null || { cat "$data/out" >&2; exit 1; }
    sleep 0.02
  done
  t1=$(date +%s%N)
  port=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$data/out")
  until [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/health/ready")" = 200 ]; do sleep 0.05; done
  t2=$(date +%s%N)
  ended=$(grep -o 'traffic ended: [^;]*' "$data/out" | head -1 || true)
  echo "round $round: listening after $(( (t1 - t0) / 1000000 )) ms, ready after $(( (t2 - t0) / 1000000 )) ms; ${ended:-no warm-up line}"
  stop
done
