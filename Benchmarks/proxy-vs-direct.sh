#!/usr/bin/env bash
# Compares `keyway proxy` (release build) with direct cluster access, in one run, against three Debian redis-server
# cluster primaries started here (persistence off): redis-benchmark -t <tests> -n N -r 100000 -c 50 at -P 1 and -P 16,
# alternately `redis-benchmark --cluster` to the first primary (direct) and plain redis-benchmark to the proxy (which
# goes first alternating from run to run),
# RUNS runs each; prints medians, the ratio proxy/direct and the targets of issue 4 (0.8x at -P 1, 0.6x at -P 16).
# Then, per CPU_TESTS (default "get:1 mset:16"), one more run of each with the CPU time per request of every process.
# Then holds 1,000 idle client connections to the proxy and prints its VmRSS against the 40 MiB target.
# With COMPARE=metrics it measures instead the cost of the proxy's instrumentation (issue 5): a second proxy runs with
# --no-metrics, and redis-benchmark alternates between the two at -P 16 (PIPELINES overrides); target 0.97x.
# Usage: Benchmarks/proxy-vs-direct.sh [requests=500000] [runs=3]   (6x the requests at -P 16: PIPELINED_FACTOR)
set -euo pipefail
cd "$(dirname "$0")/.."
REQUESTS=${1:-500000}
# Requests per run at a pipeline depth over 1: REQUESTS x PIPELINED_FACTOR. redis-benchmark --cluster runs one thread
# per primary, and threaded redis-benchmark notices that a test is done only on its 250 ms timer, so a direct run's
# time is rounded up to the next quarter second: at -P 16, 200,000 requests take ~0.2-0.3 s direct and were reported
# as 0.5 s (600k/s, when 3M requests give ~1M/s). Runs of 3 s or more keep that error under ~8%.
PIPELINED_FACTOR=${PIPELINED_FACTOR:-6}
requests_at() { if [ "$1" -gt 1 ]; then echo $((REQUESTS * PIPELINED_FACTOR)); else echo "$REQUESTS"; fi; }
RUNS=${2:-3}
TESTS=${TESTS:-set,get,incr,lpush,mset}
IDLE_CLIENTS=${IDLE_CLIENTS:-1000}
COMPARE=${COMPARE:-direct}
# Extra flags for the measured proxy, e.g. PROXY_FLAGS="--threads 1".
read -r -a PROXY_FLAGS <<<"${PROXY_FLAGS:-}"
if [ "$COMPARE" = metrics ]; then PIPELINES=${PIPELINES:-16}; else PIPELINES=${PIPELINES:-1 16}; fi
command -v redis-benchmark >/dev/null || { echo "redis-benchmark not found (apt-get install redis-tools)"; exit 1; }
command -v redis-server >/dev/null || { echo "redis-server not found (apt-get install redis-server)"; exit 1; }
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

swift build -c release --product keyway >/dev/null
KEYWAY=$(swift build -c release --show-bin-path)/keyway
# A free loopback port whose cluster bus port (port+10000) is valid and free too.
free_port() {
  python3 -c '
import socket
while True:
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]
    if p + 10000 > 65535: s.close(); continue
    b = socket.socket()
    try: b.bind(("127.0.0.1", p + 10000))
    except OSError: s.close(); b.close(); continue
    b.close(); s.close(); print(p); break'
}
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

NODE_PORTS=()
for i in 1 2 3; do
  port=$(free_port)
  while [[ " ${NODE_PORTS[*]} " == *" $port "* ]]; do port=$(free_port); done
  NODE_PORTS+=("$port")
  mkdir -p "$WORK/node$i"
  redis-server --port "$port" --bind 127.0.0.1 --cluster-enabled yes --cluster-config-file nodes.conf \
    --save '' --appendonly no --dir "$WORK/node$i" --logfile "$WORK/node$i/redis.log" &
  PIDS+=($!)
done
FIRST=${NODE_PORTS[0]}
for port in "${NODE_PORTS[@]}"; do
  for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
done
redis-cli --cluster create $(printf '127.0.0.1:%s ' "${NODE_PORTS[@]}") --cluster-replicas 0 --cluster-yes \
  >"$WORK/create.log" 2>&1 || { cat "$WORK/create.log"; exit 1; }
for port in "${NODE_PORTS[@]}"; do
  for _ in $(seq 100); do redis-cli -p "$port" cluster info 2>/dev/null | grep -q 'cluster_state:ok' && break; sleep 0.1; done
  redis-cli -p "$port" cluster info | grep -q 'cluster_state:ok' || { echo "cluster not ok on $port"; exit 1; }
done

start_proxy() { # port logfile extra-flags...
  local port=$1 log=$2
  shift 2
  "$KEYWAY" proxy --port "$port" --seed "127.0.0.1:$FIRST" --log-level warning --admin-port 0 "$@" >"$log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 100); do [ "$(redis-cli -p "$port" set x y 2>/dev/null)" = OK ] && break; sleep 0.1; done
  [ "$(redis-cli -p "$port" set x y 2>/dev/null)" = OK ] || { echo "proxy not ready"; cat "$log"; exit 1; }
}
PROXY_PORT=$(free_port)
start_proxy "$PROXY_PORT" "$WORK/proxy.log" ${PROXY_FLAGS[@]+"${PROXY_FLAGS[@]}"}
PROXY_PID=${PIDS[-1]}
echo "primaries 127.0.0.1:${NODE_PORTS[*]}, proxy 127.0.0.1:$PROXY_PORT (pid $PROXY_PID), $REQUESTS requests at -P 1 ($(requests_at 16) when pipelined), $RUNS runs"
if [ "$COMPARE" = metrics ]; then
  REFERENCE_PORT=$(free_port)
  start_proxy "$REFERENCE_PORT" "$WORK/proxy-no-metrics.log" --no-metrics
  echo "reference: proxy --no-metrics on 127.0.0.1:$REFERENCE_PORT"
fi

flush() { for port in "${NODE_PORTS[@]}"; do redis-cli -p "$port" flushall >/dev/null; done; }
# Rows: target,pipeline,run,"test","rps",... (redis-benchmark's CSV lines, header and cluster banner dropped)
for pipeline in $PIPELINES; do
  for run in $(seq "$RUNS"); do
    # Which goes first alternates from run to run, so that neither always runs on a just-flushed, cooler cluster.
    order="direct proxy"
    if [ $((run % 2)) -eq 0 ]; then order="proxy direct"; fi
    for target in $order; do
      flush
      if [ "$target" = direct ] && [ "$COMPARE" = metrics ]; then
        args=(-h 127.0.0.1 -p "$REFERENCE_PORT")
      elif [ "$target" = direct ]; then
        args=(--cluster -h 127.0.0.1 -p "$FIRST")
      else
        args=(-h 127.0.0.1 -p "$PROXY_PORT")
      fi
      redis-benchmark "${args[@]}" -t "$TESTS" -n "$(requests_at "$pipeline")" -r 100000 -c 50 -P "$pipeline" --csv -q \
        2>>"$WORK/benchmark.err" | grep '^"' | grep -v '^"test"' \
        | sed "s/^/$target,$pipeline,$run,/" >>"$WORK/results.csv" || true
    done
  done
done

python3 - "$WORK/results.csv" "$RUNS" "$COMPARE" <<'PY'
import csv, statistics, sys
rows = {}
pairs = {}  # (test, pipeline) -> run -> target -> rps: runs are back to back, so their ratio cancels slow drifts
for r in csv.reader(open(sys.argv[1])):
    target, pipeline, run, test, rps = r[0], r[1], r[2], r[3], float(r[4])
    rows.setdefault((test, pipeline), {}).setdefault(target, []).append(rps)
    pairs.setdefault((test, pipeline), {}).setdefault(run, {})[target] = rps
runs = int(sys.argv[2])
metrics = sys.argv[3] == "metrics"
target_ratio = {"1": 0.97, "16": 0.97} if metrics else {"1": 0.8, "16": 0.6}
reference, measured = ("no-metrics", "metrics") if metrics else ("direct", "proxy")
print(f"{'test':<16}{'-P':>4}{reference + ' rps':>16}{measured + ' rps':>13}{'ratio':>8}{'pairs':>8}{'target':>8}  result")
failed = 0
for (test, pipeline), by in sorted(rows.items(), key=lambda kv: (int(kv[0][1]), kv[0][0])):
    d, p = by.get("direct", []), by.get("proxy", [])
    dm = statistics.median(d) if d else 0.0
    pm = statistics.median(p) if p else 0.0
    ratio = pm / dm if dm else 0.0
    per_run = [v["proxy"] / v["direct"] for v in pairs[(test, pipeline)].values() if v.get("direct") and "proxy" in v]
    paired = statistics.median(per_run) if per_run else 0.0
    ok = ratio >= target_ratio[pipeline] and len(d) == runs and len(p) == runs
    failed += not ok
    note = "" if len(d) == runs and len(p) == runs else f" (runs: direct {len(d)}, proxy {len(p)})"
    print(f"{test:<16}{pipeline:>4}{dm:>16.0f}{pm:>13.0f}{ratio:>8.3f}{paired:>8.3f}{target_ratio[pipeline]:>8.2f}  {'pass' if ok else 'FAIL'}{note}")
print(f"medians of {runs} runs ('ratio': of the medians, the verdict; 'pairs': median of the per-run ratios); "
      f"{failed} row(s) below target")
PY
if [ -s "$WORK/benchmark.err" ]; then echo "redis-benchmark stderr (first lines):"; head -5 "$WORK/benchmark.err"; fi

# Where the CPU goes (COMPARE=direct only): for each test:pipeline of CPU_TESTS, one more run of each target with the
# CPU time (from /proc/PID/stat, and the benchmark's rusage) of every process per request. When the cores are the
# limit (cores busy ~ nproc), throughput is the inverse of the total, so the ratio target is met only if the proxy
# spends at most "budget" = direct total / target - (benchmark + servers through the proxy) per request.
CPU_TESTS=${CPU_TESTS-get:1 mset:16}
if [ "$COMPARE" = direct ] && [ -n "$CPU_TESTS" ]; then
  SERVER_PIDS=("${PIDS[@]:0:3}")
  : >"$WORK/cpu.csv"
  for spec in $CPU_TESTS; do
    test=${spec%%:*} pipeline=${spec##*:}
    for target in direct proxy; do
      flush
      if [ "$target" = direct ]; then args=(--cluster -h 127.0.0.1 -p "$FIRST"); else args=(-h 127.0.0.1 -p "$PROXY_PORT"); fi
      python3 - "$target" "$test" "$pipeline" "$(requests_at "$pipeline")" "$PROXY_PID" "${SERVER_PIDS[@]}" -- \
        redis-benchmark "${args[@]}" -t "$test" -n "$(requests_at "$pipeline")" -r 100000 -c 50 -P "$pipeline" --csv -q \
        >>"$WORK/cpu.csv" 2>>"$WORK/benchmark.err" <<'PY'
import os, resource, subprocess, sys
split = sys.argv.index("--")
target, test, pipeline, requests, proxy = sys.argv[1:6]
servers, command = sys.argv[6:split], sys.argv[split + 1:]
tick = os.sysconf("SC_CLK_TCK")
def cpu(pid):  # (user, system) seconds of a running process
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(fields[11]) / tick, int(fields[12]) / tick
before = [cpu(p) for p in servers + [proxy]]
children = resource.getrusage(resource.RUSAGE_CHILDREN)
out = subprocess.run(command, capture_output=True, text=True).stdout
after = [cpu(p) for p in servers + [proxy]]
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
bench = usage.ru_utime - children.ru_utime + usage.ru_stime - children.ru_stime
rows = [l for l in out.splitlines() if l.startswith('"') and not l.startswith('"test"')]
rps = float(rows[0].split(",")[1].strip('"')) if rows else 0.0
n = int(requests) / 1e6  # seconds -> us per request
server = sum(a[0] - b[0] + a[1] - b[1] for a, b in zip(after[:-1], before[:-1]))
user, system = (after[-1][0] - before[-1][0], after[-1][1] - before[-1][1]) if target == "proxy" else (0.0, 0.0)
print(f"{target},{test},{pipeline},{rps},{bench / n},{server / n},{user / n},{system / n}")
PY
    done
  done
  python3 - "$WORK/cpu.csv" <<'PY'
import csv, sys
rows = {}
for target, test, pipeline, *values in csv.reader(open(sys.argv[1])):
    rows[(test, pipeline, target)] = [float(v) for v in values]
target_ratio = {"1": 0.8, "16": 0.6}
print("CPU time per request (us, user + system unless named) in one more run of each:")
print(f"{'test':<8}{'-P':>4}{'target':>8}{'rps':>10}{'benchmark':>11}{'servers':>9}{'proxy user':>12}{'proxy sys':>11}"
      f"{'total':>8}{'cores busy':>12}{'budget':>8}")
for (test, pipeline, target), (rps, bench, servers, user, system) in sorted(rows.items()):
    total = bench + servers + user + system
    budget = ""
    if target == "proxy" and (test, pipeline, "direct") in rows and pipeline in target_ratio:
        d = rows[(test, pipeline, "direct")]
        budget = f"{(d[1] + d[2]) / target_ratio[pipeline] - (bench + servers):.2f}"
    print(f"{test:<8}{pipeline:>4}{target:>8}{rps:>10.0f}{bench:>11.2f}{servers:>9.2f}{user:>12.2f}{system:>11.2f}"
          f"{total:>8.2f}{total * rps / 1e6:>12.2f}{budget:>8}")
print("budget: the proxy's CPU per request that meets the target when the cores are the limit "
      "(direct total / target - benchmark and servers through the proxy)")
PY
fi

# RSS with IDLE_CLIENTS idle client connections: each connects and sends one PING (so the proxy has set up its session),
# then stays idle while VmRSS is read.
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$PROXY_PID/status"; }
BEFORE=$(rss_kib)
python3 - "$PROXY_PORT" "$IDLE_CLIENTS" "$WORK/ready" <<'PY' &
import socket, sys, time
port, n, ready = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
socks = []
for _ in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"PING\r\n")
    socks.append(s)
for s in socks:
    buf = b""
    while not buf.endswith(b"\r\n"):
        chunk = s.recv(64)
        if not chunk:
            raise SystemExit("connection closed by the proxy")
        buf += chunk
    assert buf == b"+PONG\r\n", buf
with open(ready + ".tmp", "w") as f:
    f.write(f"{len(socks)}\n")
import os; os.rename(ready + ".tmp", ready)
time.sleep(3600)
PY
HOLDER_PID=$!
PIDS+=("$HOLDER_PID")
for _ in $(seq 600); do [ -f "$WORK/ready" ] || ! kill -0 "$HOLDER_PID" 2>/dev/null && break; sleep 0.1; done
[ -f "$WORK/ready" ] || { echo "could not hold $IDLE_CLIENTS idle connections"; exit 1; }
HELD=$(cat "$WORK/ready")
sleep 2
AFTER=$(rss_kib)
kill "$HOLDER_PID" 2>/dev/null || true
python3 - "$BEFORE" "$AFTER" "$HELD" <<'PY'
import sys
before, after, held = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
limit = 40 * 1024
print(f"proxy VmRSS: {before / 1024:.1f} MiB after the benchmark, {after / 1024:.1f} MiB with {held} idle clients "
      f"({(after - before) / held:.1f} KiB per client); target <= 40 MiB: {'pass' if after <= limit else 'FAIL'}")
PY
