import Benchmark

/// Hot-path micro benchmarks, one suite per concern: RESP decode/encode, hash slots, command routing (the proxy's
/// per-request decision) and keyspace operations (the node's command path). Names carry no spaces, since the
/// threshold files (`Benchmarks/Thresholds/KeywayMicro.<name>.p90.json`) are named after them.
///
/// Run with `KEYWAY_BENCHMARKS=1 swift package --scratch-path .build-bench benchmark --target KeywayMicro`;
/// Benchmarks/README.md says how to check and update the thresholds.
let benchmarks: @Sendable () -> Void = {
    respBenchmarks()
    hashSlotBenchmarks()
    routingBenchmarks()
    keyspaceBenchmarks()
}

/// What every suite measures and which deviations `benchmark thresholds check` accepts.
enum MicroConfiguration {
    /// Wall clock and throughput to read; mallocs and the fastest recent run (`FastestRecentRun`), which hardly
    /// depend on what else runs on the machine, to check against the committed thresholds.
    ///
    /// Not here: instructions, the best measure of CPU work, because the VMs this project runs on have no hardware
    /// performance counters (the kernel logs "no PMU driver, software events only") and asking for them adds the
    /// counter set-up's allocations to every sample; retains and releases, because counting them crashes the Swift
    /// 6.3 runtime on Linux unless package-benchmark's runtime interposer package is available (ordo-one/benchmark
    /// issue 349), and it is not among this project's packages.
    static let metrics: [BenchmarkMetric] = [.wallClock, .throughput, .mallocCountTotal, FastestRecentRun.metric]

    /// The tolerances of the checked metrics (`Benchmarks/micro-thresholds.sh` records only these), at p90, the
    /// percentile `thresholds update` records; a metric without one would be checked strictly. A deviation beyond
    /// the tolerance fails the check; for mallocs an improvement does too, until the new figures are recorded.
    ///
    /// Mallocs are the same from run to run; the slack absorbs an odd allocation of the harness. The fastest run
    /// still varies by up to ±65% on the shared two-core VM while another engineer builds (caches and cores are
    /// shared), so its tolerance only catches gross regressions (2.5x); tighten it on a quiet, dedicated machine.
    static var thresholds: [BenchmarkMetric: BenchmarkThresholds] {
        [
            .mallocCountTotal: BenchmarkThresholds(absolute: [.p90: 2]),
            FastestRecentRun.metric: BenchmarkThresholds(relative: [.p90: 150.0]),
        ]
    }

    static var standard: Benchmark.Configuration {
        Benchmark.Configuration(metrics: metrics, maxDuration: .seconds(2), maxIterations: 100_000, thresholds: thresholds)
    }
}

/// Registers the benchmark `name` of `work` with the standard configuration, timed by a `FastestRecentRun`.
/// `work` runs once per sample.
func microBenchmark(_ name: String, _ work: @escaping () -> Void) {
    let timer = FastestRecentRun()
    Benchmark(name, configuration: MicroConfiguration.standard) { benchmark in
        timer.measure(benchmark, work)
    }
}

/// Times each run of a benchmark's work and records, for each sample, the fastest of the last five runs
/// (`fastestOf5Nanoseconds`): the time the work takes when nothing preempts it.
///
/// On a shared two-core machine a preempted run stretches a sample's wall clock by milliseconds, so wall-clock
/// percentiles move with the load; five preempted runs in a row are rare, so the p90 of this metric moves with the
/// code, and can be checked against a threshold.
final class FastestRecentRun {
    /// The custom metric (default polarity and scaling, as package-benchmark reads it back from a threshold file).
    static let metric = BenchmarkMetric.custom("fastestOf5Nanoseconds")
    private static let window = 5

    private var recent = [Int](repeating: .max, count: FastestRecentRun.window)
    private var next = 0

    /// Runs `work` once, timed, and records the fastest of the last five runs for this sample.
    @inline(__always)
    func measure(_ benchmark: Benchmark, _ work: () -> Void) {
        let start = ContinuousClock.now
        work()
        let elapsed = start.duration(to: ContinuousClock.now).components
        recent[next] = Int(elapsed.seconds) * 1_000_000_000 + Int(elapsed.attoseconds / 1_000_000_000)
        next = (next + 1) % Self.window
        benchmark.measurement(Self.metric, recent.min() ?? 0)
    }
}
