#!/usr/bin/env bash
# Runs the JMH benchmarks (service/src/jmh/java) with the service module's test classpath.
# Usage: scripts/jmh.sh [JMH args, e.g. LedgerBenchmark -f 1 -wi 3 -i 5]
set -euo pipefail
cd "$(dirname "$0")/.."
java=$(bin/find-java)  # a Java 25 or later (bin/find-java); Maven finds its own (toolchains)
mvn -q -B -pl service test-compile dependency:build-classpath -Dmdep.outputFile=target/test-classpath.txt -Dmdep.includeScope=test
exec "$java" -cp "service/target/test-classes:service/target/classes:$(cat service/target/test-classpath.txt)" \
  org.openjdk.jmh.Main "$@"
