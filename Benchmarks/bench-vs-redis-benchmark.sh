#!/usr/bin/env bash
# Is `keyway bench` a fair load generator? Runs it and Debian's redis-benchmark, alternately, against one
# redis-server started here (persistence off), RUNS runs each, and prints medians and the ratio keyway/redis-benchmark:
#   1. throughput: -t set,get -c 50 -P 16 -n N -r 100000 (keyway must measure >= 0.9x);
#   2. latency at low load: redis-benchmark -c 1 -P 1 (closed loop, about 20k requests/s on loopback) next to
#      keyway at the same settings and keyway --rate 20000 -c 50 (open loop, latency from the intended send time).
# Usage: Benchmarks/bench-vs-redis-benchmark.sh [requests=1000000] [runs=3]
set -euo pipefail
cd "$(dirname "$0")/.."
REQUESTS=${1:-1000000}
RUNS=${2:-3}
RATE=${RATE:-20000}
command -v redis-benchmark >/dev/null || { echo "redis-benchmark not found (apt-get install redis-tools)"; exit 1; }
command -v redis-server >/dev/null || { echo "redis-server not found (apt-get install redis-server)"; exit 1; }

swift build -c release --product keyway >/dev/null
KEYWAY=$(swift build -c release --show-bin-path)/keyway
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
PORT=$(free_port)
WORK=$(mktemp -d)
redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$WORK" --logfile "$WORK/redis.log" &
REDIS_PID=$!
trap 'kill $REDIS_PID 2>/dev/null; wait $REDIS_PID 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 50); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done

# Rows: tool,scenario,run,test,rps,p50_ms,p99_ms
rb() { # scenario run args...
  local scenario=$1 run=$2; shift 2
  redis-benchmark -p "$PORT" "$@" --csv -q 2>/dev/null | tail -n +2 | tr -d '"' \
    | awk -F, -v s="$scenario" -v r="$run" '{print "redis-benchmark," s "," r "," $1 "," $2 "," $5 "," $7}' >>"$WORK/rows.csv"
}
kw() { # scenario run args...
  local scenario=$1 run=$2; shift 2
  "$KEYWAY" bench --port "$PORT" --quiet --csv "$@" | tail -n +2 \
    | awk -F, -v s="$scenario" -v r="$run" '{print "keyway," s "," r "," $1 "," $4 "," $5 "," $7}' >>"$WORK/rows.csv"
}
LOW_N=$((RATE * 5))
for run in $(seq "$RUNS"); do
  rb "throughput c50 P16" "$run" -t set,get -c 50 -P 16 -n "$REQUESTS" -r 100000
  kw "throughput c50 P16" "$run" --tests set,get -c 50 -P 16 -n "$REQUESTS" -r 100000
  rb "low load c1 P1" "$run" -t get -c 1 -P 1 -n "$LOW_N" -r 100000
  kw "low load c1 P1" "$run" --tests get -c 1 -P 1 -n "$LOW_N" -r 100000
  kw "rate $RATE c50 (open loop)" "$run" --tests get -c 50 --rate "$RATE" --duration 5 -r 100000
done

python3 - "$WORK/rows.csv" <<'PY'
import csv, statistics, sys
rows = {}
for tool, scenario, run, test, rps, p50, p99 in csv.reader(open(sys.argv[1])):
    rows.setdefault((scenario, test), {}).setdefault(tool, []).append((float(rps), float(p50), float(p99)))
def med(values, i): return statistics.median(v[i] for v in values) if values else float("nan")
print(f"{'scenario':<28}{'test':<6}{'tool':<17}{'rps':>11}{'p50 ms':>9}{'p99 ms':>9}")
for (scenario, test), by in rows.items():
    for tool in ("redis-benchmark", "keyway"):
        if tool in by:
            v = by[tool]
            print(f"{scenario:<28}{test:<6}{tool:<17}{med(v,0):>11.0f}{med(v,1):>9.3f}{med(v,2):>9.3f}")
    if "redis-benchmark" in by and "keyway" in by:
        r, k = by["redis-benchmark"], by["keyway"]
        print(f"{'':<28}{'':<6}{'ratio keyway/rb':<17}{med(k,0)/med(r,0):>11.2f}{med(k,1)/med(r,1):>9.2f}{med(k,2)/med(r,2):>9.2f}")
print("medians of", len(next(iter(rows.values()))["keyway"]), "runs; open-loop latency counts from the intended send time")
PY
