import Logging
import NIOCore
import NIOPosix
import RESP

/// A running `keyway node`: the listening socket, the event loops and the shared state.
public final class NodeServer: Sendable {
    let state: NodeState
    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel
    private let expiryTask: RepeatedTask

    /// The port the node listens on (useful with port 0).
    public var port: Int { channel.localAddress?.port ?? 0 }

    /// The node's event loops, shared with the admin endpoint so a node adds no threads of its own for it.
    package var eventLoopGroup: any EventLoopGroup { group }

    private init(state: NodeState, group: MultiThreadedEventLoopGroup, channel: any Channel, expiryTask: RepeatedTask) {
        self.state = state
        self.group = group
        self.channel = channel
        self.expiryTask = expiryTask
    }

    /// Binds and starts serving.
    public static func start(configuration: NodeConfiguration, logger: Logger = Logger(label: "keyway.node")) async throws
        -> NodeServer
    {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, configuration.threads))
        let state = NodeState(configuration: configuration)
        if configuration.clusterEnabled {
            let controller = ClusterController(configuration: configuration, logger: logger)
            state.cluster = controller
        }
        let coalescers = FlushCoalescer.perLoop(of: group)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 511)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.socketOption(.so_keepalive), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        ClientHandler(node: state, flushCoalescer: coalescers[ObjectIdentifier(channel.eventLoop)]))
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.bind(host: configuration.bind, port: configuration.port).get()
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
        if let controller = state.cluster {
            // With port 0 (tests) the real port is known only now.
            let actualPort = channel.localAddress?.port ?? configuration.port
            let busPort = actualPort + 10000 <= 65535 ? actualPort + 10000 : 0
            state.lock.withLock {
                controller.state.myself.port = actualPort
                controller.state.myself.busPort = busPort
            }
            let bus = ClusterBus(node: state, controller: controller, eventLoop: group.next(), logger: logger)
            do {
                try await bus.start(bind: configuration.bind, port: busPort)
            } catch {
                try? await channel.close()
                try? await group.shutdownGracefully()
                throw error
            }
            state.lock.withLock {
                controller.bus = bus
                controller.saveIfNeeded()
            }
        }
        // Active expiry: Redis samples expiring keys 10 times a second.
        let expiryTask = group.next().scheduleRepeatedTask(initialDelay: .milliseconds(100), delay: .milliseconds(100)) {
            _ in
            state.serverCron()
        }
        logger.info(
            "keyway node listening",
            metadata: [
                "address": "\(configuration.bind):\(channel.localAddress?.port ?? configuration.port)",
                "cluster": "\(configuration.clusterEnabled)",
            ])
        let server = NodeServer(state: state, group: group, channel: channel, expiryTask: expiryTask)
        let serverChannel = channel
        state.lock.withLock { state.onShutdown = { serverChannel.close(promise: nil) } }
        return server
    }

    /// Completes when the server has been asked to shut down (SIGTERM, SIGINT or SHUTDOWN) and closed.
    public func waitUntilClosed() async throws {
        try await channel.closeFuture.get()
    }

    /// Stops accepting new clients; `waitUntilClosed` then returns.
    public func stopAccepting() {
        channel.close(promise: nil)
    }

    /// Stops accepting, closes every client and stops the event loops.
    public func shutdown() async {
        expiryTask.cancel()
        try? await channel.close()
        if let controller = state.cluster {
            let bus = state.lock.withLock { () -> ClusterBus? in
                controller.saveIfNeeded()
                return controller.bus
            }
            await bus?.stop()
        }
        let sessions = state.lock.withLock { Array(state.clients.values) }
        for session in sessions { session.kill() }
        try? await group.shutdownGracefully()
    }
}
