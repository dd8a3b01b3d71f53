import ClusterModel
import NIOCore
import NIOPosix
import RESP

/// One event loop's data plane: its copy of the slot map, its shared backend connections, the redirect engine and
/// the flush batching for every channel of the loop.
///
/// Confined to its event loop: every method runs there, so nothing here takes a lock.
final class Router: BackendFlusher, @unchecked Sendable {
    let eventLoop: any EventLoop
    /// The settings in force on this loop; the admin endpoint changes the run-time ones (on this loop).
    var configuration: ProxyConfiguration
    let table = CommandTable.redis70
    let topology: TopologyManager
    let stats: LoopStats
    /// Per-command counts and latencies of this loop's clients (when `configuration.metricsEnabled`).
    var metrics = CommandMetrics()
    var slowlog = ProxySlowlog()
    /// Per-backend request counts, errors and latency, by endpoint.
    private(set) var backendStats: [Endpoint: BackendStats] = [:]
    /// The loop's clock for instrumentation.
    let clock: LoopClock

    /// This loop's slot map: a copy of the latest topology, patched by MOVED replies.
    private(set) var slotMap = SlotMap()
    /// True once a topology was applied.
    private(set) var topologyKnown = false
    /// Primaries that own slots, in slot-map order (fan-out targets), and its SCAN ordering.
    private(set) var primaryIndexes: [Int] = []

    private struct PoolKey: Hashable {
        var endpoint: Endpoint
        var resp3: Bool
        var readonly: Bool
    }

    private var pool: [PoolKey: BackendConnection] = [:]
    /// Shared connections by slot-map index, RESP2 then RESP3: the hot path's lookup.
    private var byIndex: [[BackendConnection?]] = [[], []]
    /// Endpoints whose last connection attempt failed, and until when requests to them fail at once.
    private var backoff: [Endpoint: (until: NIODeadline, delay: TimeAmount)] = [:]
    private var replicaCursor = 0

    private var splitScratch = SplitScratch()
    private var dirtyBackends: [BackendConnection] = []
    private var dirtyClients: [ProxyClientHandler] = []
    private var flushScheduled = false
    /// Clients holding back the first replies of a pipeline until the rest arrive (`ProxyClientHandler.flush()`),
    /// written when the configuration's `replyHold` is up if they are still waiting.
    private var heldClients: [ProxyClientHandler] = []
    private var holdTimerScheduled = false

    init(eventLoop: any EventLoop, configuration: ProxyConfiguration, topology: TopologyManager, stats: LoopStats) {
        self.eventLoop = eventLoop
        self.configuration = configuration
        self.topology = topology
        self.stats = stats
        self.clock = LoopClock(enabled: configuration.metricsEnabled)
    }

    // MARK: Topology

    /// Replaces the slot map with a fresh topology.
    func apply(_ topology: ClusterTopology) {
        slotMap = SlotMap(topology)
        topologyKnown = true
        primaryIndexes = slotMap.activePrimaryIndexes
        rebuildIndex()
    }

    private func rebuildIndex() {
        for resp3 in [false, true] {
            byIndex[resp3 ? 1 : 0] = slotMap.endpoints.map {
                pool[PoolKey(endpoint: $0, resp3: resp3, readonly: false)]
            }
        }
    }

    // MARK: Connections

    /// The shared connection to the primary at slot-map `index`; nil while that backend is in backoff.
    @inline(__always)
    func sharedConnection(index: Int, resp3: Bool) -> BackendConnection? {
        let row = resp3 ? 1 : 0
        if index < byIndex[row].count, let connection = byIndex[row][index] {
            return connection
        }
        let connection = sharedConnection(to: slotMap.endpoints[index], resp3: resp3, readonly: false)
        if index < byIndex[row].count { byIndex[row][index] = connection }
        return connection
    }

    /// The shared connection to `endpoint`, opened on first use; nil while the endpoint is in backoff.
    func sharedConnection(to endpoint: Endpoint, resp3: Bool, readonly: Bool) -> BackendConnection? {
        let key = PoolKey(endpoint: endpoint, resp3: resp3, readonly: readonly)
        if let existing = pool[key] { return existing }
        if let down = backoff[endpoint], down.until > .now() { return nil }
        let connection = BackendConnection(
            endpoint: endpoint, eventLoop: eventLoop, resp3: resp3, readonly: readonly,
            timeout: configuration.backendTimeout, flusher: self)
        connection.stats = statsOfBackend(endpoint)
        connection.onClose = { [unowned self] connection, reason in
            self.connectionClosed(connection, key: key, reason: reason)
        }
        pool[key] = connection
        stats.backendConnections += 1
        connection.connect(connectTimeout: configuration.connectTimeout)
        return connection
    }

    /// A connection of one client's own (transactions, pub/sub, blocking commands): not pooled, no timeout.
    func exclusiveConnection(to endpoint: Endpoint, resp3: Bool) -> BackendConnection {
        let connection = BackendConnection(
            endpoint: endpoint, eventLoop: eventLoop, resp3: resp3, readonly: false, timeout: .zero, flusher: self)
        stats.backendConnections += 1
        connection.onClose = { [unowned self] _, _ in self.stats.backendConnections -= 1 }
        connection.connect(connectTimeout: configuration.connectTimeout)
        return connection
    }

    /// This loop's statistics of `endpoint`.
    func statsOfBackend(_ endpoint: Endpoint) -> BackendStats {
        if let existing = backendStats[endpoint] { return existing }
        let created = BackendStats(clock: clock)
        backendStats[endpoint] = created
        return created
    }

    /// The shared connections of this loop, with what is in flight on each.
    var pooledConnections: [(endpoint: Endpoint, inFlight: Int)] {
        pool.values.map { ($0.endpoint, $0.inFlightCount) }
    }


    /// Applies a new backend timeout to the pooled connections (new ones get it from the configuration).
    func setBackendTimeout(_ timeout: TimeAmount) {
        for connection in pool.values { connection.setTimeout(timeout) }
    }

    private func connectionClosed(_ connection: BackendConnection, key: PoolKey, reason: String) {
        stats.backendConnections -= 1
        stats.backendErrors += 1
        if let backend = backendStats[key.endpoint] {
            backend.errors &+= 1
            backend.lastError = reason
        }
        if pool[key] === connection { pool[key] = nil }
        for row in byIndex.indices {
            for index in byIndex[row].indices where byIndex[row][index] === connection {
                byIndex[row][index] = nil
            }
        }
        if reason.hasPrefix("unreachable") {
            let delay = min((backoff[key.endpoint]?.delay ?? .milliseconds(50)) * 2, .seconds(2))
            backoff[key.endpoint] = (.now() + delay, delay)
        } else {
            backoff[key.endpoint] = nil
        }
        topology.requestRefresh()
    }

    /// An error reply for requests to an endpoint in backoff.
    func unreachable(_ endpoint: Endpoint) -> RESPToken {
        ProxyErrors.token("ERR backend \(endpoint) is unreachable; retrying in the background")
    }

    // MARK: Dispatch

    /// Sends `request` to the owner of `slot` (the primary, or a replica for reads under a replica policy).
    @inline(__always)
    func send(_ request: ByteBuffer, slot: Int, readonly: Bool, resp3: Bool, sink: any ReplySink, tag: Int) {
        guard let index = slotMap.ownerIndex(of: slot) else {
            sink.receive(ProxyErrors.clusterDown, tag: tag)
            return
        }
        let entry = InFlight(
            sink: sink, tag: tag, request: request, slot: Int32(slot), attempts: 0, kind: .routed, lane: .shared,
            resp3: resp3, sentAt: clock.nanoseconds)
        if readonly && configuration.readPolicy != .primary, let replica = replicaConnection(index: index, resp3: resp3) {
            replica.send(request, entry)
            return
        }
        guard let connection = sharedConnection(index: index, resp3: resp3) else {
            sink.receive(unreachable(slotMap.endpoints[index]), tag: tag)
            return
        }
        connection.send(request, entry)
    }

    /// Sends a keyless request to one primary (round robin over the primaries that own slots).
    func sendToAnyPrimary(_ request: ByteBuffer, resp3: Bool, sink: any ReplySink, tag: Int) {
        guard !primaryIndexes.isEmpty else {
            sink.receive(ProxyErrors.clusterDown, tag: tag)
            return
        }
        replicaCursor &+= 1
        let index = primaryIndexes[replicaCursor % primaryIndexes.count]
        sendToPrimary(index: index, request, resp3: resp3, sink: sink, tag: tag)
    }

    /// Sends a request to the primary at slot-map `index` as it is (fan-out parts).
    func sendToPrimary(index: Int, _ request: ByteBuffer, resp3: Bool, sink: any ReplySink, tag: Int) {
        guard let connection = sharedConnection(index: index, resp3: resp3) else {
            sink.receive(unreachable(slotMap.endpoints[index]), tag: tag)
            return
        }
        connection.send(
            request, InFlight(sink: sink, tag: tag, request: request, slot: -1, attempts: 0, kind: .routed, lane: .shared, resp3: resp3))
    }

    /// The primary that owns `slot`, or with no slot the first primary; nil when none does.
    func primary(forSlot slot: Int?) -> Endpoint? {
        if let slot { return slotMap.owner(of: slot) }
        return primaryIndexes.first.map { slotMap.endpoints[$0] }
    }

    private func replicaConnection(index: Int, resp3: Bool) -> BackendConnection? {
        guard index < slotMap.replicas.count else { return nil }
        let replicas = slotMap.replicas[index]
        guard !replicas.isEmpty else { return nil }
        replicaCursor &+= 1
        for offset in 0..<replicas.count {
            let endpoint = replicas[(replicaCursor &+ offset) % replicas.count]
            if let connection = sharedConnection(to: endpoint, resp3: resp3, readonly: true) { return connection }
        }
        return nil
    }

    // MARK: Redirect engine

    /// Handles MOVED, ASK, TRYAGAIN and CLUSTERDOWN for a routed request; false when the error is for the client.
    func handleClusterError(_ token: RESPToken, entry: InFlight, from connection: BackendConnection) -> Bool {
        let message: ByteBuffer
        switch token.value {
        case .simpleError(let bytes), .bulkError(let bytes): message = bytes
        default: return false
        }
        guard let first = message.getInteger(at: message.readerIndex, as: UInt8.self),
            first == UInt8(ascii: "M") || first == UInt8(ascii: "A") || first == UInt8(ascii: "T")
                || first == UInt8(ascii: "C")
        else { return false }
        let text = message.getString(at: message.readerIndex, length: message.readableBytes) ?? ""
        if text.hasPrefix("MOVED ") || text.hasPrefix("ASK ") {
            guard var redirect = Redirect(errorMessage: text) else { return false }
            redirect.endpoint = redirect.endpoint.resolvingUnknownHost(with: connection.endpoint.host)
            guard entry.attempts < configuration.maxRedirects else {
                entry.sink.receive(tooManyRedirects(text), tag: entry.tag)
                return true
            }
            var next = entry
            next.attempts += 1
            if redirect.kind == .moved {
                stats.moved += 1
                slotMap.assign(slot: redirect.slot, to: redirect.endpoint)
                if slotMap.endpoints.count > byIndex[0].count { rebuildIndex() }
                topology.requestRefresh()
                resend(next, to: redirect.endpoint, asking: false)
            } else {
                stats.ask += 1
                resend(next, to: redirect.endpoint, asking: true)
            }
            return true
        }
        let isTryAgain = text.hasPrefix("TRYAGAIN")
        if isTryAgain || text.hasPrefix("CLUSTERDOWN") {
            if isTryAgain { stats.tryAgain += 1 } else { stats.clusterDown += 1 }
            guard entry.attempts < configuration.maxRedirects else { return false }
            var next = entry
            next.attempts += 1
            if !isTryAgain { topology.requestRefresh() }
            let delay = configuration.retryBackoff * Int64(1 << min(Int(entry.attempts), 8))
            eventLoop.assumeIsolated().scheduleTask(in: delay) { [self] in
                redispatch(next)
            }
            return true
        }
        return false
    }

    private func tooManyRedirects(_ last: String) -> RESPToken {
        ProxyErrors.token("ERR too many cluster redirects (\(configuration.maxRedirects)) for this command; last reply: \(last)")
    }

    /// Sends a request again to whoever owns its slot now.
    private func redispatch(_ entry: InFlight) {
        clock.tick()
        if entry.slot >= 0, let index = slotMap.ownerIndex(of: Int(entry.slot)) {
            resend(entry, to: slotMap.endpoints[index], asking: false)
        } else if entry.slot < 0, !primaryIndexes.isEmpty {
            resend(entry, to: slotMap.endpoints[primaryIndexes[0]], asking: false)
        } else {
            entry.sink.receive(ProxyErrors.clusterDown, tag: entry.tag)
        }
    }

    private func resend(_ entry: InFlight, to endpoint: Endpoint, asking: Bool) {
        let connection: BackendConnection?
        switch entry.lane {
        case .shared:
            connection = sharedConnection(to: endpoint, resp3: entry.resp3, readonly: false)
        case .blocking:
            connection = (entry.sink as? ProxyClientHandler)?.blockingConnection(to: endpoint)
        }
        guard let connection else {
            entry.sink.receive(unreachable(endpoint), tag: entry.tag)
            return
        }
        if asking { connection.sendInternal(command: ["ASKING"]) }
        connection.send(entry.request, entry)
    }

    /// Records a MOVED seen outside the redirect engine (transactions, WATCH).
    func noteMoved(_ redirect: Redirect, from endpoint: Endpoint) {
        guard redirect.kind == .moved else { return }
        stats.moved += 1
        slotMap.assign(slot: redirect.slot, to: redirect.endpoint.resolvingUnknownHost(with: endpoint.host))
        if slotMap.endpoints.count > byIndex[0].count { rebuildIndex() }
        topology.requestRefresh()
    }

    // MARK: Clients

    private(set) var clients: [Int: ProxyClientHandler] = [:]

    func clientConnected(_ client: ProxyClientHandler) {
        clients[client.id] = client
        stats.connectedClients += 1
        stats.totalConnections += 1
    }

    func clientDisconnected(_ client: ProxyClientHandler) {
        clients[client.id] = nil
        stats.connectedClients -= 1
        topology.clientLeft()
    }

    /// CLIENT LIST lines of this loop's clients.
    func clientLines() -> String {
        clients.keys.sorted().compactMap { clients[$0]?.infoLine() }.map { $0 + "\n" }.joined()
    }

    /// CLIENT LIST over every loop of the proxy.
    func allClientLines() -> EventLoopFuture<String> {
        let futures = topology.routers.map { router in
            router.eventLoop.submit { router.clientLines() }
        }
        return EventLoopFuture.whenAllSucceed(futures, on: eventLoop).map { $0.joined() }
    }

    // MARK: Flushing

    func backendNeedsFlush(_ connection: BackendConnection) {
        dirtyBackends.append(connection)
        scheduleFlush()
    }

    func clientNeedsFlush(_ client: ProxyClientHandler) {
        dirtyClients.append(client)
        scheduleFlush()
    }

    /// `client` holds its replies back; they are written at the latest `replyHold` from now (one timer for every
    /// client held meanwhile, so some wait less).
    func holdReplies(of client: ProxyClientHandler) {
        heldClients.append(client)
        guard !holdTimerScheduled else { return }
        holdTimerScheduled = true
        eventLoop.assumeIsolated().scheduleTask(in: configuration.replyHold) { [self] in
            holdTimerScheduled = false
            let clients = heldClients
            heldClients.removeAll(keepingCapacity: true)
            for client in clients { client.holdExpired() }
        }
    }

    /// Flushes every channel written in this loop iteration once, after the I/O batch that wrote them.
    private func scheduleFlush() {
        guard !flushScheduled else { return }
        flushScheduled = true
        eventLoop.assumeIsolated().execute { [self] in
            flushScheduled = false
            if !dirtyBackends.isEmpty {
                let backends = dirtyBackends
                dirtyBackends.removeAll(keepingCapacity: true)
                for backend in backends { backend.flush() }
            }
            if !dirtyClients.isEmpty {
                let clients = dirtyClients
                dirtyClients.removeAll(keepingCapacity: true)
                for client in clients { client.flush() }
            }
        }
    }
}

/// Counters of one event loop, read by INFO and the admin endpoint (on the loop that owns them).
final class LoopStats: @unchecked Sendable {
    var connectedClients = 0
    var totalConnections = 0
    var rejectedClients = 0
    var commands: UInt64 = 0
    var backendConnections = 0
    var backendErrors: UInt64 = 0
    var moved: UInt64 = 0
    var ask: UInt64 = 0
    var tryAgain: UInt64 = 0
    var clusterDown: UInt64 = 0
    /// Bytes read from clients and written to them.
    var bytesIn: UInt64 = 0
    var bytesOut: UInt64 = 0
    /// Clients closed for going past the query buffer limit, and for idling past the idle timeout.
    var closedForQueryBuffer: UInt64 = 0
    var closedForIdle: UInt64 = 0
    /// Requests answered with a protocol error (the client is then closed).
    var protocolErrors: UInt64 = 0
}

/// One event loop's clock for instrumentation: the monotonic time read once per I/O event (a read from a client
/// or a backend), not per command, and used as the time of every command read and reply written in that event.
final class LoopClock {
    /// Nanoseconds of the monotonic clock at the last tick; stays 0 when metrics are off.
    private(set) var nanoseconds: UInt64 = 0
    let enabled: Bool

    init(enabled: Bool) {
        self.enabled = enabled
    }

    @inline(__always)
    func tick() {
        if enabled { nanoseconds = UInt64(truncatingIfNeeded: NIODeadline.now().uptimeNanoseconds) }
    }
}

/// Working arrays of `ProxyClientHandler.split` (grouping a multi-key command's keys by slot), kept by the loop's
/// router so that a split allocates none of them once they have grown.
struct SplitScratch {
    /// Each key's slot, in the client's order.
    var slots: [Int] = []
    /// Each part's slot, parts numbered by their first key.
    var partSlots: [Int] = []
    /// Each key's part.
    var partOfKey: [Int] = []
    /// Keys per part.
    var partCounts: [Int] = []
    /// Where each part's keys start in `order` (one more entry than parts).
    var starts: [Int] = []
    /// Fill positions while sorting; then where each part's bytes start in the split buffer.
    var filled: [Int] = []
    /// Key indices grouped by part.
    var order: [Int] = []
    /// Part by slot, once there are more than 16 parts.
    var partOfSlot: [Int: Int] = [:]

    mutating func removeAll() {
        slots.removeAll(keepingCapacity: true)
        partSlots.removeAll(keepingCapacity: true)
        partOfKey.removeAll(keepingCapacity: true)
        partCounts.removeAll(keepingCapacity: true)
        starts.removeAll(keepingCapacity: true)
        filled.removeAll(keepingCapacity: true)
        order.removeAll(keepingCapacity: true)
        if !partOfSlot.isEmpty { partOfSlot.removeAll(keepingCapacity: true) }
    }
}

extension Router {
    /// The loop's split scratch arrays, empty; `returnSplitScratch` gives them back.
    func takeSplitScratch() -> SplitScratch {
        var scratch = SplitScratch()
        swap(&scratch, &splitScratch)
        return scratch
    }

    /// Gives the scratch arrays back, emptied, unless they grew past 4,096 keys (a huge MGET keeps no memory).
    func returnSplitScratch(_ scratch: inout SplitScratch) {
        guard scratch.slots.capacity <= 4096 else { return }
        scratch.removeAll()
        swap(&scratch, &splitScratch)
    }
}
