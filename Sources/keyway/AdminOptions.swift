import ArgumentParser
import KeywayAdmin
import Logging
import NIOCore

/// The process's log level: every logger of the process reads it, and the admin endpoint's `loglevel` setting
/// changes it at run time. Bootstraps swift-log on first use.
let processLogLevel: LogLevelControl = {
    let control = LogLevelControl()
    LoggingSystem.bootstrap(control.makeHandler(label:))
    return control
}()

/// A logger for `label` at `level` (a swift-log level name; Redis's names are accepted too).
func makeLogger(label: String, level: String) -> Logger {
    processLogLevel.level = LogLevelControl.level(named: level) ?? .info
    return Logger(label: label)
}

/// The admin and metrics endpoint's flags, shared by the roles.
struct AdminOptions: ParsableArguments {
    @Option(
        help: """
            Port of the admin and metrics endpoint (HTTP/2 cleartext and HTTP/1.1 on one port; 0 picks a free \
            port). The proxy listens on 9121 unless told otherwise; a node only when this is given.
            """)
    var adminPort: Int?

    @Option(help: "Address the admin endpoint listens on.")
    var adminBind = "127.0.0.1"

    @Option(help: "Bearer token required by the admin endpoint's mutating requests (POST, PUT).")
    var adminToken: String?

    @Flag(help: "No admin endpoint (the proxy has one by default).")
    var noAdmin = false

    func validate() throws {
        if let adminPort, !(0...65535).contains(adminPort) {
            throw ValidationError("--admin-port must be 0...65535")
        }
        if let adminToken, adminToken.isEmpty { throw ValidationError("--admin-token must not be empty") }
    }

    /// Starts the endpoint on `port` (or `defaultPort`), unless disabled or neither is set.
    func start(
        defaultPort: Int?, source: any AdminSource, metrics: KeywayMetrics, group: any EventLoopGroup,
        logger: Logger
    ) async throws -> AdminServer? {
        guard !noAdmin, let port = adminPort ?? defaultPort else { return nil }
        do {
            return try await AdminServer.start(
                host: adminBind, port: port, token: adminToken, source: source, metrics: metrics, group: group,
                logger: logger)
        } catch {
            throw ValidationError("cannot listen on the admin port \(adminBind):\(port): \(error)")
        }
    }
}
