import ClusterModel
import NIOCore
import RESP

/// What the connection does after a command.
enum CommandOutcome {
    case reply
    /// Reply, then close the connection (QUIT, protocol errors).
    case replyAndClose
}

/// Looks commands up, checks arity, transactions and the pub/sub context, and runs them under the node lock.
struct Dispatcher {
    let node: NodeState

    /// Executes one request for `session`, appending its reply to `reply`.
    func execute(_ args: [ByteBuffer], session: ClientSession, reply: inout ReplyWriter) -> CommandOutcome {
        guard let first = args.first else { return .reply }
        node.lock.lock()
        defer { node.lock.unlock() }
        node.stats.totalCommands += 1
        session.commandsProcessed += 1
        switch resolve(args, first: first) {
        case .failure(let error):
            if session.transaction != nil { session.transactionDirty = true }
            reply.error(error)
            return .reply
        case .success(let spec):
            return run(spec, args, session: session, reply: &reply)
        }
    }

    /// Finds the command (and subcommand) and checks its arity, with Redis's error texts.
    func resolve(_ args: [ByteBuffer], first: ByteBuffer) -> Result<CommandSpec, RedisError> {
        do {
            return .success(try CommandTable.redis70.resolve(args))
        } catch {
            return .failure(RedisError(bytes: error.messageBytes))
        }
    }

    private func run(
        _ spec: CommandSpec, _ args: [ByteBuffer], session: ClientSession, reply: inout ReplyWriter
    ) -> CommandOutcome {
        let name = spec.name
        if session.transaction != nil, !Self.transactionControl.contains(spec.containerNameString) {
            session.transaction?.append(args)
            reply.simple("QUEUED")
            return .reply
        }
        if session.inPubSubContext, !Self.allowedInPubSub.contains(spec.containerNameString) {
            reply.error(RedisError(
                "ERR Can't execute '\(name)': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"))
            return .reply
        }
        guard let handler = node.handlers.handler(for: spec) else {
            reply.error(RedisError("ERR unknown command '\(name)', with args beginning with: "))
            return .reply
        }
        var invocation = Invocation(
            args: args, spec: spec, node: node, session: session, reply: reply, now: NodeState.nowMilliseconds())
        do {
            try handler(&invocation)
        } catch {
            invocation.reply.error(error)
        }
        session.lastCommand = name
        if !invocation.effects.isEmpty { node.apply(invocation.effects) }
        reply = invocation.reply
        return invocation.closeAfterReply ? .replyAndClose : .reply
    }

    static let transactionControl: Set<String> = ["exec", "discard", "multi", "watch", "quit", "reset"]
    static let allowedInPubSub: Set<String> = [
        "subscribe", "unsubscribe", "psubscribe", "punsubscribe", "ssubscribe", "sunsubscribe", "ping", "quit",
        "reset",
    ]
}

extension CommandSpec {
    /// The container's name for a subcommand (`cluster` for `cluster|info`), else the name.
    var containerNameString: String { String(containerName) }
}
