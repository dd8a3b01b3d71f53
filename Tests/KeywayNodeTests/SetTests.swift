import Foundation
import RESP
import TestSupport
import Testing

@Suite("Node: set commands against redis-server", .enabled(if: RedisServerProcess.isAvailable))
struct SetTests {
    /// Replies whose order is specified (intsets, errors, counts): compared exactly.
    static let ordered: [[String]] = [
        ["SADD", "s", "3", "1", "2", "2"], ["SMEMBERS", "s"], ["SADD", "s", "1"], ["SCARD", "s"], ["SCARD", "nokey"],
        ["SISMEMBER", "s", "1"], ["SISMEMBER", "s", "9"], ["SISMEMBER", "s", "01"], ["SISMEMBER", "s", "+1"],
        ["SISMEMBER", "nokey", "1"], ["SMISMEMBER", "s", "1", "9", "2"], ["SMISMEMBER", "nokey", "1", "2"],
        ["SADD", "s", "-5", "9223372036854775807", "-9223372036854775808", "0"], ["SMEMBERS", "s"],
        ["SADD", "s2", "01"], ["SMEMBERS", "s2"], ["SISMEMBER", "s2", "1"], ["SISMEMBER", "s2", "01"],
        ["SREM", "s", "1", "99"], ["SREM", "nokey", "1"], ["SMEMBERS", "s"], ["SREM", "s", "x"],
        ["SREM", "s2", "01"], ["SCARD", "s2"], ["SMEMBERS", "s2"],
        ["SMOVE", "s", "d", "2"], ["SMOVE", "s", "d", "2"], ["SMOVE", "nokey", "d", "2"], ["SMOVE", "s", "s", "3"],
        ["SMOVE", "s", "s", "77"], ["SMEMBERS", "d"], ["SMEMBERS", "s"], ["SMOVE", "d", "s", "2"], ["SCARD", "d"],
        ["SADD", "a", "1", "2", "3", "4"], ["SADD", "b", "3", "4", "5"], ["SADD", "c", "4", "5", "6"],
        ["SINTER", "a", "b"], ["SINTER", "a", "b", "c"], ["SINTER", "a", "nokey"], ["SINTER", "a"], ["SINTER", "a", "a"],
        ["SUNION", "a", "b", "c"], ["SUNION", "nokey"], ["SUNION", "a", "nokey", "c"],
        ["SDIFF", "a", "b"], ["SDIFF", "a", "b", "c"], ["SDIFF", "nokey", "a"], ["SDIFF", "a", "a"], ["SDIFF", "a", "nokey"],
        ["SDIFF", "a", "b", "a"],
        ["SINTERSTORE", "dst", "a", "b"], ["SMEMBERS", "dst"], ["SINTERSTORE", "dst", "a", "nokey"], ["SCARD", "dst"],
        ["SINTERSTORE", "dst", "a", "b"], ["SINTERSTORE", "dst", "a", "c", "b", "nokey2"], ["SCARD", "dst"],
        ["SUNIONSTORE", "dst", "a", "c"], ["SMEMBERS", "dst"], ["SDIFFSTORE", "dst", "a", "b"], ["SMEMBERS", "dst"],
        ["SDIFFSTORE", "dst", "a", "a"], ["SCARD", "dst"], ["SUNIONSTORE", "dst", "nokey"], ["SINTERSTORE", "a2", "a"],
        ["SMEMBERS", "a2"],
        ["SINTERCARD", "2", "a", "b"], ["SINTERCARD", "3", "a", "b", "c"], ["SINTERCARD", "2", "a", "b", "LIMIT", "1"],
        ["SINTERCARD", "2", "a", "b", "LIMIT", "0"], ["SINTERCARD", "2", "a", "b", "LIMIT", "5"],
        ["SINTERCARD", "2", "a", "nokey"], ["SINTERCARD", "0", "a"], ["SINTERCARD", "x", "a"], ["SINTERCARD", "-1", "a"],
        ["SINTERCARD", "3", "a", "b"], ["SINTERCARD", "1", "a", "LIMIT", "-1"], ["SINTERCARD", "1", "a", "LIMIT", "x"],
        ["SINTERCARD", "1", "a", "LIMIT"], ["SINTERCARD", "1", "a", "FOO"], ["SINTERCARD", "1", "a", "limit", "2"],
        ["SET", "str", "x"], ["SADD", "str", "a"], ["SMEMBERS", "str"], ["SINTER", "a", "str"], ["SINTER", "nokey", "str"],
        ["SUNION", "a", "str"], ["SDIFF", "nokey", "str"], ["SMOVE", "str", "a", "x"], ["SMOVE", "a", "str", "1"],
        ["SMOVE", "nokey", "str", "1"], ["SINTERSTORE", "d", "str"], ["SUNIONSTORE", "d", "a", "str"], ["SPOP", "str"],
        ["SPOP", "str", "2"], ["SRANDMEMBER", "str"], ["SRANDMEMBER", "str", "2"], ["SSCAN", "str", "0"],
        ["SCARD", "str"], ["SISMEMBER", "str", "a"], ["SMISMEMBER", "str", "a"], ["SREM", "str", "a"],
        ["SINTERCARD", "1", "str"], ["SINTERSTORE", "str", "a", "b"], ["SMEMBERS", "str"],
        ["SPOP", "nokey"], ["SPOP", "nokey", "3"], ["SPOP", "a", "0"], ["SPOP", "a", "-1"], ["SPOP", "a", "x"],
        ["SPOP", "a", "1", "2"], ["SRANDMEMBER", "nokey"], ["SRANDMEMBER", "nokey", "5"], ["SRANDMEMBER", "nokey", "-5"],
        ["SRANDMEMBER", "a", "0"], ["SRANDMEMBER", "a", "10"], ["SRANDMEMBER", "a", "4"], ["SRANDMEMBER", "a", "x"],
        ["SRANDMEMBER", "a", "-9223372036854775808"], ["SRANDMEMBER", "a", "1", "2"], ["SPOP", "c", "10"],
        ["SCARD", "c"], ["SADD", "one", "7"], ["SPOP", "one"], ["SCARD", "one"], ["SADD", "one", "7"],
        ["SRANDMEMBER", "one"], ["SRANDMEMBER", "one", "-3"], ["SPOP", "one", "1"],
        ["SSCAN", "a", "0"], ["SSCAN", "a", "0", "MATCH", "[12]"], ["SSCAN", "a", "0", "COUNT", "0"], ["SSCAN", "a", "x"],
        ["SSCAN", "nokey", "0"], ["SSCAN", "nokey", "x"], ["SSCAN", "a", "0", "FOO"], ["SSCAN", "a", "0", "MATCH"],
        ["SSCAN", "a", "0", "COUNT", "1", "MATCH", "*"], ["SSCAN", "a", "-1"], ["SSCAN", "a", ""],
        ["SSCAN", "a", "0", "COUNT", "x"], ["SSCAN", "a", "0", "TYPE", "set"],
        ["SADD", "s"], ["SPOP"], ["SINTERCARD", "1"], ["SMOVE", "a", "b"], ["SMISMEMBER", "a"], ["SCARD"],
        ["sadd", "lower", "1"], ["SmEmBeRs", "lower"],
    ]

    /// Sets of strings (hash table encoding): compared as unordered collections.
    static let unordered: [[String]] = [
        ["SADD", "x", "apple", "banana", "cherry", "1", "2"], ["SMEMBERS", "x"], ["SADD", "y", "banana", "kiwi", "2"],
        ["SINTER", "x", "y"], ["SUNION", "x", "y"], ["SDIFF", "x", "y"], ["SUNIONSTORE", "z", "x", "y"], ["SMEMBERS", "z"],
        ["SDIFFSTORE", "z", "y", "x"], ["SMEMBERS", "z"], ["SREM", "x", "apple", "1"], ["SMEMBERS", "x"],
        ["SRANDMEMBER", "x", "100"], ["SPOP", "x", "100"], ["SCARD", "x"], ["SADD", "b", "", "a b", "\u{00e9}"],
        ["SMEMBERS", "b"], ["SISMEMBER", "b", ""], ["SADD", "mix", "1", "2", "3"], ["SADD", "mix", "x"],
        ["SREM", "mix", "x"], ["SMEMBERS", "mix"], ["SMISMEMBER", "mix", "1", "x", "3"],
    ]

    @Test("Set commands and their errors: same replies as redis-server", arguments: [false, true])
    func commands(resp3: Bool) async throws {
        let diff = try await Differential.start(resp3: resp3)
        try await diff.run(Self.ordered)
        try await diff.run(Self.unordered) { _, a, b in CollectionReplies.sameMultiset(a, b) }
        await diff.stop()
    }

    @Test("Intset boundary (512 integers), conversion, and SSCAN of a large set", arguments: [false, true])
    func largeSets(resp3: Bool) async throws {
        let diff = try await Differential.start(resp3: resp3)
        let ints = (0..<512).map { String(($0 * 7919) % 100_003 - 50_000) }
        try await diff.run([["SADD", "i"] + ints, ["SMEMBERS", "i"], ["SCARD", "i"], ["SRANDMEMBER", "i", "600"]])
        try await diff.run([["SADD", "i", "99999999"], ["SMEMBERS", "i"], ["SUNION", "i"], ["SINTER", "i", "i"]]) {
            _, a, b in CollectionReplies.sameMultiset(a, b)
        }
        let strings = (0..<300).map { "member:\($0)" }
        try await diff.run([["SADD", "big"] + strings, ["SCARD", "big"]])
        let checker = CollectionChecker(diff: diff)
        try await checker.compareFullScan(["SSCAN", "big"], pairs: false)
        try await checker.compareFullScan(["SSCAN", "big"], options: ["MATCH", "member:1*", "COUNT", "7"], pairs: false)
        try await checker.compareFullScan(["SSCAN", "i"], pairs: false)
        // Removing while scanning: every member present for the whole scan is returned.
        var seen = Set<String>()
        var cursor = "0"
        var removed = Set<String>()
        repeat {
            let reply = try await diff.nodeClient.command(["SSCAN", "big", cursor, "COUNT", "20"])
            guard case .array(let parts) = reply, parts.count == 2, case .array(let items) = parts[1] else {
                Issue.record("bad SSCAN reply \(reply)")
                break
            }
            cursor = CollectionReplies.text(parts[0]) ?? "0"
            for item in items { seen.insert(CollectionReplies.text(item) ?? "") }
            let victim = "member:\(removed.count * 13 % 300)"
            if !seen.contains(victim) {
                removed.insert(victim)
                _ = try await diff.nodeClient.command(["SREM", "big", victim])
            }
        } while cursor != "0"
        let expected = Set(strings).subtracting(removed)
        #expect(expected.isSubset(of: seen))
        await diff.stop()
    }

    @Test("SPOP and SRANDMEMBER satisfy Redis's invariants", arguments: [false, true])
    func randomReplies(resp3: Bool) async throws {
        let node = try await NodeHarness.start()
        let client = try await node.client()
        if resp3 { _ = try await client.command(["HELLO", "3"]) }
        let members = (0..<40).map { "m\($0)" }
        _ = try await client.command(["SADD", "s"] + members)
        for count in [1, 5, 13, 39, 40, 41, 100] {
            let reply = try await client.command(["SRANDMEMBER", "s", String(count)])
            let items = CollectionReplies.elements(reply)?.compactMap(CollectionReplies.text) ?? []
            #expect(items.count == min(count, 40))
            #expect(Set(items).count == items.count)
            #expect(Set(items).isSubset(of: Set(members)))
        }
        for count in [1, 5, 100] {
            let reply = try await client.command(["SRANDMEMBER", "s", String(-count)])
            let items = CollectionReplies.elements(reply)?.compactMap(CollectionReplies.text) ?? []
            #expect(items.count == count)
            #expect(Set(items).isSubset(of: Set(members)))
        }
        // Repetitions happen with a negative count larger than the set.
        let many = try await client.command(["SRANDMEMBER", "s", "-200"])
        #expect(Set(CollectionReplies.elements(many)?.compactMap(CollectionReplies.text) ?? []).count < 200)
        let single = try await client.command(["SRANDMEMBER", "s"])
        #expect(CollectionReplies.text(single).map(members.contains) == true)
        var remaining = Set(members)
        for count in [1, 3, 10] {
            let reply = try await client.command(["SPOP", "s", String(count)])
            if resp3, case .set = reply {} else if resp3 { Issue.record("SPOP count should be a RESP3 set: \(reply)") }
            let items = CollectionReplies.elements(reply)?.compactMap(CollectionReplies.text) ?? []
            #expect(items.count == count)
            #expect(Set(items).count == count)
            #expect(Set(items).isSubset(of: remaining))
            remaining.subtract(items)
            #expect(try await client.command(["SCARD", "s"]) == .integer(Int64(remaining.count)))
        }
        let popped = try await client.command(["SPOP", "s"])
        if let member = CollectionReplies.text(popped) {
            #expect(remaining.remove(member) != nil)
        } else {
            Issue.record("SPOP returned \(popped)")
        }
        let rest = try await client.command(["SPOP", "s", "1000"])
        #expect(Set(CollectionReplies.elements(rest)?.compactMap(CollectionReplies.text) ?? []) == remaining)
        #expect(try await client.command(["SCARD", "s"]) == .integer(0))
        // Intsets: the distinct sample is still distinct and drawn from the set.
        _ = try await client.command(["SADD", "i"] + (1...20).map(String.init))
        let sample = CollectionReplies.elements(try await client.command(["SRANDMEMBER", "i", "7"])) ?? []
        #expect(Set(sample).count == 7)
        client.close()
        await node.stop()
    }

    @Test("Randomized set workload: every reply matches redis-server", arguments: [false, true])
    func randomized(resp3: Bool) async throws {
        let diff = try await Differential.start(resp3: resp3)
        let checker = CollectionChecker(diff: diff)
        var random = CollectionTestRandom(seed: resp3 ? 0x5E75 : 0x5E72)
        let keys = ["s0", "s1", "s2", "s3", "s4"]
        func member(_ random: inout CollectionTestRandom) -> String {
            switch Int.random(in: 0..<10, using: &random) {
            case 0: return "m\(Int.random(in: 0..<8, using: &random))"
            case 1: return ["-1", "010", "+3", "-0", "9223372036854775807", ""].randomElement(using: &random) ?? "x"
            default: return String(Int.random(in: 0..<25, using: &random))
            }
        }
        func someKeys(_ random: inout CollectionTestRandom) -> [String] {
            (0..<Int.random(in: 1...3, using: &random)).map { _ in
                Int.random(in: 0..<12, using: &random) == 0 ? "str" : keys.randomElement(using: &random) ?? "s0"
            }
        }
        _ = try await diff.run([["SET", "str", "x"]])
        var batch: [[String]] = []
        for _ in 0..<2500 {
            let key = Int.random(in: 0..<40, using: &random) == 0 ? "str" : keys.randomElement(using: &random) ?? "s0"
            let command: [String]
            switch Int.random(in: 0..<19, using: &random) {
            case 0, 1, 2:
                command = ["SADD", key] + (0..<Int.random(in: 1...4, using: &random)).map { _ in member(&random) }
            case 3: command = ["SREM", key] + (0..<Int.random(in: 1...3, using: &random)).map { _ in member(&random) }
            case 4: command = ["SISMEMBER", key, member(&random)]
            case 5: command = ["SMISMEMBER", key, member(&random), member(&random)]
            case 6: command = ["SCARD", key]
            case 7: command = ["SMEMBERS", key]
            case 8: command = ["SMOVE", key, keys.randomElement(using: &random) ?? "s1", member(&random)]
            case 9: command = ["SINTER"] + someKeys(&random)
            case 10: command = ["SUNION"] + someKeys(&random)
            case 11: command = ["SDIFF"] + someKeys(&random)
            case 12:
                let store = ["SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"].randomElement(using: &random) ?? "SUNIONSTORE"
                command = [store, keys.randomElement(using: &random) ?? "s0"] + someKeys(&random)
            case 13:
                let chosen = someKeys(&random)
                command = ["SINTERCARD", String(chosen.count)] + chosen
                    + (Bool.random(using: &random) ? ["LIMIT", String(Int.random(in: 0...3, using: &random))] : [])
            case 14: command = ["SRANDMEMBER", key, String(Int.random(in: -12...12, using: &random))]
            case 15: command = ["SPOP", key, "1000"]
            case 16: command = ["SSCAN", key, "0"] + (Bool.random(using: &random) ? ["MATCH", "*1*"] : [])
            case 17: command = ["SRANDMEMBER", key]
            default: command = ["SADD", key] + (0..<40).map { _ in String(Int.random(in: 0..<700, using: &random)) }
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

// MARK: - Shared by the hash, set and sorted set tests

/// A seeded generator (splitmix64) so that a failing randomized run can be replayed.
struct CollectionTestRandom: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Helpers to compare collection replies.
enum CollectionReplies {
    static func elements(_ value: RESPValue) -> [RESPValue]? {
        switch value {
        case .array(let items), .set(let items), .push(let items): return items
        default: return nil
        }
    }

    static func text(_ value: RESPValue) -> String? {
        switch value {
        case .bulkString(let buffer): return String(buffer: buffer)
        case .simpleString(let text): return text
        case .integer(let value): return String(value)
        default: return nil
        }
    }

    /// Equal as multisets of elements (replies whose order Redis leaves unspecified).
    static func sameMultiset(_ a: RESPValue, _ b: RESPValue) -> Bool {
        if a == b { return true }
        switch (a, b) {
        case (.array(let x), .array(let y)), (.set(let x), .set(let y)):
            return x.count == y.count && x.map(\.description).sorted() == y.map(\.description).sorted()
        default:
            return false
        }
    }

    /// The pairs of a reply: a RESP3 map, an array of 2-element arrays, or a flat RESP2 array.
    static func pairs(_ value: RESPValue) -> [[RESPValue]]? {
        switch value {
        case .map(let entries): return entries.map { [$0.key, $0.value] }
        case .array(let items):
            if items.allSatisfy({ if case .array(let pair) = $0 { return pair.count == 2 } else { return false } }),
                !items.isEmpty
            {
                return items.compactMap(elements)
            }
            guard items.count % 2 == 0 else { return nil }
            return stride(from: 0, to: items.count, by: 2).map { [items[$0], items[$0 + 1]] }
        default:
            return nil
        }
    }

    /// Equal as multisets of pairs (HGETALL of a hash table, WITHSCORES of random samples...).
    static func samePairs(_ a: RESPValue, _ b: RESPValue) -> Bool {
        if a == b { return true }
        guard let x = pairs(a), let y = pairs(b), x.count == y.count else { return false }
        let key: ([RESPValue]) -> String = { $0.map(\.description).joined(separator: "\u{0}") }
        return x.map(key).sorted() == y.map(key).sorted()
    }

    /// Whether a set built from the reply's members would be a hash table (unspecified order), not an intset.
    static func freshSetIsUnordered(_ value: RESPValue) -> Bool {
        !allIntegers(value) || (elements(value)?.count ?? 0) > 512
    }

    /// Whether every element is an integer as Redis's intset accepts it.
    static func allIntegers(_ value: RESPValue) -> Bool {
        guard let items = elements(value) else { return false }
        return items.allSatisfy { item in
            guard let text = text(item), let parsed = Int64(text) else { return false }
            return String(parsed) == text
        }
    }
}

/// Runs commands on both servers and compares the replies, knowing which replies Redis leaves unordered (it asks
/// the real server for a key's encoding) and checking the invariants of random replies against the key's content.
///
/// `check` runs one command; `checkBatch` pipelines many (the encoding and content queries ride in redis-server's
/// pipeline next to each command), which keeps the randomized tests fast.
struct CollectionChecker {
    let diff: Differential

    /// Whether Redis iterates `key` in a specified order (listpack or intset), or the key is missing.
    func isOrdered(_ key: String) async throws -> Bool {
        Self.isOrdered(try await diff.redisClient.command(["OBJECT", "ENCODING", key]))
    }

    static func isOrdered(_ encodingReply: RESPValue) -> Bool {
        guard case .bulkString = encodingReply else { return true }
        let encoding = CollectionReplies.text(encodingReply)
        return encoding == "listpack" || encoding == "intset"
    }

    /// The queries to send to redis-server before a command: the encodings its reply order depends on.
    static func preQueries(_ command: [String]) -> [[String]] {
        switch command[0].uppercased() {
        case "SMEMBERS", "HGETALL", "HKEYS", "HVALS", "SSCAN", "HSCAN", "ZSCAN", "SPOP", "SRANDMEMBER", "HRANDFIELD",
            "ZRANDMEMBER":
            return [["OBJECT", "ENCODING", command[1]]]
        case "SINTER":
            return command.dropFirst().map { ["OBJECT", "ENCODING", $0] }
        default:
            return []
        }
    }

    /// The query to send to redis-server after a command: the content random and scan replies are checked against.
    static func postQuery(_ command: [String]) -> [String]? {
        switch command[0].uppercased() {
        case "SRANDMEMBER", "SSCAN": return ["SMEMBERS", command[1]]
        case "HRANDFIELD", "HSCAN": return ["HGETALL", command[1]]
        case "ZRANDMEMBER", "ZSCAN": return ["ZRANGE", command[1], "0", "-1", "WITHSCORES"]
        default: return nil
        }
    }

    /// Runs `command` on both servers and checks keyway's reply.
    func check(_ command: [String], sourceLocation: SourceLocation = #_sourceLocation) async throws {
        var pre: [RESPValue] = []
        for query in Self.preQueries(command) { pre.append(try await diff.redisClient.command(query)) }
        let expected = try await diff.redisClient.command(command)
        let actual = try await diff.nodeClient.command(command)
        var post: RESPValue?
        if let query = Self.postQuery(command) { post = try await diff.redisClient.command(query) }
        let name = command[0].uppercased()
        if expected != actual, ["SSCAN", "HSCAN", "ZSCAN"].contains(name), !pre.allSatisfy(Self.isOrdered) {
            try await compareFullScan(Array(command.prefix(2)), options: Array(command.dropFirst(3)),
                pairs: name != "SSCAN", sourceLocation: sourceLocation)
            return
        }
        if !Self.accepts(command, pre: pre, expected: expected, actual: actual, content: post) {
            Issue.record(
                "\(command.joined(separator: " ")): redis \(expected) vs keyway \(actual)", sourceLocation: sourceLocation)
        }
    }

    /// Pipelines `commands` to both servers and checks every reply.
    func checkBatch(_ commands: [[String]], sourceLocation: SourceLocation = #_sourceLocation) async throws {
        var redisCommands: [[String]] = []
        for command in commands {
            redisCommands += Self.preQueries(command)
            redisCommands.append(command)
            if let query = Self.postQuery(command) { redisCommands.append(query) }
        }
        async let redisReplies = diff.redisClient.pipeline(redisCommands)
        async let nodeReplies = diff.nodeClient.pipeline(commands)
        let expectedAll = try await redisReplies
        let actualAll = try await nodeReplies
        var r = 0
        for (i, command) in commands.enumerated() {
            let preCount = Self.preQueries(command).count
            let pre = Array(expectedAll[r..<(r + preCount)])
            r += preCount
            let expected = expectedAll[r]
            r += 1
            var post: RESPValue?
            if Self.postQuery(command) != nil {
                post = expectedAll[r]
                r += 1
            }
            let actual = actualAll[i]
            if !Self.accepts(command, pre: pre, expected: expected, actual: actual, content: post) {
                Issue.record(
                    "\(command.joined(separator: " ")): redis \(expected) vs keyway \(actual)", sourceLocation: sourceLocation)
            }
        }
    }

    /// Whether keyway's `actual` reply is right, given redis-server's `expected` one.
    static func accepts(_ command: [String], pre: [RESPValue], expected: RESPValue, actual: RESPValue, content: RESPValue?)
        -> Bool
    {
        if expected == actual { return true }
        if case .simpleError = expected { return false }
        let ordered = pre.allSatisfy(isOrdered)
        switch command[0].uppercased() {
        case "SMEMBERS", "SINTER", "HKEYS", "HVALS":
            return !ordered && CollectionReplies.sameMultiset(expected, actual)
        case "SUNION", "SDIFF":
            return CollectionReplies.freshSetIsUnordered(expected) && CollectionReplies.sameMultiset(expected, actual)
        case "HGETALL":
            return !ordered && CollectionReplies.samePairs(expected, actual)
        case "SPOP":
            return command.count == 3 && CollectionReplies.freshSetIsUnordered(expected)
                && CollectionReplies.sameMultiset(expected, actual)
        case "SSCAN", "HSCAN", "ZSCAN":
            guard !ordered, let content else { return false }
            return scanIsConsistent(command, actual, content: content)
        case "SRANDMEMBER", "HRANDFIELD", "ZRANDMEMBER":
            guard let content else { return false }
            return randomIsConsistent(command, expected, actual, content: content, ordered: ordered)
        default:
            return false
        }
    }

    /// The content of a key as member → value/score description (SMEMBERS, HGETALL or ZRANGE WITHSCORES reply).
    static func contentMap(_ command: [String], _ reply: RESPValue) -> [String: String] {
        var content: [String: String] = [:]
        switch command[0].uppercased() {
        case "SRANDMEMBER", "SSCAN":
            for item in CollectionReplies.elements(reply) ?? [] { content[item.description] = "" }
        default:
            for pair in CollectionReplies.pairs(reply) ?? [] { content[pair[0].description] = pair[1].description }
        }
        return content
    }

    /// One page of a scan of a hash table: distinct elements of the key with their values.
    static func scanIsConsistent(_ command: [String], _ actual: RESPValue, content reply: RESPValue) -> Bool {
        let content = contentMap(command, reply)
        guard case .array(let parts) = actual, parts.count == 2, let items = CollectionReplies.elements(parts[1]) else {
            return false
        }
        var seen = Set<String>()
        if command[0].uppercased() == "SSCAN" {
            for item in items where content[item.description] == nil || !seen.insert(item.description).inserted {
                return false
            }
            return true
        }
        guard items.count % 2 == 0 else { return false }
        for i in stride(from: 0, to: items.count, by: 2) {
            guard let value = content[items[i].description], seen.insert(items[i].description).inserted else {
                return false
            }
            // ZSCAN scores are bulk strings in both protocols; ZRANGE's are doubles in RESP3.
            let score = CollectionReplies.text(items[i + 1]) ?? ""
            if value != items[i + 1].description && value != score && Double(score).map({ "(double) \($0)" }) != value {
                return false
            }
        }
        return true
    }

    /// Checks a random reply against the key's content: sizes, distinctness, membership, and values/scores.
    static func randomIsConsistent(
        _ command: [String], _ expected: RESPValue, _ actual: RESPValue, content reply: RESPValue, ordered: Bool
    ) -> Bool {
        let content = contentMap(command, reply)
        if command.count == 2 {
            // One random member, or null.
            if case .bulkString = actual { return content[actual.description] != nil }
            return false
        }
        guard let count = Int(command[2]) else { return false }
        let withValues = command.count == 4
        let items: [[RESPValue]]
        if withValues {
            guard let pairs = CollectionReplies.pairs(actual) else { return false }
            // Same shape: flat in RESP2, pairs in RESP3.
            if CollectionReplies.elements(expected)?.count != CollectionReplies.elements(actual)?.count { return false }
            items = pairs
        } else {
            guard let elements = CollectionReplies.elements(actual) else { return false }
            items = elements.map { [$0] }
        }
        for item in items {
            guard let value = content[item[0].description] else { return false }
            if withValues && item.count == 2 && item[1].description != value { return false }
        }
        if count >= 0 {
            guard items.count == min(count, content.count) else { return false }
            guard Set(items.map { $0[0].description }).count == items.count else { return false }
            // The whole collection comes back in iteration order: specified for listpacks, intsets and sorted sets.
            if count >= content.count && (ordered || command[0].uppercased() == "ZRANDMEMBER") { return false }
        } else {
            guard items.count == (content.isEmpty ? 0 : -count) else { return false }
        }
        return true
    }

    /// Scans the whole key on both servers and compares what was returned, as unordered collections.
    func compareFullScan(
        _ prefix: [String], options: [String] = [], pairs: Bool, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        func scanAll(_ client: RESPTestClient) async throws -> [String] {
            var cursor = "0"
            var seen: [String: String] = [:]
            var rounds = 0
            repeat {
                let reply = try await client.command(prefix + [cursor] + options)
                guard case .array(let parts) = reply, parts.count == 2,
                    let items = CollectionReplies.elements(parts[1])
                else { return ["bad reply: \(reply)"] }
                cursor = CollectionReplies.text(parts[0]) ?? "0"
                if pairs {
                    for i in stride(from: 0, to: items.count - 1, by: 2) {
                        seen[items[i].description] = items[i + 1].description
                    }
                } else {
                    for item in items { seen[item.description] = "" }
                }
                rounds += 1
            } while cursor != "0" && rounds < 100_000
            return seen.map { "\($0.key)=\($0.value)" }.sorted()
        }
        let expected = try await scanAll(diff.redisClient)
        let actual = try await scanAll(diff.nodeClient)
        if expected != actual {
            Issue.record(
                "\((prefix + options).joined(separator: " ")) full scan: redis \(expected) vs keyway \(actual)",
                sourceLocation: sourceLocation)
        }
    }
}
