import ClusterModel
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import RESP

/// `keyway proxy`: accepts Redis clients and routes their commands across a Redis Cluster.
public final class ProxyServer: Sendable {
    public static let version = "0.1.0"

    public let configuration: ProxyConfiguration
    let group: MultiThreadedEventLoopGroup
    let topology: TopologyManager
    private let routersByLoop: [ObjectIdentifier: Router]
    private let logger: Logger
    private let channel: NIOLockedChannel
    private let stopping = NIOLockedValueBox(false)

    public init(configuration: ProxyConfiguration, logger: Logger = Logger(label: "keyway.proxy")) {
        self.configuration = configuration
        self.logger = logger
        group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, configuration.threads))
        let loops = Array(group.makeIterator())
        topology = TopologyManager(configuration: configuration, eventLoop: loops[0], logger: logger)
        var routers: [ObjectIdentifier: Router] = [:]
        var list: [Router] = []
        for loop in loops {
            let router = Router(eventLoop: loop, configuration: configuration, topology: topology, stats: LoopStats())
            routers[ObjectIdentifier(loop)] = router
            list.append(router)
        }
        routersByLoop = routers
        topology.routers = list
        channel = NIOLockedChannel()
    }

    /// Binds the client port and starts discovering the cluster; returns the bound port.
    @discardableResult
    public func start() async throws -> Int {
        let routers = routersByLoop
        let topology = self.topology
        let configuration = self.configuration
        let serverChannel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 511)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.socketOption(.so_keepalive), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    guard let router = routers[ObjectIdentifier(channel.eventLoop)] else {
                        channel.close(promise: nil)
                        return
                    }
                    guard let id = topology.admitClient() else {
                        router.stats.rejectedClients += 1
                        var buffer = channel.allocator.buffer(capacity: 40)
                        buffer.writeRESPError("ERR max number of clients reached")
                        channel.writeAndFlush(buffer).whenComplete { _ in channel.close(promise: nil) }
                        return
                    }
                    try channel.pipeline.syncOperations.addHandler(ProxyClientHandler(router: router, id: id))
                }
            }
            .bind(host: configuration.bindHost, port: configuration.port).get()
        channel.set(serverChannel)
        topology.start()
        let port = serverChannel.localAddress?.port ?? configuration.port
        logger.info("keyway proxy listening", metadata: ["address": "\(configuration.bindHost):\(port)"])
        return port
    }

    /// Waits until the listening channel closes.
    public func waitUntilClosed() async throws {
        try await channel.get()?.closeFuture.get()
    }

    /// Closes the listening socket, which makes `waitUntilClosed` return (safe from a signal handler).
    public func stopAccepting() {
        channel.get()?.close(promise: nil)
    }

    /// Stops accepting, closes every connection and the event loops. Only the first call does the work.
    public func stop() async {
        guard stopping.withLockedValue({ stopping in
            defer { stopping = true }
            return !stopping
        }) else { return }
        topology.stop()
        if let serverChannel = channel.get() {
            try? await serverChannel.close()
        }
        try? await group.shutdownGracefully()
    }

    /// The current topology, as last refreshed.
    public var currentTopology: ClusterTopology? { topology.snapshot.topology }
}

/// The listening channel, set once the server is bound.
final class NIOLockedChannel: Sendable {
    private let box = NIOLockedValueBox<(any Channel)?>(nil)
    func set(_ channel: any Channel) { box.withLockedValue { $0 = channel } }
    func get() -> (any Channel)? { box.withLockedValue { $0 } }
}
