import ClusterModel
import DequeModule
import Foundation
import NIOCore
import RESP

/// One client connection: decodes its commands, routes each to a backend (or answers it), and writes the replies
/// back in the order the commands came, whatever order the backends answer in.
///
/// Lives on the client's event loop with the loop's `Router`; nothing here is shared with other loops.
final class ProxyClientHandler: ChannelDuplexHandler, ReplySink {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let router: Router
    let id: Int
    let createdAt = NIODeadline.now()
    private(set) var context: ChannelHandlerContext?
    var resp3 = false
    var name: ByteBuffer?
    var libraryName: ByteBuffer?
    var libraryVersion: ByteBuffer?
    var remoteAddress = "?"
    var localAddress = "?"
    /// The last command routed (CLIENT LIST `cmd`); the command table's specs live as long as the process.
    unowned(unsafe) var lastCommandSpec: CommandSpec?
    var lastCommand: String { lastCommandSpec?.name ?? "NULL" }
    var commandsProcessed: UInt64 = 0
    private(set) var lastActivity = NIODeadline.now()
    private var idleTask: Scheduled<Void>?

    // Reply ordering: `parked[i]` holds the reply to command `firstSeq + i` once it arrived.
    private var firstSeq = 0
    private var nextSeq = 0
    private var parked = Deque<ByteBuffer?>()
    /// With metrics on, `timings[i]` is what command `firstSeq + i` is and when it was read.
    private var timings = Deque<CommandTiming>()
    /// With the slow log on, the slow-log form of every command owed a reply, in order (`timings[i].captured` bytes
    /// each). A copy, not the request's own bytes: holding those would pin the read buffers (and make every later
    /// append to them copy), which cost 1.2 allocations per GET and 17 per 10-key MSET.
    private var slowlogArena = ByteBuffer()
    private let measures: Bool
    private var needsFlush = false
    /// This iteration's replies are held back (`flush()`).
    private var holdingReplies = false
    /// Replies written in this loop iteration, copied into one buffer that goes to the channel at the flush (one
    /// pipeline write per iteration instead of one per reply). Replies past `BackendConnection.coalescingLimit`
    /// bytes are written as they are, after what is buffered, so large values are not copied.
    private var output: ByteBuffer?
    private var outputCapacity = 1024
    private var readPending = false
    private var closeWhenDrained = false
    private var isActive = false
    /// Bytes of a request not complete yet.
    private var inbound: ByteBuffer?
    private var decoder: RESPRequestDecoder

    // Session state.
    var transaction: TransactionState?
    /// The connection holding this client's WATCHed keys, and their slot.
    var watch: (connection: BackendConnection, slot: Int)?
    /// The connection transactions run on when nothing is watched.
    var transactionConnection: BackendConnection?
    /// Connections for blocking commands, by backend.
    private var blockingConnections: [Endpoint: BackendConnection] = [:]
    /// Pub/sub connections: one for SUBSCRIBE/PSUBSCRIBE, one per shard for SSUBSCRIBE.
    var pubsub = PubSubState()

    init(router: Router, id: Int) {
        self.router = router
        self.id = id
        self.decoder = RESPRequestDecoder(limits: router.configuration.requestLimits)
        self.measures = router.configuration.metricsEnabled
    }

    // MARK: Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func channelActive(context: ChannelHandlerContext) {
        isActive = true
        remoteAddress = context.channel.remoteAddress.map(Self.format) ?? "?"
        localAddress = context.channel.localAddress.map(Self.format) ?? "?"
        router.clientConnected(self)
        if router.configuration.idleTimeout > .zero { scheduleIdleCheck() }
        context.fireChannelActive()
    }

    /// Closes the client once it has been idle (no command, nothing owed, no subscription) for the idle timeout.
    private func scheduleIdleCheck() {
        let timeout = router.configuration.idleTimeout
        let period = TimeAmount.nanoseconds(max(timeout.nanoseconds / 10, 100_000_000))
        idleTask = router.eventLoop.assumeIsolated().scheduleTask(in: period) { [self] in
            guard isActive else { return }
            if pubsub.isEmpty && transaction == nil && parked.isEmpty && NIODeadline.now() - lastActivity > timeout {
                router.stats.closedForIdle &+= 1
                context?.close(promise: nil)
                return
            }
            scheduleIdleCheck()
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        teardown()
        context.fireChannelInactive()
    }

    private func teardown() {
        guard isActive else { return }
        isActive = false
        idleTask?.cancel()
        idleTask = nil
        router.clientDisconnected(self)
        // Detach everything first: closing a connection fails its in-flight commands back into this handler.
        var owned = Array(blockingConnections.values)
        blockingConnections = [:]
        if let watched = watch?.connection { owned.append(watched) }
        watch = nil
        if let transactionConnection { owned.append(transactionConnection) }
        transactionConnection = nil
        owned += pubsub.takeAll()
        for connection in owned { connection.close(reason: "client gone") }
        parked.removeAll()
        timings.removeAll()
        slowlogArena = ByteBuffer()
        output = nil
        self.context = nil
    }

    /// Decodes every complete request of a read and handles it; a partial one waits for more bytes. Decoding here
    /// instead of in a ByteToMessageHandler spares one type-erased message per request.
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        router.stats.bytesIn &+= UInt64(incoming.readableBytes)
        router.clock.tick()
        var buffer: ByteBuffer
        if var pending = inbound {
            inbound = nil
            pending.writeBuffer(&incoming)
            buffer = pending
        } else {
            buffer = incoming
        }
        while !closeWhenDrained {
            let request: RESPRequest?
            do {
                request = try decoder.decode(&buffer)
            } catch {
                protocolError(error)
                return
            }
            guard var request else { break }
            handle(request)
            // Its argument array serves a later request (the frame, if kept by a backend, is a slice of its own).
            decoder.recycle(&request.arguments)
        }
        guard buffer.readableBytes > 0, !closeWhenDrained else { return }
        if buffer.readableBytes > router.configuration.maxQueryBuffer {
            // client-query-buffer-limit: closed without a reply, as Redis does.
            router.stats.closedForQueryBuffer &+= 1
            context.close(promise: nil)
            return
        }
        inbound = buffer
    }

    private func handle(_ request: RESPRequest) {
        commandsProcessed &+= 1
        router.stats.commands &+= 1
        if pubsub.streamsEverything(resp3: resp3) {
            forwardToPubSubStream(request)
            return
        }
        let seq = allocateSeq(request)
        process(request, seq: seq)
    }

    /// Commands read and not answered yet.
    var pendingReplies: Int { nextSeq &- firstSeq }

    /// A sequence number for the next reply owed, with its timing when metrics are on.
    private func allocateSeq(_ request: RESPRequest?) -> Int {
        let seq = nextSeq
        nextSeq &+= 1
        parked.append(nil)
        if measures {
            var captured: UInt32 = 0
            if router.configuration.slowlogSlowerThan >= 0, let request {
                captured = UInt32(truncatingIfNeeded: ProxySlowlog.capture(request, into: &slowlogArena))
            }
            timings.append(
                CommandTiming(
                    command: Int32(CommandMetrics.otherCommand), captured: captured, readAt: router.clock.nanoseconds))
        }
        return seq
    }

    /// Names the command `seq` runs, for its metrics (it counts as `other` until named).
    @inline(__always)
    func noteCommand(_ spec: CommandSpec, seq: Int) {
        guard measures, seq >= firstSeq, seq &- firstSeq < timings.count,
            let number = CommandNumbers.redis70.number(of: spec)
        else { return }
        timings[seq &- firstSeq].command = Int32(number)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        lastActivity = .now()
        context.fireChannelReadComplete()
    }

    func read(context: ChannelHandlerContext) {
        if nextSeq &- firstSeq >= router.configuration.maxPipelineDepth || !context.channel.isWritable
            || closeWhenDrained
        {
            readPending = true
        } else {
            context.read()
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        resumeReadingIfPossible()
        context.fireChannelWritabilityChanged()
    }

    /// Redis answers a protocol error with -ERR and closes, after the replies already owed.
    private func protocolError(_ error: RESPProtocolError) {
        guard !closeWhenDrained else { return }
        router.stats.protocolErrors &+= 1
        let seq = allocateSeq(nil)
        var buffer = ByteBuffer()
        buffer.writeRESPError(error)
        closeWhenDrained = true
        deliver(buffer, seq: seq)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private func resumeReadingIfPossible() {
        guard readPending, let context, !closeWhenDrained,
            nextSeq &- firstSeq < router.configuration.maxPipelineDepth, context.channel.isWritable
        else { return }
        readPending = false
        context.read()
    }

    // MARK: Replies

    /// ReplySink: the reply for command `tag`.
    func receive(_ reply: RESPToken, tag: Int) {
        deliver(reply.base, seq: tag)
    }

    /// Records the reply to command `seq` and writes every reply that is now next in line.
    func deliver(_ bytes: ByteBuffer, seq: Int) {
        guard isActive, seq >= firstSeq else { return }
        if seq != firstSeq {
            parked[seq &- firstSeq] = bytes
            return
        }
        write(bytes)
        parked.removeFirst()
        if measures { record(reply: bytes) }
        firstSeq &+= 1
        while let next = parked.first, let ready = next {
            write(ready)
            parked.removeFirst()
            if measures { record(reply: ready) }
            firstSeq &+= 1
        }
        if !pubsub.pendingPushes.isEmpty && firstSeq > pubsub.barrier {
            let pushes = pubsub.pendingPushes
            pubsub.pendingPushes = []
            for push in pushes { write(push) }
        }
        if holdingReplies && parked.isEmpty {
            // The pipeline is complete: its replies go out at the end of this loop iteration, in one write.
            router.clientNeedsFlush(self)
        }
        if closeWhenDrained && parked.isEmpty {
            let channel = context?.channel
            if let context { writeOutput(context) }
            context?.writeAndFlush(wrapOutboundOut(ByteBuffer()), promise: nil)
            channel?.close(promise: nil)
            return
        }
        resumeReadingIfPossible()
    }

    /// Counts the command whose reply was just written: its result, its latency and, when slow, a slow log entry.
    @inline(__always)
    private func record(reply: ByteBuffer) {
        guard let timing = timings.popFirst() else { return }
        let now = router.clock.nanoseconds
        let elapsed = now > timing.readAt ? now &- timing.readAt : 0
        router.metrics.record(
            command: Int(timing.command), result: CommandResult.index(of: reply), nanoseconds: elapsed)
        guard timing.captured > 0 else { return }
        let length = Int(timing.captured)
        let threshold = router.configuration.slowlogSlowerThan
        if threshold >= 0, elapsed / 1_000 >= UInt64(threshold),
            let captured = slowlogArena.getSlice(at: slowlogArena.readerIndex, length: length)
        {
            logSlow(captured, micros: elapsed / 1_000)
        }
        // Only once no slice of it is left, so that the arena's storage is reused, not copied.
        slowlogArena.moveReaderIndex(forwardBy: min(length, slowlogArena.readableBytes))
        if slowlogArena.readableBytes == 0 {
            slowlogArena.clear()
        } else if slowlogArena.readerIndex >= 64 * 1024 {
            // A client that pipelines without pause may never let it drain: drop what has been answered.
            slowlogArena.discardReadBytes()
        }
    }

    private func logSlow(_ captured: ByteBuffer, micros: UInt64) {
        router.slowlog.record(
            id: router.topology.nextSlowlogID(),
            startedAt: Date().timeIntervalSince1970 - Double(micros) / 1e6,
            durationMicros: micros,
            captured: captured,
            client: remoteAddress,
            clientName: name,
            maxLength: router.configuration.slowlogMaxLength)
    }

    /// Answers command `seq` with `bytes` made by the proxy.
    func reply(_ seq: Int, _ bytes: ByteBuffer) {
        deliver(bytes, seq: seq)
    }

    func reply(_ seq: Int, error message: String) {
        var buffer = ByteBuffer()
        buffer.writeRESPError(message)
        deliver(buffer, seq: seq)
    }

    func replyOK(_ seq: Int) {
        deliver(Self.ok, seq: seq)
    }

    static let ok = ByteBuffer(string: "+OK\r\n")
    static let queued = ByteBuffer(string: "+QUEUED\r\n")
    static let empty = ByteBuffer()

    private func write(_ bytes: ByteBuffer) {
        guard bytes.readableBytes > 0, let context else { return }
        router.stats.bytesOut &+= UInt64(bytes.readableBytes)
        if bytes.readableBytes <= BackendConnection.coalescingLimit {
            if output == nil { output = context.channel.allocator.buffer(capacity: outputCapacity) }
            output?.writeImmutableBuffer(bytes)
        } else {
            writeOutput(context)
            context.write(wrapOutboundOut(bytes), promise: nil)
        }
        if !needsFlush {
            needsFlush = true
            router.clientNeedsFlush(self)
        }
    }

    /// Writes the replies buffered in this loop iteration, unless they are the first of a pipeline whose other
    /// replies are still owed: those wait for the rest (`deliver` flushes once none is owed) or for the
    /// configuration's `replyHold`, whichever comes first. A pipeline of 16 GETs over three backends otherwise took
    /// ~1.4 writes to the client, and as many wake-ups of it (CPU per GET at -P 16: -7% in the proxy, -13% in
    /// redis-benchmark). A client waiting for one reply at a time is never held.
    func flush() {
        flush(mayHold: true)
    }

    private func flush(mayHold: Bool) {
        guard let context else {
            needsFlush = false
            return
        }
        if mayHold && !holdingReplies && pendingReplies > 0 && !closeWhenDrained && router.configuration.replyHold > .zero,
            let output, output.readableBytes < BackendConnection.eagerFlushBytes
        {
            holdingReplies = true
            router.holdReplies(of: self)
            return
        }
        holdingReplies = false
        needsFlush = false
        writeOutput(context)
        context.flush()
    }

    /// The router's hold limit is up: the replies held back are written, whatever is still owed.
    func holdExpired() {
        guard holdingReplies else { return }
        flush(mayHold: false)
    }

    /// Hands the replies buffered so far to the channel.
    private func writeOutput(_ context: ChannelHandlerContext) {
        guard let buffer = output else { return }
        output = nil
        outputCapacity = min(max(buffer.readableBytes, 1024), 64 * 1024)
        context.write(wrapOutboundOut(buffer), promise: nil)
    }

    /// Closes the connection once every reply owed has been written (QUIT).
    func closeAfterReplies() {
        closeWhenDrained = true
    }

    // MARK: Pub/sub stream

    /// A frame from a pub/sub connection, written once the replies owed before it are out.
    func streamFrame(_ frame: RESPToken, from connection: BackendConnection) {
        guard isActive, pubsub.owns(connection) else { return }
        if !pubsub.shardChannels.isEmpty || !pubsub.resubscribing.isEmpty, interceptShardFrame(frame) { return }
        pubsub.track(frame, from: connection)
        if firstSeq > pubsub.barrier {
            write(frame.base)
        } else {
            pubsub.pendingPushes.append(frame.base)
        }
    }

    /// Losing a pub/sub connection loses its subscriptions: the client learns it as from a broken Redis
    /// connection, by being disconnected.
    func pubSubConnectionClosed(_ connection: BackendConnection) {
        if isActive && pubsub.owns(connection) {
            context?.close(promise: nil)
        }
    }

    /// A sequence number for a command answered outside the pub/sub stream (QUIT/RESET while subscribed).
    func nextSeqForStream() -> Int {
        allocateSeq(nil)
    }

    // MARK: Connections of this client's own

    /// The client's own connection to `endpoint` for commands that may block.
    func blockingConnection(to endpoint: Endpoint) -> BackendConnection? {
        if let existing = blockingConnections[endpoint], !existing.isClosed { return existing }
        let connection = router.exclusiveConnection(to: endpoint, resp3: resp3)
        blockingConnections[endpoint] = connection
        return connection
    }

    static func format(_ address: SocketAddress) -> String {
        switch address {
        case .v4(let v4): return "\(v4.host):\(address.port ?? 0)"
        case .v6(let v6): return "\(v6.host):\(address.port ?? 0)"
        default: return address.description
        }
    }
}

/// A command owed a reply, for its metrics: which command (a `CommandNumbers` number, or `other`), the size of its
/// slow-log form in the client's arena (0: none), and when it was read.
struct CommandTiming {
    var command: Int32
    var captured: UInt32
    var readAt: UInt64
}
