import Foundation
import KeywayAdmin
import KeywayNode
import RESP
import TestSupport
import Testing

/// A real in-process `keyway node` with its admin endpoint (`NodeAdminSource`), driven over RESP and inspected
/// with real HTTP peers: curl (HTTP/1.1, h2c prior knowledge, Upgrade: h2c), nghttp and promtool.
@Suite("Node admin endpoint", .serialized)
struct NodeAdminTests {
    static let token = "n0de-t0ken"

    struct Running {
        let node: NodeServer
        let admin: AdminServer
        let base: String
        let client: RESPTestClient

        func stop() async {
            client.close()
            try? await admin.close()
            await node.shutdown()
        }
    }

    func start(cluster: Bool) async throws -> Running {
        var configuration = NodeConfiguration()
        configuration.port = 0
        configuration.threads = 1
        configuration.clusterEnabled = cluster
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("keyway-node-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        configuration.directory = directory.path
        let node = try await NodeServer.start(configuration: configuration)
        let admin = try await AdminServer.start(
            host: "127.0.0.1", port: 0, token: Self.token, source: NodeAdminSource(node: node, logLevel: LogLevelControl()),
            metrics: KeywayMetrics(), group: node.eventLoopGroup)
        let port = try #require(admin.port)
        let client = try await RESPTestClient.connect(port: node.port)
        return Running(node: node, admin: admin, base: "http://127.0.0.1:\(port)", client: client)
    }

    // MARK: HTTP peers

    struct Fetched {
        var status: Int
        var httpVersion: String
        var body: String
    }

    static let curlModes: [(name: String, args: [String], version: String)] = [
        ("HTTP/1.1", ["--http1.1"], "1.1"),
        ("h2c prior knowledge", ["--http2-prior-knowledge"], "2"),
        ("Upgrade: h2c", ["--http2"], "2"),
    ]

    func curl(_ mode: [String], _ url: String, extra: [String] = []) async throws -> Fetched {
        let marker = "\n--keyway-status--"
        let result = try await Tool.run("curl", ["-sS", "-w", "\(marker) %{http_code} %{http_version}"] + mode + extra + [url])
        #expect(result.exitCode == 0, "curl \(mode) \(url): \(result.stderr)")
        let parts = result.stdout.components(separatedBy: marker)
        let tail = (parts.last ?? "").split(separator: " ")
        return Fetched(
            status: tail.count == 2 ? Int(tail[0]) ?? 0 : 0, httpVersion: tail.count == 2 ? String(tail[1]) : "",
            body: parts.dropLast().joined(separator: marker))
    }

    func put(_ running: Running, _ name: String, _ value: String, token: String? = NodeAdminTests.token)
        async throws -> Fetched
    {
        let auth = token.map { ["-H", "Authorization: Bearer \($0)"] } ?? []
        return try await curl(
            ["--http2-prior-knowledge"], running.base + "/v1/config/\(name)",
            extra: ["-X", "PUT", "--data-binary", value] + auth)
    }

    func decode<T: Decodable>(_ type: T.Type, _ body: String) throws -> T {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(type, from: Data(body.utf8))
    }

    /// `/metrics` samples by series (`name{labels}`), for comparing values.
    static func samples(_ text: String) -> [String: Double] {
        var samples: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else {
                continue
            }
            samples[String(line[..<space])] = value
        }
        return samples
    }

    func integer(_ value: RESPValue) -> Int64? {
        if case .integer(let number) = value { return number }
        return nil
    }

    // MARK: Cluster mode

    @Test(.enabled(if: Tool.usable("curl"), "curl is not installed (apt-get install curl)"))
    func clusterNodeEndpointsOverEachProtocol() async throws {
        let running = try await start(cluster: true)
        let client = running.client
        // No slots yet: cluster_state:fail, so not ready.
        let before = try await curl(["--http2-prior-knowledge"], running.base + "/readyz")
        #expect(before.status == 503)
        let notReady = try decode(Readiness.self, before.body)
        #expect(notReady == Readiness(ready: false, reason: "cluster state fail: 0 of 16384 slots assigned"))
        let emptyMetrics = Self.samples(try await curl(["--http1.1"], running.base + "/metrics").body)
        #expect(emptyMetrics["keyway_cluster_state"] == 0)
        #expect(emptyMetrics["keyway_cluster_slots_served"] == 0)

        #expect(try await client.command(["CLUSTER", "ADDSLOTSRANGE", "0", "16383"]).text == "OK")
        #expect(try await client.command(["CLIENT", "SETNAME", "admin-test"]).text == "OK")
        let sets = 25
        _ = try await client.pipeline((0..<sets).map { ["SET", "key:\($0)", "value"] })
        _ = try await client.pipeline((0..<5).map { ["SET", "ttl:\($0)", "v", "EX", "600"] })
        #expect(try await client.command(["INCR", "key:0"]).text == "ERR value is not an integer or out of range")
        let dbsize = try #require(integer(try await client.command(["DBSIZE"])))
        #expect(dbsize == 30)
        let myID = try #require(try await client.command(["CLUSTER", "MYID"]).text)

        for mode in Self.curlModes {
            let ready = try await curl(mode.args, running.base + "/readyz")
            #expect(ready.status == 200, "\(mode.name)")
            #expect(ready.httpVersion == mode.version, "\(mode.name)")
            #expect(try decode(Readiness.self, ready.body) == Readiness(ready: true, reason: "ok"))

            let health = try await curl(mode.args, running.base + "/healthz")
            #expect(health.status == 200 && health.body.contains(#""status":"ok""#), "\(mode.name)")

            let topologyResponse = try await curl(mode.args, running.base + "/v1/topology")
            #expect(topologyResponse.status == 200, "\(mode.name)")
            let topology = try decode(TopologyReport.self, topologyResponse.body)
            #expect(topology.slotsCovered == 16384)
            #expect(topology.ranges.count == 1)
            let range = try #require(topology.ranges.first)
            #expect(range.start == 0 && range.end == 16383)
            #expect(range.primary.id == myID)
            #expect(range.primary.address == "127.0.0.1:\(running.node.port)")
            #expect(range.primary.health == "online")
            #expect(range.replicas.isEmpty)

            let clientsResponse = try await curl(mode.args, running.base + "/v1/clients")
            #expect(clientsResponse.status == 200, "\(mode.name)")
            let clients = try decode([ClientReport].self, clientsResponse.body)
            let me = try #require(clients.first { $0.name == "admin-test" }, "\(clientsResponse.body)")
            #expect(me.commands >= UInt64(sets + 5 + 5))
            #expect(me.address.hasPrefix("127.0.0.1:"))
            #expect(me.pipelineDepth == 0)

            let slowlog = try await curl(mode.args, running.base + "/v1/slowlog")
            #expect(slowlog.status == 200, "\(mode.name)")
            #expect((try decode([SlowlogEntry].self, slowlog.body)).allSatisfy { $0.durationMicros >= 10_000 })

            let configResponse = try await curl(mode.args, running.base + "/v1/config")
            #expect(configResponse.status == 200, "\(mode.name)")
            let config = try decode([String: String].self, configResponse.body)
            #expect(config["slowlog-log-slower-than"] == "10000")
            #expect(config["slowlog-max-len"] == "128")
            #expect(config["timeout"] == "0")
            #expect(config["maxclients"] == "10000")
            #expect(config["cluster-node-timeout"] == "15000")

            let backends = try await curl(mode.args, running.base + "/v1/backends")
            #expect(backends.status == 404, "\(mode.name)")

            let scrape = try await curl(mode.args, running.base + "/metrics")
            #expect(scrape.status == 200, "\(mode.name)")
            let metrics = Self.samples(scrape.body)
            #expect(metrics[#"keyway_keys{db="0"}"#] == Double(dbsize), "\(scrape.body)")
            #expect(metrics[#"keyway_expiring_keys{db="0"}"#] == 5)
            #expect(try #require(metrics[#"keyway_commands_total{command="set",result="ok"}"#]) >= Double(sets + 5))
            #expect(metrics[#"keyway_commands_total{command="incr",result="failed"}"#] == 1)
            #expect(metrics[#"keyway_commands_total{command="cluster|addslotsrange",result="ok"}"#] == 1)
            #expect(metrics["keyway_expired_keys_total"] == 0)
            #expect(metrics["keyway_evicted_keys_total"] == 0)
            #expect(try #require(metrics["keyway_connected_clients"]) >= 1)
            #expect(try #require(metrics["keyway_client_connections_total"]) >= 1)
            #expect(metrics[#"keyway_rejected_clients_total{limit="maxclients"}"#] == 0)
            #expect(try #require(metrics["keyway_memory_used_bytes"]) > 0)
            #expect(metrics["keyway_cluster_state"] == 1)
            #expect(metrics["keyway_cluster_slots_served"] == 16384)
            #expect(metrics["keyway_cluster_slots_covered"] == 16384)
            #expect(metrics["keyway_cluster_known_nodes"] == 1)
            #expect(metrics["process_resident_memory_bytes"] != nil)
        }
        await running.stop()
    }

    @Test(.enabled(if: Tool.usable("curl"), "curl is not installed (apt-get install curl)"))
    func settingsChangeThroughTheNodesConfigSet() async throws {
        let running = try await start(cluster: false)
        let client = running.client

        let anonymous = try await put(running, "slowlog-log-slower-than", "0", token: nil)
        #expect(anonymous.status == 401)
        let wrongToken = try await put(running, "slowlog-log-slower-than", "0", token: "guess")
        #expect(wrongToken.status == 401)
        #expect(try await client.command(["CONFIG", "GET", "slowlog-log-slower-than"]) == .array(["slowlog-log-slower-than", "10000"]))

        let changed = try await put(running, "slowlog-log-slower-than", "0")
        #expect(changed.status == 200)
        #expect(try decode([String: String].self, changed.body) == ["name": "slowlog-log-slower-than", "value": "0"])
        // The node itself sees the new value.
        #expect(try await client.command(["CONFIG", "GET", "slowlog-log-slower-than"]) == .array(["slowlog-log-slower-than", "0"]))
        #expect(try await client.command(["CLIENT", "SETNAME", "slow-one"]).text == "OK")
        #expect(try await client.command(["SET", "slow:key", "slow-value"]).text == "OK")

        let slowlog = try await curl(["--http2-prior-knowledge"], running.base + "/v1/slowlog")
        #expect(slowlog.status == 200)
        let entries = try decode([SlowlogEntry].self, slowlog.body)
        let set = try #require(entries.first { $0.arguments == ["SET", "slow:key", "slow-value"] }, "\(slowlog.body)")
        #expect(set.clientName == "slow-one")
        #expect(set.client.hasPrefix("127.0.0.1:"))
        #expect(abs(set.startedAt.timeIntervalSinceNow) < 60)
        // Newest first, as SLOWLOG GET.
        #expect(entries.map(\.id) == entries.map(\.id).sorted(by: >))
        let slowlogLength = try #require(integer(try await client.command(["SLOWLOG", "LEN"])))
        #expect(slowlogLength >= Int64(entries.count))

        let maxLength = try await put(running, "slowlog-max-len", "2")
        #expect(maxLength.status == 200)
        let trimmed = try decode([SlowlogEntry].self, try await curl(["--http1.1"], running.base + "/v1/slowlog").body)
        #expect(trimmed.count == 2)

        let unknown = try await put(running, "no-such-setting", "1")
        #expect(unknown.status == 404)
        #expect(unknown.body.contains("unknown setting 'no-such-setting'"))
        // A real Redis parameter outside the admin's run-time settings is not reachable either.
        let password = try await put(running, "requirepass", "secret")
        #expect(password.status == 404)
        #expect(try await client.command(["CONFIG", "GET", "requirepass"]) == .array(["requirepass", ""]))

        let badValue = try await put(running, "timeout", "soon")
        #expect(badValue.status == 400)
        struct ErrorBody: Decodable {
            var error: String
            var status: Int
        }
        let error = try decode(ErrorBody.self, badValue.body)
        #expect(error.status == 400)
        #expect(
            error.error
                == "ERR CONFIG SET failed (possibly related to argument 'timeout') - argument couldn't be parsed into an integer")
        let outOfRange = try await put(running, "maxclients", "0")
        #expect(outOfRange.status == 400)
        #expect(outOfRange.body.contains("argument must be between 1 and"))
        #expect(try await client.command(["CONFIG", "GET", "timeout"]) == .array(["timeout", "0"]))

        // loglevel is the process's logger level (swift-log names, or Redis's).
        #expect(try await put(running, "loglevel", "notice").body.contains(#""value":"notice""#))
        #expect(try await put(running, "loglevel", "verbose").body.contains(#""value":"info""#))
        let loud = try await put(running, "loglevel", "loud")
        #expect(loud.status == 400)
        #expect(loud.body.contains("loglevel must be"))

        let config = try decode([String: String].self, try await curl(["--http1.1"], running.base + "/v1/config").body)
        #expect(config["loglevel"] == "info")
        #expect(config["slowlog-log-slower-than"] == "0")
        #expect(config["slowlog-max-len"] == "2")
        #expect(config["cluster-node-timeout"] == nil)
        await running.stop()
    }

    /// A cluster node on a port whose bus port (port + 10000) exists, as CLUSTER MEET needs.
    func startClusterNode(directory: URL) async throws -> NodeServer {
        var lastError: (any Error)?
        for _ in 0..<20 {
            var configuration = NodeConfiguration()
            configuration.port = 0
            configuration.threads = 1
            configuration.clusterEnabled = true
            configuration.directory = directory.path
            do {
                let node = try await NodeServer.start(configuration: configuration)
                if node.port + 10000 <= 65535 { return node }
                await node.shutdown()
            } catch {
                lastError = error
            }
        }
        throw lastError ?? AdminError.unavailable("no port with room for a cluster bus port")
    }

    @Test(.enabled(if: Tool.usable("curl"), "curl is not installed (apt-get install curl)"))
    func topologyOfTwoPrimaries() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("keyway-node-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let first = try await startClusterNode(directory: directory.appendingPathComponent("a"))
        let second = try await startClusterNode(directory: directory.appendingPathComponent("b"))
        let admin = try await AdminServer.start(
            host: "127.0.0.1", port: 0, token: Self.token, source: NodeAdminSource(node: first),
            metrics: KeywayMetrics(), group: first.eventLoopGroup)
        let base = "http://127.0.0.1:\(try #require(admin.port))"
        let a = try await RESPTestClient.connect(port: first.port)
        let b = try await RESPTestClient.connect(port: second.port)
        #expect(try await a.command(["CLUSTER", "ADDSLOTSRANGE", "0", "8191"]).text == "OK")
        #expect(try await a.command(["CLUSTER", "SET-CONFIG-EPOCH", "1"]).text == "OK")
        #expect(try await b.command(["CLUSTER", "ADDSLOTSRANGE", "8192", "16383"]).text == "OK")
        #expect(try await b.command(["CLUSTER", "SET-CONFIG-EPOCH", "2"]).text == "OK")
        // Half the slots: not ready until the other half is known.
        #expect(try await curl(["--http1.1"], base + "/readyz").status == 503)
        #expect(try await b.command(["CLUSTER", "MEET", "127.0.0.1", String(first.port)]).text == "OK")
        let firstID = try #require(try await a.command(["CLUSTER", "MYID"]).text)
        let secondID = try #require(try await b.command(["CLUSTER", "MYID"]).text)

        // Wait until the first node has the second's slots (ready) and a cluster bus link to it (online).
        var ready = false
        var topology = TopologyReport(configEpoch: 0, refreshedAt: nil, slotsCovered: 0, ranges: [])
        for _ in 0..<150 {
            ready = try await curl(["--http1.1"], base + "/readyz").status == 200
            topology = try decode(TopologyReport.self, try await curl(["--http2-prior-knowledge"], base + "/v1/topology").body)
            if ready && topology.ranges.allSatisfy({ $0.primary.health == "online" }) { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(ready, "the first node never saw cluster_state:ok")
        #expect(topology.slotsCovered == 16384)
        #expect(topology.configEpoch == 2)
        #expect(topology.ranges.map { [$0.start, $0.end] } == [[0, 8191], [8192, 16383]])
        #expect(topology.ranges.map(\.primary.id) == [firstID, secondID])
        #expect(topology.ranges.map(\.primary.address) == ["127.0.0.1:\(first.port)", "127.0.0.1:\(second.port)"])
        #expect(topology.ranges.map(\.primary.configEpoch) == [1, 2])
        #expect(topology.ranges.map(\.primary.health) == ["online", "online"])
        let metrics = Self.samples(try await curl(["--http1.1"], base + "/metrics").body)
        #expect(metrics["keyway_cluster_known_nodes"] == 2)
        #expect(metrics["keyway_cluster_slots_served"] == 8192)
        #expect(metrics["keyway_cluster_slots_covered"] == 16384)
        #expect(metrics["keyway_cluster_state"] == 1)
        // Once the second node is gone, the first no longer reports it online.
        b.close()
        await second.shutdown()
        var secondHealth = "online"
        for _ in 0..<100 where secondHealth == "online" {
            try await Task.sleep(for: .milliseconds(100))
            let now = try decode(TopologyReport.self, try await curl(["--http1.1"], base + "/v1/topology").body)
            secondHealth = now.ranges.last?.primary.health ?? "missing"
        }
        #expect(["unknown", "failed"].contains(secondHealth))
        a.close()
        try await admin.close()
        await first.shutdown()
    }

    // MARK: Standalone mode

    @Test(.enabled(if: Tool.usable("curl"), "curl is not installed (apt-get install curl)"))
    func standaloneNodeHasNoTopologyAndCountsEveryDatabase() async throws {
        let running = try await start(cluster: false)
        let client = running.client
        _ = try await client.pipeline([["SET", "a", "1"], ["SET", "b", "2"], ["SELECT", "3"], ["SET", "c", "3"]])
        _ = try await client.pipeline([["PEXPIRE", "c", "1"], ["SELECT", "0"]])
        try await Task.sleep(for: .milliseconds(20))
        #expect(try await client.command(["SELECT", "3"]).text == "OK")
        #expect(try await client.command(["GET", "c"]) == .nullBulkString)

        let ready = try await curl(["--http2-prior-knowledge"], running.base + "/readyz")
        #expect(ready.status == 200)
        let topology = try await curl(["--http2-prior-knowledge"], running.base + "/v1/topology")
        #expect(topology.status == 404)
        #expect(topology.body.contains("standalone node"))

        let metrics = Self.samples(try await curl(["--http1.1"], running.base + "/metrics").body)
        #expect(metrics[#"keyway_keys{db="0"}"#] == 2)
        #expect(metrics[#"keyway_keys{db="3"}"#] == 0)
        #expect(metrics[#"keyway_keys{db="15"}"#] == 0)
        #expect(metrics[#"keyway_keys{db="16"}"#] == nil)
        #expect(metrics["keyway_expired_keys_total"] == 1)
        #expect(metrics["keyway_cluster_state"] == nil)
        #expect(metrics[#"keyway_commands_total{command="select",result="ok"}"#] == 3)
        await running.stop()
    }

    // MARK: nghttp, promtool

    @Test(.enabled(if: Tool.usable("nghttp"), "nghttp is not installed (apt-get install nghttp2-client)"))
    func nghttpFetchesEveryNodeEndpoint() async throws {
        let running = try await start(cluster: true)
        #expect(try await running.client.command(["CLUSTER", "ADDSLOTSRANGE", "0", "16383"]).text == "OK")
        #expect(try await running.client.command(["SET", "k", "v"]).text == "OK")
        let endpoints: [(path: String, status: Int, contains: String)] = [
            ("/healthz", 200, #""status":"ok""#),
            ("/readyz", 200, #""ready":true"#),
            ("/v1/topology", 200, #""end":16383"#),
            ("/v1/clients", 200, #""address":"127.0.0.1:"#),
            ("/v1/slowlog", 200, "["),
            ("/v1/config", 200, #""slowlog-max-len":"128""#),
            ("/metrics", 200, #"keyway_keys{db="0"} 1"#),
            ("/v1/backends", 404, #""status":404"#),
        ]
        for upgrade in [false, true] {
            for endpoint in endpoints {
                let result = try await Tool.run(
                    "nghttp", ["-v"] + (upgrade ? ["-u"] : []) + [running.base + endpoint.path])
                #expect(result.exitCode == 0, "nghttp \(endpoint.path): \(result.stderr)")
                #expect(result.stdout.contains(":status: \(endpoint.status)"), "nghttp upgrade=\(upgrade) \(endpoint.path)")
                #expect(result.stdout.contains(endpoint.contains), "nghttp upgrade=\(upgrade) \(endpoint.path)")
            }
        }
        let dataFile = FileManager.default.temporaryDirectory.appendingPathComponent("keyway-node-admin-\(getpid()).txt")
        try Data("0".utf8).write(to: dataFile)
        defer { try? FileManager.default.removeItem(at: dataFile) }
        let put = try await Tool.run(
            "nghttp",
            ["-v", "-H", ":method: PUT", "-H", "authorization: Bearer \(Self.token)", "-d", dataFile.path,
             running.base + "/v1/config/slowlog-log-slower-than"])
        #expect(put.stdout.contains(":status: 200"))
        #expect(put.stdout.contains(#""value":"0""#))
        await running.stop()
    }

    @Test(
        .enabled(if: Tool.usable("curl") && Tool.usable("promtool"), "curl or promtool missing (apt-get install curl prometheus)")
    )
    func promtoolAcceptsNodeMetrics() async throws {
        for cluster in [false, true] {
            let running = try await start(cluster: cluster)
            if cluster {
                #expect(try await running.client.command(["CLUSTER", "ADDSLOTSRANGE", "0", "16383"]).text == "OK")
            }
            _ = try await running.client.pipeline([["SET", "k", "v"], ["GET", "k"], ["INCR", "k"], ["CONFIG", "GET", "timeout"]])
            let scrape = try await curl(["--http1.1"], running.base + "/metrics")
            #expect(scrape.status == 200)
            let check = try await Tool.run("promtool", ["check", "metrics"], input: Array(scrape.body.utf8))
            #expect(check.exitCode == 0, "promtool (cluster: \(cluster)): \(check.stdout) \(check.stderr)")
            #expect(check.stdout.isEmpty && check.stderr.isEmpty, "promtool (cluster: \(cluster)): \(check.stdout) \(check.stderr)")
            await running.stop()
        }
    }
}

extension RESPValue {
    /// The text of a string or error reply, for assertions.
    fileprivate var text: String? {
        switch self {
        case .simpleString(let s): return s
        case .bulkString(let b): return String(buffer: b)
        case .simpleError(let s): return s
        default: return nil
        }
    }
}
