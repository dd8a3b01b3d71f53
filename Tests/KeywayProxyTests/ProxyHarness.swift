import ClusterModel
import Foundation
import KeywayNode
import NIOCore
import RESP
import TestSupport
import Testing

@testable import KeywayProxy

/// What the proxy fronts in a test.
enum BackendKind: String, CaseIterable, Sendable, CustomStringConvertible {
    /// Three in-process `keyway node` primaries.
    case keyway
    /// Three Debian `redis-server` processes in cluster mode.
    case redis

    var description: String { rawValue }

    /// True when this backend can run here (redis-server installed, or CI, where it must be).
    var isAvailable: Bool {
        self == .keyway || RedisServerProcess.isAvailable
    }
}

/// One cluster node a test started, of either kind.
final class ClusterNodeHandle: @unchecked Sendable {
    let port: Int
    private var keyway: NodeServer?
    private var redis: RedisServerProcess?

    init(keyway: NodeServer) {
        self.keyway = keyway
        port = keyway.port
    }

    init(redis: RedisServerProcess) {
        self.redis = redis
        port = redis.port
    }

    var endpoint: Endpoint { Endpoint(host: "127.0.0.1", port: port) }

    func client() async throws -> RESPTestClient {
        try await RESPTestClient.connect(port: port)
    }

    /// Stops the node (a redis-server is killed outright, as a crash would).
    func stop() async {
        if let keyway {
            await keyway.shutdown()
            self.keyway = nil
        }
        redis?.stop()
        redis = nil
    }
}

/// A three-primary cluster of either kind plus an in-process `keyway proxy` in front of it.
final class ProxyHarness: @unchecked Sendable {
    let kind: BackendKind
    let nodes: [ClusterNodeHandle]
    let proxy: ProxyServer
    let port: Int
    let directory: URL

    private init(kind: BackendKind, nodes: [ClusterNodeHandle], proxy: ProxyServer, port: Int, directory: URL) {
        self.kind = kind
        self.nodes = nodes
        self.proxy = proxy
        self.port = port
        self.directory = directory
    }

    static func start(
        _ kind: BackendKind, primaries: Int = 3, configure: (inout ProxyConfiguration) -> Void = { _ in }
    ) async throws -> ProxyHarness {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("keyway-proxy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let nodes = try await startCluster(kind, count: primaries, directory: directory)
        var configuration = ProxyConfiguration()
        configuration.port = 0
        configuration.threads = 2
        configuration.seeds = [nodes[0].endpoint]
        configuration.refreshInterval = .seconds(2)
        configure(&configuration)
        let proxy = ProxyServer(configuration: configuration)
        let port = try await proxy.start()
        let harness = ProxyHarness(kind: kind, nodes: nodes, proxy: proxy, port: port, directory: directory)
        try await harness.waitUntilRouting()
        return harness
    }

    /// Starts `count` cluster-mode nodes, gives each an even share of the slots and its own epoch, meets them,
    /// and waits until every node reports `cluster_state:ok`.
    static func startCluster(_ kind: BackendKind, count: Int, directory: URL) async throws -> [ClusterNodeHandle] {
        var nodes: [ClusterNodeHandle] = []
        for index in 0..<count {
            switch kind {
            case .keyway:
                var configuration = NodeConfiguration()
                configuration.clusterEnabled = true
                configuration.threads = 2
                let nodeDirectory = directory.appendingPathComponent("node-\(index)")
                try FileManager.default.createDirectory(at: nodeDirectory, withIntermediateDirectories: true)
                configuration.directory = nodeDirectory.path
                // Another test may take a port between the check and the bind: retry on new ports.
                var started: NodeServer?
                var lastError: (any Error)?
                for _ in 0..<8 where started == nil {
                    configuration.port = clusterPort()
                    do { started = try await NodeServer.start(configuration: configuration) } catch { lastError = error }
                }
                guard let started else { throw lastError ?? PeerError.notReady("keyway node") }
                nodes.append(ClusterNodeHandle(keyway: started))
            case .redis:
                nodes.append(
                    ClusterNodeHandle(
                        redis: try await RedisServerProcess.start(extraArguments: [
                            "--cluster-enabled", "yes", "--cluster-node-timeout", "3000",
                        ])))
            }
        }
        for (index, node) in nodes.enumerated() {
            let client = try await node.client()
            defer { client.close() }
            let low = index * HashSlot.count / count
            let high = (index + 1) * HashSlot.count / count - 1
            _ = try await client.command(["CLUSTER", "ADDSLOTSRANGE", String(low), String(high)])
            _ = try await client.command(["CLUSTER", "SET-CONFIG-EPOCH", String(index + 1)])
            if index > 0 {
                _ = try await client.command(["CLUSTER", "MEET", "127.0.0.1", String(nodes[0].port)])
            }
        }
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            var ok = true
            for node in nodes {
                let client = try await node.client()
                let info = try await client.command(["CLUSTER", "INFO"]).string ?? ""
                client.close()
                if !info.contains("cluster_state:ok") || !info.contains("cluster_known_nodes:\(count)\r") {
                    ok = false
                    break
                }
            }
            if ok { return nodes }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        for node in nodes { await node.stop() }
        throw PeerError.notReady("\(kind) cluster did not converge")
    }

    /// A free port whose cluster bus port (port + 10000) is a valid port too.
    static func clusterPort() -> Int {
        Peer.freeClusterPorts(count: 1)
    }

    /// Waits until the proxy knows every slot and a write goes through.
    func waitUntilRouting(timeout: TimeInterval = 15) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if proxy.currentTopology?.coveredSlots == HashSlot.count {
                let client = try await self.client()
                defer { client.close() }
                if try await client.command(["SET", "keyway:probe", "1"]) == .simpleString("OK") { return }
            }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        throw PeerError.notReady("proxy routing")
    }

    func client(keepUnsolicited: Bool = false) async throws -> RESPTestClient {
        try await RESPTestClient.connect(port: port, keepUnsolicited: keepUnsolicited)
    }

    /// The node that owns `key`'s slot now (asks the nodes themselves).
    func owner(of key: String) async throws -> ClusterNodeHandle {
        let slot = Int(HashSlot(key: key).rawValue)
        let client = try await nodes[0].client()
        defer { client.close() }
        let reply = try await client.command(["CLUSTER", "SLOTS"])
        for entry in reply.elements ?? [] {
            guard let parts = entry.elements, parts.count >= 3, case .integer(let low) = parts[0],
                case .integer(let high) = parts[1], let node = parts[2].elements, node.count >= 2,
                case .integer(let port) = node[1], Int(low) <= slot, slot <= Int(high)
            else { continue }
            if let match = nodes.first(where: { $0.port == Int(port) }) { return match }
        }
        throw PeerError.notReady("no owner for \(key)")
    }

    func stop() async {
        await proxy.stop()
        for node in nodes { await node.stop() }
        try? FileManager.default.removeItem(at: directory)
    }
}

/// Runs `body` with a fresh harness for `kind`, always stopping it.
func withProxy(
    _ kind: BackendKind, configure: (inout ProxyConfiguration) -> Void = { _ in },
    _ body: (ProxyHarness) async throws -> Void
) async throws {
    let harness = try await ProxyHarness.start(kind, configure: configure)
    do {
        try await body(harness)
    } catch {
        await harness.stop()
        throw error
    }
    await harness.stop()
}

extension RESPValue {
    /// The text of a string reply, for assertions.
    var text: String? {
        switch self {
        case .simpleString(let s): return s
        case .bulkString(let b): return String(buffer: b)
        case .simpleError(let s): return s
        default: return nil
        }
    }
}
