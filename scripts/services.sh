#!/usr/bin/env bash
# Checks that the backing services the tests use answer (PostgreSQL 5432, MariaDB 3306, Redis
# 6379) and starts any that is down, with the commands that start them on this kind of machine.
# Usage: scripts/services.sh [ensure|status]
set -uo pipefail

action=${1:-ensure}

pg_up()      { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
mariadb_up() { mariadb-admin -h 127.0.0.1 -P 3306 -u root ping >/dev/null 2>&1 || mysqladmin -h 127.0.0.1 -P 3306 -u root ping >/dev/null 2>&1; }
redis_up()   { [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = "PONG" ]; }

start_pg()      { pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start; }
start_mariadb() { start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd; }
start_redis()   { redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no; }

wait_for() { # name check-fn
  for _ in $(seq 1 60); do "$2" && return 0; sleep 0.5; done
  echo "services: $1 did not come up" >&2
  return 1
}

status=0
for svc in pg mariadb redis; do
  if "${svc}_up"; then
    echo "services: $svc is up"
  elif [ "$action" = "ensure" ]; then
    echo "services: $svc is down; starting it"
    "start_${svc}" || true
    wait_for "$svc" "${svc}_up" && echo "services: $svc is up" || status=1
  else
    echo "services: $svc is down"
    status=1
  fi
done
exit $status
