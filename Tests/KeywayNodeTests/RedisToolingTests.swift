import ClusterModel
import Foundation
import NIOCore
import RESP
import TestSupport
import Testing

@testable import KeywayNode

/// Follows MOVED and ASK like a cluster-aware client, for tests that write while slots move.
actor ClusterTestClient {
    private var connections: [Int: RESPTestClient] = [:]
    private var slotPorts: [Int] = Array(repeating: 0, count: 16384)
    private let seedPort: Int
    private(set) var redirects = 0

    init(seedPort: Int) { self.seedPort = seedPort }

    private func connection(_ port: Int) async throws -> RESPTestClient {
        if let existing = connections[port] { return existing }
        let client = try await RESPTestClient.connect(port: port)
        connections[port] = client
        return client
    }

    /// Reloads the slot map with CLUSTER SLOTS.
    func refresh() async throws {
        let reply = try await connection(seedPort).command(["CLUSTER", "SLOTS"])
        for entry in reply.elements ?? [] {
            guard let parts = entry.elements, parts.count >= 3, case .integer(let low) = parts[0],
                case .integer(let high) = parts[1], let node = parts[2].elements, node.count >= 2,
                case .integer(let port) = node[1]
            else { continue }
            for slot in Int(low)...Int(high) { slotPorts[slot] = Int(port) }
        }
    }

    /// Runs a command on the key's owner, following up to 10 redirections.
    func command(_ args: [String], key: String) async throws -> RESPValue {
        var port = slotPorts[Int(HashSlot(key: key).rawValue)]
        if port == 0 {
            try await refresh()
            port = slotPorts[Int(HashSlot(key: key).rawValue)]
        }
        var asking = false
        for _ in 0..<10 {
            let client = try await connection(port)
            let reply: RESPValue
            if asking {
                reply = try await client.pipeline([["ASKING"], args])[1]
            } else {
                reply = try await client.command(args)
            }
            guard let message = reply.errorMessage else { return reply }
            let parts = message.split(separator: " ")
            if parts.first == "MOVED" || parts.first == "ASK", parts.count == 3,
                let target = parts[2].split(separator: ":").last.flatMap({ Int($0) })
            {
                redirects += 1
                if parts.first == "MOVED", let slot = Int(parts[1]) { slotPorts[slot] = target }
                asking = parts.first == "ASK"
                port = target
                continue
            }
            if parts.first == "TRYAGAIN" {
                try await Task.sleep(nanoseconds: 20_000_000)
                continue
            }
            return reply
        }
        return .simpleError("too many redirects")
    }

    func close() {
        for client in connections.values { client.close() }
        connections.removeAll()
    }
}

@Suite("Node: driven by redis-cli --cluster and redis-benchmark --cluster", .serialized)
struct RedisToolingTests {
    static var toolsAvailable: Bool { Peer.isAvailable("redis-cli") && Peer.isAvailable("redis-benchmark") }

    /// `count` primaries formed by `redis-cli --cluster create --cluster-replicas 0`.
    static func createCluster(nodes count: Int) async throws -> LocalCluster {
        let cluster = try await LocalCluster.start(count: count)
        let addresses = cluster.nodes.map { "127.0.0.1:\($0.port)" }
        let create = try Peer.run(
            "redis-cli", ["--cluster", "create"] + addresses + ["--cluster-replicas", "0", "--cluster-yes"], timeout: 120)
        #expect(create.status == 0, "redis-cli --cluster create failed: \(create.output) \(create.error)")
        #expect(create.output.contains("[OK] All 16384 slots covered."))
        try await cluster.waitUntilConsistent()
        return cluster
    }

    @Test("create, check, -c, and reshard of 1,000 slots with 10,000 keys while a client keeps writing",
          .enabled(if: toolsAvailable))
    func createCheckReshard() async throws {
        let cluster = try await Self.createCluster(nodes: 6)
        let seed = cluster.nodes[0].port
        let check = try Peer.run("redis-cli", ["--cluster", "check", "127.0.0.1:\(seed)"])
        #expect(check.output.contains("[OK] All nodes agree about slots configuration."))
        #expect(check.output.contains("[OK] All 16384 slots covered."))
        #expect(!check.output.contains("[ERR]"))

        // redis-cli -c follows MOVED.
        let set = try Peer.run("redis-cli", ["-c", "-p", String(seed), "SET", "foo", "bar"])
        #expect(set.output.trimmingCharacters(in: .whitespacesAndNewlines) == "OK")
        let get = try Peer.run("redis-cli", ["-c", "-p", String(seed), "GET", "foo"])
        #expect(get.output.trimmingCharacters(in: .whitespacesAndNewlines) == "bar")

        // 10,000 keys spread over every node.
        let client = ClusterTestClient(seedPort: seed)
        try await client.refresh()
        for i in 0..<10_000 {
            _ = try await client.command(["SET", "key:\(i)", "value:\(i)"], key: "key:\(i)")
        }
        let sourceID = try await cluster.nodes[0].client().command(["CLUSTER", "MYID"]).string ?? ""
        let targetID = try await cluster.nodes[1].client().command(["CLUSTER", "MYID"]).string ?? ""

        // A writer keeps going while the slots move; every acknowledged write must survive.
        let writer = Task { () -> [Int: String] in
            var acknowledged: [Int: String] = [:]
            var round = 0
            while !Task.isCancelled && round < 200 {
                for i in stride(from: round % 50, to: 10_000, by: 50) {
                    let value = "v\(round):\(i)"
                    if let reply = try? await client.command(["SET", "key:\(i)", value], key: "key:\(i)"),
                        reply == .simpleString("OK")
                    {
                        acknowledged[i] = value
                    }
                }
                round += 1
            }
            return acknowledged
        }
        let reshard = try Peer.run(
            "redis-cli",
            [
                "--cluster", "reshard", "127.0.0.1:\(seed)", "--cluster-from", sourceID, "--cluster-to", targetID,
                "--cluster-slots", "1000", "--cluster-yes",
            ], timeout: 600)
        writer.cancel()
        let acknowledged = await writer.value
        #expect(reshard.status == 0, "reshard failed: \(reshard.error)")
        let after = try Peer.run("redis-cli", ["--cluster", "check", "127.0.0.1:\(seed)"])
        #expect(after.output.contains("[OK] All 16384 slots covered."))
        #expect(!after.output.contains("[ERR]"), "\(after.output)")
        #expect(!after.output.contains("[WARNING]"), "\(after.output)")

        // No key lost, and every key holds its last acknowledged value.
        try await client.refresh()
        var lost = 0
        for i in 0..<10_000 {
            let expected = acknowledged[i] ?? "value:\(i)"
            let reply = try await client.command(["GET", "key:\(i)"], key: "key:\(i)")
            if reply != .bulk(expected) {
                lost += 1
                if lost <= 5 { Issue.record("key:\(i) is \(reply), expected \(expected)") }
            }
        }
        #expect(lost == 0)
        var total: Int64 = 0
        for node in cluster.nodes {
            let c = try await node.client()
            if case .integer(let n) = try await c.command(["DBSIZE"]) { total += n }
            c.close()
        }
        #expect(total == 10_001)  // 10,000 keys and foo
        await client.close()
        await cluster.stop()
    }

    @Test("redis-benchmark --cluster completes with no errors", .enabled(if: toolsAvailable))
    func benchmarkCluster() async throws {
        let cluster = try await Self.createCluster(nodes: 3)
        let run = try Peer.run(
            "redis-benchmark",
            [
                "--cluster", "-h", "127.0.0.1", "-p", String(cluster.nodes[0].port), "-t",
                "set,get,incr,lpush,sadd,hset,zadd", "-n", "100000", "-c", "20", "-q",
            ], timeout: 600)
        #expect(run.status == 0, "\(run.error)")
        #expect(!run.output.contains("WARNING"), "\(run.output)")
        #expect(!run.output.lowercased().contains("error"), "\(run.output)")
        for test in ["SET", "GET", "INCR", "LPUSH", "SADD", "HSET", "ZADD"] {
            #expect(run.output.contains("\(test): "), "missing \(test) in \(run.output)")
        }
        await cluster.stop()
    }
}
