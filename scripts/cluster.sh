#!/usr/bin/env bash
# A local Floodgate cluster behind the nginx front door (deploy/nginx/): Kafka, N instances in
# distributed mode (the Redis ledger on 127.0.0.1:6379, the Kafka order log, a MariaDB order store
# on 127.0.0.1:3306 as root without password), and nginx in front with a private config and prefix
# under the cluster's folder (the system's nginx config is never read or touched).
#
# Usage: scripts/cluster.sh up N [--no-limits]  start what is not running, so that N instances
#                                                serve behind nginx; prints the front door's URL on
#                                                stdout. Idempotent: an instance that runs is kept,
#                                                instances beyond N are stopped, nginx reloads.
#        scripts/cluster.sh down [--purge]       stop nginx, the instances, and Kafka if this script
#                                                started it; --purge also drops the database, the
#                                                Redis keys and the folder. A no-op when down.
#        scripts/cluster.sh status               what runs (exit 0 when nginx and every instance do)
#        scripts/cluster.sh url | token          the front door's URL; the admin token
#
# Environment (all optional):
#   CLUSTER_DIR          state folder (default <repo>/.cluster; git-ignored)
#   CLUSTER_PORT         nginx's port (default 8088, or the first free one from 18088 when taken)
#   CLUSTER_KAFKA        bootstrap of a Kafka broker to use (default: scripts/kafka.sh start, which
#                        reuses this checkout's broker or starts one, on 9092 or a free port)
#   CLUSTER_DB           MariaDB database (default fgc_<cluster id>, created when missing)
#   CLUSTER_LAUNCHER     command that runs Floodgate (default bin/floodgate); given "serve"
#   NGINX_LIMITS         on (default) | off: the front door's limit_req / limit_conn
#   NGINX_ORDER_RATE     order placements per second for the whole cluster (default 2000)
#   NGINX_ORDER_BURST    placements above the rate let through at once (default 200)
#   NGINX_CLIENT_RATE    /api/ requests per second per client address (default 20000)
#   NGINX_CLIENT_BURST   (default 2000)
#   NGINX_MAX_CONN       requests in flight through nginx, past which 503 (default 4096)
#   NGINX_WORKERS        worker processes (default 1: two shared cores here)
#   NGINX_ACCESS_LOG     on (default) | off
#   FLOODGATE_*          passed to every instance (e.g. FLOODGATE_JAVA_OPTS, FLOODGATE_USER_RATE);
#                        the store, ledger, log, host, port, token and instance count are set here
#   FLOODGATE_ADMIN_TOKEN  the admin token (default: generated once, kept in CLUSTER_DIR/token)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dir=${CLUSTER_DIR:-$root/.cluster}
case "$dir" in /*) ;; *) dir=$(pwd)/$dir ;; esac
state=$dir/cluster.env
ngx=$dir/nginx
host=127.0.0.1
start_timeout=${CLUSTER_START_TIMEOUT:-180}

say() { echo "cluster: $*" >&2; }
die() { say "$*"; exit 1; }

nginx_bin() {
  command -v nginx 2>/dev/null || { [ -x /usr/sbin/nginx ] && echo /usr/sbin/nginx; } || return 1
}

port_taken() { ss -Hltn 2>/dev/null | awk '{n = split($4, a, ":"); print a[n]}' | grep -qx "$1"; }

free_port() { # preferred, then from fallback up
  local p
  if ! port_taken "$1"; then echo "$1"; return; fi
  for p in $(seq "$2" $(($2 + 500))); do port_taken "$p" || { echo "$p"; return; }; done
  die "no free port from $2"
}

# ---- state ------------------------------------------------------------------------------------

load_state() {
  if [ -f "$state" ]; then
    # shellcheck disable=SC1090
    . "$state"
    return 0
  fi
  return 1
}

new_state() {
  local id
  id=$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
  mkdir -p "$dir"
  cluster_id=$id
  cluster_db=${CLUSTER_DB:-fgc_$id}
  cluster_namespace=fgc_$id
  cluster_topic=fgc-$id
  kafka_bootstrap=
  kafka_ours=0
  nginx_port=
  save_state
  if [ -n "${FLOODGATE_ADMIN_TOKEN:-}" ]; then
    printf '%s\n' "$FLOODGATE_ADMIN_TOKEN" >"$dir/token"
  elif [ ! -s "$dir/token" ]; then
    od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$dir/token"
    echo >>"$dir/token"
  fi
  chmod 600 "$dir/token"
}

save_state() {
  cat >"$state.tmp" <<EOF
# Written by scripts/cluster.sh.
cluster_id=$cluster_id
cluster_db=$cluster_db
cluster_namespace=$cluster_namespace
cluster_topic=$cluster_topic
kafka_bootstrap=$kafka_bootstrap
kafka_ours=$kafka_ours
nginx_port=$nginx_port
EOF
  mv "$state.tmp" "$state"
}

# ---- processes --------------------------------------------------------------------------------

# An instance is ours when its environment names its folder (pids get reused).
instance_pid() { # index -> pid when it runs
  local f=$dir/instances/$1 pid
  pid=$(cat "$f/pid" 2>/dev/null || true)
  [[ "$pid" =~ ^[0-9]+$ ]] && [ -r "/proc/$pid/environ" ] \
    && tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qxF "CLUSTER_SH_INSTANCE=$f" \
    && echo "$pid"
}

nginx_pid() {
  local pid
  pid=$(cat "$ngx/nginx.pid" 2>/dev/null || true)
  [[ "$pid" =~ ^[0-9]+$ ]] && [ -r "/proc/$pid/cmdline" ] \
    && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$ngx" && echo "$pid"
}

stop_pid() { # pid what [timeout-seconds]
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < ${3:-30} * 10; i++)); do
    [ -e "/proc/$pid" ] || return 0
    sleep 0.1
  done
  say "$2 (pid $pid) still alive after SIGTERM; SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
}

instance_port() { sed -n 's|^Floodgate listening on http://[^ ]*:\([0-9]*\).*|\1|p' "$dir/instances/$1/out.log" 2>/dev/null | tail -n1; }

start_instance() { # index count
  local i=$1 n=$2 f=$dir/instances/$1 launcher
  launcher=${CLUSTER_LAUNCHER:-$root/bin/floodgate}
  mkdir -p "$f/data"
  rm -f "$f/pid" "$f/port" # a stopped instance's: wait_instance must not read them as this one's
  : >"$f/out.log"
  # setsid: the instance outlives this script until `down`. The inner shell writes its pid and
  # execs the launcher, which execs java: the pid is the JVM's. 9>&-: it must not inherit the
  # lock, or every later up or down would wait for it.
  # shellcheck disable=SC2016
  CLUSTER_SH_INSTANCE=$f \
  FLOODGATE_HOST=$host FLOODGATE_PORT=0 FLOODGATE_DATA_DIR="$f/data" \
  FLOODGATE_ADMIN_TOKEN=$(cat "$dir/token") \
  FLOODGATE_DB_URL="jdbc:mariadb://$host:3306/$cluster_db" FLOODGATE_DB_USER=root FLOODGATE_DB_PASSWORD= \
  FLOODGATE_REDIS_URL="redis://$host:6379/0" FLOODGATE_REDIS_NAMESPACE=$cluster_namespace \
  FLOODGATE_KAFKA_BOOTSTRAP=$kafka_bootstrap FLOODGATE_KAFKA_TOPIC=$cluster_topic \
  FLOODGATE_KAFKA_GROUP=$cluster_topic-writers FLOODGATE_INSTANCES=$n \
  FLOODGATE_JAVA_OPTS=${FLOODGATE_JAVA_OPTS:--Xmx512m} \
    setsid bash -c 'echo $$ >"$0"; exec "$@"' "$f/pid" $launcher serve </dev/null >>"$f/out.log" 2>&1 9>&- &
}

wait_instance() { # index deadline-epoch
  local i=$1 f=$dir/instances/$1 port
  while :; do
    port=$(instance_port "$i")
    if [ -n "$port" ] && curl -fsS --max-time 2 "http://$host:$port/health/ready" >/dev/null 2>&1; then
      echo "$port" >"$f/port"
      return 0
    fi
    if [ -z "$(instance_pid "$i")" ] && [ -s "$f/pid" ]; then
      say "instance $i exited during start-up; the end of $f/out.log:"
      tail -n 30 "$f/out.log" >&2
      return 1
    fi
    if [ "$(date +%s)" -ge "$2" ]; then
      say "instance $i did not become ready within ${start_timeout} s; the end of $f/out.log:"
      tail -n 30 "$f/out.log" >&2
      return 1
    fi
    sleep 0.5
  done
}

# ---- nginx ------------------------------------------------------------------------------------

render_nginx() { # count
  local n=$1 i servers="" limits=${NGINX_LIMITS:-on} order_limits api_limits access user_directive
  for ((i = 1; i <= n; i++)); do
    servers+="        server $host:$(cat "$dir/instances/$i/port") max_fails=3 fail_timeout=5s;"$'\n'
  done
  if [ "$limits" = on ]; then
    order_limits="limit_req zone=fg_orders burst=${NGINX_ORDER_BURST:-200} nodelay; limit_req zone=fg_clients burst=${NGINX_CLIENT_BURST:-2000} nodelay; limit_conn fg_conn ${NGINX_MAX_CONN:-4096};"
    api_limits="limit_req zone=fg_clients burst=${NGINX_CLIENT_BURST:-2000} nodelay; limit_conn fg_conn ${NGINX_MAX_CONN:-4096};"
  elif [ "$limits" = off ]; then
    order_limits="# NGINX_LIMITS=off: no limit_req / limit_conn"
    api_limits=$order_limits
  else
    die "NGINX_LIMITS is '$limits'; on or off"
  fi
  if [ "${NGINX_ACCESS_LOG:-on}" = on ]; then
    access="access_log $ngx/logs/access.log floodgate buffer=64k flush=1s;"
  else
    access="access_log off;"
  fi
  # As root, workers run as root too: the prefix lives in the checkout, where the default user
  # (nobody) may not write its temp files.
  user_directive=""
  [ "$(id -u)" = 0 ] && user_directive="user root;"
  mkdir -p "$ngx/logs" "$ngx/temp"
  FG_WORKERS=${NGINX_WORKERS:-1} FG_PREFIX=$ngx FG_USER_DIRECTIVE=$user_directive FG_ACCESS_LOG=$access \
  FG_ORDER_RATE=${NGINX_ORDER_RATE:-2000} FG_CLIENT_RATE=${NGINX_CLIENT_RATE:-20000} \
  FG_UPSTREAM_SERVERS=$servers FG_LISTEN="$host:$nginx_port" \
  FG_ORDER_LIMITS=$order_limits FG_API_LIMITS=$api_limits \
    envsubst '${FG_WORKERS} ${FG_PREFIX} ${FG_USER_DIRECTIVE} ${FG_ACCESS_LOG} ${FG_ORDER_RATE} ${FG_CLIENT_RATE} ${FG_UPSTREAM_SERVERS} ${FG_LISTEN} ${FG_ORDER_LIMITS} ${FG_API_LIMITS}' \
    <"$root/deploy/nginx/floodgate.conf.template" >"$ngx/nginx.conf.new"
  "$nginx" -t -q -p "$ngx" -c "$ngx/nginx.conf.new" -e "$ngx/logs/error.log" \
    || die "nginx refused the rendered config $ngx/nginx.conf.new (above)"
  mv "$ngx/nginx.conf.new" "$ngx/nginx.conf"
}

start_or_reload_nginx() {
  local pid
  if pid=$(nginx_pid); then
    "$nginx" -p "$ngx" -c "$ngx/nginx.conf" -e "$ngx/logs/error.log" -s reload 9>&-
    say "nginx (pid $pid) reloaded"
  else
    rm -f "$ngx/nginx.pid"
    "$nginx" -p "$ngx" -c "$ngx/nginx.conf" -e "$ngx/logs/error.log" 9>&- || die "nginx did not start; see $ngx/logs/error.log"
    say "nginx started (pid $(cat "$ngx/nginx.pid"))"
  fi
}

# ---- commands ---------------------------------------------------------------------------------

cmd_up() {
  local n=${1:-}
  [[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] && [ "$n" -le 32 ] || die "usage: scripts/cluster.sh up N (1-32 instances)"
  [ "${2:-}" = --no-limits ] && export NGINX_LIMITS=off
  nginx=$(nginx_bin) || die "nginx is not installed (Debian: apt-get install nginx)"
  command -v envsubst >/dev/null || die "envsubst is missing (Debian: apt-get install gettext-base)"
  command -v curl >/dev/null || die "curl is missing"

  if ! redis-cli -h $host -p 6379 ping >/dev/null 2>&1 || ! mariadb-admin -h $host -u root ping >/dev/null 2>&1; then
    say "Redis or MariaDB does not answer; scripts/services.sh ensure"
    "$root/scripts/services.sh" ensure >&2 || die "the backing services did not come up"
  fi
  load_state || new_state

  # Kafka: the broker named, or this checkout's own (started here, and stopped by down, only when
  # it was not already running).
  if [ -n "${CLUSTER_KAFKA:-}" ]; then
    kafka_bootstrap=$CLUSTER_KAFKA
    kafka_ours=0
  elif [ "$kafka_ours" != 1 ] || ! "$root/scripts/kafka.sh" status >/dev/null 2>&1; then
    if "$root/scripts/kafka.sh" status >/dev/null 2>&1; then
      kafka_ours=0
    else
      kafka_ours=1
    fi
    kafka_bootstrap=$("$root/scripts/kafka.sh" start 9>&-) || die "Kafka did not start"
  fi
  save_state

  mariadb -h $host -u root -e "CREATE DATABASE IF NOT EXISTS \`$cluster_db\`" \
    || die "cannot create database $cluster_db on MariaDB $host:3306 as root"

  # Instances beyond N stop; missing ones start, all at once; then every one must be ready.
  local i pid deadline started=()
  for f in "$dir"/instances/*; do
    [ -d "$f" ] || continue
    i=${f##*/}
    if [ "$i" -gt "$n" ]; then
      if pid=$(instance_pid "$i"); then
        say "stopping instance $i (pid $pid): scaling to $n"
        stop_pid "$pid" "instance $i" 60
      fi
      rm -rf "$f"
    fi
  done
  for ((i = 1; i <= n; i++)); do
    if ! instance_pid "$i" >/dev/null; then
      start_instance "$i" "$n"
      started+=("$i")
    fi
  done
  deadline=$(($(date +%s) + start_timeout))
  for ((i = 1; i <= n; i++)); do
    wait_instance "$i" "$deadline" || die "instance $i did not start (scripts/cluster.sh down stops the rest)"
  done
  [ ${#started[@]} -gt 0 ] && say "started instance(s) ${started[*]}"

  if [ -z "$nginx_port" ] || { ! nginx_pid >/dev/null && port_taken "$nginx_port"; }; then
    nginx_port=$(free_port "${CLUSTER_PORT:-8088}" 18088)
    save_state
  fi
  render_nginx "$n"
  start_or_reload_nginx
  local url=http://$host:$nginx_port ok=
  for _ in $(seq 1 100); do
    if curl -fsS --max-time 2 "$url/health/ready" >/dev/null 2>&1; then ok=1; break; fi
    sleep 0.1
  done
  [ -n "$ok" ] || die "nginx at $url does not answer /health/ready; see $ngx/logs/error.log"
  say "up: $n instance(s) on ports $(for ((i = 1; i <= n; i++)); do printf '%s ' "$(cat "$dir/instances/$i/port")"; done)behind nginx at $url" \
      "(limits ${NGINX_LIMITS:-on}); Kafka $kafka_bootstrap, MariaDB database $cluster_db, Redis namespace $cluster_namespace;" \
      "admin token: scripts/cluster.sh token"
  echo "$url"
}

cmd_down() {
  local purge=${1:-} pid f
  if ! load_state; then
    say "not running (no $state)"
    [ "$purge" = --purge ] && rm -rf "$dir"
    return 0
  fi
  if pid=$(nginx_pid); then
    stop_pid "$pid" nginx 10
    say "nginx stopped"
  fi
  for f in "$dir"/instances/*; do
    [ -d "$f" ] || continue
    if pid=$(instance_pid "${f##*/}"); then
      stop_pid "$pid" "instance ${f##*/}" 60 &
    fi
  done
  wait
  say "instances stopped"
  if [ "$kafka_ours" = 1 ]; then
    "$root/scripts/kafka.sh" stop
    kafka_ours=0
    save_state
  fi
  if [ "$purge" = --purge ]; then
    mariadb -h $host -u root -e "DROP DATABASE IF EXISTS \`$cluster_db\`" || say "could not drop database $cluster_db"
    redis-cli -h $host -p 6379 --scan --pattern "$cluster_namespace:*" | xargs -r -n 500 redis-cli -h $host -p 6379 unlink >/dev/null \
      || say "could not delete the Redis keys $cluster_namespace:*"
    say "purged database $cluster_db and Redis keys $cluster_namespace:* (Kafka topics $cluster_topic* stay on $kafka_bootstrap)"
    rm -rf "$dir"
  fi
}

cmd_status() {
  local status=0 pid f
  load_state || { say "not running"; return 3; }
  if pid=$(nginx_pid); then
    say "nginx: pid $pid at http://$host:$nginx_port"
  else
    say "nginx: not running"; status=1
  fi
  for f in "$dir"/instances/*; do
    [ -d "$f" ] || continue
    if pid=$(instance_pid "${f##*/}"); then
      say "instance ${f##*/}: pid $pid on port $(cat "$f/port" 2>/dev/null || echo '?')"
    else
      say "instance ${f##*/}: not running"; status=1
    fi
  done
  say "Kafka $kafka_bootstrap$([ "$kafka_ours" = 1 ] && echo ' (started by this script)'), database $cluster_db, Redis namespace $cluster_namespace"
  return $status
}

action=${1:-}
[ $# -gt 0 ] && shift
case "$action" in
  up | down)
    if [ "$action" = down ] && [ ! -d "$dir" ]; then say "not running (no $dir)"; exit 0; fi
    mkdir -p "$dir"
    exec 9>"$dir/.lock"
    flock -w 600 9 || die "another scripts/cluster.sh holds $dir/.lock"
    "cmd_$action" "$@"
    ;;
  status) cmd_status ;;
  url) load_state && [ -n "$nginx_port" ] && echo "http://$host:$nginx_port" || { say "not running"; exit 3; } ;;
  token) cat "$dir/token" 2>/dev/null || { say "no cluster in $dir"; exit 3; } ;;
  *)
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
