import ClusterModel
import Prometheus

/// The Prometheus registry a process shares between its roles' instrumentation and `/metrics`.
///
/// Metric names are `keyway_*` with the unit in the name, as Prometheus advises. Label values come from
/// closed sets (the command table, result kinds, backend addresses), never from keys, so cardinality stays bounded.
public final class KeywayMetrics: Sendable {
    /// The registry every `keyway_*` metric is made in; hand it to `PrometheusMetricsFactory` to back swift-metrics.
    public let registry: PrometheusCollectorRegistry
    let process: ProcessMetrics

    /// Latency histogram buckets, 50 µs to 10 s.
    public static let latencyBuckets: [Duration] = [
        .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500),
        .milliseconds(1), .microseconds(2500), .milliseconds(5), .milliseconds(10), .milliseconds(25),
        .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10),
    ]

    /// A registry with the standard `process_*` metrics registered, refreshed on each `expose`.
    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        self.process = ProcessMetrics(registry: registry)
    }

    /// A swift-metrics factory backed by this registry, timers bucketed with `latencyBuckets`.
    ///
    /// Libraries that report through swift-metrics (`Counter`, `Timer` from `Metrics`) land in `/metrics`
    /// once a process calls `MetricsSystem.bootstrap(metrics.makeMetricsFactory())`, once, at start.
    public func makeMetricsFactory() -> PrometheusMetricsFactory {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = Self.latencyBuckets
        return factory
    }

    /// The label value for a command: its lower-case name when the Redis 7.0 command table has it, else `other`.
    ///
    /// Names from the network go through this before they become label values, so a client sending random
    /// command names cannot grow the number of time series.
    public static func commandLabel(_ name: String) -> String {
        guard let spec = CommandTable.redis70.command(named: name) else { return "other" }
        return spec.name.lowercased()
    }

    /// `keyway_<name>_total`, a counter.
    public func counter(_ name: String, help: String, labels: [(String, String)] = []) -> Counter {
        registry.makeCounter(
            descriptor: MetricNameDescriptor(namespace: "keyway", metricName: name, unitName: "total", helpText: help),
            labels: labels
        )
    }

    /// `keyway_<name>_<unit>`, a gauge (`unit` like `bytes`, `seconds`, or empty for a count).
    public func gauge(_ name: String, unit: String = "", help: String, labels: [(String, String)] = []) -> Gauge {
        registry.makeGauge(
            descriptor: MetricNameDescriptor(namespace: "keyway", metricName: name, unitName: unit, helpText: help),
            labels: labels
        )
    }

    /// `keyway_<name>_seconds`, a latency histogram with `latencyBuckets`.
    public func latencyHistogram(_ name: String, help: String, labels: [(String, String)] = []) -> DurationHistogram {
        registry.makeDurationHistogram(
            descriptor: MetricNameDescriptor(namespace: "keyway", metricName: name, unitName: "seconds", helpText: help),
            labels: labels,
            buckets: Self.latencyBuckets
        )
    }

    /// `keyway_commands_total{command, result}`: commands by (bounded) name and result (`ok` or an error code).
    public func commandCounter(command: String, result: String) -> Counter {
        counter(
            "commands",
            help: "Commands processed, by command and result.",
            labels: [("command", Self.commandLabel(command)), ("result", Self.resultLabel(result))]
        )
    }

    /// `keyway_command_duration_seconds{command}`: command latency.
    public func commandLatency(command: String) -> DurationHistogram {
        latencyHistogram(
            "command_duration",
            help: "Command latency from request decoded to reply written, by command.",
            labels: [("command", Self.commandLabel(command))]
        )
    }

    static let resultLabels: Set<String> = [
        "ok", "err", "wrongtype", "moved", "ask", "crossslot", "tryagain", "clusterdown", "noauth", "wrongpass",
        "readonly", "loading", "noscript", "busy", "oom", "execabort", "noperm", "timeout",
    ]

    /// The label value for a result: `ok`, or a known Redis error code in lower case, else `other`.
    public static func resultLabel(_ result: String) -> String {
        let lowered = result.lowercased()
        return resultLabels.contains(lowered) ? lowered : "other"
    }

    /// The registry's exposition (refreshing the `process_*` metrics first), followed by `extra` families in
    /// Prometheus text (a role's own, from `PrometheusTextWriter`).
    public func expose(format: MetricsExposition.Format = .prometheus, appending extra: [UInt8] = []) -> [UInt8] {
        process.refresh()
        var text = registry.emitToBuffer()
        text.append(contentsOf: extra)
        switch format {
        case .prometheus:
            return text
        case .openMetrics:
            return MetricsExposition.openMetrics(fromPrometheus: text)
        }
    }
}
