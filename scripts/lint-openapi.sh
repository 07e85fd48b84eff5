#!/usr/bin/env bash
# Lints the OpenAPI document (service/src/main/resources/static/openapi.yaml, served at /openapi.yaml) with
# Redocly's CLI, a real OpenAPI 3.1 validator from npm, pinned below and installed once into
# .tools/redocly/ (git-ignored; needs node 20.19+ and npm, and the npm registry the first time).
# Rules: redocly.yaml in the repository's root ("recommended", warnings are failures).
#
# Usage: scripts/lint-openapi.sh [FILE]     exit 0 clean, 1 problems found, 2 could not run
set -euo pipefail

REDOCLY_VERSION=2.77.0

root=$(cd "$(dirname "$0")/.." && pwd)
spec=${1:-$root/service/src/main/resources/static/openapi.yaml}
tools=$root/.tools/redocly
cli=$tools/node_modules/.bin/redocly

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "lint-openapi: node and npm are needed (Debian: apt-get install nodejs npm)" >&2
  exit 2
fi
if [ ! -x "$cli" ] || [ "$("$cli" --version 2>/dev/null | tail -n1)" != "$REDOCLY_VERSION" ]; then
  echo "lint-openapi: installing @redocly/cli@$REDOCLY_VERSION into $tools" >&2
  mkdir -p "$tools"
  (cd "$tools" && npm install --no-audit --no-fund --silent --save-exact --prefix . "@redocly/cli@$REDOCLY_VERSION" >&2) \
    || { echo "lint-openapi: npm could not install @redocly/cli@$REDOCLY_VERSION" >&2; exit 2; }
fi

# No telemetry, no update check: CI and offline machines behave alike.
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true
cd "$root"
"$cli" lint --config "$root/redocly.yaml" --max-problems 200 --format stylish "$spec"
