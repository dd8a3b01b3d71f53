import ArgumentParser
import ClusterModel
import Foundation
import KeywayAdmin
import KeywayProxy
import Logging
import NIOCore

/// Options shared by `keyway proxy` and `keyway up`.
struct ProxyOptions: ParsableArguments {
    @Option(help: "TCP port for clients.")
    var port = 6380

    @Option(help: "Address to listen on.")
    var bind = "127.0.0.1"

    @Option(help: "Event loop threads (default: one per core but one, at least one).")
    var threads: Int?

    @Option(help: "Seconds between full topology refreshes.")
    var refreshInterval = 10.0

    @Option(help: "MOVED/ASK redirects and TRYAGAIN/CLUSTERDOWN retries allowed per command.")
    var maxRedirects = 5

    @Option(help: "Where readonly commands go: primary, prefer-replica or replica.")
    var readFrom = "primary"

    @Option(help: "Maximum number of connected clients.")
    var maxclients = 10_000

    @Option(help: "Commands a client may have in flight before the proxy stops reading from it.")
    var maxPipeline = 1_024

    @Option(help: "Maximum bulk string length in a request, in bytes.")
    var protoMaxBulkLen = 512 * 1024 * 1024

    @Option(help: "Close clients idle for this many seconds (0: never).")
    var timeout = 0.0

    @Option(help: "Milliseconds a backend may leave requests unanswered before its connection is failed.")
    var backendTimeout = 5_000

    @Option(help: "Microseconds the first replies to a client's pipeline may wait for the rest, to go out in one write (0: no wait).")
    var replyHoldUs = 500

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel = "info"

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0...65535") }
        guard ReadPolicy(rawValue: readFrom) != nil else {
            throw ValidationError("--read-from must be primary, prefer-replica or replica")
        }
        guard maxRedirects >= 0, maxclients > 0, maxPipeline > 0, protoMaxBulkLen > 0, backendTimeout >= 0,
            timeout >= 0, refreshInterval > 0, slowlogLogSlowerThan >= -1, slowlogMaxLen >= 0, replyHoldUs >= 0
        else { throw ValidationError("limits must be positive") }
    }

    func configuration(seeds: [Endpoint]) -> ProxyConfiguration {
        var configuration = ProxyConfiguration()
        configuration.port = port
        configuration.bindHost = bind
        configuration.seeds = seeds
        if let threads { configuration.threads = threads }
        configuration.refreshInterval = .milliseconds(Int64(refreshInterval * 1000))
        configuration.maxRedirects = maxRedirects
        configuration.readPolicy = ReadPolicy(rawValue: readFrom) ?? .primary
        configuration.maxClients = maxclients
        configuration.maxPipelineDepth = maxPipeline
        configuration.requestLimits.maxBulkLength = protoMaxBulkLen
        configuration.idleTimeout = .milliseconds(Int64(timeout * 1000))
        configuration.backendTimeout = .milliseconds(Int64(backendTimeout))
        configuration.replyHold = .microseconds(Int64(replyHoldUs))
        configuration.metricsEnabled = !noMetrics
        configuration.slowlogSlowerThan = slowlogLogSlowerThan
        configuration.slowlogMaxLength = slowlogMaxLen
        return configuration
    }

    @Flag(help: "Keep no per-command counts, latency histograms or slow log (connection and redirect counters stay).")
    var noMetrics = false

    @Option(help: "Microseconds after which a command enters the proxy's slow log (-1: none).")
    var slowlogLogSlowerThan = 10_000

    @Option(help: "Slow log entries kept per event loop.")
    var slowlogMaxLen = 128

    var logger: Logger {
        makeLogger(label: "keyway.proxy", level: logLevel)
    }
}

/// `keyway proxy`: one address for a whole Redis Cluster.
struct ProxyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "proxy",
        abstract: "Run the cluster proxy: unmodified Redis clients connect here and reach the whole cluster."
    )

    @Option(help: "Cluster nodes to discover the topology from: host:port[,host:port...].")
    var seed: String

    @OptionGroup var options: ProxyOptions

    @OptionGroup(title: "Admin endpoint") var admin: AdminOptions

    func validate() throws {
        _ = try parseSeeds(seed)
    }

    func run() async throws {
        let logger = options.logger
        let server = ProxyServer(configuration: options.configuration(seeds: try parseSeeds(seed)), logger: logger)
        let port = try await server.start()
        say("keyway proxy listening on \(options.bind):\(port), cluster seeds \(seed)")
        let adminServer: AdminServer?
        do {
            adminServer = try await startProxyAdmin(server, admin: admin, logger: logger)
        } catch {
            await server.stop()
            throw error
        }
        let signals = SignalWatcher(signals: [SIGINT, SIGTERM]) { server.stopAccepting() }
        try? await server.waitUntilClosed()
        signals.cancel()
        try? await adminServer?.close()
        await server.stop()
    }
}

/// Starts the proxy's admin endpoint (port 9121 unless told otherwise) and prints where it listens.
func startProxyAdmin(_ server: ProxyServer, admin: AdminOptions, logger: Logger) async throws -> AdminServer? {
    let adminServer = try await admin.start(
        defaultPort: 9121, source: ProxyAdminSource(server: server, logLevel: processLogLevel),
        metrics: KeywayMetrics(), group: server.eventLoopGroup, logger: logger)
    if let adminServer, let port = adminServer.port {
        say("admin endpoint on http://\(admin.adminBind):\(port) (/metrics, /healthz, /readyz, /v1/...)")
    }
    return adminServer
}

/// Parses `host:port[,host:port...]`.
func parseSeeds(_ text: String) throws -> [Endpoint] {
    let seeds = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    guard !seeds.isEmpty else { throw ValidationError("give at least one seed as host:port") }
    return try seeds.map { seed in
        guard let endpoint = Endpoint(parsing: seed), !endpoint.host.isEmpty else {
            throw ValidationError("'\(seed)' is not host:port")
        }
        return endpoint
    }
}

/// Prints a line straight to standard output (unbuffered, so that it reaches a pipe or log file at once).
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
