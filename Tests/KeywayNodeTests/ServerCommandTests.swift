import Foundation
import NIOCore
import RESP
import TestSupport
import Testing

@testable import KeywayNode

/// Runs `body` against a fresh redis-server / keyway node pair and stops both even when `body` throws (a leaked
/// redis-server outlives the test process).
func withDifferential(
    clusterEnabled: Bool = false, resp3: Bool = false, _ body: (Differential) async throws -> Void
) async throws {
    let diff = try await Differential.start(clusterEnabled: clusterEnabled, resp3: resp3)
    do {
        try await body(diff)
    } catch {
        await diff.stop()
        throw error
    }
    await diff.stop()
}

/// COMMAND's full replies list commands (and subcommands) in hash order in Redis, sorted by name in Keyway:
/// this puts both in name order, recursively, so the rest can be compared byte for byte.
func canonicalCommandReply(_ value: RESPValue) -> RESPValue {
    func name(_ entry: RESPValue) -> String {
        if case .array(let fields) = entry, case .bulkString(let name)? = fields.first { return String(buffer: name) }
        return ""
    }
    func entry(_ value: RESPValue) -> RESPValue {
        guard case .array(var fields) = value, fields.count == 10 else { return value }
        switch fields[9] {
        case .array(let subcommands): fields[9] = .array(subcommands.map(entry).sorted { name($0) < name($1) })
        case .set(let subcommands): fields[9] = .set(subcommands.map(entry).sorted { name($0) < name($1) })
        default: break
        }
        return .array(fields)
    }
    guard case .array(let entries) = value else { return value }
    return .array(entries.map(entry).sorted { name($0) < name($1) })
}

/// COMMAND DOCS replies map names to docs in hash order (both the top level and `subcommands`): sorts the pairs.
func canonicalDocsReply(_ value: RESPValue) -> RESPValue {
    func sortedPairs(_ pairs: [(key: RESPValue, value: RESPValue)]) -> [(key: RESPValue, value: RESPValue)] {
        pairs.map { ($0.key, docs($0.value)) }.sorted { $0.key.description < $1.key.description }
    }
    func pairs(of elements: [RESPValue]) -> [(key: RESPValue, value: RESPValue)] {
        stride(from: 0, to: elements.count - 1, by: 2).map { (elements[$0], elements[$0 + 1]) }
    }
    func docs(_ value: RESPValue) -> RESPValue {
        switch value {
        case .map(let fields):
            return .map(fields.map { field in
                if field.key == .bulk("subcommands"), case .map(let subcommands) = field.value {
                    return (field.key, .map(sortedPairs(subcommands)))
                }
                return field
            })
        case .array(let elements):
            var fields = pairs(of: elements)
            for index in fields.indices where fields[index].key == .bulk("subcommands") {
                if case .array(let subcommands) = fields[index].value {
                    fields[index].value = .array(sortedPairs(pairs(of: subcommands)).flatMap { [$0.key, $0.value] })
                }
            }
            return .array(fields.flatMap { [$0.key, $0.value] })
        default:
            return value
        }
    }
    switch value {
    case .map(let all): return .map(sortedPairs(all))
    case .array(let elements): return .array(sortedPairs(pairs(of: elements)).flatMap { [$0.key, $0.value] })
    default: return value
    }
}

@Suite("Node: server commands (COMMAND, CLIENT, HELLO/AUTH, SELECT/SWAPDB, SLOWLOG, DEBUG...)")
struct ServerCommandTests {
    @Test("COMMAND, COMMAND INFO and COMMAND DOCS equal redis-server's, RESP2 and RESP3, up to hash order",
          .enabled(if: RedisServerProcess.isAvailable), arguments: [false, true])
    func commandReplies(resp3: Bool) async throws {
        try await withDifferential(resp3: resp3) { diff in
            try await diff.run(
                [["COMMAND"], ["COMMAND", "INFO"]],
                compare: { _, redis, node in canonicalCommandReply(redis) == canonicalCommandReply(node) })
            try await diff.run(
                [["COMMAND", "DOCS"], ["COMMAND", "DOCS", "config", "client|kill"]],
                compare: { _, redis, node in canonicalDocsReply(redis) == canonicalDocsReply(node) })
            try await diff.run([
                ["COMMAND", "COUNT"],
                ["COMMAND", "INFO", "get", "set", "mset", "eval", "xread", "nosuch", "CONFIG|GET", "georadius", "sort"],
                ["COMMAND", "DOCS", "get"], ["COMMAND", "DOCS", "set", "nosuch", "xadd"], ["COMMAND", "DOCS", "nosuch"],
                ["COMMAND", "GETKEYS", "mset", "a", "1", "b", "2"], ["COMMAND", "GETKEYS", "eval", "s", "2", "a", "b", "c"],
                ["COMMAND", "GETKEYS", "get"], ["COMMAND", "GETKEYS", "ping", "x"], ["COMMAND", "GETKEYS", "nosuch", "x"],
                ["COMMAND", "GETKEYS", "zunionstore", "d", "2", "a", "b", "weights", "1", "2"],
                ["COMMAND", "GETKEYS", "eval", "s", "5", "a"], ["COMMAND", "GETKEYS", "set", "k"],
                ["COMMAND", "GETKEYSANDFLAGS", "set", "k", "v", "get"], ["COMMAND", "GETKEYSANDFLAGS", "set", "k", "v"],
                ["COMMAND", "GETKEYSANDFLAGS", "lmove", "a", "b", "left", "right"],
                ["COMMAND", "GETKEYSANDFLAGS", "sort", "k", "by", "x", "get", "y", "store", "d"],
                ["COMMAND", "GETKEYSANDFLAGS", "migrate", "h", "1", "", "0", "100", "keys", "a", "b"],
                ["COMMAND", "GETKEYSANDFLAGS", "georadius", "k", "1", "2", "3", "m", "store", "d", "storedist", "e"],
                ["COMMAND", "GETKEYSANDFLAGS", "xreadgroup", "group", "g", "c", "streams", "a", "b", "0", "0"],
                ["COMMAND", "GETKEYSANDFLAGS", "zunionstore", "d", "2", "a", "b"],
                ["COMMAND", "GETKEYSANDFLAGS", "bitfield", "k", "get", "u8", "0"],
                ["COMMAND", "GETKEYSANDFLAGS", "bitfield", "k", "set", "u8", "0", "1"],
                ["COMMAND", "GETKEYSANDFLAGS", "object", "encoding", "k"],
                ["COMMAND", "LIST", "FILTERBY", "MODULE", "x"],
                ["COMMAND", "LIST", "FILTERBY"], ["COMMAND", "LIST", "FILTERBY", "bogus", "x"], ["COMMAND", "LIST", "x"],
                ["COMMAND", "HELP"], ["COMMAND", "HELP", "x"], ["COMMAND", "NOSUCH"],
            ])
            try await diff.run(
                [["COMMAND", "LIST"], ["COMMAND", "LIST", "FILTERBY", "PATTERN", "cl*"],
                 ["COMMAND", "LIST", "FILTERBY", "ACLCAT", "admin"], ["COMMAND", "LIST", "FILTERBY", "ACLCAT", "hyperloglog"],
                 ["COMMAND", "LIST", "FILTERBY", "ACLCAT", "bogus"]],
                compare: { _, redis, node in unorderedEqual(redis, node) })
        }
    }

    @Test("HELLO, AUTH, SELECT, SWAPDB, TIME, ROLE, WAIT, LASTSAVE, FUNCTION: same replies as redis-server",
          .enabled(if: RedisServerProcess.isAvailable))
    func connectionAndServer() async throws {
        try await withDifferential() { diff in
            let idFree: (RESPValue) -> RESPValue = { value in
                // HELLO's `id` differs between servers.
                guard case .array(var fields) = value, fields.count == 14 else { return value }
                fields[7] = .integer(0)
                return .array(fields)
            }
            try await diff.run(
                [["HELLO"], ["HELLO", "2"], ["HELLO", "2", "AUTH", "default", "anything"], ["HELLO", "2", "SETNAME", "abc"]],
                compare: { _, redis, node in idFree(redis) == idFree(node) })
            try await diff.run([
                ["HELLO", "2", "AUTH", "someone", "pw"], ["HELLO", "3", "SETNAME", "a b"], ["HELLO", "2", "AUTH", "default"],
                ["HELLO", "2", "bogus"], ["HELLO", "1"], ["HELLO", "x"], ["CLIENT", "GETNAME"],
                ["AUTH", "x"], ["AUTH", "default", "x"], ["AUTH", "foo", "x"], ["AUTH", "a", "b", "c"],
                ["SELECT", "15"], ["SELECT", "16"], ["SELECT", "-1"], ["SELECT", "x"], ["SELECT", "99999999999"],
                ["SELECT", "0"], ["SET", "a", "1"], ["SWAPDB", "0", "1"], ["GET", "a"], ["SELECT", "1"], ["GET", "a"],
                ["SWAPDB", "1", "1"], ["SWAPDB", "x", "1"], ["SWAPDB", "0", "x"], ["SWAPDB", "-1", "0"],
                ["SWAPDB", "0", "16"], ["SWAPDB", "0"], ["SELECT", "0"], ["DBSIZE"], ["FLUSHALL"],
                ["ROLE"], ["WAIT", "0", "0"], ["WAIT", "x", "0"], ["WAIT", "0", "-1"], ["WAIT", "0", "x"],
                ["FUNCTION", "LIST"], ["BGSAVE", "x"], ["SHUTDOWN", "bogus"], ["SHUTDOWN", "ABORT"],
                ["SHUTDOWN", "NOW", "ABORT"], ["MEMORY", "USAGE", "nokey"], ["MEMORY", "USAGE", "k", "bogus", "1"],
                ["SLOWLOG", "GET", "x"], ["SLOWLOG", "GET", "-2"], ["SLOWLOG", "GET", "1", "2"], ["SLOWLOG", "LEN", "x"],
                ["CONFIG", "HELP"], ["CLIENT", "HELP"], ["SLOWLOG", "HELP"], ["MEMORY", "HELP"], ["LATENCY", "HELP"],
                ["SAVE"], ["LASTSAVE", "x"],
            ])
            // TIME: two bulk strings, seconds and microseconds, close to redis-server's clock.
            let redisTime = try await diff.redisClient.command(["TIME"])
            let nodeTime = try await diff.nodeClient.command(["TIME"])
            guard case .array(let a) = redisTime, case .array(let b) = nodeTime, a.count == 2, b.count == 2,
                let secondsA = Int(a[0].string ?? ""), let secondsB = Int(b[0].string ?? ""), Int(b[1].string ?? "") != nil
            else {
                Issue.record("TIME: \(redisTime) vs \(nodeTime)")
                return
            }
            #expect(abs(secondsA - secondsB) <= 5)
            let lastsave = try await diff.nodeClient.command(["LASTSAVE"])
            if case .integer(let seconds) = lastsave { #expect(abs(Int(seconds) - secondsB) <= 120) } else {
                Issue.record("LASTSAVE: \(lastsave)")
            }
        }
    }

    @Test("Cluster mode: SELECT and SWAPDB errors as redis-server's", .enabled(if: RedisServerProcess.isAvailable))
    func clusterMode() async throws {
        try await withDifferential(clusterEnabled: true) { diff in
            try await diff.run([
                ["SELECT", "0"], ["SELECT", "1"], ["SELECT", "x"], ["SWAPDB", "0", "1"], ["SWAPDB", "x", "1"],
            ])
        }
    }

    @Test("SWAPDB wakes a client blocked on a key the swapped-in db holds")
    func swapdbWakesBlockedClients() async throws {
        let node = try await NodeHarness.start()
        let waiter = try await node.client()
        let other = try await node.client()
        _ = try await waiter.command(["SELECT", "1"])
        async let popped = waiter.command(["BLPOP", "l", "5"])
        try await Task.sleep(nanoseconds: 200_000_000)
        #expect(try await other.command(["RPUSH", "l", "x"]) == .integer(1))
        #expect(try await other.command(["SWAPDB", "0", "1"]) == .simpleString("OK"))
        #expect(try await popped == .array([.bulk("l"), .bulk("x")]))
        waiter.close()
        other.close()
        await node.stop()
    }

    @Test("A name resolved once per client: repeats, other cases, arity errors and containers as redis-server",
          .enabled(if: RedisServerProcess.isAvailable))
    func repeatedCommandNames() async throws {
        try await withDifferential() { diff in
            // The dispatcher remembers the bytes of the last top-level name a client used: the same name with the
            // wrong arity, in another case, a container after its own name, and a name longer than 16 bytes.
            try await diff.run([
                ["SET", "a", "1"], ["SET", "a"], ["SET", "a", "2"], ["set", "b", "3"], ["SeT", "c"], ["SET"],
                ["GET", "a"], ["GET", "a", "b"], ["get", "b"], ["GET"],
                ["CONFIG", "GET", "maxmemory"], ["CONFIG"], ["CONFIG", "NOSUCH"], ["CONFIG", "GET", "save"],
                ["config", "get"], ["OBJECT", "ENCODING", "a"], ["OBJECT", "ENCODING"], ["OBJECT"],
                ["ZREVRANGEBYSCORE", "z", "+inf", "-inf"], ["ZREVRANGEBYSCORE", "z"], ["zrevrangebyscore", "z", "1", "0"],
                ["ZREMRANGEBYSCORE", "z", "0", "1"], ["ZREVRANGEBYSCORE", "z", "1"], ["GEORADIUSBYMEMBER_RO"],
                ["NOSUCHCOMMAND"], ["SET", "a", "4"], ["GET", "a"],
            ])
        }
    }

    /// The integer `field` of INFO `section`, as `client` reads it (nil when absent).
    private static func infoInteger(_ client: RESPTestClient, _ section: String, _ field: String) async throws -> Int? {
        guard case .bulkString(let reply) = try await client.command(["INFO", section]) else { return nil }
        let prefix = field + ":"
        let line = String(buffer: reply).split(separator: "\r\n").first { $0.hasPrefix(prefix) }
        return line.flatMap { Int($0.dropFirst(prefix.count)) }
    }

    @Test("CLIENT LIST names each client's last command; writes count as changes with nobody watching")
    func lastCommandAndChangeCount() async throws {
        let node = try await NodeHarness.start()
        let worker = try await node.client()
        let observer = try await node.client()
        func text(_ command: [String]) async throws -> String {
            guard case .bulkString(let reply) = try await observer.command(command) else { return "" }
            return String(buffer: reply)
        }
        func changes() async throws -> Int? {
            try await Self.infoInteger(observer, "persistence", "rdb_changes_since_last_save")
        }
        let before = try #require(try await changes())
        _ = try await worker.command(["SET", "k", "v"])
        _ = try await worker.command(["INCR", "n"])
        _ = try await worker.command(["DEL", "k"])
        #expect(try await changes() == before + 3)
        let lines = try await text(["CLIENT", "LIST"]).split(separator: "\n")
        #expect(lines.contains { $0.contains(" cmd=del ") })
        #expect(lines.contains { $0.contains(" cmd=client|list ") })
        _ = try await worker.command(["STRLEN", "n"])
        #expect(try await text(["CLIENT", "LIST"]).contains(" cmd=strlen "))
        // Pushes count per element, SADD per member added, HSET per field given, as Redis's dirty counter.
        _ = try await worker.command(["RPUSH", "l", "a", "b", "c"])
        _ = try await worker.command(["LPUSH", "l", "d"])
        _ = try await worker.command(["SADD", "s", "a", "b", "a"])
        _ = try await worker.command(["SADD", "s", "a"])
        _ = try await worker.command(["HSET", "h", "f", "1", "g", "2"])
        _ = try await worker.command(["HSET", "h", "f", "1"])
        #expect(try await changes() == before + 3 + 4 + 2 + 3)
        worker.close()
        observer.close()
        await node.stop()
    }

    @Test("total_net_input_bytes counts the bytes read (multibulk, inline, a request split across reads), as Redis")
    func netInputBytes() async throws {
        let node = try await NodeHarness.start()
        let worker = try await node.client()
        let observer = try await node.client()
        func input() async throws -> Int? { try await Self.infoInteger(observer, "stats", "total_net_input_bytes") }
        // The observer's INFO request ("*2\r\n$4\r\nINFO\r\n$5\r\nstats\r\n") counts before INFO runs.
        let infoRequest = 25
        let before = try #require(try await input())
        _ = try await worker.command(["SET", "k", "v"])  // 27 bytes
        _ = try await worker.send(raw: ByteBuffer(string: "PING\r\n"), replies: 1)  // 6 bytes, inline
        _ = try await worker.send(raw: ByteBuffer(string: "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*1\r\n$4\r\nPI"), replies: 1)
        _ = try await worker.send(raw: ByteBuffer(string: "NG\r\n"), replies: 1)  // 34 bytes in two reads
        #expect(try await input() == before + 27 + 6 + 34 + infoRequest)  // redis-server: 92
        worker.close()
        observer.close()
        await node.stop()
    }

    @Test("CLIENT: SETNAME/GETNAME/ID/KILL/REPLY errors and replies as redis-server's",
          .enabled(if: RedisServerProcess.isAvailable))
    func clientDifferential() async throws {
        try await withDifferential() { diff in
            try await diff.run([
                ["CLIENT", "SETNAME", "a b"], ["CLIENT", "SETNAME", "a\nb"], ["CLIENT", "GETNAME"],
                ["CLIENT", "SETNAME", "worker-1"], ["CLIENT", "GETNAME"], ["CLIENT", "SETNAME", ""], ["CLIENT", "GETNAME"],
                ["CLIENT", "SETNAME"], ["CLIENT", "KILL", "1.2.3.4:5"], ["CLIENT", "KILL", "ID", "999999"],
                ["CLIENT", "KILL", "ADDR", "1.2.3.4:5"], ["CLIENT", "KILL", "foo", "bar"], ["CLIENT", "KILL", "TYPE", "bogus"],
                ["CLIENT", "KILL", "SKIPME", "maybe"], ["CLIENT", "KILL", "ID", "x"], ["CLIENT", "KILL", "ID", "1", "TYPE"],
                ["CLIENT", "KILL", "USER", "nosuch"], ["CLIENT", "KILL", "TYPE", "pubsub"],
                ["CLIENT", "LIST", "TYPE", "bogus"], ["CLIENT", "LIST", "bogus"], ["CLIENT", "LIST", "ID", "x"],
                ["CLIENT", "LIST", "ID", "999999"], ["CLIENT", "LIST", "TYPE", "master"],
                ["CLIENT", "NO-EVICT", "maybe"], ["CLIENT", "NO-EVICT", "on"], ["CLIENT", "NO-EVICT", "off"],
                ["CLIENT", "REPLY", "bogus"], ["CLIENT", "PAUSE", "10"], ["CLIENT", "PAUSE", "x"],
                ["CLIENT", "PAUSE", "10", "BOGUS"], ["CLIENT", "PAUSE", "10", "WRITE"], ["CLIENT", "UNPAUSE"],
                ["CLIENT", "GETREDIR"], ["CLIENT", "TRACKINGINFO"], ["CLIENT", "CACHING", "yes"],
                ["CLIENT", "UNBLOCK", "5"], ["CLIENT", "UNBLOCK", "5", "ERROR"], ["CLIENT", "UNBLOCK", "5", "x"],
                ["CLIENT", "NOSUCH"],
            ])
        }
    }

    @Test("CLIENT LIST and CLIENT INFO lines have Redis's fields in Redis's order")
    func clientListFormat() async throws {
        let node = try await NodeHarness.start()
        let client = try await node.client()
        let other = try await node.client()
        _ = try await other.command(["CLIENT", "SETNAME", "other"])
        _ = try await other.command(["SELECT", "3"])
        let id = try await client.command(["CLIENT", "ID"])
        let list = try await client.command(["CLIENT", "LIST"])
        let lines = (list.string ?? "").split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 3)
        #expect(lines.last == "")
        let fieldNames = [
            "id", "addr", "laddr", "fd", "name", "age", "idle", "flags", "db", "sub", "psub", "ssub", "multi", "qbuf",
            "qbuf-free", "argv-mem", "multi-mem", "rbs", "rbp", "obl", "oll", "omem", "tot-mem", "events", "cmd", "user",
            "redir", "resp",
        ]
        for line in lines.dropLast() {
            let fields = line.split(separator: " ").map { $0.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false) }
            #expect(fields.map { String($0[0]) } == fieldNames)
        }
        guard case .integer(let myID) = id else {
            Issue.record("CLIENT ID: \(id)")
            await node.stop()
            return
        }
        let mine = lines.first { $0.hasPrefix("id=\(myID) ") } ?? ""
        #expect(mine.contains(" cmd=client|list user=default redir=-1 resp=2"))
        #expect(mine.contains(" flags=N db=0 sub=0 psub=0 ssub=0 multi=-1 "))
        #expect(mine.contains(" name= age="))
        #expect(mine.contains("addr=127.0.0.1:"))
        let theirs = lines.first { $0.contains(" name=other ") } ?? ""
        #expect(theirs.contains(" db=3 "))
        #expect(theirs.contains(" cmd=select "))
        // CLIENT INFO: the caller's line only.
        let info = try await client.command(["CLIENT", "INFO"])
        #expect(info.string?.hasPrefix("id=\(myID) ") == true)
        #expect(info.string?.contains(" cmd=client|info ") == true)
        #expect(info.string?.hasSuffix("\n") == true)
        // LIST ID and TYPE filters.
        let byID = try await client.command(["CLIENT", "LIST", "ID", String(myID), "999999"])
        #expect(byID.string?.split(separator: "\n").count == 1)
        let normal = try await client.command(["CLIENT", "LIST", "TYPE", "normal"])
        #expect(normal.string?.split(separator: "\n").count == 2)
        // MULTI shows as flags=x and multi=<queued>.
        _ = try await other.command(["MULTI"])
        _ = try await other.command(["PING"])
        let inMulti = try await client.command(["CLIENT", "LIST", "TYPE", "normal"])
        #expect(inMulti.string?.contains(" flags=x ") == true)
        #expect(inMulti.string?.contains(" multi=1 ") == true)
        client.close()
        other.close()
        await node.stop()
    }

    @Test("CLIENT KILL closes the other connection (old and new forms) and counts it")
    func clientKill() async throws {
        let node = try await NodeHarness.start()
        let killer = try await node.client()
        let victim = try await node.client()
        let victim2 = try await node.client()
        guard case .integer(let victimID) = try await victim.command(["CLIENT", "ID"]) else {
            Issue.record("no id")
            await node.stop()
            return
        }
        #expect(try await killer.command(["CLIENT", "KILL", "ID", String(victimID)]) == .integer(1))
        try await victim.closeFuture().get()
        let list = try await killer.command(["CLIENT", "LIST"])
        #expect(list.string?.contains("id=\(victimID) ") == false)
        // Old form by address.
        let info = try await victim2.command(["CLIENT", "INFO"])
        let address = info.string?.split(separator: " ").first { $0.hasPrefix("addr=") }?.dropFirst(5) ?? ""
        #expect(try await killer.command(["CLIENT", "KILL", String(address)]) == .simpleString("OK"))
        try await victim2.closeFuture().get()
        // SKIPME defaults to yes: the caller survives.
        #expect(try await killer.command(["CLIENT", "KILL", "TYPE", "normal"]) == .integer(0))
        #expect(try await killer.command(["PING"]) == .simpleString("PONG"))
        // SKIPME NO kills the caller after the reply.
        #expect(try await killer.command(["CLIENT", "KILL", "TYPE", "normal", "SKIPME", "no"]) == .integer(1))
        try await killer.closeFuture().get()
        await node.stop()
    }

    @Test("CLIENT REPLY OFF and SKIP drop replies; ON brings them back")
    func clientReply() async throws {
        let node = try await NodeHarness.start()
        let client = try await node.client()
        let replies = try await client.send(
            raw: ByteBuffer(string: "CLIENT REPLY SKIP\r\nECHO one\r\nECHO two\r\nCLIENT REPLY OFF\r\nECHO three\r\nBADCMD\r\nCLIENT REPLY ON\r\nECHO four\r\n"),
            replies: 3)
        #expect(replies == [.bulk("two"), .simpleString("OK"), .bulk("four")])
        client.close()
        await node.stop()
    }

    @Test("AUTH and NOAUTH with requirepass set by CONFIG SET, as Redis")
    func requirePass() async throws {
        let node = try await NodeHarness.start()
        let admin = try await node.client()
        #expect(try await admin.command(["CONFIG", "SET", "requirepass", "s3cret"]) == .simpleString("OK"))
        // Connected before the password was set: still authenticated.
        #expect(try await admin.command(["PING"]) == .simpleString("PONG"))
        let fresh = try await node.client()
        #expect(try await fresh.command(["GET", "k"]) == .simpleError("NOAUTH Authentication required."))
        #expect(try await fresh.command(["NOSUCH"]).errorMessage?.hasPrefix("ERR unknown command") == true)
        #expect(try await fresh.command(["AUTH", "wrong"])
            == .simpleError("WRONGPASS invalid username-password pair or user is disabled."))
        let hello = try await fresh.command(["HELLO", "3"])
        #expect(hello.errorMessage?.hasPrefix("NOAUTH HELLO must be called with the client already authenticated") == true)
        #expect(try await fresh.command(["AUTH", "s3cret"]) == .simpleString("OK"))
        #expect(try await fresh.command(["GET", "k"]) == .nullBulkString)
        let third = try await node.client()
        let reply = try await third.command(["HELLO", "3", "AUTH", "default", "s3cret", "SETNAME", "x"])
        if case .map = reply {} else { Issue.record("HELLO AUTH: \(reply)") }
        #expect(try await third.command(["CLIENT", "GETNAME"]) == .bulk("x"))
        // RESET logs the client out again.
        #expect(try await third.command(["RESET"]) == .simpleString("RESET"))
        #expect(try await third.command(["GET", "k"]) == .simpleError("NOAUTH Authentication required."))
        #expect(try await admin.command(["CONFIG", "SET", "requirepass", ""]) == .simpleString("OK"))
        #expect(try await third.command(["GET", "k"]) == .nullBulkString)
        for client in [admin, fresh, third] { client.close() }
        await node.stop()
    }

    @Test("SLOWLOG records slow commands with Redis's entry shape; GET count, LEN, RESET")
    func slowlog() async throws {
        let node = try await NodeHarness.start()
        let client = try await node.client()
        _ = try await client.command(["CLIENT", "SETNAME", "slowpoke"])
        #expect(try await client.command(["CONFIG", "SET", "slowlog-log-slower-than", "0"]) == .simpleString("OK"))
        #expect(try await client.command(["SLOWLOG", "RESET"]) == .simpleString("OK"))
        _ = try await client.command(["SET", "key", String(repeating: "v", count: 200)])
        _ = try await client.command(["AUTH", "default", "secret"])
        _ = try await client.command(["DEBUG", "SLEEP", "0.02"])
        _ = try await client.command(["COMMAND", "INFO"] + (0..<38).map { "cmd\($0)" })
        let entries = try await client.command(["SLOWLOG", "GET", "-1"])
        guard case .array(let all) = entries, all.count >= 5 else {
            Issue.record("SLOWLOG GET: \(entries)")
            await node.stop()
            return
        }
        // Newest first: COMMAND INFO with 40 arguments is cut to 32, the last one saying how many more.
        guard case .array(let echo) = all[0], echo.count == 6, case .array(let echoArgs) = echo[3] else {
            Issue.record("entry: \(all[0])")
            await node.stop()
            return
        }
        #expect(echoArgs.count == 32)
        #expect(echoArgs.last == .bulk("... (9 more arguments)"))
        #expect(echoArgs.first == .bulk("COMMAND"))
        #expect(echo[5] == .bulk("slowpoke"))
        #expect(echo[4].string?.hasPrefix("127.0.0.1:") == true)
        guard case .array(let sleep) = all[1], case .integer(let micros) = sleep[2] else {
            Issue.record("entry: \(all[1])")
            await node.stop()
            return
        }
        #expect(micros >= 20_000)
        #expect(sleep[3] == .array([.bulk("DEBUG"), .bulk("SLEEP"), .bulk("0.02")]))
        guard case .array(let auth) = all[2], case .array(let set) = all[3] else { return }
        #expect(auth[3] == .array([.bulk("AUTH"), .bulk("(redacted)"), .bulk("(redacted)")]))
        guard case .array(let setArgs) = set[3] else { return }
        #expect(setArgs.last == .bulk(String(repeating: "v", count: 128) + "... (72 more bytes)"))
        let ids = all.compactMap { entry -> Int64? in
            if case .array(let fields) = entry, case .integer(let id) = fields[0] { return id }
            return nil
        }
        #expect(ids == ids.sorted(by: >))
        if case .array(let two) = try await client.command(["SLOWLOG", "GET", "2"]) { #expect(two.count == 2) }
        if case .integer(let length) = try await client.command(["SLOWLOG", "LEN"]) { #expect(length >= 6) }
        #expect(try await client.command(["CONFIG", "SET", "slowlog-max-len", "2"]) == .simpleString("OK"))
        #expect(try await client.command(["SLOWLOG", "LEN"]) == .integer(2))
        #expect(try await client.command(["SLOWLOG", "RESET"]) == .simpleString("OK"))
        #expect(try await client.command(["CONFIG", "SET", "slowlog-log-slower-than", "-1"]) == .simpleString("OK"))
        _ = try await client.command(["PING"])
        // As in Redis, SLOWLOG RESET itself is logged (after it ran); nothing after the threshold went to -1.
        #expect(try await client.command(["SLOWLOG", "LEN"]) == .integer(1))
        client.close()
        await node.stop()
    }

    @Test("DEBUG: SLEEP, PROTOCOL types in RESP2 and RESP3 as redis-server (with the debug command enabled)",
          .enabled(if: RedisServerProcess.isAvailable), arguments: [false, true])
    func debugProtocol(resp3: Bool) async throws {
        let redis = try await RedisServerProcess.start(extraArguments: ["--enable-debug-command", "yes"])
        defer { redis.stop() }
        let node = try await NodeHarness.start()
        let a = try await RESPTestClient.connect(port: redis.port)
        let b = try await node.client()
        if resp3 {
            _ = try await a.command(["HELLO", "3"])
            _ = try await b.command(["HELLO", "3"])
        }
        let commands: [[String]] = [
            ["DEBUG", "SLEEP", "0"], ["DEBUG", "SLEEP", "x"], ["DEBUG", "SET-ACTIVE-EXPIRE", "1"], ["DEBUG", "BOGUS"],
            ["DEBUG", "PROTOCOL", "bogus"], ["DEBUG", "ERROR", "FOO bar"],
        ] + ["string", "integer", "double", "bignum", "null", "array", "set", "map", "push", "verbatim", "true", "false"]
            .map { ["DEBUG", "PROTOCOL", $0] }
        for command in commands {
            // In RESP3 the push frame is followed by a real reply: two frames.
            let frames = command.last == "push" && resp3 ? 2 : 1
            var request = ByteBuffer()
            request.writeRESPCommand(command)
            let expected = try await a.send(raw: request, replies: frames)
            let actual = try await b.send(raw: request, replies: frames)
            #expect(expected == actual, "\(command)")
        }
        a.close()
        b.close()
        await node.stop()
    }

    @Test("MONITOR streams other clients' commands as Redis formats them")
    func monitor() async throws {
        let node = try await NodeHarness.start()
        let watcher = try await node.client()
        let worker = try await node.client()
        #expect(try await watcher.command(["MONITOR"]) == .simpleString("OK"))
        async let next = watcher.send(raw: ByteBuffer(), replies: 1)
        try await Task.sleep(nanoseconds: 100_000_000)
        _ = try await worker.command(["SET", "k", "a \"b\"\n"])
        // Never wait forever: without a line in 5 s the watcher is closed, which fails the wait.
        let guardTask = Task {
            try await Task.sleep(nanoseconds: 5_000_000_000)
            watcher.close()
        }
        let line = (try? await next)?.first?.string ?? ""
        guardTask.cancel()
        #expect(line.range(of: #"^\d+\.\d{6} \[0 127\.0\.0\.1:\d+\] "SET" "k" "a \\"b\\"\\n"$"#, options: .regularExpression) != nil, "\(line)")
        watcher.close()
        worker.close()
        await node.stop()
    }
}
