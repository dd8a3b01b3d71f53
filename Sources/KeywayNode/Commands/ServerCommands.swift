import ClusterModel
import Foundation
import NIOCore

/// Connection and server commands: PING ECHO SELECT QUIT RESET HELLO AUTH TIME DBSIZE FLUSHDB FLUSHALL SWAPDB
/// COMMAND CLIENT CONFIG INFO SLOWLOG DEBUG WAIT SHUTDOWN.
func registerServerCommands(_ handlers: inout CommandHandlers) {
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
        guard let index = inv.args[1].parseInt64(), index >= Int32.min, index <= Int32.max else {
            throw RedisError("ERR value is not an integer or out of range")
        }
        if inv.node.configuration.clusterEnabled && index != 0 {
            throw RedisError("ERR SELECT is not allowed in cluster mode")
        }
        guard index >= 0, index < inv.node.databases.count else { throw RedisError("ERR DB index is out of range") }
        inv.session.db = Int(index)
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
        var newName: String?
        while index < inv.args.count {
            let more = inv.args.count - index - 1
            if inv.isKeyword(index, "AUTH") && more >= 2 {
                // No ACL users yet: the default user without a password accepts any AUTH, as Redis does
                // when requirepass is unset... except that Redis rejects it. Mirror Redis.
                throw RedisError("WRONGPASS invalid username-password pair or user is disabled.")
            } else if inv.isKeyword(index, "SETNAME") && more >= 1 {
                let name = inv.string(index + 1)
                guard name.utf8.allSatisfy({ $0 > 32 && $0 < 127 }) else {
                    throw RedisError("ERR Client names cannot contain spaces, newlines or special characters.")
                }
                newName = name
                index += 2
            } else {
                throw RedisError("ERR Syntax error in HELLO option '\(inv.string(index))'")
            }
        }
        if let newName { inv.session.name = newName.isEmpty ? nil : newName }
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
        if inv.args.count == 2 {
            throw RedisError(
                "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"
            )
        }
        throw RedisError("WRONGPASS invalid username-password pair or user is disabled.")
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
        inv.reply.resp3 = false
        inv.reply.simple("RESET")
    }
    handlers.register("shutdown") { (inv: inout Invocation) throws(RedisError) in
        guard let hook = inv.node.onShutdown else { throw RedisError("ERR Errors trying to SHUTDOWN. Check logs.") }
        hook()
        inv.closeAfterReply = true
    }
}

/// FLUSHDB/FLUSHALL take an optional ASYNC or SYNC.
private func flushOptionCheck(_ inv: Invocation) throws(RedisError) {
    if inv.args.count > 2 { throw .syntax }
    if inv.args.count == 2 && !inv.isKeyword(1, "ASYNC") && !inv.isKeyword(1, "SYNC") { throw .syntax }
}
