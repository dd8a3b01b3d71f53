import NIOCore

/// MULTI EXEC DISCARD WATCH UNWATCH, as Redis 7.0's multi.c.
///
/// The dispatcher queues commands while `session.transaction` is set (checking existence and arity at queue
/// time: a failure marks the transaction dirty, and EXEC then answers EXECABORT). EXEC runs the queue under the
/// node lock it already holds, so the whole transaction is atomic.
///
/// WATCH: `NodeState.watchedKeys` holds a version per watched key, bumped by every change (`Effects.modified`,
/// expiry, FLUSHDB/FLUSHALL/SWAPDB); `session.watched` keeps the version each key had when watched. EXEC fails
/// (null array) when a version moved, or when a watched key that existed has expired since.
func registerTransactionCommands(_ handlers: inout CommandHandlers) {
    handlers.register("multi") { (inv: inout Invocation) throws(RedisError) in
        if inv.session.transaction != nil { throw RedisError("ERR MULTI calls can not be nested") }
        inv.session.transaction = []
        inv.session.transactionDirty = false
        inv.reply.ok()
    }
    handlers.register("discard") { (inv: inout Invocation) throws(RedisError) in
        guard inv.session.transaction != nil else { throw RedisError("ERR DISCARD without MULTI") }
        inv.node.discardTransaction(inv.session)
        inv.reply.ok()
    }
    handlers.register("exec") { (inv: inout Invocation) throws(RedisError) in try exec(&inv) }
    handlers.register("watch") { (inv: inout Invocation) throws(RedisError) in
        if inv.session.transaction != nil { throw RedisError("ERR WATCH inside MULTI is not allowed") }
        inv.node.watch(inv.args[1...], session: inv.session, now: inv.now)
        inv.reply.ok()
    }
    handlers.register("unwatch") { (inv: inout Invocation) throws(RedisError) in
        inv.node.unwatchAll(inv.session)
        inv.reply.ok()
    }
}

private let multiName = ByteBuffer(string: "MULTI")
private let execName = ByteBuffer(string: "EXEC")

private func exec(_ inv: inout Invocation) throws(RedisError) {
    let session = inv.session
    guard let queued = session.transaction else { throw RedisError("ERR EXEC without MULTI") }
    let node = inv.node
    if session.transactionDirty {
        node.discardTransaction(session)
        throw RedisError("EXECABORT Transaction discarded because of previous errors.")
    }
    if node.watchedKeysChanged(session, now: inv.now) {
        node.discardTransaction(session)
        return inv.reply.nullArray()
    }
    // Unwatch first: the transaction's own writes must not count as changes to its watched keys.
    node.discardTransaction(session)
    inv.reply.array(queued.count)
    var effects = Effects()
    node.blocking.inTransaction = true
    for args in queued {
        node.runQueuedCommand(args, session: session, now: inv.now, reply: &inv.reply, effects: &effects)
    }
    node.blocking.inTransaction = false
    // Replicas and the AOF get the writes wrapped in MULTI/EXEC when there are several, as Redis propagates them.
    if effects.propagated.count > 1 {
        let db = effects.propagated[0].db
        effects.propagated.insert((db, [multiName]), at: 0)
        effects.propagated.append((db, [execName]))
    }
    inv.effects.add(effects)
}

extension NodeState {
    /// Ends `session`'s transaction (EXEC, DISCARD, an aborted EXEC) and drops its watches.
    func discardTransaction(_ session: ClientSession) {
        session.transaction = nil
        session.transactionDirty = false
        unwatchAll(session)
    }

    /// WATCH: records the current version of each key. A key already expired is deleted first, so that its
    /// later expiry does not count as a change (Redis flags such keys and ignores their deletion).
    func watch(_ keys: ArraySlice<ByteBuffer>, session: ClientSession, now: Int64) {
        let db = databases[session.db]
        var expiry = Effects()
        for key in keys where db.expiry(of: key) != nil {
            _ = db.lookup(key, now: now, effects: &expiry)
        }
        if !expiry.isEmpty { apply(expiry) }
        for key in keys {
            let watched = WatchedKey(db: session.db, key: key)
            if session.watched[watched] != nil { continue }
            let owned = WatchedKey(db: session.db, key: key.compacted())
            var entry = watchedKeys[owned] ?? WatchEntry()
            entry.watchers += 1
            watchedKeys[owned] = entry
            session.watched[owned] = entry.version
        }
    }

    /// Whether a key `session` watches changed since WATCH, or expired (Redis's `isWatchedKeyExpired`).
    func watchedKeysChanged(_ session: ClientSession, now: Int64) -> Bool {
        for (key, version) in session.watched {
            if watchedKeys[key]?.version != version { return true }
            if let at = databases[key.db].expiry(of: key.key), at <= now { return true }
        }
        return false
    }
}

extension NodeState {
    /// FLUSHDB (`db`) and FLUSHALL (nil): invalidates the WATCHes of the watched keys that exist in the database(s)
    /// about to be emptied. As in Redis 7.0 (`touchAllWatchedKeysInDb`), a flush does not "modify" a watched key
    /// that does not exist. Call before emptying; under the lock.
    func touchWatchedKeys(beforeFlushing db: Int?) {
        guard !watchedKeys.isEmpty else { return }
        for key in watchedKeys.keys where db == nil || key.db == db {
            if databases[key.db].contains(key.key) { watchedKeys[key]?.version &+= 1 }
        }
    }
}
