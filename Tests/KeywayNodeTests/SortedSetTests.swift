import Foundation
import RESP
import TestSupport
import Testing

@Suite("Node: sorted set commands against redis-server", .enabled(if: RedisServerProcess.isAvailable))
struct SortedSetTests {
    static let add: [[String]] = [
        ["ZADD", "z", "1", "a", "2", "b", "3", "c"], ["ZADD", "z", "1", "a"], ["ZADD", "z", "5", "a"], ["ZADD", "z", "CH", "6", "a", "1", "d"],
        ["ZADD", "z", "NX", "9", "a", "9", "e"], ["ZADD", "z", "XX", "7", "a", "9", "f"], ["ZADD", "z", "XX", "CH", "8", "a", "9", "f"],
        ["ZADD", "z", "GT", "CH", "1", "a", "10", "b"], ["ZADD", "z", "LT", "CH", "20", "a", "0", "b"],
        ["ZADD", "z", "GT", "XX", "CH", "100", "c", "100", "nope"], ["ZADD", "z", "INCR", "5", "a"],
        ["ZADD", "z", "INCR", "NX", "5", "a"], ["ZADD", "z", "INCR", "XX", "5", "nope"], ["ZADD", "z", "INCR", "GT", "-1", "a"],
        ["ZADD", "z", "INCR", "LT", "-1", "a"], ["ZADD", "z", "INCR", "2", "newm"], ["ZADD", "z", "NX", "XX", "1", "a"],
        ["ZADD", "z", "GT", "LT", "1", "a"], ["ZADD", "z", "GT", "NX", "1", "a"], ["ZADD", "z", "LT", "NX", "1", "a"],
        ["ZADD", "z", "INCR", "1", "a", "2", "b"], ["ZADD", "z", "1"], ["ZADD", "z", "1", "a", "2"], ["ZADD", "z", "NX"],
        ["ZADD", "z", "x", "a"], ["ZADD", "z", "nan", "a"], ["ZADD", "z", "1", "a", "y", "b"], ["ZADD", "z", "inf", "top"],
        ["ZADD", "z", "-inf", "bottom"], ["ZADD", "z", "INCR", "-inf", "top"], ["ZADD", "z", "INCR", "1", "bottom"],
        ["ZADD", "z", "+inf", "p", "-Infinity", "q", "1e3", "r", "0x10", "s", "-0", "t", " 1", "u"],
        ["ZADD", "z", "1.5", "v", ".5", "w", "5.", "x2", "1e-320", "tiny", "1.7976931348623157e308", "huge"],
        ["ZADD", "z", "1e400", "o"], ["ZADD", "z", "-1e400", "o"], ["ZADD", "z", "1e-400", "o"], ["ZADD", "z", "1 ", "o"],
        ["ZADD", "z", "1\u{0}2", "o"], ["ZADD", "z", "", "o"], ["ZADD", "z", "INF", "o1", "-INFINITY", "o2", "4.9e-324", "o3"],
        ["ZADD", "z", "0" + String(repeating: "0", count: 300) + "1.5", "o4"], ["ZINCRBY", "z", "1e400", "o"],
        ["ZUNION", "1", "z", "WEIGHTS", "1e400"], ["ZUNION", "1", "z", "WEIGHTS", " 1"],
        ["ZRANGE", "z", "0", "-1", "WITHSCORES"], ["ZCARD", "z"], ["ZCARD", "nokey"],
        ["ZADD", "nokey2", "XX", "1", "a"], ["ZADD", "nokey2", "XX", "INCR", "1", "a"], ["ZCARD", "nokey2"],
        ["ZADD", "nz", "-0", "m"], ["ZSCORE", "nz", "m"], ["ZADD", "nz", "INCR", "-0", "n"], ["ZINCRBY", "nz", "-0", "m"],
        ["ZINCRBY", "z", "2.5", "a"], ["ZINCRBY", "z", "1", "brand"], ["ZINCRBY", "z", "x", "a"], ["ZINCRBY", "z", "nan", "a"],
        ["ZINCRBY", "z", "-inf", "top"], ["ZINCRBY", "z", "1", "top"], ["ZINCRBY", "nokey3", "5", "m"],
        ["ZSCORE", "z", "a"], ["ZSCORE", "z", "nope"], ["ZSCORE", "nokey", "a"], ["ZSCORE", "z", "top"], ["ZSCORE", "z", "bottom"],
        ["ZMSCORE", "z", "a", "nope", "b"], ["ZMSCORE", "nokey", "a", "b"], ["ZSCORE", "z", "w"], ["ZSCORE", "z", "tiny"],
        ["ZREM", "z", "a", "nope"], ["ZREM", "nokey", "a"], ["ZREM", "nokey3", "m"], ["ZCARD", "nokey3"],
        ["ZRANK", "z", "b"], ["ZRANK", "z", "nope"], ["ZREVRANK", "z", "b"], ["ZRANK", "nokey", "a"], ["ZREVRANK", "z", "top"],
        ["ZRANK", "z", "bottom"],
    ]

    static let ranges: [[String]] = [
        ["ZADD", "r", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e", "5", "f", "6", "g"],
        ["ZRANGE", "r", "0", "-1"], ["ZRANGE", "r", "0", "-1", "WITHSCORES"], ["ZRANGE", "r", "2", "4"], ["ZRANGE", "r", "-3", "-1"],
        ["ZRANGE", "r", "5", "1"], ["ZRANGE", "r", "10", "20"], ["ZRANGE", "r", "-100", "100"], ["ZRANGE", "r", "0", "-100"],
        ["ZRANGE", "r", "0", "-1", "REV"], ["ZRANGE", "r", "1", "2", "REV", "WITHSCORES"], ["ZREVRANGE", "r", "0", "2"],
        ["ZREVRANGE", "r", "0", "-1", "WITHSCORES"], ["ZREVRANGE", "r", "-2", "-1"], ["ZRANGE", "r", "x", "1"],
        ["ZRANGE", "r", "0", "1", "LIMIT", "0", "1"], ["ZRANGE", "r", "0", "1", "BYLEX", "WITHSCORES"],
        ["ZRANGE", "r", "0", "1", "FOO"], ["ZRANGE", "r", "0", "1", "LIMIT", "0"], ["ZRANGE", "nokey", "0", "-1"],
        ["ZRANGE", "r", "2", "5", "BYSCORE"], ["ZRANGE", "r", "(2", "(5", "BYSCORE"], ["ZRANGE", "r", "-inf", "+inf", "BYSCORE"],
        ["ZRANGE", "r", "5", "2", "BYSCORE", "REV", "WITHSCORES"], ["ZRANGE", "r", "(5", "-inf", "BYSCORE", "REV"],
        ["ZRANGE", "r", "-inf", "inf", "BYSCORE", "LIMIT", "1", "3"], ["ZRANGE", "r", "-inf", "inf", "BYSCORE", "LIMIT", "1", "-1"],
        ["ZRANGE", "r", "-inf", "inf", "BYSCORE", "LIMIT", "-1", "3"], ["ZRANGE", "r", "-inf", "inf", "BYSCORE", "LIMIT", "7", "3"],
        ["ZRANGE", "r", "-inf", "inf", "BYSCORE", "LIMIT", "6", "3"], ["ZRANGE", "r", "-inf", "inf", "BYSCORE", "LIMIT", "2", "0"],
        ["ZRANGE", "r", "inf", "-inf", "BYSCORE", "REV", "LIMIT", "2", "2", "WITHSCORES"], ["ZRANGE", "r", "x", "1", "BYSCORE"],
        ["ZRANGE", "r", "1", "(", "BYSCORE"], ["ZRANGE", "r", "(", "(", "BYSCORE"], ["ZRANGE", "r", "", "", "BYSCORE"],
        ["ZRANGE", "r", "0x1", "3", "BYSCORE"], ["ZRANGE", "r", " 1", "3", "BYSCORE"], ["ZRANGE", "r", "1 ", "3", "BYSCORE"],
        ["ZRANGE", "r", "nan", "3", "BYSCORE"], ["ZRANGE", "r", "(nan", "3", "BYSCORE"], ["ZRANGE", "r", "3", "1", "BYSCORE"],
        ["ZRANGE", "r", "(3", "3", "BYSCORE"], ["ZRANGE", "r", "3", "3", "BYSCORE"], ["ZRANGE", "r", "+5", "(6", "BYSCORE"],
        ["ZRANGE", "r", "1", "2", "BYSCORE", "BYLEX"], ["ZRANGE", "r", "1", "2", "REV", "REV"], ["ZRANGE", "r", "0", "1", "LIMIT", "x", "1", "BYSCORE"],
        ["ZRANGEBYSCORE", "r", "2", "4"], ["ZRANGEBYSCORE", "r", "(2", "4", "WITHSCORES"], ["ZRANGEBYSCORE", "r", "-inf", "+inf", "LIMIT", "2", "2"],
        ["ZRANGEBYSCORE", "r", "2", "4", "BYSCORE"], ["ZRANGEBYSCORE", "r", "2", "4", "REV"], ["ZRANGEBYSCORE", "r", "a", "4"],
        ["ZREVRANGEBYSCORE", "r", "4", "2"], ["ZREVRANGEBYSCORE", "r", "+inf", "(4", "WITHSCORES"], ["ZREVRANGEBYSCORE", "r", "2", "4"],
        ["ZREVRANGEBYSCORE", "r", "+inf", "-inf", "LIMIT", "1", "2", "WITHSCORES"], ["ZRANGEBYSCORE", "nokey", "0", "1"],
        ["ZCOUNT", "r", "2", "5"], ["ZCOUNT", "r", "(2", "(5"], ["ZCOUNT", "r", "-inf", "+inf"], ["ZCOUNT", "r", "5", "2"],
        ["ZCOUNT", "r", "x", "2"], ["ZCOUNT", "nokey", "0", "1"], ["ZCOUNT", "r", "(5", "5"],
        ["ZADD", "l", "0", "a", "0", "b", "0", "c", "0", "d", "0", "e", "0", "ab", "0", "", "0", "B"],
        ["ZRANGEBYLEX", "l", "-", "+"], ["ZRANGEBYLEX", "l", "[a", "[c"], ["ZRANGEBYLEX", "l", "(a", "(c"], ["ZRANGEBYLEX", "l", "[b", "+"],
        ["ZRANGEBYLEX", "l", "-", "(b"], ["ZRANGEBYLEX", "l", "+", "-"], ["ZRANGEBYLEX", "l", "-", "-"], ["ZRANGEBYLEX", "l", "+", "+"],
        ["ZRANGEBYLEX", "l", "[", "[a"], ["ZRANGEBYLEX", "l", "(", "[a"], ["ZRANGEBYLEX", "l", "a", "c"], ["ZRANGEBYLEX", "l", "", "+"],
        ["ZRANGEBYLEX", "l", "-", "+x"], ["ZRANGEBYLEX", "l", "+x", "+"], ["ZRANGEBYLEX", "l", "-", "+", "LIMIT", "2", "3"],
        ["ZRANGEBYLEX", "l", "-", "+", "LIMIT", "-1", "3"], ["ZRANGEBYLEX", "l", "-", "+", "LIMIT", "1", "-1"],
        ["ZRANGEBYLEX", "l", "-", "+", "WITHSCORES"], ["ZRANGEBYLEX", "l", "[c", "[a"], ["ZRANGEBYLEX", "l", "[a", "(a"],
        ["ZREVRANGEBYLEX", "l", "+", "-"], ["ZREVRANGEBYLEX", "l", "[c", "[a"], ["ZREVRANGEBYLEX", "l", "(c", "-", "LIMIT", "1", "2"],
        ["ZREVRANGEBYLEX", "l", "[a", "[c"], ["ZRANGE", "l", "[b", "[d", "BYLEX"], ["ZRANGE", "l", "[d", "[b", "BYLEX", "REV"],
        ["ZRANGE", "l", "-", "+", "BYLEX", "LIMIT", "1", "2"], ["ZRANGE", "l", "a", "b", "BYLEX"],
        ["ZLEXCOUNT", "l", "-", "+"], ["ZLEXCOUNT", "l", "[a", "[c"], ["ZLEXCOUNT", "l", "(a", "(c"], ["ZLEXCOUNT", "l", "a", "c"],
        ["ZLEXCOUNT", "nokey", "-", "+"], ["ZLEXCOUNT", "l", "+", "-"],
        // Mixed scores on a listpack: lexicographic commands scan in order, as Redis does.
        ["ZRANGEBYLEX", "r", "[b", "[e"], ["ZRANGEBYLEX", "r", "-", "+"], ["ZREVRANGEBYLEX", "r", "[f", "[b"], ["ZLEXCOUNT", "r", "[b", "[e"],
        // Stores.
        ["ZRANGESTORE", "dst", "r", "0", "2"], ["ZRANGE", "dst", "0", "-1", "WITHSCORES"],
        ["ZRANGESTORE", "dst", "r", "2", "4", "BYSCORE", "LIMIT", "1", "1"], ["ZRANGE", "dst", "0", "-1", "WITHSCORES"],
        ["ZRANGESTORE", "dst", "r", "5", "1", "BYSCORE", "REV"], ["ZRANGE", "dst", "0", "-1", "WITHSCORES"],
        ["ZRANGESTORE", "dst", "l", "[a", "[c", "BYLEX"], ["ZRANGE", "dst", "0", "-1"], ["ZRANGESTORE", "dst", "r", "10", "20"],
        ["ZCARD", "dst"], ["ZRANGESTORE", "dst", "nokey", "0", "-1"], ["ZRANGESTORE", "dst", "r", "0", "-1", "WITHSCORES"],
        ["ZRANGESTORE", "dst", "r", "0", "-1", "LIMIT", "0", "1"], ["ZRANGESTORE", "dst", "r", "0", "-1"],
        ["ZRANGESTORE", "dst", "str", "0", "-1"],
        // Removal by range.
        ["ZREMRANGEBYRANK", "r", "0", "0"], ["ZREMRANGEBYRANK", "r", "-1", "-1"], ["ZREMRANGEBYRANK", "r", "5", "1"],
        ["ZREMRANGEBYRANK", "r", "x", "1"], ["ZREMRANGEBYRANK", "nokey", "0", "1"], ["ZRANGE", "r", "0", "-1", "WITHSCORES"],
        ["ZREMRANGEBYSCORE", "r", "(2", "4"], ["ZREMRANGEBYSCORE", "r", "x", "4"], ["ZREMRANGEBYSCORE", "r", "10", "20"],
        ["ZRANGE", "r", "0", "-1", "WITHSCORES"], ["ZREMRANGEBYLEX", "l", "[b", "(d"], ["ZREMRANGEBYLEX", "l", "b", "d"],
        ["ZRANGE", "l", "0", "-1"], ["ZREMRANGEBYLEX", "l", "-", "+"], ["ZCARD", "l"], ["ZREMRANGEBYRANK", "r", "0", "-1"],
        ["ZCARD", "r"], ["ZREMRANGEBYSCORE", "nokey", "0", "1"], ["ZREMRANGEBYLEX", "nokey", "-", "+"],
    ]

    static let popsAndAlgebra: [[String]] = [
        ["ZADD", "p", "1", "a", "2", "b", "3", "c", "4", "d"], ["ZPOPMIN", "p"], ["ZPOPMAX", "p"], ["ZPOPMIN", "p", "0"],
        ["ZPOPMIN", "p", "-1"], ["ZPOPMIN", "p", "x"], ["ZPOPMIN", "p", "1", "2"], ["ZPOPMAX", "p", "5"], ["ZCARD", "p"],
        ["ZPOPMIN", "p"], ["ZPOPMIN", "nokey"], ["ZPOPMIN", "nokey", "2"], ["ZPOPMAX", "nokey", "0"],
        ["ZADD", "p", "1", "a", "2", "b", "3", "c"], ["ZPOPMIN", "p", "2"], ["ZPOPMAX", "p", "1"],
        ["ZADD", "m1", "1", "a", "2", "b"], ["ZADD", "m2", "5", "x"], ["ZMPOP", "2", "nokey", "m1", "MIN"],
        ["ZMPOP", "2", "m1", "m2", "MAX", "COUNT", "10"], ["ZMPOP", "2", "m1", "m2", "MIN"], ["ZMPOP", "1", "m2", "MIN"],
        ["ZMPOP", "2", "m1", "m2", "MIN"], ["ZMPOP", "0", "m1", "MIN"], ["ZMPOP", "1", "m1"], ["ZMPOP", "1", "m1", "FOO"],
        ["ZMPOP", "1", "m1", "MIN", "COUNT", "0"], ["ZMPOP", "1", "m1", "MIN", "COUNT", "x"], ["ZMPOP", "1", "m1", "MIN", "COUNT"],
        ["ZMPOP", "1", "m1", "MIN", "COUNT", "1", "COUNT", "1"], ["ZMPOP", "2", "m1", "MIN"], ["ZMPOP", "x", "m1", "MIN"],
        ["ZMPOP", "-1", "m1", "MIN"], ["ZMPOP", "1", "m1", "min", "count", "2"],
        ["SET", "str", "x"], ["ZADD", "m3", "1", "a"], ["ZMPOP", "2", "str", "m3", "MIN"], ["ZMPOP", "2", "m3", "str", "MIN"],
        ["ZMPOP", "2", "nokey", "str", "MIN"],
        // Algebra.
        ["ZADD", "u1", "1", "a", "2", "b", "3", "c"], ["ZADD", "u2", "10", "b", "20", "c", "30", "d"], ["SADD", "us", "c", "d", "e"],
        ["ZADD", "u3", "inf", "a", "-inf", "b"], ["ZADD", "u4", "-inf", "a", "inf", "b"],
        ["ZUNION", "2", "u1", "u2"], ["ZUNION", "2", "u1", "u2", "WITHSCORES"], ["ZUNION", "3", "u1", "u2", "us", "WITHSCORES"],
        ["ZUNION", "2", "u1", "u2", "WEIGHTS", "2", "0.5", "WITHSCORES"], ["ZUNION", "2", "u1", "u2", "AGGREGATE", "MIN", "WITHSCORES"],
        ["ZUNION", "2", "u1", "u2", "AGGREGATE", "max", "WITHSCORES"], ["ZUNION", "2", "u3", "u4", "WITHSCORES"],
        ["ZUNION", "2", "u3", "u4", "WEIGHTS", "0", "1", "WITHSCORES"], ["ZUNION", "1", "u3", "WEIGHTS", "0", "WITHSCORES"],
        ["ZUNION", "2", "u3", "u4", "AGGREGATE", "MIN", "WITHSCORES"], ["ZUNION", "2", "u1", "nokey", "WITHSCORES"],
        ["ZUNION", "1", "nokey"], ["ZUNION", "2", "u1", "u1", "WITHSCORES"],
        ["ZINTER", "2", "u1", "u2", "WITHSCORES"], ["ZINTER", "3", "u1", "u2", "us", "WITHSCORES"], ["ZINTER", "2", "u1", "nokey"],
        ["ZINTER", "2", "u1", "u2", "WEIGHTS", "1", "-1", "AGGREGATE", "SUM", "WITHSCORES"], ["ZINTER", "2", "u3", "u4", "WITHSCORES"],
        ["ZINTER", "2", "u3", "u4", "WEIGHTS", "0", "0", "WITHSCORES"], ["ZINTER", "2", "u3", "u3", "WEIGHTS", "1", "0", "AGGREGATE", "MAX", "WITHSCORES"],
        ["ZINTER", "1", "us", "WITHSCORES"], ["ZINTER", "2", "u1", "u1", "WITHSCORES"],
        ["ZDIFF", "2", "u1", "u2"], ["ZDIFF", "2", "u1", "u2", "WITHSCORES"], ["ZDIFF", "3", "u2", "u1", "us", "WITHSCORES"],
        ["ZDIFF", "2", "u1", "u1"], ["ZDIFF", "2", "nokey", "u1"], ["ZDIFF", "2", "u1", "nokey", "WITHSCORES"], ["ZDIFF", "1", "us"],
        ["ZUNIONSTORE", "dst", "2", "u1", "u2"], ["ZRANGE", "dst", "0", "-1", "WITHSCORES"], ["ZINTERSTORE", "dst", "2", "u1", "u2", "WEIGHTS", "3", "1"],
        ["ZRANGE", "dst", "0", "-1", "WITHSCORES"], ["ZDIFFSTORE", "dst", "2", "u1", "u2"], ["ZRANGE", "dst", "0", "-1", "WITHSCORES"],
        ["ZINTERSTORE", "dst", "2", "u1", "nokey"], ["ZCARD", "dst"], ["ZUNIONSTORE", "dst", "1", "nokey"], ["ZDIFFSTORE", "dst", "1", "nokey"],
        ["ZUNIONSTORE", "str2", "1", "u1"], ["ZUNIONSTORE", "dst", "2", "u3", "u4"], ["ZRANGE", "dst", "0", "-1", "WITHSCORES"],
        ["ZUNIONSTORE", "dst", "0", "u1"], ["ZUNION", "0", "u1"], ["ZUNION", "-1", "u1"], ["ZUNION", "x", "u1"], ["ZUNION", "3", "u1"],
        ["ZUNION", "1", "u1", "WEIGHTS", "x"], ["ZUNION", "1", "u1", "WEIGHTS", "1", "2"], ["ZUNION", "1", "u1", "WEIGHTS"],
        ["ZUNION", "1", "u1", "AGGREGATE", "foo"], ["ZUNION", "1", "u1", "AGGREGATE"], ["ZUNIONSTORE", "d", "1", "u1", "WITHSCORES"],
        ["ZDIFF", "1", "u1", "WEIGHTS", "1"], ["ZDIFF", "1", "u1", "AGGREGATE", "SUM"], ["ZUNION", "1", "str", "BADOPT"],
        ["ZINTER", "2", "u1", "str"], ["ZINTER", "2", "nokey", "str"], ["ZDIFF", "2", "nokey", "str"],
        ["ZINTERSTORE", "d", "0", "u1"], ["ZUNION", "1", "u1", "WITHSCORES", "WITHSCORES"], ["ZINTER", "1", "u1", "LIMIT", "1"],
        ["ZINTERCARD", "2", "u1", "u2"], ["ZINTERCARD", "2", "u1", "u2", "LIMIT", "1"], ["ZINTERCARD", "2", "u1", "u2", "LIMIT", "0"],
        ["ZINTERCARD", "3", "u1", "u2", "us"], ["ZINTERCARD", "0", "u1"], ["ZINTERCARD", "2", "u1"], ["ZINTERCARD", "1", "u1", "LIMIT", "-1"],
        ["ZINTERCARD", "1", "u1", "LIMIT", "x"], ["ZINTERCARD", "x", "u1"], ["ZINTERCARD", "1", "u1", "WEIGHTS", "1"],
        ["ZINTERCARD", "1", "str"], ["ZINTERCARD", "2", "u1", "nokey"], ["ZINTERCARD", "1", "u1", "LIMIT"],
        // Random members: the deterministic cases.
        ["ZRANDMEMBER", "nokey"], ["ZRANDMEMBER", "nokey", "3"], ["ZRANDMEMBER", "nokey", "-3", "WITHSCORES"],
        ["ZRANDMEMBER", "u1", "0"], ["ZRANDMEMBER", "u1", "3"], ["ZRANDMEMBER", "u1", "10", "WITHSCORES"], ["ZRANDMEMBER", "u1", "x"],
        ["ZRANDMEMBER", "u1", "1", "WITHSCORE"], ["ZRANDMEMBER", "u1", "1", "WITHSCORES", "x"], ["ZRANDMEMBER", "u1", "-9223372036854775808"],
        ["ZRANDMEMBER", "u1", "9223372036854775807", "WITHSCORES"], ["ZADD", "one", "7", "m"], ["ZRANDMEMBER", "one"],
        ["ZRANDMEMBER", "one", "-3", "WITHSCORES"], ["ZRANDMEMBER", "one", "1", "WITHSCORES"],
        // ZSCAN on a listpack.
        ["ZADD", "sc", "0.1", "a", "1e100", "b", "-0", "c", "3", "d"], ["ZSCAN", "sc", "0"], ["ZSCAN", "sc", "0", "MATCH", "[ab]"],
        ["ZSCAN", "sc", "x"], ["ZSCAN", "sc", "0", "COUNT", "0"], ["ZSCAN", "nokey", "0"], ["ZSCAN", "sc", "0", "NOVALUES"],
        // Wrong types and arity.
        ["ZADD", "str", "1", "a"], ["ZINCRBY", "str", "1", "a"], ["ZREM", "str", "a"], ["ZSCORE", "str", "a"], ["ZMSCORE", "str", "a"],
        ["ZCARD", "str"], ["ZCOUNT", "str", "0", "1"], ["ZLEXCOUNT", "str", "-", "+"], ["ZRANGE", "str", "0", "1"],
        ["ZRANGEBYSCORE", "str", "0", "1"], ["ZRANGEBYLEX", "str", "-", "+"], ["ZRANK", "str", "a"], ["ZREVRANK", "str", "a"],
        ["ZPOPMIN", "str"], ["ZPOPMAX", "str", "2"], ["ZRANDMEMBER", "str"], ["ZRANDMEMBER", "str", "2"], ["ZREMRANGEBYRANK", "str", "0", "1"],
        ["ZREMRANGEBYSCORE", "str", "0", "1"], ["ZREMRANGEBYLEX", "str", "-", "+"], ["ZSCAN", "str", "0"], ["ZCOUNT", "str", "x", "1"],
        ["ZADD", "str", "x", "a"], ["ZRANGE", "str", "x", "1"], ["ZADD"], ["ZRANGE", "z", "0"], ["ZPOPMIN"], ["ZMPOP", "1"],
        ["zadd", "lower", "1", "m"], ["ZrAnGe", "lower", "0", "-1", "withscores"],
    ]

    @Test("Sorted set commands and their errors: same replies as redis-server", arguments: [false, true])
    func commands(resp3: Bool) async throws {
        let diff = try await Differential.start(resp3: resp3)
        try await diff.run(Self.add)
        try await diff.run(Self.ranges)
        try await diff.run(Self.popsAndAlgebra)
        await diff.stop()
    }

    @Test("Large sorted sets (skip list encoding): ranks, ranges, stores and ZSCAN", arguments: [false, true])
    func large(resp3: Bool) async throws {
        let diff = try await Differential.start(resp3: resp3)
        let checker = CollectionChecker(diff: diff)
        var random = CollectionTestRandom(seed: 77)
        var add = ["ZADD", "big"]
        for i in 0..<1000 {
            add += [String(Int.random(in: -200...200, using: &random)) + (i % 3 == 0 ? ".5" : ""), "m\(i)"]
        }
        var lex = ["ZADD", "lexbig"]
        for i in 0..<300 { lex += ["0", "k\(i * 7919 % 1000)"] }
        try await diff.run([
            add, lex, ["ZCARD", "big"], ["ZRANGE", "big", "0", "-1", "WITHSCORES"], ["ZRANGE", "big", "100", "120", "REV"],
            ["ZRANGE", "big", "-50", "-40", "WITHSCORES"], ["ZRANGEBYSCORE", "big", "(-10", "10.5", "WITHSCORES"],
            ["ZREVRANGEBYSCORE", "big", "50", "-50", "LIMIT", "10", "20"], ["ZCOUNT", "big", "-100", "(100"],
            ["ZRANK", "big", "m500"], ["ZREVRANK", "big", "m500"], ["ZRANK", "big", "m999"], ["ZSCORE", "big", "m3"],
            ["ZRANGEBYLEX", "lexbig", "[k1", "(k2"], ["ZREVRANGEBYLEX", "lexbig", "(k5", "[k3", "LIMIT", "3", "5"],
            ["ZLEXCOUNT", "lexbig", "[k1", "(k2"], ["ZLEXCOUNT", "lexbig", "-", "+"], ["ZREMRANGEBYLEX", "lexbig", "[k10", "[k19"],
            ["ZRANGEBYLEX", "lexbig", "-", "+", "LIMIT", "0", "30"],
            ["ZADD", "big", "XX", "INCR", "1000", "m1"], ["ZRANK", "big", "m1"], ["ZINCRBY", "big", "-2000", "m1"], ["ZRANK", "big", "m1"],
            ["ZREM", "big", "m2", "m4", "m6"], ["ZREMRANGEBYRANK", "big", "10", "19"], ["ZREMRANGEBYSCORE", "big", "(0", "5"],
            ["ZRANGE", "big", "0", "30", "WITHSCORES"], ["ZPOPMIN", "big", "3"], ["ZPOPMAX", "big", "3"],
            ["ZRANGESTORE", "small", "big", "0", "9"], ["ZRANGE", "small", "0", "-1", "WITHSCORES"], ["ZSCAN", "small", "0"],
            ["ZUNIONSTORE", "u", "2", "big", "small", "WEIGHTS", "1", "2"], ["ZRANGE", "u", "0", "-1", "WITHSCORES"],
            ["ZINTERSTORE", "i", "2", "big", "small", "AGGREGATE", "MAX"], ["ZRANGE", "i", "0", "-1", "WITHSCORES"], ["ZSCAN", "i", "0"],
            ["ZDIFF", "2", "big", "small", "WITHSCORES"], ["ZINTERCARD", "2", "big", "small"],
            ["ZRANDMEMBER", "big", "5000", "WITHSCORES"], ["ZCARD", "big"],
        ])
        try await checker.compareFullScan(["ZSCAN", "big"], pairs: true)
        try await checker.compareFullScan(["ZSCAN", "big"], options: ["MATCH", "m1*", "COUNT", "5"], pairs: true)
        // -0 survives in a skip list but not in a listpack (Redis stores listpack scores as text).
        let long = String(repeating: "x", count: 65)
        try await diff.run([
            ["ZADD", "neg", "-0", long], ["ZSCORE", "neg", long], ["ZADD", "neg", "-0", "m"], ["ZSCORE", "neg", "m"],
            ["ZRANGE", "neg", "0", "-1", "WITHSCORES"], ["ZADD", "negsmall", "-0", "m"], ["ZSCORE", "negsmall", "m"],
            ["ZUNION", "1", "neg", "WITHSCORES"], ["ZUNIONSTORE", "d", "1", "neg"], ["ZRANGE", "d", "0", "-1", "WITHSCORES"],
            ["ZREM", "neg", long], ["ZUNIONSTORE", "d", "1", "neg"], ["ZSCORE", "d", "m"], ["ZADD", "z129", "INCR", "-0", "k"],
        ])
        await diff.stop()
    }

    @Test("ZRANDMEMBER satisfies Redis's invariants", arguments: [false, true])
    func randomMembers(resp3: Bool) async throws {
        let node = try await NodeHarness.start()
        let client = try await node.client()
        if resp3 { _ = try await client.command(["HELLO", "3"]) }
        let members = (0..<200).map { "m\($0)" }
        _ = try await client.command(["ZADD", "z"] + members.enumerated().flatMap { [String($0.offset), $0.element] })
        for count in [1, 5, 50, 150, 199, 200, 300] {
            let reply = try await client.command(["ZRANDMEMBER", "z", String(count), "WITHSCORES"])
            let pairs = CollectionReplies.pairs(reply) ?? []
            #expect(pairs.count == min(count, 200))
            #expect(Set(pairs.map { $0[0] }).count == pairs.count)
            for pair in pairs {
                let member = CollectionReplies.text(pair[0]) ?? ""
                let expected = Double(member.dropFirst()) ?? -1
                switch pair[1] {
                case .double(let score): #expect(score == expected)
                default: #expect(CollectionReplies.text(pair[1]).flatMap(Double.init) == expected)
                }
            }
        }
        let repeated = CollectionReplies.elements(try await client.command(["ZRANDMEMBER", "z", "-500"])) ?? []
        #expect(repeated.count == 500)
        #expect(Set(repeated).count < 500)
        #expect(Set(repeated.compactMap(CollectionReplies.text)).isSubset(of: Set(members)))
        client.close()
        await node.stop()
    }

    @Test("Randomized sorted set workload: every reply matches redis-server", arguments: [false, true])
    func randomized(resp3: Bool) async throws {
        let diff = try await Differential.start(resp3: resp3)
        let checker = CollectionChecker(diff: diff)
        var random = CollectionTestRandom(seed: resp3 ? 0x25E3 : 0x25E2)
        let keys = ["z0", "z1", "z2", "z3"]
        let scores = ["0", "1", "2", "2.5", "-1", "-0", "10", "1e3", "-inf", "+inf", "0.1", "3", "(2", "(-1"]
        func member(_ random: inout CollectionTestRandom) -> String {
            Int.random(in: 0..<20, using: &random) == 0
                ? "w\(Int.random(in: 0..<200, using: &random))" : "m\(Int.random(in: 0..<15, using: &random))"
        }
        func score(_ random: inout CollectionTestRandom) -> String {
            String(scores.randomElement(using: &random)?.filter { $0 != "(" } ?? "1")
        }
        func bound(_ random: inout CollectionTestRandom) -> String { scores.randomElement(using: &random) ?? "0" }
        func lexBound(_ random: inout CollectionTestRandom) -> String {
            switch Int.random(in: 0..<6, using: &random) {
            case 0: return "-"
            case 1: return "+"
            default: return (Bool.random(using: &random) ? "[" : "(") + member(&random)
            }
        }
        func someKeys(_ random: inout CollectionTestRandom) -> [String] {
            (0..<Int.random(in: 1...3, using: &random)).map { _ in
                switch Int.random(in: 0..<14, using: &random) {
                case 0: return "str"
                case 1: return "aset"
                default: return keys.randomElement(using: &random) ?? "z0"
                }
            }
        }
        _ = try await diff.run([["SET", "str", "x"], ["SADD", "aset", "m1", "m2", "m3", "w5"]])
        var batch: [[String]] = []
        for _ in 0..<3000 {
            let key = Int.random(in: 0..<50, using: &random) == 0 ? "str" : keys.randomElement(using: &random) ?? "z0"
            var command: [String]
            switch Int.random(in: 0..<26, using: &random) {
            case 0, 1, 2:
                var flags: [String] = []
                for flag in ["NX", "XX", "GT", "LT", "CH", "INCR"] where Int.random(in: 0..<6, using: &random) == 0 {
                    flags.append(flag)
                }
                let pairs = flags.contains("INCR") ? 1 : Int.random(in: 1...3, using: &random)
                command = ["ZADD", key] + flags + (0..<pairs).flatMap { _ in [score(&random), member(&random)] }
            case 3: command = ["ZINCRBY", key, score(&random), member(&random)]
            case 4: command = ["ZREM", key, member(&random), member(&random)]
            case 5: command = ["ZSCORE", key, member(&random)]
            case 6: command = ["ZMSCORE", key, member(&random), member(&random)]
            case 7: command = [Bool.random(using: &random) ? "ZCARD" : "ZCOUNT", key]
                if command[0] == "ZCOUNT" { command += [bound(&random), bound(&random)] }
            case 8:
                command = ["ZRANGE", key, String(Int.random(in: -6...6, using: &random)), String(Int.random(in: -6...6, using: &random))]
                if Bool.random(using: &random) { command.append("REV") }
                if Bool.random(using: &random) { command.append("WITHSCORES") }
            case 9:
                command = ["ZRANGE", key, bound(&random), bound(&random), "BYSCORE"]
                if Bool.random(using: &random) { command.append("REV") }
                if Bool.random(using: &random) { command += ["LIMIT", String(Int.random(in: -1...3, using: &random)), String(Int.random(in: -1...3, using: &random))] }
                if Bool.random(using: &random) { command.append("WITHSCORES") }
            case 10:
                let name = ["ZRANGEBYSCORE", "ZREVRANGEBYSCORE"].randomElement(using: &random) ?? "ZRANGEBYSCORE"
                command = [name, key, bound(&random), bound(&random)] + (Bool.random(using: &random) ? ["WITHSCORES"] : [])
            case 11:
                // Lexicographic queries only where Redis's result is specified: a listpack (linear scan).
                try await checker.checkBatch(batch)
                batch.removeAll(keepingCapacity: true)
                guard try await checker.isOrdered(key) else { continue }
                let name = ["ZRANGEBYLEX", "ZREVRANGEBYLEX", "ZLEXCOUNT", "ZREMRANGEBYLEX"].randomElement(using: &random) ?? "ZLEXCOUNT"
                command = [name, key, lexBound(&random), lexBound(&random)]
            case 12: command = [Bool.random(using: &random) ? "ZRANK" : "ZREVRANK", key, member(&random)]
            case 13: command = [Bool.random(using: &random) ? "ZPOPMIN" : "ZPOPMAX", key] + (Bool.random(using: &random) ? [String(Int.random(in: 0...3, using: &random))] : [])
            case 14:
                let chosen = someKeys(&random)
                command = ["ZMPOP", String(chosen.count)] + chosen + [Bool.random(using: &random) ? "MIN" : "MAX"]
                    + (Bool.random(using: &random) ? ["COUNT", String(Int.random(in: 1...3, using: &random))] : [])
            case 15:
                command = ["ZRANDMEMBER", key] + (Bool.random(using: &random) ? [String(Int.random(in: -8...8, using: &random))] : [])
                if command.count == 3 && Bool.random(using: &random) { command.append("WITHSCORES") }
            case 16:
                command = ["ZRANGESTORE", keys.randomElement(using: &random) ?? "z0", key, String(Int.random(in: -4...4, using: &random)), String(Int.random(in: -4...4, using: &random))]
            case 17, 18:
                let chosen = someKeys(&random)
                let name = ["ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE", "ZUNION", "ZINTER", "ZDIFF"].randomElement(using: &random) ?? "ZUNION"
                command = [name] + (name.hasSuffix("STORE") ? [keys.randomElement(using: &random) ?? "z0"] : []) + [String(chosen.count)] + chosen
                if !name.hasPrefix("ZDIFF") {
                    if Bool.random(using: &random) { command += ["WEIGHTS"] + chosen.map { _ in ["1", "2", "-1", "0", "0.5", "inf"].randomElement(using: &random) ?? "1" } }
                    if Bool.random(using: &random) { command += ["AGGREGATE", ["SUM", "MIN", "MAX"].randomElement(using: &random) ?? "SUM"] }
                }
                if !name.hasSuffix("STORE") && Bool.random(using: &random) { command.append("WITHSCORES") }
            case 19:
                let chosen = someKeys(&random)
                command = ["ZINTERCARD", String(chosen.count)] + chosen + (Bool.random(using: &random) ? ["LIMIT", String(Int.random(in: 0...2, using: &random))] : [])
            case 20: command = ["ZREMRANGEBYRANK", key, String(Int.random(in: -5...5, using: &random)), String(Int.random(in: -5...5, using: &random))]
            case 21: command = ["ZREMRANGEBYSCORE", key, bound(&random), bound(&random)]
            case 22: command = ["ZSCAN", key, "0"] + (Bool.random(using: &random) ? ["MATCH", "m1*"] : [])
            case 23: command = ["ZADD", key] + (0..<40).flatMap { _ in [score(&random), "w\(Int.random(in: 0..<200, using: &random))"] }
            default: command = ["ZADD", key, score(&random), member(&random)]
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
