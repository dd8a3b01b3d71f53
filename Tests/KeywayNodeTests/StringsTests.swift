import ClusterModel
import Foundation
import NIOCore
import RESP
import TestSupport
import Testing

@testable import KeywayNode

/// Helpers shared by the string and key command tests.
enum StringKeyTestSupport {
    /// Compares replies exactly, except that TTL-like integers may differ by the time between the two servers.
    static func compare(_ command: [String], _ redis: RESPValue, _ node: RESPValue) -> Bool {
        if redis == node { return true }
        guard case .integer(let a) = redis, case .integer(let b) = node, a >= 0, b >= 0 else { return false }
        switch command.first?.uppercased() {
        // Generous: under a loaded machine the two servers may run the same command seconds apart.
        case "TTL", "EXPIRETIME", "OBJECT": return abs(a - b) <= 15
        case "PTTL", "PEXPIRETIME": return abs(a - b) <= 15000
        default: return false
        }
    }

    /// Runs one command in process, as the dispatcher would (under the node lock), and returns what it
    /// propagated.
    @discardableResult
    static func run(
        _ arguments: [ByteBuffer], _ state: NodeState, _ session: ClientSession,
        now: Int64 = NodeState.nowMilliseconds()
    ) -> [[ByteBuffer]] {
        state.lock.withLock {
            guard let spec = try? CommandTable.redis70.resolve(arguments), let handler = state.handlers.handler(for: spec)
            else { return [[ByteBuffer(string: "unknown command")]] }
            var reply = ReplyWriter(buffer: ByteBuffer(), resp3: false)
            let effects = withUnsafeMutablePointer(to: &reply) { replyTarget in
                var inv = Invocation(args: arguments, spec: spec, node: state, session: session, replyTarget: replyTarget, now: now)
                do throws(RedisError) { try handler(&inv) } catch { inv.reply.error(error) }
                return inv.effects
            }
            state.apply(effects)
            return effects.propagated.map(\.command)
        }
    }

    /// Compares unordered array replies (KEYS), else as `compare`.
    static func compareUnordered(_ command: [String], _ redis: RESPValue, _ node: RESPValue) -> Bool {
        unorderedEqual(redis, node) || compare(command, redis, node)
    }
}

/// A small deterministic generator (SplitMix64) for reproducible random command streams.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite("Node: string commands")
struct StringsTests {
    @Test("SET options, conflicts and errors match redis-server", .enabled(if: RedisServerProcess.isAvailable),
          arguments: [false, true])
    func setOptions(resp3: Bool) async throws {
        let diff = try await Differential.start(resp3: resp3)
        try await diff.run([
            ["SET", "k", "v"], ["GET", "k"], ["SET", "k", "v2", "NX"], ["SET", "k", "v3", "XX"], ["GET", "k"],
            ["SET", "n", "v", "XX"], ["GET", "n"], ["SET", "n", "v", "NX"], ["GET", "n"],
            ["SET", "k", "a", "GET"], ["SET", "missing", "a", "GET"], ["SET", "k", "b", "NX", "GET"],
            ["SET", "k2", "b", "XX", "GET"], ["SET", "k", "c", "xx", "get", "keepttl"], ["GET", "k"],
            ["SET", "k", "v", "EX", "100"], ["TTL", "k"], ["SET", "k", "v", "PX", "100000"], ["PTTL", "k"],
            ["SET", "k", "v", "KEEPTTL"], ["TTL", "k"], ["SET", "k", "v"], ["TTL", "k"],
            ["SET", "k", "v", "EXAT", "4102444800"], ["TTL", "k"], ["EXPIRETIME", "k"],
            ["SET", "k", "v", "PXAT", "4102444800000"], ["PEXPIRETIME", "k"],
            ["SET", "k", "v", "EX", "10", "EX", "20"], ["TTL", "k"],
            ["SET", "k", "v", "EXAT", "1"], ["GET", "k"], ["EXISTS", "k"],
            // Conflicts and syntax errors.
            ["SET", "k", "v", "NX", "XX"], ["SET", "k", "v", "XX", "NX"], ["SET", "k", "v", "EX", "10", "PX", "10"],
            ["SET", "k", "v", "PX", "10", "EXAT", "10"], ["SET", "k", "v", "KEEPTTL", "EX", "10"],
            ["SET", "k", "v", "EX", "10", "KEEPTTL"], ["SET", "k", "v", "EX"], ["SET", "k", "v", "PERSIST"],
            ["SET", "k", "v", "FOO"], ["SET", "k", "v", "EX", "abc"], ["SET", "k", "v", "EX", "0"],
            ["SET", "k", "v", "EX", "-5"], ["SET", "k", "v", "PX", "0"], ["SET", "k", "v", "EXAT", "0"],
            ["SET", "k", "v", "EX", "9223372036854776"], ["SET", "k", "v", "PX", "9223372036854775807"],
            ["SET", "k", "v", "EX", "9223372036854775"], ["SET", "k", "v", "EX", "1.5"], ["SET", "k"],
            ["SET", "k", "v", "EX", "abc", "NX", "XX"],
            // Wrong types.
            ["DEL", "k"], ["SADD", "s", "x"], ["SET", "s", "v", "GET"], ["TYPE", "s"], ["SET", "s", "v"],
            ["GET", "s"], ["TYPE", "s"],
        ], compare: StringKeyTestSupport.compare)
        await diff.stop()
    }

    @Test("SETNX SETEX PSETEX GETSET GETDEL GETEX MGET MSET MSETNX", .enabled(if: RedisServerProcess.isAvailable),
          arguments: [false, true])
    func setVariants(resp3: Bool) async throws {
        let diff = try await Differential.start(resp3: resp3)
        try await diff.run([
            ["SETNX", "a", "1"], ["SETNX", "a", "2"], ["GET", "a"],
            ["SETEX", "b", "100", "v"], ["TTL", "b"], ["SETEX", "b", "0", "v"], ["SETEX", "b", "-1", "v"],
            ["SETEX", "b", "x", "v"], ["PSETEX", "c", "100000", "v"], ["PTTL", "c"], ["PSETEX", "c", "0", "v"],
            ["SETEX", "b"], ["GETSET", "b", "new"], ["TTL", "b"], ["GETSET", "nokey", "x"], ["GET", "nokey"],
            ["GETDEL", "b"], ["GETDEL", "b"], ["EXISTS", "b"],
            ["SET", "g", "v"], ["GETEX", "g"], ["GETEX", "g", "EX", "100"], ["TTL", "g"],
            ["GETEX", "g", "PX", "50000"], ["PTTL", "g"], ["GETEX", "g", "EXAT", "4102444800"], ["TTL", "g"],
            ["GETEX", "g", "PXAT", "4102444800000"], ["PEXPIRETIME", "g"], ["GETEX", "g", "PERSIST"], ["TTL", "g"],
            ["GETEX", "g", "EX", "0"], ["GETEX", "g", "EX", "-1"], ["GETEX", "g", "EX", "abc"],
            ["GETEX", "g", "PERSIST", "EX", "10"], ["GETEX", "g", "EX", "10", "PERSIST"], ["GETEX", "g", "KEEPTTL"],
            ["GETEX", "g", "NX"], ["GETEX", "g", "GET"], ["GETEX", "g", "EX"], ["GETEX", "missing", "EX", "abc"],
            ["GETEX", "missing", "FOO"], ["GETEX", "g", "EXAT", "1"], ["EXISTS", "g"],
            ["MSET", "m1", "1", "m2", "2"], ["MGET", "m1", "m2", "m3"], ["MSET", "m1"], ["MSET", "m1", "1", "m2"],
            ["MSETNX", "m3", "3", "m4", "4"], ["MSETNX", "m3", "x", "m5", "5"], ["MGET", "m3", "m4", "m5"],
            ["MSETNX", "m6", "a", "m6", "b"], ["GET", "m6"], ["MSETNX", "m7"],
            ["SADD", "set", "x"], ["MGET", "set", "m1"], ["GETSET", "set", "x"], ["GETDEL", "set"],
            ["GETEX", "set"], ["SETNX", "set", "x"], ["MSETNX", "set", "1"],
        ], compare: StringKeyTestSupport.compare)
        await diff.stop()
    }

    @Test("INCR DECR INCRBY DECRBY INCRBYFLOAT: results, formatting and errors",
          .enabled(if: RedisServerProcess.isAvailable), arguments: [false, true])
    func counters(resp3: Bool) async throws {
        let diff = try await Differential.start(resp3: resp3)
        try await diff.run([
            ["INCR", "c"], ["INCR", "c"], ["DECR", "c"], ["INCRBY", "c", "100"], ["DECRBY", "c", "50"],
            ["INCRBY", "c", "abc"], ["INCRBY", "c", "1.5"], ["DECRBY", "c", "-9223372036854775808"],
            ["SET", "c", "9223372036854775806"], ["INCR", "c"], ["INCR", "c"], ["SET", "c", "-9223372036854775807"],
            ["DECR", "c"], ["DECR", "c"], ["DECRBY", "c", "1"], ["INCRBY", "c", "-1"],
            ["SET", "c", " 1"], ["INCR", "c"], ["SET", "c", "01"], ["INCR", "c"], ["SET", "c", "+1"], ["INCR", "c"],
            ["SET", "c", "-0"], ["INCR", "c"], ["SET", "c", "1.0"], ["INCR", "c"], ["SET", "c", ""], ["INCR", "c"],
            ["SET", "c", "10"], ["EXPIRE", "c", "100"], ["INCR", "c"], ["TTL", "c"],
            ["SET", "f", "10.5"], ["INCRBYFLOAT", "f", "0.1"], ["INCRBYFLOAT", "f", "-5"], ["INCRBYFLOAT", "f", "1e3"],
            ["INCRBYFLOAT", "f", "abc"], ["INCRBYFLOAT", "f", "inf"], ["INCRBYFLOAT", "f", "nan"],
            ["INCRBYFLOAT", "f", " 1"], ["INCRBYFLOAT", "f", "1 "], ["INCRBYFLOAT", "f", ""],
            ["INCRBYFLOAT", "f", "0x10"], ["INCRBYFLOAT", "f", "1e-5000"], ["INCRBYFLOAT", "f", "1e5000"],
            ["INCRBYFLOAT", "g", "3.0e3"], ["INCRBYFLOAT", "g", "-3000"], ["GET", "g"], ["OBJECT", "ENCODING", "g"],
            ["INCRBYFLOAT", "h", "5.0e3"], ["OBJECT", "ENCODING", "h"], ["INCRBYFLOAT", "h", "1e400"],
            ["INCRBYFLOAT", "h", "-1e400"], ["INCRBYFLOAT", "i", "1e308"], ["INCRBYFLOAT", "i", "1e308"],
            ["INCRBYFLOAT", "j", "0.1"], ["INCRBYFLOAT", "j", "0.2"], ["INCRBYFLOAT", "j", "-0.3"],
            ["INCRBYFLOAT", "k", "-0.0"], ["INCRBYFLOAT", "l", "1.23456789012345678901234"],
            ["INCRBYFLOAT", "m", "0.000000000000000000001"], ["SET", "n", "abc"], ["INCRBYFLOAT", "n", "1"],
            ["SET", "o", "1"], ["PEXPIRE", "o", "100000"], ["INCRBYFLOAT", "o", "1.5"], ["PTTL", "o"],
            ["SADD", "s", "1"], ["INCR", "s"], ["INCRBY", "s", "x"], ["DECRBY", "s", "1"], ["INCRBYFLOAT", "s", "1"],
            ["INCRBYFLOAT", "s", "x"], ["INCRBY", "c", "x", "y"],
        ], compare: StringKeyTestSupport.compare)
        await diff.stop()
    }

    @Test("APPEND STRLEN GETRANGE SUBSTR SETRANGE and the proto-max-bulk-len limit",
          .enabled(if: RedisServerProcess.isAvailable), arguments: [false, true])
    func ranges(resp3: Bool) async throws {
        let diff = try await Differential.start(resp3: resp3)
        var commands: [[String]] = [
            ["APPEND", "a", "hello"], ["APPEND", "a", " world"], ["GET", "a"], ["STRLEN", "a"], ["STRLEN", "none"],
            ["APPEND", "a", ""], ["SET", "i", "12"], ["APPEND", "i", "3"], ["GET", "i"], ["INCR", "i"],
            ["SETRANGE", "s", "5", "abc"], ["GET", "s"], ["STRLEN", "s"], ["SETRANGE", "s", "0", "xy"], ["GET", "s"],
            ["SETRANGE", "s", "20", ""], ["STRLEN", "s"], ["SETRANGE", "none", "3", ""], ["EXISTS", "none"],
            ["SETRANGE", "s", "-1", "x"], ["SETRANGE", "s", "abc", "x"], ["SETRANGE", "s", "536870911", "x"],
            ["SETRANGE", "s", "536870912", "x"], ["SETRANGE", "s", "536870910", "xyz"],
            ["SETRANGE", "big", "536870912", "x"], ["SETRANGE", "big", "9223372036854775807", "x"],
            ["SETRANGE", "big", "1", ""], ["SET", "t", "5"], ["SETRANGE", "t", "1", "5"], ["GET", "t"],
            ["GETRANGE", "none", "0", "-1"], ["GETRANGE", "a", "x", "1"], ["GETRANGE", "a", "1", "y"],
            ["SUBSTR", "a", "0", "3"], ["SET", "n", "12345"], ["GETRANGE", "n", "1", "2"],
            ["SET", "e", ""], ["GETRANGE", "e", "0", "-1"], ["GETRANGE", "e", "0", "0"],
            ["SADD", "set", "x"], ["APPEND", "set", "x"], ["STRLEN", "set"], ["GETRANGE", "set", "0", "1"],
            ["SETRANGE", "set", "0", "x"], ["SETRANGE", "set", "0", ""],
        ]
        let bounds = [
            "0", "1", "2", "5", "10", "11", "12", "100", "-1", "-2", "-5", "-11", "-12", "-100",
            "9223372036854775807", "-9223372036854775808",
        ]
        for start in bounds {
            for end in bounds { commands.append(["GETRANGE", "a", start, end]) }
        }
        try await diff.run(commands, compare: StringKeyTestSupport.compare)
        await diff.stop()
    }

    @Test("OBJECT ENCODING and REFCOUNT of strings follow Redis (int, embstr, raw)",
          .enabled(if: RedisServerProcess.isAvailable))
    func stringEncodings() async throws {
        let diff = try await Differential.start()
        var commands: [[String]] = []
        let values = [
            "0", "1", "9999", "10000", "-1", "123456789012345678", "9223372036854775807", "-9223372036854775808",
            "9223372036854775808", "01", "+1", " 1", "1.5", "", "abc", String(repeating: "x", count: 44),
            String(repeating: "x", count: 45), String(repeating: "1", count: 21),
        ]
        for (i, value) in values.enumerated() {
            commands.append(["SET", "k\(i)", value])
            commands.append(["OBJECT", "ENCODING", "k\(i)"])
            commands.append(["OBJECT", "REFCOUNT", "k\(i)"])
            commands.append(["APPEND", "k\(i)", ""])
            commands.append(["OBJECT", "ENCODING", "k\(i)"])
            commands.append(["OBJECT", "REFCOUNT", "k\(i)"])
        }
        commands += [
            ["INCR", "c"], ["OBJECT", "ENCODING", "c"], ["OBJECT", "REFCOUNT", "c"], ["INCRBY", "c", "20000"],
            ["OBJECT", "REFCOUNT", "c"], ["SETRANGE", "r", "0", "12"], ["OBJECT", "ENCODING", "r"],
            ["APPEND", "ap", "12"], ["OBJECT", "ENCODING", "ap"], ["APPEND", "ap", "3"], ["OBJECT", "ENCODING", "ap"],
            ["SET", "x", "12"], ["COPY", "x", "y"], ["OBJECT", "ENCODING", "y"], ["APPEND", "x", "3"],
            ["COPY", "x", "z"], ["OBJECT", "ENCODING", "z"], ["RENAME", "x", "w"], ["OBJECT", "ENCODING", "w"],
            ["GETSET", "w", "5"], ["OBJECT", "ENCODING", "w"], ["OBJECT", "ENCODING", "missing"],
            ["OBJECT", "REFCOUNT", "missing"], ["OBJECT", "FREQ", "w"], ["OBJECT", "FREQ", "missing"],
            ["OBJECT", "HELP"], ["OBJECT", "NOPE"], ["OBJECT", "ENCODING"], ["OBJECT", "ENCODING", "a", "b"],
            ["OBJECT", "IDLETIME", "missing"],
        ]
        try await diff.run(commands)
        await diff.stop()
    }

    @Test("LCS: strings, LEN, IDX, MINMATCHLEN, WITHMATCHLEN on random inputs",
          .enabled(if: RedisServerProcess.isAvailable), arguments: [false, true])
    func lcs(resp3: Bool) async throws {
        let diff = try await Differential.start(resp3: resp3)
        var random = SeededGenerator(seed: resp3 ? 7 : 8)
        var commands: [[String]] = [
            ["MSET", "a", "ohmytext", "b", "mynewtext"], ["LCS", "a", "b"], ["LCS", "a", "b", "LEN"],
            ["LCS", "a", "b", "IDX"], ["LCS", "a", "b", "IDX", "MINMATCHLEN", "4"],
            ["LCS", "a", "b", "IDX", "WITHMATCHLEN"], ["LCS", "a", "b", "IDX", "MINMATCHLEN", "-3", "WITHMATCHLEN"],
            ["LCS", "a", "b", "LEN", "IDX"], ["LCS", "a", "b", "FOO"], ["LCS", "a", "b", "MINMATCHLEN"],
            ["LCS", "a", "b", "MINMATCHLEN", "x"], ["LCS", "a", "missing"], ["LCS", "missing", "missing", "IDX"],
            ["SADD", "s", "x"], ["LCS", "a", "s"],
        ]
        for _ in 0..<60 {
            let alphabet = Array("abcd")
            let x = String((0..<Int.random(in: 0...14, using: &random)).map { _ in alphabet.randomElement(using: &random)! })
            let y = String((0..<Int.random(in: 0...14, using: &random)).map { _ in alphabet.randomElement(using: &random)! })
            commands.append(["MSET", "x", x, "y", y])
            commands.append(["LCS", "x", "y"])
            commands.append(["LCS", "x", "y", "IDX", "WITHMATCHLEN"])
            commands.append(["LCS", "x", "y", "IDX", "MINMATCHLEN", "2"])
        }
        try await diff.run(commands)
        await diff.stop()
    }

    @Test("Repeated APPEND to one key runs in place (amortized constant time)")
    func appendInPlace() async throws {
        let node = try await NodeHarness.start()
        let client = try await node.client()
        _ = try await client.command(["PING"])
        let state = node.server.state
        guard let session = state.lock.withLock({ state.clients.values.first }) else {
            Issue.record("no client session")
            await node.stop()
            return
        }
        // In process, so that only the command's own work is timed: 20,000 appends of 100 bytes move 2 MB when
        // done in place, and 20 GB if each one copied the value.
        let chunk = ByteBuffer(repeating: UInt8(ascii: "x"), count: 100)
        let started = Date()
        for _ in 0..<20_000 {
            _ = StringKeyTestSupport.run([ByteBuffer(string: "APPEND"), ByteBuffer(string: "big"), chunk], state, session)
        }
        let elapsed = Date().timeIntervalSince(started)
        #expect(try await client.command(["STRLEN", "big"]) == .integer(2_000_000))
        #expect(try await client.command(["OBJECT", "ENCODING", "big"]) == .bulk("raw"))
        #expect(elapsed < 4, "20,000 appends took \(elapsed) s")
        client.close()
        await node.stop()
    }

    @Test("Propagated effects: relative expiries become absolute, INCRBYFLOAT becomes SET KEEPTTL")
    func propagation() async throws {
        let node = try await NodeHarness.start()
        let client = try await node.client()
        _ = try await client.command(["PING"])
        let state = node.server.state
        guard let session = state.lock.withLock({ state.clients.values.first }) else {
            Issue.record("no client session")
            await node.stop()
            return
        }
        let now = NodeState.nowMilliseconds()
        func run(_ arguments: [ByteBuffer]) -> [[String]] {
            StringKeyTestSupport.run(arguments, state, session, now: now).map { $0.map { String(buffer: $0) } }
        }
        func run(_ arguments: [String]) -> [[String]] { run(arguments.map { ByteBuffer(string: $0) }) }
        #expect(run(["SET", "k", "v", "EX", "10"]) == [["SET", "k", "v", "PXAT", String(now + 10_000)]])
        #expect(run(["SET", "k", "v", "GET", "get"]) == [["SET", "k", "v"]])
        #expect(run(["SET", "k", "v", "NX"]) == [])
        #expect(run(["SETEX", "k", "5", "v"]) == [["SET", "k", "v", "PXAT", String(now + 5_000)]])
        #expect(run(["PEXPIRE", "k", "100", "GT"]) == [])
        #expect(run(["PEXPIRE", "k", "100000", "GT"]) == [["PEXPIREAT", "k", String(now + 100_000), "GT"]])
        #expect(run(["EXPIRE", "k", "100"]) == [["PEXPIREAT", "k", String(now + 100_000)]])
        #expect(run(["EXPIREAT", "k", "4102444800"]) == [["PEXPIREAT", "k", "4102444800000"]])
        #expect(run(["GETEX", "k", "PX", "20000"]) == [["PEXPIREAT", "k", String(now + 20_000)]])
        #expect(run(["GETEX", "k", "PERSIST"]) == [["PERSIST", "k"]])
        #expect(run(["GETEX", "k", "PERSIST"]) == [])
        #expect(run(["SET", "f", "1.5"]) == [["SET", "f", "1.5"]])
        #expect(run(["INCRBYFLOAT", "f", "1"]) == [["SET", "f", "2.5", "KEEPTTL"]])
        #expect(run(["GETSET", "f", "x"]) == [["SET", "f", "x"]])
        #expect(run(["GETDEL", "f"]) == [["DEL", "f"]])
        #expect(run(["EXPIRE", "k", "-1"]) == [["DEL", "k"]])
        #expect(run(["DEL", "k"]) == [])
        let payload = dumpPayload(.string(CompactBytes(compacting: ByteBuffer(string: "v"))))
        let restored = run([ByteBuffer(string: "RESTORE"), ByteBuffer(string: "r"), ByteBuffer(string: "5000"), payload])
        #expect(restored.first?.count == 5)
        #expect(restored.first?[2] == String(now + 5_000))
        #expect(restored.first?.last == "ABSTTL")
        client.close()
        await node.stop()
    }
}
