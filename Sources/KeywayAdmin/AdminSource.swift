import Foundation

/// What a role (proxy, node, sentinel) shows through the admin endpoint.
///
/// Every method has a default that answers 404, so a role implements only the endpoints it has
/// (`/v1/backends` and `POST /v1/topology/refresh` are the proxy's). Methods run on the control plane
/// (async, off the data plane's event loops' hot path); implementations read snapshots, never block a loop.
public protocol AdminSource: Sendable {
    /// `GET /readyz`: whether the process can serve (proxy: topology known, every slot covered by a reachable
    /// primary; node: loaded and, in cluster mode, cluster state ok).
    func readiness() async -> Readiness
    /// `GET /v1/topology`: slot ranges and the nodes that serve them.
    func topology() async throws -> TopologyReport
    /// `GET /v1/backends` (proxy): one entry per backend address.
    func backends() async throws -> [BackendReport]
    /// `GET /v1/clients`: connected clients, like `CLIENT LIST`.
    func clients() async throws -> [ClientReport]
    /// `GET /v1/slowlog`: the slowest recent commands, slowest first or newest first as the role keeps them.
    func slowlog() async throws -> [SlowlogEntry]
    /// `POST /v1/topology/refresh` (proxy): refresh the slot map now and return the new topology.
    func refreshTopology() async throws -> TopologyReport
    /// `GET /v1/config`: the settings that can change at run time, by name.
    func config() async throws -> [String: String]
    /// `PUT /v1/config/{name}`: change one setting; throws `AdminError.notFound` for an unknown name and
    /// `AdminError.badRequest` for a value the setting does not accept.
    func setConfig(name: String, value: String) async throws
    /// Called before each `/metrics` scrape, so a role can set gauges from its state (clients, keys, slots).
    func updateMetrics() async
    /// Writes the metric families a role keeps itself (counted on its event loops, merged here at scrape time),
    /// appended after the registry's families in `/metrics`.
    func collectMetrics(into writer: inout PrometheusTextWriter) async
}

extension AdminSource {
    public func readiness() async -> Readiness { Readiness(ready: true, reason: "ok") }
    public func topology() async throws -> TopologyReport { throw AdminError.notFound("no topology in this role") }
    public func backends() async throws -> [BackendReport] { throw AdminError.notFound("no backends in this role") }
    public func clients() async throws -> [ClientReport] { throw AdminError.notFound("no clients in this role") }
    public func slowlog() async throws -> [SlowlogEntry] { throw AdminError.notFound("no slowlog in this role") }
    public func refreshTopology() async throws -> TopologyReport {
        throw AdminError.notFound("no topology refresh in this role")
    }
    public func config() async throws -> [String: String] { [:] }
    public func setConfig(name: String, value: String) async throws {
        throw AdminError.notFound("unknown setting '\(name)'")
    }
    public func updateMetrics() async {}
    public func collectMetrics(into writer: inout PrometheusTextWriter) async {}
}

/// An error an admin endpoint answers with: an HTTP status and a message, sent as `{"error": ..., "status": N}`.
public struct AdminError: Error, Equatable, Sendable {
    /// The HTTP status code.
    public var status: Int
    /// What went wrong, in plain words.
    public var message: String

    public init(status: Int, message: String) {
        self.status = status
        self.message = message
    }

    /// 400: the request was malformed or a value was not accepted.
    public static func badRequest(_ message: String) -> AdminError { AdminError(status: 400, message: message) }
    /// 404: no such resource (or not in this role).
    public static func notFound(_ message: String) -> AdminError { AdminError(status: 404, message: message) }
    /// 409: the request conflicts with the current state (for example a refresh already running).
    public static func conflict(_ message: String) -> AdminError { AdminError(status: 409, message: message) }
    /// 503: the role cannot answer now (for example no topology yet).
    public static func unavailable(_ message: String) -> AdminError { AdminError(status: 503, message: message) }
}

/// `GET /readyz`'s answer: 200 when `ready`, else 503, with the reason.
public struct Readiness: Codable, Equatable, Sendable {
    public var ready: Bool
    public var reason: String

    public init(ready: Bool, reason: String) {
        self.ready = ready
        self.reason = reason
    }
}

/// The cluster as a role sees it: slot ranges → primary and replicas.
public struct TopologyReport: Codable, Equatable, Sendable {
    /// The highest config epoch seen.
    public var configEpoch: UInt64
    /// When the slot map was last refreshed (nil when never).
    public var refreshedAt: Date?
    /// Slots covered by some primary (16384 when the cluster is whole).
    public var slotsCovered: Int
    public var ranges: [SlotRangeReport]

    public init(configEpoch: UInt64, refreshedAt: Date?, slotsCovered: Int, ranges: [SlotRangeReport]) {
        self.configEpoch = configEpoch
        self.refreshedAt = refreshedAt
        self.slotsCovered = slotsCovered
        self.ranges = ranges
    }
}

/// One contiguous slot range and who serves it.
public struct SlotRangeReport: Codable, Equatable, Sendable {
    public var start: Int
    public var end: Int
    public var primary: NodeReport
    public var replicas: [NodeReport]

    public init(start: Int, end: Int, primary: NodeReport, replicas: [NodeReport]) {
        self.start = start
        self.end = end
        self.primary = primary
        self.replicas = replicas
    }
}

/// A cluster node in a topology report.
public struct NodeReport: Codable, Equatable, Sendable {
    public var id: String
    /// `host:port`.
    public var address: String
    /// `online`, `loading`, `failed` or `unknown`, as the role last saw it.
    public var health: String
    public var configEpoch: UInt64

    public init(id: String, address: String, health: String, configEpoch: UInt64) {
        self.id = id
        self.address = address
        self.health = health
        self.configEpoch = configEpoch
    }
}

/// One backend of the proxy.
public struct BackendReport: Codable, Equatable, Sendable {
    /// `host:port`.
    public var address: String
    /// Open connections to it, over all event loops.
    public var connections: Int
    /// Commands sent and not yet answered.
    public var inFlight: Int
    public var latency: LatencySummary
    /// Errors since start (connection failures, timeouts).
    public var errors: UInt64
    public var lastError: String?

    public init(
        address: String, connections: Int, inFlight: Int, latency: LatencySummary, errors: UInt64,
        lastError: String?
    ) {
        self.address = address
        self.connections = connections
        self.inFlight = inFlight
        self.latency = latency
        self.errors = errors
        self.lastError = lastError
    }
}

/// A latency summary in microseconds.
public struct LatencySummary: Codable, Equatable, Sendable {
    public var count: UInt64
    public var p50Micros: Double
    public var p99Micros: Double
    public var maxMicros: Double

    public init(count: UInt64, p50Micros: Double, p99Micros: Double, maxMicros: Double) {
        self.count = count
        self.p50Micros = p50Micros
        self.p99Micros = p99Micros
        self.maxMicros = maxMicros
    }
}

/// A connected client, like a line of `CLIENT LIST`.
public struct ClientReport: Codable, Equatable, Sendable {
    public var id: UInt64
    /// `host:port` of the peer.
    public var address: String
    /// The name set by `CLIENT SETNAME` (empty when none).
    public var name: String
    public var ageSeconds: Double
    public var idleSeconds: Double
    /// Commands received since connect.
    public var commands: UInt64
    /// Commands received and not yet answered.
    public var pipelineDepth: Int

    public init(
        id: UInt64, address: String, name: String, ageSeconds: Double, idleSeconds: Double, commands: UInt64,
        pipelineDepth: Int
    ) {
        self.id = id
        self.address = address
        self.name = name
        self.ageSeconds = ageSeconds
        self.idleSeconds = idleSeconds
        self.commands = commands
        self.pipelineDepth = pipelineDepth
    }
}

/// A slow command, like an entry of `SLOWLOG GET`.
public struct SlowlogEntry: Codable, Equatable, Sendable {
    public var id: UInt64
    /// When the command started.
    public var startedAt: Date
    public var durationMicros: UInt64
    /// The command and its first arguments (truncated as Redis does).
    public var arguments: [String]
    /// `host:port` of the client.
    public var client: String
    public var clientName: String

    public init(
        id: UInt64, startedAt: Date, durationMicros: UInt64, arguments: [String], client: String,
        clientName: String
    ) {
        self.id = id
        self.startedAt = startedAt
        self.durationMicros = durationMicros
        self.arguments = arguments
        self.client = client
        self.clientName = clientName
    }
}
