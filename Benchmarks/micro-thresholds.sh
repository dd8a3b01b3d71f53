#!/usr/bin/env bash
# Checks the KeywayMicro benchmarks against the thresholds committed in Benchmarks/Thresholds, or records new ones.
#
#   Benchmarks/micro-thresholds.sh check  [benchmark options]   exits 0 within the thresholds, else 1 with
#       "error: benchmarkThresholdRegression" (a regression) or "error: benchmarkThresholdImprovement"
#       (improvements only: record the new figures)
#   Benchmarks/micro-thresholds.sh update [benchmark options]   rewrites Benchmarks/Thresholds/*.p90.json
#
# Options are passed to `swift package benchmark`, for example `--filter 'Routing.*'` (a regex that must match the
# whole benchmark name). Only metrics that hardly depend on the machine's load are recorded and checked: mallocs
# and fastestOf5Nanoseconds (see MicroConfiguration in Benchmarks/KeywayMicro/KeywayMicro.swift for why, and for
# the tolerances). Builds into .build-bench (a cold release build takes 5 minutes or more); prefix with
# `nice -n 10` on a shared machine.
set -euo pipefail
cd "$(dirname "$0")/.."

operation=${1:-check}
shift || true
metrics=(--metric mallocCountTotal --metric fastestOf5Nanoseconds)
export KEYWAY_BENCHMARKS=1

case "$operation" in
check)
    exec swift package --scratch-path .build-bench benchmark thresholds check \
        --target KeywayMicro --path Benchmarks/Thresholds "${metrics[@]}" "$@"
    ;;
update)
    exec swift package --scratch-path .build-bench --allow-writing-to-package-directory benchmark thresholds update \
        --target KeywayMicro --path Benchmarks/Thresholds "${metrics[@]}" "$@"
    ;;
*)
    echo "usage: $0 check|update [benchmark options]" >&2
    exit 64
    ;;
esac
