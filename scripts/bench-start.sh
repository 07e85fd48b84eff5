#!/usr/bin/env bash
# Start time of the service: from exec to its "Floodgate listening" line, with the CPU time the
# process used until then (a steadier figure than the wall time on a busy machine), over N runs on
# fresh data directories; prints each run and the medians.
#
# Usage: scripts/bench-start.sh [N] [LAUNCHER]
#   N         runs (default 10)
#   LAUNCHER  the command that starts the service (default bin/floodgate), e.g. the unpacked
#             distribution's floodgate-<version>/bin/floodgate
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}
launcher=${2:-bin/floodgate}
tck=$(getconf CLK_TCK)
walls=() cpus=()
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
  kill -TERM "$pid"; wait "$pid" || true
  rm -rf "$dir"
  walls+=($(( (t1 - t0) / 1000000 ))) cpus+=("$cpu")
  echo "run $i: listening after ${walls[-1]} ms, ${cpu} ms CPU"
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR + 1) / 2)]}'; }
echo "median of $runs: listening after $(median "${walls[@]}") ms, $(median "${cpus[@]}") ms CPU" \
  "($(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
