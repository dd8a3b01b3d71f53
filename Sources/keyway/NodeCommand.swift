import ArgumentParser
import Foundation
import KeywayAdmin
import KeywayNode
import Logging

/// `keyway node`: a Redis-compatible shard node.
struct NodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node",
        abstract: "Run a Redis-compatible shard node (standalone, or a Redis Cluster node with --cluster-enabled)."
    )

    @Option(help: "TCP port for clients (default 6379).")
    var port: Int?

    @Option(help: "Address to listen on (default 127.0.0.1).")
    var bind: String?

    @Flag(help: "Run as a Redis Cluster node (db 0 only, hash slots, cluster bus on port+10000).")
    var clusterEnabled = false

    @Option(help: "Directory for the cluster config and data files (default: the current directory).")
    var dir: String?

    @Option(help: "A redis.conf-style config file (`name value` lines); flags given here override it.")
    var config: String?

    @Option(help: "Number of databases in standalone mode (default 16).")
    var databases: Int?

    @Option(help: "Event loop threads (default: one per core but one, at least one).")
    var threads: Int?

    @Option(help: "Maximum number of connected clients (default 10000).")
    var maxclients: Int?

    @Option(help: "Maximum bulk string length in bytes, proto-max-bulk-len (default 536870912).")
    var protoMaxBulkLen: Int?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel = "info"

    @Flag(help: .hidden)
    var exitWithParent = false

    @OptionGroup(title: "Admin endpoint")
    var admin: AdminOptions

    func run() async throws {
        var configuration = NodeConfiguration()
        if let config {
            do {
                configuration = try NodeConfiguration.load(file: config, base: configuration)
            } catch {
                throw ValidationError("cannot load \(config): \(error)")
            }
        }
        if let port { configuration.port = port }
        if let bind { configuration.bind = bind }
        if clusterEnabled { configuration.clusterEnabled = true }
        if let dir { configuration.directory = dir }
        if let databases { configuration.databases = databases }
        if let threads { configuration.threads = threads }
        if let maxclients { configuration.maxClients = maxclients }
        if let protoMaxBulkLen { configuration.protocolLimits.maxBulkLength = protoMaxBulkLen }
        let logger = makeLogger(label: "keyway.node", level: logLevel)
        let server = try await NodeServer.start(configuration: configuration, logger: logger)
        let mode = configuration.clusterEnabled ? " (cluster mode)" : ""
        say("keyway node listening on \(configuration.bind):\(server.port)\(mode)")
        let adminServer: AdminServer?
        do {
            adminServer = try await admin.start(
                defaultPort: nil, source: NodeAdminSource(node: server, logLevel: processLogLevel), metrics: KeywayMetrics(),
                group: server.eventLoopGroup, logger: logger)
        } catch {
            await server.shutdown()
            throw error
        }
        if let adminServer, let adminPort = adminServer.port {
            say("admin endpoint on http://\(Self.urlHost(admin.adminBind)):\(adminPort)")
        }
        let signals = SignalWatcher(signals: [SIGINT, SIGTERM]) { server.stopAccepting() }
        // Started by `keyway up`: stop when it is gone, even if it was killed without a chance to stop us.
        let parentWatch = exitWithParent ? ParentWatcher { server.stopAccepting() } : nil
        defer { parentWatch?.cancel() }
        try await server.waitUntilClosed()
        signals.cancel()
        try? await adminServer?.close()
        await server.shutdown()
        logger.info("keyway node stopped")
    }
}

extension NodeCommand {
    /// `host` as it goes in a URL: IPv6 addresses in brackets.
    static func urlHost(_ host: String) -> String {
        host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
    }
}

/// Runs `handler` once when one of `signals` arrives.
final class SignalWatcher: @unchecked Sendable {
    private let sources: [any DispatchSourceSignal]

    init(signals: [Int32], handler: @escaping @Sendable () -> Void) {
        // A parent may have started us with these signals blocked (test runners do); unblock them so that
        // SIGTERM and Ctrl-C always reach us.
        var mask = sigset_t()
        sigemptyset(&mask)
        for number in signals { sigaddset(&mask, number) }
        pthread_sigmask(SIG_UNBLOCK, &mask, nil)
        sources = signals.map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler(handler: handler)
            source.resume()
            return source
        }
    }

    func cancel() {
        for source in sources { source.cancel() }
    }
}

/// Calls `handler` once the process that started this one has gone (the process is re-parented).
final class ParentWatcher: @unchecked Sendable {
    private let timer: any DispatchSourceTimer

    init(handler: @escaping @Sendable () -> Void) {
        let parent = getppid()
        timer = DispatchSource.makeTimerSource(queue: .global())
        timer.schedule(deadline: .now() + .milliseconds(500), repeating: .milliseconds(500))
        timer.setEventHandler {
            if getppid() != parent { handler() }
        }
        timer.resume()
    }

    func cancel() {
        timer.cancel()
    }
}
