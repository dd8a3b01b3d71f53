import ClusterModel
import Foundation
import Histogram
import NIOCore
import NIOPosix
import RESP

/// A key that `--verify` found lost or changed.
public struct VerifyIssue: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Codable { case lost, mismatch }
    public var kind: Kind
    public var key: String
    /// What was read back (the first 64 bytes), for a mismatch.
    public var found: String?
}

/// What one event loop measured in one second (or at the end).
struct LoopSample: Sendable {
    var requests = 0
    var errors = 0
    var histogram: Histogram<UInt64>
    /// Requests and setup commands waiting for a reply.
    var outstanding = 0
    /// Every reply so far, for the watchdog.
    var replies = 0
}

/// What one event loop measured over a whole test.
struct LoopResult: Sendable {
    var histogram: Histogram<UInt64>
    /// Open loop only: latency from the actual send, which hides the schedule's delays (coordinated omission).
    var service: Histogram<UInt64>?
    var requests = 0
    var errors: [String: Int] = [:]
    var errorSamples: [String: String] = [:]
    var redirects = 0
    var firstStart: UInt64 = .max
    var lastReply: UInt64 = 0
    var lost = 0
    var mismatched = 0
    var issues: [VerifyIssue] = []
}

/// Latency histograms: nanoseconds, 1 ns to 60 s (growing past that), three significant digits.
func makeLatencyHistogram() -> Histogram<UInt64> {
    var histogram = Histogram<UInt64>(
        lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
    histogram.autoResize = true
    return histogram
}

/// Everything of one test on one event loop: its clients and their connections, routing, counters and
/// histograms. Confined to its loop: no locks; the coordinator reads it with `submit`.
final class LoopRunner {
    static let maxStoredIssues = 10_000

    let loop: any EventLoop
    let configuration: BenchConfiguration
    let plan: TestPlan
    /// The plan's templates and checks by operation index, read in place on every request.
    private let templates: [RequestTemplate]
    private let checks: [TestPlan.Check]
    /// With a fixed value size: each operation's request pre-encoded, to be copied and patched.
    private let images: [RequestTemplate.Image]?
    var topology: ClusterTopology?
    private(set) var clients: [BenchClient] = []
    private let promise: EventLoopPromise<LoopResult>

    /// Whether clients draw from `sharedRemaining` rather than their own budgets.
    let sharesBudget: Bool
    /// Measured requests this loop's clients still have to send, when they share a budget.
    var sharedRemaining = 0

    // Timing
    private(set) var recordFrom: UInt64 = .max
    private(set) var endTime: UInt64 = .max
    private var begun = false
    private(set) var stopped = false

    // Measurements
    private var interval = makeLatencyHistogram()
    private var result = LoopResult(histogram: makeLatencyHistogram())
    private var intervalRequests = 0
    private var intervalErrors = 0
    private var replies = 0

    // Connections
    private var waitingForReady = 0
    private var activeClients = 0
    private var dirty: [BenchConnection] = []
    private var lastRefresh: UInt64 = 0
    private var routeScratch = ByteBuffer()
    /// `x` bytes of the largest value size, sliced for every plain value.
    let plainData: [UInt8]
    /// Scratch for a verify value.
    var verifyScratch: [UInt8]

    init(loop: any EventLoop, configuration: BenchConfiguration, plan: TestPlan, topology: ClusterTopology?, clientIndexes: [Int]) {
        self.loop = loop
        self.configuration = configuration
        self.plan = plan
        self.templates = plan.operations.map(\.template)
        self.checks = plan.operations.map(\.check)
        if case .fixed(let size) = configuration.dataSize {
            self.images = plan.operations.map { $0.template.image(dataSize: size) }
        } else {
            self.images = nil
        }
        self.topology = topology
        self.promise = loop.makePromise(of: LoopResult.self)
        if plan.rate != nil { result.service = makeLatencyHistogram() }
        self.plainData = [UInt8](repeating: UInt8(ascii: "x"), count: configuration.dataSize.maximum)
        self.verifyScratch = [UInt8](repeating: 0, count: configuration.dataSize.maximum)
        self.routeScratch.reserveCapacity(256)
        dirty.reserveCapacity(clientIndexes.count * 2)
        let total = configuration.clients
        // Clients of a loop draw from one budget, as redis-benchmark's clients share one counter, so that none
        // idles while another still has requests to send. A sequential walk (and so `--verify`) keeps a budget
        // per client instead: client c of C then covers exactly its keys c, c + C, ...
        sharesBudget = plan.requests != nil && plan.keyPattern != .sequential
        var loopBudget = 0
        for index in clientIndexes {
            var budget = Int.max
            if let requests = plan.requests {
                budget = requests / total + (index < requests % total ? 1 : 0)
                loopBudget += budget
            }
            clients.append(BenchClient(runner: self, index: index, budget: sharesBudget ? (budget > 0 ? Int.max : 0) : budget))
        }
        sharedRemaining = loopBudget
    }

    /// The clock of NIO's scheduled tasks (CLOCK_MONOTONIC on Linux), so that open-loop send times and timers agree.
    @inline(__always)
    static func now() -> UInt64 { NIODeadline.now().uptimeNanoseconds }

    // MARK: - Lifecycle

    /// Connects every client, waits for AUTH/HELLO, then starts the load; the future completes when every client
    /// is done (or fails on the first fatal error).
    func start() -> EventLoopFuture<LoopResult> {
        activeClients = clients.filter { $0.remaining > 0 }.count
        if activeClients == 0 {
            promise.succeed(result)
            return promise.futureResult
        }
        for client in clients where client.remaining > 0 {
            if let topology {
                for node in topology.owners { _ = client.connection(to: node, initial: true) }
            } else if case .single(let endpoint) = configuration.target {
                _ = client.connection(endpoint: endpoint, initial: true)
            }
        }
        if waitingForReady == 0 { begin() }
        return promise.futureResult
    }

    /// Opens a connection for `client` (connections made before the start are awaited before the load begins).
    func connect(_ connection: BenchConnection, initial: Bool) {
        if initial { waitingForReady += 1 }
        var setup = 0
        if let password = configuration.password {
            var arguments = ["AUTH"]
            if let user = configuration.user { arguments.append(user) }
            arguments.append(password)
            connection.pending.writeRESPCommand(arguments)
            setup += 1
        }
        if configuration.resp == 3 {
            connection.pending.writeRESPCommand(["HELLO", "3"])
            setup += 1
        }
        for _ in 0..<setup {
            connection.inflight.append(InFlight(start: 0, key: 0, operation: 0, kind: .setup, measured: false, redirects: 0))
        }
        connection.setupRemaining = setup
        let bound = NIOLoopBound(connection, eventLoop: loop)
        let endpoint = connection.endpoint
        ClientBootstrap(group: loop)
            .connectTimeout(.nanoseconds(Int64(configuration.connectTimeout * 1e9)))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(bound.value)
                }
            }
            .connect(host: endpoint.host, port: endpoint.port)
            .assumeIsolated()
            .whenFailure { [self] error in
                fail(.unreachable(endpoint.description, Self.describe(error)))
            }
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? ChannelError, case .connectTimeout(let amount) = error {
            return "connect timed out after \(amount.nanoseconds / 1_000_000) ms"
        }
        if let error = error as? NIOConnectionError {
            if let first = error.connectionErrors.first { return describe(first.error) }
            if error.dnsAAAAError != nil || error.dnsAError != nil { return "cannot resolve \(error.host)" }
        }
        if let error = error as? IOError { return String(cString: strerror(error.errnoCode)).lowercased() }
        return "\(error)"
    }

    func connectionReady(_ connection: BenchConnection) {
        guard !stopped else { return }
        connection.flush()
        guard !begun else { return }
        waitingForReady -= 1
        if waitingForReady == 0 { begin() }
    }

    private func begin() {
        begun = true
        let now = Self.now()
        recordFrom = now &+ UInt64(plan.warmup * 1e9)
        if let duration = plan.duration { endTime = recordFrom &+ UInt64(duration * 1e9) }
        for client in clients where client.remaining > 0 {
            if let rate = plan.rate {
                let interval = Double(configuration.clients) / rate * 1e9
                client.interval = max(1, UInt64(interval))
                client.nextIntended = now &+ UInt64(interval * Double(client.index) / Double(configuration.clients))
            }
            client.pump(now: now)
        }
        flushDirty()
    }

    func clientFinished() {
        activeClients -= 1
        if activeClients == 0 { finish() }
    }

    private func finish() {
        guard !stopped else { return }
        stopped = true
        mergeInterval()
        closeAll()
        promise.succeed(result)
    }

    /// Stops the test with `error` (the first one wins).
    func fail(_ error: BenchError) {
        guard !stopped else { return }
        stopped = true
        closeAll()
        promise.fail(error)
    }

    /// Closes every connection and drops the clients, ending the reference cycles between them.
    private func closeAll() {
        for client in clients {
            client.cancelTimer()
            for connection in client.connections { connection?.close() }
            client.connections.removeAll()
        }
        clients.removeAll()
        dirty.removeAll()
    }

    func connectionClosed(_ connection: BenchConnection) {
        if !stopped { fail(.connectionClosed(connection.endpoint.description)) }
    }

    // MARK: - Sending

    /// Queues `connection` for the flush at the end of this event-loop turn.
    func markDirty(_ connection: BenchConnection) {
        if !connection.queued {
            connection.queued = true
            dirty.append(connection)
        }
    }

    func flushDirty() {
        guard !dirty.isEmpty, !stopped else { return }
        for connection in dirty {
            connection.queued = false
            connection.flush()
        }
        dirty.removeAll(keepingCapacity: true)
    }

    /// Sends operation `operation` for key `key` to the node that owns it (or to `node` after a redirect).
    func issue(
        _ client: BenchClient, operation: Int, key: Int, start: UInt64, sent: UInt64, measured: Bool,
        redirects: UInt8 = 0, node: Int? = nil, asking: Bool = false
    ) {
        let connection: BenchConnection
        if let node {
            connection = client.connection(to: node)
        } else if let topology {
            connection = client.connection(to: route(templates[operation], key: key, topology: topology))
        } else {
            connection = client.connections[0].unsafelyUnwrapped
        }
        if asking {
            connection.pending.writeStaticString("*1\r\n$6\r\nASKING\r\n")
            connection.inflight.append(InFlight(start: 0, key: 0, operation: 0, kind: .asking, measured: false, redirects: 0))
        }
        if case .verifyWrite = checks[operation] {
            let size = VerifyValue.size(key: key, generation: configuration.generation, dataSize: configuration.dataSize)
            verifyScratch.withUnsafeMutableBytes { scratch in
                let slice = UnsafeMutableRawBufferPointer(rebasing: scratch[0..<size])
                VerifyValue.fill(slice, key: key, generation: configuration.generation)
                templates[operation].encode(
                    into: &connection.pending, key: key, keys: &client.keys, data: UnsafeRawBufferPointer(slice))
            }
        } else if let images {
            images[operation].write(into: &connection.pending, key: key, keys: &client.keys)
        } else {
            let size: Int
            switch configuration.dataSize {
            case .fixed(let n): size = n
            case .range(let a, let b): size = a &+ client.sizes.next(below: b &- a &+ 1)
            }
            plainData.withUnsafeBytes { data in
                templates[operation].encode(
                    into: &connection.pending, key: key, keys: &client.keys, data: UnsafeRawBufferPointer(rebasing: data[0..<size]))
            }
        }
        connection.inflight.append(
            InFlight(
                start: start, key: key, operation: Int32(operation), kind: .request, measured: measured, redirects: redirects,
                sent: sent))
        client.inflight &+= 1
        markDirty(connection)
    }

    private func route(_ template: RequestTemplate, key: Int, topology: ClusterTopology) -> Int {
        guard template.hasRouteKey else { return Int(topology.slots[0] == ClusterTopology.unassigned ? 0 : topology.slots[0]) }
        routeScratch.clear()
        template.writeRouteKey(key, into: &routeScratch)
        let slot = HashSlotOf.slot(routeScratch)
        let node = topology.slots[slot]
        return node == ClusterTopology.unassigned ? 0 : Int(node)
    }

    // MARK: - Replies

    func handle(_ token: RESPToken, on connection: BenchConnection, now: UInt64) {
        guard !stopped else { return }
        replies &+= 1
        guard var entry = connection.inflight.popFirst() else {
            fail(.protocolError(connection.endpoint.description, "a reply to no request"))
            return
        }
        let type = token.type
        let isError = type == .simpleError || type == .bulkError
        switch entry.kind {
        case .request:
            break
        case .setup:
            if isError {
                let message = Self.errorMessage(token)
                if message.hasPrefix("WRONGPASS") || message.hasPrefix("NOAUTH") || message.contains("AUTH") {
                    fail(.authentication(connection.endpoint.description, message))
                } else {
                    fail(.server(connection.endpoint.description, message))
                }
                return
            }
            connection.setupRemaining -= 1
            if connection.setupRemaining == 0 { connectionReady(connection) }
            return
        case .asking:
            return
        case .refresh:
            if !isError, var topology {
                topology.apply(slotsReply: token, fallbackHost: connection.endpoint.host)
                self.topology = topology
            }
            return
        }
        let client = connection.client
        client.inflight &-= 1
        if isError {
            let message = Self.errorMessage(token)
            if topology != nil, entry.redirects < 5, let redirect = Redirect(message: message) {
                followRedirect(redirect, entry: &entry, client: client, via: connection, now: now)
                return
            }
            recordError(message)
        } else if case .verifyRead = checks[Int(entry.operation)] {
            check(token, key: entry.key)
        }
        if entry.measured {
            _ = interval.record(now &- entry.start)
            intervalRequests &+= 1
            if result.service != nil { _ = result.service?.record(now &- entry.sent) }
            if entry.start < result.firstStart { result.firstStart = entry.start }
            result.lastReply = now
        }
        client.pump(now: now)
    }

    private func followRedirect(
        _ redirect: Redirect, entry: inout InFlight, client: BenchClient, via connection: BenchConnection, now: UInt64
    ) {
        guard var topology else { return }
        let node = topology.index(of: redirect.endpoint)
        if !redirect.ask {
            topology.slots[redirect.slot] = UInt16(node)
            // A full refresh at most once a second, on the connection that saw the MOVED.
            if now &- lastRefresh > 1_000_000_000 {
                lastRefresh = now
                connection.pending.writeStaticString("*2\r\n$7\r\nCLUSTER\r\n$5\r\nSLOTS\r\n")
                connection.inflight.append(InFlight(start: 0, key: 0, operation: 0, kind: .refresh, measured: false, redirects: 0))
                markDirty(connection)
            }
        }
        self.topology = topology
        result.redirects &+= 1
        issue(
            client, operation: Int(entry.operation), key: entry.key, start: entry.start, sent: now,
            measured: entry.measured, redirects: entry.redirects &+ 1, node: node, asking: redirect.ask)
    }

    static func errorMessage(_ token: RESPToken) -> String {
        switch token.value {
        case .simpleError(let text), .bulkError(let text): return String(buffer: text)
        default: return ""
        }
    }

    private func recordError(_ message: String) {
        let code = message.split(separator: " ", maxSplits: 1).first.map { String($0.prefix(32)) } ?? "ERR"
        let name = code.isEmpty ? "ERR" : code
        if let count = result.errors[name] {
            result.errors[name] = count + 1
        } else {
            result.errors[name] = 1
            result.errorSamples[name] = String(message.prefix(200))
        }
        intervalErrors &+= 1
    }

    private func check(_ token: RESPToken, key: Int) {
        var keyName: String { configuration.hashTag ? "key:{\(Self.keyDigits(key))}" : "key:" + Self.keyDigits(key) }
        switch token.value {
        case .bulkString(let value):
            let size = VerifyValue.size(key: key, generation: configuration.generation, dataSize: configuration.dataSize)
            let same = value.readableBytes == size && verifyScratch.withUnsafeMutableBytes { scratch -> Bool in
                let slice = UnsafeMutableRawBufferPointer(rebasing: scratch[0..<size])
                VerifyValue.fill(slice, key: key, generation: configuration.generation)
                return value.withUnsafeReadableBytes { $0.elementsEqual(UnsafeRawBufferPointer(slice)) }
            }
            if !same {
                result.mismatched += 1
                let shown = value.getSlice(at: value.readerIndex, length: min(64, value.readableBytes)) ?? ByteBuffer()
                storeIssue(VerifyIssue(kind: .mismatch, key: keyName, found: String(buffer: shown)))
            }
        case .nullBulkString, .null:
            result.lost += 1
            storeIssue(VerifyIssue(kind: .lost, key: keyName, found: nil))
        default:
            result.mismatched += 1
            storeIssue(VerifyIssue(kind: .mismatch, key: keyName, found: "\(RESPValue(token))"))
        }
    }

    private func storeIssue(_ issue: VerifyIssue) {
        if result.issues.count < Self.maxStoredIssues { result.issues.append(issue) }
    }

    static func keyDigits(_ key: Int) -> String {
        var buffer = ByteBuffer()
        RequestTemplate.writeKeyNumber(key, into: &buffer)
        return String(buffer: buffer)
    }

    // MARK: - Sampling

    private func mergeInterval() {
        result.histogram.add(interval)
        result.requests &+= intervalRequests
    }

    /// The last interval's figures; folds them into the test's totals.
    func takeSample() -> LoopSample {
        var outstanding = 0
        for client in clients {
            for connection in client.connections { outstanding += connection?.inflight.count ?? 0 }
        }
        let sample = LoopSample(
            requests: intervalRequests, errors: intervalErrors, histogram: interval, outstanding: outstanding,
            replies: replies)
        // A finished runner merged its last interval already; it is reported here once, then cleared.
        if !stopped { mergeInterval() }
        interval.reset()
        intervalRequests = 0
        intervalErrors = 0
        return sample
    }
}

/// Slot computation over a buffer without copying it.
enum HashSlotOf {
    static func slot(_ buffer: ByteBuffer) -> Int {
        Int(HashSlot(key: buffer).rawValue)
    }
}
