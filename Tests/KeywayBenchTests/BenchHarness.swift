import Foundation
import RESP
import TestSupport
import Testing

@testable import KeywayBench

/// The `keyway` executable built next to the tests.
enum KeywayBinary {
    static var path: String? {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let testBinaryDirectory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let candidates = [
            testBinaryDirectory.appendingPathComponent("keyway").path,
            root.appendingPathComponent(".build/debug/keyway").path,
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Runs `keyway bench` with `arguments`.
    static func bench(_ arguments: [String], timeout: TimeInterval = 60) throws -> (status: Int32, output: String, error: String) {
        guard let path else { throw PeerError.notInstalled("keyway (run swift build first)") }
        return try Peer.run(path, ["bench", "--quiet"] + arguments, timeout: timeout)
    }
}

/// A small configuration against one redis-server.
func singleConfiguration(port: Int) -> BenchConfiguration {
    var configuration = BenchConfiguration()
    configuration.target = .single(.init(host: "127.0.0.1", port: port))
    configuration.clients = 5
    configuration.pipeline = 4
    configuration.requests = 200
    configuration.keyspace = 200
    configuration.keyPattern = .sequential
    return configuration
}

/// Three redis-server primaries in cluster mode, slots split evenly, formed with CLUSTER commands.
struct RedisCluster {
    var servers: [RedisServerProcess]

    static func start(count: Int = 3) async throws -> RedisCluster {
        var servers: [RedisServerProcess] = []
        do {
            for _ in 0..<count {
                servers.append(
                    try await RedisServerProcess.start(extraArguments: [
                        "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000",
                    ]))
            }
            let cluster = RedisCluster(servers: servers)
            try await cluster.form()
            return cluster
        } catch {
            for server in servers { server.stop() }
            throw error
        }
    }

    private func form() async throws {
        let share = 16384 / servers.count
        for (index, server) in servers.enumerated() {
            let client = try await RESPTestClient.connect(port: server.port)
            defer { client.close() }
            let low = index * share
            let high = index == servers.count - 1 ? 16383 : (index + 1) * share - 1
            _ = try await client.command(["CLUSTER", "ADDSLOTSRANGE", String(low), String(high)])
            _ = try await client.command(["CLUSTER", "SET-CONFIG-EPOCH", String(index + 1)])
            if index > 0 { _ = try await client.command(["CLUSTER", "MEET", "127.0.0.1", String(servers[0].port)]) }
        }
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            var ok = true
            for server in servers {
                let client = try await RESPTestClient.connect(port: server.port)
                let info = try await client.command(["CLUSTER", "INFO"]).string ?? ""
                client.close()
                if !info.contains("cluster_state:ok") || !info.contains("cluster_known_nodes:\(servers.count)") { ok = false }
            }
            if ok { return }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        throw PeerError.notReady("redis cluster")
    }

    func dbsize(_ index: Int) async throws -> Int {
        let client = try await RESPTestClient.connect(port: servers[index].port)
        defer { client.close() }
        guard case .integer(let n) = try await client.command(["DBSIZE"]) else { return -1 }
        return Int(n)
    }

    func stop() {
        for server in servers { server.stop() }
    }
}
