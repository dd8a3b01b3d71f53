import ClusterModel
import Foundation
import NIOCore
import RESP
import TestSupport
import Testing

@testable import KeywayProxy

/// The proxy in front of a three-primary cluster answers like one standalone Redis.
@Suite("Proxy commands", .serialized)
struct ProxyCommandTests {
    /// Keys spread over the three shards (their slots: 12182, 5061, 9842, 866, 3300, 15495, ...).
    static let keys = (0..<12).map { "key:\($0)" }

    /// Command sequences run against the proxy and against a standalone redis-server; every reply must match.
    static let script: [[String]] = [
        ["PING"], ["PING", "hello"], ["ECHO", "x y"], ["SELECT", "0"], ["SELECT", "x"],
        // strings
        ["SET", "key:0", "v0"], ["GET", "key:0"], ["SET", "key:1", "10", "NX"], ["SET", "key:1", "11", "NX"],
        ["INCR", "key:1"], ["INCRBY", "key:1", "5"], ["INCRBYFLOAT", "key:1", "0.5"], ["APPEND", "key:0", "-more"],
        ["STRLEN", "key:0"], ["GETRANGE", "key:0", "0", "3"], ["SETRANGE", "key:0", "1", "XY"], ["GET", "key:0"],
        ["GETDEL", "key:0"], ["GET", "key:0"], ["SET", "key:2", "x", "EX", "100"], ["TTL", "key:2"],
        ["PERSIST", "key:2"], ["TTL", "key:2"], ["INCR", "key:2"], ["GET"], ["SET", "key:3"],
        ["SET", "key:3", "v", "BADOPTION"],
        // keys
        ["EXISTS", "key:1", "key:2", "key:9", "key:1"], ["TYPE", "key:1"], ["TYPE", "nokey"],
        ["RENAME", "{t}a", "{t}b"], ["SET", "{t}a", "1"], ["RENAME", "{t}a", "{t}b"], ["GET", "{t}b"],
        ["COPY", "{t}b", "{t}c"], ["GET", "{t}c"], ["DEL", "{t}b", "{t}c", "key:1", "key:2", "nokey"],
        // multi-key across slots
        ["MSET", "key:4", "a", "key:5", "b", "key:6", "c", "key:7", "d"],
        ["MGET", "key:4", "key:5", "nokey", "key:6", "key:7", "key:5"],
        ["EXISTS", "key:4", "key:5", "key:6", "key:7", "key:8"], ["TOUCH", "key:4", "key:7", "key:8"],
        ["UNLINK", "key:4", "key:6"], ["MGET", "key:4", "key:5", "key:6", "key:7"],
        ["DEL", "key:5", "key:7"], ["MSET", "key:4"], ["MGET"],
        // hashes
        ["HSET", "h", "f1", "1", "f2", "2"], ["HGET", "h", "f1"], ["HGETALL", "h"], ["HINCRBY", "h", "f1", "9"],
        ["HMGET", "h", "f1", "nof", "f2"], ["HDEL", "h", "f2"], ["HLEN", "h"], ["HGET", "key:9", "f"],
        // lists
        ["RPUSH", "l", "a", "b", "c", "d"], ["LRANGE", "l", "0", "-1"], ["LPOP", "l"], ["RPOP", "l", "2"],
        ["LLEN", "l"], ["LINDEX", "l", "0"], ["LPUSH", "l", "z"], ["LPOS", "l", "b"], ["BLPOP", "l", "1"],
        ["BLPOP", "emptylist", "0.1"],
        // sets
        ["SADD", "s", "a", "b", "c"], ["SCARD", "s"], ["SISMEMBER", "s", "b"], ["SMISMEMBER", "s", "a", "x"],
        ["SREM", "s", "a"], ["SADD", "{s}1", "a", "b"], ["SADD", "{s}2", "b", "c"], ["SINTER", "{s}1", "{s}2"],
        ["SINTERCARD", "2", "{s}1", "{s}2"],
        // sorted sets
        ["ZADD", "z", "1", "a", "2", "b", "3", "c"], ["ZRANGE", "z", "0", "-1", "WITHSCORES"], ["ZSCORE", "z", "b"],
        ["ZINCRBY", "z", "5", "a"], ["ZRANK", "z", "a"], ["ZPOPMIN", "z"], ["ZCARD", "z"], ["ZADD", "z", "x", "a"],
        // transactions in one slot
        ["MULTI"], ["SET", "{tx}a", "1"], ["INCR", "{tx}a"], ["GET", "{tx}a"], ["EXEC"],
        ["MULTI"], ["SET", "{tx}a", "1"], ["NOSUCHCOMMAND"], ["EXEC"], ["EXEC"], ["DISCARD"],
        ["MULTI"], ["MULTI"], ["DISCARD"],
        // errors
        ["NOSUCHCOMMAND", "x"], ["GET", "a", "b"], ["LPUSH", "h", "x"], ["CLIENT", "NOSUCH"],
        ["DEL", "s", "z", "l", "h", "{s}1", "{s}2", "{tx}a"],
        ["DBSIZE"], ["KEYS", "*"], ["RANDOMKEY"],
    ]

    @Test("replies match a standalone redis-server", arguments: BackendKind.allCases)
    func repliesMatchRedis(kind: BackendKind) async throws {
        guard kind.isAvailable, RedisServerProcess.isAvailable else { return }
        let reference = try await RedisServerProcess.start()
        defer { reference.stop() }
        try await withProxy(kind) { harness in
            let proxy = try await harness.client()
            let redis = try await RESPTestClient.connect(port: reference.port)
            _ = try await proxy.command(["DEL", "keyway:probe"])
            defer {
                proxy.close()
                redis.close()
            }
            for command in Self.script {
                let expected = try await redis.command(command)
                let actual = try await proxy.command(command)
                #expect(actual == expected, "\(command.joined(separator: " ")): proxy \(actual), redis \(expected)")
            }
        }
    }

    @Test("multi-key commands split by slot and merge in the client's order", arguments: BackendKind.allCases)
    func splitAndMerge(kind: BackendKind) async throws {
        guard kind.isAvailable else { return }
        try await withProxy(kind) { harness in
            let client = try await harness.client()
            defer { client.close() }
            let keys = (0..<200).map { "split:\($0)" }
            #expect(Set(keys.map { HashSlot(key: $0).rawValue }).count > 100)
            var mset = ["MSET"]
            for key in keys { mset += [key, "v-\(key)"] }
            #expect(try await client.command(mset) == .simpleString("OK"))
            let mget = try await client.command(["MGET"] + keys + ["split:missing"])
            let values = mget.elements ?? []
            #expect(values.count == 201)
            for (index, key) in keys.enumerated() { #expect(values[index].text == "v-\(key)") }
            #expect(values[200] == .nullBulkString)
            // Each node holds its share, and the proxy sums DBSIZE over them.
            var total = 0
            for node in harness.nodes {
                let direct = try await node.client()
                if case .integer(let count) = try await direct.command(["DBSIZE"]) { total += Int(count) }
                direct.close()
            }
            #expect(total == 201)  // the keys plus the readiness probe
            #expect(try await client.command(["DBSIZE"]) == .integer(201))
            #expect(try await client.command(["EXISTS"] + keys + keys.prefix(3)) == .integer(203))
            #expect(try await client.command(["DEL"] + keys.prefix(150) + ["split:missing"]) == .integer(150))
            #expect(try await client.command(["UNLINK"] + keys) == .integer(50))
            // Commands that must stay in one slot say so, exactly as Redis.
            let crossSlot = RESPValue.simpleError("CROSSSLOT Keys in request don't hash to the same slot")
            #expect(try await client.command(["MSETNX", "split:1", "a", "split:2", "b"]) == crossSlot)
            #expect(try await client.command(["SUNIONSTORE", "split:1", "split:2"]) == crossSlot)
            #expect(try await client.command(["RENAME", "split:1", "split:2"]) == crossSlot)
            #expect(try await client.command(["MSETNX", "{x}1", "a", "{x}2", "b"]) == .integer(1))
        }
    }

    @Test("SCAN walks every key of every primary once; KEYS, FLUSHALL and INFO cover the cluster",
        arguments: BackendKind.allCases)
    func clusterWide(kind: BackendKind) async throws {
        guard kind.isAvailable else { return }
        try await withProxy(kind) { harness in
            let client = try await harness.client()
            defer { client.close() }
            _ = try await client.command(["DEL", "keyway:probe"])
            var mset = ["MSET"]
            for index in 0..<300 { mset += ["scan:\(index)", "x"] }
            #expect(try await client.command(mset) == .simpleString("OK"))
            _ = try await client.command(["SET", "other", "1"])
            var seen: [String] = []
            var cursor = "0"
            var calls = 0
            repeat {
                let reply = try await client.command(["SCAN", cursor, "MATCH", "scan:*", "COUNT", "50"])
                let parts = reply.elements ?? []
                #expect(parts.count == 2)
                cursor = parts.first?.text ?? "0"
                seen += (parts.last?.elements ?? []).compactMap(\.text)
                calls += 1
            } while cursor != "0" && calls < 1000
            #expect(Set(seen) == Set((0..<300).map { "scan:\($0)" }))
            #expect(try await client.command(["SCAN", "notacursor"]) == .simpleError("ERR invalid cursor"))
            #expect((try await client.command(["KEYS", "scan:1*"]).elements ?? []).count == 111)
            let info = try await client.command(["INFO"]).text ?? ""
            #expect(info.contains("# Proxy"))
            #expect(info.contains("db0:keys=301,"))
            #expect(try await client.command(["FLUSHALL"]) == .simpleString("OK"))
            #expect(try await client.command(["DBSIZE"]) == .integer(0))
            #expect(try await client.command(["RANDOMKEY"]) == .nullBulkString)
        }
    }

    @Test("a pipeline of 1,000 commands over every shard is answered in order", arguments: BackendKind.allCases)
    func pipelineOrder(kind: BackendKind) async throws {
        guard kind.isAvailable else { return }
        try await withProxy(kind) { harness in
            let client = try await harness.client()
            defer { client.close() }
            var commands: [[String]] = []
            for index in 0..<250 {
                commands.append(["SET", "p:\(index)", "\(index)"])
                commands.append(["INCR", "p:\(index)"])
                commands.append(["GET", "p:\(index)"])
                commands.append(["ECHO", "e\(index)"])
            }
            let replies = try await client.pipeline(commands)
            #expect(replies.count == 1000)
            for index in 0..<250 {
                #expect(replies[4 * index] == .simpleString("OK"))
                #expect(replies[4 * index + 1] == .integer(Int64(index + 1)))
                #expect(replies[4 * index + 2].text == "\(index + 1)")
                #expect(replies[4 * index + 3].text == "e\(index)")
            }
        }
    }

    /// ~300 KiB of split MSETs in one pipeline: each backend's share passes the proxy's eager-flush size (16 KiB)
    /// many times within one read, and values over 8 KiB take the uncopied write path in between.
    @Test("a pipeline of split MSETs bigger than a backend flush batch is applied and answered in order",
        arguments: BackendKind.allCases)
    func largeSplitPipeline(kind: BackendKind) async throws {
        guard kind.isAvailable else { return }
        try await withProxy(kind) { harness in
            let client = try await harness.client()
            defer { client.close() }
            let padding = String(repeating: "v", count: 100)
            let large = String(repeating: "L", count: 20_000)
            // The harness may have written keys of its own (its readiness check).
            guard case .integer(let before) = try await client.command(["DBSIZE"]) else {
                Issue.record("DBSIZE is not an integer")
                return
            }
            var commands: [[String]] = []
            for batch in 0..<200 {
                var mset = ["MSET"]
                for key in 0..<10 { mset += ["big:\(batch):\(key)", "\(batch):\(key):\(padding)"] }
                commands.append(mset)
                if batch % 50 == 0 { commands.append(["SET", "large:\(batch)", large]) }
                commands.append(["MGET", "big:\(batch):0", "big:\(batch):9", "large:\(batch)"])
            }
            let replies = try await client.pipeline(commands)
            #expect(replies.count == commands.count)
            var index = 0
            for batch in 0..<200 {
                #expect(replies[index] == .simpleString("OK"))
                index += 1
                if batch % 50 == 0 {
                    #expect(replies[index] == .simpleString("OK"))
                    index += 1
                }
                let values = replies[index].elements ?? []
                #expect(values.count == 3)
                #expect(values.first?.text == "\(batch):0:\(padding)")
                #expect(values.dropFirst().first?.text == "\(batch):9:\(padding)")
                #expect(values.last?.text == (batch % 50 == 0 ? large : nil))
                index += 1
            }
            let after = try await client.command(["DBSIZE"])
            #expect(after == .integer(before + 2_004))
        }
    }

    /// The proxy holds the first replies of a pipeline back while others are owed (one write for the pipeline),
    /// but never longer than `replyHold`: here a GET's reply must not wait for the BLPOP behind it.
    @Test("a reply ready before a blocked one in the same pipeline is written within the hold limit",
        arguments: BackendKind.allCases)
    func heldRepliesAreBounded(kind: BackendKind) async throws {
        guard kind.isAvailable else { return }
        try await withProxy(kind) { harness in
            // Keeps a reply that comes while nothing waits, so a late first reply fails the test instead of hanging it.
            let client = try await harness.client(keepUnsolicited: true)
            defer { client.close() }
            #expect(try await client.command(["SET", "{held}k", "v"]) == .simpleString("OK"))
            var pipeline = ByteBuffer()
            pipeline.writeRESPCommand(["GET", "{held}k"])
            pipeline.writeRESPCommand(["BLPOP", "{held}empty", "3"])
            let clock = ContinuousClock()
            let start = clock.now
            let first = try await client.send(raw: pipeline, replies: 1)
            let waited = clock.now - start
            #expect(first.first?.text == "v")
            // 0.5 ms of hold; the BLPOP answers after 3 s. A loaded machine stays far below 2 s.
            #expect(waited < .seconds(2))
            let second = try await client.send(raw: ByteBuffer(), replies: 1)
            #expect(second == [.nullArray])
            // Pipelines over every shard keep their order with and without the hold.
            let commands = (0..<64).map { ["INCR", "held:\($0)"] }
            let replies = try await client.pipeline(commands)
            #expect(replies == Array(repeating: .integer(1), count: 64))
        }
    }

    @Test("--reply-hold-us 0: replies are written every loop iteration", arguments: BackendKind.allCases)
    func noReplyHold(kind: BackendKind) async throws {
        guard kind.isAvailable else { return }
        try await withProxy(kind, configure: { $0.replyHold = .zero }) { harness in
            let client = try await harness.client(keepUnsolicited: true)
            defer { client.close() }
            let commands = (0..<64).map { ["INCR", "nohold:\($0)"] }
            #expect(try await client.pipeline(commands) == Array(repeating: .integer(1), count: 64))
            var pipeline = ByteBuffer()
            pipeline.writeRESPCommand(["PING"])
            pipeline.writeRESPCommand(["BLPOP", "{nohold}empty", "1"])
            let first = try await client.send(raw: pipeline, replies: 1)
            #expect(first == [.simpleString("PONG")])
            #expect(try await client.send(raw: ByteBuffer(), replies: 1) == [.nullArray])
        }
    }

    @Test("MULTI/EXEC and WATCH run on the slot's primary", arguments: BackendKind.allCases)
    func transactions(kind: BackendKind) async throws {
        guard kind.isAvailable else { return }
        try await withProxy(kind) { harness in
            let client = try await harness.client()
            let other = try await harness.client()
            defer {
                client.close()
                other.close()
            }
            #expect(try await client.command(["SET", "{acct}balance", "100"]) == .simpleString("OK"))
            #expect(try await client.command(["WATCH", "{acct}balance"]) == .simpleString("OK"))
            #expect(try await client.command(["MULTI"]) == .simpleString("OK"))
            #expect(try await client.command(["DECRBY", "{acct}balance", "30"]) == .simpleString("QUEUED"))
            #expect(try await client.command(["INCRBY", "{acct}spent", "30"]) == .simpleString("QUEUED"))
            #expect(try await client.command(["EXEC"]) == .array([.integer(70), .integer(30)]))
            // A write by someone else between WATCH and EXEC aborts the transaction.
            #expect(try await client.command(["WATCH", "{acct}balance"]) == .simpleString("OK"))
            #expect(try await other.command(["SET", "{acct}balance", "0"]) == .simpleString("OK"))
            #expect(try await client.command(["MULTI"]) == .simpleString("OK"))
            #expect(try await client.command(["DECRBY", "{acct}balance", "30"]) == .simpleString("QUEUED"))
            #expect(try await client.command(["EXEC"]) == .nullArray)
            #expect(try await client.command(["GET", "{acct}balance"]).text == "0")
            // Keys of two slots in one transaction: refused like Redis Cluster.
            #expect(try await client.command(["MULTI"]) == .simpleString("OK"))
            #expect(try await client.command(["SET", "a", "1"]) == .simpleString("QUEUED"))
            #expect(
                try await client.command(["SET", "b", "1"])
                    == .simpleError("CROSSSLOT Keys in request don't hash to the same slot"))
            #expect(
                try await client.command(["EXEC"])
                    == .simpleError("EXECABORT Transaction discarded because of previous errors."))
            #expect(try await client.command(["WATCH", "a", "b"]) == .simpleError("CROSSSLOT Keys in request don't hash to the same slot"))
            #expect(try await client.command(["UNWATCH"]) == .simpleString("OK"))
        }
    }

    @Test("pub/sub through the proxy, and blocking pops that never stall other clients", arguments: BackendKind.allCases)
    func pubSubAndBlocking(kind: BackendKind) async throws {
        guard kind.isAvailable else { return }
        try await withProxy(kind) { harness in
            let subscriber = try await harness.client(keepUnsolicited: true)
            let publisher = try await harness.client()
            let blocked = try await harness.client()
            defer {
                subscriber.close()
                publisher.close()
                blocked.close()
            }
            let confirmations = try await subscriber.send(raw: ByteBuffer(string: "*3\r\n$9\r\nSUBSCRIBE\r\n$2\r\nc1\r\n$2\r\nc2\r\n"), replies: 2)
            #expect(confirmations == [
                .array([.bulkString(ByteBuffer(string: "subscribe")), .bulkString(ByteBuffer(string: "c1")), .integer(1)]),
                .array([.bulkString(ByteBuffer(string: "subscribe")), .bulkString(ByteBuffer(string: "c2")), .integer(2)]),
            ])
            // PUBLISH reaches a subscriber connected to any node: published 3 times through any primary.
            for _ in 0..<3 { _ = try await publisher.command(["PUBLISH", "c2", "hello"]) }
            let messages = try await subscriber.send(raw: ByteBuffer(), replies: 3)
            for message in messages {
                #expect(message == .array([.bulkString(ByteBuffer(string: "message")), .bulkString(ByteBuffer(string: "c2")), .bulkString(ByteBuffer(string: "hello"))]))
            }
            // A subscribed RESP2 client may run only pub/sub commands; Redis says so itself.
            let refused = try await subscriber.send(raw: ByteBuffer(string: "*2\r\n$3\r\nGET\r\n$1\r\nx\r\n"), replies: 1)
            #expect(refused.first?.errorMessage?.hasPrefix("ERR Can't execute 'get'") == true, "\(refused)")

            // BLPOP blocks on a connection of its own: other commands keep flowing meanwhile.
            async let popped = blocked.command(["BLPOP", "queue", "5"])
            try await Task.sleep(nanoseconds: 200_000_000)
            for index in 0..<50 {
                #expect(try await publisher.command(["SET", "free:\(index)", "1"]) == .simpleString("OK"))
            }
            #expect(try await publisher.command(["RPUSH", "queue", "job"]) == .integer(1))
            #expect(try await popped == .array([.bulkString(ByteBuffer(string: "queue")), .bulkString(ByteBuffer(string: "job"))]))
        }
    }

    @Test("HELLO 3 switches the session to RESP3 replies", arguments: BackendKind.allCases)
    func resp3(kind: BackendKind) async throws {
        guard kind.isAvailable else { return }
        try await withProxy(kind) { harness in
            let client = try await harness.client()
            defer { client.close() }
            let hello = try await client.command(["HELLO", "3"])
            guard case .map(let fields) = hello else {
                Issue.record("HELLO 3 did not answer a map: \(hello)")
                return
            }
            #expect(fields.contains { $0.key.text == "proto" && $0.value == .integer(3) })
            _ = try await client.command(["HSET", "h3", "a", "1"])
            #expect(try await client.command(["HGETALL", "h3"]) == .map([(key: .bulkString(ByteBuffer(string: "a")), value: .bulkString(ByteBuffer(string: "1")))]))
            #expect(try await client.command(["ZADD", "z3", "1.5", "m"]) == .integer(1))
            #expect(try await client.command(["ZSCORE", "z3", "m"]) == .double(1.5))
            #expect(try await client.command(["HELLO", "4"]) == .simpleError("NOPROTO unsupported protocol version"))
            #expect(try await client.command(["SELECT", "3"]) == .simpleError("ERR DB index is out of range"))
        }
    }
}
