#!/usr/bin/env bash
# Reserve calls per second against Redis, in one run: redis-benchmark running the ledger's own
# reserve.lua by EVALSHA (50 clients, no pipelining), then the Java clients from 256 virtual
# threads (Lettuce on one connection, the Redis ledger itself, Jedis pools of 64 and 256).
# Every reserve uses a fresh key and user on one item whose stock never runs out.
# Usage: scripts/redis-bench.sh [host] [port] [db] [seconds] [rounds]   (defaults 127.0.0.1 6379 9 10 2)
# Writes only keys under bench*: and deletes them afterwards (never FLUSHDB).
set -euo pipefail
cd "$(dirname "$0")/.."
host=${1:-127.0.0.1}; port=${2:-6379}; db=${3:-9}; seconds=${4:-10}; rounds=${5:-2}
java=$(bin/find-java)  # a Java 25 or later (bin/find-java); Maven finds its own (toolchains)
mvn -q -B -pl service test-compile dependency:build-classpath -Dmdep.outputFile=target/test-classpath.txt -Dmdep.includeScope=test
cp="service/target/test-classes:service/target/classes:$(cat service/target/test-classpath.txt)"
cli=(redis-cli -h "$host" -p "$port" -n "$db")

redis_benchmark() {
  local ns="benchrb$RANDOM" item key
  item="$ns:{B}:item"; key="$ns:{B}"
  "${cli[@]}" hset "$item" name bench stock 1000000000000 avail 1000000000000 limit 1000000 >/dev/null
  # the epoch marker as mark_epoch.lua writes it: this server's run id first, or every reserve answers NO_EPOCH
  local run_id; run_id=$("${cli[@]}" info server | tr -d '\r' | sed -n 's/^run_id://p')
  "${cli[@]}" set "$ns:epoch" "$run_id bench" >/dev/null
  local sha; sha=$("${cli[@]}" script load "$(cat service/src/main/resources/io/floodgate/redis/reserve.lua)")
  local n=$((seconds * 40000))
  local out; out=$(redis-benchmark -h "$host" -p "$port" --dbnum "$db" -c 50 -P 1 -n "$n" -r 100000000 -q \
    EVALSHA "$sha" 6 "$item" "$key:keys" "$key:held" "$key:pending" "$key:fence" "$ns:epoch" \
    k__rand_int__ o__rand_int__ u__rand_int__ 1 0 | tr '\r' '\n' | grep "requests per second" | tail -n1)
  echo "mode=redis-benchmark clients=50 pipeline=1 requests=$n ${out##*: }"
  "${cli[@]}" unlink "$item" "$key:keys" "$key:held" "$key:pending" "$ns:epoch" >/dev/null
}

echo "# $(date -u +%FT%TZ) $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg), $(redis-server --version | cut -d' ' -f3)"
for round in $(seq 1 "$rounds"); do
  redis_benchmark
  for mode in lettuce lettuce-ledger jedis-64 jedis-256; do
    "$java" -Xmx1g -cp "$cp" io.floodgate.redis.RedisClientBench \
      "redis://$host:$port/$db" "$mode" 256 "$seconds" 2>&1 | grep '^mode='
  done
done
