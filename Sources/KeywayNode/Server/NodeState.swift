import ClusterModel
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import RESP

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
    /// Cluster mode state and bus (nil in standalone mode). Owned by the cluster code in `Cluster/`.
    var cluster: ClusterController?

    /// Per-command calls, time and failures (INFO commandstats), by `CommandNumbers` number.
    var commandStats: [CommandStatistics?] = Array(repeating: nil, count: CommandNumbers.redis70.count)
    /// Error replies per error code (INFO errorstats).
    var errorStats: [String: Int] = [:]
    var slowlog = SlowLog()
    /// Unix time (seconds) of the last successful save (LASTSAVE); the start time until persistence lands.
    var lastSaveTime = Int64(Date().timeIntervalSince1970)
    /// Keys changed since the last save (`rdb_changes_since_last_save`).
    var dirty = 0
    /// DEBUG SET-ACTIVE-EXPIRE.
    var activeExpireEnabled = true
    /// Clients with an id below this connected before `requirepass` was set, and stay authenticated (Redis).
    var authenticationWatermark: Int64 = 0
    /// Commands and bytes sampled by the cron (`instantaneous_ops_per_sec`, `instantaneous_*_kbps`).
    var instantaneous = InstantaneousMetrics()
    /// Start of the process in monotonic nanoseconds (uptime, CPU sampling).
    let startedAtNanoseconds = NodeState.monotonicNanoseconds()
    /// The limits the connection handlers read without the node lock (query buffer, output buffers).
    let connectionLimits: NIOLockedValueBox<ConnectionLimits>
    /// Clients in MONITOR mode, fed every command.
    var monitors: [Int64: ClientSession] = [:]
    /// The effects record commands reuse (`takeSpareEffects`/`recycle`).
    private var spareEffects = Effects()
    /// Whether commands' effects are propagated as commands: set while a replica or the AOF consumes them
    /// (neither exists yet; DESIGN.md, Roadmap). Until then the dispatcher records none, as Redis propagates
    /// nothing without replicas or AOF.
    var propagates = false

    init(configuration: NodeConfiguration) {
        self.configuration = configuration
        let count = configuration.clusterEnabled ? 1 : max(1, configuration.databases)
        self.databases = (0..<count).map { Database(index: $0, trackSlots: configuration.clusterEnabled) }
        self.handlers = CommandHandlers.standard
        self.connectionLimits = NIOLockedValueBox(ConnectionLimits(configuration))
    }

    /// A new client id, as CLIENT ID reports it.
    func makeClientID() -> Int64 {
        lock.withLock {
            defer { nextClientID += 1 }
            return nextClientID
        }
    }

    /// The real-time clock (nanoseconds since the Unix epoch) at a monotonic instant, both read together at most
    /// a millisecond ago: commands' `now` comes from the monotonic time already read for their statistics.
    private var realtimeBase: (monotonic: UInt64, realtime: Int64) = (0, 0)

    /// Milliseconds since the Unix epoch at `monotonic` (a recent `monotonicNanoseconds()`). Called under the lock.
    @inline(__always)
    func realtimeMilliseconds(atMonotonic monotonic: UInt64) -> Int64 {
        if monotonic &- realtimeBase.monotonic > 1_000_000 {
            realtimeBase = (Self.monotonicNanoseconds(), Self.realtimeNanoseconds())
        }
        let elapsed = Int64(bitPattern: monotonic) &- Int64(bitPattern: realtimeBase.monotonic)
        return (realtimeBase.realtime &+ elapsed) / 1_000_000
    }

    /// Milliseconds since the Unix epoch.
    static func nowMilliseconds() -> Int64 {
        realtimeNanoseconds() / 1_000_000
    }

    /// Nanoseconds since the Unix epoch.
    static func realtimeNanoseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }

    /// An empty effects record whose arrays keep the capacity of earlier commands', recording only what the node
    /// needs now: keys while someone watches or waits for one, commands while something consumes them. Called
    /// under the lock.
    @inline(__always)
    func takeSpareEffects() -> Effects {
        var effects = Effects()
        swap(&effects, &spareEffects)
        effects.recordsKeys = !watchedKeys.isEmpty || blocking.count > 0
        effects.recordsPropagation = propagates
        return effects
    }

    /// Gives a command's effects record back for reuse, once applied. Called under the lock.
    @inline(__always)
    func recycle(_ effects: inout Effects) {
        effects.clear()
        swap(&effects, &spareEffects)
    }

    /// Applies a command's effects: bumps WATCH versions. Called under the lock.
    func apply(_ effects: Effects) {
        stats.expiredKeys += effects.expiredCount
        dirty += effects.modifiedCount
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
    /// Error replies sent (INFO `total_error_replies`).
    var errorReplies = 0
    /// Clients closed for exceeding the query or output buffer limit, or idle past `timeout`.
    var clientsClosedForLimits = 0
}

// MARK: - Configuration, cron and limits

extension NodeState {
    /// Installs a configuration CONFIG SET validated, and applies what changes take effect at once.
    /// Called under the lock.
    func updateConfiguration(_ updated: NodeConfiguration) {
        let previous = configuration
        configuration = updated
        if previous.requirePass == nil && updated.requirePass != nil {
            // Clients connected before the password was set stay authenticated, as in Redis.
            authenticationWatermark = nextClientID
        }
        slowlog.trim(to: updated.slowlogMaxLength)
        connectionLimits.withLockedValue { $0 = ConnectionLimits(updated) }
    }

    /// CONFIG RESETSTAT: clears the INFO stats, commandstats and errorstats. Called under the lock.
    func resetStatistics() {
        stats = NodeStatistics()
        commandStats = Array(repeating: nil, count: CommandNumbers.redis70.count)
        errorStats.removeAll()
        instantaneous = InstantaneousMetrics()
    }

    /// The periodic job (Redis's `serverCron`, every 100 ms): active expiry, the instantaneous metrics, and
    /// closing clients idle longer than `timeout`. Takes the lock.
    func serverCron() {
        var idle: [ClientSession] = []
        lock.withLock {
            if activeExpireEnabled { activeExpire() }
            instantaneous.sample(
                now: Self.monotonicNanoseconds(), commands: stats.totalCommands, input: stats.netInputBytes,
                output: stats.netOutputBytes)
            if !monitors.isEmpty { monitors = monitors.filter { clients[$0.key] != nil } }
            let timeout = configuration.timeout
            if timeout > 0 {
                let limit = UInt64(timeout) * 1_000_000_000
                let now = Self.monotonicNanoseconds()
                for session in clients.values
                where now &- session.lastInteractionNanoseconds > limit && session.subscriptionCount == 0
                    && !session.isMonitor && !blocking.isBlocked(session)
                {
                    idle.append(session)
                }
                stats.clientsClosedForLimits += idle.count
            }
        }
        for session in idle { session.kill() }
    }

    /// Nanoseconds of a monotonic clock (durations, idle times).
    static func monotonicNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    /// Whether the client that sent a command must authenticate first: `NOAUTH Authentication required.` when
    /// `requirepass` is set and the client has not authenticated (commands flagged `no_auth` are allowed).
    func authenticationError(for spec: CommandSpec, session: ClientSession) -> RedisError? {
        guard configuration.requirePass != nil, !spec.flags.contains(.noAuth), !isAuthenticated(session) else {
            return nil
        }
        return RedisError("NOAUTH Authentication required.")
    }

    /// Whether `session` may run commands under the current `requirepass`.
    func isAuthenticated(_ session: ClientSession) -> Bool {
        if let explicit = session.authenticated { return explicit }
        return configuration.requirePass == nil || session.id < authenticationWatermark
    }

    /// Whether a client with `bufferedBytes` of replies not yet written to its socket must be closed
    /// (`client-output-buffer-limit`: the hard limit, or the soft limit held for its seconds). Called on the
    /// client's event loop, without the node lock.
    func outputBufferLimitReached(_ session: ClientSession, bufferedBytes: Int) -> Bool {
        guard bufferedBytes > 0 else {
            session.outputSoftLimitSince = nil
            return false
        }
        let limits = connectionLimits.withLockedValue { $0.output }
        let limit = session.subscriptionCount > 0 ? limits.pubsub : limits.normal
        if limit.hard > 0 && bufferedBytes >= limit.hard { return true }
        if limit.soft > 0 && bufferedBytes >= limit.soft {
            let now = Self.monotonicNanoseconds()
            guard let since = session.outputSoftLimitSince else {
                session.outputSoftLimitSince = now
                return limit.softSeconds == 0
            }
            return now &- since >= UInt64(limit.softSeconds) * 1_000_000_000
        }
        session.outputSoftLimitSince = nil
        return false
    }
}

/// The limits read by connection handlers on their event loops, outside the node lock.
struct ConnectionLimits: Sendable {
    var queryBuffer: Int
    var output: ClientOutputBufferLimits
    var protocolLimits: RESPLimits

    init(_ configuration: NodeConfiguration) {
        queryBuffer = configuration.clientQueryBufferLimit
        output = configuration.outputBufferLimits
        protocolLimits = configuration.protocolLimits
    }
}
