import ClusterModel
import Foundation
import NIOCore
import RESP
import TestSupport
import Testing

@testable import KeywayProxy

/// Writes through the proxy until told to stop, recording every reply that is not the expected one.
actor LoadWriter {
    private(set) var written: [String: String] = [:]
    private(set) var failures: [String] = []
    private var stopped = false

    func stop() { stopped = true }
    func isStopped() -> Bool { stopped }

    /// Writes `prefix<n>` keys in pipelines of 20 until stopped (or `limit` keys), then returns.
    func run(port: Int, prefix: String, limit: Int) async {
        guard let client = try? await RESPTestClient.connect(port: port) else {
            failures.append("cannot connect")
            return
        }
        defer { client.close() }
        var next = 0
        while !stopped && next < limit {
            let batch = (next..<min(next + 20, limit)).map { "\(prefix)\($0)" }
            next += batch.count
            do {
                let replies = try await client.pipeline(batch.map { ["SET", $0, "value-\($0)"] })
                for (key, reply) in zip(batch, replies) {
                    if reply == .simpleString("OK") {
                        written[key] = "value-\(key)"
                    } else {
                        failures.append("SET \(key): \(reply)")
                    }
                }
            } catch {
                failures.append("\(error)")
                return
            }
        }
    }
}

@Suite("Proxy under resharding, failures and limits", .serialized)
struct ProxyResilienceTests {
    /// Moves `slot` from `source` to `target` the way redis-cli does: IMPORTING, MIGRATING, MIGRATE in batches,
    /// then SETSLOT NODE everywhere.
    static func migrate(slot: Int, from source: ClusterNodeHandle, to target: ClusterNodeHandle, all: [ClusterNodeHandle])
        async throws
    {
        let sourceClient = try await source.client()
        let targetClient = try await target.client()
        defer {
            sourceClient.close()
            targetClient.close()
        }
        let sourceID = try await sourceClient.command(["CLUSTER", "MYID"]).text ?? ""
        let targetID = try await targetClient.command(["CLUSTER", "MYID"]).text ?? ""
        #expect(try await targetClient.command(["CLUSTER", "SETSLOT", String(slot), "IMPORTING", sourceID]) == .simpleString("OK"))
        #expect(try await sourceClient.command(["CLUSTER", "SETSLOT", String(slot), "MIGRATING", targetID]) == .simpleString("OK"))
        while true {
            let keys = (try await sourceClient.command(["CLUSTER", "GETKEYSINSLOT", String(slot), "10"]).elements ?? [])
                .compactMap(\.text)
            if keys.isEmpty { break }
            let reply = try await sourceClient.command(
                ["MIGRATE", "127.0.0.1", String(target.port), "", "0", "5000", "KEYS"] + keys)
            #expect(reply == .simpleString("OK") || reply == .simpleString("NOKEY"), "MIGRATE: \(reply)")
            // Give the writer time to hit the slot while it is half moved.
            try await Task.sleep(nanoseconds: 2_000_000)
        }
        #expect(try await targetClient.command(["CLUSTER", "SETSLOT", String(slot), "NODE", targetID]) == .simpleString("OK"))
        #expect(try await sourceClient.command(["CLUSTER", "SETSLOT", String(slot), "NODE", targetID]) == .simpleString("OK"))
        for node in all where node !== source && node !== target {
            let client = try await node.client()
            _ = try await client.command(["CLUSTER", "SETSLOT", String(slot), "NODE", targetID])
            client.close()
        }
    }

    @Test("a CLUSTER SETSLOT migration under load: no redirect reaches the client, no write is lost",
        arguments: BackendKind.allCases)
    func setSlotMigrationUnderLoad(kind: BackendKind) async throws {
        guard kind.isAvailable else { return }
        try await withProxy(kind) { harness in
            let slot = Int(HashSlot(key: "mig").rawValue)
            let source = try await harness.owner(of: "{mig}")
            let target = harness.nodes.first { $0 !== source }!
            // Keys already in the slot, so that the move takes a while.
            let seed = try await harness.client()
            var mset = ["MSET"]
            for index in 0..<1500 { mset += ["{mig}old\(index)", "old-\(index)"] }
            #expect(try await seed.command(mset) == .simpleString("OK"))
            seed.close()

            let writer = LoadWriter()
            let writing = Task { await writer.run(port: harness.port, prefix: "{mig}new", limit: 1_000_000) }
            try await Self.migrate(slot: slot, from: source, to: target, all: harness.nodes)
            try await Task.sleep(nanoseconds: 300_000_000)
            await writer.stop()
            await writing.value

            let failures = await writer.failures
            #expect(failures.isEmpty, "\(failures.prefix(5))")
            let written = await writer.written
            #expect(written.count > 100)
            let reader = try await harness.client()
            defer { reader.close() }
            let keys = Array(written.keys) + (0..<1500).map { "{mig}old\($0)" }
            let values = try await reader.command(["MGET"] + keys).elements ?? []
            #expect(values.count == keys.count)
            var lost = 0
            for (key, value) in zip(keys, values) {
                let expected = written[key] ?? "old-\(key.dropFirst("{mig}old".count))"
                if value.text != expected { lost += 1 }
            }
            #expect(lost == 0)
            // Every key is on the target now.
            let direct = try await target.client()
            #expect(try await direct.command(["CLUSTER", "COUNTKEYSINSLOT", String(slot)]) == .integer(Int64(keys.count)))
            direct.close()
        }
    }

    @Test("SSUBSCRIBE follows its channel's slot when the slot moves", arguments: BackendKind.allCases)
    func shardChannelFollowsSlot(kind: BackendKind) async throws {
        guard kind.isAvailable else { return }
        try await withProxy(kind) { harness in
            let subscriber = try await harness.client(keepUnsolicited: true)
            let publisher = try await harness.client()
            defer {
                subscriber.close()
                publisher.close()
            }
            func smessage(_ text: String) -> RESPValue {
                .array([.bulkString(ByteBuffer(string: "smessage")), .bulkString(ByteBuffer(string: "{mig}news")), .bulkString(ByteBuffer(string: text))])
            }
            let confirmation = try await subscriber.send(raw: ByteBuffer(string: "*2\r\n$10\r\nSSUBSCRIBE\r\n$9\r\n{mig}news\r\n"), replies: 1)
            #expect(confirmation == [.array([.bulkString(ByteBuffer(string: "ssubscribe")), .bulkString(ByteBuffer(string: "{mig}news")), .integer(1)])])
            #expect(try await publisher.command(["SPUBLISH", "{mig}news", "before"]) == .integer(1))
            #expect(try await subscriber.send(raw: ByteBuffer(), replies: 1) == [smessage("before")])

            let source = try await harness.owner(of: "{mig}")
            let target = harness.nodes.first { $0 !== source }!
            try await Self.migrate(slot: Int(HashSlot(key: "mig").rawValue), from: source, to: target, all: harness.nodes)
            // The proxy subscribes again on the new owner; until then SPUBLISH there reaches nobody.
            let deadline = Date().addingTimeInterval(10)
            var receivers: RESPValue = .integer(0)
            while Date() < deadline {
                receivers = try await publisher.command(["SPUBLISH", "{mig}news", "after"])
                if receivers == .integer(1) { break }
                try await Task.sleep(nanoseconds: 100_000_000)
            }
            #expect(receivers == .integer(1))
            // The client sees the message, and no sunsubscribe it did not ask for.
            #expect(try await subscriber.send(raw: ByteBuffer(), replies: 1) == [smessage("after")])
        }
    }

    @Test("redis-cli --cluster reshard under load through the proxy", arguments: BackendKind.allCases)
    func reshardUnderLoad(kind: BackendKind) async throws {
        guard kind.isAvailable, Peer.isAvailable("redis-cli") else { return }
        try await withProxy(kind) { harness in
            let from = try await harness.nodes[0].client()
            let to = try await harness.nodes[1].client()
            let fromID = try await from.command(["CLUSTER", "MYID"]).text ?? ""
            let toID = try await to.command(["CLUSTER", "MYID"]).text ?? ""
            from.close()
            to.close()
            let writer = LoadWriter()
            let writing = Task { await writer.run(port: harness.port, prefix: "reshard:", limit: 1_000_000) }
            try await Task.sleep(nanoseconds: 200_000_000)
            let slots = kind == .redis ? 200 : 40
            let result = try Peer.run(
                "redis-cli",
                [
                    "--cluster", "reshard", "127.0.0.1:\(harness.nodes[0].port)", "--cluster-from", fromID,
                    "--cluster-to", toID, "--cluster-slots", String(slots), "--cluster-yes",
                ], timeout: 240)
            await writer.stop()
            await writing.value
            #expect(result.status == 0, "\(result.output.suffix(500)) \(result.error.suffix(500))")
            let failures = await writer.failures
            #expect(failures.isEmpty, "\(failures.prefix(5))")
            let written = await writer.written
            #expect(written.count > 100)
            let reader = try await harness.client()
            defer { reader.close() }
            let keys = Array(written.keys)
            var lost = 0
            var start = 0
            while start < keys.count {
                let chunk = Array(keys[start..<min(start + 500, keys.count)])
                let values = try await reader.command(["MGET"] + chunk).elements ?? []
                for (key, value) in zip(chunk, values) where value.text != written[key] { lost += 1 }
                start += 500
            }
            #expect(lost == 0)
            let check = try Peer.run("redis-cli", ["--cluster", "check", "127.0.0.1:\(harness.nodes[0].port)"])
            #expect(check.output.contains("[OK] All 16384 slots covered."))
        }
    }

    @Test("a backend that dies mid-pipeline: its commands get an error naming it, other shards keep working")
    func backendDiesMidPipeline() async throws {
        guard BackendKind.redis.isAvailable else { return }
        try await withProxy(.redis) { harness in
            let victim = try await harness.owner(of: "victim")
            let survivorKey = try await {
                for index in 0..<100 where try await harness.owner(of: "alive:\(index)") !== victim {
                    return "alive:\(index)"
                }
                return "alive:0"
            }()
            let client = try await harness.client()
            defer { client.close() }
            #expect(try await client.command(["SET", "victim", "1"]) == .simpleString("OK"))
            #expect(try await client.command(["SET", survivorKey, "2"]) == .simpleString("OK"))
            // Hold the victim's replies back, queue commands behind the pause, then kill it.
            let pauser = try await victim.client()
            #expect(try await pauser.command(["CLIENT", "PAUSE", "3000", "ALL"]) == .simpleString("OK"))
            pauser.close()
            async let replies = client.pipeline(Array(repeating: ["GET", "victim"], count: 50) + [["GET", survivorKey]])
            try await Task.sleep(nanoseconds: 300_000_000)
            let victimPort = victim.port
            await victim.stop()
            let answered = try await replies
            #expect(answered.count == 51)
            for reply in answered.prefix(50) {
                #expect(reply.errorMessage?.contains("backend 127.0.0.1:\(victimPort)") == true, "\(reply)")
            }
            #expect(answered[50].text == "2")
            // The connection stays usable, other shards answer, the dead shard's slots fail fast.
            #expect(try await client.command(["GET", survivorKey]).text == "2")
            let started = Date()
            let dead = try await client.command(["GET", "victim"])
            #expect(dead.errorMessage != nil)
            #expect(Date().timeIntervalSince(started) < 3)
        }
    }

    @Test("limits: max clients, request size, pipeline depth, idle timeout")
    func limits() async throws {
        try await withProxy(.keyway, configure: {
            $0.maxClients = 3
            $0.maxPipelineDepth = 4
            $0.requestLimits.maxBulkLength = 1000
            $0.idleTimeout = .seconds(1)
        }) { harness in
            // The readiness probe's connection has gone; three clients fit, the fourth is told and closed.
            try await Task.sleep(nanoseconds: 100_000_000)
            let first = try await harness.client()
            let second = try await harness.client()
            let third = try await harness.client()
            #expect(try await first.command(["PING"]) == .simpleString("PONG"))
            if Peer.isAvailable("redis-cli") {
                let refused = try Peer.run("redis-cli", ["-p", String(harness.port), "PING"])
                #expect((refused.output + refused.error).contains("ERR max number of clients reached"), "\(refused)")
            }
            // A pipeline much deeper than the limit is still answered in full, in order.
            let commands = (0..<500).map { ["SET", "depth:\($0)", "\($0)"] } + (0..<500).map { ["GET", "depth:\($0)"] }
            let replies = try await second.pipeline(commands)
            #expect(replies.count == 1000)
            #expect(replies[999].text == "499")
            // A bulk string over the limit: Redis's protocol error, then the connection closes.
            let big = String(repeating: "x", count: 2000)
            let error = try await third.send(
                raw: ByteBuffer(string: "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2000\r\n\(big)\r\n"), replies: 1)
            #expect(error == [.simpleError("ERR Protocol error: invalid bulk length")])
            try await third.closeFuture().get()
            // An idle client is closed after the timeout.
            let idle = try await harness.client()
            #expect(try await idle.command(["PING"]) == .simpleString("PONG"))
            let closedAt = Date()
            try await idle.closeFuture().get()
            #expect(Date().timeIntervalSince(closedAt) < 5)
            first.close()
            second.close()
        }
    }

    @Test("no reachable seed: the proxy starts, answers PING, and says CLUSTERDOWN")
    func noSeed() async throws {
        var configuration = ProxyConfiguration()
        configuration.port = 0
        configuration.threads = 1
        configuration.seeds = [Endpoint(host: "127.0.0.1", port: Peer.freePort())]
        let proxy = ProxyServer(configuration: configuration)
        let port = try await proxy.start()
        let client = try await RESPTestClient.connect(port: port)
        #expect(try await client.command(["PING"]) == .simpleString("PONG"))
        #expect(try await client.command(["GET", "x"]) == .simpleError("CLUSTERDOWN Hash slot not served"))
        #expect(try await client.command(["MGET", "a", "b"]) == .simpleError("CLUSTERDOWN Hash slot not served"))
        #expect(try await client.command(["DBSIZE"]) == .simpleError("CLUSTERDOWN Hash slot not served"))
        client.close()
        await proxy.stop()
    }
}
