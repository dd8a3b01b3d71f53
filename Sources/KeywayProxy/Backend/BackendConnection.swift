import ClusterModel
import DequeModule
import NIOCore
import NIOPosix
import RESP

/// Something waiting for replies: a client session, a split/fan-out merge, a topology query.
///
/// Called on the event loop that owns the backend connection, which is the caller's own loop.
protocol ReplySink: AnyObject {
    /// The reply (or a proxy error) for the request sent with `tag`.
    func receive(_ reply: RESPToken, tag: Int)
}

/// What the proxy does with a reply before handing it to the sink.
enum InFlightKind: UInt8 {
    /// MOVED/ASK/TRYAGAIN/CLUSTERDOWN are handled by the redirect engine; the rest goes to the sink.
    case routed
    /// Every reply goes to the sink as it is (transactions, pub/sub, topology queries).
    case raw
    /// The reply is dropped (ASKING, HELLO and READONLY sent by the proxy itself).
    case discard
}

/// Which connections a request travels on.
enum Lane: UInt8 {
    /// The loop's shared, pipelined connection to the backend.
    case shared
    /// The client's own connection to the backend, for commands that may block (BLPOP, XREAD BLOCK...).
    case blocking
}

/// A request sent to a backend and not answered yet. Replies come back in this order.
struct InFlight {
    let sink: any ReplySink
    let tag: Int
    /// The request's bytes, kept to resend it after a redirect (a slice of the client's read buffer).
    let request: ByteBuffer
    /// The slot the request was routed by, or -1.
    var slot: Int32
    var attempts: UInt8
    var kind: InFlightKind
    var lane: Lane
    /// The protocol of the connection it went on (a resend keeps it).
    var resp3: Bool
    /// The loop clock when it was sent (0 when not measured): the backend's latency is counted from here.
    var sentAt: UInt64 = 0
}

/// One connection to a backend node, pipelined: requests are written in order and replies matched in FIFO order.
///
/// Lives on one event loop. Shared connections serve every client of the loop; exclusive ones serve one client
/// (transactions, pub/sub, blocking commands) or the topology manager.
final class BackendConnection: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    enum State {
        case connecting
        case connected(any Channel)
        case closed
    }

    let endpoint: Endpoint
    let eventLoop: any EventLoop
    let resp3: Bool
    let readonly: Bool
    private(set) var state: State = .connecting
    private var inFlight = Deque<InFlight>()
    private var pendingWrites: [ByteBuffer] = []
    /// Requests sent in this loop iteration, copied into one buffer that is written at the flush: one pipeline
    /// write per iteration instead of one per request. Requests past `coalescingLimit` bytes are written as they
    /// are (after what is buffered), so large values are not copied. Once `eagerFlushBytes` are waiting, they go
    /// out at once: the backend starts on them while the loop is still reading clients (a loop iteration that
    /// reads 50 clients' pipelines of split MSETs makes ~100 KiB per backend; flushing by 16 KiB gave MSET -P 16
    /// +8%, and changes nothing where an iteration makes less).
    private var outbound: ByteBuffer?
    private var outboundCapacity = 1024
    static let coalescingLimit = 8 * 1024
    static let eagerFlushBytes = 16 * 1024
    private var needsFlush = false
    /// Bytes of a reply not complete yet.
    private var inbound: ByteBuffer?
    private var decoder = RESPDecoder(limits: .unlimited)
    /// Called once when the connection is gone (to drop it from pools).
    var onClose: ((BackendConnection, String) -> Void)?
    /// Receives frames nobody asked for (pub/sub messages, RESP3 pushes).
    var pushSink: (any PushSink)?
    /// The loop's statistics of this backend (shared connections only; nil leaves replies unmeasured).
    var stats: BackendStats?
    /// Replies received so far (the timeout check compares it between ticks).
    private var repliesReceived: UInt64 = 0
    private var lastCheckedReplies: UInt64 = 0
    private var timeoutTask: Scheduled<Void>?
    private var timeout: TimeAmount
    /// The loop to tell when this connection has writes to flush.
    private weak var flusher: (any BackendFlusher)?

    init(
        endpoint: Endpoint, eventLoop: any EventLoop, resp3: Bool, readonly: Bool, timeout: TimeAmount,
        flusher: (any BackendFlusher)?
    ) {
        self.endpoint = endpoint
        self.eventLoop = eventLoop
        self.resp3 = resp3
        self.readonly = readonly
        self.timeout = timeout
        self.flusher = flusher
    }

    /// Opens the connection. Requests sent before it is up are queued.
    func connect(connectTimeout: TimeAmount) {
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        if resp3 { sendInternal(command: ["HELLO", "3"]) }
        if readonly { sendInternal(command: ["READONLY"]) }
        ClientBootstrap(group: eventLoop)
            .connectTimeout(connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.socketOption(.so_keepalive), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(bound.value)
                }
            }
            .connect(host: endpoint.host, port: endpoint.port)
            .whenComplete { result in
                let connection = bound.value
                switch result {
                case .success(let channel):
                    connection.connected(channel)
                case .failure(let error):
                    connection.close(reason: "unreachable (\(Self.describe(error)))")
                }
            }
    }

    private func connected(_ channel: any Channel) {
        guard case .connecting = state else {
            channel.close(promise: nil)
            return
        }
        state = .connected(channel)
        for write in pendingWrites { channel.write(write, promise: nil) }
        pendingWrites = []
        channel.flush()
        if timeout > .zero { scheduleTimeoutCheck() }
    }

    var isClosed: Bool {
        if case .closed = state { return true }
        return false
    }

    var inFlightCount: Int { inFlight.count }

    /// Queues `request` and writes it: flushed at the end of the loop's current batch, or at once when large or when
    /// `eagerFlushBytes` are waiting.
    func send(_ request: ByteBuffer, _ entry: consuming InFlight) {
        switch state {
        case .connected(let channel):
            inFlight.append(entry)
            if request.readableBytes <= Self.coalescingLimit {
                if outbound == nil { outbound = channel.allocator.buffer(capacity: outboundCapacity) }
                outbound?.writeImmutableBuffer(request)
                if let buffered = outbound?.readableBytes, buffered >= Self.eagerFlushBytes {
                    writeOutbound(to: channel)
                    channel.flush()
                    return
                }
            } else {
                writeOutbound(to: channel)
                channel.writeAndFlush(request, promise: nil)
                return
            }
            if !needsFlush {
                needsFlush = true
                flusher?.backendNeedsFlush(self)
            }
        case .connecting:
            inFlight.append(entry)
            pendingWrites.append(request)
        case .closed:
            entry.sink.receive(ProxyErrors.backendLost(endpoint, reason: "connection closed"), tag: entry.tag)
        }
    }

    /// A command the proxy sends for itself; its reply is dropped.
    func sendInternal(command: [String]) {
        var buffer = ByteBuffer()
        buffer.writeRESPCommand(command)
        send(buffer, InFlight(sink: DiscardSink.shared, tag: 0, request: buffer, slot: -1, attempts: 0, kind: .discard, lane: .shared, resp3: resp3))
    }

    func flush() {
        needsFlush = false
        if case .connected(let channel) = state {
            writeOutbound(to: channel)
            channel.flush()
        }
    }

    /// Hands the requests buffered so far to the channel.
    private func writeOutbound(to channel: any Channel) {
        guard let buffer = outbound else { return }
        outbound = nil
        // The next iteration's buffer starts at the size this one needed (within bounds), so it rarely grows.
        outboundCapacity = min(max(buffer.readableBytes, 1024), 64 * 1024)
        channel.write(buffer, promise: nil)
    }

    // MARK: ChannelInboundHandler

    /// Cuts every complete reply of a read and handles it in order; a partial one waits for more bytes.
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        stats?.clock.tick()
        var incoming = unwrapInboundIn(data)
        var buffer: ByteBuffer
        if var pending = inbound {
            inbound = nil
            pending.writeBuffer(&incoming)
            buffer = pending
        } else {
            buffer = incoming
        }
        while case .connected = state {
            let token: RESPToken?
            do {
                token = try decoder.decode(&buffer)
            } catch {
                close(reason: "sent a malformed reply (\(error))")
                return
            }
            guard let token else { break }
            handleReply(token)
        }
        if buffer.readableBytes > 0, case .connected = state { inbound = buffer }
    }

    private func handleReply(_ token: RESPToken) {
        repliesReceived &+= 1
        if token.type == .push {
            // RESP3 out-of-band data (pub/sub messages, invalidations): never a reply to a request.
            pushSink?.receivePush(token)
            return
        }
        guard let entry = inFlight.popFirst() else {
            // RESP2 pub/sub messages arrive with nothing in flight.
            if let pushSink {
                pushSink.receivePush(token)
            } else {
                close(reason: "sent a reply nobody asked for")
            }
            return
        }
        if let stats, entry.sentAt != 0 {
            stats.requests &+= 1
            let now = stats.clock.nanoseconds
            stats.latency.record(nanoseconds: now > entry.sentAt ? now &- entry.sentAt : 0)
        }
        switch entry.kind {
        case .discard:
            return
        case .raw:
            entry.sink.receive(token, tag: entry.tag)
        case .routed:
            if token.type == .simpleError || token.type == .bulkError, let router = flusher as? Router,
                router.handleClusterError(token, entry: entry, from: self)
            {
                return
            }
            entry.sink.receive(token, tag: entry.tag)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        close(reason: "connection lost")
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        close(reason: "connection error (\(Self.describe(error)))")
    }

    /// Closes the connection; every command in flight gets an error naming this backend.
    func close(reason: String) {
        if case .closed = state { return }
        let previous = state
        state = .closed
        timeoutTask?.cancel()
        timeoutTask = nil
        pendingWrites = []
        outbound = nil
        if case .connected(let channel) = previous { channel.close(promise: nil) }
        let failed = inFlight
        inFlight = []
        onClose?(self, reason)
        onClose = nil
        let error = ProxyErrors.backendLost(endpoint, reason: reason)
        for entry in failed where entry.kind != .discard {
            entry.sink.receive(error, tag: entry.tag)
        }
        let sink = pushSink
        pushSink = nil
        sink?.backendClosed(self, reason: reason)
    }

    /// Changes the timeout (the admin endpoint's `backend-timeout`), from the next check on.
    func setTimeout(_ newValue: TimeAmount) {
        guard newValue != timeout else { return }
        timeout = newValue
        timeoutTask?.cancel()
        timeoutTask = nil
        if case .connected = state, timeout > .zero { scheduleTimeoutCheck() }
    }

    /// Closes the connection when it had requests in flight for a whole timeout period and answered none.
    private func scheduleTimeoutCheck() {
        timeoutTask = eventLoop.assumeIsolated().scheduleTask(in: timeout) { [self] in
            if !inFlight.isEmpty && repliesReceived == lastCheckedReplies && pushSink == nil {
                close(reason: "timed out after \(timeout.nanoseconds / 1_000_000) ms")
                return
            }
            lastCheckedReplies = repliesReceived
            scheduleTimeoutCheck()
        }
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? IOError { return error.description }
        return String(describing: error)
    }
}

/// Receives frames a backend sends on its own (pub/sub messages) and learns when the connection ends.
protocol PushSink: AnyObject {
    func receivePush(_ frame: RESPToken)
    func backendClosed(_ connection: BackendConnection, reason: String)
}

/// The loop-level object that batches backend flushes.
protocol BackendFlusher: AnyObject {
    func backendNeedsFlush(_ connection: BackendConnection)
}

/// Swallows replies (ASKING, READONLY, HELLO sent by the proxy itself).
final class DiscardSink: ReplySink {
    nonisolated(unsafe) static let shared = DiscardSink()
    func receive(_ reply: RESPToken, tag: Int) {}
}

/// Error replies made by the proxy itself.
enum ProxyErrors {
    static func token(_ message: String) -> RESPToken {
        var buffer = ByteBuffer()
        buffer.writeRESPError(message)
        // Our own text never contains CR or LF (writeRESPError replaces them), so this always validates.
        return RESPToken(validating: buffer)!
    }

    static func backendLost(_ endpoint: Endpoint, reason: String) -> RESPToken {
        token("ERR backend \(endpoint) \(reason); the command may or may not have run")
    }

    static let clusterDown = token("CLUSTERDOWN Hash slot not served")
    static let crossSlot = token("CROSSSLOT Keys in request don't hash to the same slot")
}
