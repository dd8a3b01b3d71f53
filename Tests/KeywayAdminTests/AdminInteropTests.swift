import Foundation
import KeywayAdmin
import NIOCore
import NIOPosix
import TestSupport
import Testing

/// Real HTTP clients against an `AdminServer` on a free loopback port: curl (HTTP/1.1, h2c prior knowledge,
/// `Upgrade: h2c`), nghttp (prior knowledge and upgrade), promtool and h2load.
@Suite("AdminServer interop", .serialized)
struct AdminInteropTests {
    static let token = "t0ken"

    struct Running {
        let server: AdminServer
        let group: MultiThreadedEventLoopGroup
        let base: String

        func stop() async throws {
            try await server.close()
            try await group.shutdownGracefully()
        }
    }

    func start(source: any AdminSource = FakeProxySource()) async throws -> Running {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let metrics = KeywayMetrics()
        metrics.commandCounter(command: "get", result: "ok").increment(by: Int64(3))
        metrics.commandLatency(command: "get").record(.microseconds(120))
        let server = try await AdminServer.start(
            host: "127.0.0.1", port: 0, token: Self.token, source: source, metrics: metrics, group: group)
        let port = try #require(server.port)
        return Running(server: server, group: group, base: "http://127.0.0.1:\(port)")
    }

    /// Every GET endpoint with its expected status and a string its JSON (or text) must contain.
    static let getEndpoints: [(path: String, status: Int, contains: String)] = [
        ("/healthz", 200, #""status":"ok""#),
        ("/readyz", 200, #""ready":true"#),
        ("/v1/topology", 200, #""address":"127.0.0.1:7001""#),
        ("/v1/backends", 200, #""lastError":"connection reset""#),
        ("/v1/clients", 200, #""name":"worker""#),
        ("/v1/slowlog", 200, #""durationMicros":25000"#),
        ("/v1/config", 200, #""read-policy":"primary""#),
        ("/metrics", 200, #"keyway_commands_total{command="get",result="ok"} 3"#),
        ("/nope", 404, #""status":404"#),
    ]

    // MARK: curl

    struct CurlResult {
        var status: Int
        var httpVersion: String
        var body: String
        var headers: String
    }

    func curl(_ mode: [String], _ url: String, extra: [String] = []) async throws -> CurlResult {
        let marker = "\n--keyway-status--"
        let result = try await Tool.run(
            "curl", ["-sS", "-D", "/dev/stderr", "-w", "\(marker) %{http_code} %{http_version}"] + mode + extra + [url])
        #expect(result.exitCode == 0, "curl \(mode) \(url): \(result.stderr)")
        let parts = result.stdout.components(separatedBy: marker)
        let tail = (parts.last ?? "").split(separator: " ")
        return CurlResult(
            status: tail.count == 2 ? Int(tail[0]) ?? 0 : 0,
            httpVersion: tail.count == 2 ? String(tail[1]) : "",
            body: parts.dropLast().joined(separator: marker),
            headers: result.stderr.lowercased()
        )
    }

    static let curlModes: [(name: String, args: [String], version: String)] = [
        ("HTTP/1.1", ["--http1.1"], "1.1"),
        ("h2c prior knowledge", ["--http2-prior-knowledge"], "2"),
        ("Upgrade: h2c", ["--http2"], "2"),
    ]

    @Test(.enabled(if: Tool.usable("curl"), "curl is not installed (apt-get install curl)"))
    func curlFetchesEveryEndpointOverEachProtocol() async throws {
        let running = try await start()
        for mode in Self.curlModes {
            for endpoint in Self.getEndpoints {
                let result = try await curl(mode.args, running.base + endpoint.path)
                #expect(result.status == endpoint.status, "\(mode.name) \(endpoint.path)")
                #expect(result.httpVersion == mode.version, "\(mode.name) \(endpoint.path)")
                #expect(result.body.contains(endpoint.contains), "\(mode.name) \(endpoint.path): \(result.body)")
            }
        }
        try await running.stop()
    }

    @Test(.enabled(if: Tool.usable("curl"), "curl is not installed (apt-get install curl)"))
    func curlMutatingEndpointsAndErrors() async throws {
        let source = FakeProxySource()
        let running = try await start(source: source)
        for mode in Self.curlModes {
            let noToken = try await curl(mode.args, running.base + "/v1/topology/refresh", extra: ["-X", "POST"])
            #expect(noToken.status == 401, "\(mode.name)")
            #expect(noToken.body.contains(#""status":401"#))
            let refreshed = try await curl(
                mode.args, running.base + "/v1/topology/refresh",
                extra: ["-X", "POST", "-H", "Authorization: Bearer \(Self.token)"])
            #expect(refreshed.status == 200, "\(mode.name)")
            #expect(refreshed.body.contains(#""configEpoch":7"#))
            let put = try await curl(
                mode.args, running.base + "/v1/config/read-policy",
                extra: ["-X", "PUT", "-H", "Authorization: Bearer \(Self.token)", "--data-binary", "replica"])
            #expect(put.status == 200, "\(mode.name)")
            #expect(put.body.contains(#""value":"replica""#))
            let wrongMethod = try await curl(mode.args, running.base + "/healthz", extra: ["-X", "DELETE"])
            #expect(wrongMethod.status == 405, "\(mode.name)")
            #expect(wrongMethod.headers.contains("allow: get, head"), "\(mode.name): \(wrongMethod.headers)")
        }
        #expect(await source.refreshes == 3)
        // Header fields past HPACK's one-byte length (127) go through the h2c upgrade intact.
        let longValue = String(repeating: "v", count: 300)
        let upgraded = try await curl(["--http2"], running.base + "/healthz", extra: ["-H", "X-Long: \(longValue)"])
        #expect(upgraded.status == 200)
        #expect(upgraded.httpVersion == "2")
        // Bodies over the limit get 413.
        let tooLarge = try await curl(
            ["--http1.1"], running.base + "/v1/config/read-policy",
            extra: [
                "-X", "PUT", "-H", "Authorization: Bearer \(Self.token)", "--data-binary",
                String(repeating: "x", count: AdminRouter.maxBodyBytes + 1),
            ])
        #expect(tooLarge.status == 413)
        #expect(tooLarge.body.contains(#""status":413"#))
        let config = try await curl(["--http2-prior-knowledge"], running.base + "/v1/config")
        #expect(config.body.contains(#""read-policy":"replica""#))
        let nodeLike = try await start(source: MinimalSource())
        let backends = try await curl(["--http2-prior-knowledge"], nodeLike.base + "/v1/backends")
        #expect(backends.status == 404)
        try await nodeLike.stop()
        try await running.stop()
    }

    @Test(.enabled(if: Tool.usable("curl"), "curl is not installed (apt-get install curl)"))
    func openMetricsWhenAsked() async throws {
        let running = try await start()
        let result = try await curl(
            ["--http2-prior-knowledge"], running.base + "/metrics",
            extra: ["-H", "Accept: application/openmetrics-text; version=1.0.0"])
        #expect(result.status == 200)
        #expect(result.headers.contains("content-type: application/openmetrics-text; version=1.0.0"))
        #expect(result.body.hasSuffix("# EOF\n"))
        #expect(result.body.contains("# TYPE process_cpu_seconds counter"))
        try await running.stop()
    }

    @Test func idleConnectionsAreClosed() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let server = try await AdminServer.start(
            host: "127.0.0.1", port: 0, token: nil, source: MinimalSource(), metrics: KeywayMetrics(), group: group,
            idleTimeout: .milliseconds(200))
        let port = try #require(server.port)
        // A client that sends half a request line and then nothing.
        let client = try await ClientBootstrap(group: group).connect(host: "127.0.0.1", port: port).get()
        try await client.writeAndFlush(ByteBuffer(string: "GET /hea")).get()
        let started = ContinuousClock.now
        // If the server never closes it, the client gives up after 10 s and the expectation below fails.
        let giveUp = client.eventLoop.scheduleTask(in: .seconds(10)) { client.close(promise: nil) }
        try await client.closeFuture.get()
        giveUp.cancel()
        let waited = ContinuousClock.now - started
        #expect(waited < .seconds(5))
        try await server.close()
        try await group.shutdownGracefully()
    }

    // MARK: nghttp

    @Test(.enabled(if: Tool.usable("nghttp"), "nghttp is not installed (apt-get install nghttp2-client)"))
    func nghttpFetchesEveryEndpoint() async throws {
        let running = try await start()
        for upgrade in [false, true] {
            for endpoint in Self.getEndpoints {
                let result = try await Tool.run("nghttp", ["-v"] + (upgrade ? ["-u"] : []) + [running.base + endpoint.path])
                #expect(result.exitCode == 0, "nghttp \(endpoint.path): \(result.stderr)")
                #expect(result.stdout.contains(":status: \(endpoint.status)"), "nghttp upgrade=\(upgrade) \(endpoint.path)")
                #expect(result.stdout.contains(endpoint.contains), "nghttp upgrade=\(upgrade) \(endpoint.path)")
                if upgrade {
                    #expect(result.stdout.contains("HTTP Upgrade success"), "nghttp -u \(endpoint.path)")
                }
            }
        }
        let dataFile = FileManager.default.temporaryDirectory.appendingPathComponent("keyway-admin-\(getpid()).txt")
        try Data("replica".utf8).write(to: dataFile)
        defer { try? FileManager.default.removeItem(at: dataFile) }
        let put = try await Tool.run(
            "nghttp",
            ["-v", "-H", ":method: PUT", "-H", "authorization: Bearer \(Self.token)", "-d", dataFile.path,
             running.base + "/v1/config/read-policy"])
        #expect(put.stdout.contains(":status: 200"))
        #expect(put.stdout.contains(#""value":"replica""#))
        let unauthorized = try await Tool.run(
            "nghttp", ["-v", "-H", ":method: PUT", "-d", dataFile.path, running.base + "/v1/config/read-policy"])
        #expect(unauthorized.stdout.contains(":status: 401"))
        try await running.stop()
    }

    // MARK: promtool, h2load

    @Test(
        .enabled(if: Tool.usable("curl") && Tool.usable("promtool"), "curl or promtool missing (apt-get install curl prometheus)")
    )
    func promtoolAcceptsMetrics() async throws {
        let running = try await start()
        let scrape = try await curl(["--http1.1"], running.base + "/metrics")
        #expect(scrape.status == 200)
        #expect(scrape.headers.contains("content-type: text/plain; version=0.0.4"))
        let check = try await Tool.run("promtool", ["check", "metrics"], input: Array(scrape.body.utf8))
        #expect(check.exitCode == 0, "promtool: \(check.stdout) \(check.stderr)")
        #expect(check.stdout.isEmpty && check.stderr.isEmpty, "promtool: \(check.stdout) \(check.stderr)")
        for name in [
            "process_resident_memory_bytes", "process_cpu_seconds_total", "process_open_fds",
            "process_start_time_seconds", "keyway_command_duration_seconds_bucket",
        ] {
            #expect(scrape.body.contains("\n\(name)") || scrape.body.hasPrefix(name), "\(name) missing")
        }
        try await running.stop()
    }

    @Test(.enabled(if: Tool.usable("h2load"), "h2load is not installed (apt-get install nghttp2-client)"))
    func h2loadScrapesUnderLoad() async throws {
        let running = try await start()
        let result = try await Tool.run("h2load", ["-n", "2000", "-c", "10", "-m", "10", running.base + "/metrics"])
        #expect(result.exitCode == 0, "h2load: \(result.stderr)")
        #expect(result.stdout.contains("2000 succeeded, 0 failed, 0 errored, 0 timeout"), "\(result.stdout)")
        #expect(result.stdout.contains("status codes: 2000 2xx, 0 3xx, 0 4xx, 0 5xx"), "\(result.stdout)")
        try await running.stop()
    }
}
