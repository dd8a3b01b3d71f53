import Foundation
import NIOCore
import RESP
import TestSupport
import Testing

@testable import KeywayNode

/// A few `keyway node`s in cluster mode on free loopback ports, formed with CLUSTER commands.
struct LocalCluster {
    var nodes: [NodeHarness] = []
    var directory: URL
    /// cluster-node-timeout of every node (ms).
    var nodeTimeout = 15_000

    static func start(count: Int, nodeTimeout: Int = 15_000) async throws -> LocalCluster {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("keyway-cluster-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var cluster = LocalCluster(directory: directory, nodeTimeout: nodeTimeout)
        for _ in 0..<count {
            cluster.nodes.append(try await Self.startNodeOnFreePorts(directory: directory, nodeTimeout: nodeTimeout))
        }
        return cluster
    }

    /// Starts a node on a free port pair (client port and bus port); another test may take a port between the
    /// check and the bind, so a failed bind is retried on new ports.
    static func startNodeOnFreePorts(directory: URL, nodeTimeout: Int = 15_000) async throws -> NodeHarness {
        var lastError: (any Error)?
        for _ in 0..<8 {
            do {
                return try await Self.startNode(port: Self.clusterPort(), directory: directory, nodeTimeout: nodeTimeout)
            } catch {
                lastError = error
            }
        }
        throw lastError ?? PeerError.notReady("keyway node")
    }

    /// A free port whose bus port (port + 10000) is free too.
    static func clusterPort() -> Int {
        for _ in 0..<50 {
            let port = Peer.freePort()
            if port + 10000 <= 65535 { return port }
        }
        return 20000 + Int.random(in: 0..<20000)
    }

    static func startNode(port: Int, directory: URL, nodeTimeout: Int = 15_000) async throws -> NodeHarness {
        try await NodeHarness.start(clusterEnabled: true) {
            $0.port = port
            $0.directory = directory.path
            $0.clusterNodeTimeout = nodeTimeout
        }
    }

    /// Splits the slots evenly, gives each node its own epoch, and meets everyone with node 0.
    func form() async throws {
        let share = 16384 / nodes.count
        for (index, node) in nodes.enumerated() {
            let client = try await node.client()
            let low = index * share
            let high = index == nodes.count - 1 ? 16383 : (index + 1) * share - 1
            #expect(try await client.command(["CLUSTER", "ADDSLOTSRANGE", String(low), String(high)]) == .simpleString("OK"))
            #expect(try await client.command(["CLUSTER", "SET-CONFIG-EPOCH", String(index + 1)]) == .simpleString("OK"))
            if index > 0 {
                #expect(try await client.command(["CLUSTER", "MEET", "127.0.0.1", String(nodes[0].port)]) == .simpleString("OK"))
            }
            client.close()
        }
        try await waitUntilConsistent()
    }

    /// Waits until every node reports cluster_state:ok and knows every node.
    func waitUntilConsistent(timeout: TimeInterval = 15) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            var ok = true
            for node in nodes {
                let client = try await node.client()
                let info = try await client.command(["CLUSTER", "INFO"]).string ?? ""
                client.close()
                if !info.contains("cluster_state:ok") || !info.contains("cluster_known_nodes:\(nodes.count)") {
                    ok = false
                    break
                }
            }
            if ok { return }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        Issue.record("cluster did not converge")
    }

    func stop() async {
        for node in nodes { await node.stop() }
        try? FileManager.default.removeItem(at: directory)
    }

    /// One command on a fresh connection to node `index`.
    func command(_ index: Int, _ arguments: [String]) async throws -> RESPValue {
        let client = try await nodes[index].client()
        defer { client.close() }
        return try await client.command(arguments)
    }

    /// The flags node `index` shows for node `id` in CLUSTER NODES (`master,fail`...), nil when not listed.
    func flags(_ index: Int, of id: String) async throws -> String? {
        let text = try await command(index, ["CLUSTER", "NODES"]).string ?? ""
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            if fields.count > 2 && fields[0] == id { return String(fields[2]) }
        }
        return nil
    }

    /// `cluster_state` in node `index`'s CLUSTER INFO.
    func state(_ index: Int) async throws -> String? {
        let text = try await command(index, ["CLUSTER", "INFO"]).string ?? ""
        let line = text.split(separator: "\r\n").first { $0.hasPrefix("cluster_state:") }
        return line.map { String($0.dropFirst("cluster_state:".count)) }
    }
}

@Suite("Node: cluster mode")
struct ClusterTests {
    @Test("Cluster commands on a lone node: same replies and errors as redis-server",
          .enabled(if: RedisServerProcess.isAvailable))
    func loneNode() async throws {
        let diff = try await Differential.start(clusterEnabled: true)
        try await diff.run([
            ["CLUSTER", "KEYSLOT", "foo"], ["CLUSTER", "KEYSLOT", "{user1000}.following"],
            ["CLUSTER", "ADDSLOTS", "0", "1", "2", "5"], ["CLUSTER", "ADDSLOTS", "2"], ["CLUSTER", "ADDSLOTS", "16384"],
            ["CLUSTER", "ADDSLOTS", "x"], ["CLUSTER", "ADDSLOTS", "7", "7"], ["CLUSTER", "ADDSLOTSRANGE", "100", "200"],
            ["CLUSTER", "ADDSLOTSRANGE", "300", "250"], ["CLUSTER", "ADDSLOTSRANGE", "300"],
            ["CLUSTER", "DELSLOTS", "9"], ["CLUSTER", "DELSLOTS", "5"], ["CLUSTER", "DELSLOTSRANGE", "150", "160"],
            ["CLUSTER", "COUNTKEYSINSLOT", "20000"], ["CLUSTER", "COUNTKEYSINSLOT", "5"],
            ["CLUSTER", "GETKEYSINSLOT", "5", "-1"], ["CLUSTER", "GETKEYSINSLOT", "5", "10"],
            ["CLUSTER", "SETSLOT", "9000", "MIGRATING", "0123456789012345678901234567890123456789"],
            ["CLUSTER", "SETSLOT", "5", "IMPORTING", "0123456789012345678901234567890123456789"],
            ["CLUSTER", "SETSLOT", "1", "BOGUS"], ["CLUSTER", "SETSLOT", "1", "NODE", "abc"],
            ["CLUSTER", "SET-CONFIG-EPOCH", "-1"], ["CLUSTER", "SET-CONFIG-EPOCH", "5"],
            ["CLUSTER", "SET-CONFIG-EPOCH", "6"], ["CLUSTER", "BUMPEPOCH"],
            ["CLUSTER", "FORGET", "abc"], ["CLUSTER", "MEET", "1.2.3"], ["CLUSTER", "MEET", "127.0.0.1", "x"],
            ["CLUSTER", "NOSUCH"], ["CLUSTER"],
            ["SET", "foo", "bar"], ["GET", "a"], ["MSET", "a", "1", "b", "2"], ["SELECT", "1"], ["SELECT", "0"],
            ["READONLY"], ["READWRITE"], ["ASKING"],
        ])
        // Both servers report the same shape of CLUSTER INFO and NODES.
        let info = try await diff.nodeClient.command(["CLUSTER", "INFO"]).string ?? ""
        #expect(info.contains("cluster_state:fail\r\n"))
        #expect(info.contains("cluster_slots_assigned:93\r\n"))
        #expect(info.contains("cluster_known_nodes:1\r\n"))
        let nodes = try await diff.nodeClient.command(["CLUSTER", "NODES"]).string ?? ""
        let redisNodes = try await diff.redisClient.command(["CLUSTER", "NODES"]).string ?? ""
        #expect(nodes.hasSuffix("\n"))
        let fields = nodes.split(separator: " ").dropFirst(2).joined(separator: " ")
        let redisFields = redisNodes.split(separator: " ").dropFirst(2).joined(separator: " ")
        #expect(fields == redisFields)
        await diff.stop()
    }

    @Test("Three nodes converge through the bus; MOVED, CROSSSLOT and CLUSTERDOWN as Redis")
    func threeNodes() async throws {
        let cluster = try await LocalCluster.start(count: 3)
        try await cluster.form()
        let client = try await cluster.nodes[0].client()
        // foo is in slot 12182, owned by the third node.
        let moved = try await client.command(["SET", "foo", "bar"])
        #expect(moved == .simpleError("MOVED 12182 127.0.0.1:\(cluster.nodes[2].port)"))
        #expect(try await client.command(["MSET", "a", "1", "b", "2"]) == .simpleError("CROSSSLOT Keys in request don't hash to the same slot"))
        #expect(try await client.command(["SET", "{user}a", "1"]) != .simpleString("x"))
        let third = try await cluster.nodes[2].client()
        #expect(try await third.command(["SET", "foo", "bar"]) == .simpleString("OK"))
        #expect(try await third.command(["CLUSTER", "COUNTKEYSINSLOT", "12182"]) == .integer(1))
        #expect(try await third.command(["CLUSTER", "GETKEYSINSLOT", "12182", "10"]) == .array([.bulk("foo")]))
        // Every node lists the same owner for every slot.
        var views: [String] = []
        for node in cluster.nodes {
            let c = try await node.client()
            let text = try await c.command(["CLUSTER", "NODES"]).string ?? ""
            views.append(text.split(separator: "\n").map { line in
                let f = line.split(separator: " ")
                return ([f[0]] + f.dropFirst(8)).joined(separator: " ")
            }.sorted().joined(separator: "\n"))
            let slots = try await c.command(["CLUSTER", "SLOTS"])
            #expect(slots.elements?.count == 3)
            c.close()
        }
        #expect(Set(views).count == 1)
        client.close()
        third.close()
        await cluster.stop()
    }

    @Test("Slot migration: ASK while migrating, MIGRATE moves keys, SETSLOT NODE hands the slot over")
    func migration() async throws {
        let cluster = try await LocalCluster.start(count: 2)
        try await cluster.form()
        let source = try await cluster.nodes[1].client()  // owns 8192-16383
        let target = try await cluster.nodes[0].client()
        let sourceID = try await source.command(["CLUSTER", "MYID"]).string ?? ""
        let targetID = try await target.command(["CLUSTER", "MYID"]).string ?? ""
        // foo → slot 12182
        #expect(try await source.command(["SET", "foo", "1"]) == .simpleString("OK"))
        #expect(try await source.command(["SET", "{foo}2", "2"]) == .simpleString("OK"))
        #expect(try await target.command(["CLUSTER", "SETSLOT", "12182", "IMPORTING", sourceID]) == .simpleString("OK"))
        #expect(try await source.command(["CLUSTER", "SETSLOT", "12182", "MIGRATING", targetID]) == .simpleString("OK"))
        let targetPort = String(cluster.nodes[0].port)
        // A missing key is redirected with ASK; an existing one is still served here.
        #expect(try await source.command(["GET", "{foo}missing"]) == .simpleError("ASK 12182 127.0.0.1:\(targetPort)"))
        #expect(try await source.command(["GET", "foo"]) == .bulk("1"))
        #expect(try await source.command(["MIGRATE", "127.0.0.1", targetPort, "foo", "0", "5000"]) == .simpleString("OK"))
        #expect(try await source.command(["GET", "foo"]) == .simpleError("ASK 12182 127.0.0.1:\(targetPort)"))
        #expect(try await source.command(["MGET", "foo", "{foo}2"]) == .simpleError("TRYAGAIN Multiple keys request during rehashing of slot"))
        // The target serves the slot only to ASKING clients until it owns it.
        #expect(try await target.command(["GET", "foo"]) == .simpleError("MOVED 12182 127.0.0.1:\(cluster.nodes[1].port)"))
        #expect(try await target.pipeline([["ASKING"], ["GET", "foo"]]) == [.simpleString("OK"), .bulk("1")])
        #expect(try await source.command(["MIGRATE", "127.0.0.1", targetPort, "", "0", "5000", "KEYS", "{foo}2", "{foo}none"]) == .simpleString("OK"))
        #expect(try await source.command(["MIGRATE", "127.0.0.1", targetPort, "", "0", "5000", "KEYS", "{foo}none"]) == .simpleString("NOKEY"))
        #expect(try await source.command(["CLUSTER", "COUNTKEYSINSLOT", "12182"]) == .integer(0))
        #expect(try await target.command(["CLUSTER", "SETSLOT", "12182", "NODE", targetID]) == .simpleString("OK"))
        #expect(try await source.command(["CLUSTER", "SETSLOT", "12182", "NODE", targetID]) == .simpleString("OK"))
        #expect(try await target.command(["GET", "{foo}2"]) == .bulk("2"))
        #expect(try await source.command(["GET", "foo"]) == .simpleError("MOVED 12182 127.0.0.1:\(targetPort)"))
        source.close()
        target.close()
        await cluster.stop()
    }

    @Test("A stopped primary is flagged fail by the others, the cluster goes down, and recovers when it restarts")
    func failureDetection() async throws {
        var cluster = try await LocalCluster.start(count: 3, nodeTimeout: 1000)
        try await cluster.form()
        // foo is in slot 12182, owned by the third node.
        #expect(try await cluster.command(2, ["SET", "foo", "bar"]) == .simpleString("OK"))
        let victimID = try #require(try await cluster.command(2, ["CLUSTER", "MYID"]).string)
        let victimPort = cluster.nodes[2].port
        #expect(try await cluster.flags(0, of: victimID) == "master")
        await cluster.nodes[2].stop()

        // Both survivors flag it FAIL (PFAIL, then a quorum of 2 out of 3 primaries) and the cluster goes down.
        let failed = try await eventually(timeout: 10) {
            for survivor in 0..<2 {
                guard try await cluster.flags(survivor, of: victimID) == "master,fail",
                    try await cluster.state(survivor) == "fail"
                else { return false }
            }
            return true
        }
        #expect(failed, "the survivors did not flag the stopped node fail")
        for survivor in 0..<2 {
            #expect(try await cluster.state(survivor) == "fail")
            let info = try await cluster.command(survivor, ["CLUSTER", "INFO"]).string ?? ""
            #expect(info.contains("cluster_slots_fail:5462\r\n"))
            #expect(try await cluster.command(survivor, ["GET", "foo"]) == .simpleError("CLUSTERDOWN The cluster is down"))
            let nodes = try await cluster.command(survivor, ["CLUSTER", "NODES"]).string ?? ""
            let line = nodes.split(separator: "\n").first { $0.hasPrefix(victimID) } ?? ""
            #expect(line.contains(" disconnected 10922-16383"), "\(line)")
        }

        // The node comes back with its nodes.conf: same id, the flags clear, and the cluster is up again.
        cluster.nodes[2] = try await LocalCluster.startNode(
            port: victimPort, directory: cluster.directory, nodeTimeout: 1000)
        #expect(try await cluster.command(2, ["CLUSTER", "MYID"]).string == victimID)
        // Checked together, on one pass: with a short node timeout a loaded machine can make a node miss a PONG
        // and be flagged `fail?` for a moment, as it would with Redis.
        var seen = ""
        let recovered = try await eventually(timeout: 12) {
            let states = [try await cluster.state(0), try await cluster.state(1), try await cluster.state(2)]
            let flags = [try await cluster.flags(0, of: victimID), try await cluster.flags(1, of: victimID)]
            let redirected = try await cluster.command(0, ["GET", "foo"])
            let written = try await cluster.command(2, ["SET", "foo", "again"])
            seen = "states \(states), flags \(flags), GET on node 0 \(redirected), SET on node 2 \(written)"
            return states == ["ok", "ok", "ok"] && flags == ["master", "master"]
                && redirected == .simpleError("MOVED 12182 127.0.0.1:\(victimPort)") && written == .simpleString("OK")
        }
        #expect(recovered, "the cluster did not recover after the node restarted: \(seen)")
        await cluster.stop()
    }

    @Test("The cluster config survives a restart: same node id, same slots")
    func restart() async throws {
        var cluster = try await LocalCluster.start(count: 1)
        let port = cluster.nodes[0].port
        let client = try await cluster.nodes[0].client()
        let id = try await client.command(["CLUSTER", "MYID"])
        #expect(try await client.command(["CLUSTER", "ADDSLOTSRANGE", "0", "99"]) == .simpleString("OK"))
        client.close()
        await cluster.nodes[0].stop()
        cluster.nodes[0] = try await LocalCluster.startNode(port: port, directory: cluster.directory)
        let again = try await cluster.nodes[0].client()
        #expect(try await again.command(["CLUSTER", "MYID"]) == id)
        let info = try await again.command(["CLUSTER", "INFO"]).string ?? ""
        #expect(info.contains("cluster_slots_assigned:100\r\n"))
        again.close()
        await cluster.stop()
    }
}
