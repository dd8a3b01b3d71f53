import ClusterModel
import Foundation
import NIOCore

/// A client connection as the admin endpoint lists it.
package struct ProxyClientInfo: Sendable {
    package var id: Int
    package var address: String
    package var name: String
    package var ageSeconds: Double
    package var idleSeconds: Double
    package var commands: UInt64
    package var pipelineDepth: Int
}

/// One backend as one event loop sees it.
package struct ProxyBackendInfo: Sendable {
    package var endpoint: Endpoint
    package var connections: Int
    package var inFlight: Int
    package var requests: UInt64
    package var errors: UInt64
    package var lastError: String?
    package var latency: LatencyHistogram
}

/// What one event loop has counted, copied on that loop.
package struct ProxyLoopSnapshot: Sendable {
    package var connectedClients: Int
    package var totalConnections: Int
    package var rejectedClients: Int
    package var closedForQueryBuffer: UInt64
    package var closedForIdle: UInt64
    package var protocolErrors: UInt64
    package var commands: UInt64
    package var backendConnections: Int
    package var backendErrors: UInt64
    package var moved: UInt64
    package var ask: UInt64
    package var tryAgain: UInt64
    package var clusterDown: UInt64
    package var bytesIn: UInt64
    package var bytesOut: UInt64
    package var inFlight: Int
    package var metrics: CommandMetrics
    package var slowlog: [ProxySlowlogEntry]
    package var backends: [ProxyBackendInfo]
    package var clients: [ProxyClientInfo]
}

/// The topology manager's state, for the admin endpoint.
package struct ProxyTopologyStatus: Sendable {
    package var topology: ClusterTopology?
    package var lastRefresh: Date?
    package var lastError: String?
    package var refreshes: UInt64
    package var failures: UInt64
    package var refreshDurations: LatencyHistogram
}

/// The admin endpoint's view of a running proxy: snapshots taken on each event loop, and the settings that can
/// change at run time. Nothing here runs on the data plane's per-request path.
extension ProxyServer {
    /// The event loop group the proxy runs on (the admin endpoint shares it).
    package var eventLoopGroup: any EventLoopGroup { group }

    /// One snapshot per event loop, each taken on its loop.
    package func loopSnapshots() async throws -> [ProxyLoopSnapshot] {
        var snapshots: [ProxyLoopSnapshot] = []
        for router in topology.routers {
            snapshots.append(try await router.eventLoop.submit { router.snapshot() }.get())
        }
        return snapshots
    }

    package var topologyStatus: ProxyTopologyStatus {
        let snapshot = topology.snapshot
        return ProxyTopologyStatus(
            topology: snapshot.topology, lastRefresh: snapshot.lastRefresh, lastError: snapshot.lastError,
            refreshes: snapshot.refreshes, failures: snapshot.failures, refreshDurations: snapshot.durations)
    }

    /// Refreshes the topology now and returns once every loop routes by it.
    package func refreshTopology() async throws {
        try await topology.refreshAndWait().get()
    }

    /// The settings in force (the first loop's; every loop has the same).
    package func currentConfiguration() async throws -> ProxyConfiguration {
        guard let router = topology.routers.first else { return configuration }
        return try await router.eventLoop.submit { router.configuration }.get()
    }

    /// Changes run-time settings on every loop (each on its own loop).
    package func updateConfiguration(_ change: @escaping @Sendable (inout ProxyConfiguration) -> Void) async throws {
        for router in topology.routers {
            try await router.eventLoop.submit { router.updateConfiguration(change) }.get()
        }
    }
}

extension Router {
    func snapshot() -> ProxyLoopSnapshot {
        var inFlight = 0
        var connectionsByEndpoint: [Endpoint: (count: Int, inFlight: Int)] = [:]
        for connection in pooledConnections {
            inFlight += connection.inFlight
            connectionsByEndpoint[connection.endpoint, default: (0, 0)].count += 1
            connectionsByEndpoint[connection.endpoint, default: (0, 0)].inFlight += connection.inFlight
        }
        let backends = backendStats.map { endpoint, stats in
            ProxyBackendInfo(
                endpoint: endpoint, connections: connectionsByEndpoint[endpoint]?.count ?? 0,
                inFlight: connectionsByEndpoint[endpoint]?.inFlight ?? 0, requests: stats.requests,
                errors: stats.errors, lastError: stats.lastError, latency: stats.latency)
        }
        return ProxyLoopSnapshot(
            connectedClients: stats.connectedClients, totalConnections: stats.totalConnections,
            rejectedClients: stats.rejectedClients, closedForQueryBuffer: stats.closedForQueryBuffer,
            closedForIdle: stats.closedForIdle, protocolErrors: stats.protocolErrors, commands: stats.commands,
            backendConnections: stats.backendConnections, backendErrors: stats.backendErrors, moved: stats.moved,
            ask: stats.ask, tryAgain: stats.tryAgain, clusterDown: stats.clusterDown, bytesIn: stats.bytesIn,
            bytesOut: stats.bytesOut, inFlight: inFlight, metrics: metrics, slowlog: slowlog.entries,
            backends: backends, clients: clients.values.map { $0.adminInfo() })
    }

    func updateConfiguration(_ change: (inout ProxyConfiguration) -> Void) {
        var updated = configuration
        change(&updated)
        // Only the run-time settings take effect; the rest was fixed at start.
        configuration.readPolicy = updated.readPolicy
        configuration.idleTimeout = updated.idleTimeout
        configuration.slowlogSlowerThan = updated.slowlogSlowerThan
        configuration.slowlogMaxLength = updated.slowlogMaxLength
        if configuration.backendTimeout != updated.backendTimeout {
            configuration.backendTimeout = updated.backendTimeout
            setBackendTimeout(updated.backendTimeout)
        }
        if slowlog.entries.count > configuration.slowlogMaxLength {
            let kept = slowlog.entries.sorted { $0.id > $1.id }.prefix(configuration.slowlogMaxLength)
            slowlog.reset()
            for entry in kept.reversed() { slowlog.push(entry, maxLength: configuration.slowlogMaxLength) }
        }
    }
}

extension ProxyClientHandler {
    func adminInfo() -> ProxyClientInfo {
        let now = NIODeadline.now()
        return ProxyClientInfo(
            id: id, address: remoteAddress, name: name.map { String(buffer: $0) } ?? "",
            ageSeconds: Double((now - createdAt).nanoseconds) / 1e9,
            idleSeconds: Double((now - lastActivity).nanoseconds) / 1e9, commands: commandsProcessed,
            pipelineDepth: pendingReplies)
    }
}
