#!/usr/bin/env bash
# A private ZooKeeper and a private etcd for tests and local use: one server each, on 127.0.0.1
# only, from Debian's packages (zookeeper, etcd-server), with their data under .coordination/ in
# the repository root (git-ignored). Tuned for tests: ZooKeeper's tick is 100 ms (sessions from
# 200 ms to 60 s), etcd's heartbeat 10 ms and election timeout 100 ms (leases from 1 s).
#
# Usage: scripts/coordination.sh start [zk|etcd]   start both (or one), wait until they answer;
#                                                   prints, on stdout, lines to eval:
#                                                     export FLOODGATE_TEST_ZK=127.0.0.1:2181
#                                                     export FLOODGATE_TEST_ETCD=127.0.0.1:2379
#                                                   A no-op success for one already running.
#        scripts/coordination.sh stop [zk|etcd]    SIGTERM (SIGKILL after 20 s); no-op when down
#        scripts/coordination.sh status            exit 0 when both run and answer, 3 when one is
#                                                  not running, 1 when one runs but does not answer
#        scripts/coordination.sh address zk|etcd   host:port of the running server (exit 3 if down)
#        scripts/coordination.sh logs zk|etcd [N]  the server's log (last N lines, default 100)
#        scripts/coordination.sh clean             stop both and delete their data
#
#   eval "$(scripts/coordination.sh start)"   # then mvn test runs the ZooKeeper and etcd lock tests
#
# Environment (all optional):
#   ZK_PORT, ETCD_PORT, ETCD_PEER_PORT  ports (default 2181, 2379, 2380, or the first free one from
#                                       12181, 12379, 12380 up when taken)
#   COORDINATION_DIR                    state directory (default <repo>/.coordination)
#   ZK_JAVA_HOME                        JDK for ZooKeeper (default: the Java 25 bin/find-java finds,
#                                       else /usr/bin/java; ZooKeeper 3.8 runs on 17 and 25)
#   COORDINATION_START_TIMEOUT          seconds to wait for a server to answer (default 60)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dir=${COORDINATION_DIR:-$root/.coordination}
host=127.0.0.1
start_timeout=${COORDINATION_START_TIMEOUT:-60}

say() { echo "coordination: $*" >&2; }
die() { say "$*"; exit 1; }
now_ms() { date +%s%3N; }

port_taken() { ss -Hltn "( sport = :$1 )" 2>/dev/null | grep -q .; }
free_port() { # default fallback-start -> prints a port
  if ! port_taken "$1"; then echo "$1"; return; fi
  local p
  for p in $(seq "$2" $(($2 + 200))); do
    port_taken "$p" || { echo "$p"; return; }
  done
  die "no free port from $2 up"
}

await_up() { # name check-fn port pidfile log: until check-fn answers, the process exits, or the timeout
  local pid
  for _ in $(seq 1 $((start_timeout * 10))); do
    "$2" "$3" && return 0
    pid=$(cat "$4" 2>/dev/null || true)
    [ -n "$pid" ] && [ ! -e "/proc/$pid" ] && { tail -n 30 "$5" >&2; die "$1 exited during start-up"; }
    sleep 0.1
  done
  tail -n 30 "$5" >&2
  die "$1 did not answer on $host:$3 in ${start_timeout} s"
}

ours() { # pid marker -> 0 when the pid runs a command line containing the marker
  [[ "$1" =~ ^[0-9]+$ ]] && [ -r "/proc/$1/cmdline" ] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -qF -- "$2"
}

# --- ZooKeeper ------------------------------------------------------------------------------------

zk_dir=$dir/zookeeper
zk_cfg=$zk_dir/zoo.cfg
zk_ok() { # port -> 0 when the server serves: "srvr" answers "Mode: ..." (ruok answers "imok" as
  # soon as the port listens, before sessions are taken; a client turned away then backs off)
  timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1" && printf srvr >&3 && cat <&3' "$host" "$1" 2>/dev/null | grep -q "^Mode: "
}
zk_pid() { local p; p=$(cat "$zk_dir/pid" 2>/dev/null || true); ours "$p" "$zk_cfg" && echo "$p"; }

zk_start() {
  local pid port java t0
  if pid=$(zk_pid); then say "ZooKeeper already runs at $(cat "$zk_dir/address") (pid $pid)"; return; fi
  [ -r /usr/share/java/zookeeper.jar ] || die "no ZooKeeper: apt-get install -y zookeeper"
  if [ -n "${ZK_JAVA_HOME:-}" ]; then java=$ZK_JAVA_HOME/bin/java
  elif java=$("$root/bin/find-java" 2>/dev/null); then :
  else java=/usr/bin/java; fi
  port=${ZK_PORT:-$(free_port 2181 12181)}
  mkdir -p "$zk_dir/data"
  cat >"$zk_cfg" <<EOF
# Written by scripts/coordination.sh at every start; edits here are overwritten.
# A tick of 100 ms: sessions (the ZooKeeper lock's leases) from 2 ticks up, expired to the tick.
tickTime=100
minSessionTimeout=200
maxSessionTimeout=60000
dataDir=$zk_dir/data
clientPort=$port
clientPortAddress=$host
# tests open many sessions from one address
maxClientCnxns=0
admin.enableServer=false
4lw.commands.whitelist=ruok,srvr,stat,mntr,conf
autopurge.snapRetainCount=3
autopurge.purgeInterval=1
EOF
  t0=$(now_ms)
  # zookeeper.jar's manifest names its libraries in /usr/share/java; slf4j-simple logs to stderr
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$zk_dir/pid" "$java" -Xmx256m -XX:+UseSerialGC \
    -Dorg.slf4j.simpleLogger.showDateTime=true \
    "-Dorg.slf4j.simpleLogger.dateTimeFormat=yyyy-MM-dd HH:mm:ss.SSS" -Dzookeeper.jmx.log4j.disable=true \
    -cp "/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-simple.jar" \
    org.apache.zookeeper.server.ZooKeeperServerMain "$zk_cfg" </dev/null >>"$zk_dir/server.log" 2>&1 9>&- &
  await_up ZooKeeper zk_ok "$port" "$zk_dir/pid" "$zk_dir/server.log"
  echo "$host:$port" >"$zk_dir/address"
  say "ZooKeeper $(dpkg-query -W -f='${Version}' zookeeper 2>/dev/null || echo '?') up at $host:$port" \
      "in $(( $(now_ms) - t0 )) ms on $("$java" -version 2>&1 | head -n1); log: $zk_dir/server.log"
}

# --- etcd -----------------------------------------------------------------------------------------

etcd_dir=$dir/etcd
etcd_ok() { curl -fsS --max-time 2 "http://$host:$1/health" 2>/dev/null | grep -q '"health":"true"'; }
etcd_pid() { local p; p=$(cat "$etcd_dir/pid" 2>/dev/null || true); ours "$p" "--data-dir $etcd_dir/data" && echo "$p"; }

etcd_start() {
  local pid port peer t0
  if pid=$(etcd_pid); then say "etcd already runs at $(cat "$etcd_dir/address") (pid $pid)"; return; fi
  command -v etcd >/dev/null || die "no etcd: apt-get install -y etcd-server"
  mkdir -p "$etcd_dir"
  # A member's peer URL is written into its data at the first start: keep the ports it had.
  if [ -d "$etcd_dir/data/member" ] && [ -s "$etcd_dir/ports" ]; then
    read -r port peer <"$etcd_dir/ports"
    if port_taken "$port" || port_taken "$peer"; then
      die "etcd's ports $port/$peer (kept from its first start) are taken; free them or run: $0 clean"
    fi
  else
    rm -rf "$etcd_dir/data"
    port=${ETCD_PORT:-$(free_port 2379 12379)}
    peer=${ETCD_PEER_PORT:-$(free_port 2380 12380)}
    [ "$peer" != "$port" ] || peer=$(free_port $((port + 1)) 12381)
    echo "$port $peer" >"$etcd_dir/ports"
  fi
  t0=$(now_ms)
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$etcd_dir/pid" etcd --name floodgate-test \
    --data-dir "$etcd_dir/data" \
    --listen-client-urls "http://$host:$port" --advertise-client-urls "http://$host:$port" \
    --listen-peer-urls "http://$host:$peer" --initial-advertise-peer-urls "http://$host:$peer" \
    --initial-cluster "floodgate-test=http://$host:$peer" \
    --heartbeat-interval 10 --election-timeout 100 \
    --auto-compaction-mode revision --auto-compaction-retention 10000 \
    --logger zap --log-outputs stderr </dev/null >>"$etcd_dir/etcd.log" 2>&1 9>&- &
  await_up etcd etcd_ok "$port" "$etcd_dir/pid" "$etcd_dir/etcd.log"
  echo "$host:$port" >"$etcd_dir/address"
  say "etcd $(etcd --version | sed -n 's/^etcd Version: //p') up at $host:$port (peer $peer) in $(( $(now_ms) - t0 )) ms;" \
      "log: $etcd_dir/etcd.log"
}

# --- both -----------------------------------------------------------------------------------------

stop_pid() { # what pid
  local i
  kill -TERM "$2" 2>/dev/null || return 0
  for ((i = 0; i < 200; i++)); do [ -e "/proc/$2" ] || { say "$1 stopped (pid $2)"; return 0; }; sleep 0.1; done
  say "$1 (pid $2) still alive 20 s after SIGTERM; SIGKILL"
  kill -KILL "$2" 2>/dev/null || true
}

which_ones() { case "${1:-}" in zk) echo zk ;; etcd) echo etcd ;; '') echo zk etcd ;; *) die "zk or etcd, not '$1'" ;; esac; }

cmd_start() {
  local s
  for s in $(which_ones "${1:-}"); do "${s}_start"; done
  for s in $(which_ones "${1:-}"); do
    case $s in
      zk) echo "export FLOODGATE_TEST_ZK=$(cat "$zk_dir/address")" ;;
      etcd) echo "export FLOODGATE_TEST_ETCD=$(cat "$etcd_dir/address")" ;;
    esac
  done
}

cmd_stop() {
  local s pid
  for s in $(which_ones "${1:-}"); do
    if pid=$("${s}_pid"); then stop_pid "$s" "$pid"; else say "$s not running"; fi
    case $s in zk) rm -f "$zk_dir/pid" "$zk_dir/address" ;; etcd) rm -f "$etcd_dir/pid" "$etcd_dir/address" ;; esac
  done
}

cmd_status() {
  local status=0 pid addr
  if pid=$(zk_pid); then
    addr=$(cat "$zk_dir/address" 2>/dev/null || true)
    if zk_ok "${addr##*:}"; then say "ZooKeeper runs at $addr (pid $pid)"; else say "ZooKeeper (pid $pid) does not answer"; status=1; fi
  else say "ZooKeeper is not running"; status=3; fi
  if pid=$(etcd_pid); then
    addr=$(cat "$etcd_dir/address" 2>/dev/null || true)
    if etcd_ok "${addr##*:}"; then say "etcd runs at $addr (pid $pid)"; else say "etcd (pid $pid) does not answer"; [ $status = 3 ] || status=1; fi
  else say "etcd is not running"; status=3; fi
  return $status
}

cmd_address() {
  case "${1:-}" in
    zk) zk_pid >/dev/null || { say "ZooKeeper is not running"; return 3; }; cat "$zk_dir/address" ;;
    etcd) etcd_pid >/dev/null || { say "etcd is not running"; return 3; }; cat "$etcd_dir/address" ;;
    *) die "address zk|etcd" ;;
  esac
}

cmd_logs() {
  case "${1:-}" in
    zk) tail -n "${2:-100}" "$zk_dir/server.log" ;;
    etcd) tail -n "${2:-100}" "$etcd_dir/etcd.log" ;;
    *) die "logs zk|etcd [N]" ;;
  esac
}

cmd_clean() {
  cmd_stop
  rm -rf "$zk_dir/data" "$etcd_dir/data" "$etcd_dir/ports"
  say "deleted the data of both"
}

mkdir -p "$dir"
action=${1:-}
[ $# -gt 0 ] && shift
case "$action" in
  start | stop | clean)
    exec 9>"$dir/.lock"
    flock -w $((start_timeout * 2 + 60)) 9 || die "another scripts/coordination.sh holds $dir/.lock"
    "cmd_$action" "$@"
    ;;
  status | address | logs) "cmd_$action" "$@" ;;
  *)
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
