import ClusterModel
import Foundation
import NIOConcurrencyHelpers
import NIOCore

/// Everything shared by the node's clients: the keyspace, the client registry, configuration and statistics.
///
/// Commands run under `lock`, one at a time, which makes every command atomic as in Redis. The lock is held
/// only for the command's own work; replies are written and flushed on each client's event loop.
final class NodeState: @unchecked Sendable {
    let lock = NIOLock()
    var configuration: NodeConfiguration
    let databases: [Database]
    let startedAt = Date()
    let runID: String = (0..<40).map { _ in String("0123456789abcdef".randomElement() ?? "0") }.joined()

    var clients: [Int64: ClientSession] = [:]
    private var nextClientID: Int64 = 1
    /// Version and watcher count per watched key; the version is bumped on every modification (WATCH/EXEC).
    var watchedKeys: [WatchedKey: WatchEntry] = [:]
    /// Pub/sub subscriptions of every client.
    var pubsub = PubSubRegistry()
    var stats = NodeStatistics()
    let handlers: CommandHandlers
    /// Called by SHUTDOWN to stop the server.
    var onShutdown: (@Sendable () -> Void)?

    init(configuration: NodeConfiguration) {
        self.configuration = configuration
        let count = configuration.clusterEnabled ? 1 : max(1, configuration.databases)
        self.databases = (0..<count).map { Database(index: $0, trackSlots: configuration.clusterEnabled) }
        self.handlers = CommandHandlers.standard
    }

    /// A new client id, as CLIENT ID reports it.
    func makeClientID() -> Int64 {
        lock.withLock {
            defer { nextClientID += 1 }
            return nextClientID
        }
    }

    /// Milliseconds since the Unix epoch.
    static func nowMilliseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    /// Applies a command's effects: bumps WATCH versions. Called under the lock.
    func apply(_ effects: Effects) {
        stats.expiredKeys += effects.expiredCount
        if !watchedKeys.isEmpty {
            for change in effects.modified {
                watchedKeys[WatchedKey(db: change.db, key: change.key)]?.version &+= 1
            }
        }
    }

    /// Marks every watched key of `db` (or of all dbs) modified: FLUSHDB, FLUSHALL, SWAPDB.
    func touchAllWatched(db: Int?) {
        for key in watchedKeys.keys where db == nil || key.db == db {
            watchedKeys[key]?.version &+= 1
        }
    }

    /// One round of the active expiry cycle: deletes up to `limit` due keys per database. Runs under the lock.
    func activeExpire(limit: Int = 200) {
        let now = Self.nowMilliseconds()
        var effects = Effects()
        for db in databases where db.expiresCount > 0 {
            for key in db.dueKeys(now: now, limit: limit) {
                db.remove(key)
                effects.expired(key: key, db: db.index)
            }
        }
        if !effects.isEmpty { apply(effects) }
    }
}

/// A watched key's modification version and how many clients watch it.
struct WatchEntry {
    var version: UInt64 = 0
    var watchers = 0
}

/// Counters reported by INFO stats.
struct NodeStatistics {
    var totalConnections = 0
    var totalCommands = 0
    var expiredKeys = 0
    var evictedKeys = 0
    var rejectedConnections = 0
    var keyspaceHits = 0
    var keyspaceMisses = 0
    var netInputBytes = 0
    var netOutputBytes = 0
}
