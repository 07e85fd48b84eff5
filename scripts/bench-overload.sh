#!/usr/bin/env bash
# Open-loop overload sweep: `floodgate bench --rate` at 1x, 2x, 4x and 10x a capacity, each against a
# fresh Floodgate with admission control on (the adaptive concurrency limit, as configured) and off
# (FLOODGATE_ADMISSION=off: no concurrency limit, writer queue opened wide). The generator drives
# many connections (default 5000) so that the overload reaches the server instead of queueing in
# the generator, and says how much did queue in the generator (client backlog).
#
# Usage: scripts/bench-overload.sh CAPACITY_PER_SECOND [duration=10s] [connections=5000] [embedded|distributed]
#   embedded (default): SQLite and the in-process ledger in a temporary data dir, whatever the environment says.
#   distributed: passes FLOODGATE_DB_URL, FLOODGATE_DB_USER, FLOODGATE_DB_PASSWORD and FLOODGATE_REDIS_URL
#                through from the environment (at least one must be set); each run gets its own Redis
#                namespace and item, so runs do not see each other's stock.
# Environment: LOADS="1 2 4 10" and MODES="on off" choose a subset; WARMUP=5s is the unrecorded run at
#   the capacity before each measured one (warms the server); GEN_WARMUP=3s is unrecorded load at the
#   measured rate inside the measuring generator itself (warms its JIT: a cold generator JVM alone put
#   hundreds of milliseconds into the first seconds' p99); TIMEOUT=12s the client timeout per request (the server's
#   budget is 10 s, so its 504 comes first); FLOODGATE_JAVA_OPTS goes to the server's JVM; PIN=1 runs
#   the server on the last core and the generator on the others (taskset), so that the two stop
#   taking each other's CPU (the server then has one core: compare with the same capacity pinned
#   and unpinned).
# Prints one table row per run (the columns are explained under the table). Reports (report.json and
# report.html per run) stay in the directory printed first.
set -euo pipefail
cd "$(dirname "$0")/.."
capacity=${1:?"usage: $0 CAPACITY_PER_SECOND [duration=10s] [connections=5000] [embedded|distributed]"}
duration=${2:-10s}; connections=${3:-5000}; backend=${4:-embedded}
loads=${LOADS:-1 2 4 10}; modes=${MODES:-on off}; warmup=${WARMUP:-5s}; timeout=${TIMEOUT:-12s}
gen_warmup=${GEN_WARMUP:-3s}
java=$(bin/find-java)
server_pin=(); gen_pin=()
if [ "${PIN:-0}" = 1 ]; then
  cores=$(nproc)
  [ "$cores" -ge 2 ] || { echo "PIN=1 needs at least 2 cores" >&2; exit 2; }
  command -v taskset >/dev/null || { echo "PIN=1 needs taskset (util-linux)" >&2; exit 2; }
  server_pin=(taskset -c $((cores - 1))); gen_pin=(taskset -c 0-$((cores - 2)))
fi  # a Java 25 or later (bin/find-java); Maven finds its own (toolchains)

case "$backend" in
  embedded) store_env=(-u FLOODGATE_DB_URL -u FLOODGATE_DB_USER -u FLOODGATE_DB_PASSWORD -u FLOODGATE_REDIS_URL) ;;
  distributed)
    if [ -z "${FLOODGATE_DB_URL:-}" ] && [ -z "${FLOODGATE_REDIS_URL:-}" ]; then
      echo "distributed: set FLOODGATE_DB_URL (and _USER, _PASSWORD) and/or FLOODGATE_REDIS_URL" >&2; exit 2
    fi
    store_env=() ;;
  *) echo "the fourth argument is embedded or distributed, was '$backend'" >&2; exit 2 ;;
esac
# the JVM lifts its soft descriptor limit to the hard one; the server needs as many as the generator
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$hard" -lt $((connections + 512)) ]; then
  echo "ulimit -Hn is $hard: too low for $connections connections (each side needs one descriptor per" \
       "connection, plus a few hundred); raise it (ulimit -n $((connections + 512)) as root, or limits.conf)" \
       "or pass fewer connections" >&2
  exit 2
fi
{ [ -f service/target/floodgate.jar ] && [ -f bench/target/floodgate-bench.jar ]; } || mvn -q -B package -DskipTests -Ddist.skip

out=$(mktemp -d -t floodgate-overload.XXXXXX)
pid=
cleanup() { if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi; }
trap cleanup EXIT

run_server() { # mode tag -> sets pid, base
  local data="$out/data-$2" log="$out/server-$2.log"
  mkdir -p "$data"
  local extra=()
  if [ "$1" = off ]; then
    extra=(FLOODGATE_ADMISSION=off FLOODGATE_WRITER_QUEUE=10000000)
  fi
  env "${store_env[@]}" FLOODGATE_PORT=0 FLOODGATE_HOST=127.0.0.1 FLOODGATE_DATA_DIR="$data" \
      FLOODGATE_ADMIN_TOKEN=bench FLOODGATE_REDIS_NAMESPACE="bench-$2" \
      FLOODGATE_USER_RATE=1000000 FLOODGATE_USER_BURST=1000000 FLOODGATE_REQUEST_TIMEOUT_MS=10000 "${extra[@]}" \
      "${server_pin[@]}" "$java" ${FLOODGATE_JAVA_OPTS:-} -jar service/target/floodgate.jar >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 1 300); do grep -q "listening on" "$log" && break; kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  local port
  port=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$log")
  if [ -z "$port" ]; then echo "Floodgate did not start; its log:" >&2; cat "$log" >&2; exit 3; fi
  base="http://127.0.0.1:$port"
}

row() { # report.json mode multiple: one table row (scripts/lib/bench_row.py)
  python3 scripts/lib/bench_row.py "$@"
}

echo "capacity ${capacity}/s, ${duration} per run, ${connections} connections, ${backend}, $(nproc) cores${server_pin:+, server pinned: ${server_pin[*]}, generator: ${gen_pin[*]}}; reports in $out"
echo "| adm | load | offered/s | answered/s | goodput/s | admitted p99 ms | all p99 ms | shed % | not on time % | peak backlog | send delay p99 ms | 503/504/errors | timeouts | gen cores |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
for mode in $modes; do
  for mult in $loads; do
    tag="$mode-${mult}x-$$"
    run_server "$mode" "$tag"
    rate=$((capacity * mult))
    # warm both JITs at the capacity first, unrecorded
    "${gen_pin[@]}" "$java" -jar bench/target/floodgate-bench.jar -t "$base" --admin-token bench --sku "warm-$tag" --stock 1000000000 \
      --users 1000000 --per-user-limit 1000000 --rate "$capacity" -d "$warmup" --connections "$connections" \
      --retry-share 0 --timeout "$timeout" --no-verify --no-progress >/dev/null 2>&1 || true
    dir="$out/$tag"
    "${gen_pin[@]}" "$java" -jar bench/target/floodgate-bench.jar -t "$base" --admin-token bench --sku "load-$tag" --stock 1000000000 \
      --users 1000000 --per-user-limit 1000000 --rate "$rate" --connections "$connections" -d "$duration" \
      --warmup "$gen_warmup" --retry-share 0 --timeout "$timeout" --no-verify --no-progress --report-dir "$dir" \
      >"$dir.txt" 2>&1 || true
    if [ -f "$dir/report.json" ]; then row "$dir/report.json" "$mode" "$mult"; else echo "| $mode | ${mult}x | run failed: see $dir.txt |"; fi
    cleanup; pid=
  done
done
cat <<'EOF'

offered/s: the schedule's rate. answered/s: answers per second of the run. goodput/s: acknowledged (201/202)
orders per second. admitted p99: latency from the intended send time of every request that was not shed
(not 429 or 503 OVERLOADED); all p99: of every request. shed %: of the answers. not on time %: requests the
generator sent 10 ms or more after their due time, or never sent, of those due (its own queueing: when this
is high the generator, not the server, held the load back). peak backlog: most requests due and waiting for
a connection. send delay p99: due time to actual send. gen cores: the generator's CPU per second of the run.
EOF
