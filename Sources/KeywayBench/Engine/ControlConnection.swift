import NIOCore
import NIOPosix
import RESP

/// A plain request/reply connection for the few commands outside the measured load: cluster discovery,
/// filling the list `LRANGE_100` reads.
final class ControlConnection: Sendable {
    private let channel: any Channel
    private let endpoint: BenchConfiguration.Endpoint

    private init(channel: any Channel, endpoint: BenchConfiguration.Endpoint) {
        self.channel = channel
        self.endpoint = endpoint
    }

    /// Connects and authenticates (AUTH, HELLO 3) as the load connections do.
    static func connect(
        to endpoint: BenchConfiguration.Endpoint, configuration: BenchConfiguration, group: any EventLoopGroup
    ) async throws -> ControlConnection {
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: group)
                .connectTimeout(.nanoseconds(Int64(configuration.connectTimeout * 1e9)))
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(RESPTokenFrameDecoder()))
                        try channel.pipeline.syncOperations.addHandler(ControlHandler())
                    }
                }
                .connect(host: endpoint.host, port: endpoint.port).get()
        } catch {
            throw BenchError.unreachable(endpoint.description, LoopRunner.describe(error))
        }
        let connection = ControlConnection(channel: channel, endpoint: endpoint)
        do {
            if let password = configuration.password {
                var arguments = ["AUTH"]
                if let user = configuration.user { arguments.append(user) }
                arguments.append(password)
                let reply = try await connection.command(arguments, timeout: configuration.connectTimeout)
                if let message = reply.errorMessage { throw BenchError.authentication(endpoint.description, message) }
            }
            if configuration.resp == 3 {
                let reply = try await connection.command(["HELLO", "3"], timeout: configuration.connectTimeout)
                if let message = reply.errorMessage { throw BenchError.server(endpoint.description, message) }
            }
        } catch {
            connection.close()
            throw error
        }
        return connection
    }

    /// Sends one command and waits for its reply, at most `timeout` seconds.
    func command(_ arguments: [String], timeout: Double) async throws -> RESPValue {
        RESPValue(try await reply(to: arguments, timeout: timeout))
    }

    /// Sends one command and waits for its reply as a token, at most `timeout` seconds.
    func reply(to arguments: [String], timeout: Double) async throws -> RESPToken {
        var buffer = channel.allocator.buffer(capacity: 64)
        buffer.writeRESPCommand(arguments)
        let promise = channel.eventLoop.makePromise(of: RESPToken.self)
        let endpoint = self.endpoint
        let timer = channel.eventLoop.scheduleTask(in: .nanoseconds(Int64(timeout * 1e9))) {
            promise.fail(BenchError.timeout("no reply from \(endpoint) within \(timeout) s"))
        }
        channel.writeAndFlush(ControlHandler.Request(bytes: buffer, promise: promise), promise: nil)
        do {
            let token = try await promise.futureResult.get()
            timer.cancel()
            return token
        } catch let error as BenchError {
            throw error
        } catch {
            throw BenchError.server(endpoint.description, "\(error)")
        }
    }

    func close() {
        channel.close(promise: nil)
    }
}

/// Matches replies to requests in order.
private final class ControlHandler: ChannelDuplexHandler {
    typealias InboundIn = RESPToken
    typealias OutboundIn = Request
    typealias OutboundOut = ByteBuffer

    struct Request: Sendable {
        var bytes: ByteBuffer
        var promise: EventLoopPromise<RESPToken>
    }

    private var waiting = CircularBuffer<EventLoopPromise<RESPToken>>()

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        waiting.append(request.promise)
        context.write(wrapOutboundOut(request.bytes), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let token = unwrapInboundIn(data)
        waiting.popFirst()?.succeed(token)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        while let promise = waiting.popFirst() { promise.fail(error) }
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        while let promise = waiting.popFirst() { promise.fail(ChannelError.ioOnClosedChannel) }
        context.fireChannelInactive()
    }
}
