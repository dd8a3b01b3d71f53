import ClusterModel
import Foundation
import NIOCore

/// The state of one client connection: selected db, protocol, name, MULTI queue, subscriptions.
///
/// Mutated only by commands, which run under `NodeState`'s lock; read by CLIENT LIST under the same lock.
final class ClientSession: @unchecked Sendable {
    let id: Int64
    let address: String
    let localAddress: String
    let createdAt: Date
    /// The event loop of the client's channel, where replies and pushes for it are written.
    let eventLoop: any EventLoop
    /// Writes a frame to the client from any thread (pub/sub messages, unblocked replies).
    let deliver: @Sendable (ByteBuffer) -> Void
    /// Closes the client's connection from any thread (CLIENT KILL).
    let kill: @Sendable () -> Void

    var db = 0
    var resp3 = false
    var name: String?
    var libName: String?
    var libVersion: String?
    /// The last command run (CLIENT LIST `cmd`); the command table's specs live as long as the process.
    unowned(unsafe) var lastCommandSpec: CommandSpec?
    var lastCommand: String { lastCommandSpec?.name ?? "NULL" }
    /// The name the client last used for a top-level command, resolved (`Dispatcher.resolveCached`).
    var lastResolved = ResolvedName()
    var lastInteraction = Date()
    var commandsProcessed = 0
    /// True after ASKING, for the next command only.
    var asking = false
    /// True after READONLY (cluster replica reads).
    var readOnly = false
    /// Set by QUIT and CLIENT KILL: close after the pending replies are written.
    var closeRequested = false

    /// Explicit authentication state after AUTH, HELLO AUTH or RESET; nil = decided by `requirepass` and the
    /// time the client connected (`NodeState.isAuthenticated`).
    var authenticated: Bool?
    /// CLIENT REPLY: whether replies are sent.
    var replyMode = ReplyMode.on
    /// CLIENT NO-EVICT.
    var noEvict = false
    /// Monotonic time of the last command (CLIENT LIST `idle`, the `timeout` parameter).
    var lastInteractionNanoseconds = NodeState.monotonicNanoseconds()
    /// When the output buffer went over the soft limit (client-output-buffer-limit); event loop only.
    var outputSoftLimitSince: UInt64?
    /// True in MONITOR mode.
    var isMonitor = false
    /// The arguments of the command being run, for CLIENT LIST's `argv-mem` of the calling client.
    var currentArgumentBytes = 0

    /// The port of the local address the client connected to (the node's listening port).
    var localPort: Int? {
        guard let colon = localAddress.lastIndex(of: ":") else { return nil }
        return Int(localAddress[localAddress.index(after: colon)...])
    }

    /// Whether the client connects from the loopback interface (`enable-debug-command local`).
    var isLocal: Bool {
        address.hasPrefix("127.") || address.hasPrefix("[::1]") || address.hasPrefix("[::ffff:127.")
    }

    /// MULTI state: nil outside a transaction.
    var transaction: [[ByteBuffer]]?
    /// A queued command failed to queue (EXECABORT at EXEC).
    var transactionDirty = false
    /// Keys watched by WATCH with the version each had.
    var watched: [WatchedKey: UInt64] = [:]

    var channels: Set<ByteBuffer> = []
    var patterns: Set<ByteBuffer> = []
    var shardChannels: Set<ByteBuffer> = []
    var subscriptionCount: Int { channels.count + patterns.count + shardChannels.count }
    /// RESP2 clients with subscriptions may only send (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, PING, QUIT and RESET.
    var inPubSubContext: Bool { !resp3 && subscriptionCount > 0 }

    init(
        id: Int64, address: String, localAddress: String, eventLoop: any EventLoop,
        deliver: @escaping @Sendable (ByteBuffer) -> Void, kill: @escaping @Sendable () -> Void
    ) {
        self.id = id
        self.address = address
        self.localAddress = localAddress
        self.createdAt = Date()
        self.eventLoop = eventLoop
        self.deliver = deliver
        self.kill = kill
    }
}

/// CLIENT REPLY ON | OFF | SKIP.
enum ReplyMode {
    case on
    case off
    /// Set by CLIENT REPLY SKIP: the next command's reply is dropped.
    case skipNext
    /// The command running now has its reply dropped, then replies resume.
    case skipping
}

/// A key in one database, for WATCH bookkeeping.
struct WatchedKey: Hashable {
    let db: Int
    let key: ByteBuffer
}
