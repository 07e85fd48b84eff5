#!/usr/bin/env bash
# Start time of the service: from exec to its "Floodgate listening" line, with the CPU time the
# process used until then (a steadier figure than the wall time on a busy machine), over N runs on
# fresh data directories; prints each run and the medians.
#
# Usage: scripts/bench-start.sh [N] [LAUNCHER]
#   N         runs (default 10)
#   LAUNCHER  the command that starts the service (default bin/floodgate), e.g. the unpacked
#             distribution's floodgate-<version>/bin/floodgate
# UNTIL=ready also waits for /health/ready (the warm-up done, issue 16) and prints what ended the
# warm-up's traffic (the JIT quiet, and what it passed over; the budget). The caller's FLOODGATE_*
# variables pass through; JAVA_TOOL_OPTIONS reaches the JVM without changing bin/floodgate's
# ahead-of-time cache key, e.g. JAVA_TOOL_OPTIONS="-Xlog:jit+compilation=debug:file=/tmp/jit-%p.log:uptime".
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}
launcher=${2:-bin/floodgate}
tck=$(getconf CLK_TCK)
until_ready=$([ "${UNTIL:-listening}" = ready ] && echo 1 || echo 0)
walls=() cpus=() readies=()
for i in $(seq 1 "$runs"); do
  dir=$(mktemp -d)
  t0=$(date +%s%N)
  FLOODGATE_PORT=0 FLOODGATE_HOST=127.0.0.1 FLOODGATE_DATA_DIR="$dir/data" FLOODGATE_ADMIN_TOKEN=start \
    "$launcher" >"$dir/out" 2>&1 &
  pid=$!
  until grep -q "Floodgate listening" "$dir/out" 2>/dev/null; do
    kill -0 "$pid" 2>/dev/null || { cat "$dir/out" >&2; exit 1; }
    sleep 0.005
  done
  t1=$(date +%s%N)
  cpu=$(awk -v t="$tck" '{print int(($14 + $15) * 1000 / t)}' "/proc/$pid/stat")
  ready=
  if [ "$until_ready" = 1 ]; then
    port=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$dir/out")
    until [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/health/ready")" = 200 ]; do sleep 0.05; done
    readies+=($(( ($(date +%s%N) - t0) / 1000000 )))
    ready="; ready after ${readies[-1]} ms; $(grep -o 'traffic ended: [^;]*' "$dir/out" | head -1 || true)"
  fi
  kill -TERM "$pid"; wait "$pid" || true
  rm -rf "$dir"
  walls+=($(( (t1 - t0) / 1000000 ))) cpus+=("$cpu")
  echo "run $i: listening after ${walls[-1]} ms, ${cpu} ms CPU$ready"
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR + 1) / 2)]}'; }
echo "median of $runs: listening after $(median "${walls[@]}") ms, $(median "${cpus[@]}") ms CPU" \
  "$([ "$until_ready" = 1 ] && echo "and ready after $(median "${readies[@]}") ms ")($(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
