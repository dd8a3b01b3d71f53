import ClusterModel
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import RESP
import Synchronization

/// The control plane of the proxy: discovers the cluster from the seeds and known nodes (CLUSTER SHARDS, falling
/// back to CLUSTER SLOTS, then CLUSTER NODES), refreshes it periodically and on demand, and publishes each new
/// topology to every event loop's router.
final class TopologyManager: Sendable {
    struct Snapshot: Sendable {
        var topology: ClusterTopology?
        var lastRefresh: Date?
        var lastSource: Endpoint?
        var lastError: String?
        var refreshes: UInt64 = 0
        var failures: UInt64 = 0
        var lastDuration: Double = 0
        /// Durations of the refreshes (successful or not).
        var durations = LatencyHistogram()
    }

    private struct State {
        var snapshot = Snapshot()
        var routers: [Router] = []
        var refreshing = false
        var again = false
        var scheduled = false
        var lastStart = NIODeadline.uptimeNanoseconds(0)
        var clients = 0
        var nextClientID = 1
        var stopped = false
        var waiters: [EventLoopPromise<Void>] = []
    }

    let configuration: ProxyConfiguration
    let eventLoop: any EventLoop
    private let state = NIOLockedValueBox(State())
    /// Slow log entry ids, shared by every loop's slow log (as Redis's, unique and increasing), without a lock.
    private let slowlogIDs = Atomic<UInt64>(0)
    private let logger: Logger
    let startedAt = Date()

    init(configuration: ProxyConfiguration, eventLoop: any EventLoop, logger: Logger) {
        self.configuration = configuration
        self.eventLoop = eventLoop
        self.logger = logger
    }

    var routers: [Router] {
        get { state.withLockedValue { $0.routers } }
        set { state.withLockedValue { $0.routers = newValue } }
    }

    var snapshot: Snapshot { state.withLockedValue { $0.snapshot } }

    var uptimeSeconds: Int { Int(Date().timeIntervalSince(startedAt)) }

    // MARK: Clients (global counts for maxclients and ids)

    /// Admits a new client unless `maxclients` are connected; returns its id.
    func admitClient() -> Int? {
        state.withLockedValue { state in
            guard state.clients < configuration.maxClients else { return nil }
            state.clients += 1
            defer { state.nextClientID += 1 }
            return state.nextClientID
        }
    }

    func clientLeft() {
        state.withLockedValue { $0.clients -= 1 }
    }

    var connectedClients: Int { state.withLockedValue { $0.clients } }

    // MARK: Refreshing

    func start() {
        refreshNow()
        scheduleNextPeriodic()
    }

    func stop() {
        state.withLockedValue { $0.stopped = true }
    }

    private func scheduleNextPeriodic() {
        let known = snapshot.topology != nil
        let delay = known ? configuration.refreshInterval : min(configuration.refreshInterval, .seconds(1))
        eventLoop.scheduleTask(in: delay) { [self] in
            guard !state.withLockedValue({ $0.stopped }) else { return }
            refreshNow()
            scheduleNextPeriodic()
        }
    }

    /// Asks for a refresh soon (a MOVED, a lost backend); at most one per `minRefreshInterval`.
    func requestRefresh() {
        let action: (now: Bool, after: TimeAmount?) = state.withLockedValue { state in
            if state.stopped { return (false, nil) }
            if state.refreshing {
                state.again = true
                return (false, nil)
            }
            let elapsed = NIODeadline.now() - state.lastStart
            if elapsed >= configuration.minRefreshInterval { return (true, nil) }
            if state.scheduled { return (false, nil) }
            state.scheduled = true
            return (false, configuration.minRefreshInterval - elapsed)
        }
        if action.now {
            eventLoop.execute { self.refreshNow() }
        } else if let delay = action.after {
            eventLoop.scheduleTask(in: delay) { [self] in
                state.withLockedValue { $0.scheduled = false }
                refreshNow()
            }
        }
    }

    /// Starts a refresh unless one is running (which then runs once more).
    func refreshNow() {
        let start = state.withLockedValue { state -> Bool in
            if state.refreshing || state.stopped {
                state.again = true
                return false
            }
            state.refreshing = true
            state.again = false
            state.lastStart = .now()
            return true
        }
        guard start else { return }
        let began = NIODeadline.now()
        fetch(candidates: candidates(), index: 0, best: nil, errors: []).whenComplete { [self] result in
            let again: Bool = state.withLockedValue { state in
                state.refreshing = false
                let elapsed = (NIODeadline.now() - began).nanoseconds
                state.snapshot.lastDuration = Double(elapsed) / 1e9
                state.snapshot.durations.record(nanoseconds: UInt64(max(0, elapsed)))
                switch result {
                case .success(let (topology, source)):
                    state.snapshot.topology = topology
                    state.snapshot.lastRefresh = Date()
                    state.snapshot.lastSource = source
                    state.snapshot.lastError = nil
                    state.snapshot.refreshes += 1
                case .failure(let error):
                    state.snapshot.failures += 1
                    state.snapshot.lastError = "\(error)"
                }
                return state.again
            }
            let waiters = state.withLockedValue { state in
                defer { state.waiters = [] }
                return again ? [] : state.waiters
            }
            switch result {
            case .success(let (topology, _)):
                publish(topology)
            case .failure(let error):
                logger.warning("topology refresh failed", metadata: ["error": "\(error)"])
            }
            if again { requestRefresh() }
            for waiter in waiters { waiter.succeed() }
        }
    }

    /// Refreshes now (or joins the refresh running) and completes once the routers have the result.
    func refreshAndWait() -> EventLoopFuture<Void> {
        let promise = eventLoop.makePromise(of: Void.self)
        state.withLockedValue { $0.waiters.append(promise) }
        refreshNow()
        // Publishing hops to every loop; one more hop to each makes sure they have applied it.
        let routers = self.routers
        return promise.futureResult.flatMap { [eventLoop] in
            EventLoopFuture.andAllSucceed(routers.map { $0.eventLoop.submit {} }, on: eventLoop)
        }
    }

    /// A process-wide id for a slow log entry.
    func nextSlowlogID() -> UInt64 {
        slowlogIDs.wrappingAdd(1, ordering: .relaxed).oldValue
    }

    private func publish(_ topology: ClusterTopology) {
        for router in routers {
            router.eventLoop.execute { router.apply(topology) }
        }
    }

    /// Known primaries first (they know the latest config), then their replicas, then the seeds.
    private func candidates() -> [Endpoint] {
        var list: [Endpoint] = []
        if let topology = snapshot.topology {
            list += topology.shards.map(\.primary.endpoint)
            list += topology.shards.flatMap { $0.replicas.map(\.endpoint) }
        }
        list += configuration.seeds
        var seen = Set<Endpoint>()
        return list.filter { seen.insert($0).inserted }
    }

    struct RefreshError: Error, CustomStringConvertible {
        var description: String
    }

    private func fetch(candidates: [Endpoint], index: Int, best: (ClusterTopology, Endpoint)?, errors: [String])
        -> EventLoopFuture<(ClusterTopology, Endpoint)>
    {
        guard index < candidates.count else {
            if let best { return eventLoop.makeSucceededFuture(best) }
            let reason = errors.isEmpty ? "no seed configured" : errors.joined(separator: "; ")
            return eventLoop.makeFailedFuture(RefreshError(description: reason))
        }
        let endpoint = candidates[index]
        return query(endpoint).flatMap { topology in
            // A node that serves no slot (not yet joined) is kept only as a last resort.
            if topology.shards.isEmpty {
                return self.fetch(candidates: candidates, index: index + 1, best: best ?? (topology, endpoint), errors: errors)
            }
            return self.eventLoop.makeSucceededFuture((topology, endpoint))
        }.flatMapError { error in
            self.fetch(candidates: candidates, index: index + 1, best: best, errors: errors + ["\(endpoint): \(error)"])
        }
    }

    /// Asks one node for the topology: CLUSTER SHARDS, then CLUSTER SLOTS, then CLUSTER NODES.
    func query(_ endpoint: Endpoint) -> EventLoopFuture<ClusterTopology> {
        let loop = eventLoop
        let promise = loop.makePromise(of: ClusterTopology.self)
        loop.execute {
            let connection = BackendConnection(
                endpoint: endpoint, eventLoop: loop, resp3: false, readonly: false, timeout: .zero, flusher: nil)
            connection.connect(connectTimeout: self.configuration.connectTimeout)
            let bound = NIOLoopBound(connection, eventLoop: loop)
            let timeout = loop.scheduleTask(in: self.configuration.connectTimeout + .seconds(2)) {
                bound.value.close(reason: "timed out")
                promise.fail(RefreshError(description: "timed out"))
            }
            var replies: [RESPToken?] = [nil, nil, nil]
            var received = 0
            let sink = CallbackSink { reply, tag in
                guard tag < 3 else { return }
                replies[tag] = reply
                received += 1
                guard received == 3 else { return }
                timeout.cancel()
                bound.value.close(reason: "done")
                do {
                    promise.succeed(try Self.parse(replies, seedHost: endpoint.host))
                } catch {
                    promise.fail(error)
                }
            }
            for (tag, command) in [["CLUSTER", "SHARDS"], ["CLUSTER", "SLOTS"], ["CLUSTER", "NODES"]].enumerated() {
                var buffer = ByteBuffer()
                buffer.writeRESPCommand(command)
                connection.send(
                    buffer,
                    InFlight(sink: sink, tag: tag, request: buffer, slot: -1, attempts: 0, kind: .raw, lane: .shared, resp3: false))
            }
        }
        return promise.futureResult
    }

    static func parse(_ replies: [RESPToken?], seedHost: String) throws -> ClusterTopology {
        var problems: [String] = []
        if let shards = replies[0] {
            if let text = shards.errorText { problems.append(text) } else if let topology = try? ClusterTopology.parse(shards: shards, seedHost: seedHost) {
                return topology
            }
        }
        if let slots = replies[1] {
            if let text = slots.errorText { problems.append(text) } else if let topology = try? ClusterTopology.parse(slots: slots, seedHost: seedHost) {
                return topology
            }
        }
        if let nodes = replies[2] {
            if let text = nodes.errorText {
                problems.append(text)
            } else if case .bulkString(let body) = nodes.value {
                return try ClusterTopology.parse(nodes: String(buffer: body), seedHost: seedHost)
            } else if case .verbatimString(_, let body) = nodes.value {
                return try ClusterTopology.parse(nodes: String(buffer: body), seedHost: seedHost)
            }
        }
        throw RefreshError(description: problems.last ?? "unreadable topology replies")
    }

    // MARK: Reporting

    /// The `# Proxy` section of INFO.
    func infoSection() -> String {
        let snapshot = self.snapshot
        var text = "# Proxy\r\n"
        text += "topology_known:\(snapshot.topology == nil ? 0 : 1)\r\n"
        text += "cluster_slots_covered:\(snapshot.topology?.coveredSlots ?? 0)\r\n"
        text += "cluster_primaries:\(snapshot.topology?.shards.count ?? 0)\r\n"
        text += "topology_refreshes:\(snapshot.refreshes)\r\ntopology_refresh_failures:\(snapshot.failures)\r\n"
        if let last = snapshot.lastRefresh {
            text += "topology_last_refresh_seconds_ago:\(Int(Date().timeIntervalSince(last)))\r\n"
        }
        text += "read_from:\(configuration.readPolicy.rawValue)\r\n"
        text += "max_redirects:\(configuration.maxRedirects)\r\n\r\n"
        return text
    }
}
