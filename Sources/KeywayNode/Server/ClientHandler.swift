import NIOCore
import RESP

/// One client connection: runs each decoded request through the dispatcher and writes the replies in order,
/// flushing once per read burst so pipelined requests are answered with few syscalls.
final class ClientHandler: ChannelInboundHandler {
    typealias InboundIn = RESPRequest
    typealias OutboundOut = ByteBuffer

    private let node: NodeState
    private let dispatcher: Dispatcher
    private var session: ClientSession?
    private var reply: ReplyWriter
    private var closing = false
    /// Flush early when this many reply bytes are pending, so a long pipeline does not buffer without bound.
    private let flushThreshold = 64 * 1024

    init(node: NodeState) {
        self.node = node
        self.dispatcher = Dispatcher(node: node)
        self.reply = ReplyWriter(buffer: ByteBuffer(), resp3: false)
    }

    func channelActive(context: ChannelHandlerContext) {
        let channel = context.channel
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let eventLoop = context.eventLoop
        let id = node.makeClientID()
        let session = ClientSession(
            id: id,
            address: channel.remoteAddress.map(Self.describe) ?? "?",
            localAddress: channel.localAddress.map(Self.describe) ?? "?",
            eventLoop: eventLoop,
            deliver: { buffer in
                eventLoop.execute { loopBound.value.deliver(buffer) }
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
        self.session = session
        self.context = context
        context.fireChannelActive()
    }

    private var context: ChannelHandlerContext?

    func channelInactive(context: ChannelHandlerContext) {
        if let session {
            node.lock.withLock { node.disconnect(session) }
        }
        self.session = nil
        self.context = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing, let session else { return }
        let request = unwrapInboundIn(data)
        reply.resp3 = session.resp3
        let outcome = dispatcher.execute(request.arguments, session: session, reply: &reply)
        if case .replyAndClose = outcome {
            closing = true
            flush(context: context, thenClose: true)
            return
        }
        if reply.buffer.readableBytes >= flushThreshold { flush(context: context) }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flush(context: context)
        context.fireChannelReadComplete()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let protocolError = error as? RESPProtocolError, !closing {
            // Redis answers a protocol error with -ERR and closes the connection.
            closing = true
            reply.buffer.writeRESPError("ERR \(protocolError.message)")
            flush(context: context, thenClose: true)
            return
        }
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
        }
    }

    /// Writes a frame produced outside this client's own commands (pub/sub message, unblocked reply).
    fileprivate func deliver(_ buffer: ByteBuffer) {
        guard !closing, let context else { return }
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
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
