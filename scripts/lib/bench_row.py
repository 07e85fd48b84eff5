"""One markdown table row from a `floodgate bench` report.json: python3 bench_row.py REPORT MODE MULTIPLE.

Used by scripts/bench-overload.sh and scripts/bench-frontdoor.sh; the columns are explained
under the tables they print.
"""
import json
import sys

d = json.load(open(sys.argv[1]))
mode, mult = sys.argv[2], sys.argv[3]
k, n, cb = d["byKind"], max(1, d["requests"]), d["clientBacklog"]
late = 100.0 * cb["notOnTime"] / max(1, cb["due"])
bad = k.get("DEPENDENCY", 0) + k.get("ERROR", 0)
print(f"| {mode:3} | {mult:>3}x | {d['settings']['rate']:9.0f} | {d['rate']:8.0f} | {d['goodput']:8.0f} | "
      f"{d['admitted']['p99Ms']:9.1f} | {d['latency']['p99Ms']:9.1f} | {100.0 * k.get('SHED', 0) / n:5.1f} | "
      f"{late:5.1f} | {cb['peak']:8d} | {cb['sendDelay']['p99Ms']:9.1f} | {bad:6d} | {d['timeouts']:6d} | "
      f"{d['generator']['cpuCores']:4.2f} |")
