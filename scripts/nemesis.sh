#!/usr/bin/env bash
# The long nemesis run (docs/RELIABILITY.md): three Floodgate instances sell while a seeded fault
# schedule kills, pauses, flushes, fails over, locks, cuts and slows their dependencies, then a
# checker holds every answer against the store and the ledger. It runs the test class NemesisTest
# through Maven with the run's length and seed; everything it starts is its own, on free ports.
#
# Usage: scripts/nemesis.sh [--minutes N] [--seed N] [--kinds KIND,KIND] [-- MAVEN ARGS]
#   --minutes N   minutes of faults (default 10: at least 100 faults); 0 runs the short form (about 3 min)
#   --seed N      replay a schedule (default: a fresh seed, printed)
#   --kinds K,..  only these kinds of fault (FaultKind names, e.g. STORE_WRITE_LOCK,KILL_KAFKA)
#   -- ARGS       passed to Maven as they are (e.g. -- -o for offline)
#
# Needs JDK 25 (found by itself, as bin/find-java finds it), Maven,
# redis-server, mariadbd and mariadb-install-db. Prints where the summary and the history are;
# exits non-zero when the checker found a violation (or the run failed).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

minutes=10
seed=
kinds=
maven_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --minutes) minutes=${2:?--minutes needs a number}; shift 2 ;;
    --seed) seed=${2:?--seed needs a number}; shift 2 ;;
    --kinds) kinds=${2:?--kinds needs a list}; shift 2 ;;
    --) shift; maven_args=("$@"); break ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "nemesis: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[[ "$minutes" =~ ^[0-9]+([.][0-9]+)?$ ]] || { echo "nemesis: --minutes must be a number, was '$minutes'" >&2; exit 2; }
[ -z "$seed" ] || [[ "$seed" =~ ^-?[0-9]+$ ]] || { echo "nemesis: --seed must be an integer, was '$seed'" >&2; exit 2; }

# JDK 25 for the instances and the tests: Maven's toolchains find it (pom.xml), bin/find-java for
# what this script prints. Maven itself runs on whatever java is first on PATH (17 here); the flag
# that silences its Guava on a JDK 24 or later is refused by an older JVM, so it is given only then.
jdk=$(bin/find-java --home) || exit 1
maven_java=$(java -version 2>&1 | sed -n 's/.* version "\([0-9]*\).*/\1/p' | head -n1)
if [ "${maven_java:-0}" -ge 24 ]; then
  export MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow"
fi
command -v mvn >/dev/null || { echo "nemesis: mvn is not on PATH" >&2; exit 1; }

if [ -z "$seed" ]; then
  seed=$(( $(od -An -N6 -tu8 /dev/urandom | tr -d ' ') ))
fi
# Setting up, the faults still running at the end, settling and checking take up to ~25 min on top.
timeout=$(awk -v m="$minutes" 'BEGIN { printf "%d", m * 60 + 1500 }')

dir="$root/target/nemesis/$seed"
echo "nemesis: seed $seed, $minutes minutes of faults${kinds:+ ($kinds only)}, JDK $jdk"
echo "nemesis: replay with: scripts/nemesis.sh --minutes $minutes --seed $seed${kinds:+ --kinds $kinds}"

status=0
mvn -B -ntp test -Dtest=NemesisTest -Dsurefire.failIfNoSpecifiedTests=false \
  -Dnemesis.minutes="$minutes" -Dnemesis.seed="$seed" ${kinds:+-Dnemesis.kinds="$kinds"} \
  -Dsurefire.timeout="$timeout" "${maven_args[@]}" || status=$?

echo
if [ -f "$dir/summary.txt" ]; then
  sed -n '1,/^violations/p' "$dir/summary.txt"
  grep -E '^  [A-Z_]+: [0-9]+$' "$dir/summary.txt" || true
  echo "nemesis: summary    $dir/summary.txt"
  echo "nemesis: violations $dir/violations.txt"
  echo "nemesis: history    $dir/history.jsonl"
else
  echo "nemesis: the run ended before its summary; see $root/service/target/surefire-reports/io.floodgate.nemesis.NemesisTest-output.txt"
fi
echo "nemesis: test output $root/service/target/surefire-reports/io.floodgate.nemesis.NemesisTest-output.txt"
exit "$status"
