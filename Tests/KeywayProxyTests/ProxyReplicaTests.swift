import ClusterModel
import Foundation
import NIOCore
import RESP
import TestSupport
import Testing

@testable import KeywayProxy

@Suite("Proxy reads from replicas and backend timeouts", .serialized)
struct ProxyReplicaTests {
    /// Calls of `command` a redis-server counted (INFO commandstats).
    static func calls(_ command: String, on port: Int) async throws -> Int {
        let client = try await RESPTestClient.connect(port: port)
        defer { client.close() }
        let stats = try await client.command(["INFO", "commandstats"]).text ?? ""
        for line in stats.split(whereSeparator: \.isNewline) where line.hasPrefix("cmdstat_\(command):calls=") {
            let value = line.dropFirst("cmdstat_\(command):calls=".count).prefix { $0.isNumber }
            return Int(value) ?? 0
        }
        return 0
    }

    @Test("--read-from replica sends readonly commands to replicas (with READONLY), writes to primaries, and falls back to the primary when the replicas are gone")
    func replicaReads() async throws {
        guard BackendKind.redis.isAvailable else { return }
        try await withProxy(.redis, configure: { $0.readPolicy = .replica }) { harness in
            // One replica per primary.
            var replicas: [RedisServerProcess] = []
            defer { for replica in replicas { replica.stop() } }
            for primary in harness.nodes {
                let replica = try await RedisServerProcess.start(extraArguments: ["--cluster-enabled", "yes"])
                replicas.append(replica)
                let client = try await RESPTestClient.connect(port: replica.port)
                defer { client.close() }
                _ = try await client.command(["CLUSTER", "MEET", "127.0.0.1", String(primary.port)])
                let primaryClient = try await primary.client()
                let primaryID = try await primaryClient.command(["CLUSTER", "MYID"]).text ?? ""
                primaryClient.close()
                let deadline = Date().addingTimeInterval(15)
                while Date() < deadline {
                    if try await client.command(["CLUSTER", "REPLICATE", primaryID]) == .simpleString("OK") { break }
                    try await Task.sleep(nanoseconds: 100_000_000)
                }
                while Date() < deadline {
                    let info = try await client.command(["INFO", "replication"]).text ?? ""
                    if info.contains("master_link_status:up") { break }
                    try await Task.sleep(nanoseconds: 100_000_000)
                }
            }
            // Wait until the proxy's topology lists the replicas.
            let deadline = Date().addingTimeInterval(15)
            while Date() < deadline {
                if harness.proxy.currentTopology?.shards.allSatisfy({ $0.replicas.count == 1 && $0.replicas[0].healthy }) == true { break }
                harness.proxy.topology.requestRefresh()
                try await Task.sleep(nanoseconds: 200_000_000)
            }
            #expect(harness.proxy.currentTopology?.shards.allSatisfy { $0.replicas.count == 1 } == true)
            try await Task.sleep(nanoseconds: 300_000_000)  // the routers apply the new topology

            let client = try await harness.client()
            defer { client.close() }
            let keys = (0..<30).map { "replica:\($0)" }
            for key in keys { #expect(try await client.command(["SET", key, "v"]) == .simpleString("OK")) }
            try await Task.sleep(nanoseconds: 300_000_000)  // replication catches up
            var primaryGets = 0
            for node in harness.nodes { primaryGets += try await Self.calls("get", on: node.port) }
            for key in keys { #expect(try await client.command(["GET", key]).text == "v") }
            var replicaGets = 0
            for replica in replicas { replicaGets += try await Self.calls("get", on: replica.port) }
            var primaryGetsAfter = 0
            for node in harness.nodes { primaryGetsAfter += try await Self.calls("get", on: node.port) }
            #expect(replicaGets == 30)
            #expect(primaryGetsAfter == primaryGets)
            #expect(try await Self.calls("readonly", on: replicas[0].port) >= 1)

            // Without replicas, reads go to the primaries again.
            for replica in replicas { replica.stop() }
            let retryDeadline = Date().addingTimeInterval(20)
            var answered = 0
            while Date() < retryDeadline && answered < keys.count {
                answered = 0
                for key in keys where try await client.command(["GET", key]).text == "v" { answered += 1 }
                if answered < keys.count { try await Task.sleep(nanoseconds: 300_000_000) }
            }
            #expect(answered == keys.count)
        }
    }

    @Test("a backend that stops answering: its commands fail after the backend timeout, never hang")
    func backendTimeout() async throws {
        guard BackendKind.redis.isAvailable else { return }
        try await withProxy(.redis, configure: { $0.backendTimeout = .milliseconds(500) }) { harness in
            let stalled = try await harness.owner(of: "slow")
            let client = try await harness.client()
            defer { client.close() }
            #expect(try await client.command(["SET", "slow", "1"]) == .simpleString("OK"))
            let pauser = try await stalled.client()
            #expect(try await pauser.command(["CLIENT", "PAUSE", "4000", "ALL"]) == .simpleString("OK"))
            pauser.close()
            let started = Date()
            let reply = try await client.command(["GET", "slow"])
            let waited = Date().timeIntervalSince(started)
            #expect(reply.errorMessage?.contains("backend 127.0.0.1:\(stalled.port)") == true, "\(reply)")
            #expect(reply.errorMessage?.contains("timed out") == true, "\(reply)")
            #expect(waited < 3.5)
        }
    }
}
