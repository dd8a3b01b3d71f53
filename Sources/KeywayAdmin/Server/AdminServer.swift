import Logging
import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOPosix

/// The admin and metrics endpoint: one port serving HTTP/2 with prior knowledge (h2c), HTTP/1.1
/// `Upgrade: h2c`, and plain HTTP/1.1, all answered by one `AdminRouter`.
///
/// Runs on the process's event loop group; requests are answered on the connection's loop, with the
/// `AdminSource` calls made from a task, so a slow source never blocks a loop.
public final class AdminServer: Sendable {
    /// The listening channel.
    let channel: any Channel
    public let router: AdminRouter

    private init(channel: any Channel, router: AdminRouter) {
        self.channel = channel
        self.router = router
    }

    /// The address it listens on (with the real port when started with port 0).
    public var localAddress: SocketAddress? {
        channel.localAddress
    }

    /// The port it listens on.
    public var port: Int? {
        channel.localAddress?.port
    }

    /// Binds `host:port` (port 0 picks a free one) and starts serving.
    ///
    /// - Parameters:
    ///   - token: when set, POST and PUT requests need `Authorization: Bearer <token>`.
    ///   - metrics: the registry `/metrics` exposes.
    ///   - idleTimeout: a connection with no reads or writes for this long is closed.
    public static func start(
        host: String,
        port: Int,
        token: String?,
        source: any AdminSource,
        metrics: KeywayMetrics,
        group: any EventLoopGroup,
        idleTimeout: TimeAmount = .seconds(60),
        logger: Logger = Logger(label: "keyway.admin")
    ) async throws -> AdminServer {
        let router = AdminRouter(source: source, metrics: metrics, token: token)
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 128)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers([
                        IdleStateHandler(allTimeout: idleTimeout),
                        IdleConnectionCloser(),
                        ProtocolSniffer(router: router),
                    ])
                }
            }
            .bind(host: host, port: port)
            .get()
        logger.info(
            "admin endpoint listening",
            metadata: ["address": "\(channel.localAddress.map { "\($0)" } ?? "?")"]
        )
        return AdminServer(channel: channel, router: router)
    }

    /// Stops listening; open connections finish what they are serving.
    public func close() async throws {
        try await channel.close()
    }

    /// Adds HTTP/2 to `channel`'s pipeline, each stream served by an `AdminHTTPHandler`.
    static func configureHTTP2(channel: any Channel, router: AdminRouter) throws {
        _ = try channel.pipeline.syncOperations.configureHTTP2Pipeline(
            mode: .server,
            connectionConfiguration: .init(),
            streamConfiguration: .init()
        ) { stream in
            stream.eventLoop.makeCompletedFuture {
                try stream.pipeline.syncOperations.addHandlers([
                    HTTP2FramePayloadToHTTP1ServerCodec(),
                    AdminHTTPHandler(router: router),
                ])
            }
        }
    }

    /// Adds HTTP/1.1 (with the h2c upgrader) to `channel`'s pipeline.
    static func configureHTTP1(channel: any Channel, router: AdminRouter) throws {
        let upgrader = H2CUpgrader { channel in try configureHTTP2(channel: channel, router: router) }
        try channel.pipeline.syncOperations.configureHTTPServerPipeline(
            withServerUpgrade: (
                upgraders: [upgrader],
                completionHandler: { context in
                    // Upgraded: the HTTP/1 handler goes; each HTTP/2 stream gets its own.
                    let pipeline = context.pipeline.syncOperations
                    if let handlerContext = try? pipeline.context(handlerType: AdminHTTPHandler.self) {
                        pipeline.removeHandler(context: handlerContext, promise: nil)
                    }
                }
            ),
            withErrorHandling: true
        )
        try channel.pipeline.syncOperations.addHandler(AdminHTTPHandler(router: router))
    }
}

/// The first handler of each connection: reads until the bytes either are HTTP/2's 24-byte client preface
/// (prior knowledge) or cannot be, then sets up HTTP/2 or HTTP/1.1 behind itself and passes everything on.
final class ProtocolSniffer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    enum Decision: Equatable {
        case needMoreBytes
        case http2
        case http1
    }

    private let router: AdminRouter
    private var buffered: ByteBuffer?
    private var decided = false

    init(router: AdminRouter) {
        self.router = router
    }

    /// What the first bytes of a connection say.
    static func decide(_ bytes: ByteBufferView) -> Decision {
        let preface = H2CRequestInjector.preface
        for (offset, byte) in bytes.prefix(preface.count).enumerated() where byte != preface[offset] {
            return .http1
        }
        return bytes.count >= preface.count ? .http2 : .needMoreBytes
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !decided else {
            context.fireChannelRead(data)
            return
        }
        var bytes = unwrapInboundIn(data)
        if var pending = buffered {
            pending.writeBuffer(&bytes)
            bytes = pending
        }
        let decision = Self.decide(bytes.readableBytesView)
        guard decision != .needMoreBytes else {
            buffered = bytes
            return
        }
        decided = true
        buffered = nil
        do {
            if decision == .http2 {
                try AdminServer.configureHTTP2(channel: context.channel, router: router)
            } else {
                try AdminServer.configureHTTP1(channel: context.channel, router: router)
            }
        } catch {
            context.close(promise: nil)
            return
        }
        context.fireChannelRead(wrapInboundOut(bytes))
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }
}

/// Closes a connection when `IdleStateHandler` reports it idle, so silent clients cannot hold sockets forever.
final class IdleConnectionCloser: ChannelInboundHandler {
    typealias InboundIn = NIOAny

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }
}
