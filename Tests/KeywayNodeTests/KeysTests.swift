import Foundation
import NIOCore
import RESP
import TestSupport
import Testing

@testable import KeywayNode

@Suite("Node: generic key commands")
struct KeysTests {
    @Test("DEL UNLINK EXISTS TYPE TOUCH", .enabled(if: RedisServerProcess.isAvailable), arguments: [false, true])
    func basics(resp3: Bool) async throws {
        let diff = try await Differential.start(resp3: resp3)
        try await diff.run([
            ["MSET", "a", "1", "b", "2", "c", "3"], ["EXISTS", "a", "b", "x", "a"], ["TYPE", "a"], ["TYPE", "x"],
            ["TOUCH", "a", "x", "b"], ["DEL", "a", "x", "a"], ["UNLINK", "b", "c", "c"], ["EXISTS", "a", "b", "c"],
            ["DEL", "nothing"], ["SADD", "s", "m"], ["TYPE", "s"], ["EXISTS", "s"], ["DEL", "s"], ["TYPE", "s"],
            ["SET", "e", "v", "PX", "1"],
        ])
        try await Task.sleep(nanoseconds: 20_000_000)
        try await diff.run([["EXISTS", "e"], ["TYPE", "e"], ["TOUCH", "e"], ["DEL", "e"], ["DBSIZE"]])
        await diff.stop()
    }

    @Test("EXPIRE family: NX XX GT LT, errors, past times delete, TTL PTTL EXPIRETIME PEXPIRETIME PERSIST",
          .enabled(if: RedisServerProcess.isAvailable), arguments: [false, true])
    func expiry(resp3: Bool) async throws {
        let diff = try await Differential.start(resp3: resp3)
        try await diff.run([
            ["SET", "k", "v"], ["TTL", "k"], ["PTTL", "k"], ["EXPIRETIME", "k"], ["PEXPIRETIME", "k"],
            ["TTL", "none"], ["PTTL", "none"], ["EXPIRETIME", "none"], ["PEXPIRETIME", "none"],
            ["EXPIRE", "k", "100", "XX"], ["EXPIRE", "k", "100", "GT"], ["EXPIRE", "k", "100", "LT"], ["TTL", "k"],
            ["EXPIRE", "k", "200", "NX"], ["EXPIRE", "k", "300", "NX"], ["TTL", "k"], ["EXPIRE", "k", "100", "GT"],
            ["EXPIRE", "k", "300", "GT"], ["TTL", "k"], ["EXPIRE", "k", "400", "LT"], ["EXPIRE", "k", "50", "LT"],
            ["TTL", "k"], ["EXPIRE", "k", "60", "XX"], ["TTL", "k"], ["PEXPIRE", "k", "70000", "xx", "gt"],
            ["PTTL", "k"], ["EXPIRE", "k", "10", "NX", "XX"], ["EXPIRE", "k", "10", "NX", "GT"],
            ["EXPIRE", "k", "10", "GT", "LT"], ["EXPIRE", "k", "10", "FOO"], ["EXPIRE", "k", "10", "LT", "nx"],
            ["EXPIRE", "k", "abc"], ["EXPIRE", "k", "1.5"], ["EXPIRE", "none", "10"], ["EXPIRE", "none", "abc"],
            ["EXPIRE", "k", "9223372036854775807"], ["EXPIRE", "k", "-9223372036854775808"],
            ["EXPIRE", "k", "9223372036854775"], ["PEXPIRE", "k", "9223372036854775807"],
            ["PEXPIREAT", "k", "9223372036854775807"], ["EXPIREAT", "k", "9223372036854775"], ["TTL", "k"],
            ["EXPIREAT", "k", "4102444800"], ["EXPIRETIME", "k"], ["PEXPIRETIME", "k"],
            ["PEXPIREAT", "k", "4102444800123"], ["PEXPIRETIME", "k"], ["EXPIRETIME", "k"],
            ["PERSIST", "k"], ["PERSIST", "k"], ["TTL", "k"], ["PERSIST", "none"],
            ["EXPIRE", "k", "100", "LT"], ["TTL", "k"], ["PERSIST", "k"], ["EXPIRE", "k", "-100", "GT"],
            ["EXPIRE", "k", "-100", "LT"], ["EXISTS", "k"], ["SET", "k", "v"], ["EXPIRE", "k", "0"], ["EXISTS", "k"],
            ["SET", "k", "v"], ["PEXPIRE", "k", "-1"], ["EXISTS", "k"], ["SET", "k", "v"], ["EXPIREAT", "k", "1"],
            ["GET", "k"], ["SET", "k", "v"], ["PEXPIREAT", "k", "0"], ["GET", "k"],
            ["SET", "k", "v", "EX", "100"], ["EXPIRE", "k", "0", "GT"], ["TTL", "k"], ["EXPIRE", "k", "0", "LT"],
            ["EXISTS", "k"], ["SADD", "s", "x"], ["EXPIRE", "s", "100"], ["TTL", "s"], ["SET", "p", "v", "PX", "1"],
        ], compare: StringKeyTestSupport.compare)
        try await Task.sleep(nanoseconds: 20_000_000)
        try await diff.run([["TTL", "p"], ["PTTL", "p"], ["PERSIST", "p"], ["EXPIRE", "p", "10"], ["GET", "p"]])
        await diff.stop()
    }

    @Test("RENAME RENAMENX COPY MOVE keep values and expiries", .enabled(if: RedisServerProcess.isAvailable),
          arguments: [false, true])
    func renameCopyMove(resp3: Bool) async throws {
        let diff = try await Differential.start(resp3: resp3)
        try await diff.run([
            ["SET", "a", "1", "EX", "100"], ["RENAME", "a", "b"], ["TTL", "b"], ["GET", "a"], ["GET", "b"],
            ["RENAME", "none", "x"], ["RENAME", "b", "b"], ["RENAME", "none", "none"], ["RENAMENX", "b", "b"],
            ["RENAMENX", "none", "x"], ["SET", "c", "3"], ["RENAMENX", "b", "c"], ["RENAMENX", "b", "d"],
            ["TTL", "d"], ["RENAME", "d", "c"], ["GET", "c"], ["TTL", "c"], ["SADD", "s", "1"], ["RENAME", "s", "c"],
            ["TYPE", "c"], ["SET", "x", "v"], ["COPY", "x", "y"], ["GET", "y"], ["COPY", "x", "y"],
            ["COPY", "x", "y", "REPLACE"], ["COPY", "x", "x"], ["COPY", "none", "z"], ["EXPIRE", "x", "50"],
            ["COPY", "x", "z"], ["TTL", "z"], ["COPY", "x", "y", "DB", "1"], ["COPY", "x", "y", "DB", "1"],
            ["COPY", "x", "x", "DB", "1", "REPLACE"], ["COPY", "x", "x", "DB", "0"], ["COPY", "x", "y", "DB", "16"],
            ["COPY", "x", "y", "DB", "-1"], ["COPY", "x", "y", "DB", "abc"], ["COPY", "x", "y", "DB"],
            ["COPY", "x", "y", "FOO"], ["COPY", "x", "y", "DB", "99999999999"], ["COPY", "c", "c2"],
            ["SMEMBERS", "c2"], ["SADD", "c2", "2"], ["SCARD", "c"], ["SELECT", "1"], ["GET", "y"], ["TTL", "x"],
            ["GET", "x"], ["SELECT", "0"], ["MOVE", "x", "1"], ["MOVE", "y", "1"], ["GET", "y"], ["MOVE", "y", "0"],
            ["MOVE", "y", "16"], ["MOVE", "y", "-1"], ["MOVE", "y", "abc"], ["MOVE", "none", "1"],
            ["SET", "m", "v", "EX", "100"], ["MOVE", "m", "2"], ["EXISTS", "m"], ["SELECT", "2"], ["TTL", "m"],
            ["GET", "m"], ["SELECT", "0"],
            // Copies of aggregates are independent of their source.
            ["RPUSH", "list", "a", "b"], ["COPY", "list", "list2"], ["RPUSH", "list2", "c"], ["LRANGE", "list", "0", "-1"],
            ["LRANGE", "list2", "0", "-1"], ["OBJECT", "ENCODING", "list2"], ["HSET", "hash", "f", "v"],
            ["COPY", "hash", "hash2"], ["HSET", "hash2", "g", "w"], ["HGETALL", "hash"], ["HGETALL", "hash2"],
            ["OBJECT", "ENCODING", "hash2"], ["ZADD", "zs", "1", "a", "2", "b"], ["COPY", "zs", "zs2"],
            ["ZADD", "zs2", "3", "c"], ["ZRANGE", "zs", "0", "-1", "WITHSCORES"], ["ZRANGE", "zs2", "0", "-1", "WITHSCORES"],
            ["OBJECT", "ENCODING", "zs2"], ["SADD", "ints", "3", "1", "2"], ["COPY", "ints", "ints2"], ["SREM", "ints2", "1"],
            ["SMEMBERS", "ints"], ["SMEMBERS", "ints2"], ["OBJECT", "ENCODING", "ints2"], ["COPY", "list", "zs", "REPLACE"],
            ["TYPE", "zs"], ["LRANGE", "zs", "0", "-1"], ["RENAME", "hash", "list"], ["TYPE", "list"],
        ], compare: StringKeyTestSupport.compare)
        await diff.stop()
    }

    @Test("MOVE and cross-db COPY are refused in cluster mode", .enabled(if: RedisServerProcess.isAvailable))
    func clusterRestrictions() async throws {
        let diff = try await Differential.start(clusterEnabled: true)
        try await diff.run([
            ["MOVE", "k", "1"], ["MOVE", "k", "abc"], ["COPY", "{k}a", "{k}b", "DB", "1"],
            ["COPY", "{k}a", "{k}b", "DB", "16"], ["COPY", "{k}a", "{k}b", "DB", "0"],
        ])
        await diff.stop()
    }

    @Test("KEYS matches glob patterns exactly as stringmatchlen", .enabled(if: RedisServerProcess.isAvailable))
    func keysPatterns() async throws {
        let diff = try await Differential.start()
        let keys = [
            "hello", "hallo", "hxllo", "hllo", "heeeello", "h[a]llo", "h*llo", "h?llo", "h\\llo", "a-b", "a]b",
            "foo", "foobar", "bar", "BAR", "x", "", "ab^", "^ab", "a\\", "[", "]", "-", "\u{00e9}t\u{00e9}", "abc123",
            "user:1", "user:10", "user:2:name", "*", "?", "a*b*c", "aXbYc", "a*", "zz",
        ]
        var setup: [[String]] = []
        for key in keys { setup.append(["SET", key, "v"]) }
        try await diff.run(setup)
        let patterns = [
            "*", "h?llo", "h*llo", "h[ae]llo", "h[^e]llo", "h[a-b]llo", "h[b-a]llo", "h\\*llo", "h\\?llo", "h[*]llo",
            "*llo", "h*", "*o*", "**", "***a", "a-b", "a[-]b", "a[a-]b", "a[\\]]b", "[", "[]", "[]]", "]", "\\",
            "a\\", "a\\\\", "h[", "h[a", "h[a-", "h[^", "[^a-z]*", "[a-z]*", "[A-Z]*", "user:*", "user:?",
            "user:[0-9]", "user:[0-9]*", "*:*:*", "?", "??", "", "\\*", "\\?", "[*]", "[?]", "a*b*c", "a*c",
            "*[", "x*", "*x", "\u{00e9}*", "[\u{00e9}]*", "[a-\u{00e9}]*", "*\\", "[\\", "[^]", "foo*bar", "f*o*b*r",
            "[^^]ab", "^*", "[-]", "[a-]", "[-a]",
        ]
        try await diff.run(patterns.map { ["KEYS", $0] }, compare: StringKeyTestSupport.compareUnordered)
        try await diff.run([["SET", "exp", "v", "PX", "1"]])
        try await Task.sleep(nanoseconds: 20_000_000)
        try await diff.run([["KEYS", "ex*"], ["KEYS"], ["KEYS", "a", "b"]], compare: StringKeyTestSupport.compareUnordered)
        await diff.stop()
    }

    @Test("Glob matching agrees with KEYS on redis-server for random patterns",
          .enabled(if: RedisServerProcess.isAvailable))
    func randomGlobs() async throws {
        let diff = try await Differential.start()
        var random = SeededGenerator(seed: 42)
        let alphabet: [Character] = ["a", "b", "c", "*", "?", "[", "]", "^", "-", "\\"]
        var keys: Set<String> = []
        for _ in 0..<60 {
            keys.insert(String((0..<Int.random(in: 0...6, using: &random)).map { _ in "abc-^\\[]".randomElement(using: &random)! }))
        }
        try await diff.run(keys.map { ["SET", $0, "v"] })
        var commands: [[String]] = []
        for _ in 0..<400 {
            commands.append(["KEYS", String((0..<Int.random(in: 1...7, using: &random)).map { _ in alphabet.randomElement(using: &random)! })])
        }
        try await diff.run(commands, compare: StringKeyTestSupport.compareUnordered)
        await diff.stop()
    }

    @Test("Glob matcher unit cases")
    func globUnit() {
        func m(_ p: String, _ s: String, nocase: Bool = false) -> Bool {
            RedisGlob.matches(pattern: ByteBuffer(string: p), ByteBuffer(string: s), noCase: nocase)
        }
        #expect(!m("*", ""))  // as in Redis: KEYS and SCAN special-case a lone "*"
        #expect(m("*", "a"))
        #expect(m("h?llo", "hello"))
        #expect(!m("h?llo", "hllo"))
        #expect(m("h[^e]llo", "hallo"))
        #expect(!m("h[^e]llo", "hello"))
        #expect(m("h[a-c]llo", "hbllo"))
        #expect(m("h[c-a]llo", "hbllo"))
        #expect(m("HELLO", "hello", nocase: true))
        #expect(m("h[A-C]llo", "hbllo", nocase: true))
        #expect(m("a\\*b", "a*b"))
        #expect(!m("a\\*b", "axb"))
        #expect(m("a[\\]]b", "a]b"))
        // Pathological nesting stays fast (Redis's skipLongerMatches).
        let pattern = String(repeating: "a*", count: 40) + "b"
        #expect(!m(pattern, String(repeating: "a", count: 100)))
        #expect(!m(String(repeating: "*", count: 100_000) + "x" + String(repeating: "*a", count: 20_000), "xyz"))
        #expect(m(String(repeating: "*?", count: 900), String(repeating: "a", count: 900)))
        #expect(!m(String(repeating: "*?", count: 50_000), String(repeating: "a", count: 50_000)))
    }

    @Test("SCAN: cursor 0 ends, MATCH, COUNT, TYPE, errors", .enabled(if: RedisServerProcess.isAvailable),
          arguments: [false, true])
    func scanOptions(resp3: Bool) async throws {
        let diff = try await Differential.start(resp3: resp3)
        var setup: [[String]] = []
        for i in 0..<300 { setup.append(["SET", "key:\(i)", "v"]) }
        for i in 0..<20 { setup.append(["SADD", "set:\(i)", "m"]) }
        try await diff.run(setup)
        try await diff.run([
            ["SCAN", "x"], ["SCAN", "1x"], ["SCAN", " 1"], ["SCAN", "18446744073709551616"], ["SCAN", "0", "COUNT", "0"],
            ["SCAN", "0", "COUNT", "-1"], ["SCAN", "0", "COUNT", "x"], ["SCAN", "0", "MATCH"], ["SCAN", "0", "FOO", "1"],
            ["SCAN", "0", "TYPE"], ["SCAN"],
        ])
        for options in [[], ["COUNT", "7"], ["MATCH", "key:1*"], ["TYPE", "set"], ["TYPE", "SET", "COUNT", "1000"],
                        ["MATCH", "set:*", "TYPE", "string"], ["TYPE", "nosuchtype"], ["MATCH", "*", "COUNT", "3"]]
        {
            let expected = try await fullScan(diff.redisClient, options)
            let actual = try await fullScan(diff.nodeClient, options)
            #expect(Set(expected) == Set(actual), "SCAN \(options)")
        }
        await diff.stop()
    }

    /// Runs a complete SCAN and returns every key it produced (with repetitions).
    private func fullScan(_ client: RESPTestClient, _ options: [String]) async throws -> [String] {
        var cursor = "0"
        var keys: [String] = []
        var calls = 0
        repeat {
            let reply = try await client.command(["SCAN", cursor] + options)
            guard let parts = reply.elements, parts.count == 2, let next = parts[0].string,
                let batch = parts[1].elements
            else {
                Issue.record("bad SCAN reply \(reply)")
                return keys
            }
            keys += batch.compactMap(\.string)
            cursor = next
            calls += 1
        } while cursor != "0" && calls < 100_000
        return keys
    }

    @Test("SCAN returns every key present for the whole scan despite concurrent inserts and deletes")
    func scanGuarantee() async throws {
        let node = try await NodeHarness.start()
        let client = try await node.client()
        let stable = (0..<3000).map { "stable:\($0)" }
        for chunk in stride(from: 0, to: stable.count, by: 500) {
            _ = try await client.pipeline(stable[chunk..<min(chunk + 500, stable.count)].map { ["SET", $0, "v"] })
        }
        var random = SeededGenerator(seed: 99)
        var seen: Set<String> = []
        var cursor = "0"
        var round = 0
        repeat {
            let reply = try await client.command(["SCAN", cursor, "COUNT", "25"])
            guard let parts = reply.elements, parts.count == 2, let next = parts[0].string, let batch = parts[1].elements
            else {
                Issue.record("bad SCAN reply \(reply)")
                break
            }
            for key in batch.compactMap(\.string) { seen.insert(key) }
            cursor = next
            round += 1
            // Churn: grow the keyspace (forcing dictionary resizes) and delete some of the churned keys.
            var churn: [[String]] = []
            for _ in 0..<40 { churn.append(["SET", "churn:\(round):\(Int.random(in: 0..<1000, using: &random))", "v"]) }
            churn.append(["DEL", "churn:\(round - 1):\(Int.random(in: 0..<1000, using: &random))"])
            _ = try await client.pipeline(churn)
        } while cursor != "0" && round < 10_000
        #expect(cursor == "0")
        let missing = stable.filter { !seen.contains($0) }
        #expect(missing.isEmpty, "\(missing.count) stable keys never returned, e.g. \(missing.prefix(5))")
        // A scan started now sees the keys added meanwhile too.
        var total: Set<String> = []
        cursor = "0"
        repeat {
            let reply = try await client.command(["SCAN", cursor, "COUNT", "1000"])
            guard let parts = reply.elements, let next = parts.first?.string, let batch = parts.last?.elements else { break }
            for key in batch.compactMap(\.string) { total.insert(key) }
            cursor = next
        } while cursor != "0"
        #expect(try await client.command(["DBSIZE"]) == .integer(Int64(total.count)))
        client.close()
        await node.stop()
    }

    @Test("RANDOMKEY returns existing keys, skips expired ones, null when empty",
          .enabled(if: RedisServerProcess.isAvailable), arguments: [false, true])
    func randomKey(resp3: Bool) async throws {
        let diff = try await Differential.start(resp3: resp3)
        try await diff.run([["RANDOMKEY"], ["SET", "only", "v"], ["RANDOMKEY"], ["SET", "gone", "v", "PX", "1"]])
        try await Task.sleep(nanoseconds: 20_000_000)
        try await diff.run(Array(repeating: ["RANDOMKEY"], count: 10) + [["DEL", "only"], ["RANDOMKEY"]])
        await diff.stop()
    }

    @Test("Unit: CRC64 and LZF agree with Redis's vectors")
    func checksumAndCompression() {
        #expect(CRC64.checksum(Array("123456789".utf8)) == 0xE9C6_D914_C4B8_D9CA)
        var random = SeededGenerator(seed: 3)
        for length in [21, 50, 100, 1000, 10_000] {
            for kind in 0..<3 {
                let bytes: [UInt8] = (0..<length).map { i in
                    switch kind {
                    case 0: return UInt8(i % 7)
                    case 1: return UInt8.random(in: 0...3, using: &random)
                    default: return UInt8.random(in: 0...255, using: &random)
                    }
                }
                let compressed = bytes.withUnsafeBytes { LZF.compress($0, maxOutput: length - 4) }
                if let compressed {
                    let back = compressed.withUnsafeBytes { LZF.decompress($0, length: length) }
                    #expect(back == bytes)
                } else {
                    #expect(kind != 0, "compressible input of \(length) bytes did not compress")
                }
            }
        }
    }

    @Test("DUMP payloads are byte-identical to redis-server's, and each side RESTOREs the other's",
          .enabled(if: RedisServerProcess.isAvailable))
    func dumpCompatibility() async throws {
        let diff = try await Differential.start()
        let redis = diff.redisClient
        let node = diff.nodeClient
        var setup: [[String]] = [
            ["SET", "s:int", "12345"], ["SET", "s:neg", "-7"], ["SET", "s:big", "123456789012"],
            ["SET", "s:short", "hello"], ["SET", "s:20", "aaaaaaaaaaaaaaaaaaaa"], ["SET", "s:21", "aaaaaaaaaaaaaaaaaaaaa"],
            ["SET", "s:text", String(repeating: "The quick brown fox jumps over the lazy dog. ", count: 30)],
            ["SET", "s:01", "01"], ["SET", "s:empty", ""], ["SET", "s:float", "3.14"],
            ["SET", "s:long", String((0..<3000).map { Character(UnicodeScalar(UInt8(48 + ($0 * 7919) % 43))) })],
            ["HSET", "h:small", "f1", "v1", "f2", "2", "f3", "-300", "n", "70000", "big", "9999999999"],
            ["SADD", "set:int", "5", "-3", "100", "7"], ["SADD", "set:wide", "1", "70000"],
            ["SADD", "set:wider", "1", "9999999999"],
            ["ZADD", "z:small", "1", "a", "2.5", "b", "-0", "c", "inf", "d", "-inf", "e", "1e20", "f", "3", "g"],
            ["RPUSH", "l:small", "a", "1", "-1", "500", "70000", "hello world", "4294967296"],
        ]
        var zadd = ["ZADD", "z:big"]
        for i in 0..<200 { zadd += [String(Double(i % 17) * 1.5), "member:\(i)"] }
        setup.append(zadd)
        var rpush = ["RPUSH", "l:big"]
        for i in 0..<3000 { rpush.append("element-\(i)-" + String(repeating: "x", count: i % 13)) }
        setup.append(rpush)
        var sadd = ["SADD", "set:ints"]
        for i in 0..<300 { sadd.append(String(i * 1000 - 5000)) }
        setup.append(sadd)
        for command in setup { _ = try await redis.command(command) }
        let keys = [
            "s:int", "s:neg", "s:big", "s:short", "s:20", "s:21", "s:text", "s:01", "s:empty", "s:float", "s:long",
            "h:small", "set:int", "set:wide", "set:wider", "z:small", "z:big", "l:small", "l:big", "set:ints",
        ]
        for key in keys {
            guard case .bulkString(let payload) = try await redis.command(["DUMP", key]) else {
                Issue.record("redis DUMP \(key) failed")
                continue
            }
            let bytes = Array(payload.readableBytesView)
            let restored = try await node.command(bytes: [Array("RESTORE".utf8), Array(key.utf8), Array("0".utf8), bytes])
            #expect(restored == .simpleString("OK"), "RESTORE \(key) of redis's payload: \(restored)")
            let ours = try await node.command(["DUMP", key])
            let same = ours == .bulkString(payload)
            #expect(same, "DUMP \(key) differs from redis-server: redis \(hex(payload)) vs keyway \(hex(ours))")
            // And back: redis-server accepts our payload and holds the same value.
            if case .bulkString(let ourPayload) = ours {
                let back = try await redis.command(bytes: [
                    Array("RESTORE".utf8), Array("copy:\(key)".utf8), Array("0".utf8), Array(ourPayload.readableBytesView),
                ])
                #expect(back == .simpleString("OK"))
                let again = try await redis.command(["DUMP", "copy:\(key)"])
                let same = again == .bulkString(payload)
                #expect(same, "redis DUMP of our payload for \(key) differs: \(hex(again))")
            }
        }
        // Values built by our own commands dump the same way.
        try await diff.run([
            ["SET", "x:int", "99"], ["DUMP", "x:int"], ["SET", "x:text", String(repeating: "abc", count: 40)],
            ["DUMP", "x:text"], ["APPEND", "x:app", "12"], ["DUMP", "x:app"], ["INCRBYFLOAT", "x:f", "2.5"],
            ["DUMP", "x:f"], ["DUMP", "missing"],
        ])
        await diff.stop()
    }

    @Test("DUMP/RESTORE of hash-table encoded values round-trips with redis-server in both directions",
          .enabled(if: RedisServerProcess.isAvailable))
    func dumpHashTables() async throws {
        let diff = try await Differential.start()
        var hset = ["HSET", "h"]
        for i in 0..<300 { hset += ["field:\(i)", "value:\(i)"] }
        var sadd = ["SADD", "s"]
        for i in 0..<300 { sadd.append("member:\(i)") }
        var big = ["HSET", "hv", "f", String(repeating: "v", count: 100)]
        big += ["g", "1"]
        try await diff.run([hset, sadd, big, ["SADD", "s2", "a", "1"], ["SADD", "s3", "1", "2", "3"], ["SREM", "s3", "2"]])
        for (source, target) in [(diff.redisClient, diff.nodeClient), (diff.nodeClient, diff.redisClient)] {
            for key in ["h", "s", "hv", "s2", "s3"] {
                guard case .bulkString(let payload) = try await source.command(["DUMP", key]) else {
                    Issue.record("DUMP \(key) failed")
                    continue
                }
                let reply = try await target.command(bytes: [
                    Array("RESTORE".utf8), Array("copy:\(key)".utf8), Array("0".utf8), Array(payload.readableBytesView),
                ])
                #expect(reply == .simpleString("OK"))
            }
        }
        try await diff.run([
            ["HLEN", "copy:h"], ["HGET", "copy:h", "field:7"], ["SCARD", "copy:s"], ["SISMEMBER", "copy:s", "member:9"],
            ["OBJECT", "ENCODING", "copy:h"], ["OBJECT", "ENCODING", "copy:s"], ["OBJECT", "ENCODING", "copy:hv"],
            ["OBJECT", "ENCODING", "copy:s2"], ["OBJECT", "ENCODING", "copy:s3"], ["HGETALL", "copy:hv"],
            ["SMEMBERS", "copy:s3"],
        ], compare: { a, b, c in unorderedEqual(b, c) })
        let redisAll = try await diff.redisClient.command(["HGETALL", "copy:h"])
        let nodeAll = try await diff.nodeClient.command(["HGETALL", "copy:h"])
        #expect(Set(redisAll.elements?.map(\.description) ?? []) == Set(nodeAll.elements?.map(\.description) ?? []))
        await diff.stop()
    }

    @Test("RESTORE never crashes on corrupted payloads with a valid checksum")
    func restoreFuzz() {
        var random = SeededGenerator(seed: 1234)
        let samples: [RedisObject] = [
            .string(.buffer(ByteBuffer(string: String(repeating: "abcdefgh", count: 20)))),
            .string(CompactBytes(compacting: ByteBuffer(string: "12345"))),
            .string(CompactBytes(compacting: ByteBuffer(string: "short value"))),
            .list(ListObject.dumpMake((0..<50).map { ByteBuffer(string: "item\($0)") })),
            .hash(HashObject(entries: (0..<20).map { (field: ByteBuffer(string: "f\($0)"), value: ByteBuffer(string: "\($0 * 1000)")) })),
            .set(SetObject(members: (0..<20).map { ByteBuffer(string: "\($0 * 70000)") })),
            .set(SetObject(members: (0..<20).map { ByteBuffer(string: "m\($0)") })),
            .zset(ZSetObject(entries: (0..<20).map { (member: ByteBuffer(string: "m\($0)"), score: Double($0) / 3) })),
        ]
        var decoded = 0
        for sample in samples {
            let payload = Array(dumpPayload(sample).readableBytesView)
            #expect(restoreObject(from: ByteBuffer(bytes: payload)) != nil)
            for _ in 0..<400 {
                var body = Array(payload.dropLast(10))
                for _ in 0..<Int.random(in: 1...4, using: &random) {
                    let index = Int.random(in: 0..<body.count, using: &random)
                    body[index] = UInt8.random(in: 0...255, using: &random)
                }
                if Bool.random(using: &random) { body = Array(body.prefix(Int.random(in: 0...body.count, using: &random))) }
                body += [10, 0]
                let crc = CRC64.checksum(body)
                for i in 0..<8 { body.append(UInt8(truncatingIfNeeded: crc >> (8 * UInt64(i)))) }
                if restoreObject(from: ByteBuffer(bytes: body)) != nil { decoded += 1 }
            }
        }
        #expect(decoded < samples.count * 400)
    }

    /// The first bytes of a binary reply in hex, for readable failure messages.
    private func hex(_ value: RESPValue) -> String {
        guard case .bulkString(let buffer) = value else { return value.description }
        return hex(buffer)
    }

    private func hex(_ buffer: ByteBuffer) -> String {
        let bytes = Array(buffer.readableBytesView)
        return "\(bytes.count) bytes " + bytes.prefix(64).map { String(format: "%02x", $0) }.joined()
    }

    @Test("RESTORE options and errors: REPLACE ABSTTL IDLETIME FREQ, BUSYKEY, bad payloads",
          .enabled(if: RedisServerProcess.isAvailable), arguments: [false, true])
    func restoreOptions(resp3: Bool) async throws {
        let diff = try await Differential.start(resp3: resp3)
        _ = try await diff.redisClient.command(["SET", "src", "value"])
        guard case .bulkString(let payload) = try await diff.redisClient.command(["DUMP", "src"]) else {
            Issue.record("DUMP failed")
            await diff.stop()
            return
        }
        let p = Array(payload.readableBytesView)
        var corrupt = p
        corrupt[1] ^= 0xFF
        var newer = p
        newer[newer.count - 10] = 11
        let truncated = Array(p.prefix(5))
        // A valid footer around garbage: right version and checksum, bad data.
        var garbage: [UInt8] = [0xEE, 0x01, 0x02]
        garbage += [10, 0]
        let crc = CRC64.checksum(garbage)
        for i in 0..<8 { garbage.append(UInt8(truncatingIfNeeded: crc >> (8 * UInt64(i)))) }
        let commands: [[[UInt8]]] = [
            ["RESTORE", "k", "0"].map { Array($0.utf8) } + [p],
            ["RESTORE", "k", "0"].map { Array($0.utf8) } + [p],
            ["GET", "k"].map { Array($0.utf8) },
            ["RESTORE", "k", "0"].map { Array($0.utf8) } + [p, Array("REPLACE".utf8)],
            ["RESTORE", "t", "100000"].map { Array($0.utf8) } + [p],
            ["PTTL", "t"].map { Array($0.utf8) },
            ["RESTORE", "a", "4102444800000"].map { Array($0.utf8) } + [p, Array("ABSTTL".utf8)],
            ["PEXPIRETIME", "a"].map { Array($0.utf8) },
            ["RESTORE", "past", "1"].map { Array($0.utf8) } + [p, Array("ABSTTL".utf8)],
            ["EXISTS", "past"].map { Array($0.utf8) },
            ["RESTORE", "k", "1"].map { Array($0.utf8) } + [p, Array("ABSTTL".utf8), Array("REPLACE".utf8)],
            ["EXISTS", "k"].map { Array($0.utf8) },
            ["RESTORE", "i", "0"].map { Array($0.utf8) } + [p, Array("IDLETIME".utf8), Array("1000".utf8)],
            ["OBJECT", "IDLETIME", "i"].map { Array($0.utf8) },
            ["RESTORE", "f", "0"].map { Array($0.utf8) } + [p, Array("FREQ".utf8), Array("100".utf8)],
            ["RESTORE", "x", "0"].map { Array($0.utf8) } + [p, Array("IDLETIME".utf8), Array("-1".utf8)],
            ["RESTORE", "x", "0"].map { Array($0.utf8) } + [p, Array("FREQ".utf8), Array("256".utf8)],
            ["RESTORE", "x", "0"].map { Array($0.utf8) } + [p, Array("IDLETIME".utf8), Array("1".utf8), Array("FREQ".utf8), Array("1".utf8)],
            ["RESTORE", "x", "0"].map { Array($0.utf8) } + [p, Array("IDLETIME".utf8)],
            ["RESTORE", "x", "0"].map { Array($0.utf8) } + [p, Array("FOO".utf8)],
            ["RESTORE", "x", "0"].map { Array($0.utf8) } + [p, Array("IDLETIME".utf8), Array("x".utf8)],
            ["RESTORE", "x", "-1"].map { Array($0.utf8) } + [p],
            ["RESTORE", "x", "abc"].map { Array($0.utf8) } + [p],
            ["RESTORE", "x", "0"].map { Array($0.utf8) } + [corrupt],
            ["RESTORE", "x", "0"].map { Array($0.utf8) } + [newer],
            ["RESTORE", "x", "0"].map { Array($0.utf8) } + [truncated],
            ["RESTORE", "x", "0"].map { Array($0.utf8) } + [garbage],
            ["RESTORE", "x", "0", "junk"].map { Array($0.utf8) },
            ["RESTORE", "f", "abc"].map { Array($0.utf8) } + [p],
            ["RESTORE", "f", "0"].map { Array($0.utf8) } + [corrupt],
            ["EXISTS", "x"].map { Array($0.utf8) },
        ]
        for command in commands {
            let expected = try await diff.redisClient.command(bytes: command)
            let actual = try await diff.nodeClient.command(bytes: command)
            let name = command.prefix(2).map { String(decoding: $0, as: UTF8.self) }
            #expect(StringKeyTestSupport.compare(name, expected, actual), "\(name): redis \(expected) vs keyway \(actual)")
        }
        await diff.stop()
    }

    @Test("RESTORE can set LRU idle time and LFU frequency; OBJECT IDLETIME/FREQ follow the eviction policy",
          .enabled(if: RedisServerProcess.isAvailable))
    func restoreAccessMetadata() async throws {
        let diff = try await Differential.start()
        _ = try await diff.redisClient.command(["SET", "src", "value"])
        guard case .bulkString(let payload) = try await diff.redisClient.command(["DUMP", "src"]) else {
            Issue.record("DUMP failed")
            await diff.stop()
            return
        }
        let p = Array(payload.readableBytesView)
        func bytes(_ words: [String]) -> [[UInt8]] { words.map { Array($0.utf8) } }
        let commands: [[[UInt8]]] = [
            bytes(["CONFIG", "SET", "maxmemory-policy", "allkeys-lfu"]),
            bytes(["RESTORE", "foo", "0"]) + [p] + bytes(["FREQ", "100"]),
            bytes(["OBJECT", "FREQ", "foo"]), bytes(["OBJECT", "IDLETIME", "foo"]),
            bytes(["SET", "fresh", "v"]), bytes(["OBJECT", "FREQ", "fresh"]),
            bytes(["CONFIG", "SET", "maxmemory-policy", "allkeys-lru"]),
            bytes(["RESTORE", "bar", "0"]) + [p] + bytes(["IDLETIME", "1000"]),
            bytes(["OBJECT", "IDLETIME", "bar"]), bytes(["OBJECT", "FREQ", "bar"]), bytes(["GET", "bar"]),
            bytes(["TOUCH", "bar"]), bytes(["OBJECT", "IDLETIME", "bar"]),
            bytes(["CONFIG", "SET", "maxmemory-policy", "noeviction"]),
        ]
        for command in commands {
            let expected = try await diff.redisClient.command(bytes: command)
            let actual = try await diff.nodeClient.command(bytes: command)
            let name = command.prefix(3).map { String(decoding: $0, as: UTF8.self) }
            #expect(StringKeyTestSupport.compare(name, expected, actual), "\(name): redis \(expected) vs keyway \(actual)")
        }
        await diff.stop()
    }

    @Test("Randomized differential: thousands of string and key commands with short expiries",
          .enabled(if: RedisServerProcess.isAvailable), arguments: [(UInt64(1), false), (UInt64(2), true)])
    func randomized(seed: UInt64, resp3: Bool) async throws {
        let diff = try await Differential.start(resp3: resp3)
        var random = SeededGenerator(seed: seed)
        let keys = (0..<8).map { "k\($0)" }
        let values = ["", "0", "1", "-1", "42", "9223372036854775807", "3.5", "abc", "hello world", "10", "007",
                      String(repeating: "z", count: 50), "-9223372036854775808", "1e3"]
        func key() -> String { keys.randomElement(using: &random)! }
        func value() -> String { values.randomElement(using: &random)! }
        func int(_ range: ClosedRange<Int>) -> String { String(Int.random(in: range, using: &random)) }
        var mismatches = 0
        for _ in 0..<2500 {
            var shortExpiry = false
            let roll = Int.random(in: 0..<100, using: &random)
            var command: [String]
            switch roll {
            case 0..<8:
                command = ["SET", key(), value()]
                let options = [["NX"], ["XX"], ["GET"], ["KEEPTTL"], ["EX", "1000"], ["PX", "900000"],
                               ["EXAT", "4102444800"], ["XX", "GET"], ["NX", "GET"], ["EX", "0"], []]
                command += options.randomElement(using: &random)!
            case 8..<10:
                command = ["SET", key(), value(), "PX", int(1...5)]
                shortExpiry = true
            case 10..<15: command = ["GET", key()]
            case 15..<17: command = ["GETEX", key()] + [["PERSIST"], ["EX", "500"], ["PXAT", "4102444800000"], []].randomElement(using: &random)!
            case 17..<18: command = ["GETDEL", key()]
            case 18..<19: command = ["GETSET", key(), value()]
            case 19..<21: command = ["MGET", key(), key(), key()]
            case 21..<22: command = ["MSET", key(), value(), key(), value()]
            case 22..<23: command = ["MSETNX", key(), value(), key(), value()]
            case 23..<27: command = [["INCR"], ["DECR"], ["INCRBY", int(-100...100)], ["DECRBY", int(-5...5)]].randomElement(using: &random)!
                command.insert(key(), at: 1)
            case 27..<30: command = ["INCRBYFLOAT", key(), ["0.1", "-2.5", "1e2", "3", "-0.3"].randomElement(using: &random)!]
            case 30..<33: command = ["APPEND", key(), value()]
            case 33..<35: command = ["STRLEN", key()]
            case 35..<38: command = ["GETRANGE", key(), int(-6...6), int(-6...6)]
            case 38..<40: command = ["SETRANGE", key(), int(0...12), ["x", "", "yz"].randomElement(using: &random)!]
            case 40..<44: command = ["DEL", key(), key()]
            case 44..<47: command = ["EXISTS", key(), key()]
            case 47..<49: command = ["TYPE", key()]
            case 49..<53:
                command = [["EXPIRE", key(), int(-2...1000)], ["PEXPIRE", key(), int(100_000...900_000)],
                           ["EXPIREAT", key(), "4102444800"], ["PEXPIREAT", key(), "1"]].randomElement(using: &random)!
                command += [[], ["NX"], ["XX"], ["GT"], ["LT"], ["XX", "GT"]].randomElement(using: &random)!
            case 53..<55:
                command = ["PEXPIRE", key(), int(1...5)]
                shortExpiry = true
            case 55..<59: command = [["TTL"], ["PTTL"], ["EXPIRETIME"], ["PEXPIRETIME"]].randomElement(using: &random)! + [key()]
            case 59..<61: command = ["PERSIST", key()]
            case 61..<63: command = ["RENAME", key(), key()]
            case 63..<64: command = ["RENAMENX", key(), key()]
            case 64..<66: command = ["COPY", key(), key()] + [[], ["REPLACE"]].randomElement(using: &random)!
            case 66..<68: command = ["SETNX", key(), value()]
            case 68..<69: command = ["SETEX", key(), int(-1...1000), value()]
            case 69..<70: command = ["PSETEX", key(), int(100_000...200_000), value()]
            case 70..<74: command = ["OBJECT", "ENCODING", key()]
            case 74..<76: command = ["DUMP", key()]
            case 76..<78: command = ["SADD", key(), int(-3...3)]
            case 78..<80: command = ["LCS", key(), key()]
            case 82..<84: command = ["KEYS", ["k[0-3]", "*", "k?", "x*"].randomElement(using: &random)!]
            default: command = ["EXISTS", key()]
            }
            let compare = command[0] == "KEYS" ? StringKeyTestSupport.compareUnordered : StringKeyTestSupport.compare
            mismatches += try await diff.run([command], compare: compare)
            if shortExpiry { try await Task.sleep(nanoseconds: 12_000_000) }
            if mismatches > 10 { break }
        }
        #expect(mismatches == 0)
        await diff.stop()
    }
}
