import Foundation
import RESP
import TestSupport
import Testing

@Suite("Node: hash commands against redis-server", .enabled(if: RedisServerProcess.isAvailable))
struct HashTests {
    static let commands: [[String]] = [
        ["HSET", "h", "a", "1", "b", "2", "c", "3"], ["HGET", "h", "a"], ["HGET", "h", "zz"], ["HGET", "nokey", "a"],
        ["HMGET", "h", "a", "zz", "b"], ["HMGET", "nokey", "a", "b"], ["HSET", "h", "a", "10"], ["HSET", "h", "a", "11", "d", "4"],
        ["HSETNX", "h", "a", "5"], ["HSETNX", "h", "e", "5"], ["HSETNX", "nh", "x", "y"], ["HGETALL", "nh"],
        ["HMSET", "h", "f", "6", "g", "7"], ["HMSET", "h", "f"], ["HMSET", "h", "f", "1", "g"], ["HSET", "h"],
        ["HSET", "h", "a"], ["HSET", "h", "a", "1", "b"], ["HGETALL", "h"], ["HKEYS", "h"], ["HVALS", "h"], ["HLEN", "h"],
        ["HEXISTS", "h", "a"], ["HEXISTS", "h", "zz"], ["HEXISTS", "nokey", "a"], ["HSTRLEN", "h", "a"],
        ["HSTRLEN", "h", "zz"], ["HSTRLEN", "nokey", "a"], ["HLEN", "nokey"], ["HKEYS", "nokey"], ["HVALS", "nokey"],
        ["HGETALL", "nokey"],
        ["HDEL", "h", "b", "zz"], ["HDEL", "nokey", "a"], ["HGETALL", "h"], ["HSET", "h", "b", "again"], ["HKEYS", "h"],
        ["HDEL", "h", "a", "b", "c", "d", "e", "f", "g"], ["HLEN", "h"], ["HGETALL", "h"], ["HDEL", "h", "a"],
        // Integer and float increments.
        ["HSET", "n", "sp", " 1", "fl", "1.5", "lead", "01", "ten", "10", "neg", "-7", "big", "9223372036854775806"],
        ["HINCRBY", "n", "sp", "1"], ["HINCRBY", "n", "lead", "1"], ["HINCRBY", "n", "ten", "1"],
        ["HINCRBY", "n", "ten", "abc"], ["HINCRBY", "n", "ten", "9223372036854775807"], ["HINCRBY", "n", "big", "1"],
        ["HINCRBY", "n", "big", "1"], ["HINCRBY", "n", "neg", "-9223372036854775801"], ["HINCRBY", "n", "neg", "-1"],
        ["HINCRBY", "n", "new", "-5"], ["HINCRBY", "fresh", "f", "5"], ["HGETALL", "fresh"], ["HINCRBY", "n", "fl", "1"],
        ["HINCRBYFLOAT", "n", "sp", "1"], ["HINCRBYFLOAT", "n", "fl", "1"], ["HINCRBYFLOAT", "n", "fl", "inf"],
        ["HINCRBYFLOAT", "n", "fl", "-inf"], ["HINCRBYFLOAT", "n", "fl", "nan"], ["HINCRBYFLOAT", "n", "fl", "abc"],
        ["HINCRBYFLOAT", "n", "x", "1e308"], ["HINCRBYFLOAT", "n", "x", "1e308"], ["HINCRBYFLOAT", "n", "y", "0.1"],
        ["HINCRBYFLOAT", "n", "y", "0.2"], ["HINCRBYFLOAT", "n", "z", "1e20"], ["HINCRBYFLOAT", "n", "z", "-1e20"],
        ["HINCRBYFLOAT", "n", "w", "-0.0"], ["HINCRBYFLOAT", "n", "v", " 1"], ["HINCRBYFLOAT", "n", "v", "1 "],
        ["HINCRBYFLOAT", "n", "lead", "1"], ["HINCRBYFLOAT", "n", "u", "1e-400"], ["HINCRBYFLOAT", "n", "u", "3.0e3"],
        ["HINCRBYFLOAT", "n", "u", "0x10"], ["HINCRBYFLOAT", "n", "big", "123456789012345678901234567890"],
        ["HINCRBYFLOAT", "n", "small", "1e-17"], ["HINCRBYFLOAT", "n", "neg", "-5.5"], ["HINCRBYFLOAT", "n", "e", "1e5000"],
        ["HINCRBYFLOAT", "n", "ten", "2.5"], ["HINCRBYFLOAT", "n", "ten", "-2.5"], ["HINCRBYFLOAT", "n", "k", ""],
        ["HINCRBYFLOAT", "fresh2", "f", "2.5"], ["HINCRBY", "n", "y", "1"],
        // Wrong types.
        ["SET", "str", "x"], ["HSET", "str", "a", "1"], ["HGET", "str", "a"], ["HGETALL", "str"], ["HINCRBY", "str", "a", "1"],
        ["HINCRBYFLOAT", "str", "a", "1"], ["HRANDFIELD", "str"], ["HRANDFIELD", "str", "2"], ["HSCAN", "str", "0"],
        ["HDEL", "str", "a"], ["HLEN", "str"], ["HSTRLEN", "str", "a"], ["HEXISTS", "str", "a"], ["HMGET", "str", "a"],
        ["HKEYS", "str"], ["HVALS", "str"], ["HSETNX", "str", "a", "1"], ["HMSET", "str", "a", "1"],
        ["HSET", "str"], ["HINCRBY", "str", "a", "x"],
        // HRANDFIELD: the deterministic cases.
        ["HSET", "r", "a", "1", "b", "2", "c", "3"], ["HRANDFIELD", "nokey"], ["HRANDFIELD", "nokey", "3"],
        ["HRANDFIELD", "nokey", "-3", "WITHVALUES"], ["HRANDFIELD", "r", "0"], ["HRANDFIELD", "r", "3"],
        ["HRANDFIELD", "r", "10"], ["HRANDFIELD", "r", "10", "WITHVALUES"], ["HRANDFIELD", "r", "3", "withvalues"],
        ["HRANDFIELD", "r", "x"], ["HRANDFIELD", "r", "2", "WITHVALUE"], ["HRANDFIELD", "r", "2", "WITHVALUES", "x"],
        ["HRANDFIELD", "r", "-9223372036854775808"], ["HRANDFIELD", "r", "9223372036854775807", "WITHVALUES"],
        ["HRANDFIELD", "r", "-9223372036854775807", "WITHVALUES"], ["HRANDFIELD", "r", "0", "WITHVALUES"],
        ["HSET", "one", "f", "v"], ["HRANDFIELD", "one"], ["HRANDFIELD", "one", "-3"], ["HRANDFIELD", "one", "-2", "WITHVALUES"],
        ["HRANDFIELD", "one", "1", "WITHVALUES"],
        // HSCAN on a listpack: everything at once.
        ["HSCAN", "r", "0"], ["HSCAN", "r", "0", "MATCH", "[ab]"], ["HSCAN", "r", "0", "COUNT", "1"], ["HSCAN", "r", "x"],
        ["HSCAN", "r", "0", "COUNT", "0"], ["HSCAN", "r", "0", "COUNT", "x"], ["HSCAN", "r", "0", "MATCH"],
        ["HSCAN", "r", "0", "FOO", "bar"], ["HSCAN", "nokey", "0"], ["HSCAN", "nokey", "0", "FOO"], ["HSCAN", "nokey", "x"],
        ["HSCAN", "r", "-1"], ["HSCAN", "r", ""], ["HSCAN", "r", "+5"], ["HSCAN", "r", "18446744073709551616"],
        ["HSCAN", "r", "0", "TYPE", "hash"], ["HSCAN", "r", "0", "MATCH", "*"], ["HSCAN", "r", "0", "match", "\\a"],
        // Arity.
        ["HGET", "h"], ["HMGET", "h"], ["HDEL", "h"], ["HINCRBY", "h", "f"], ["HRANDFIELD"], ["HSCAN", "h"], ["HSETNX", "h", "f"],
        ["hset", "lower", "F", "v"], ["HgEtAlL", "lower"],
    ]

    @Test("Hash commands and their errors: same replies as redis-server", arguments: [false, true])
    func commands(resp3: Bool) async throws {
        let diff = try await Differential.start(resp3: resp3)
        try await diff.run(Self.commands)
        // `n` holds a value longer than 64 bytes: a hash table, whose order Redis leaves unspecified.
        try await CollectionChecker(diff: diff).check(["HGETALL", "n"])
        await diff.stop()
    }

    @Test("Listpack to hash table: 512 fields and 64-byte values, like redis-server", arguments: [false, true])
    func conversions(resp3: Bool) async throws {
        let diff = try await Differential.start(resp3: resp3)
        let checker = CollectionChecker(diff: diff)
        let fields = (0..<512).flatMap { ["f\($0)", "v\($0)"] }
        // 512 fields (Redis 7.0's built-in hash-max-listpack-entries) stay a listpack (insertion order); the 513th
        // converts.
        try await diff.run([["HSET", "a"] + fields, ["HGETALL", "a"], ["HKEYS", "a"], ["HVALS", "a"], ["HSCAN", "a", "0"]])
        for command in [["HSET", "a", "f512", "x"], ["HGETALL", "a"], ["HKEYS", "a"], ["HVALS", "a"], ["HLEN", "a"]] {
            try await checker.check(command)
        }
        try await checker.compareFullScan(["HSCAN", "a"], pairs: true)
        try await checker.compareFullScan(["HSCAN", "a"], options: ["MATCH", "f1*", "COUNT", "3"], pairs: true)
        // A value of 64 bytes stays, 65 converts; the same for fields and for HINCRBYFLOAT results.
        let long64 = String(repeating: "v", count: 64)
        let long65 = String(repeating: "w", count: 65)
        try await diff.run([["HSET", "b", "x", "1", "y", long64, "z", "3"], ["HGETALL", "b"], ["HSET", "c", long64, "1", "k", "2"],
                            ["HKEYS", "c"]])
        for command in [
            ["HSET", "b", "w", long65], ["HGETALL", "b"], ["HSET", "c", long65, "2"], ["HKEYS", "c"],
            ["HINCRBYFLOAT", "d", "a", "1"], ["HSET", "d", "b", "2"], ["HINCRBYFLOAT", "d", "x", "1e70"], ["HGETALL", "d"],
            ["HRANDFIELD", "a", "1000", "WITHVALUES"], ["HRANDFIELD", "a", "200"], ["HRANDFIELD", "a", "-50", "WITHVALUES"],
            ["HRANDFIELD", "a", "513"], ["HRANDFIELD", "a"], ["HDEL", "a"] + (0..<400).map { "f\($0)" }, ["HGETALL", "a"],
        ] {
            try await checker.check(command)
        }
        await diff.stop()
    }

    @Test("HRANDFIELD satisfies Redis's invariants", arguments: [false, true])
    func randomFields(resp3: Bool) async throws {
        let node = try await NodeHarness.start()
        let client = try await node.client()
        if resp3 { _ = try await client.command(["HELLO", "3"]) }
        let fields = (0..<30).map { "f\($0)" }
        _ = try await client.command(["HSET", "h"] + fields.flatMap { [$0, "v" + $0.dropFirst()] })
        for count in [1, 4, 9, 29, 30, 31] {
            let reply = try await client.command(["HRANDFIELD", "h", String(count), "WITHVALUES"])
            let pairs = CollectionReplies.pairs(reply) ?? []
            #expect(pairs.count == min(count, 30))
            #expect(Set(pairs.map { $0[0] }).count == pairs.count)
            for pair in pairs {
                let field = CollectionReplies.text(pair[0]) ?? ""
                #expect(fields.contains(field))
                #expect(CollectionReplies.text(pair[1]) == "v" + field.dropFirst())
            }
            if resp3, count > 1, case .array(let items) = reply {
                #expect(items.allSatisfy { if case .array(let p) = $0 { p.count == 2 } else { false } })
            }
        }
        let repeated = try await client.command(["HRANDFIELD", "h", "-100"])
        let items = CollectionReplies.elements(repeated)?.compactMap(CollectionReplies.text) ?? []
        #expect(items.count == 100)
        #expect(Set(items).isSubset(of: Set(fields)))
        #expect(Set(items).count < 100)
        let one = try await client.command(["HRANDFIELD", "h"])
        #expect(CollectionReplies.text(one).map(fields.contains) == true)
        client.close()
        await node.stop()
    }

    @Test("Randomized hash workload: every reply matches redis-server", arguments: [false, true])
    func randomized(resp3: Bool) async throws {
        let diff = try await Differential.start(resp3: resp3)
        let checker = CollectionChecker(diff: diff)
        var random = CollectionTestRandom(seed: resp3 ? 0x4A53 : 0x4A52)
        let keys = ["h0", "h1", "h2", "h3"]
        func field(_ random: inout CollectionTestRandom) -> String {
            Int.random(in: 0..<15, using: &random) == 0
                ? "g\(Int.random(in: 0..<700, using: &random))" : "f\(Int.random(in: 0..<12, using: &random))"
        }
        func value(_ random: inout CollectionTestRandom) -> String {
            switch Int.random(in: 0..<12, using: &random) {
            case 0: return String(repeating: "x", count: Int.random(in: 60...70, using: &random))
            case 1: return ["1.5", "-0", " 3", "abc", "", "1e3", "9223372036854775807"].randomElement(using: &random) ?? ""
            default: return String(Int.random(in: -100...100, using: &random))
            }
        }
        _ = try await diff.run([["SET", "str", "x"]])
        var batch: [[String]] = []
        for _ in 0..<2500 {
            let key = Int.random(in: 0..<50, using: &random) == 0 ? "str" : keys.randomElement(using: &random) ?? "h0"
            let command: [String]
            switch Int.random(in: 0..<19, using: &random) {
            case 0, 1, 2:
                command = ["HSET", key] + (0..<Int.random(in: 1...3, using: &random)).flatMap { _ in
                    [field(&random), value(&random)]
                }
            case 3: command = ["HSETNX", key, field(&random), value(&random)]
            case 4: command = ["HGET", key, field(&random)]
            case 5: command = ["HMGET", key, field(&random), field(&random)]
            case 6: command = ["HDEL", key] + (0..<Int.random(in: 1...3, using: &random)).map { _ in field(&random) }
            case 7: command = ["HEXISTS", key, field(&random)]
            case 8: command = ["HLEN", key]
            case 9: command = ["HSTRLEN", key, field(&random)]
            case 10: command = [["HKEYS", "HVALS", "HGETALL"].randomElement(using: &random) ?? "HGETALL", key]
            case 11: command = ["HINCRBY", key, field(&random), String(Int.random(in: -50...50, using: &random))]
            case 12:
                command = ["HINCRBYFLOAT", key, field(&random),
                           ["0.1", "-2.5", "1e10", "3", "-0.3", "1e-3"].randomElement(using: &random) ?? "1"]
            case 13:
                command = ["HRANDFIELD", key, String(Int.random(in: -10...10, using: &random))]
                    + (Bool.random(using: &random) ? ["WITHVALUES"] : [])
            case 14: command = ["HRANDFIELD", key]
            case 15: command = ["HSCAN", key, "0"] + (Bool.random(using: &random) ? ["MATCH", "f1*"] : [])
            case 16: command = ["HMSET", key, field(&random), value(&random)]
            case 17: command = ["HDEL", key] + (0..<12).map { "f\($0)" }
            default:
                command = ["HSET", key] + (0..<30).flatMap { _ in
                    ["g\(Int.random(in: 0..<700, using: &random))", String(Int.random(in: 0..<9, using: &random))]
                }
            }
            batch.append(command)
            if batch.count >= 100 {
                try await checker.checkBatch(batch)
                batch.removeAll(keepingCapacity: true)
            }
        }
        try await checker.checkBatch(batch)
        await diff.stop()
    }
}
