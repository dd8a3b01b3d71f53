import ClusterModel
import NIOCore

/// One command being executed: its arguments, the client, the node, the reply being written and the effects.
///
/// The spec, node and session outlive every invocation (the command table, the server, and the connection that
/// runs the command), so they are held without reference counting: an invocation is made and dropped for every
/// command, and retaining and releasing them was part of the ~20% of LPUSH's CPU spent in swift_retain/release.
struct Invocation {
    let args: [ByteBuffer]
    unowned(unsafe) let spec: CommandSpec
    unowned(unsafe) let node: NodeState
    unowned(unsafe) let session: ClientSession
    /// The caller's reply writer, lent for the command (the caller makes the invocation inside
    /// `withUnsafeMutablePointer(to: &reply)` and never lets it outlive that call): writing through it neither
    /// copies nor moves the writer, where moving it in and back out cost two retains and releases per command.
    let replyTarget: UnsafeMutablePointer<ReplyWriter>
    var effects = Effects()
    /// The command's time, in ms since the epoch; fixed for the whole command so expiry is consistent.
    let now: Int64
    /// Set by a handler that wants the connection closed after its reply (QUIT).
    var closeAfterReply = false

    /// The reply being written (the caller's writer).
    var reply: ReplyWriter {
        unsafeAddress { UnsafePointer(replyTarget) }
        nonmutating unsafeMutableAddress { replyTarget }
    }

    /// The client's selected database.
    var db: Database { node.databases[session.db] }

    /// The command's lowercase name as Redis prints it in errors (`cluster|setslot` for subcommands).
    var name: String { spec.name }

    /// Argument `i` as a String (lossy UTF-8), for option keywords and messages.
    func string(_ i: Int) -> String { String(buffer: args[i]) }

    /// Whether argument `i` equals `keyword`, ignoring ASCII case.
    func isKeyword(_ i: Int, _ keyword: StaticString) -> Bool {
        args[i].equalsIgnoringASCIICase(keyword)
    }

    /// Argument `i` as an integer, or `ERR value is not an integer or out of range`.
    func integer(_ i: Int) throws(RedisError) -> Int64 {
        guard let value = args[i].parseInt64() else { throw .notInteger }
        return value
    }

    /// Argument `i` as a float, or `ERR value is not a valid float`.
    func double(_ i: Int) throws(RedisError) -> Double {
        guard let value = RedisNumber.parseDouble(args[i]) else { throw .notFloat }
        return value
    }

    /// Looks a key up for reading, deleting it if expired; counts hits and misses.
    mutating func lookupRead(_ key: ByteBuffer) -> RedisObject? {
        let object = db.lookup(key, now: now, effects: &effects)
        if object == nil { node.stats.keyspaceMisses += 1 } else { node.stats.keyspaceHits += 1 }
        return object
    }

    /// Looks a key up for writing, deleting it if expired.
    mutating func lookupWrite(_ key: ByteBuffer) -> RedisObject? {
        db.lookup(key, now: now, effects: &effects)
    }

    /// Records that `key` in the selected db changed (WATCH, replication); `changes` counts toward
    /// `rdb_changes_since_last_save` as the command's Redis implementation counts (elements pushed, members added).
    mutating func touched(_ key: ByteBuffer, changes: Int = 1) {
        effects.modified(key: key, db: session.db, changes: changes)
    }

    /// Records the command itself (or an equivalent) as the change to propagate.
    mutating func propagate(_ command: [ByteBuffer]) {
        effects.propagate(db: session.db, command)
    }

    /// Propagates the command as received.
    mutating func propagateAsIs() {
        effects.propagate(db: session.db, args)
    }
}

extension ByteBuffer {
    /// Whether the readable bytes equal `keyword` ignoring ASCII case.
    func equalsIgnoringASCIICase(_ keyword: StaticString) -> Bool {
        guard readableBytes == keyword.utf8CodeUnitCount else { return false }
        return withUnsafeReadableBytes { bytes in
            let other = UnsafeRawBufferPointer(start: keyword.utf8Start, count: keyword.utf8CodeUnitCount)
            for i in 0..<bytes.count {
                let a = bytes[i]
                let b = other[i]
                if a == b { continue }
                let lower = a | 0x20
                if lower >= 0x61 && lower <= 0x7A && lower == b | 0x20 { continue }
                return false
            }
            return true
        }
    }
}

/// A command implementation.
typealias CommandHandler = (inout Invocation) throws(RedisError) -> Void

/// The node's command implementations, keyed by the command table's names (`get`, `cluster|setslot`).
struct CommandHandlers: @unchecked Sendable {
    private(set) var byName: [String: CommandHandler] = [:]
    /// The handlers by `CommandNumbers` number, for the lookup of every command. Wrapped in a struct: a closure
    /// stored directly as an array element is kept at the generic (maximal) abstraction, and reading it back
    /// allocates a reabstraction thunk's context (32 bytes) on every command; a struct field keeps its own type.
    private var bySlot: [RegisteredHandler?] = []

    private struct RegisteredHandler {
        let run: CommandHandler
    }

    mutating func register(_ name: String, _ handler: @escaping CommandHandler) {
        byName[name] = handler
        bySlot = []
    }

    func handler(for spec: CommandSpec) -> CommandHandler? {
        handler(for: spec, number: CommandNumbers.redis70.number(of: spec))
    }

    /// The handler of `spec`, whose `CommandNumbers` number the caller already looked up.
    func handler(for spec: CommandSpec, number: Int?) -> CommandHandler? {
        if let number, number < bySlot.count { return bySlot[number]?.run }
        return byName[spec.name]
    }

    /// Fills the per-number table once every handler is registered.
    private mutating func index() {
        bySlot = CommandNumbers.redis70.specs.map { spec in byName[spec.name].map(RegisteredHandler.init(run:)) }
    }

    /// Every family's commands.
    static let standard: CommandHandlers = {
        var handlers = CommandHandlers()
        registerServerCommands(&handlers)
        registerStringCommands(&handlers)
        registerKeyCommands(&handlers)
        registerHashCommands(&handlers)
        registerListCommands(&handlers)
        registerSetCommands(&handlers)
        registerSortedSetCommands(&handlers)
        registerTransactionCommands(&handlers)
        registerPubSubCommands(&handlers)
        registerClusterCommands(&handlers)
        handlers.index()
        return handlers
    }()
}
