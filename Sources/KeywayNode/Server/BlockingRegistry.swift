import ClusterModel
import DequeModule
import NIOCore

/// What a blocked client does once one of its keys holds data: the non-blocking form of its command, applied to
/// that key (Redis's `serveClientBlockedOnList` / `serveClientBlockedOnSortedSetKey`).
enum BlockedOperation {
    /// BLPOP (`left`) and BRPOP: reply `[key, element]`, propagate LPOP/RPOP.
    case pop(left: Bool)
    /// BLMOVE and BRPOPLPUSH (`legacy`): reply the element, propagate LMOVE/RPOPLPUSH.
    case move(destination: ByteBuffer, fromLeft: Bool, toLeft: Bool, legacy: Bool)
    /// BLMPOP: reply `[key, [elements]]`, propagate LPOP/RPOP with a count.
    case multiPop(left: Bool, count: Int)
    /// BZPOPMIN (`min`) and BZPOPMAX: reply `[key, member, score]`.
    case zsetPop(min: Bool)
    /// BZMPOP: reply `[key, [[member, score]...]]`.
    case zsetMultiPop(min: Bool, count: Int)

    /// True when the client waits for a list, false for a sorted set.
    var waitsForList: Bool {
        switch self {
        case .pop, .move, .multiPop: return true
        case .zsetPop, .zsetMultiPop: return false
        }
    }
}

/// A blocking command that found nothing to pop and asks to wait (set by the handler, picked up by the dispatcher).
struct BlockRequest {
    let keys: [ByteBuffer]
    /// Relative timeout in milliseconds; 0 waits forever.
    let timeoutMilliseconds: Int64
    let operation: BlockedOperation
}

/// A client waiting in BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, BZPOPMIN, BZPOPMAX or BZMPOP.
///
/// Mutated only under `NodeState.lock`.
final class BlockedClient: @unchecked Sendable {
    let session: ClientSession
    let spec: CommandSpec
    let db: Int
    /// The distinct keys waited for, in argument order, as owned copies.
    let keys: [ByteBuffer]
    let operation: BlockedOperation
    /// Writes the final reply on the client's event loop and lets it run its next (pipelined) commands.
    let resume: @Sendable (ByteBuffer) -> Void
    var timeout: Scheduled<Void>?
    /// False once served, timed out, unblocked or disconnected.
    var isBlocked = true

    init(
        session: ClientSession, spec: CommandSpec, db: Int, keys: [ByteBuffer], operation: BlockedOperation,
        resume: @escaping @Sendable (ByteBuffer) -> Void
    ) {
        self.session = session
        self.spec = spec
        self.db = db
        self.keys = keys
        self.operation = operation
        self.resume = resume
    }
}

/// Every blocked client, by the keys it waits for (FIFO per key, as Redis serves them) and by client id.
///
/// Accessed only under `NodeState.lock`. A push signals its key ready (`Effects.signalReady`); after the command
/// the dispatcher calls `serveReady`, which hands elements to the first-blocked clients of each ready key.
final class BlockingRegistry: @unchecked Sendable {
    private(set) var waiting: [WatchedKey: Deque<BlockedClient>] = [:]
    private(set) var byClient: [Int64: BlockedClient] = [:]

    /// Whether the running command may block: false inside EXEC, scripts, or for internal clients
    /// (Redis's `CLIENT_DENY_BLOCKING`). Set by the dispatcher before each command.
    var mayBlock = false
    /// True while EXEC runs its queue (Redis's CLIENT_MULTI during EXEC: SUBSCRIBE is allowed there).
    var inTransaction = false
    /// The block asked for by the running command, taken by the dispatcher after the handler returns.
    var pending: BlockRequest?

    /// The number of blocked clients (`blocked_clients` in INFO).
    var count: Int { byClient.count }

    /// The number of distinct keys clients are blocked on (`total_blocking_keys` in INFO, Redis 7.2).
    var keyCount: Int { waiting.count }

    /// Whether `session` is blocked.
    func isBlocked(_ session: ClientSession) -> Bool { byClient[session.id] != nil }

    /// Registers a blocked client and, with a timeout, schedules its expiry on the client's event loop.
    func block(_ client: BlockedClient, timeoutMilliseconds: Int64, node: NodeState) {
        byClient[client.session.id] = client
        for key in client.keys {
            waiting[WatchedKey(db: client.db, key: key), default: []].append(client)
        }
        // Beyond a few decades the deadline is as good as forever (and TimeAmount would overflow).
        if timeoutMilliseconds > 0 && timeoutMilliseconds < 1_000_000_000_000 {
            client.timeout = client.session.eventLoop.scheduleTask(in: .milliseconds(timeoutMilliseconds)) {
                [weak client] in
                guard let client else { return }
                node.timeOut(client)
            }
        }
    }

    /// Forgets `client` (served, timed out, unblocked or disconnected); cancels its timer.
    func remove(_ client: BlockedClient) {
        guard client.isBlocked else { return }
        client.isBlocked = false
        client.timeout?.cancel()
        client.timeout = nil
        byClient.removeValue(forKey: client.session.id)
        for key in client.keys {
            let watched = WatchedKey(db: client.db, key: key)
            guard var queue = waiting.removeValue(forKey: watched) else { continue }
            if let index = queue.firstIndex(where: { $0 === client }) { queue.remove(at: index) }
            if !queue.isEmpty { waiting[watched] = queue }
        }
    }

    /// Forgets the blocked state of a client that disconnected.
    func removeClient(id: Int64) {
        if let client = byClient[id] { remove(client) }
    }

    /// The clients blocked on `key` of `db`, first-blocked first.
    func clients(blockedOn key: ByteBuffer, db: Int) -> Deque<BlockedClient>? {
        waiting[WatchedKey(db: db, key: key)]
    }
}

extension NodeState {
    /// The blocked clients. (Kept in the pub/sub registry until NodeState gets a field of its own.)
    var blocking: BlockingRegistry { pubsub.blocking }

    /// Replies to a blocked client whose timeout expired with a null array, as Redis does.
    func timeOut(_ client: BlockedClient) {
        let reply: ByteBuffer? = lock.withLock {
            guard client.isBlocked else { return nil }
            blocking.remove(client)
            var writer = ReplyWriter(buffer: ByteBuffer(), resp3: client.session.resp3)
            writer.nullArray()
            return writer.buffer
        }
        if let reply { client.resume(reply) }
    }

    /// CLIENT UNBLOCK: ends a client's wait with a timeout reply (null array) or, with `error`, with
    /// `-UNBLOCKED client unblocked via CLIENT UNBLOCK`. Returns false when the client is not blocked.
    /// Called under the lock.
    func unblockClient(id: Int64, error: Bool) -> Bool {
        guard let client = blocking.byClient[id] else { return false }
        blocking.remove(client)
        var writer = ReplyWriter(buffer: ByteBuffer(), resp3: client.session.resp3)
        if error {
            writer.error(RedisError("UNBLOCKED client unblocked via CLIENT UNBLOCK"))
        } else {
            writer.nullArray()
        }
        client.resume(writer.buffer)
        return true
    }

    /// Serves clients blocked on keys that received data during the last command (Redis's
    /// `handleClientsBlockedOnKeys`), including keys made ready while serving (BLMOVE's destination).
    /// Called under the lock, after the command's effects were applied.
    func serveReadyKeys(_ ready: [(db: Int, key: ByteBuffer)]) {
        let registry = blocking
        // Only keys someone waits for, each once until served (Redis's db->ready_keys).
        var queue: [(db: Int, key: ByteBuffer)] = []
        var index = 0
        func enqueue(_ signalled: [(db: Int, key: ByteBuffer)]) {
            for entry in signalled where registry.waiting[WatchedKey(db: entry.db, key: entry.key)] != nil {
                if !queue[index...].contains(where: { $0.db == entry.db && $0.key == entry.key }) { queue.append(entry) }
            }
        }
        enqueue(ready)
        while index < queue.count {
            let (db, key) = queue[index]
            index += 1
            guard let clients = registry.clients(blockedOn: key, db: db) else { continue }
            let database = databases[db]
            var lookupEffects = Effects()
            let object = database.lookup(key, now: Self.nowMilliseconds(), effects: &lookupEffects)
            if !lookupEffects.isEmpty { apply(lookupEffects) }
            let servesList: Bool
            switch object {
            case .list?: servesList = true
            case .zset?: servesList = false
            default: continue
            }
            for client in clients where client.isBlocked && client.operation.waitsForList == servesList {
                var reply = ReplyWriter(buffer: ByteBuffer(), resp3: client.session.resp3)
                let now = Self.nowMilliseconds()
                let served = withUnsafeMutablePointer(to: &reply) { replyTarget -> Effects? in
                    var invocation = Invocation(
                        args: [], spec: client.spec, node: self, session: client.session, replyTarget: replyTarget, now: now)
                    return serveBlocked(client, key: key, invocation: &invocation) ? invocation.effects : nil
                }
                guard let effects = served else { continue }
                registry.remove(client)
                client.session.lastCommandSpec = client.spec
                apply(effects)
                enqueue(effects.ready)
                client.resume(reply.buffer)
                // Stop when the key was emptied (and deleted).
                if !database.exists(key, now: now) { break }
            }
        }
    }

    /// Serves the clients blocked on keys of `db` that now hold data: for commands that change a whole database
    /// at once (SWAPDB; Redis's `scanDatabaseForReadyKeys`). Called under the lock.
    func serveBlockedClients(inDatabase db: Int) {
        let keys = blocking.waiting.keys.filter { $0.db == db }.map { (db: $0.db, key: $0.key) }
        if !keys.isEmpty { serveReadyKeys(keys) }
    }

    /// Runs the non-blocking form of `client`'s command on `key`. False when there was nothing to serve.
    private func serveBlocked(_ client: BlockedClient, key: ByteBuffer, invocation: inout Invocation) -> Bool {
        switch client.operation {
        case .pop, .move, .multiPop:
            return serveBlockedListClient(client.operation, key: key, invocation: &invocation)
        case .zsetPop, .zsetMultiPop:
            return serveBlockedSortedSetClient(client.operation, key: key, invocation: &invocation)
        }
    }
}

extension Invocation {
    /// Whether this command may block (false inside MULTI/EXEC, where blocking commands return at once).
    var mayBlock: Bool { node.blocking.mayBlock }

    /// Asks the dispatcher to block the client on `keys` instead of replying; only when `mayBlock`.
    mutating func block(on keys: ArraySlice<ByteBuffer>, timeoutMilliseconds: Int64, operation: BlockedOperation) {
        node.blocking.pending = BlockRequest(
            keys: Array(keys), timeoutMilliseconds: timeoutMilliseconds, operation: operation)
    }
}

/// Parses a blocking command's timeout in seconds as Redis 7.0 does (`getTimeoutFromObjectOrReply`): a float,
/// rounded up to whole milliseconds; 0 waits forever.
func parseBlockingTimeout(_ argument: ByteBuffer) throws(RedisError) -> Int64 {
    guard let seconds = RedisNumber.parseDouble(argument) else {
        throw RedisError("ERR timeout is not a float or out of range")
    }
    let milliseconds = (seconds * 1000).rounded(.up)
    // Redis casts to long long: anything out of range (or infinite) becomes LLONG_MIN, hence "negative".
    guard milliseconds.isFinite, milliseconds >= 0, milliseconds < 9.2233720368547758e18 else {
        throw RedisError("ERR timeout is negative")
    }
    return Int64(milliseconds)
}
