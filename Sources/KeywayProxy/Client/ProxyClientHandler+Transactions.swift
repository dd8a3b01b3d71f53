import ClusterModel
import NIOCore
import RESP

/// A MULTI in progress: commands are checked and queued by the proxy, then sent with MULTI/EXEC in one go to the
/// primary of their slot.
struct TransactionState {
    var queued: [ByteBuffer] = []
    /// The slot every queued key is in (and the watched keys' slot), once known.
    var slot: Int?
    /// A command was rejected while queuing: EXEC answers EXECABORT.
    var dirty = false
}

extension ProxyClientHandler {
    func transactionCommand(_ spec: CommandSpec, argv: [ByteBuffer], frame: ByteBuffer, seq: Int) {
        switch spec.name {
        case "multi":
            guard transaction == nil else {
                reply(seq, error: "ERR MULTI calls can not be nested")
                return
            }
            transaction = TransactionState(slot: watch?.slot)
            replyOK(seq)
        case "discard":
            guard transaction != nil else {
                reply(seq, error: "ERR DISCARD without MULTI")
                return
            }
            transaction = nil
            unwatchSilently()
            replyOK(seq)
        case "exec":
            guard let state = transaction else {
                reply(seq, error: "ERR EXEC without MULTI")
                return
            }
            transaction = nil
            guard !state.dirty else {
                unwatchSilently()
                reply(seq, error: "EXECABORT Transaction discarded because of previous errors.")
                return
            }
            execute(state, seq: seq, attempt: 0)
        case "watch":
            guard transaction == nil else {
                reply(seq, error: "ERR WATCH inside MULTI is not allowed")
                return
            }
            switch slot(of: spec, argv: argv) {
            case .crossSlot, .none:
                deliver(ProxyErrors.crossSlot.base, seq: seq)
            case .slot(let slot):
                if let watch, watch.slot != slot {
                    deliver(ProxyErrors.crossSlot.base, seq: seq)
                    return
                }
                sendWatch(frame, slot: slot, seq: seq, attempt: 0)
            }
        case "unwatch":
            if let watch {
                watch.connection.send(
                    frame, InFlight(sink: self, tag: seq, request: frame, slot: -1, attempts: 0, kind: .raw, lane: .shared, resp3: resp3))
                transactionConnection = watch.connection
                self.watch = nil
            } else {
                replyOK(seq)
            }
        default:
            reply(seq, error: "ERR unknown transaction command")
        }
    }

    /// Checks a command sent inside MULTI as Redis does when queuing it, and queues it.
    func queueInTransaction(_ spec: CommandSpec, argv: [ByteBuffer], frame: ByteBuffer, seq: Int) {
        guard spec.acceptsArgumentCount(argv.count) else {
            transaction?.dirty = true
            reply(seq, error: CommandError.wrongNumberOfArguments(spec).message)
            return
        }
        let refused: Bool
        switch spec.routing {
        case .pubSub: refused = spec.name != "spublish"
        case .unsupported: refused = true
        case .local: refused = !["ping", "echo", "time"].contains(spec.name)
        default: refused = false
        }
        if refused {
            transaction?.dirty = true
            reply(seq, error: "ERR '\(spec.name.uppercased())' inside MULTI is not supported through keyway proxy")
            return
        }
        switch slot(of: spec, argv: argv) {
        case .crossSlot:
            transaction?.dirty = true
            deliver(ProxyErrors.crossSlot.base, seq: seq)
            return
        case .slot(let slot):
            if let current = transaction?.slot, current != slot {
                transaction?.dirty = true
                deliver(ProxyErrors.crossSlot.base, seq: seq)
                return
            }
            transaction?.slot = slot
        case .none:
            break
        }
        transaction?.queued.append(frame)
        deliver(Self.queued, seq: seq)
    }

    private func unwatchSilently() {
        if let watch {
            watch.connection.sendInternal(command: ["UNWATCH"])
            transactionConnection = watch.connection
            self.watch = nil
        }
    }

    /// Sends WATCH to the slot's primary on this client's own connection; follows MOVED by reconnecting.
    private func sendWatch(_ frame: ByteBuffer, slot: Int, seq: Int, attempt: Int) {
        guard let owner = router.slotMap.owner(of: slot) else {
            deliver(ProxyErrors.clusterDown.base, seq: seq)
            return
        }
        let connection = openTransactionConnection(to: owner)
        let sink = CallbackSink { [self] reply in
            if reply.isError, attempt < router.configuration.maxRedirects,
                let text = reply.errorText, text.hasPrefix("MOVED ") || text.hasPrefix("ASK "),
                let redirect = Redirect(errorMessage: text)
            {
                if redirect.kind == .moved {
                    router.noteMoved(redirect, from: connection.endpoint)
                }
                sendWatch(frame, slot: slot, seq: seq, attempt: attempt + 1)
                return
            }
            if !reply.isError { watch = (connection, slot) }
            deliver(reply.base, seq: seq)
        }
        connection.send(frame, InFlight(sink: sink, tag: 0, request: frame, slot: Int32(slot), attempts: 0, kind: .raw, lane: .shared, resp3: resp3))
    }

    /// This client's connection for WATCH/MULTI/EXEC to `endpoint`, reused while it stays up.
    private func openTransactionConnection(to endpoint: Endpoint) -> BackendConnection {
        if let watch, watch.connection.endpoint == endpoint, !watch.connection.isClosed { return watch.connection }
        if let existing = transactionConnection, existing.endpoint == endpoint, !existing.isClosed { return existing }
        let previous = transactionConnection
        let connection = router.exclusiveConnection(to: endpoint, resp3: resp3)
        transactionConnection = connection
        previous?.close(reason: "moved to another backend")
        return connection
    }

    /// Runs a queued transaction: MULTI, the commands and EXEC in one write to the slot's primary.
    private func execute(_ state: TransactionState, seq: Int, attempt: Int) {
        if state.queued.isEmpty && watch == nil {
            deliver(ByteBuffer(string: "*0\r\n"), seq: seq)
            return
        }
        guard let endpoint = watch?.connection.endpoint ?? router.primary(forSlot: state.slot) else {
            deliver(ProxyErrors.clusterDown.base, seq: seq)
            return
        }
        let connection = openTransactionConnection(to: endpoint)
        let watched = watch != nil
        watch = nil
        let count = state.queued.count
        var redirect: Redirect?
        let sink = CallbackSink(expected: count + 2) { [self] reply, index in
            if index > 0 && index <= count, reply.isError, let text = reply.errorText, redirect == nil {
                if text.hasPrefix("MOVED ") || text.hasPrefix("ASK ") {
                    redirect = Redirect(errorMessage: text)
                } else if text.hasPrefix("TRYAGAIN") || text.hasPrefix("CLUSTERDOWN") {
                    redirect = Redirect(kind: .ask, slot: state.slot ?? 0, endpoint: endpoint)
                }
            }
            guard index == count + 1 else { return }
            // The EXEC reply. A transaction refused because its slot moved never ran: run it again where the slot
            // is now, unless it depended on WATCH (the watch was on the old owner).
            if let redirect, reply.isError, !watched, attempt < router.configuration.maxRedirects {
                if redirect.kind == .moved { router.noteMoved(redirect, from: endpoint) }
                let delay = router.configuration.retryBackoff * Int64(1 << min(attempt, 8))
                router.eventLoop.assumeIsolated().scheduleTask(in: delay) { [self] in
                    execute(state, seq: seq, attempt: attempt + 1)
                }
                return
            }
            deliver(reply.base, seq: seq)
        }
        func send(_ bytes: ByteBuffer, _ tag: Int) {
            connection.send(bytes, InFlight(sink: sink, tag: tag, request: bytes, slot: -1, attempts: 0, kind: .raw, lane: .shared, resp3: resp3))
        }
        send(ByteBuffer(string: "*1\r\n$5\r\nMULTI\r\n"), 0)
        for (index, command) in state.queued.enumerated() { send(command, index + 1) }
        send(ByteBuffer(string: "*1\r\n$4\r\nEXEC\r\n"), count + 1)
    }
}

/// A sink that hands each reply and its tag to a closure.
final class CallbackSink: ReplySink {
    private let callback: (RESPToken, Int) -> Void

    init(expected: Int = 1, _ callback: @escaping (RESPToken, Int) -> Void) {
        self.callback = callback
    }

    convenience init(_ callback: @escaping (RESPToken) -> Void) {
        self.init { reply, _ in callback(reply) }
    }

    func receive(_ reply: RESPToken, tag: Int) {
        callback(reply, tag)
    }
}

extension RESPToken {
    /// The text of an error reply.
    package var errorText: String? {
        switch value {
        case .simpleError(let bytes), .bulkError(let bytes): return String(buffer: bytes)
        default: return nil
        }
    }
}
