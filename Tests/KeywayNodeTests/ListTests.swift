import RESP
import TestSupport
import Testing

/// The list commands compared with redis-server, reply by reply, in RESP2 and RESP3.
@Suite("Node: lists", .enabled(if: RedisServerProcess.isAvailable))
struct ListTests {
    static let pushAndPop: [[String]] = [
        ["LPUSH", "l", "a", "b", "c"], ["RPUSH", "l", "d", "e"], ["LRANGE", "l", "0", "-1"], ["LLEN", "l"],
        ["LPUSHX", "l", "x"], ["RPUSHX", "l", "y"], ["LPUSHX", "missing", "x"], ["RPUSHX", "missing", "y"],
        ["EXISTS", "missing"], ["LPOP", "l"], ["RPOP", "l"], ["LPOP", "l", "2"], ["RPOP", "l", "2"],
        ["LRANGE", "l", "0", "-1"], ["LPOP", "l", "0"], ["LPOP", "l", "10"], ["EXISTS", "l"], ["LPOP", "l"],
        ["RPOP", "l"], ["LPOP", "l", "1"], ["RPOP", "l", "0"], ["LPOP", "l", "-1"], ["LPOP", "l", "abc"],
        ["LPOP", "l", "1", "2"], ["LLEN", "l"], ["LPUSH", "l"], ["RPUSH", "l", "only"], ["RPOP", "l", "5"],
        ["SET", "s", "v"], ["LPUSH", "s", "a"], ["RPUSH", "s", "a"], ["LPUSHX", "s", "a"], ["LPOP", "s"],
        ["RPOP", "s", "2"], ["LLEN", "s"], ["LPOP", "s", "-1"], ["LPOP", "missing", "-1"],
    ]

    static let reads: [[String]] = [
        ["RPUSH", "l", "a", "b", "c", "d", "e", "f"], ["LRANGE", "l", "0", "2"], ["LRANGE", "l", "-3", "-1"],
        ["LRANGE", "l", "-100", "100"], ["LRANGE", "l", "5", "2"], ["LRANGE", "l", "6", "10"],
        ["LRANGE", "l", "-1", "-2"], ["LRANGE", "l", "x", "1"], ["LRANGE", "l", "1", "y"],
        ["LRANGE", "l", "-9223372036854775808", "9223372036854775807"], ["LRANGE", "missing", "0", "-1"],
        ["LRANGE", "missing", "a", "b"], ["LINDEX", "l", "0"], ["LINDEX", "l", "-1"], ["LINDEX", "l", "6"],
        ["LINDEX", "l", "-7"], ["LINDEX", "l", "x"], ["LINDEX", "missing", "x"], ["LINDEX", "missing", "0"],
        ["SET", "s", "v"], ["LINDEX", "s", "0"], ["LRANGE", "s", "0", "1"], ["LLEN", "s"], ["LINDEX", "s", "x"],
        ["LSET", "l", "0", "A"], ["LSET", "l", "-1", "F"], ["LSET", "l", "6", "z"], ["LSET", "l", "x", "z"],
        ["LSET", "missing", "0", "z"], ["LSET", "missing", "x", "z"], ["LSET", "s", "0", "z"],
        ["LRANGE", "l", "0", "-1"],
    ]

    static let edits: [[String]] = [
        ["RPUSH", "l", "a", "b", "a", "c", "a", "d", "a"], ["LREM", "l", "2", "a"], ["LRANGE", "l", "0", "-1"],
        ["LREM", "l", "-1", "a"], ["LRANGE", "l", "0", "-1"], ["LREM", "l", "0", "a"], ["LRANGE", "l", "0", "-1"],
        ["LREM", "l", "0", "zz"], ["LREM", "l", "x", "a"], ["LREM", "missing", "1", "a"],
        ["RPUSH", "m", "a", "a", "a"], ["LREM", "m", "-9223372036854775808", "a"], ["EXISTS", "m"],
        ["LINSERT", "l", "BEFORE", "b", "x"], ["LINSERT", "l", "after", "d", "y"], ["LINSERT", "l", "AFTER", "nope", "y"],
        ["LINSERT", "l", "MIDDLE", "b", "y"], ["LINSERT", "missing", "BEFORE", "b", "y"], ["LRANGE", "l", "0", "-1"],
        ["RPUSH", "t", "1", "2", "3", "4", "5", "6"], ["LTRIM", "t", "1", "-2"], ["LRANGE", "t", "0", "-1"],
        ["LTRIM", "t", "-100", "100"], ["LRANGE", "t", "0", "-1"], ["LTRIM", "t", "2", "1"], ["EXISTS", "t"],
        ["LTRIM", "missing", "0", "1"], ["LTRIM", "l", "x", "1"], ["LTRIM", "l", "0", "y"],
        ["SET", "s", "v"], ["LREM", "s", "0", "a"], ["LINSERT", "s", "BEFORE", "a", "b"], ["LTRIM", "s", "0", "1"],
        ["LINSERT", "s", "MIDDLE", "a", "b"],
    ]

    static let positions: [[String]] = [
        ["RPUSH", "l", "a", "b", "c", "1", "2", "3", "c", "c"], ["LPOS", "l", "a"], ["LPOS", "l", "c"],
        ["LPOS", "l", "x"], ["LPOS", "l", "c", "RANK", "2"], ["LPOS", "l", "c", "RANK", "-1"],
        ["LPOS", "l", "c", "RANK", "-2"], ["LPOS", "l", "c", "RANK", "4"], ["LPOS", "l", "c", "COUNT", "0"],
        ["LPOS", "l", "c", "COUNT", "2"], ["LPOS", "l", "c", "COUNT", "2", "RANK", "-1"],
        ["LPOS", "l", "c", "COUNT", "0", "MAXLEN", "7"], ["LPOS", "l", "c", "MAXLEN", "2"],
        ["LPOS", "l", "c", "RANK", "0"], ["LPOS", "l", "c", "RANK", "x"], ["LPOS", "l", "c", "COUNT", "-1"],
        ["LPOS", "l", "c", "COUNT", "x"], ["LPOS", "l", "c", "MAXLEN", "-1"], ["LPOS", "l", "c", "MAXLEN", "y"],
        ["LPOS", "l", "c", "RANK"], ["LPOS", "l", "c", "FOO", "1"], ["LPOS", "missing", "c"],
        ["LPOS", "missing", "c", "COUNT", "1"], ["LPOS", "l", "x", "COUNT", "1"],
        ["LPOS", "l", "c", "RANK", "-9223372036854775808"],
        ["LPOS", "l", "c", "RANK", "-9223372036854775808", "COUNT", "1"],
        ["LPOS", "l", "c", "RANK", "9223372036854775807", "COUNT", "0"], ["SET", "s", "v"], ["LPOS", "s", "c"],
        ["LPOS", "s", "c", "RANK", "0"],
    ]

    static let moves: [[String]] = [
        ["RPUSH", "src", "a", "b", "c"], ["LMOVE", "src", "dst", "LEFT", "RIGHT"],
        ["LMOVE", "src", "dst", "RIGHT", "LEFT"], ["LRANGE", "dst", "0", "-1"], ["LMOVE", "src", "src", "LEFT", "RIGHT"],
        ["LRANGE", "src", "0", "-1"], ["LMOVE", "src", "dst", "left", "left"], ["EXISTS", "src"],
        ["LMOVE", "src", "dst", "LEFT", "LEFT"], ["LMOVE", "dst", "x", "UP", "LEFT"], ["LMOVE", "dst", "x", "LEFT", "UP"],
        ["RPOPLPUSH", "dst", "dst"], ["RPOPLPUSH", "dst", "other"], ["RPOPLPUSH", "missing", "other"],
        ["LRANGE", "dst", "0", "-1"], ["LRANGE", "other", "0", "-1"], ["SET", "s", "v"],
        ["LMOVE", "dst", "s", "LEFT", "LEFT"], ["LRANGE", "dst", "0", "-1"], ["LMOVE", "s", "dst", "LEFT", "LEFT"],
        ["RPOPLPUSH", "s", "dst"], ["RPOPLPUSH", "dst", "s"], ["RPUSH", "one", "x"], ["RPOPLPUSH", "one", "one"],
        ["LRANGE", "one", "0", "-1"], ["LMOVE", "missing", "s", "LEFT", "LEFT"],
    ]

    static let multiPop: [[String]] = [
        ["RPUSH", "a", "1", "2", "3"], ["RPUSH", "b", "4", "5"], ["LMPOP", "2", "missing", "a", "LEFT"],
        ["LMPOP", "2", "a", "b", "RIGHT", "COUNT", "10"], ["LMPOP", "1", "a", "LEFT"], ["EXISTS", "a"],
        ["LMPOP", "2", "a", "b", "left", "count", "1"], ["LMPOP", "1", "missing", "LEFT"],
        ["LMPOP", "0", "a", "LEFT"], ["LMPOP", "-1", "a", "LEFT"], ["LMPOP", "x", "a", "LEFT"],
        ["LMPOP", "3", "a", "b", "LEFT"], ["LMPOP", "1", "a", "MIDDLE"], ["LMPOP", "1", "b", "LEFT", "COUNT", "0"],
        ["LMPOP", "1", "b", "LEFT", "COUNT", "x"], ["LMPOP", "1", "b", "LEFT", "COUNT"],
        ["LMPOP", "1", "b", "LEFT", "COUNT", "1", "COUNT", "1"], ["LMPOP", "1", "b", "LEFT", "FOO"],
        ["LMPOP", "9223372036854775807", "b", "LEFT"], ["LMPOP", "2", "b"], ["SET", "s", "v"],
        ["LMPOP", "2", "s", "b", "LEFT"], ["LMPOP", "2", "b", "s", "LEFT"], ["LMPOP", "2", "missing", "s", "LEFT"],
    ]

    /// The blocking forms on non-empty lists, their argument errors, and (on empty lists) MULTI, where they
    /// return at once.
    static let blockingWithoutWaiting: [[String]] = [
        ["RPUSH", "a", "1", "2", "3"], ["BLPOP", "missing", "a", "0"], ["BRPOP", "a", "missing", "0"],
        ["BLPOP", "a", "-1"], ["BLPOP", "a", "x"], ["BLPOP", "a", "inf"], ["BLPOP", "a", "1e30"],
        ["BLPOP", "a", ""], ["BLPOP", "a", " 1"], ["BRPOP", "a", "-0.5"], ["SET", "s", "v"], ["BLPOP", "s", "0"],
        ["BLPOP", "missing", "s", "0"], ["RPUSH", "b", "x", "y"], ["BLMOVE", "b", "c", "LEFT", "RIGHT", "0"],
        ["BLMOVE", "b", "c", "LEFT", "UP", "0"], ["BLMOVE", "b", "c", "LEFT", "LEFT", "-1"],
        ["BLMOVE", "b", "c", "LEFT", "LEFT", "x"], ["BLMOVE", "b", "s", "LEFT", "LEFT", "0"], ["LRANGE", "b", "0", "-1"],
        ["BRPOPLPUSH", "b", "c", "0"], ["BRPOPLPUSH", "b", "c", "-1"], ["BRPOPLPUSH", "s", "c", "0"],
        ["LRANGE", "c", "0", "-1"], ["RPUSH", "m", "1", "2", "3"], ["BLMPOP", "0", "2", "missing", "m", "LEFT", "COUNT", "2"],
        ["BLMPOP", "0", "1", "m", "RIGHT"], ["BLMPOP", "-1", "1", "m", "RIGHT"], ["BLMPOP", "x", "1", "m", "RIGHT"],
        ["BLMPOP", "0", "0", "m", "RIGHT"], ["BLMPOP", "0", "1", "m", "UP"], ["BLMPOP", "0", "1", "s", "LEFT"],
        ["BLMPOP", "0", "1", "m", "LEFT", "COUNT", "0"], ["BLMPOP", "x", "0", "m", "RIGHT"],
        ["MULTI"], ["BLPOP", "none", "0"], ["BRPOP", "none", "none2", "1"], ["BLMOVE", "none", "c", "LEFT", "LEFT", "0"],
        ["BRPOPLPUSH", "none", "c", "0"], ["BLMPOP", "0", "1", "none", "LEFT"], ["BLPOP", "c", "0"], ["EXEC"],
    ]

    static var all: [[String]] {
        var commands: [[String]] = []
        for group in [pushAndPop, reads, edits, positions, moves, multiPop, blockingWithoutWaiting] {
            commands += group
            commands.append(["FLUSHALL"])
        }
        return commands
    }

    @Test("Every list command and error path replies as redis-server (RESP2)")
    func resp2() async throws {
        let diff = try await Differential.start()
        try await diff.run(Self.all)
        await diff.stop()
    }

    @Test("Every list command and error path replies as redis-server (RESP3)")
    func resp3() async throws {
        let diff = try await Differential.start(resp3: true)
        try await diff.run(Self.all)
        await diff.stop()
    }

    @Test("Binary elements and large lists round-trip, with indexes from both ends")
    func largeAndBinary() async throws {
        let diff = try await Differential.start()
        let elements = (0..<300).map { "e\($0)\u{0}\u{FF}" }
        try await diff.run([
            ["RPUSH", "big"] + elements, ["LPUSH", "big"] + elements.prefix(50), ["LLEN", "big"],
            ["LRANGE", "big", "100", "120"], ["LINDEX", "big", "-17"], ["LPOS", "big", "e7\u{0}\u{FF}", "COUNT", "0"],
            ["LREM", "big", "-1", "e9\u{0}\u{FF}"], ["LTRIM", "big", "10", "-10"], ["LRANGE", "big", "0", "-1"],
            ["LPOP", "big", "100"], ["RPOP", "big", "100"], ["LMPOP", "1", "big", "RIGHT", "COUNT", "1000"],
            ["EXISTS", "big"],
        ])
        await diff.stop()
    }

    @Test("Key type and encoding; a push keeps the TTL, deleting the emptied list drops it")
    func typeAndExpiry() async throws {
        let diff = try await Differential.start()
        try await diff.run([
            ["RPUSH", "l", "a"], ["TYPE", "l"], ["OBJECT", "ENCODING", "l"], ["PEXPIRE", "l", "100000"],
            ["RPUSH", "l", "b"], ["PERSIST", "l"], ["PEXPIRE", "l", "100000"], ["LPOP", "l", "2"], ["EXISTS", "l"],
            ["TTL", "l"], ["RPUSH", "l", "c"], ["TTL", "l"],
        ])
        await diff.stop()
    }

    @Test("Randomized list workload: every reply matches redis-server", arguments: [false, true])
    func randomized(resp3: Bool) async throws {
        let diff = try await Differential.start(resp3: resp3)
        var random = ListTestRandom(seed: resp3 ? 7 : 42)
        var commands: [[String]] = [["SET", "s", "string"]]
        for _ in 0..<1200 { commands.append(random.listCommand()) }
        try await diff.run(commands)
        await diff.stop()
    }
}

/// A seeded generator of list commands over a few keys and a small alphabet, so that matches and edge cases
/// (empty lists, out-of-range indexes, wrong types) come up often.
struct ListTestRandom {
    private var state: UInt64

    init(seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 | 1 }

    mutating func next(_ bound: Int) -> Int {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return Int(state % UInt64(bound))
    }

    mutating func pick<T>(_ options: [T]) -> T { options[next(options.count)] }

    mutating func key() -> String { pick(["l1", "l1", "l2", "l3", "s"]) }
    mutating func value() -> String { pick(["a", "b", "c", "d", "", "a", "ab"]) }
    mutating func index() -> String { String(next(13) - 6) }
    mutating func side() -> String { pick(["LEFT", "RIGHT", "left"]) }

    mutating func listCommand() -> [String] {
        // The blocking forms wait 10 ms on empty lists: keep them rare.
        var choice = next(22)
        if choice >= 16 && choice <= 18 && next(4) != 0 { choice = 21 }
        switch choice {
        case 0: return ["LPUSH", key()] + (0...next(3)).map { _ in value() }
        case 1: return ["RPUSH", key()] + (0...next(4)).map { _ in value() }
        case 2: return [pick(["LPUSHX", "RPUSHX"]), key(), value()]
        case 3: return [pick(["LPOP", "RPOP"]), key()]
        case 4: return [pick(["LPOP", "RPOP"]), key(), String(next(5))]
        case 5: return ["LLEN", key()]
        case 6: return ["LRANGE", key(), index(), index()]
        case 7: return ["LINDEX", key(), index()]
        case 8: return ["LSET", key(), index(), value()]
        case 9: return ["LREM", key(), String(next(5) - 2), value()]
        case 10: return ["LTRIM", key(), index(), index()]
        case 11: return ["LINSERT", key(), pick(["BEFORE", "AFTER"]), value(), value()]
        case 12:
            var command = ["LPOS", key(), value()]
            if next(2) == 0 { command += ["RANK", pick(["1", "2", "-1", "-2", "3"])] }
            if next(2) == 0 { command += ["COUNT", String(next(3))] }
            if next(3) == 0 { command += ["MAXLEN", String(next(4))] }
            return command
        case 13: return ["LMOVE", key(), key(), side(), side()]
        case 14: return ["RPOPLPUSH", key(), key()]
        case 15:
            let count = next(3) + 1
            var command = ["LMPOP", String(count)] + (0..<count).map { _ in key() } + [side()]
            if next(2) == 0 { command += ["COUNT", String(next(4) + 1)] }
            return command
        case 16: return [pick(["BLPOP", "BRPOP"]), key(), key(), "0.01"]
        case 17: return ["BLMOVE", key(), key(), side(), side(), "0.01"]
        case 18: return ["BLMPOP", "0.01", "2", key(), key(), side(), "COUNT", String(next(3) + 1)]
        case 19: return ["EXISTS", key()]
        case 20: return ["DEL", key()]
        default: return ["LRANGE", key(), "0", "-1"]
        }
    }
}
