import Foundation
import NIOCore
import RESP
import TestSupport
import Testing

@testable import KeywayNode

/// Multi-client scenarios for the blocking commands, each run against redis-server and a keyway node; both must
/// give the same replies.
@Suite("Node: blocking commands", .enabled(if: RedisServerProcess.isAvailable))
struct BlockingTests {
    /// Runs `scenario` (given a port) against redis-server and keyway and expects the same replies.
    private func compare(
        threads: Int = 2, sourceLocation: SourceLocation = #_sourceLocation,
        _ scenario: @escaping @Sendable (Int) async throws -> [RESPValue]
    ) async throws {
        let redis = try await RedisServerProcess.start()
        let node = try await NodeHarness.start { $0.threads = threads }
        do {
            let expected = try await scenario(redis.port)
            let actual = try await scenario(node.port)
            #expect(actual == expected, sourceLocation: sourceLocation)
            #expect(node.server.state.lock.withLock { node.server.state.blocking.count } == 0,
                    "no client left blocked", sourceLocation: sourceLocation)
        } catch {
            redis.stop()
            await node.stop()
            throw error
        }
        redis.stop()
        await node.stop()
    }

    /// Waits until the server reports `count` blocked clients (INFO clients), so that a push cannot overtake the
    /// command it should wake.
    private static func blocked(_ observer: RESPTestClient, _ count: Int) async throws {
        for _ in 0..<1000 {
            if let info = try await observer.command(["INFO", "clients"]).string,
                info.contains("blocked_clients:\(count)\r")
            {
                return
            }
            try await Task.sleep(for: .milliseconds(5))
        }
        Issue.record("the server never reported \(count) blocked clients")
    }

    /// Sends a command that may block; closes the connection (failing the test) if no reply came in 20 seconds.
    private static func guarded(_ client: RESPTestClient, _ command: [String]) async throws -> RESPValue {
        let watchdog = Task {
            try await Task.sleep(for: .seconds(20))
            client.close()
        }
        defer { watchdog.cancel() }
        return try await client.command(command)
    }

    /// Lets a command sent by another task reach the server (when there is nothing to observe).
    private static func settle() async throws { try await Task.sleep(for: .milliseconds(150)) }

    @Test("BLPOP on several keys is woken by RPUSH from another connection, from the pushed key")
    func wokenByPush() async throws {
        try await compare { port in
            let waiter = try await RESPTestClient.connect(port: port)
            let pusher = try await RESPTestClient.connect(port: port)
            defer { waiter.close(); pusher.close() }
            let blocked = Task { try await Self.guarded(waiter, ["BLPOP", "k1", "k2", "0"]) }
            try await Self.blocked(pusher, 1)
            let pushed = try await pusher.command(["RPUSH", "k2", "a", "b"])
            let served = try await blocked.value
            return [pushed, served, try await pusher.command(["LRANGE", "k2", "0", "-1"])]
        }
    }

    @Test("Several blocked clients are served first-blocked first, each its own command's way")
    func fifoOrder() async throws {
        try await compare { port in
            var clients: [RESPTestClient] = []
            for _ in 0..<4 { clients.append(try await RESPTestClient.connect(port: port)) }
            defer { for client in clients { client.close() } }
            let first = clients[0], second = clients[1], third = clients[2]
            let a = Task { try await Self.guarded(first, ["BLPOP", "k", "0"]) }
            try await Self.blocked(clients[3], 1)
            let b = Task { try await Self.guarded(second, ["BRPOP", "k", "0"]) }
            try await Self.blocked(clients[3], 2)
            let c = Task { try await Self.guarded(third, ["BLMPOP", "0", "2", "other", "k", "LEFT", "COUNT", "2"]) }
            try await Self.blocked(clients[3], 3)
            let pushed = try await clients[3].command(["RPUSH", "k", "1", "2", "3", "4", "5"])
            return [pushed, try await a.value, try await b.value, try await c.value,
                    try await clients[3].command(["LRANGE", "k", "0", "-1"])]
        }
    }

    @Test("With fewer elements than waiters, the later waiters keep waiting and then time out")
    func partialServing() async throws {
        try await compare { port in
            let first = try await RESPTestClient.connect(port: port)
            let second = try await RESPTestClient.connect(port: port)
            let pusher = try await RESPTestClient.connect(port: port)
            defer { first.close(); second.close(); pusher.close() }
            let a = Task { try await Self.guarded(first, ["BLPOP", "k", "0"]) }
            try await Self.blocked(pusher, 1)
            let b = Task { try await Self.guarded(second, ["BLPOP", "k", "1"]) }
            try await Self.blocked(pusher, 2)
            let pushed = try await pusher.command(["LPUSH", "k", "only"])
            return [pushed, try await a.value, try await b.value, try await pusher.command(["EXISTS", "k"])]
        }
    }

    @Test("Timeouts answer with a null array (RESP2), BLMOVE and BZPOPMIN included")
    func timeoutsRESP2() async throws {
        try await compare { port in
            let client = try await RESPTestClient.connect(port: port)
            defer { client.close() }
            let started = Date()
            let replies = [
                try await client.command(["BLPOP", "k", "0.1"]),
                try await client.command(["BRPOP", "k", "k2", "0.05"]),
                try await client.command(["BLMOVE", "k", "d", "LEFT", "LEFT", "0.05"]),
                try await client.command(["BRPOPLPUSH", "k", "d", "0.05"]),
                try await client.command(["BLMPOP", "0.05", "1", "k", "LEFT"]),
                try await client.command(["BZPOPMIN", "z", "0.05"]),
                try await client.command(["BZMPOP", "0.05", "1", "z", "MAX"]),
                try await client.command(["BLPOP", "k", "0.0001"]),
            ]
            #expect(Date().timeIntervalSince(started) >= 0.35)
            return replies
        }
    }

    @Test("Timeouts answer with RESP3 null")
    func timeoutsRESP3() async throws {
        try await compare { port in
            let client = try await RESPTestClient.connect(port: port)
            defer { client.close() }
            _ = try await client.command(["HELLO", "3"])
            return [
                try await client.command(["BLPOP", "k", "0.05"]),
                try await client.command(["BLMOVE", "k", "d", "LEFT", "LEFT", "0.05"]),
                try await client.command(["BZPOPMAX", "z", "0.05"]),
            ]
        }
    }

    @Test("Commands pipelined after a blocked one wait for it, then run in order")
    func pipelineBehindBlocked() async throws {
        try await compare { port in
            let waiter = try await RESPTestClient.connect(port: port)
            let pusher = try await RESPTestClient.connect(port: port)
            defer { waiter.close(); pusher.close() }
            let done = BlockingTestFlag()
            let pipeline = Task {
                let watchdog = Task {
                    try await Task.sleep(for: .seconds(20))
                    waiter.close()
                }
                defer { watchdog.cancel() }
                let replies = try await waiter.pipeline([
                    ["BLPOP", "k", "0"], ["PING"], ["RPUSH", "other", "x"], ["LLEN", "k"], ["BLPOP", "k", "0.05"],
                    ["ECHO", "last"],
                ])
                done.set()
                return replies
            }
            try await Self.blocked(pusher, 1)
            try await Self.settle()
            #expect(!done.isSet, "the pipeline must wait behind BLPOP")
            // The pipelined RPUSH has not run yet.
            let before = try await pusher.command(["LLEN", "other"])
            let pushed = try await pusher.command(["RPUSH", "k", "v"])
            return [before, pushed] + (try await pipeline.value)
        }
    }

    @Test("A blocked client does not stall other clients on the same event loop")
    func othersKeepRunning() async throws {
        try await compare(threads: 1) { port in
            let waiter = try await RESPTestClient.connect(port: port)
            let other = try await RESPTestClient.connect(port: port)
            defer { waiter.close(); other.close() }
            let blocked = Task { try await Self.guarded(waiter, ["BRPOP", "k", "0"]) }
            try await Self.blocked(other, 1)
            var replies: [RESPValue] = []
            for i in 0..<20 { replies.append(try await other.command(["SET", "key\(i)", "v"])) }
            replies.append(try await other.command(["DBSIZE"]))
            replies.append(try await other.command(["RPUSH", "k", "x"]))
            replies.append(try await blocked.value)
            return replies
        }
    }

    @Test("BLMOVE and BRPOPLPUSH are served on a push, and a move wakes a client blocked on the destination")
    func moveChain() async throws {
        try await compare { port in
            var clients: [RESPTestClient] = []
            for _ in 0..<4 { clients.append(try await RESPTestClient.connect(port: port)) }
            defer { for client in clients { client.close() } }
            let mover = clients[0], popper = clients[1], legacy = clients[2]
            let move = Task { try await Self.guarded(mover, ["BLMOVE", "src", "dst", "RIGHT", "LEFT", "0"]) }
            try await Self.blocked(clients[3], 1)
            let pop = Task { try await Self.guarded(popper, ["BLPOP", "dst", "0"]) }
            try await Self.blocked(clients[3], 2)
            let pushed = try await clients[3].command(["RPUSH", "src", "a", "b"])
            let moved = try await move.value
            let popped = try await pop.value
            let old = Task { try await Self.guarded(legacy, ["BRPOPLPUSH", "empty", "dst2", "0"]) }
            try await Self.blocked(clients[3], 1)
            let pushed2 = try await clients[3].command(["LPUSH", "empty", "z"])
            return [pushed, moved, popped, try await clients[3].command(["LRANGE", "src", "0", "-1"]),
                    try await clients[3].command(["EXISTS", "dst"]), pushed2, try await old.value,
                    try await clients[3].command(["LRANGE", "dst2", "0", "-1"])]
        }
    }

    @Test("BLMOVE onto a key of another type is answered WRONGTYPE once served")
    func moveToWrongType() async throws {
        try await compare { port in
            let mover = try await RESPTestClient.connect(port: port)
            let other = try await RESPTestClient.connect(port: port)
            defer { mover.close(); other.close() }
            let move = Task { try await Self.guarded(mover, ["BLMOVE", "src", "dst", "LEFT", "LEFT", "0"]) }
            try await Self.blocked(other, 1)
            let set = try await other.command(["SET", "dst", "string"])
            let pushed = try await other.command(["RPUSH", "src", "a"])
            return [set, pushed, try await move.value, try await other.command(["LLEN", "src"])]
        }
    }

    @Test("A transaction's pushes serve blocked clients after EXEC, with its final contents")
    func servedAfterExec() async throws {
        try await compare { port in
            let waiter = try await RESPTestClient.connect(port: port)
            let writer = try await RESPTestClient.connect(port: port)
            defer { waiter.close(); writer.close() }
            let blocked = Task { try await Self.guarded(waiter, ["BLPOP", "k", "0"]) }
            try await Self.blocked(writer, 1)
            let replies = try await writer.pipeline([
                ["MULTI"], ["RPUSH", "k", "a"], ["RPUSH", "k", "b"], ["LPOP", "k"], ["EXEC"],
            ])
            return replies + [try await blocked.value, try await writer.command(["EXISTS", "k"])]
        }
    }

    @Test("A key that becomes another type keeps its waiters blocked; a later list serves them")
    func wrongTypeKeepsWaiting() async throws {
        try await compare { port in
            let waiter = try await RESPTestClient.connect(port: port)
            let writer = try await RESPTestClient.connect(port: port)
            defer { waiter.close(); writer.close() }
            let blocked = Task { try await Self.guarded(waiter, ["BLPOP", "k", "0"]) }
            try await Self.blocked(writer, 1)
            var replies = [
                try await writer.command(["SET", "k", "v"]), try await writer.command(["SADD", "k2", "m"]),
            ]
            try await Self.blocked(writer, 1)
            replies.append(try await writer.command(["DEL", "k"]))
            replies.append(try await writer.command(["RPUSH", "k", "x"]))
            replies.append(try await blocked.value)
            return replies
        }
    }

    @Test("Blocking is per database")
    func perDatabase() async throws {
        try await compare { port in
            let waiter = try await RESPTestClient.connect(port: port)
            let writer = try await RESPTestClient.connect(port: port)
            defer { waiter.close(); writer.close() }
            let selected = try await waiter.command(["SELECT", "1"])
            let blocked = Task { try await Self.guarded(waiter, ["BLPOP", "k", "0"]) }
            try await Self.blocked(writer, 1)
            let pushed = try await writer.command(["RPUSH", "k", "v"])
            // Still blocked: the push went to db 0.
            try await Self.blocked(writer, 1)
            let other = try await writer.pipeline([["SELECT", "1"], ["RPUSH", "k", "w"]])
            return [selected, pushed] + other + [try await blocked.value, try await writer.command(["LLEN", "k"]),
                    try await writer.command(["SELECT", "0"]), try await writer.command(["LLEN", "k"])]
        }
    }

    @Test("BZPOPMIN, BZPOPMAX and BZMPOP are woken by ZADD")
    func sortedSets() async throws {
        try await compare { port in
            var clients: [RESPTestClient] = []
            for _ in 0..<4 { clients.append(try await RESPTestClient.connect(port: port)) }
            defer { for client in clients { client.close() } }
            let a = clients[0], b = clients[1], c = clients[2]
            let min = Task { try await Self.guarded(a, ["BZPOPMIN", "z", "0"]) }
            try await Self.blocked(clients[3], 1)
            let max = Task { try await Self.guarded(b, ["BZPOPMAX", "z", "other", "0"]) }
            try await Self.blocked(clients[3], 2)
            let multi = Task { try await Self.guarded(c, ["BZMPOP", "0", "1", "z", "MIN", "COUNT", "5"]) }
            try await Self.blocked(clients[3], 3)
            let added = try await clients[3].command(["ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d"])
            return [added, try await min.value, try await max.value, try await multi.value,
                    try await clients[3].command(["EXISTS", "z"])]
        }
    }

    @Test("A served RESP3 client gets RESP3 replies")
    func servedRESP3() async throws {
        try await compare { port in
            let waiter = try await RESPTestClient.connect(port: port)
            let writer = try await RESPTestClient.connect(port: port)
            defer { waiter.close(); writer.close() }
            _ = try await waiter.command(["HELLO", "3"])
            let pop = Task { try await Self.guarded(waiter, ["BZPOPMIN", "z", "0"]) }
            try await Self.blocked(writer, 1)
            let added = try await writer.command(["ZADD", "z", "1.5", "m"])
            let popped = try await pop.value
            let list = Task { try await Self.guarded(waiter, ["BLMPOP", "0", "1", "l", "RIGHT", "COUNT", "3"]) }
            try await Self.blocked(writer, 1)
            let pushed = try await writer.command(["RPUSH", "l", "1", "2"])
            return [added, popped, pushed, try await list.value]
        }
    }

    @Test("A blocked client that disconnects leaves nothing behind")
    func disconnectWhileBlocked() async throws {
        try await compare { port in
            let waiter = try await RESPTestClient.connect(port: port)
            let writer = try await RESPTestClient.connect(port: port)
            defer { writer.close() }
            let blocked = Task { try? await Self.guarded(waiter, ["BLPOP", "k", "0"]) }
            try await Self.blocked(writer, 1)
            waiter.close()
            _ = await blocked.value
            try await Self.blocked(writer, 0)
            return [try await writer.command(["RPUSH", "k", "v"]), try await writer.command(["LLEN", "k"])]
        }
    }
}

/// A flag set by one task and read by another.
final class BlockingTestFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false

    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}
