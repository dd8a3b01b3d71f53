import ClusterModel
import Foundation
import KeywayAdmin
import NIOCore
import RESP
import TestSupport
import Testing

@testable import KeywayProxy

/// The proxy's admin endpoint against a running proxy and cluster, fetched with real HTTP clients: curl (HTTP/1.1
/// and h2c prior knowledge), nghttp, promtool and h2load, while Redis clients use the proxy.
@Suite("Proxy admin endpoint", .serialized)
struct ProxyAdminTests {
    static let token = "s3cret"

    /// Runs `body` with a proxy in front of a `kind` cluster and its admin endpoint on a free port.
    func withAdmin(
        _ kind: BackendKind, configure: (inout ProxyConfiguration) -> Void = { _ in },
        _ body: (ProxyHarness, String) async throws -> Void
    ) async throws {
        try await withProxy(kind, configure: configure) { harness in
            try await harness.waitUntilRouting()
            let admin = try await AdminServer.start(
                host: "127.0.0.1", port: 0, token: Self.token, source: ProxyAdminSource(server: harness.proxy),
                metrics: KeywayMetrics(), group: harness.proxy.eventLoopGroup)
            let port = try #require(admin.port)
            do {
                try await body(harness, "http://127.0.0.1:\(port)")
            } catch {
                try? await admin.close()
                throw error
            }
            try await admin.close()
        }
    }

    struct Response {
        var status: Int
        var body: String
    }

    /// One request with curl; `mode` picks the protocol.
    func curl(_ url: String, mode: String = "--http2-prior-knowledge", _ extra: [String] = []) async throws -> Response {
        let marker = "\n--status--"
        let result = try await Tool.run("curl", ["-sS", mode, "-w", "\(marker)%{http_code}"] + extra + [url])
        #expect(result.exitCode == 0, "curl \(url): \(result.stderr)")
        let parts = result.stdout.components(separatedBy: marker)
        return Response(status: Int(parts.last ?? "") ?? 0, body: parts.dropLast().joined(separator: marker))
    }

    /// The value of the sample whose line starts with `series` (name and labels, exactly as exposed).
    static func sample(_ series: String, in text: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.split(separator: " ").last ?? "")
        }
        return nil
    }

    static let peersAvailable = Tool.usable("curl") && Tool.usable("promtool") && Tool.usable("nghttp")

    @Test(
        "every endpoint reflects what clients did, over h2c, HTTP/1.1 and nghttp; promtool accepts /metrics",
        .enabled(if: peersAvailable, "curl, nghttp or promtool missing (apt-get install curl nghttp2-client prometheus)"),
        arguments: BackendKind.allCases)
    func endpointsReflectTraffic(kind: BackendKind) async throws {
        guard kind.isAvailable else { return }
        try await withAdmin(kind) { harness, base in
            let client = try await harness.client()
            defer { client.close() }
            #expect(try await client.command(["CLIENT", "SETNAME", "admin-test"]) == .simpleString("OK"))
            for i in 0..<50 { _ = try await client.command(["SET", "admin:\(i)", "v\(i)"]) }
            for i in 0..<30 { _ = try await client.command(["GET", "admin:\(i)"]) }
            let mget = try await client.command(["MGET"] + (0..<20).map { "admin:\($0)" })
            #expect(mget.elements?.count == 20)
            #expect(try await client.command(["LPUSH", "admin:0", "x"]).text?.hasPrefix("WRONGTYPE") == true)

            // /metrics: Prometheus text that promtool accepts, with the commands just sent.
            let metrics = try await curl(base + "/metrics")
            #expect(metrics.status == 200)
            let check = try await Tool.run("promtool", ["check", "metrics"], input: Array(metrics.body.utf8))
            #expect(check.exitCode == 0 && check.stdout.isEmpty && check.stderr.isEmpty, "\(check.stdout)\(check.stderr)")
            #expect(Self.sample(#"keyway_commands_total{command="set",result="ok"}"#, in: metrics.body) ?? 0 >= 50)
            #expect(Self.sample(#"keyway_commands_total{command="get",result="ok"}"#, in: metrics.body) == 30)
            #expect(Self.sample(#"keyway_commands_total{command="mget",result="ok"}"#, in: metrics.body) == 1)
            #expect(Self.sample(#"keyway_commands_total{command="lpush",result="wrongtype"}"#, in: metrics.body) == 1)
            #expect(Self.sample(#"keyway_command_duration_seconds_count{command="get"}"#, in: metrics.body) == 30)
            #expect(Self.sample(#"keyway_command_duration_seconds_bucket{command="get",le="+Inf"}"#, in: metrics.body) == 30)
            #expect(Self.sample("keyway_cluster_slots_covered", in: metrics.body) == 16384)
            #expect(Self.sample("keyway_connected_clients", in: metrics.body) ?? 0 >= 1)
            #expect(metrics.body.contains("process_resident_memory_bytes"))
            let backendLatency = metrics.body.split(separator: "\n").filter {
                $0.hasPrefix("keyway_backend_request_duration_seconds_count{backend=\"127.0.0.1:")
            }
            #expect(backendLatency.count == 3, "\(backendLatency)")

            // JSON endpoints.
            #expect(try await curl(base + "/healthz").status == 200)
            let ready = try await curl(base + "/readyz")
            #expect(ready.status == 200 && ready.body.contains(#""ready":true"#), "\(ready.body)")
            let topology = try await curl(base + "/v1/topology")
            #expect(topology.body.contains(#""slotsCovered":16384"#))
            for node in harness.nodes {
                #expect(topology.body.contains(#""address":"127.0.0.1:\#(node.port)""#), "\(topology.body)")
            }
            let backends = try await curl(base + "/v1/backends")
            #expect(backends.status == 200 && backends.body.contains(#""address":"127.0.0.1:"#), "\(backends.body)")
            let clients = try await curl(base + "/v1/clients")
            #expect(clients.body.contains(#""name":"admin-test""#), "\(clients.body)")
            let config = try await curl(base + "/v1/config")
            #expect(config.body.contains(#""read-from":"primary""#), "\(config.body)")

            // Mutations need the token; bad names and values are refused.
            let unauthorized = try await curl(
                base + "/v1/config/slowlog-log-slower-than", ["-X", "PUT", "-d", "0"])
            #expect(unauthorized.status == 401)
            let auth = ["-H", "Authorization: Bearer \(Self.token)"]
            let put = try await curl(base + "/v1/config/slowlog-log-slower-than", ["-X", "PUT", "-d", "0"] + auth)
            #expect(put.status == 200 && put.body.contains(#""value":"0""#), "\(put.body)")
            #expect(try await curl(base + "/v1/config/nonsense", ["-X", "PUT", "-d", "1"] + auth).status == 404)
            #expect(try await curl(base + "/v1/config/read-from", ["-X", "PUT", "-d", "nowhere"] + auth).status == 400)
            #expect(try await curl(base + "/v1/topology/refresh").status == 405)
            _ = try await client.command(["SET", "admin:slow", "marker-value"])
            let slowlog = try await curl(base + "/v1/slowlog")
            #expect(slowlog.body.contains(#"["SET","admin:slow","marker-value"]"#), "\(slowlog.body.prefix(400))")
            let refresh = try await curl(base + "/v1/topology/refresh", ["-X", "POST"] + auth)
            #expect(refresh.status == 200 && refresh.body.contains(#""slotsCovered":16384"#), "\(refresh.body)")

            // The same endpoints over plain HTTP/1.1 and with nghttp.
            for path in ["/metrics", "/healthz", "/readyz", "/v1/topology", "/v1/backends", "/v1/clients", "/v1/slowlog", "/v1/config"] {
                #expect(try await curl(base + path, mode: "--http1.1").status == 200, "\(path)")
                let nghttp = try await Tool.run("nghttp", ["-v", base + path])
                #expect(nghttp.exitCode == 0 && nghttp.stdout.contains(":status: 200"), "\(path): \(nghttp.stderr)")
            }
        }
    }

    @Test(
        "h2load scrapes /metrics (10,000 requests) while redis-benchmark runs through the proxy",
        .enabled(
            if: Tool.usable("h2load") && Tool.usable("redis-benchmark"),
            "h2load or redis-benchmark missing (apt-get install nghttp2-client redis-tools)"))
    func scrapesUnderLoad() async throws {
        try await withAdmin(.keyway) { harness, base in
            async let benchmark = Tool.run(
                "redis-benchmark",
                ["-h", "127.0.0.1", "-p", String(harness.port), "-t", "set,get", "-n", "40000", "-P", "16", "-r", "10000", "-q"])
            let scrape = try await Tool.run("h2load", ["-n", "10000", "-c", "10", "-m", "10", base + "/metrics"])
            #expect(scrape.exitCode == 0, "h2load: \(scrape.stderr)")
            #expect(scrape.stdout.contains("10000 succeeded, 0 failed, 0 errored, 0 timeout"), "\(scrape.stdout)")
            #expect(scrape.stdout.contains("status codes: 10000 2xx, 0 3xx, 0 4xx, 0 5xx"), "\(scrape.stdout)")
            let load = try await benchmark
            #expect(load.exitCode == 0 && !load.stdout.contains("ERR"), "\(load.stdout.suffix(400)) \(load.stderr)")
            let metrics = try await curl(base + "/metrics")
            #expect(Self.sample(#"keyway_commands_total{command="get",result="ok"}"#, in: metrics.body) ?? 0 >= 40000)
        }
    }

    @Test(
        "with metrics off, /metrics keeps the connection and topology families and drops the per-command ones",
        .enabled(if: Tool.usable("curl") && Tool.usable("promtool"), "curl or promtool missing"))
    func metricsOff() async throws {
        try await withAdmin(.keyway, configure: { $0.metricsEnabled = false }) { harness, base in
            let client = try await harness.client()
            defer { client.close() }
            for i in 0..<10 { _ = try await client.command(["SET", "off:\(i)", "v"]) }
            let metrics = try await curl(base + "/metrics")
            let check = try await Tool.run("promtool", ["check", "metrics"], input: Array(metrics.body.utf8))
            #expect(check.exitCode == 0 && check.stdout.isEmpty, "\(check.stdout)\(check.stderr)")
            #expect(!metrics.body.contains("keyway_commands_total"))
            #expect(!metrics.body.contains("keyway_command_duration_seconds"))
            #expect(Self.sample("keyway_connected_clients", in: metrics.body) ?? 0 >= 1)
            #expect(Self.sample("keyway_cluster_slots_covered", in: metrics.body) == 16384)
        }
    }
}
