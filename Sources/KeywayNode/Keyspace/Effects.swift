import NIOCore

/// What a command changed, collected while it runs under the lock and acted on afterwards: invalidating
/// WATCHes, waking blocked clients, and (with replication and the AOF) propagating the effects as commands.
///
/// This is the single path every keyspace change goes through (DESIGN.md): handlers record effects, not
/// the original command, where the two differ (an expiry becomes DEL, a relative TTL becomes PEXPIREAT).
struct Effects {
    /// Commands that reproduce the change on a replica or in the AOF, with the database they apply to. Recorded
    /// only with `recordsPropagation`.
    var propagated: [(db: Int, command: [ByteBuffer])] = []
    /// Keys whose value changed (WATCH invalidation, waking blocked clients). Recorded only with `recordsKeys`;
    /// `modifiedCount` counts them either way.
    var modified: [(db: Int, key: ByteBuffer)] = []
    /// Keys that received elements a blocked client may be waiting for.
    var ready: [(db: Int, key: ByteBuffer)] = []
    /// Number of keys expired by this command.
    var expiredCount = 0
    /// Number of changes as Redis counts them (its `server.dirty`, INFO's `rdb_changes_since_last_save`): one per
    /// key written by most commands, one per element pushed or member added by others. Counted whether or not
    /// the keys are recorded.
    var modifiedCount = 0
    /// Whether the changed keys are needed: someone WATCHes a key or is blocked on one. The dispatcher clears it
    /// when nobody does, so that a write records no key (an append, a retain, and a release per command).
    var recordsKeys = true
    /// Whether the commands are needed: a replica or the AOF consumes them. As Redis's `shouldPropagate`, the
    /// dispatcher clears it when nothing does.
    var recordsPropagation = true

    /// `changes` is what the command adds to Redis's dirty counter for this key (RPUSH of three elements: 3).
    @inline(__always)
    mutating func modified(key: ByteBuffer, db: Int, changes: Int = 1) {
        modifiedCount += changes
        if recordsKeys { modified.append((db, key)) }
    }

    @inline(__always)
    mutating func propagate(db: Int, _ command: [ByteBuffer]) {
        if recordsPropagation { propagated.append((db, command)) }
    }

    mutating func expired(key: ByteBuffer, db: Int) {
        expiredCount += 1
        modified(key: key, db: db)
        propagate(db: db, [ByteBuffer(string: "DEL"), key])
    }

    mutating func signalReady(key: ByteBuffer, db: Int) {
        ready.append((db, key))
    }

    var isEmpty: Bool {
        modifiedCount == 0 && propagated.isEmpty && ready.isEmpty && expiredCount == 0
    }

    /// Adds what `other` (a command run inside EXEC) recorded, as far as this record records it.
    mutating func add(_ other: Effects) {
        if recordsPropagation { propagated.append(contentsOf: other.propagated) }
        if recordsKeys { modified.append(contentsOf: other.modified) }
        ready.append(contentsOf: other.ready)
        expiredCount += other.expiredCount
        modifiedCount += other.modifiedCount
    }

    /// Empties the record but keeps its arrays' storage, so the next command records without allocating.
    @inline(__always)
    mutating func clear() {
        if !propagated.isEmpty { propagated.removeAll(keepingCapacity: true) }
        if !modified.isEmpty { modified.removeAll(keepingCapacity: true) }
        if !ready.isEmpty { ready.removeAll(keepingCapacity: true) }
        expiredCount = 0
        modifiedCount = 0
    }
}
