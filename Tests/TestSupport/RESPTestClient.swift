import NIOCore
import NIOPosix
import RESP

/// A minimal pipelining RESP client for tests: sends commands, matches replies in FIFO order.
public final class RESPTestClient: Sendable {
    private let channel: any Channel

    private init(channel: any Channel) {
        self.channel = channel
    }

    /// Connects to `host:port` (loopback in tests). With `keepUnsolicited`, frames that arrive while nothing waits
    /// (pub/sub messages) are kept and answer the next `send` first; otherwise they are dropped.
    public static func connect(
        host: String = "127.0.0.1", port: Int, limits: RESPLimits = .default, keepUnsolicited: Bool = false
    ) async throws -> RESPTestClient {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(5))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        ByteToMessageHandler(RESPTokenFrameDecoder(limits: limits)))
                    try channel.pipeline.syncOperations.addHandler(ReplyMatcher(keepUnsolicited: keepUnsolicited))
                }
            }
            .connect(host: host, port: port).get()
        return RESPTestClient(channel: channel)
    }

    /// Sends one command (each argument a bulk string) and returns its reply.
    public func command(_ arguments: [String]) async throws -> RESPValue {
        var buffer = channel.allocator.buffer(capacity: 64)
        buffer.writeRESPCommand(arguments)
        return try await send(raw: buffer, replies: 1)[0]
    }

    /// Sends one command with binary arguments and returns its reply.
    public func command(bytes arguments: [[UInt8]]) async throws -> RESPValue {
        var buffer = channel.allocator.buffer(capacity: 64)
        buffer.writeRESPCommand(arguments.map { ByteBuffer(bytes: $0) })
        return try await send(raw: buffer, replies: 1)[0]
    }

    /// Sends many commands in one write and returns their replies in order.
    public func pipeline(_ commands: [[String]]) async throws -> [RESPValue] {
        var buffer = channel.allocator.buffer(capacity: 64 * commands.count)
        for command in commands { buffer.writeRESPCommand(command) }
        return try await send(raw: buffer, replies: commands.count)
    }

    /// Writes raw bytes and waits for `replies` reply frames (0 to wait for none).
    public func send(raw: ByteBuffer, replies: Int) async throws -> [RESPValue] {
        let promise = channel.eventLoop.makePromise(of: [RESPToken].self)
        do {
            try await channel.writeAndFlush(ReplyMatcher.Request(bytes: raw, replies: replies, promise: promise))
        } catch {
            // The request never reached the handler (closed connection): nothing else will complete it.
            promise.fail(error)
            throw error
        }
        return try await promise.futureResult.get().map(RESPValue.init)
    }

    /// Completed when the connection closes.
    public func closeFuture() -> EventLoopFuture<Void> { channel.closeFuture }

    public func close() {
        channel.close(promise: nil)
    }
}

/// Matches reply frames to the requests that asked for them, in order.
final class ReplyMatcher: ChannelDuplexHandler {
    typealias InboundIn = RESPToken
    typealias OutboundIn = Request
    typealias OutboundOut = ByteBuffer

    struct Request: Sendable {
        var bytes: ByteBuffer
        var replies: Int
        var promise: EventLoopPromise<[RESPToken]>
    }

    private var waiting = CircularBuffer<(remaining: Int, collected: [RESPToken], promise: EventLoopPromise<[RESPToken]>)>()
    private let keepUnsolicited: Bool
    private var unclaimed = CircularBuffer<RESPToken>()

    init(keepUnsolicited: Bool = false) {
        self.keepUnsolicited = keepUnsolicited
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        var collected: [RESPToken] = []
        while waiting.isEmpty && collected.count < request.replies, let kept = unclaimed.popFirst() {
            collected.append(kept)
        }
        if request.replies == collected.count {
            request.promise.succeed(collected)
        } else {
            waiting.append((request.replies - collected.count, collected, request.promise))
        }
        context.write(wrapOutboundOut(request.bytes), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let token = unwrapInboundIn(data)
        guard !waiting.isEmpty else {
            if keepUnsolicited && unclaimed.count < 100_000 { unclaimed.append(token) }
            return
        }
        waiting[waiting.startIndex].collected.append(token)
        waiting[waiting.startIndex].remaining -= 1
        if waiting[waiting.startIndex].remaining == 0 {
            let done = waiting.removeFirst()
            done.promise.succeed(done.collected)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failAll(error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(ChannelError.ioOnClosedChannel)
        context.fireChannelInactive()
    }

    private func failAll(_ error: any Error) {
        while let item = waiting.popFirst() { item.promise.fail(error) }
    }
}
