import ClusterModel
import Foundation
import NIOCore

/// Connection and server commands: PING ECHO SELECT QUIT RESET HELLO AUTH TIME DBSIZE FLUSHDB FLUSHALL SWAPDB
/// SHUTDOWN FUNCTION, plus the families in their own files: COMMAND, CLIENT and MONITOR, CONFIG, INFO and the
/// server reports (LASTSAVE SAVE BGSAVE ROLE WAIT MEMORY LATENCY), SLOWLOG, DEBUG.
func registerServerCommands(_ handlers: inout CommandHandlers) {
    registerCommandCommands(&handlers)
    registerClientCommands(&handlers)
    registerConfigCommands(&handlers)
    registerInfoCommands(&handlers)
    registerSlowlogCommands(&handlers)
    registerDebugCommands(&handlers)
    handlers.register("ping") { (inv: inout Invocation) throws(RedisError) in
        guard inv.args.count <= 2 else { throw .wrongArity("ping") }
        if inv.session.inPubSubContext {
            // In RESP2 subscriber mode PING answers with a pong message.
            inv.reply.array(2)
            inv.reply.bulk("pong")
            inv.reply.bulk(inv.args.count == 2 ? inv.args[1] : ByteBuffer())
        } else if inv.args.count == 2 {
            inv.reply.bulk(inv.args[1])
        } else {
            inv.reply.simple("PONG")
        }
    }
    handlers.register("echo") { (inv: inout Invocation) throws(RedisError) in
        inv.reply.bulk(inv.args[1])
    }
    handlers.register("quit") { (inv: inout Invocation) throws(RedisError) in
        inv.reply.ok()
        inv.closeAfterReply = true
    }
    handlers.register("select") { (inv: inout Invocation) throws(RedisError) in
        guard let index = inv.args[1].parseInt64() else { throw .notInteger }
        guard index >= Int64(Int32.min), index <= Int64(Int32.max) else {
            throw RedisError("ERR value is out of range, value must between -2147483648 and 2147483647")
        }
        if inv.node.configuration.clusterEnabled && index != 0 {
            throw RedisError("ERR SELECT is not allowed in cluster mode")
        }
        guard index >= 0, index < inv.node.databases.count else { throw RedisError("ERR DB index is out of range") }
        inv.session.db = Int(index)
        inv.reply.ok()
    }
    handlers.register("swapdb") { (inv: inout Invocation) throws(RedisError) in
        if inv.node.configuration.clusterEnabled { throw RedisError("ERR SWAPDB is not allowed in cluster mode") }
        guard let first = inv.args[1].parseInt64(), first >= Int64(Int32.min), first <= Int64(Int32.max) else {
            throw RedisError("ERR invalid first DB index")
        }
        guard let second = inv.args[2].parseInt64(), second >= Int64(Int32.min), second <= Int64(Int32.max) else {
            throw RedisError("ERR invalid second DB index")
        }
        let count = Int64(inv.node.databases.count)
        guard first >= 0, first < count, second >= 0, second < count else {
            throw RedisError("ERR DB index is out of range")
        }
        if first != second {
            inv.node.databases[Int(first)].swapContents(with: inv.node.databases[Int(second)])
            inv.node.touchAllWatched(db: Int(first))
            inv.node.touchAllWatched(db: Int(second))
            inv.node.dirty += 1
            // Clients blocked on keys of either db may now find data there (Redis's scanDatabaseForReadyKeys).
            if inv.node.blocking.count > 0 {
                for waited in inv.node.blocking.waiting.keys where waited.db == Int(first) || waited.db == Int(second) {
                    inv.effects.signalReady(key: waited.key, db: waited.db)
                }
            }
        }
        inv.propagateAsIs()
        inv.reply.ok()
    }
    handlers.register("dbsize") { (inv: inout Invocation) throws(RedisError) in
        inv.reply.integer(inv.db.count)
    }
    handlers.register("time") { (inv: inout Invocation) throws(RedisError) in
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        inv.reply.array(2)
        inv.reply.bulk(String(ts.tv_sec))
        inv.reply.bulk(String(ts.tv_nsec / 1000))
    }
    handlers.register("flushdb") { (inv: inout Invocation) throws(RedisError) in
        try flushOptionCheck(inv)
        inv.db.removeAll()
        inv.node.touchAllWatched(db: inv.session.db)
        inv.propagate([ByteBuffer(string: "FLUSHDB")])
        inv.reply.ok()
    }
    handlers.register("flushall") { (inv: inout Invocation) throws(RedisError) in
        try flushOptionCheck(inv)
        for db in inv.node.databases { db.removeAll() }
        inv.node.touchAllWatched(db: nil)
        inv.propagate([ByteBuffer(string: "FLUSHALL")])
        inv.reply.ok()
    }
    handlers.register("hello") { (inv: inout Invocation) throws(RedisError) in
        var index = 1
        var protocolVersion = inv.session.resp3 ? 3 : 2
        if inv.args.count >= 2 {
            guard let version = inv.args[1].parseInt64() else {
                throw RedisError("ERR Protocol version is not an integer or out of range")
            }
            guard version == 2 || version == 3 else {
                throw RedisError("NOPROTO unsupported protocol version")
            }
            protocolVersion = Int(version)
            index = 2
        }
        var credentials: (user: ByteBuffer, password: ByteBuffer)?
        var newName: ByteBuffer?
        while index < inv.args.count {
            let more = inv.args.count - index - 1
            if inv.isKeyword(index, "AUTH") && more >= 2 {
                credentials = (inv.args[index + 1], inv.args[index + 2])
                index += 3
            } else if inv.isKeyword(index, "SETNAME") && more >= 1 {
                newName = inv.args[index + 1]
                index += 2
            } else {
                throw RedisError("ERR Syntax error in HELLO option '\(inv.string(index))'")
            }
        }
        if let credentials {
            try authenticate(user: credentials.user, password: credentials.password, inv: &inv)
        }
        guard inv.node.isAuthenticated(inv.session) else {
            throw RedisError(
                "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time"
            )
        }
        if let newName { try setClientName(newName, session: inv.session) }
        inv.session.resp3 = protocolVersion == 3
        inv.reply.resp3 = inv.session.resp3
        let cluster = inv.node.configuration.clusterEnabled
        inv.reply.map(7)
        inv.reply.bulk("server")
        inv.reply.bulk("redis")
        inv.reply.bulk("version")
        inv.reply.bulk(CommandTable.redisVersion)
        inv.reply.bulk("proto")
        inv.reply.integer(protocolVersion)
        inv.reply.bulk("id")
        inv.reply.integer(inv.session.id)
        inv.reply.bulk("mode")
        inv.reply.bulk(cluster ? "cluster" : "standalone")
        inv.reply.bulk("role")
        inv.reply.bulk("master")
        inv.reply.bulk("modules")
        inv.reply.array(0)
    }
    handlers.register("auth") { (inv: inout Invocation) throws(RedisError) in
        guard inv.args.count <= 3 else { throw .syntax }
        if inv.args.count == 2 {
            guard inv.node.configuration.requirePass != nil else {
                throw RedisError(
                    "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"
                )
            }
            try authenticate(user: ByteBuffer(string: "default"), password: inv.args[1], inv: &inv)
        } else {
            try authenticate(user: inv.args[1], password: inv.args[2], inv: &inv)
        }
        inv.reply.ok()
    }
    handlers.register("reset") { (inv: inout Invocation) throws(RedisError) in
        inv.session.transaction = nil
        inv.session.transactionDirty = false
        inv.node.unwatchAll(inv.session)
        inv.node.pubsub.removeAll(for: inv.session)
        inv.session.db = 0
        inv.session.resp3 = false
        inv.session.name = nil
        inv.session.asking = false
        inv.session.readOnly = false
        inv.session.replyMode = .on
        inv.session.noEvict = false
        if inv.session.isMonitor {
            inv.session.isMonitor = false
            inv.node.monitors[inv.session.id] = nil
        }
        // Back to the default user: authenticated only if it has no password.
        inv.session.authenticated = inv.node.configuration.requirePass == nil
        inv.reply.resp3 = false
        inv.reply.simple("RESET")
    }
    handlers.register("shutdown") { (inv: inout Invocation) throws(RedisError) in
        var abort = false
        for index in 1..<inv.args.count {
            if inv.isKeyword(index, "ABORT") {
                abort = true
            } else if !(inv.isKeyword(index, "NOSAVE") || inv.isKeyword(index, "SAVE") || inv.isKeyword(index, "NOW")
                || inv.isKeyword(index, "FORCE"))
            {
                throw .syntax
            }
        }
        if abort {
            guard inv.args.count == 2 else { throw .syntax }
            throw RedisError("ERR No shutdown in progress.")
        }
        guard let hook = inv.node.onShutdown else { throw RedisError("ERR Errors trying to SHUTDOWN. Check logs.") }
        hook()
        inv.closeAfterReply = true
    }
    // No functions or scripts yet: FUNCTION DUMP fails (redis-cli --cluster add-node then skips copying
    // functions) and FUNCTION LIST is empty.
    handlers.register("function|dump") { (inv: inout Invocation) throws(RedisError) in
        throw RedisError("ERR FUNCTION DUMP is not supported by this server")
    }
    handlers.register("function|list") { (inv: inout Invocation) throws(RedisError) in
        var index = 2
        while index < inv.args.count {
            if inv.isKeyword(index, "WITHCODE") {
                index += 1
            } else if inv.isKeyword(index, "LIBRARYNAME") && index + 1 < inv.args.count {
                index += 2
            } else {
                throw RedisError("ERR Unknown argument \(inv.string(index))")
            }
        }
        inv.reply.array(0)
    }
}

/// AUTH / HELLO AUTH for the only user, `default`: without `requirepass` it has no password and accepts any;
/// with one, the password must match. Redis's error for every failure is the same WRONGPASS.
private func authenticate(user: ByteBuffer, password: ByteBuffer, inv: inout Invocation) throws(RedisError) {
    let accepted: Bool
    if String(buffer: user) == "default" {
        if let required = inv.node.configuration.requirePass {
            accepted = String(buffer: password) == required
        } else {
            accepted = true
        }
    } else {
        accepted = false
    }
    guard accepted else { throw RedisError("WRONGPASS invalid username-password pair or user is disabled.") }
    inv.session.authenticated = true
}

/// FLUSHDB/FLUSHALL take an optional ASYNC or SYNC.
private func flushOptionCheck(_ inv: Invocation) throws(RedisError) {
    if inv.args.count > 2 { throw .syntax }
    if inv.args.count == 2 && !inv.isKeyword(1, "ASYNC") && !inv.isKeyword(1, "SYNC") { throw .syntax }
}
