import Foundation
import KeywayAdmin

/// A proxy-like source with every endpoint, fixed data and a settable config.
actor FakeProxySource: AdminSource {
    var settings: [String: String] = ["read-policy": "primary", "slowlog-log-slower-than": "10000"]
    var refreshes = 0
    var isReady = true

    static let topologyReport = TopologyReport(
        configEpoch: 7,
        refreshedAt: Date(timeIntervalSince1970: 1_700_000_000),
        slotsCovered: 16384,
        ranges: [
            SlotRangeReport(
                start: 0, end: 8191,
                primary: NodeReport(id: "a1", address: "127.0.0.1:7000", health: "online", configEpoch: 1),
                replicas: [NodeReport(id: "a2", address: "127.0.0.1:7003", health: "online", configEpoch: 1)]
            ),
            SlotRangeReport(
                start: 8192, end: 16383,
                primary: NodeReport(id: "b1", address: "127.0.0.1:7001", health: "online", configEpoch: 7),
                replicas: []
            ),
        ]
    )

    func setReady(_ ready: Bool) { isReady = ready }

    func readiness() async -> Readiness {
        isReady ? Readiness(ready: true, reason: "ok") : Readiness(ready: false, reason: "slot 0 not covered")
    }

    func topology() async throws -> TopologyReport { Self.topologyReport }

    func refreshTopology() async throws -> TopologyReport {
        refreshes += 1
        return Self.topologyReport
    }

    func backends() async throws -> [BackendReport] {
        [
            BackendReport(
                address: "127.0.0.1:7000", connections: 2, inFlight: 3,
                latency: LatencySummary(count: 10, p50Micros: 80, p99Micros: 400, maxMicros: 900),
                errors: 1, lastError: "connection reset"
            )
        ]
    }

    func clients() async throws -> [ClientReport] {
        [
            ClientReport(
                id: 1, address: "127.0.0.1:50000", name: "worker", ageSeconds: 12, idleSeconds: 1, commands: 42,
                pipelineDepth: 0
            )
        ]
    }

    func slowlog() async throws -> [SlowlogEntry] {
        [
            SlowlogEntry(
                id: 3, startedAt: Date(timeIntervalSince1970: 1_700_000_100), durationMicros: 25_000,
                arguments: ["KEYS", "*"], client: "127.0.0.1:50000", clientName: "worker"
            )
        ]
    }

    func config() async throws -> [String: String] { settings }

    func setConfig(name: String, value: String) async throws {
        guard settings[name] != nil else { throw AdminError.notFound("unknown setting '\(name)'") }
        if name == "read-policy", !["primary", "replica", "prefer-replica"].contains(value) {
            throw AdminError.badRequest("read-policy must be primary, replica or prefer-replica")
        }
        settings[name] = value
    }
}

/// A node-like source that implements only readiness: every other endpoint keeps the 404 default.
struct MinimalSource: AdminSource {}
