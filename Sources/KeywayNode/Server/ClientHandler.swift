import NIOConcurrencyHelpers
import NIOCore
import RESP

/// One client connection: decodes the requests of each read, runs them through the dispatcher under one
/// acquisition of the node lock, and writes the replies in order into one buffer, flushed once per read burst
/// so pipelined requests are answered with few syscalls.
///
/// A command that blocks (BLPOP...) holds back the client's later requests, which wait here, decoded but not
/// run, until the blocked command's reply arrives through `resumeAfterBlock`. Pushes produced by other
/// clients (pub/sub messages) arrive through the session's `deliver` and a `ClientPushQueue`.
final class ClientHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let node: NodeState
    private var dispatcher: Dispatcher
    private var session: ClientSession?
    private var reply: ReplyWriter
    private var closing = false
    /// True while a blocking command waits; requests received meanwhile wait in `waitingRequests`.
    private var blocked = false
    private var waitingRequests = CircularBuffer<RESPRequest>()
    /// Past this many waiting requests, stop reading from the socket until the client is unblocked.
    private let maxWaitingRequests = 4096
    private var readPaused = false
    private let pushes = ClientPushQueue()
    /// Flush early when this many reply bytes are pending, so a long pipeline does not buffer without bound.
    private let flushThreshold = 64 * 1024
    /// Commands run under one acquisition of the node lock before it is released and taken again, so that a
    /// long pipeline does not keep the clients of other event loops waiting.
    private let maxCommandsPerLock = 64
    private var decoder: RESPRequestDecoder
    /// Received bytes of a request not complete yet (the client query buffer).
    private var pendingInput: ByteBuffer?
    /// The requests decoded from one read, about to run (storage reused from read to read).
    private var batch: [RESPRequest] = []
    /// Bytes read from the client not yet added to `total_net_input_bytes` (added when the lock is next taken:
    /// Redis counts the bytes it reads, not the requests' sizes).
    private var unaccountedInput = 0

    /// Defers the flush of a read's replies to the end of the event loop tick (nil: flush at once).
    private let flushCoalescer: FlushCoalescer?
    private var flushScheduled = false

    init(node: NodeState, flushCoalescer: FlushCoalescer? = nil) {
        self.node = node
        self.flushCoalescer = flushCoalescer
        self.dispatcher = Dispatcher(node: node)
        self.reply = ReplyWriter(buffer: ByteBuffer(), resp3: false)
        self.decoder = RESPRequestDecoder(limits: node.connectionLimits.withLockedValue { $0.protocolLimits })
        decoder.keepsFrames = false
    }

    func channelActive(context: ChannelHandlerContext) {
        let channel = context.channel
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let eventLoop = context.eventLoop
        let id = node.makeClientID()
        let pushes = self.pushes
        let session = ClientSession(
            id: id,
            address: channel.remoteAddress.map(Self.describe) ?? "?",
            localAddress: channel.localAddress.map(Self.describe) ?? "?",
            eventLoop: eventLoop,
            deliver: { buffer in
                if pushes.append(buffer) {
                    eventLoop.execute { loopBound.value.writePushes() }
                }
            },
            kill: {
                eventLoop.execute { loopBound.value.closeNow() }
            }
        )
        let accepted: Bool = node.lock.withLock {
            guard node.clients.count < node.configuration.maxClients else {
                node.stats.rejectedConnections += 1
                return false
            }
            node.clients[id] = session
            node.stats.totalConnections += 1
            return true
        }
        guard accepted else {
            var buffer = context.channel.allocator.buffer(capacity: 40)
            buffer.writeStaticString("-ERR max number of clients reached\r\n")
            context.writeAndFlush(wrapOutboundOut(buffer)).whenComplete { _ in channel.close(promise: nil) }
            closing = true
            return
        }
        self.dispatcher = Dispatcher(
            node: node,
            resume: { buffer in
                eventLoop.execute { loopBound.value.resumeAfterBlock(buffer) }
            },
            pushes: pushes)
        self.session = session
        self.context = context
        context.fireChannelActive()
    }

    private var context: ChannelHandlerContext?

    func channelInactive(context: ChannelHandlerContext) {
        if let session {
            node.lock.withLock {
                node.stats.netInputBytes &+= unaccountedInput
                node.disconnect(session)
            }
            unaccountedInput = 0
        }
        // Drop the references that point back at this handler (session.deliver, the dispatcher's resume).
        self.session = nil
        self.context = nil
        self.dispatcher = Dispatcher(node: node)
        waitingRequests.removeAll()
        pendingInput = nil
        _ = pushes.take()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing, session != nil else { return }
        var input = unwrapInboundIn(data)
        unaccountedInput &+= input.readableBytes
        if var pending = pendingInput {
            pendingInput = nil
            // Appending in place keeps a request that spans many reads linear; consumed bytes are dropped once
            // they outweigh the rest.
            if pending.readerIndex > 0 && pending.readerIndex >= pending.readableBytes { pending.discardReadBytes() }
            pending.writeBuffer(&input)
            input = pending
        }
        runRequests(in: &input, context: context)
        guard !closing else { return }
        if input.readableBytes > 0 {
            // client-query-buffer-limit: a client whose unparsed input grows past it is closed without a reply,
            // as Redis does. Below 1 MiB (the smallest accepted limit) there is nothing to check.
            if input.readableBytes > 1024 * 1024
                && input.readableBytes > node.connectionLimits.withLockedValue({ $0.queryBuffer })
            {
                node.lock.withLock { node.stats.clientsClosedForLimits += 1 }
                closeNow()
                return
            }
            pendingInput = input
        }
    }

    /// Decodes every complete request in `input`, then runs them, taking the node lock once for a run of
    /// commands (decoding happens outside the lock).
    private func runRequests(in input: inout ByteBuffer, context: ChannelHandlerContext) {
        // The batch is a local array while it runs (its storage is kept in `batch` between reads), so that a
        // request's arguments are lent to the dispatcher instead of copied out of a property (a retain and a
        // release per command); the session likewise is held once per batch.
        var batch: [RESPRequest] = []
        swap(&batch, &self.batch)
        var protocolError: RESPProtocolError?
        do {
            while let request = try decoder.decode(&input) { batch.append(request) }
        } catch {
            protocolError = error
        }
        let session = self.session
        var held = LockedRun(dispatcher: dispatcher)
        var index = 0
        while index < batch.count && !closing {
            if blocked {
                while index < batch.count {
                    waitingRequests.append(batch[index])
                    index += 1
                }
                if waitingRequests.count >= maxWaitingRequests && !readPaused {
                    readPaused = true
                    try? context.channel.syncOptions?.setOption(.autoRead, value: false)
                }
                break
            }
            if !held.locked && batch.count &- index > 1 {
                lockAndPrefetch(batch, from: index, session: session, in: &held)
            }
            run(batch[index].arguments, session: session, in: &held, context: context)
            index += 1
        }
        end(&held)
        // The requests that ran give their argument arrays back; those waiting keep theirs.
        for ran in 0..<index { decoder.recycle(&batch[ran].arguments) }
        batch.removeAll(keepingCapacity: true)
        swap(&batch, &self.batch)
        if closing {
            flush(context: context, thenClose: true)
        } else if let protocolError {
            // Redis answers a protocol error with -ERR and closes the connection.
            closing = true
            reply.buffer.writeRESPError(protocolError)
            flush(context: context, thenClose: true)
        }
    }

    /// A run of a client's commands under the node lock: taken once for up to `maxCommandsPerLock` commands, and
    /// released early to flush a large reply, so that pipelined requests share one acquisition.
    private struct LockedRun {
        /// Copied once per run rather than once per command (a copy retains and releases its references).
        let dispatcher: Dispatcher
        var locked = false
        var commands = 0
        /// The end of the previous command under this hold of the lock, which is the start of the next
        /// (`Dispatcher.executeLocked`).
        var clock: UInt64 = 0
    }

    /// Runs one request within `held`, taking the lock if it is not held.
    @inline(__always)
    private func run(
        _ arguments: [ByteBuffer], session: ClientSession?, in held: inout LockedRun, context: ChannelHandlerContext
    ) {
        if !held.locked { lock(&held) }
        if let session {
            reply.resp3 = session.resp3
            switch held.dispatcher.executeLocked(arguments, session: session, reply: &reply, clock: &held.clock) {
            case .reply: break
            case .replyAndClose: closing = true
            case .blocked: blocked = true
            }
        }
        held.commands += 1
        if reply.buffer.readableBytes >= flushThreshold || held.commands >= maxCommandsPerLock {
            end(&held)
            if !closing && reply.buffer.readableBytes >= flushThreshold { flush(context: context) }
        }
    }

    /// Takes the lock for the batch's requests from `start` on and starts loading the keyspace slots of their first
    /// argument (the key of most commands; a wasted hint otherwise), up to the commands one hold of the lock runs:
    /// the cache misses of a pipeline's lookups then overlap, where each command would stall on its own in turn
    /// (the keyspace probe was ~12% of the node's CPU under GET at -P 16, most of it waiting for memory).
    private func lockAndPrefetch(
        _ batch: [RESPRequest], from start: Int, session: ClientSession?, in held: inout LockedRun
    ) {
        lock(&held)
        guard let session else { return }
        let database = node.databases[session.db]
        var previous = -1
        for index in start..<min(batch.count, start &+ maxCommandsPerLock) where batch[index].arguments.count > 1 {
            // A pipeline on one key (LPUSH mylist ...) needs one prefetch, not one hash per request.
            if previous >= 0 && batch[index].arguments[1] == batch[previous].arguments[1] { continue }
            database.prefetch(batch[index].arguments[1])
            previous = index
        }
    }

    /// Takes the node lock for a run of commands, and accounts the input read since the last time.
    @inline(__always)
    private func lock(_ held: inout LockedRun) {
        node.lock.lock()
        held.locked = true
        held.clock = 0
        node.stats.netInputBytes &+= unaccountedInput
        unaccountedInput = 0
    }

    /// Releases the lock if `held` holds it.
    private func end(_ held: inout LockedRun) {
        guard held.locked else { return }
        node.lock.unlock()
        held.locked = false
        held.commands = 0
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if let flushCoalescer, !closing {
            if !flushScheduled && reply.buffer.readableBytes > 0 {
                flushScheduled = true
                flushCoalescer.enqueue(self)
            }
        } else {
            flush(context: context)
        }
        context.fireChannelReadComplete()
    }

    /// The deferred flush of `channelReadComplete`, at the end of the event loop tick.
    func flushDeferred() {
        flushScheduled = false
        guard !closing, let context else { return }
        flush(context: context)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private func flush(context: ChannelHandlerContext, thenClose: Bool = false) {
        guard reply.buffer.readableBytes > 0 else {
            if thenClose { context.close(promise: nil) }
            return
        }
        let out = reply.buffer
        reply.buffer.clear()
        if thenClose {
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(out)).whenComplete { _ in channel.close(promise: nil) }
        } else {
            context.writeAndFlush(wrapOutboundOut(out), promise: nil)
            if !context.channel.isWritable { enforceOutputLimit(context: context) }
        }
    }

    /// Closes a client whose unsent output is over its `client-output-buffer-limit` (pub/sub: 32 MB by default).
    private func enforceOutputLimit(context: ChannelHandlerContext) {
        guard let session, !closing else { return }
        let buffered = (try? context.channel.syncOptions?.getOption(.bufferedWritableBytes)) ?? 0
        guard node.outputBufferLimitReached(session, bufferedBytes: buffered + pushes.pendingBytes) else { return }
        node.lock.withLock { node.stats.clientsClosedForLimits += 1 }
        closeNow()
    }

    /// Writes the pushes other clients produced for this one (pub/sub messages), in the order they were produced.
    fileprivate func writePushes() {
        guard !closing, let context, let frames = pushes.take() else { return }
        reply.buffer.writeImmutableBuffer(frames)
        flush(context: context)
    }

    /// Writes the reply of the command that blocked, then runs the requests that waited behind it.
    fileprivate func resumeAfterBlock(_ buffer: ByteBuffer) {
        guard blocked, !closing, let context else { return }
        blocked = false
        reply.buffer.writeImmutableBuffer(buffer)
        var held = LockedRun(dispatcher: dispatcher)
        while !blocked, !closing, let request = waitingRequests.popFirst() {
            run(request.arguments, session: session, in: &held, context: context)
        }
        end(&held)
        flush(context: context, thenClose: closing)
        if readPaused && !closing && waitingRequests.count < maxWaitingRequests {
            readPaused = false
            try? context.channel.syncOptions?.setOption(.autoRead, value: true)
        }
    }

    fileprivate func closeNow() {
        closing = true
        context?.close(promise: nil)
    }

    static func describe(_ address: SocketAddress) -> String {
        switch address {
        case .v6: return "[\(address.ipAddress ?? "::")]:\(address.port ?? 0)"
        default: return "\(address.ipAddress ?? "?"):\(address.port ?? 0)"
        }
    }
}

extension NodeState {
    /// Forgets a disconnected client: registry, watches, subscriptions. Called under the lock.
    func disconnect(_ session: ClientSession) {
        clients.removeValue(forKey: session.id)
        unwatchAll(session)
        pubsub.removeAll(for: session)
        blocking.removeClient(id: session.id)
    }

    /// Drops every WATCH of `session`.
    func unwatchAll(_ session: ClientSession) {
        for key in session.watched.keys {
            guard var entry = watchedKeys[key] else { continue }
            entry.watchers -= 1
            watchedKeys[key] = entry.watchers > 0 ? entry : nil
        }
        session.watched.removeAll()
    }
}

/// Push frames produced for one client by other clients' commands (pub/sub messages), from any thread, until the
/// client's event loop writes them: one write for many messages, in the order they were produced.
final class ClientPushQueue: @unchecked Sendable {
    private let lock = NIOLock()
    private var pending: ByteBuffer?
    private var writeScheduled = false

    /// Appends a frame; true when the caller must schedule a write on the client's event loop.
    func append(_ frame: ByteBuffer) -> Bool {
        lock.withLock {
            if pending == nil {
                pending = frame
            } else {
                pending?.writeImmutableBuffer(frame)
            }
            if writeScheduled { return false }
            writeScheduled = true
            return true
        }
    }

    /// Takes every pending frame.
    func take() -> ByteBuffer? {
        lock.withLock {
            writeScheduled = false
            defer { pending = nil }
            return pending
        }
    }

    /// Moves the pending frames in front of the reply being written (called by the dispatcher under the node lock,
    /// so that a reply never overtakes a push produced before it).
    func drain(into buffer: inout ByteBuffer) {
        if let frames = take() { buffer.writeImmutableBuffer(frames) }
    }

    /// Bytes waiting to be written.
    var pendingBytes: Int { lock.withLock { pending?.readableBytes ?? 0 } }
}
