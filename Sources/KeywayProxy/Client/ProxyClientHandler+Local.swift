import ClusterModel
import Foundation
import NIOCore
import RESP

extension ProxyClientHandler {
    /// Commands the proxy answers itself, as a standalone Redis would.
    func local(_ spec: CommandSpec, argv: [ByteBuffer], frame: ByteBuffer, seq: Int) {
        var out = ByteBuffer()
        switch spec.name {
        case "ping":
            if argv.count == 1 {
                out.writeRESPSimpleString("PONG")
            } else {
                out.writeRESPBulkString(argv[1])
            }
        case "echo":
            out.writeRESPBulkString(argv[1])
        case "quit":
            closeAfterReplies()
            out.writeRESPSimpleString("OK")
        case "select":
            guard let db = argv[1].parseInt64(), db >= Int32.min, db <= Int32.max else {
                reply(seq, error: "ERR value is not an integer or out of range")
                return
            }
            guard db == 0 else {
                reply(seq, error: "ERR DB index is out of range")
                return
            }
            out.writeRESPSimpleString("OK")
        case "hello":
            hello(argv: argv, seq: seq)
            return
        case "auth":
            if argv.count == 2 {
                reply(
                    seq,
                    error:
                        "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"
                )
                return
            }
            guard argv.count == 3 else {
                reply(seq, error: "ERR syntax error")
                return
            }
            guard String(buffer: argv[1]) == "default" else {
                reply(seq, error: "WRONGPASS invalid username-password pair or user is disabled.")
                return
            }
            out.writeRESPSimpleString("OK")
        case "reset":
            resetSession()
            out.writeRESPSimpleString("RESET")
        case "readonly", "readwrite", "asking":
            reply(seq, error: "ERR This instance has cluster support disabled")
            return
        case "acl|whoami":
            out.writeRESPBulkString("default")
        case "command", "command|count", "command|docs", "command|getkeys", "command|getkeysandflags", "command|info",
            "command|list", "command|help", "config|get", "config|help":
            // The backends' own answer describes what they will run.
            router.sendToAnyPrimary(frame, resp3: resp3, sink: self, tag: seq)
            return
        case "info":
            info(argv: argv, seq: seq)
            return
        case "time":
            var now = timespec()
            clock_gettime(CLOCK_REALTIME, &now)
            out.writeRESPHeader(.array, 2)
            out.writeRESPBulkString(String(now.tv_sec))
            out.writeRESPBulkString(String(now.tv_nsec / 1000))
        default:
            if spec.name.hasPrefix("client|") || spec.name == "client" {
                client(spec, argv: argv, seq: seq)
                return
            }
            if spec.name.hasPrefix("cluster|") || spec.name == "cluster" {
                reply(seq, error: "ERR This instance has cluster support disabled")
                return
            }
            router.sendToAnyPrimary(frame, resp3: resp3, sink: self, tag: seq)
            return
        }
        deliver(out, seq: seq)
    }

    /// Clears the session as RESET does: transaction, watches, pub/sub, name, protocol.
    func resetSession() {
        transaction = nil
        if let watch {
            watch.connection.sendInternal(command: ["UNWATCH"])
            self.watch = nil
        }
        closePubSub()
        name = nil
        resp3 = false
    }

    private func hello(argv: [ByteBuffer], seq: Int) {
        var index = 1
        var version = resp3 ? 3 : 2
        if argv.count >= 2 {
            guard let requested = argv[1].parseInt64() else {
                reply(seq, error: "ERR Protocol version is not an integer or out of range")
                return
            }
            guard requested == 2 || requested == 3 else {
                reply(seq, error: "NOPROTO unsupported protocol version")
                return
            }
            version = Int(requested)
            index = 2
        }
        var newName: ByteBuffer?
        while index < argv.count {
            let keyword = String(buffer: argv[index]).uppercased()
            let more = argv.count - index - 1
            if keyword == "AUTH" && more >= 2 {
                guard String(buffer: argv[index + 1]) == "default" else {
                    reply(seq, error: "WRONGPASS invalid username-password pair or user is disabled.")
                    return
                }
                index += 3
            } else if keyword == "SETNAME" && more >= 1 {
                newName = argv[index + 1]
                index += 2
            } else {
                reply(seq, error: "ERR Syntax error in HELLO option '\(String(buffer: argv[index]))'")
                return
            }
        }
        if let newName {
            guard Self.isValidName(newName) else {
                reply(seq, error: "ERR Client names cannot contain spaces, newlines or special characters.")
                return
            }
            name = newName.readableBytes == 0 ? nil : newName
        }
        resp3 = version == 3
        var out = ByteBuffer()
        out.writeRESPHeader(resp3 ? .map : .array, resp3 ? 7 : 14)
        out.writeRESPBulkString("server")
        out.writeRESPBulkString("redis")
        out.writeRESPBulkString("version")
        out.writeRESPBulkString(CommandTable.redisVersion)
        out.writeRESPBulkString("proto")
        out.writeRESPInteger(Int64(version))
        out.writeRESPBulkString("id")
        out.writeRESPInteger(Int64(id))
        out.writeRESPBulkString("mode")
        out.writeRESPBulkString("standalone")
        out.writeRESPBulkString("role")
        out.writeRESPBulkString("master")
        out.writeRESPBulkString("modules")
        out.writeRESPHeader(.array, 0)
        deliver(out, seq: seq)
    }

    static func isValidName(_ name: ByteBuffer) -> Bool {
        name.readableBytesView.allSatisfy { $0 > 0x20 && $0 < 0x7F }
    }

    // MARK: CLIENT

    private func client(_ spec: CommandSpec, argv: [ByteBuffer], seq: Int) {
        var out = ByteBuffer()
        switch spec.name {
        case "client|id":
            out.writeRESPInteger(Int64(id))
        case "client|setname":
            guard Self.isValidName(argv[2]) else {
                reply(seq, error: "ERR Client names cannot contain spaces, newlines or special characters.")
                return
            }
            name = argv[2].readableBytes == 0 ? nil : argv[2]
            out.writeRESPSimpleString("OK")
        case "client|getname":
            if let name {
                out.writeRESPBulkString(name)
            } else {
                out.writeRESPNullBulkString()
            }
        case "client|setinfo":
            let attribute = String(buffer: argv[2]).lowercased()
            guard attribute == "lib-name" || attribute == "lib-ver" else {
                reply(seq, error: "ERR Unrecognized option '\(String(buffer: argv[2]))'")
                return
            }
            guard Self.isValidName(argv[3]) || argv[3].readableBytes == 0 else {
                reply(seq, error: "ERR \(attribute) cannot contain spaces, newlines or special characters.")
                return
            }
            if attribute == "lib-name" { libraryName = argv[3] } else { libraryVersion = argv[3] }
            out.writeRESPSimpleString("OK")
        case "client|info":
            out.writeRESPBulkString(infoLine() + "\n")
        case "client|list":
            let seqCopy = seq
            router.allClientLines().assumeIsolated().whenComplete { [self] result in
                var out = ByteBuffer()
                out.writeRESPBulkString((try? result.get()) ?? "")
                deliver(out, seq: seqCopy)
            }
            return
        case "client|no-evict", "client|no-touch":
            out.writeRESPSimpleString("OK")
        case "client|help":
            out.writeRESPHeader(.array, 5)
            out.writeRESPSimpleString("CLIENT <subcommand> [<arg> [value] [opt] ...]. keyway proxy supports:")
            out.writeRESPSimpleString("ID, INFO, LIST, GETNAME, SETNAME <name>")
            out.writeRESPSimpleString("SETINFO <LIB-NAME|LIB-VER> <value>")
            out.writeRESPSimpleString("NO-EVICT <ON|OFF>, NO-TOUCH <ON|OFF>")
            out.writeRESPSimpleString("HELP")
        default:
            reply(seq, error: "ERR '\(spec.name.uppercased())' is not supported through keyway proxy")
            return
        }
        deliver(out, seq: seq)
    }

    /// This client as one CLIENT LIST line (without the newline).
    func infoLine() -> String {
        let age = (NIODeadline.now() - createdAt).nanoseconds / 1_000_000_000
        let flags = transaction != nil ? "x" : (pubsub.isEmpty ? "N" : "P")
        return
            "id=\(id) addr=\(remoteAddress) laddr=\(localAddress) fd=-1 name=\(name.map { String(buffer: $0) } ?? "") age=\(age) idle=0 flags=\(flags) db=0 sub=\(pubsub.channelCount) psub=0 ssub=0 multi=\(transaction.map { $0.queued.count } ?? -1) qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r cmd=\(lastCommand) user=default redir=-1 resp=\(resp3 ? 3 : 2) lib-name=\(libraryName.map { String(buffer: $0) } ?? "") lib-ver=\(libraryVersion.map { String(buffer: $0) } ?? "")"
    }

    // MARK: INFO

    private func info(argv: [ByteBuffer], seq: Int) {
        let sections = Set(argv.dropFirst().map { String(buffer: $0).lowercased() })
        let all = sections.isEmpty || sections.contains("all") || sections.contains("everything")
            || sections.contains("default")
        func wants(_ name: String) -> Bool { all || sections.contains(name) }
        var text = ""
        if wants("server") {
            text += "# Server\r\nredis_version:\(CommandTable.redisVersion)\r\nredis_mode:standalone\r\n"
            text += "keyway_version:\(ProxyServer.version)\r\nkeyway_role:proxy\r\n"
            text += "process_id:\(getpid())\r\ntcp_port:\(router.configuration.port)\r\n"
            text += "uptime_in_seconds:\(router.topology.uptimeSeconds)\r\n\r\n"
        }
        if wants("clients") {
            text += "# Clients\r\nconnected_clients:\(router.topology.connectedClients)\r\n"
            text += "maxclients:\(router.configuration.maxClients)\r\n\r\n"
        }
        if wants("proxy") {
            text += router.topology.infoSection()
        }
        guard wants("keyspace") else {
            var out = ByteBuffer()
            out.writeRESPBulkString(String(text.dropLast(2)))
            deliver(out, seq: seq)
            return
        }
        let request = Self.encode([ByteBuffer(string: "INFO"), ByteBuffer(string: "keyspace")])
        FanOutMerge.start(frame: request, client: self, seq: seq) { replies in
            var keys = 0
            var expires = 0
            for reply in replies {
                guard case .bulkString(let body) = reply.value else { continue }
                let lines = String(buffer: body).split(whereSeparator: \.isNewline)
                for line in lines where line.hasPrefix("db0:") {
                    for field in line.dropFirst(4).split(separator: ",") {
                        let pair = field.split(separator: "=")
                        guard pair.count == 2, let value = Int(pair[1]) else { continue }
                        if pair[0] == "keys" { keys += value }
                        if pair[0] == "expires" { expires += value }
                    }
                }
            }
            var body = text + "# Keyspace\r\n"
            if keys > 0 { body += "db0:keys=\(keys),expires=\(expires),avg_ttl=0\r\n" }
            var out = ByteBuffer()
            out.writeRESPBulkString(body)
            return out
        }
    }
}
