import Foundation
import NIOCore

// CLIENT subcommands and MONITOR, with Redis 7.0's replies and error texts.

/// The client classes of CLIENT LIST TYPE and CLIENT KILL TYPE.
enum ClientType {
    case normal, replica, pubsub, master

    init?(name: String) {
        switch name.lowercased() {
        case "normal": self = .normal
        case "slave", "replica": self = .replica
        case "pubsub": self = .pubsub
        case "master": self = .master
        default: return nil
        }
    }
}

extension ClientSession {
    /// The class Redis's `getClientType` assigns (replication clients do not exist yet).
    var clientType: ClientType { subscriptionCount > 0 ? .pubsub : .normal }

    /// Whether `name` is a valid client name: printable ASCII without spaces.
    static func isValidName(_ name: ByteBuffer) -> Bool {
        name.readableBytesView.allSatisfy { $0 >= 33 && $0 <= 126 }
    }
}

extension NodeState {
    /// One CLIENT LIST line (with its trailing newline) in Redis 7.0's field order. `current` is the command
    /// the calling client is running, which CLIENT LIST shows as its `cmd`.
    func clientInfoLine(_ session: ClientSession, caller: ClientSession, currentCommand: String) -> String {
        let now = Self.monotonicNanoseconds()
        let isCaller = session === caller
        let age = Int(Date().timeIntervalSince(session.createdAt))
        let idle = isCaller ? 0 : Int((now &- session.lastInteractionNanoseconds) / 1_000_000_000)
        var flags = ""
        if session.subscriptionCount > 0 { flags += "P" }
        if session.transaction != nil { flags += "x" }
        if blocking.isBlocked(session) { flags += "b" }
        if session.watched.contains(where: { watchedKeys[$0.key]?.version != $0.value }) { flags += "d" }
        if session.closeRequested { flags += "c" }
        if session.readOnly { flags += "r" }
        if session.noEvict { flags += "e" }
        if flags.isEmpty { flags = "N" }
        let multi = session.transaction.map { $0.count } ?? -1
        let multiMemory = session.transaction.map { $0.reduce(0) { $0 + $1.reduce(0) { $0 + $1.readableBytes } } } ?? 0
        let argvMemory = isCaller ? session.currentArgumentBytes : 0
        let command = isCaller ? currentCommand : session.lastCommand
        return "id=\(session.id) addr=\(session.address) laddr=\(session.localAddress) fd=\(session.id + 7)"
            + " name=\(session.name ?? "") age=\(age) idle=\(idle) flags=\(flags) db=\(session.db)"
            + " sub=\(session.channels.count) psub=\(session.patterns.count) ssub=\(session.shardChannels.count)"
            + " multi=\(multi) qbuf=0 qbuf-free=0 argv-mem=\(argvMemory) multi-mem=\(multiMemory) rbs=16384 rbp=0"
            + " obl=0 oll=0 omem=0 tot-mem=\(16384 + argvMemory + multiMemory) events=r cmd=\(command) user=default"
            + " redir=-1 resp=\(session.resp3 ? 3 : 2)\n"
    }
}

func registerClientCommands(_ handlers: inout CommandHandlers) {
    handlers.register("client|id") { (inv: inout Invocation) throws(RedisError) in
        inv.reply.integer(inv.session.id)
    }
    handlers.register("client|setname") { (inv: inout Invocation) throws(RedisError) in
        try setClientName(inv.args[2], session: inv.session)
        inv.reply.ok()
    }
    handlers.register("client|getname") { (inv: inout Invocation) throws(RedisError) in
        if let name = inv.session.name { inv.reply.bulk(name) } else { inv.reply.null() }
    }
    handlers.register("client|info") { (inv: inout Invocation) throws(RedisError) in
        inv.session.currentArgumentBytes = inv.args.reduce(0) { $0 + $1.readableBytes }
        inv.reply.verbatim(inv.node.clientInfoLine(inv.session, caller: inv.session, currentCommand: inv.name))
    }
    handlers.register("client|list") { (inv: inout Invocation) throws(RedisError) in
        var selected: [ClientSession]
        let all = inv.node.clients.values.sorted { $0.id < $1.id }
        if inv.args.count == 4 && inv.isKeyword(2, "TYPE") {
            let name = inv.string(3)
            guard let type = ClientType(name: name) else { throw RedisError("ERR Unknown client type '\(name)'") }
            selected = all.filter { $0.clientType == type }
        } else if inv.args.count > 3 && inv.isKeyword(2, "ID") {
            selected = []
            var ids: [Int64] = []
            for index in 3..<inv.args.count {
                guard let id = inv.args[index].parseInt64(), id >= 1 else { throw RedisError("ERR Invalid client ID") }
                ids.append(id)
            }
            for id in ids {
                if let session = inv.node.clients[id] { selected.append(session) }
            }
        } else if inv.args.count != 2 {
            throw .syntax
        } else {
            selected = all
        }
        inv.session.currentArgumentBytes = inv.args.reduce(0) { $0 + $1.readableBytes }
        let text = selected.map { inv.node.clientInfoLine($0, caller: inv.session, currentCommand: inv.name) }.joined()
        inv.reply.verbatim(text)
    }
    handlers.register("client|kill") { (inv: inout Invocation) throws(RedisError) in
        var address: String?
        var localAddress: String?
        var id: Int64?
        var type: ClientType?
        var skipMe = true
        let oldForm = inv.args.count == 3
        if oldForm {
            address = inv.string(2)
            skipMe = false
        } else {
            var index = 2
            while index < inv.args.count {
                guard index + 1 < inv.args.count else { throw .syntax }
                let value = inv.string(index + 1)
                if inv.isKeyword(index, "ID") {
                    guard let parsed = inv.args[index + 1].parseInt64(), parsed >= 1 else {
                        throw RedisError("ERR client-id should be greater than 0")
                    }
                    id = parsed
                } else if inv.isKeyword(index, "TYPE") {
                    guard let parsed = ClientType(name: value) else {
                        throw RedisError("ERR Unknown client type '\(value)'")
                    }
                    type = parsed
                } else if inv.isKeyword(index, "ADDR") {
                    address = value
                } else if inv.isKeyword(index, "LADDR") {
                    localAddress = value
                } else if inv.isKeyword(index, "USER") {
                    guard value == "default" else { throw RedisError("ERR No such user '\(value)'") }
                } else if inv.isKeyword(index, "SKIPME") {
                    if inv.isKeyword(index + 1, "YES") {
                        skipMe = true
                    } else if inv.isKeyword(index + 1, "NO") {
                        skipMe = false
                    } else {
                        throw .syntax
                    }
                } else {
                    throw .syntax
                }
                index += 2
            }
        }
        var killed = 0
        for session in inv.node.clients.values.sorted(by: { $0.id < $1.id }) {
            if let address, session.address != address { continue }
            if let localAddress, session.localAddress != localAddress { continue }
            if let id, session.id != id { continue }
            if let type, session.clientType != type { continue }
            if session === inv.session {
                if skipMe { continue }
                inv.closeAfterReply = true
            } else {
                session.closeRequested = true
                // Gone from the registry at once (CLIENT LIST no longer shows it); the socket closes on its loop.
                inv.node.disconnect(session)
                session.kill()
            }
            killed += 1
        }
        if oldForm {
            guard killed > 0 else { throw RedisError("ERR No such client") }
            inv.reply.ok()
        } else {
            inv.reply.integer(killed)
        }
    }
    handlers.register("client|setinfo") { (inv: inout Invocation) throws(RedisError) in
        let value = inv.args[3]
        if inv.isKeyword(2, "LIB-NAME") {
            guard ClientSession.isValidName(value) || value.readableBytes == 0 else {
                throw RedisError("ERR lib-name cannot contain spaces, newlines or special characters.")
            }
            inv.session.libName = value.readableBytes == 0 ? nil : String(buffer: value)
        } else if inv.isKeyword(2, "LIB-VER") {
            guard ClientSession.isValidName(value) || value.readableBytes == 0 else {
                throw RedisError("ERR lib-ver cannot contain spaces, newlines or special characters.")
            }
            inv.session.libVersion = value.readableBytes == 0 ? nil : String(buffer: value)
        } else {
            throw RedisError("ERR Unrecognized option '\(inv.string(2))'")
        }
        inv.reply.ok()
    }
    handlers.register("client|no-evict") { (inv: inout Invocation) throws(RedisError) in
        if inv.isKeyword(2, "ON") {
            inv.session.noEvict = true
        } else if inv.isKeyword(2, "OFF") {
            inv.session.noEvict = false
        } else {
            throw .syntax
        }
        inv.reply.ok()
    }
    handlers.register("client|no-touch") { (inv: inout Invocation) throws(RedisError) in
        guard inv.isKeyword(2, "ON") || inv.isKeyword(2, "OFF") else { throw .syntax }
        inv.reply.ok()
    }
    handlers.register("client|reply") { (inv: inout Invocation) throws(RedisError) in
        if inv.isKeyword(2, "ON") {
            inv.session.replyMode = .on
            inv.reply.ok()
        } else if inv.isKeyword(2, "OFF") {
            inv.session.replyMode = .off
        } else if inv.isKeyword(2, "SKIP") {
            if inv.session.replyMode != .off { inv.session.replyMode = .skipNext }
        } else {
            throw .syntax
        }
    }
    // CLIENT PAUSE is accepted and acknowledged; clients are not actually paused.
    handlers.register("client|pause") { (inv: inout Invocation) throws(RedisError) in
        guard let timeout = inv.args[2].parseInt64() else {
            throw RedisError("ERR timeout is not an integer or out of range")
        }
        guard timeout >= 0 else { throw RedisError("ERR timeout is negative") }
        if inv.args.count == 4 {
            guard inv.isKeyword(3, "WRITE") || inv.isKeyword(3, "ALL") else {
                throw RedisError("ERR CLIENT PAUSE mode must be WRITE or ALL")
            }
        } else if inv.args.count > 4 {
            throw .syntax
        }
        inv.reply.ok()
    }
    handlers.register("client|unpause") { (inv: inout Invocation) throws(RedisError) in
        inv.reply.ok()
    }
    handlers.register("client|tracking") { (inv: inout Invocation) throws(RedisError) in
        if inv.isKeyword(2, "OFF") && inv.args.count == 3 {
            inv.reply.ok()
        } else if inv.isKeyword(2, "ON") || inv.isKeyword(2, "OFF") {
            throw RedisError("ERR client-side caching (CLIENT TRACKING) is not supported by this server")
        } else {
            throw .syntax
        }
    }
    handlers.register("client|caching") { (inv: inout Invocation) throws(RedisError) in
        throw RedisError(
            "ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled")
    }
    handlers.register("client|getredir") { (inv: inout Invocation) throws(RedisError) in
        inv.reply.integer(-1)
    }
    handlers.register("client|trackinginfo") { (inv: inout Invocation) throws(RedisError) in
        inv.reply.map(3)
        inv.reply.bulk("flags")
        inv.reply.set(1)
        inv.reply.bulk("off")
        inv.reply.bulk("redirect")
        inv.reply.integer(-1)
        inv.reply.bulk("prefixes")
        inv.reply.array(0)
    }
    handlers.register("client|unblock") { (inv: inout Invocation) throws(RedisError) in
        guard let id = inv.args[2].parseInt64() else { throw .notInteger }
        var error = false
        if inv.args.count == 4 {
            guard inv.isKeyword(3, "TIMEOUT") || inv.isKeyword(3, "ERROR") else {
                throw RedisError("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR")
            }
            error = inv.isKeyword(3, "ERROR")
        } else if inv.args.count > 4 {
            throw .syntax
        }
        inv.reply.integer(inv.node.unblockClient(id: id, error: error) ? 1 : 0)
    }
    handlers.register("client|help") { (inv: inout Invocation) throws(RedisError) in
        inv.reply.help(clientHelp)
    }
    handlers.register("monitor") { (inv: inout Invocation) throws(RedisError) in
        guard !inv.session.isMonitor else { return }
        inv.session.isMonitor = true
        inv.node.monitors[inv.session.id] = inv.session
        inv.reply.ok()
    }
}

/// CLIENT SETNAME / HELLO SETNAME: an empty name clears it.
func setClientName(_ name: ByteBuffer, session: ClientSession) throws(RedisError) {
    guard ClientSession.isValidName(name) else {
        throw RedisError("ERR Client names cannot contain spaces, newlines or special characters.")
    }
    session.name = name.readableBytes == 0 ? nil : String(buffer: name)
}

private let clientHelp = [
    "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CACHING (YES|NO)",
    "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
    "GETREDIR",
    "    Return the client ID we are redirecting to when tracking is enabled.",
    "GETNAME",
    "    Return the name of the current connection.",
    "ID",
    "    Return the ID of the current connection.",
    "INFO",
    "    Return information about the current client connection.",
    "KILL <ip:port>",
    "    Kill connection made from <ip:port>.",
    "KILL <option> <value> [<option> <value> [...]]",
    "    Kill connections. Options are:",
    "    * ADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made from the specified address",
    "    * LADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made to specified local address",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Kill connections by type.",
    "    * USER <username>",
    "      Kill connections authenticated by <username>.",
    "    * SKIPME (YES|NO)",
    "      Skip killing current connection (default: yes).",
    "LIST [options ...]",
    "    Return information about client connections. Options:",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Return clients of specified type.",
    "UNPAUSE",
    "    Stop the current client pause, resuming traffic.",
    "PAUSE <timeout> [WRITE|ALL]",
    "    Suspend all, or just write, clients for <timeout> milliseconds.",
    "REPLY (ON|OFF|SKIP)",
    "    Control the replies sent to the current connection.",
    "SETNAME <name>",
    "    Assign the name <name> to the current connection.",
    "UNBLOCK <clientid> [TIMEOUT|ERROR]",
    "    Unblock the specified blocked client.",
    "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
    "         [OPTIN] [OPTOUT] [NOLOOP]",
    "    Control server assisted client side caching.",
    "TRACKINGINFO",
    "    Report tracking status for the current connection.",
    "NO-EVICT (ON|OFF)",
    "    Protect current client connection from eviction.",
]
