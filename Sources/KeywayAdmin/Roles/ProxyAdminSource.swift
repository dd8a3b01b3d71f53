import ClusterModel
import Foundation
import KeywayProxy
import NIOCore

/// The admin endpoint of `keyway proxy`: readiness, topology, backends, clients, slow log, run-time settings and
/// the `keyway_*` metrics, from snapshots each event loop takes of itself.
public struct ProxyAdminSource: AdminSource {
    let server: ProxyServer
    let logLevel: LogLevelControl?

    /// - Parameter logLevel: the process's log level control, which makes `loglevel` a run-time setting.
    public init(server: ProxyServer, logLevel: LogLevelControl? = nil) {
        self.server = server
        self.logLevel = logLevel
    }

    // MARK: Readiness and topology

    public func readiness() async -> Readiness {
        let status = server.topologyStatus
        guard let topology = status.topology else {
            return Readiness(ready: false, reason: "cluster topology not known yet (\(status.lastError ?? "discovering"))")
        }
        let covered = topology.coveredSlots
        guard covered == HashSlot.count else {
            return Readiness(ready: false, reason: "\(HashSlot.count - covered) hash slots have no primary")
        }
        if let failed = topology.shards.first(where: { !$0.primary.healthy }) {
            return Readiness(ready: false, reason: "primary \(failed.primary.endpoint) is failing")
        }
        if let snapshots = try? await server.loopSnapshots() {
            let unreachable = Set(
                snapshots.flatMap(\.backends).filter { $0.connections == 0 && $0.lastError?.hasPrefix("unreachable") == true }
                    .map(\.endpoint))
            if let down = topology.shards.first(where: { unreachable.contains($0.primary.endpoint) }) {
                return Readiness(ready: false, reason: "primary \(down.primary.endpoint) is unreachable")
            }
        }
        return Readiness(ready: true, reason: "all \(HashSlot.count) slots served by \(topology.shards.count) primaries")
    }

    public func topology() async throws -> TopologyReport {
        let status = server.topologyStatus
        guard let topology = status.topology else {
            throw AdminError.unavailable("cluster topology not known yet (\(status.lastError ?? "discovering"))")
        }
        return Self.report(topology, refreshedAt: status.lastRefresh)
    }

    public func refreshTopology() async throws -> TopologyReport {
        do {
            try await server.refreshTopology()
        } catch {
            throw AdminError.unavailable("topology refresh failed: \(error)")
        }
        let status = server.topologyStatus
        guard let topology = status.topology else {
            throw AdminError.unavailable("topology refresh failed: \(status.lastError ?? "no node answered")")
        }
        return Self.report(topology, refreshedAt: status.lastRefresh)
    }

    static func report(_ topology: ClusterTopology, refreshedAt: Date?) -> TopologyReport {
        func node(_ info: ClusterNodeInfo, epoch: Int64) -> NodeReport {
            NodeReport(
                id: info.id, address: info.endpoint.description, health: info.healthy ? "online" : "failed",
                configEpoch: UInt64(max(0, epoch)))
        }
        var ranges: [SlotRangeReport] = []
        for shard in topology.shards {
            for range in shard.slots {
                ranges.append(
                    SlotRangeReport(
                        start: range.lowerBound, end: range.upperBound,
                        primary: node(shard.primary, epoch: shard.configEpoch),
                        replicas: shard.replicas.map { node($0, epoch: shard.configEpoch) }))
            }
        }
        ranges.sort { $0.start < $1.start }
        let epoch = topology.shards.map(\.configEpoch).max() ?? 0
        return TopologyReport(
            configEpoch: UInt64(max(0, epoch)), refreshedAt: refreshedAt, slotsCovered: topology.coveredSlots,
            ranges: ranges)
    }

    // MARK: Backends, clients, slow log

    public func backends() async throws -> [BackendReport] {
        var merged: [Endpoint: ProxyBackendInfo] = [:]
        for backend in try await server.loopSnapshots().flatMap(\.backends) {
            if var existing = merged[backend.endpoint] {
                existing.connections += backend.connections
                existing.inFlight += backend.inFlight
                existing.requests += backend.requests
                existing.errors += backend.errors
                existing.lastError = backend.lastError ?? existing.lastError
                existing.latency.merge(backend.latency)
                merged[backend.endpoint] = existing
            } else {
                merged[backend.endpoint] = backend
            }
        }
        return merged.values.sorted { $0.endpoint.description < $1.endpoint.description }.map { backend in
            BackendReport(
                address: backend.endpoint.description, connections: backend.connections, inFlight: backend.inFlight,
                latency: LatencySummary(
                    count: backend.latency.total,
                    p50Micros: Double(backend.latency.quantileNanoseconds(0.5)) / 1000,
                    p99Micros: Double(backend.latency.quantileNanoseconds(0.99)) / 1000,
                    maxMicros: Double(backend.latency.maxNanoseconds) / 1000),
                errors: backend.errors, lastError: backend.lastError)
        }
    }

    public func clients() async throws -> [ClientReport] {
        try await server.loopSnapshots().flatMap(\.clients).sorted { $0.id < $1.id }.map { client in
            ClientReport(
                id: UInt64(client.id), address: client.address, name: client.name, ageSeconds: client.ageSeconds,
                idleSeconds: client.idleSeconds, commands: client.commands, pipelineDepth: client.pipelineDepth)
        }
    }

    /// Newest first, as SLOWLOG GET.
    public func slowlog() async throws -> [SlowlogEntry] {
        try await server.loopSnapshots().flatMap(\.slowlog).sorted { $0.id > $1.id }.map { entry in
            SlowlogEntry(
                id: entry.id, startedAt: Date(timeIntervalSince1970: entry.startedAt),
                durationMicros: entry.durationMicros, arguments: entry.arguments, client: entry.client,
                clientName: entry.clientName)
        }
    }

    // MARK: Settings

    public func config() async throws -> [String: String] {
        let configuration = try await server.currentConfiguration()
        var settings = [
            "read-from": configuration.readPolicy.rawValue,
            "backend-timeout": String(configuration.backendTimeout.nanoseconds / 1_000_000),
            "timeout": String(configuration.idleTimeout.nanoseconds / 1_000_000_000),
            "slowlog-log-slower-than": String(configuration.slowlogSlowerThan),
            "slowlog-max-len": String(configuration.slowlogMaxLength),
        ]
        if let logLevel { settings["loglevel"] = logLevel.level.rawValue }
        return settings
    }

    public func setConfig(name: String, value: String) async throws {
        let change: @Sendable (inout ProxyConfiguration) -> Void
        switch name {
        case "read-from":
            guard let policy = ReadPolicy(rawValue: value) else {
                throw AdminError.badRequest("read-from must be primary, prefer-replica or replica")
            }
            change = { $0.readPolicy = policy }
        case "backend-timeout":
            let milliseconds = try Self.integer(value, name: name, range: 0...86_400_000)
            change = { $0.backendTimeout = .milliseconds(Int64(milliseconds)) }
        case "timeout":
            let seconds = try Self.integer(value, name: name, range: 0...Int(Int32.max))
            change = { $0.idleTimeout = .seconds(Int64(seconds)) }
        case "slowlog-log-slower-than":
            let micros = try Self.integer(value, name: name, range: -1...Int(Int64.max / 1000))
            change = { $0.slowlogSlowerThan = micros }
        case "slowlog-max-len":
            let length = try Self.integer(value, name: name, range: 0...Int(Int32.max))
            change = { $0.slowlogMaxLength = length }
        case "loglevel":
            guard let logLevel else { throw AdminError.notFound("unknown setting 'loglevel'") }
            guard let level = LogLevelControl.level(named: value) else {
                throw AdminError.badRequest(
                    "loglevel must be trace, debug, info, notice, warning, error or critical")
            }
            logLevel.level = level
            return
        default:
            throw AdminError.notFound("unknown setting '\(name)'")
        }
        try await server.updateConfiguration(change)
    }

    static func integer(_ value: String, name: String, range: ClosedRange<Int>) throws -> Int {
        guard let number = Int(value), range.contains(number) else {
            throw AdminError.badRequest("\(name) must be an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        return number
    }

    // MARK: Metrics

    public func collectMetrics(into writer: inout PrometheusTextWriter) async {
        guard let snapshots = try? await server.loopSnapshots() else { return }
        let status = server.topologyStatus
        func sum<T: BinaryInteger>(_ field: (ProxyLoopSnapshot) -> T) -> UInt64 {
            snapshots.reduce(0) { $0 &+ UInt64(max(0, field($1))) }
        }
        let bounds = LatencyBuckets.upperBoundsSeconds

        var commands = CommandMetrics()
        for snapshot in snapshots { commands.merge(snapshot.metrics) }
        if server.configuration.metricsEnabled {
            writer.family("keyway_commands_total", type: "counter", help: "Commands answered, by command and result.")
            for command in 0..<CommandMetrics.commandCount {
                for result in 0..<CommandResult.count {
                    let count = commands.counts[command * CommandResult.count + result]
                    guard count > 0 else { continue }
                    writer.sample(
                        "keyway_commands_total",
                        labels: [("command", CommandMetrics.name(of: command)), ("result", CommandResult.labels[result])],
                        count)
                }
            }
            writer.family(
                "keyway_command_duration_seconds", type: "histogram",
                help: "Command latency from the read that brought the command to the write of its reply.")
            for command in 0..<CommandMetrics.commandCount where commands.latency[command].total > 0 {
                let histogram = commands.latency[command]
                writer.histogram(
                    "keyway_command_duration_seconds", labels: [("command", CommandMetrics.name(of: command))],
                    upperBounds: bounds, counts: histogram.counts, sum: Double(histogram.sumNanoseconds) / 1e9)
            }
        }

        var backends: [Endpoint: (latency: LatencyHistogram, errors: UInt64, connections: Int)] = [:]
        for backend in snapshots.flatMap(\.backends) {
            var entry = backends[backend.endpoint] ?? (LatencyHistogram(), 0, 0)
            entry.latency.merge(backend.latency)
            entry.errors += backend.errors
            entry.connections += backend.connections
            backends[backend.endpoint] = entry
        }
        let endpoints = backends.keys.sorted { $0.description < $1.description }
        if server.configuration.metricsEnabled {
            writer.family(
                "keyway_backend_request_duration_seconds", type: "histogram",
                help: "Latency of requests on the shared backend connections, from send to reply, by backend.")
            for endpoint in endpoints {
                let histogram = backends[endpoint]?.latency ?? LatencyHistogram()
                writer.histogram(
                    "keyway_backend_request_duration_seconds", labels: [("backend", endpoint.description)],
                    upperBounds: bounds, counts: histogram.counts, sum: Double(histogram.sumNanoseconds) / 1e9)
            }
        }
        writer.family(
            "keyway_backend_errors_total", type: "counter",
            help: "Backend connections lost, refused or timed out, by backend.")
        for endpoint in endpoints {
            writer.sample("keyway_backend_errors_total", labels: [("backend", endpoint.description)], backends[endpoint]?.errors ?? 0)
        }

        writer.family(
            "keyway_redirects_total", type: "counter",
            help: "Cluster redirections and retries handled by the proxy (moved, ask, tryagain, clusterdown).")
        writer.sample("keyway_redirects_total", labels: [("kind", "moved")], sum(\.moved))
        writer.sample("keyway_redirects_total", labels: [("kind", "ask")], sum(\.ask))
        writer.sample("keyway_redirects_total", labels: [("kind", "tryagain")], sum(\.tryAgain))
        writer.sample("keyway_redirects_total", labels: [("kind", "clusterdown")], sum(\.clusterDown))

        writer.family("keyway_topology_refreshes_total", type: "counter", help: "Topology refreshes, by result.")
        writer.sample("keyway_topology_refreshes_total", labels: [("result", "ok")], status.refreshes)
        writer.sample("keyway_topology_refreshes_total", labels: [("result", "error")], status.failures)
        writer.family(
            "keyway_topology_refresh_duration_seconds", type: "histogram", help: "Duration of topology refreshes.")
        writer.histogram(
            "keyway_topology_refresh_duration_seconds", upperBounds: bounds, counts: status.refreshDurations.counts,
            sum: Double(status.refreshDurations.sumNanoseconds) / 1e9)
        writer.family(
            "keyway_cluster_slots_covered", type: "gauge", help: "Hash slots with a primary in the current topology.")
        writer.sample("keyway_cluster_slots_covered", UInt64(status.topology?.coveredSlots ?? 0))
        writer.family("keyway_cluster_primaries", type: "gauge", help: "Primaries owning slots in the current topology.")
        writer.sample("keyway_cluster_primaries", UInt64(status.topology?.shards.count ?? 0))

        writer.family("keyway_connected_clients", type: "gauge", help: "Client connections open.")
        writer.sample("keyway_connected_clients", sum(\.connectedClients))
        writer.family("keyway_client_connections_total", type: "counter", help: "Client connections accepted.")
        writer.sample("keyway_client_connections_total", sum(\.totalConnections))
        writer.family(
            "keyway_rejected_clients_total", type: "counter",
            help: "Clients refused or closed by a limit (maxclients, query buffer, idle timeout).")
        writer.sample("keyway_rejected_clients_total", labels: [("limit", "maxclients")], sum(\.rejectedClients))
        writer.sample("keyway_rejected_clients_total", labels: [("limit", "query_buffer")], sum(\.closedForQueryBuffer))
        writer.sample("keyway_rejected_clients_total", labels: [("limit", "idle_timeout")], sum(\.closedForIdle))
        writer.family(
            "keyway_protocol_errors_total", type: "counter", help: "Client requests that broke the RESP protocol.")
        writer.sample("keyway_protocol_errors_total", sum(\.protocolErrors))
        writer.family("keyway_backend_connections", type: "gauge", help: "Connections open to backends.")
        writer.sample("keyway_backend_connections", sum(\.backendConnections))
        writer.family(
            "keyway_inflight_commands", type: "gauge",
            help: "Commands sent on the shared backend connections and not answered yet.")
        writer.sample("keyway_inflight_commands", sum(\.inFlight))
        writer.family("keyway_client_received_bytes_total", type: "counter", help: "Bytes read from clients.")
        writer.sample("keyway_client_received_bytes_total", sum(\.bytesIn))
        writer.family("keyway_client_sent_bytes_total", type: "counter", help: "Bytes written to clients.")
        writer.sample("keyway_client_sent_bytes_total", sum(\.bytesOut))
    }
}
