import ArgumentParser
import Foundation
import KeywayNode
import Logging

/// `keyway node`: a Redis-compatible shard node.
struct NodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node",
        abstract: "Run a Redis-compatible shard node (standalone, or a Redis Cluster node with --cluster-enabled)."
    )

    @Option(help: "TCP port for clients.")
    var port = 6379

    @Option(help: "Address to listen on.")
    var bind = "127.0.0.1"

    @Flag(help: "Run as a Redis Cluster node (db 0 only, hash slots, cluster bus on port+10000).")
    var clusterEnabled = false

    @Option(help: "Directory for the cluster config and data files.")
    var dir = "."

    @Option(help: "Number of databases in standalone mode.")
    var databases = 16

    @Option(help: "Event loop threads (default: one per core).")
    var threads: Int?

    @Option(help: "Maximum number of connected clients.")
    var maxclients = 10_000

    @Option(help: "Maximum bulk string length in bytes (proto-max-bulk-len).")
    var protoMaxBulkLen = 512 * 1024 * 1024

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel = "info"

    func run() async throws {
        var configuration = NodeConfiguration()
        configuration.port = port
        configuration.bind = bind
        configuration.clusterEnabled = clusterEnabled
        configuration.directory = dir
        configuration.databases = databases
        if let threads { configuration.threads = threads }
        configuration.maxClients = maxclients
        configuration.protocolLimits.maxBulkLength = protoMaxBulkLen
        var logger = Logger(label: "keyway.node")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        let server = try await NodeServer.start(configuration: configuration, logger: logger)
        print("keyway node listening on \(bind):\(server.port)\(clusterEnabled ? " (cluster mode)" : "")")
        let signals = SignalWatcher(signals: [SIGINT, SIGTERM]) { server.stopAccepting() }
        try await server.waitUntilClosed()
        signals.cancel()
        await server.shutdown()
        logger.info("keyway node stopped")
    }
}

/// Runs `handler` once when one of `signals` arrives.
final class SignalWatcher: @unchecked Sendable {
    private let sources: [any DispatchSourceSignal]

    init(signals: [Int32], handler: @escaping @Sendable () -> Void) {
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
