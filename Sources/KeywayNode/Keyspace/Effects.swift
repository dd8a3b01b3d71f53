import NIOCore

/// What a command changed, collected while it runs under the lock and acted on afterwards: invalidating
/// WATCHes, waking blocked clients, and (with replication and the AOF) propagating the effects as commands.
///
/// This is the single path every keyspace change goes through (DESIGN.md): handlers record effects, not
/// the original command, where the two differ (an expiry becomes DEL, a relative TTL becomes PEXPIREAT).
struct Effects {
    /// Commands that reproduce the change on a replica or in the AOF, with the database they apply to.
    var propagated: [(db: Int, command: [ByteBuffer])] = []
    /// Keys whose value changed (WATCH invalidation, client-side caching later).
    var modified: [(db: Int, key: ByteBuffer)] = []
    /// Keys that received elements a blocked client may be waiting for.
    var ready: [(db: Int, key: ByteBuffer)] = []
    /// Number of keys expired by this command.
    var expiredCount = 0

    mutating func modified(key: ByteBuffer, db: Int) {
        modified.append((db, key))
    }

    mutating func propagate(db: Int, _ command: [ByteBuffer]) {
        propagated.append((db, command))
    }

    mutating func expired(key: ByteBuffer, db: Int) {
        expiredCount += 1
        modified.append((db, key))
        propagated.append((db, [ByteBuffer(string: "DEL"), key]))
    }

    mutating func signalReady(key: ByteBuffer, db: Int) {
        ready.append((db, key))
    }

    var isEmpty: Bool { propagated.isEmpty && modified.isEmpty && ready.isEmpty && expiredCount == 0 }

    /// Empties the record but keeps its arrays' storage, so the next command records without allocating.
    mutating func clear() {
        if !propagated.isEmpty { propagated.removeAll(keepingCapacity: true) }
        if !modified.isEmpty { modified.removeAll(keepingCapacity: true) }
        if !ready.isEmpty { ready.removeAll(keepingCapacity: true) }
        expiredCount = 0
    }
}
