#!/usr/bin/env bash
# Compares `keyway node` (release build, standalone) with Debian's redis-server (persistence off), in one run:
# redis-benchmark -t <tests> -n N -r 100000 -c 50 at -P 1 and -P 16, RUNS runs each, medians and ratios.
# Usage: Benchmarks/node-vs-redis.sh [requests=200000] [runs=3]
set -euo pipefail
cd "$(dirname "$0")/.."
REQUESTS=${1:-200000}
RUNS=${2:-3}
TESTS=${TESTS:-set,get,incr,lpush,rpush,lpop,rpop,sadd,hset,spop,zadd,lrange_100}
command -v redis-benchmark >/dev/null || { echo "redis-benchmark not found (apt-get install redis-tools)"; exit 1; }
command -v redis-server >/dev/null || { echo "redis-server not found (apt-get install redis-server)"; exit 1; }

swift build -c release --product keyway >/dev/null
KEYWAY=$(swift build -c release --show-bin-path)/keyway
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
REDIS_PORT=$(free_port)
NODE_PORT=$(free_port)
WORK=$(mktemp -d)
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$WORK" --logfile "$WORK/redis.log" &
REDIS_PID=$!
"$KEYWAY" node --port "$NODE_PORT" --dir "$WORK" --log-level warning >"$WORK/node.log" 2>&1 &
NODE_PID=$!
trap 'kill $REDIS_PID $NODE_PID 2>/dev/null; wait $REDIS_PID $NODE_PID 2>/dev/null; rm -rf "$WORK"' EXIT
for port in "$REDIS_PORT" "$NODE_PORT"; do
  for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
done

echo "machine: $(nproc) cores, load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
# Each run starts both servers empty and runs the tests in order (GET reads what SET wrote, LPOP pops what the
# pushes built), alternating redis and keyway test by test: a pair is measured seconds apart, so a drift of the
# machine's speed (a shared VM's neighbours) moves both sides of a ratio alike.
for pipeline in 1 16; do
  for run in $(seq "$RUNS"); do
    redis-cli -p "$REDIS_PORT" flushall >/dev/null
    redis-cli -p "$NODE_PORT" flushall >/dev/null
    for test in ${TESTS//,/ }; do
      for target in redis keyway; do
        port=$REDIS_PORT; [ "$target" = keyway ] && port=$NODE_PORT
        redis-benchmark -p "$port" -t "$test" -n "$REQUESTS" -r 100000 -c 50 -P "$pipeline" --csv -q 2>/dev/null \
          | sed "s/^/$target,$pipeline,$run,/" >>"$WORK/results.csv"
      done
    done
  done
done

python3 - "$WORK/results.csv" <<'PY'
import csv, statistics, sys
rows = {}
for r in csv.reader(open(sys.argv[1])):
    if len(r) < 5 or r[3] == "test":
        continue
    target, pipeline, _, test, rps = r[0], r[1], r[2], r[3], float(r[4])
    rows.setdefault((test, pipeline), {}).setdefault(target, []).append(rps)
print(f"{'test':<38}{'-P':>4}{'redis rps':>14}{'keyway rps':>14}{'ratio':>8}")
worst = 9.9
for (test, pipeline), by in sorted(rows.items(), key=lambda kv: (int(kv[0][1]), kv[0][0])):
    r = statistics.median(by.get("redis", [0])); k = statistics.median(by.get("keyway", [0]))
    ratio = k / r if r else 0
    worst = min(worst, ratio)
    print(f"{test:<38}{pipeline:>4}{r:>14.0f}{k:>14.0f}{ratio:>8.2f}")
print(f"medians of runs; worst ratio {worst:.2f}")
PY
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
