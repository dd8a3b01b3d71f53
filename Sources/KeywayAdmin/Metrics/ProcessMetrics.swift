#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import NIOConcurrencyHelpers
import Prometheus

/// The standard `process_*` metrics (resident and virtual memory, CPU seconds, open and max file descriptors,
/// start time), read from `/proc/self` on each scrape; where there is no `/proc` they stay absent.
final class ProcessMetrics: Sendable {
    private let residentMemory: Gauge
    private let virtualMemory: Gauge
    private let cpuSeconds: Counter
    private let openFDs: Gauge
    private let maxFDs: Gauge
    private let startTime: Gauge
    /// CPU seconds already added to the counter (a counter only goes up, so each refresh adds the difference).
    private let reportedCPUSeconds = NIOLockedValueBox<Double>(0)

    init(registry: PrometheusCollectorRegistry) {
        func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
            MetricNameDescriptor(namespace: "process", metricName: metric, unitName: unit, helpText: help)
        }
        residentMemory = registry.makeGauge(descriptor: name("resident_memory", "bytes", "Resident memory size in bytes."))
        virtualMemory = registry.makeGauge(descriptor: name("virtual_memory", "bytes", "Virtual memory size in bytes."))
        cpuSeconds = registry.makeCounter(
            descriptor: name("cpu_seconds", "total", "Total user and system CPU time spent in seconds."))
        openFDs = registry.makeGauge(descriptor: name("open_fds", "", "Number of open file descriptors."))
        maxFDs = registry.makeGauge(descriptor: name("max_fds", "", "Maximum number of open file descriptors."))
        startTime = registry.makeGauge(
            descriptor: name("start_time", "seconds", "Start time of the process since unix epoch in seconds."))
        if let sample = ProcessSample.read() {
            startTime.set(sample.startTimeSeconds)
        }
        refresh()
    }

    /// Reads `/proc/self` and updates every metric.
    func refresh() {
        guard let sample = ProcessSample.read() else { return }
        residentMemory.set(sample.residentBytes)
        virtualMemory.set(sample.virtualBytes)
        openFDs.set(Double(sample.openFDs))
        maxFDs.set(sample.maxFDs)
        reportedCPUSeconds.withLockedValue { reported in
            let delta = sample.cpuSeconds - reported
            if delta > 0 {
                cpuSeconds.increment(by: delta)
                reported = sample.cpuSeconds
            }
        }
    }
}

/// One reading of the process's resource use from `/proc/self/stat`, `/proc/self/status`, `/proc/self/fd`
/// and `/proc/stat`.
struct ProcessSample: Equatable {
    var residentBytes: Double
    var virtualBytes: Double
    var cpuSeconds: Double
    var openFDs: Int
    var maxFDs: Double
    var startTimeSeconds: Double

    static func read() -> ProcessSample? {
        guard let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
            let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let systemStat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8)
        else { return nil }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let openFDs = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 0
        var limit = rlimit()
        let maxFDs: Double = getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 ? Double(limit.rlim_cur) : 0
        return parse(
            stat: stat, status: status, systemStat: systemStat, ticksPerSecond: ticks > 0 ? ticks : 100,
            openFDs: openFDs, maxFDs: maxFDs
        )
    }

    /// Parses the `/proc` texts; nil when a field is missing.
    static func parse(
        stat: String, status: String, systemStat: String, ticksPerSecond: Double, openFDs: Int, maxFDs: Double
    ) -> ProcessSample? {
        // The command name (field 2) is in parentheses and may hold spaces: fields are counted after the last ')'.
        guard let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // fields[0] is field 3 (state): utime is field 14, stime 15, starttime 22, vsize 23.
        guard fields.count > 20, let utime = Double(fields[11]), let stime = Double(fields[12]),
            let startTicks = Double(fields[19]), let vsize = Double(fields[20])
        else { return nil }
        guard let bootTime = systemStat.split(separator: "\n").first(where: { $0.hasPrefix("btime ") })
            .flatMap({ Double($0.dropFirst("btime ".count).trimmingCharacters(in: .whitespaces)) })
        else { return nil }
        guard let rssLine = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) else { return nil }
        let rssParts = rssLine.split(separator: " ", omittingEmptySubsequences: true)
        guard rssParts.count >= 2, let rssKiB = Double(rssParts[1]) else { return nil }
        return ProcessSample(
            residentBytes: rssKiB * 1024,
            virtualBytes: vsize,
            cpuSeconds: (utime + stime) / ticksPerSecond,
            openFDs: openFDs,
            maxFDs: maxFDs,
            startTimeSeconds: bootTime + startTicks / ticksPerSecond
        )
    }
}
