#!/usr/bin/env bash
# Open-loop overload run: requests at a fixed arrival rate (floodgate bench --rate), at 1x, 2x, 4x
# and 10x a capacity, with admission control as configured and without it (limit and queues
# opened wide), on the embedded default. Prints one line per run: goodput (201/s), shed (503/429
# per s), latency percentiles from the intended send time (coordinated omission corrected).
# Usage: scripts/bench-overload.sh CAPACITY_PER_SECOND [duration=10s]
set -euo pipefail
cd "$(dirname "$0")/.."
capacity=${1:?"usage: $0 CAPACITY_PER_SECOND [duration]"}; duration=${2:-10s}
export JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
export MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow"
[ -f target/floodgate.jar ] || mvn -q -B package -DskipTests
java="$JAVA_HOME/bin/java"

run_server() { # mode -> sets pid, base
  local data log; data=$(mktemp -d); log=$(mktemp)
  local extra=()
  if [ "$1" = off ]; then
    extra=(FLOODGATE_MIN_IN_FLIGHT=1000000 FLOODGATE_MAX_IN_FLIGHT=1000000 FLOODGATE_WRITER_QUEUE=10000000)
  fi
  env FLOODGATE_PORT=0 FLOODGATE_HOST=127.0.0.1 FLOODGATE_DATA_DIR="$data" FLOODGATE_ADMIN_TOKEN=bench \
      FLOODGATE_USER_RATE=1000000 FLOODGATE_USER_BURST=1000000 FLOODGATE_REQUEST_TIMEOUT_MS=10000 "${extra[@]}" \
      "$java" ${FLOODGATE_JAVA_OPTS:-} -jar target/floodgate.jar >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 1 300); do grep -q "listening on" "$log" && break; sleep 0.1; done
  base="http://127.0.0.1:$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$log")"
}

summarize() { # report.json mode multiple rate
  python3 - "$@" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); mode, mult, rate = sys.argv[2], sys.argv[3], sys.argv[4]
s = d["seconds"]; k = d["byKind"]; l = d["latency"]
created = sum(o["count"] for o in d["outcomes"] if o["label"] == "201")
print(f"| {mode:3} | {mult:>3}x | {rate:>7} | {d['rate']:8.0f} | {created / s:8.0f} | {k.get('SHED', 0) / s:8.0f} | "
      f"{k.get('ERROR', 0):5d} | {l['p50Ms']:7.1f} | {l['p99Ms']:8.1f} | {l['maxMs']:8.1f} |")
PY
}

echo "capacity ${capacity}/s, ${duration} per run, $(nproc) cores"
echo "| adm | load | offered/s | sent/s | 201/s | shed/s | errors | p50 ms | p99 ms | max ms |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for mode in on off; do
  for mult in 1 2 4 10; do
    run_server "$mode"
    rate=$((capacity * mult))
    # warm the JIT at the capacity first, unrecorded
    "$java" -jar target/floodgate.jar bench -t "$base" --admin-token bench --sku warm --stock 1000000000 \
      --users 1000000 --per-user-limit 1000000 --rate "$capacity" -d 5s --retry-share 0 --no-verify --no-progress >/dev/null 2>&1 || true
    dir=$(mktemp -d)
    "$java" -jar target/floodgate.jar bench -t "$base" --admin-token bench --sku load --stock 1000000000 \
      --users 1000000 --per-user-limit 1000000 --rate "$rate" -c 512 -d "$duration" --retry-share 0 \
      --timeout 10s --no-verify --no-progress --report-dir "$dir" >/dev/null 2>&1 || true
    summarize "$dir/report.json" "$mode" "$mult" "$rate"
    kill "$pid"; wait "$pid" 2>/dev/null || true
  done
done
