#!/usr/bin/env bash
# A sale with payments, measured: starts one Floodgate (embedded store, or whatever FLOODGATE_*
# variables the caller exports: Redis, Kafka, a server database), runs `floodgate bench` with a
# payment window, a share of buyers who pay and a share of those who pay late, then prints the
# service's own expiry lateness and (with Kafka) commit-to-publish delay from /metrics.
#
# Usage: scripts/bench-payments.sh [WINDOW_S] [PAY_SHARE] [LATE_SHARE] [-- extra bench options]
#   defaults: 5 0.6 0.1; the bench options default to a 20 s open-loop sale at 1,500 orders/s of
#   an item with 30,000 units, so that thousands of orders fall due while the load goes on.
set -euo pipefail
cd "$(dirname "$0")/.."
window=${1:-5}; pay=${2:-0.6}; late=${3:-0.1}
shift $(( $# < 3 ? $# : 3 )) || true
[ "${1:-}" = "--" ] && shift
extra=("$@")
[ ${#extra[@]} -gt 0 ] || extra=(--rate 1500 --connections 64 --duration 20s --stock 30000 --users 200000
  --no-stop-on-sold-out)

dir=$(mktemp -d)
export FLOODGATE_PORT=0 FLOODGATE_HOST=127.0.0.1 FLOODGATE_DATA_DIR="$dir/data"
export FLOODGATE_ADMIN_TOKEN=${FLOODGATE_ADMIN_TOKEN:-bench-payments-admin}
export FLOODGATE_PAYMENT_SECRET=${FLOODGATE_PAYMENT_SECRET:-bench-payments-secret-0123456789}
export FLOODGATE_USER_RATE=1000000 FLOODGATE_USER_BURST=1000000
bin/floodgate >"$dir/out" 2>&1 &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
until grep -q "Floodgate listening" "$dir/out" 2>/dev/null; do
  kill -0 "$pid" 2>/dev/null || { cat "$dir/out" >&2; exit 1; }
  sleep 0.1
done
url=$(grep -o 'http://[^ ]*:[0-9]*' "$dir/out" | head -1)
echo "service at $url (pid $pid; $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
bin/floodgate bench --target "$url" --payment-window "$window" --pay-share "$pay" --late-share "$late" \
  --progress "${extra[@]}" || status=$?
echo
echo "service metrics (seconds):"
curl -s "$url/metrics" | grep -E '^floodgate_(payments_expiry_lateness|events_publish_delay)_seconds(_bucket|_max|_count|_sum)' || true
curl -s "$url/metrics" | grep -E '^floodgate_payments_(expired|units_returned|callbacks)_total' || true
exit ${status:-0}
