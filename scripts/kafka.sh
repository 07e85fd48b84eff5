#!/usr/bin/env bash
# A real single-node Kafka broker for tests and local use: KRaft, broker and controller in one
# process, listening on 127.0.0.1 only, built from Maven Central jars (no Docker, no Kafka install).
# Everything lives under .kafka/ in the repository root (git-ignored): libs/, data/, server.log.
#
# Usage: scripts/kafka.sh start     resolve the jars (once), format storage (once), start, wait
#                                   until the broker answers; prints host:port on stdout.
#                                   A no-op success when it already runs.
#        scripts/kafka.sh stop      SIGTERM, wait (SIGKILL after KAFKA_STOP_TIMEOUT); no-op when down
#        scripts/kafka.sh status    exit 0 when running and answering, 3 when not running, 1 when
#                                   running but not answering
#        scripts/kafka.sh address   host:port of the running broker (exit 3 when not running)
#        scripts/kafka.sh logs [-f|N]   the broker log (last N lines, default 100; -f follows)
#        scripts/kafka.sh topics ARGS   kafka-topics (TopicCommand) against the running broker,
#                                       e.g. topics --list, topics --describe --topic orders
#        scripts/kafka.sh consume ARGS  kafka-console-consumer against the running broker,
#                                       e.g. consume --topic floodgate.orders.dlq --from-beginning
#        scripts/kafka.sh clean     stop and delete the data (topics, offsets); keeps the jars
#
# Environment (all optional):
#   KAFKA_PORT             PLAINTEXT port. Default 9092, or the first free port from 19092 up when
#                          9092 is taken. When set explicitly and taken, start fails.
#   KAFKA_CONTROLLER_PORT  CONTROLLER port; default 9093, or a free one; same rule.
#   KAFKA_DIR              state directory (default <repo>/.kafka)
#   KAFKA_JAVA_HOME        JDK to run Kafka and Maven with (default: the Java 25 bin/find-java finds)
#   KAFKA_HEAP             heap flags (default -Xmx512m)
#   KAFKA_OPTS             extra JVM flags
#   KAFKA_CDS              1 (default): class-data-sharing archive .kafka/kafka.jsa; 0: none
#   KAFKA_START_TIMEOUT    seconds to wait for the broker to answer (default 90)
#   KAFKA_STOP_TIMEOUT     seconds to wait after SIGTERM before SIGKILL (default 30)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dir=${KAFKA_DIR:-$root/.kafka}
libs=$dir/libs
data=$dir/data
pom=$root/scripts/kafka/pom.xml
props=$dir/server.properties
pidfile=$dir/kafka.pid
addrfile=$dir/bootstrap
log=$dir/server.log  # log4j output of the broker
out=$dir/kafka.out   # the JVM's own stdout/stderr: crashes, JVM warnings
host=127.0.0.1
start_timeout=${KAFKA_START_TIMEOUT:-90}
stop_timeout=${KAFKA_STOP_TIMEOUT:-30}

say() { echo "kafka: $*" >&2; }
die() { say "$*"; exit 1; }
now_ms() { date +%s%3N; }
secs_since() { local t=$(( $(now_ms) - $1 )); printf '%d.%01d' $((t / 1000)) $((t % 1000 / 100)); }

pick_java() {
  if [ -n "${KAFKA_JAVA_HOME:-}" ]; then
    java_home=$KAFKA_JAVA_HOME
    [ -x "$java_home/bin/java" ] || die "KAFKA_JAVA_HOME=$java_home has no bin/java"
  else
    # the Java 25 Floodgate runs on, found as bin/floodgate finds it
    java_home=$("$root/bin/find-java" --home) || die "no Java to run the broker on (see above), or set KAFKA_JAVA_HOME (Kafka 4.1 needs Java 17 or later)"
  fi
  java=$java_home/bin/java
  local major
  major=$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$java_home/release" 2>/dev/null || true)
  jdk_flags=()
  # JDK 24+ warns when Kafka calls sun.misc.Unsafe::invokeCleaner; the flag exists from 24 only.
  if [ "${major:-0}" -ge 24 ]; then jdk_flags+=(--sun-misc-unsafe-memory-access=allow); fi
  # Class data sharing for the broker's 93 jars (JDK 19+): the first run writes .kafka/kafka.jsa
  # at exit, later starts map it; the JVM rebuilds it by itself when the jars change.
  cds_flags=()
  if [ "${major:-0}" -ge 19 ] && [ "${KAFKA_CDS:-1}" = 1 ]; then
    cds_flags=(-XX:+AutoCreateSharedArchive -XX:SharedArchiveFile="$dir/kafka.jsa" -Xlog:cds=error)
  fi
}

# --- jars ---------------------------------------------------------------------------------------

ensure_libs() {
  local want t0
  want=$(sha256sum "$pom" | cut -c1-64)
  if [ -f "$libs/.resolved" ] && [ "$(cat "$libs/.resolved")" = "$want" ]; then return 0; fi
  command -v mvn >/dev/null || die "mvn is not on PATH; Maven resolves the Kafka jars from Maven Central"
  say "resolving the Kafka jars from Maven Central into $libs (once; about 54 MB)"
  t0=$(now_ms)
  rm -rf "$libs.tmp"
  local mopts=${MAVEN_OPTS:-}
  case " $mopts " in *" ${jdk_flags[*]:-} "*) ;; *) mopts="$mopts ${jdk_flags[*]:-}" ;; esac
  # Maven's output goes to stderr: stdout carries only the address (FLOODGATE_TEST_KAFKA=$(... start))
  # (Maven 3.8 -q prints bare colour resets even in batch mode; sed drops them.)
  JAVA_HOME=$java_home MAVEN_OPTS=$mopts mvn -q -B -ntp -Dstyle.color=never -f "$pom" \
      dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$libs.tmp" 2>&1 \
      | sed 's/\x1b\[[0-9;]*m//g' >&2 \
    || die "could not resolve the Kafka jars (see Maven's output above)"
  ls "$libs.tmp"/kafka_2.13-*.jar "$libs.tmp"/log4j-slf4j-impl-*.jar >/dev/null 2>&1 \
    || die "Maven ran but $libs.tmp lacks kafka_2.13 or log4j-slf4j-impl"
  echo "$want" >"$libs.tmp/.resolved"
  rm -rf "$libs" "$dir/kafka.jsa"
  mv "$libs.tmp" "$libs"
  say "resolved $(ls "$libs" | grep -c '\.jar$') jars in $(secs_since "$t0") s"
}

# --- ports --------------------------------------------------------------------------------------

listening_ports() { # every TCP port something listens on, any address
  if command -v ss >/dev/null; then
    ss -Hltn | awk '{n = split($4, a, ":"); print a[n]}' | sort -un
  fi
}
port_taken() { # port
  if command -v ss >/dev/null; then
    listening_ports | grep -qx "$1"
  else
    (exec 3<>"/dev/tcp/$host/$1") 2>/dev/null
  fi
}
port_holder() { # port -> a line naming the listener, when the system tells
  ss -Hltnp "( sport = :$1 )" 2>/dev/null | head -n1 | awk '{print $4, $6}'
}
choose_port() { # what-for, explicit-value-or-empty, default, avoid -> prints the port
  local what=$1 explicit=$2 default=$3 avoid=$4 p
  if [ -n "$explicit" ]; then
    [[ "$explicit" =~ ^[0-9]+$ ]] && [ "$explicit" -ge 1 ] && [ "$explicit" -le 65535 ] \
      || die "$what port '$explicit' is not a port number"
    if port_taken "$explicit" || [ "$explicit" = "$avoid" ]; then
      die "$what port $explicit (set explicitly) is taken: $(port_holder "$explicit"); choose another one or unset it to let this script pick a free port"
    fi
    echo "$explicit"; return
  fi
  if ! port_taken "$default" && [ "$default" != "$avoid" ]; then echo "$default"; return; fi
  for p in $(seq $((default + 10000)) $((default + 10200))); do
    if ! port_taken "$p" && [ "$p" != "$avoid" ]; then
      say "$what port $default is taken ($(port_holder "$default")); using $p instead"
      echo "$p"; return
    fi
  done
  die "no free $what port near $((default + 10000))"
}

# --- process ------------------------------------------------------------------------------------

ours() { # pid -> 0 when it is a Kafka started with our server.properties (not a reused pid)
  [[ "$1" =~ ^[0-9]+$ ]] && [ -r "/proc/$1/cmdline" ] \
    && tr '\0' ' ' <"/proc/$1/cmdline" | grep -qF -- "kafka.Kafka $props"
}
running_pid() { # prints the broker's pid when our broker runs
  local pid
  pid=$(cat "$pidfile" 2>/dev/null || true)
  if ! ours "$pid"; then
    # the pid file is gone or stale; a broker on our server.properties may still run
    pid=$(pgrep -f -- "kafka.Kafka $props" 2>/dev/null | head -n1 || true)
    ours "$pid" || return 1
    echo "$pid" >"$pidfile"
  fi
  if [ ! -s "$addrfile" ]; then
    sed -n 's|^advertised.listeners=PLAINTEXT://||p' "$props" >"$addrfile"
  fi
  echo "$pid"
}

# Answers 0 when the broker on $1 answers a Kafka Metadata request (v4, all topics) with a broker
# list of at least one: the listener is bound, request processing is on (that happens at the end
# of broker start-up, after the broker registered with the controller and was unfenced), and
# metadata is served. Bash and od only: no JVM to start.
metadata_ok() { # port
  local hex
  hex=$(timeout 3 bash -c '
      exec 3<>"/dev/tcp/$0/$1" || exit 1
      # size 23 | api key 3 (Metadata) | version 4 | correlation id 42 | client id "kafka.sh"
      # | topics: null (all) | allow_auto_topic_creation: false
      printf "\x00\x00\x00\x17\x00\x03\x00\x04\x00\x00\x00\x2a\x00\x08kafka.sh\xff\xff\xff\xff\x00" >&3
      head -c 16 <&3' "$host" "$1" 2>/dev/null | od -An -v -tx1 | tr -d ' \n') || return 1
  # response: size(4) correlation id(4) throttle_time_ms(4) brokers count(4)
  [ "${#hex}" -eq 32 ] && [ "${hex:8:8}" = 0000002a ] && [ $((16#${hex:24:8})) -ge 1 ]
}

rss_mb() { awk '/^VmRSS:/ {printf "%d", $2 / 1024}' "/proc/$1/status" 2>/dev/null || echo "?"; }

write_config() { # port controller-port
  mkdir -p "$data"
  cat >"$props" <<EOF
# Written by scripts/kafka.sh at every start; edits here are overwritten.
# One process is both broker and KRaft controller (a single-node cluster for tests and local use).
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$host:$2
listeners=PLAINTEXT://$host:$1,CONTROLLER://$host:$2
advertised.listeners=PLAINTEXT://$host:$1
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$data

# One replica of everything: there is one broker.
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
default.replication.factor=1
min.insync.replicas=1

# Topics are created on purpose (AdminClient, kafka-topics), never by a producer or consumer
# naming one: the order log's partition count fixes which partition each item lands on, so it
# must not silently become num.partitions because a misspelt or early client asked first.
auto.create.topics.enable=false
# Default for topics created without a partition count (6: a few consumers per group can share).
num.partitions=6

# Consumer groups form at once instead of waiting 3 s for more members (tests join one by one).
group.initial.rebalance.delay.ms=0
# Keep a dev disk small: a week at most, 1 GiB per partition at most, 64 MiB segments.
log.retention.hours=168
log.retention.bytes=1073741824
log.segment.bytes=67108864
EOF
  cat >"$dir/log4j2.xml" <<'EOF'
<?xml version="1.0" encoding="UTF-8"?>
<!-- Written by scripts/kafka.sh. Kafka 4.1 logs through slf4j 1.7 -> log4j-slf4j-impl -> log4j 2. -->
<Configuration status="warn">
  <Appenders>
    <RollingFile name="file" fileName="${sys:kafka.logs.dir}/server.log"
                 filePattern="${sys:kafka.logs.dir}/server.log.%i">
      <PatternLayout pattern="[%d] %p %m (%c)%n"/>
      <SizeBasedTriggeringPolicy size="20 MB"/>
      <DefaultRolloverStrategy max="3"/>
    </RollingFile>
  </Appenders>
  <Loggers>
    <Root level="INFO"><AppenderRef ref="file"/></Root>
    <Logger name="kafka.request.logger" level="WARN"/>
    <Logger name="kafka.network.RequestChannel$" level="WARN"/>
  </Loggers>
</Configuration>
EOF
  cat >"$dir/tools-log4j2.xml" <<'EOF'
<?xml version="1.0" encoding="UTF-8"?>
<!-- Written by scripts/kafka.sh: the command-line tools log warnings only, to stderr. -->
<Configuration status="warn">
  <Appenders><Console name="err" target="SYSTEM_ERR"><PatternLayout pattern="%p %m (%c)%n"/></Console></Appenders>
  <Loggers><Root level="WARN"><AppenderRef ref="err"/></Root></Loggers>
</Configuration>
EOF
}

run_tool() { # main-class args...
  "$java" "${jdk_flags[@]}" -Xmx256m -Dlog4j2.configurationFile="$dir/tools-log4j2.xml" \
    -cp "$libs/*" "$@"
}

ensure_formatted() {
  [ -f "$data/meta.properties" ] && return 0
  local t0 id
  t0=$(now_ms)
  if [ -s "$dir/cluster.id" ]; then
    id=$(cat "$dir/cluster.id")
  else
    id=$(run_tool kafka.tools.StorageTool random-uuid) || die "StorageTool random-uuid failed"
    echo "$id" >"$dir/cluster.id"
  fi
  run_tool kafka.tools.StorageTool format -t "$id" -c "$props" --ignore-formatted >&2 \
    || die "formatting $data failed"
  say "formatted $data (cluster id $id) in $(secs_since "$t0") s"
}

stop_pid() { # pid
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < stop_timeout * 10; i++)); do
    [ -e "/proc/$pid" ] || return 0
    sleep 0.1
  done
  say "pid $pid still alive ${stop_timeout} s after SIGTERM; sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do [ -e "/proc/$pid" ] || return 0; sleep 0.1; done
}

show_failure() { # log-offset out-offset
  say "--- $log (this start, last 40 lines) ---"
  tail -c +$(($1 + 1)) "$log" 2>/dev/null | tail -n 40 >&2 || true
  say "--- $out (this start, last 20 lines) ---"
  tail -c +$(($2 + 1)) "$out" 2>/dev/null | tail -n 20 >&2 || true
}

# --- commands -----------------------------------------------------------------------------------

cmd_start() {
  local pid t0 port cport offset out_offset
  if pid=$(running_pid); then
    local addr; addr=$(cat "$addrfile")
    if [ -n "${KAFKA_PORT:-}" ] && [ "$addr" != "$host:$KAFKA_PORT" ]; then
      say "already running at $addr (pid $pid); KAFKA_PORT=$KAFKA_PORT ignored (stop it first to move it)"
    else
      say "already running at $addr (pid $pid)"
    fi
    echo "$addr"; return 0
  fi
  t0=$(now_ms)
  pick_java
  ensure_libs
  port=$(choose_port PLAINTEXT "${KAFKA_PORT:-}" 9092 "")
  cport=$(choose_port CONTROLLER "${KAFKA_CONTROLLER_PORT:-}" 9093 "$port")
  write_config "$port" "$cport"
  ensure_formatted

  offset=$(stat -c %s "$log" 2>/dev/null || echo 0)
  out_offset=$(stat -c %s "$out" 2>/dev/null || echo 0)
  local t1; t1=$(now_ms)
  rm -f "$pidfile" "$addrfile"
  # setsid: the broker leaves the caller's session and process group, so it outlives the caller
  # (and Ctrl-C there) until `stop`. The inner shell writes its own pid and execs Java in place.
  # shellcheck disable=SC2016
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$pidfile" \
    "$java" "${jdk_flags[@]}" "${cds_flags[@]}" ${KAFKA_HEAP:--Xmx512m} \
    -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
    -XX:+ExplicitGCInvokesConcurrent -XX:ErrorFile="$dir/hs_err_pid%p.log" -Djava.awt.headless=true \
    -Dkafka.logs.dir="$dir" -Dlog4j2.configurationFile="$dir/log4j2.xml" ${KAFKA_OPTS:-} \
    -cp "$libs/*" kafka.Kafka "$props" </dev/null >>"$out" 2>&1 9>&- &
  for _ in $(seq 1 500); do [ -s "$pidfile" ] && break; sleep 0.02; done
  pid=$(cat "$pidfile" 2>/dev/null || true)
  [ -n "$pid" ] || die "the broker did not start (no pid after 10 s); see $out"

  local deadline=$((t1 + start_timeout * 1000))
  while ! metadata_ok "$port"; do
    if [ ! -e "/proc/$pid" ]; then
      show_failure "$offset" "$out_offset"
      rm -f "$pidfile"
      die "the broker (pid $pid) exited during start-up; log above"
    fi
    if [ "$(now_ms)" -ge "$deadline" ]; then
      show_failure "$offset" "$out_offset"
      stop_pid "$pid"
      rm -f "$pidfile"
      die "the broker (pid $pid) did not answer on $host:$port within ${start_timeout} s; stopped it; log above"
    fi
    sleep 0.2
  done
  echo "$host:$port" >"$addrfile"
  say "up at $host:$port (controller $host:$cport), pid $pid, answering after $(secs_since "$t1") s" \
      "($(secs_since "$t0") s in all), RSS $(rss_mb "$pid") MB; log: $log"
  echo "$host:$port"
}

cmd_stop() {
  local pid t0
  if ! pid=$(running_pid); then
    say "not running"
    rm -f "$pidfile" "$addrfile"
    return 0
  fi
  t0=$(now_ms)
  stop_pid "$pid"
  rm -f "$pidfile" "$addrfile"
  say "stopped pid $pid in $(secs_since "$t0") s"
}

cmd_status() {
  local pid addr
  if ! pid=$(running_pid); then say "not running"; return 3; fi
  addr=$(cat "$addrfile" 2>/dev/null || true)
  if [ -n "$addr" ] && metadata_ok "${addr##*:}"; then
    say "running at $addr, pid $pid, RSS $(rss_mb "$pid") MB, up since $(ps -o lstart= -p "$pid")"
    return 0
  fi
  say "pid $pid runs but ${addr:-the broker} does not answer Metadata (starting, or stuck: scripts/kafka.sh logs)"
  return 1
}

cmd_address() {
  running_pid >/dev/null || { say "not running"; return 3; }
  cat "$addrfile"
}

cmd_logs() {
  [ -f "$log" ] || die "no log yet at $log"
  case "${1:-}" in
    -f) tail -n 50 -F "$log" ;;
    '') tail -n 100 "$log" ;;
    *) tail -n "$1" "$log" ;;
  esac
}

cmd_topics() {
  local addr
  addr=$(cmd_address) || exit 3
  pick_java
  run_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$addr" "$@"
}

cmd_consume() {
  local addr
  addr=$(cmd_address) || exit 3
  pick_java
  run_tool org.apache.kafka.tools.consumer.ConsoleConsumer --bootstrap-server "$addr" "$@"
}

cmd_clean() {
  cmd_stop
  rm -rf "$data" "$dir/cluster.id"
  say "deleted $data"
}

mkdir -p "$dir"
action=${1:-}
[ $# -gt 0 ] && shift
case "$action" in
  start | stop | clean)
    # one start/stop at a time per state directory
    exec 9>"$dir/.lock"
    flock -w $((start_timeout + stop_timeout + 120)) 9 || die "another scripts/kafka.sh holds $dir/.lock"
    "cmd_$action"
    ;;
  status | address | logs | topics | consume) "cmd_$action" "$@" ;;
  *)
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
