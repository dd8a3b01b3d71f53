import Foundation
import NIOCore

// DEBUG: the harmless subcommands test suites and tools use (SLEEP, SET-ACTIVE-EXPIRE, PROTOCOL, OBJECT, LOG,
// CHANGE-REPL-ID, QUICKLIST-PACKED-THRESHOLD...). Availability follows `enable-debug-command`; Keyway's default
// is `local` (loopback clients), where Redis's is `no`.

func registerDebugCommands(_ handlers: inout CommandHandlers) {
    handlers.register("debug") { (inv: inout Invocation) throws(RedisError) in
        let mode = inv.node.configuration.enableDebugCommand
        guard mode == "yes" || (mode == "local" && inv.session.isLocal) else {
            throw RedisError(
                "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server."
            )
        }
        let subcommand = inv.string(1).lowercased()
        let argc = inv.args.count
        switch (subcommand, argc) {
        case ("help", 2):
            inv.reply.help(debugHelp)
        case ("sleep", 3):
            // Like Redis, the whole server stops: the command runs under the node lock. atof semantics.
            let seconds = max(0, atof(inv.string(2)))
            if seconds > 0 { usleep(useconds_t(min(seconds, 3600) * 1_000_000)) }
            inv.reply.ok()
        case ("set-active-expire", 3):
            inv.node.activeExpireEnabled = atoi(inv.string(2)) != 0
            inv.reply.ok()
        case ("protocol", 3):
            try debugProtocol(&inv)
        case ("object", 3):
            guard let object = inv.lookupWrite(inv.args[2]) else { throw .noSuchKey }
            let encoding: String
            switch object {
            case .string(let value):
                encoding = value.parseInt64() != nil && value.readableBytes <= 20 ? "int" : (value.readableBytes <= 44 ? "embstr" : "raw")
            case .list: encoding = "quicklist"
            case .hash: encoding = "hashtable"
            case .set: encoding = "hashtable"
            case .zset: encoding = "skiplist"
            }
            inv.reply.simple(
                "Value at:0x0 refcount:1 encoding:\(encoding) serializedlength:0 lru:0 lru_seconds_idle:0")
        case ("log", 3), ("change-repl-id", 2), ("quicklist-packed-threshold", 3), ("set-skip-checksum-validation", 3),
            ("pause-cron", 3), ("replybuffer", 4), ("aof-flush-sleep", 3):
            inv.reply.ok()
        case ("error", 3):
            inv.reply.error(RedisError(bytes: Array(inv.args[2].readableBytesView)))
        case ("stringmatch-len", _), ("stringmatch-test", 2):
            inv.reply.simple("Apparently Redis did not crash: test passed")
        default:
            throw RedisError(
                "ERR unknown subcommand or wrong number of arguments for '\(inv.string(1))'. Try DEBUG HELP.")
        }
    }
}

/// DEBUG PROTOCOL <type>: a sample reply of each RESP3 type, downgraded for RESP2 clients as Redis does.
private func debugProtocol(_ inv: inout Invocation) throws(RedisError) {
    let resp3 = inv.reply.resp3
    switch inv.string(2).lowercased() {
    case "string":
        inv.reply.bulk("Hello World")
    case "integer":
        inv.reply.integer(12345)
    case "double":
        if resp3 { inv.reply.buffer.writeString(",3.141\r\n") } else { inv.reply.bulk("3.141") }
    case "bignum":
        let digits = "1234567999999999999999999999999999999"
        if resp3 { inv.reply.buffer.writeString("(\(digits)\r\n") } else { inv.reply.bulk(digits) }
    case "null":
        inv.reply.null()
    case "array":
        inv.reply.array(3)
        for value in 0..<3 { inv.reply.integer(value) }
    case "set":
        inv.reply.set(3)
        for value in 0..<3 { inv.reply.integer(value) }
    case "map":
        inv.reply.map(3)
        for value in 0..<3 {
            inv.reply.integer(value)
            inv.reply.boolean(value == 1)
        }
    case "attrib":
        if resp3 {
            inv.reply.buffer.writeString("|1\r\n")
            inv.reply.bulk("key-popularity")
            inv.reply.array(2)
            inv.reply.bulk("key:123")
            inv.reply.integer(90)
        }
        inv.reply.bulk("Some real reply following the attribute")
    case "push":
        guard resp3 else { throw RedisError("ERR RESP2 is not supported by this command") }
        inv.reply.push(2)
        inv.reply.bulk("server-cpu-usage")
        inv.reply.integer(42)
        inv.reply.bulk("Some real reply following the push reply")
    case "verbatim":
        inv.reply.verbatim("This is a verbatim\nstring")
    case "true":
        inv.reply.boolean(true)
    case "false":
        inv.reply.boolean(false)
    default:
        throw RedisError(
            "ERR Wrong protocol type name. Please use one of the following: string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false"
        )
    }
}

private let debugHelp = [
    "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CHANGE-REPL-ID",
    "    Change the replication IDs of the instance.",
    "    Dangerous: should be used only for testing the replication subsystem.",
    "ERROR <string>",
    "    Return a Redis protocol error with <string> as message. Useful for clients",
    "    unit tests to simulate Redis errors.",
    "LOG <message>",
    "    Write <message> to the server log.",
    "OBJECT <key>",
    "    Show low level info about `key` and associated value.",
    "PROTOCOL <type>",
    "    Reply with a test value of the specified type. <type> can be: string,",
    "    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
    "    true, false.",
    "SET-ACTIVE-EXPIRE <0|1>",
    "    Setting it to 0 disables expiring keys in background when they are not",
    "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
    "    default.",
    "QUICKLIST-PACKED-THRESHOLD <size>",
    "    Sets the threshold for elements to be inserted as plain vs packed nodes",
    "    Default value is 1GB, allows values up to 4GB. Setting to 0 restores to default.",
    "SLEEP <seconds>",
    "    Stop the server for <seconds>. Decimals allowed.",
]
