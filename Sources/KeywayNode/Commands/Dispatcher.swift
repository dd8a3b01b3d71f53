import ClusterModel
import NIOCore
import RESP

/// What the connection does after a command.
enum CommandOutcome {
    case reply
    /// Reply, then close the connection (QUIT, protocol errors).
    case replyAndClose
    /// The command blocked (BLPOP on empty lists...): no reply yet. The client's later commands wait until
    /// `Dispatcher.resume` delivers the reply (served, timed out or unblocked).
    case blocked
}

/// Looks commands up, checks arity, transactions and the pub/sub context, and runs them under the node lock.
struct Dispatcher {
    let node: NodeState
    /// Delivers the reply of a blocked command and lets the client run its next commands, from any thread.
    /// Nil for clients that cannot block (internal callers): their blocking commands return at once, as in MULTI.
    let resume: (@Sendable (ByteBuffer) -> Void)?
    /// Push frames waiting for the client (pub/sub messages), written before its next reply so that pushes and
    /// replies reach it in the order they were produced.
    let pushes: ClientPushQueue?

    /// The node's registry of blocked clients (it lives as long as the node), checked around every command.
    unowned(unsafe) let blocking: BlockingRegistry

    init(node: NodeState, resume: (@Sendable (ByteBuffer) -> Void)? = nil, pushes: ClientPushQueue? = nil) {
        self.node = node
        self.blocking = node.blocking
        self.resume = resume
        self.pushes = pushes
    }

    /// Executes one request for `session`, appending its reply to `reply`. The caller holds the node lock (the
    /// connection handler takes it once for a run of pipelined requests).
    func executeLocked(_ args: [ByteBuffer], session: ClientSession, reply: inout ReplyWriter) -> CommandOutcome {
        var clock: UInt64 = 0
        return executeLocked(args, session: session, reply: &reply, clock: &clock)
    }

    /// `executeLocked` for a run of commands under one hold of the lock: `clock` is the monotonic time at which
    /// the previous command of the run ended (0 for the first: the clock is read), and is set to this one's end.
    /// One clock read per command instead of one at each end.
    func executeLocked(
        _ args: [ByteBuffer], session: ClientSession, reply: inout ReplyWriter, clock: inout UInt64
    ) -> CommandOutcome {
        guard !args.isEmpty else { return .reply }
        if let pushes, session.subscriptionCount > 0 { pushes.drain(into: &reply.buffer) }
        node.stats.totalCommands += 1
        session.commandsProcessed += 1
        // Statistics, slow log, MONITOR and CLIENT REPLY (Slowlog.swift) around every request.
        let ticket = node.commandWillRun(session: session, reply: reply, now: clock != 0 ? clock : NodeState.monotonicNanoseconds())
        let outcome: CommandOutcome
        var resolved: CommandSpec?
        // The spec's number, looked up once for the handler and the statistics (each lookup copies the table).
        var number: Int?
        switch resolveCached(args, session: session, number: &number) {
        case .failure(let error):
            reject(error, args: args, session: session, reply: &reply)
            outcome = .reply
        case .success(let spec):
            resolved = spec
            if let error = node.authenticationError(for: spec, session: session) {
                reject(error, args: args, session: session, reply: &reply)
                outcome = .reply
            } else {
                outcome = run(spec, number: number, args, session: session, reply: &reply, started: ticket.started)
            }
        }
        clock = node.commandDidRun(ticket, spec: resolved, number: number, args: args, session: session, reply: &reply)
        return outcome
    }

    /// `resolve`, remembering the last top-level command per client: a pipeline mostly repeats one command, and
    /// comparing its name's bytes is cheaper than the table's case-insensitive lookup and the number's. Sets
    /// `number` to the spec's `CommandNumbers` number.
    @inline(__always)
    private func resolveCached(_ args: [ByteBuffer], session: ClientSession, number: inout Int?)
        -> Result<CommandSpec, RedisError>
    {
        if let spec = session.lastResolved.spec(for: args[0]) {
            guard spec.acceptsArgumentCount(args.count) else {
                return .failure(RedisError(bytes: CommandError.wrongNumberOfArguments(spec).messageBytes))
            }
            number = session.lastResolved.number
            return .success(spec)
        }
        let result = resolve(args)
        if case .success(let spec) = result {
            number = CommandNumbers.redis70.number(of: spec)
            if !spec.isSubcommand { session.lastResolved = ResolvedName(args[0], spec: spec, number: number) }
        }
        return result
    }

    /// Finds the command (and subcommand) and checks its arity, with Redis's error texts.
    func resolve(_ args: [ByteBuffer]) -> Result<CommandSpec, RedisError> {
        do {
            return .success(try CommandTable.redis70.resolve(args))
        } catch {
            return .failure(RedisError(bytes: error.messageBytes))
        }
    }

    /// Redis's `rejectCommand`: inside MULTI the transaction is flagged (EXEC will abort), and a rejected EXEC
    /// itself discards the transaction with `EXECABORT Transaction discarded because of: <reason>`.
    private func reject(_ error: RedisError, args: [ByteBuffer], session: ClientSession, reply: inout ReplyWriter) {
        guard session.transaction != nil else { return reply.error(error) }
        guard args[0].equalsIgnoringASCIICase("exec") else {
            session.transactionDirty = true
            return reply.error(error)
        }
        node.discardTransaction(session)
        var reason = error.bytes[...]
        // Reasons Redis formats itself carry no code ("wrong number of arguments..."); shared ones keep theirs.
        if reason.starts(with: "ERR ".utf8) { reason = reason.dropFirst(4) }
        reply.error(RedisError(bytes: Array("EXECABORT Transaction discarded because of: ".utf8) + reason))
    }

    private func run(
        _ spec: CommandSpec, number: Int?, _ args: [ByteBuffer], session: ClientSession, reply: inout ReplyWriter,
        started: UInt64
    ) -> CommandOutcome {
        let specID = ObjectIdentifier(spec)
        // ASKING holds for the next command only.
        let asking = session.asking
        if spec !== Self.askingSpec { session.asking = false }
        // The checks run in the order of Redis's processCommand; a rejected command inside MULTI makes EXEC fail.
        if session.transaction != nil && spec.flags.contains(.noMulti) {
            session.transactionDirty = true
            reply.error(RedisError("ERR Command not allowed inside a transaction"))
            return .reply
        }
        // Cluster redirection (MOVED, ASK, CROSSSLOT incl. the shard channels of SSUBSCRIBE/SPUBLISH...) comes
        // before queueing and the pub/sub context check, as in Redis.
        if let redirect = node.clusterRedirection(for: spec, args, session: session, asking: asking) {
            if spec.name == "exec" {
                session.transaction = nil
                session.transactionDirty = false
                node.unwatchAll(session)
            } else if session.transaction != nil {
                session.transactionDirty = true
            }
            reply.error(redirect)
            return .reply
        }
        if session.inPubSubContext, !Self.allowedInPubSub.contains(specID) {
            if session.transaction != nil { session.transactionDirty = true }
            reply.error(RedisError(
                "ERR Can't execute '\(spec.name)': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"))
            return .reply
        }
        if session.transaction != nil, !Self.transactionControl.contains(specID) {
            session.transaction?.append(args)
            reply.simple("QUEUED")
            return .reply
        }
        guard let handler = node.handlers.handler(for: spec, number: number) else {
            reply.error(RedisError("ERR unknown command '\(spec.name)', with args beginning with: "))
            return .reply
        }
        let now = node.realtimeMilliseconds(atMonotonic: started)
        return withUnsafeMutablePointer(to: &reply) {
            invoke(handler, spec, args, session: session, reply: $0, now: now)
        }
    }

    /// Runs the handler with an invocation writing to `reply`, then applies its effects.
    @inline(__always)
    private func invoke(
        _ handler: CommandHandler, _ spec: CommandSpec, _ args: [ByteBuffer], session: ClientSession,
        reply: UnsafeMutablePointer<ReplyWriter>, now: Int64
    ) -> CommandOutcome {
        var invocation = Invocation(
            args: args, spec: spec, node: node, session: session, replyTarget: reply, effects: node.takeSpareEffects(),
            now: now)
        blocking.mayBlock = resume != nil
        do throws(RedisError) {
            try handler(&invocation)
        } catch {
            invocation.reply.error(error)
        }
        blocking.mayBlock = false
        session.lastCommandSpec = spec
        var outcome: CommandOutcome = invocation.closeAfterReply ? .replyAndClose : .reply
        if let request = blocking.pending {
            blocking.pending = nil
            if let resume {
                block(session, spec: spec, request, resume: resume)
                outcome = .blocked
            }
        }
        if !invocation.effects.isEmpty {
            node.apply(invocation.effects)
            // Keys signalled ready (pushes, ZADD) and, to cover every way a key gets a value (RENAME, MOVE, COPY,
            // RESTORE...), every modified key that someone waits for.
            if blocking.count > 0 && !(invocation.effects.ready.isEmpty && invocation.effects.modified.isEmpty) {
                node.serveReadyKeys(invocation.effects.ready + invocation.effects.modified)
            }
        }
        node.recycle(&invocation.effects)
        return outcome
    }

    /// Registers `session` as blocked on the request's distinct keys.
    private func block(
        _ session: ClientSession, spec: CommandSpec, _ request: BlockRequest,
        resume: @escaping @Sendable (ByteBuffer) -> Void
    ) {
        var keys: [ByteBuffer] = []
        keys.reserveCapacity(request.keys.count)
        for key in request.keys where !keys.contains(key) { keys.append(key.compacted()) }
        let client = BlockedClient(
            session: session, spec: spec, db: session.db, keys: keys, operation: request.operation, resume: resume)
        node.blocking.block(client, timeoutMilliseconds: request.timeoutMilliseconds, node: node)
    }

    private static let askingSpec = CommandTable.redis70.command(named: "asking")

    /// Commands run at once inside MULTI instead of being queued.
    static let transactionControl: Set<ObjectIdentifier> = specs(["exec", "discard", "multi", "watch", "quit", "reset"])
    /// Commands a RESP2 client with subscriptions may send.
    static let allowedInPubSub: Set<ObjectIdentifier> = specs([
        "subscribe", "unsubscribe", "psubscribe", "punsubscribe", "ssubscribe", "sunsubscribe", "ping", "quit",
        "reset",
    ])

    private static func specs(_ names: [String]) -> Set<ObjectIdentifier> {
        Set(names.compactMap { CommandTable.redis70.command(named: $0) }.map(ObjectIdentifier.init))
    }
}

extension NodeState {
    /// Runs one queued command inside EXEC: no queueing, no pub/sub context check, no blocking (blocking commands
    /// answer as on a timeout). The reply goes to `reply`; the effects are added to `effects`, to be applied
    /// once with EXEC's. Called under the lock.
    func runQueuedCommand(
        _ args: [ByteBuffer], session: ClientSession, now: Int64, reply: inout ReplyWriter, effects: inout Effects
    ) {
        stats.totalCommands += 1
        let spec: CommandSpec
        do {
            spec = try CommandTable.redis70.resolve(args)
        } catch {
            // Checked when queued; only reachable if the table changed in between.
            return reply.error(RedisError(bytes: error.messageBytes))
        }
        let number = CommandNumbers.redis70.number(of: spec)
        guard let handler = handlers.handler(for: spec, number: number) else {
            return reply.error(RedisError("ERR unknown command '\(spec.name)', with args beginning with: "))
        }
        // Statistics, slow log and MONITOR count each command of the transaction, as Redis's call() does; CLIENT
        // REPLY must not cut replies out of EXEC's array, so it applies only after EXEC.
        let replyMode = session.replyMode
        session.replyMode = .on
        let ticket = commandWillRun(session: session, reply: reply)
        let produced = withUnsafeMutablePointer(to: &reply) { replyTarget in
            var invocation = Invocation(args: args, spec: spec, node: self, session: session, replyTarget: replyTarget, now: now)
            blocking.mayBlock = false
            do throws(RedisError) {
                try handler(&invocation)
            } catch {
                invocation.reply.error(error)
            }
            return invocation.effects
        }
        blocking.pending = nil
        session.lastCommandSpec = spec
        let modeSetByCommand = session.replyMode
        session.replyMode = .on
        commandDidRun(ticket, spec: spec, number: number, args: args, session: session, reply: &reply)
        session.replyMode = modeSetByCommand != .on ? modeSetByCommand : replyMode
        if !produced.isEmpty { effects.add(produced) }
    }
}

/// The request bytes of the name a client last used for a top-level command, and what they resolved to
/// (`Dispatcher.resolveCached`). Only names of up to 24 bytes that resolve to a command with no subcommands are
/// remembered, in three words and a length (the inline form of `CompactBytes`): the struct holds no counted
/// reference, so reading it out of the session for every command copies a few words and retains nothing.
struct ResolvedName {
    private var words: (UInt64, UInt64, UInt64) = (0, 0, 0)
    private var count: UInt8 = 0
    /// The command table's specs live as long as the process.
    private unowned(unsafe) var resolved: CommandSpec?
    private(set) var number: Int?

    init() {}

    init(_ name: ByteBuffer, spec: CommandSpec, number: Int?) {
        guard !spec.isContainer, case .inline(let w0, let w1, let w2, let count) = CompactBytes(referencing: name)
        else { return }
        words = (w0, w1, w2)
        self.count = count
        resolved = spec
        self.number = number
    }

    /// The spec when `name` has exactly the bytes remembered (never a container's: its subcommand decides).
    @inline(__always)
    func spec(for name: ByteBuffer) -> CommandSpec? {
        guard let resolved, name.readableBytes <= CompactBytes.inlineCapacity,
            case .inline(let w0, let w1, let w2, let count) = CompactBytes(referencing: name),
            w0 == words.0 && w1 == words.1 && w2 == words.2 && count == self.count
        else { return nil }
        return resolved
    }
}
