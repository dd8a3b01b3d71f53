import ClusterModel
import Foundation
import NIOCore

// Command instrumentation (what Redis's `call()` records after each command: commandstats, errorstats, the
// slow log, MONITOR, CLIENT REPLY) and the SLOWLOG command.

/// INFO commandstats counters for one command.
struct CommandStatistics {
    let name: String
    var calls = 0
    var microseconds: UInt64 = 0
    var rejectedCalls = 0
    var failedCalls = 0

    @inline(__always)
    mutating func count(microseconds: UInt64, failed: Bool) {
        calls += 1
        self.microseconds += microseconds
        if failed { failedCalls += 1 }
    }
}

/// One slow log entry, as SLOWLOG GET shows it.
struct SlowLogEntry {
    let id: Int64
    let timestamp: Int64
    let microseconds: Int64
    let arguments: [ByteBuffer]
    let peer: String
    let clientName: String
}

/// The slow log: the newest `slowlog-max-len` commands that ran longer than `slowlog-log-slower-than`.
struct SlowLog {
    /// Newest first.
    private(set) var entries: [SlowLogEntry] = []
    private var nextID: Int64 = 0

    mutating func push(
        _ args: [ByteBuffer], microseconds: Int64, session: ClientSession, maxLength: Int, redactFrom: Int?
    ) {
        var kept: [ByteBuffer] = []
        let count = SlowlogForm.keptCount(of: args.count)
        kept.reserveCapacity(count)
        for index in 0..<count {
            kept.append(SlowlogForm.replacement(for: args, at: index, redactFrom: redactFrom) ?? args[index].compacted())
        }
        let entry = SlowLogEntry(
            id: nextID, timestamp: NodeState.nowMilliseconds() / 1000, microseconds: microseconds, arguments: kept,
            peer: session.address, clientName: session.name ?? "")
        nextID += 1
        entries.insert(entry, at: 0)
        trim(to: maxLength)
    }

    mutating func trim(to maxLength: Int) {
        if entries.count > maxLength { entries.removeLast(entries.count - max(0, maxLength)) }
    }

    mutating func reset() { entries.removeAll() }
}

/// What `commandWillRun` hands to `commandDidRun`.
struct CommandTicket {
    let started: UInt64
    let replyStart: Int
}

extension NodeState {
    /// Called by the dispatcher under the lock before each request (even one rejected before it runs).
    /// `now` is the monotonic clock if the caller has just read it (the end of the previous command of a
    /// pipelined run, which `commandDidRun` returns), saving one clock read per command.
    @inline(__always)
    func commandWillRun(session: ClientSession, reply: ReplyWriter, now: UInt64 = monotonicNanoseconds()) -> CommandTicket {
        session.lastInteractionNanoseconds = now
        return CommandTicket(started: now, replyStart: reply.buffer.writerIndex)
    }

    /// Called by the dispatcher under the lock after each request, with the command it resolved to (nil when
    /// rejected as unknown or with a wrong arity): records INFO commandstats/errorstats, net bytes, the slow
    /// log and MONITOR, and drops the reply when CLIENT REPLY OFF/SKIP says so. `number` is the spec's
    /// `CommandNumbers` number.
    /// Returns the monotonic clock it read when the command ended.
    @discardableResult
    func commandDidRun(
        _ ticket: CommandTicket, spec: CommandSpec?, number: Int?, args: [ByteBuffer], session: ClientSession,
        reply: inout ReplyWriter
    ) -> UInt64 {
        let ended = Self.monotonicNanoseconds()
        let microseconds = (ended &- ticket.started) / 1000
        let replyBytes = reply.buffer.writerIndex - ticket.replyStart
        var failed = false
        if replyBytes > 0, reply.buffer.getInteger(at: ticket.replyStart, as: UInt8.self) == UInt8(ascii: "-") {
            failed = true
            recordError(in: reply.buffer, at: ticket.replyStart + 1)
        }
        if let spec {
            let queued = session.transaction != nil && !failed && replyBytes == 9
                && reply.buffer.getInteger(at: ticket.replyStart + 1, as: UInt8.self) == UInt8(ascii: "Q")
            if !queued {
                if let number {
                    // Updated in place: copying the entry out and back retained and released its name.
                    if commandStats[number] == nil { commandStats[number] = CommandStatistics(name: spec.name) }
                    commandStats[number]?.count(microseconds: microseconds, failed: failed)
                }
                let threshold = configuration.slowlogSlowerThan
                if threshold >= 0 && microseconds >= UInt64(threshold) && !spec.flags.contains(.skipSlowlog) {
                    slowlog.push(
                        args, microseconds: Int64(microseconds), session: session,
                        maxLength: configuration.slowlogMaxLength, redactFrom: Self.redactedArguments(spec, args))
                }
                if !monitors.isEmpty && !spec.flags.contains(.skipMonitor) && !spec.flags.contains(.admin) {
                    feedMonitors(args, session: session)
                }
            }
        }
        switch session.replyMode {
        case .on:
            break
        case .off:
            reply.buffer.moveWriterIndex(to: ticket.replyStart)
        case .skipNext:
            session.replyMode = .skipping
        case .skipping:
            reply.buffer.moveWriterIndex(to: ticket.replyStart)
            session.replyMode = .on
        }
        stats.netOutputBytes += reply.buffer.writerIndex - ticket.replyStart
        return ended
    }


    /// Counts an error reply by its code (the text up to the first space), as INFO errorstats shows it.
    private func recordError(in buffer: ByteBuffer, at start: Int) {
        stats.errorReplies += 1
        var end = start
        let limit = buffer.writerIndex
        while end < limit, let byte = buffer.getInteger(at: end, as: UInt8.self), byte != UInt8(ascii: " "),
            byte != UInt8(ascii: "\r")
        {
            end += 1
        }
        guard end > start, let code = buffer.getString(at: start, length: end - start) else { return }
        // Redis stops tracking new codes after 128 of them.
        if errorStats[code] == nil && errorStats.count >= 128 { return }
        errorStats[code, default: 0] += 1
    }

    /// The first argument index the slow log hides as `(redacted)` (passwords), if any.
    private static func redactedArguments(_ spec: CommandSpec, _ args: [ByteBuffer]) -> Int? {
        switch spec.name {
        case "auth": return 1
        case "hello":
            for index in 1..<args.count where args[index].equalsIgnoringASCIICase("AUTH") { return index + 1 }
            return nil
        case "migrate":
            for index in 1..<args.count
            where args[index].equalsIgnoringASCIICase("AUTH") || args[index].equalsIgnoringASCIICase("AUTH2") {
                return index + 1
            }
            return nil
        case "config|set":
            for index in stride(from: 2, to: args.count - 1, by: 2) {
                let name = String(buffer: args[index]).lowercased()
                if name == "requirepass" || name == "masterauth" || name.hasSuffix("-pass") { return index + 1 }
            }
            return nil
        default:
            return nil
        }
    }

    /// Sends a command to every MONITOR client: `+<time> [<db> <addr>] "arg" ...`.
    private func feedMonitors(_ args: [ByteBuffer], session: ClientSession) {
        let now = NodeState.nowMilliseconds()
        var micros = String(now % 1000 * 1000)
        while micros.count < 6 { micros = "0" + micros }
        var line = ByteBuffer()
        line.writeString("+\(now / 1000).\(micros) [\(session.db) \(session.address)]")
        for arg in args {
            line.writeString(" ")
            writeQuoted(arg, to: &line)
        }
        line.writeString("\r\n")
        for (id, monitor) in monitors {
            guard clients[id] != nil else {
                monitors[id] = nil
                continue
            }
            monitor.deliver(line)
        }
    }

    /// Redis's `sdscatrepr`: a double-quoted string with C escapes.
    private func writeQuoted(_ arg: ByteBuffer, to line: inout ByteBuffer) {
        line.writeInteger(UInt8(ascii: "\""))
        for byte in arg.readableBytesView {
            switch byte {
            case UInt8(ascii: "\\"): line.writeString("\\\\")
            case UInt8(ascii: "\""): line.writeString("\\\"")
            case UInt8(ascii: "\n"): line.writeString("\\n")
            case UInt8(ascii: "\r"): line.writeString("\\r")
            case UInt8(ascii: "\t"): line.writeString("\\t")
            case 7: line.writeString("\\a")
            case 8: line.writeString("\\b")
            default:
                if byte >= 32 && byte < 127 {
                    line.writeInteger(byte)
                } else {
                    line.writeString(String(format: "\\x%02x", byte))
                }
            }
        }
        line.writeInteger(UInt8(ascii: "\""))
    }
}

func registerSlowlogCommands(_ handlers: inout CommandHandlers) {
    handlers.register("slowlog|get") { (inv: inout Invocation) throws(RedisError) in
        var count = 10
        if inv.args.count == 3 {
            guard let value = inv.args[2].parseInt64(), value >= -1 else {
                throw RedisError("ERR count should be greater than or equal to -1")
            }
            count = value == -1 ? Int.max : Int(clamping: value)
        } else if inv.args.count > 3 {
            throw RedisError("ERR unknown subcommand or wrong number of arguments for 'GET'. Try SLOWLOG HELP.")
        }
        let entries = inv.node.slowlog.entries.prefix(count)
        inv.reply.array(entries.count)
        for entry in entries {
            inv.reply.array(6)
            inv.reply.integer(entry.id)
            inv.reply.integer(entry.timestamp)
            inv.reply.integer(entry.microseconds)
            inv.reply.array(entry.arguments.count)
            for argument in entry.arguments { inv.reply.bulk(argument) }
            inv.reply.bulk(entry.peer)
            inv.reply.bulk(entry.clientName)
        }
    }
    handlers.register("slowlog|len") { (inv: inout Invocation) throws(RedisError) in
        inv.reply.integer(inv.node.slowlog.entries.count)
    }
    handlers.register("slowlog|reset") { (inv: inout Invocation) throws(RedisError) in
        inv.node.slowlog.reset()
        inv.reply.ok()
    }
    handlers.register("slowlog|help") { (inv: inout Invocation) throws(RedisError) in
        inv.reply.help([
            "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "GET [<count>]",
            "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
            "    Entries are made of:",
            "    id, timestamp, time in microseconds, arguments array, client IP and port,",
            "    client name",
            "LEN",
            "    Return the length of the slowlog.",
            "RESET",
            "    Reset the slowlog.",
        ])
    }
}
