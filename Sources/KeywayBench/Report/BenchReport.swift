import Histogram

/// The results of a run: one entry per test, and the verify outcome when `--verify` was given.
public struct BenchReport: Sendable, Codable {
    /// What was run, for the report's header.
    public struct Settings: Sendable, Codable {
        public var target: String
        public var clients: Int
        public var threads: Int
        public var pipeline: Int
        public var keyspace: Int
        public var keyPattern: String
        public var dataSize: String
        public var rate: Double?

        enum CodingKeys: String, CodingKey {
            case target, clients, threads, pipeline, keyspace, rate
            case keyPattern = "key_pattern"
            case dataSize = "data_size"
        }
    }

    public var settings: Settings
    public var tests: [TestReport]
    public var verify: VerifyReport?

    /// True when a test saw an error reply or verify found a problem.
    public var hasFailures: Bool {
        tests.contains { $0.errors > 0 } || (verify.map { $0.lost + $0.mismatched > 0 } ?? false)
    }
}

/// Latency percentiles in milliseconds.
public struct LatencySummary: Sendable, Codable, Equatable {
    public var p50: Double
    public var p90: Double
    public var p99: Double
    public var p999: Double
    public var max: Double
    public var mean: Double

    init(_ histogram: Histogram<UInt64>) {
        func ms(_ nanoseconds: UInt64) -> Double { Double(nanoseconds) / 1e6 }
        if histogram.totalCount == 0 {
            p50 = 0; p90 = 0; p99 = 0; p999 = 0; max = 0; mean = 0
            return
        }
        p50 = ms(histogram.valueAtPercentile(50))
        p90 = ms(histogram.valueAtPercentile(90))
        p99 = ms(histogram.valueAtPercentile(99))
        p999 = ms(histogram.valueAtPercentile(99.9))
        max = ms(histogram.max)
        mean = histogram.mean / 1e6
    }
}

/// One point of the latency-by-percentile curve.
public struct PercentilePoint: Sendable, Codable, Equatable {
    public var percentile: Double
    public var ms: Double
}

/// One second of a test.
public struct TimelinePoint: Sendable, Codable, Equatable {
    /// Seconds since the test started.
    public var second: Double
    public var rps: Double
    public var p50: Double
    public var p99: Double
    public var errors: Int
}

/// One test's figures.
public struct TestReport: Sendable, Codable {
    public var name: String
    public var requests: Int
    public var errors: Int
    public var errorsByType: [String: Int]
    /// The first error message of each type.
    public var errorSamples: [String: String]
    /// MOVED/ASK replies followed (not errors).
    public var redirects: Int
    public var seconds: Double
    public var rps: Double
    public var latencyMs: LatencySummary
    /// Open loop (`--rate`) only: latency from the actual send rather than the intended one. It leaves out the
    /// time a request waited behind a stall, so it is what a closed-loop tool would report; shown for comparison.
    public var serviceMs: LatencySummary?
    public var percentiles: [PercentilePoint]
    public var timeline: [TimelinePoint]

    enum CodingKeys: String, CodingKey {
        case name, requests, errors, redirects, seconds, rps, percentiles, timeline
        case errorsByType = "errors_by_type"
        case errorSamples = "error_samples"
        case latencyMs = "latency_ms"
        case serviceMs = "service_ms"
    }

    /// Percentiles plotted and listed: dense towards the tail, as HdrHistogram's plots are.
    static let plottedPercentiles: [Double] = [
        0, 10, 20, 30, 40, 50, 60, 70, 75, 80, 85, 90, 92.5, 95, 96, 97, 98, 99, 99.5, 99.7, 99.9, 99.95, 99.99, 99.999, 100,
    ]

    init(name: String, result: LoopResult, timeline: [TimelinePoint]) {
        self.name = name
        requests = result.requests
        errorsByType = result.errors
        errorSamples = result.errorSamples
        errors = result.errors.values.reduce(0, +)
        redirects = result.redirects
        let elapsed = result.lastReply > result.firstStart ? Double(result.lastReply - result.firstStart) / 1e9 : 0
        seconds = elapsed
        rps = elapsed > 0 ? Double(result.requests) / elapsed : 0
        latencyMs = LatencySummary(result.histogram)
        serviceMs = result.service.map(LatencySummary.init)
        let histogram = result.histogram
        percentiles =
            histogram.totalCount == 0
            ? []
            : Self.plottedPercentiles.map {
                PercentilePoint(percentile: $0, ms: Double(histogram.valueAtPercentile($0)) / 1e6)
            }
        self.timeline = timeline
    }
}

/// What `--verify` found.
public struct VerifyReport: Sendable, Codable {
    public var generation: UInt64
    public var keys: Int
    public var checked: Int
    public var lost: Int
    public var mismatched: Int
    /// Every lost or changed key (the first 10,000 per event loop).
    public var issues: [VerifyIssue]
}
