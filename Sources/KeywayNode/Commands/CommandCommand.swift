import ClusterModel
import NIOCore
import NIOConcurrencyHelpers
import RESP

// COMMAND and its subcommands, answered from the Redis 7.0.15 command table: the same reply shapes and bytes as
// redis-server, except the order of commands and subcommands (Redis lists them in its dictionaries' random hash
// order, which changes with each process; Keyway lists them sorted by name).

/// The encoded full `COMMAND` replies (RESP2 and RESP3), built once: redis-py and others ask for it on every
/// connection pool start.
private let fullCommandReplies: (resp2: ByteBuffer, resp3: ByteBuffer) = {
    func encode(resp3: Bool) -> ByteBuffer {
        var buffer = ByteBuffer()
        let commands = CommandTable.redis70.commands
        buffer.writeRESPHeader(.array, commands.count)
        for command in commands { buffer.writeRESPValue(command.infoReply(resp3: resp3)) }
        return buffer
    }
    return (encode(resp3: false), encode(resp3: true))
}()

private let fullDocsReplies: (resp2: ByteBuffer, resp3: ByteBuffer) = {
    func encode(resp3: Bool) -> ByteBuffer {
        var buffer = ByteBuffer()
        let commands = CommandTable.redis70.commands
        buffer.writeRESPHeader(resp3 ? .map : .array, resp3 ? commands.count : commands.count * 2)
        for command in commands {
            buffer.writeRESPBulkString(command.name)
            buffer.writeRESPValue(command.docsReply(resp3: resp3))
        }
        return buffer
    }
    return (encode(resp3: false), encode(resp3: true))
}()

func registerCommandCommands(_ handlers: inout CommandHandlers) {
    handlers.register("command") { (inv: inout Invocation) throws(RedisError) in
        inv.reply.buffer.writeImmutableBuffer(inv.reply.resp3 ? fullCommandReplies.resp3 : fullCommandReplies.resp2)
    }
    handlers.register("command|count") { (inv: inout Invocation) throws(RedisError) in
        inv.reply.integer(CommandTable.redis70.count)
    }
    handlers.register("command|info") { (inv: inout Invocation) throws(RedisError) in
        guard inv.args.count > 2 else {
            inv.reply.buffer.writeImmutableBuffer(
                inv.reply.resp3 ? fullCommandReplies.resp3 : fullCommandReplies.resp2)
            return
        }
        inv.reply.array(inv.args.count - 2)
        for index in 2..<inv.args.count {
            if let spec = CommandTable.redis70.command(named: inv.string(index)) {
                inv.reply.buffer.writeRESPValue(spec.infoReply(resp3: inv.reply.resp3))
            } else {
                inv.reply.null()
            }
        }
    }
    handlers.register("command|docs") { (inv: inout Invocation) throws(RedisError) in
        guard inv.args.count > 2 else {
            inv.reply.buffer.writeImmutableBuffer(inv.reply.resp3 ? fullDocsReplies.resp3 : fullDocsReplies.resp2)
            return
        }
        let specs = (2..<inv.args.count).compactMap { CommandTable.redis70.command(named: inv.string($0)) }
        inv.reply.map(specs.count)
        for spec in specs {
            inv.reply.bulk(spec.name)
            inv.reply.buffer.writeRESPValue(spec.docsReply(resp3: inv.reply.resp3))
        }
    }
    handlers.register("command|list") { (inv: inout Invocation) throws(RedisError) in
        let all = CommandTable.redis70.allCommands
        if inv.args.count == 2 {
            inv.reply.array(all.count)
            for spec in all { inv.reply.bulk(spec.name) }
            return
        }
        guard inv.args.count == 5, inv.isKeyword(2, "FILTERBY") else { throw .syntax }
        let selected: [CommandSpec]
        if inv.isKeyword(3, "MODULE") {
            selected = []
        } else if inv.isKeyword(3, "ACLCAT") {
            let category = "@" + inv.string(4).lowercased()
            selected = all.filter { $0.aclCategories.names.contains(category) }
        } else if inv.isKeyword(3, "PATTERN") {
            let pattern = inv.args[4]
            selected = all.filter { RedisGlob.matches(pattern: pattern, ByteBuffer(string: $0.name), noCase: true) }
        } else {
            throw .syntax
        }
        inv.reply.array(selected.count)
        for spec in selected { inv.reply.bulk(spec.name) }
    }
    handlers.register("command|getkeys") { (inv: inout Invocation) throws(RedisError) in
        let argv = Array(inv.args[2...])
        let positions: KeyPositions
        do throws(GetKeysError) {
            positions = try CommandTable.redis70.getKeys(argv)
        } catch {
            throw RedisError(error.message)
        }
        inv.reply.array(positions.count)
        for position in positions { inv.reply.bulk(argv[position]) }
    }
    handlers.register("command|getkeysandflags") { (inv: inout Invocation) throws(RedisError) in
        let argv = Array(inv.args[2...])
        let positions: KeyPositions
        do throws(GetKeysError) {
            positions = try CommandTable.redis70.getKeys(argv)
        } catch {
            throw RedisError(error.message)
        }
        guard case .command(let spec) = CommandTable.redis70.lookup(argv) else { throw RedisError("ERR Invalid command specified") }
        let flags = keyFlags(spec, argv, positions)
        inv.reply.array(positions.count)
        for (index, position) in positions.enumerated() {
            inv.reply.array(2)
            inv.reply.bulk(argv[position])
            let names = flags[index].names
            inv.reply.set(names.count)
            for name in names { inv.reply.simple(name) }
        }
    }
    handlers.register("command|help") { (inv: inout Invocation) throws(RedisError) in
        inv.reply.help([
            "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "(no subcommand)",
            "    Return details about all Redis commands.",
            "COUNT",
            "    Return the total number of commands in this Redis server.",
            "LIST",
            "    Return a list of all commands in this Redis server.",
            "INFO [<command-name> ...]",
            "    Return details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "DOCS [<command-name> ...]",
            "    Return documentation details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "GETKEYS <full-command>",
            "    Return the keys from a full Redis command.",
            "GETKEYSANDFLAGS <full-command>",
            "    Return the keys and the access flags from a full Redis command.",
        ])
    }
}

/// The key-spec flags of each key position, as COMMAND GETKEYSANDFLAGS reports them: the flags of the key
/// spec that finds the key; SET and BITFIELD compute theirs from their arguments, as their Redis key
/// procedures do; a key only a key procedure finds (SORT's STORE) takes the last spec the arguments cannot locate.
private func keyFlags(_ spec: CommandSpec, _ argv: [ByteBuffer], _ positions: KeyPositions) -> [KeySpecFlags] {
    let specs = spec.keySpecs.filter { !$0.flags.contains(.notKey) }
    let strip: KeySpecFlags = [.incomplete, .variableFlags]
    switch spec.name {
    case "set":
        var hasGet = false
        for index in 3..<max(3, argv.count) where argv[index].equalsIgnoringASCIICase("GET") { hasGet = true }
        let flags: KeySpecFlags = hasGet ? [.rw, .access, .update] : [.ow, .update]
        return positions.map { _ in flags }
    case "bitfield":
        var writes = false
        var index = 2
        while index < argv.count {
            if argv[index].equalsIgnoringASCIICase("SET") || argv[index].equalsIgnoringASCIICase("INCRBY") {
                writes = true
            }
            index += 1
        }
        let flags: KeySpecFlags = writes ? [.rw, .access, .update] : [.ro, .access]
        return positions.map { _ in flags }
    default:
        break
    }
    var found: [Int: KeySpecFlags] = [:]
    var unlocated: KeySpecFlags?
    for keySpec in specs {
        guard let run = keySpecPositions(keySpec, argv) else {
            unlocated = keySpec.flags.subtracting(strip)
            continue
        }
        for position in run where found[position] == nil { found[position] = keySpec.flags.subtracting(strip) }
    }
    let fallback = unlocated ?? specs.first.map { $0.flags.subtracting(strip) } ?? []
    return positions.map { found[$0] ?? fallback }
}

/// The positions one key spec finds in `argv` (Redis's `getKeysUsingKeySpecs` for a single spec), or nil when it
/// cannot be applied.
private func keySpecPositions(_ spec: KeySpec, _ argv: [ByteBuffer]) -> [Int]? {
    let argc = argv.count
    var first = 0
    switch spec.beginSearch {
    case .index(let index):
        first = index
    case .keyword(let keyword, let startFrom):
        let start = startFrom > 0 ? startFrom : argc + startFrom
        let end = startFrom > 0 ? argc - 1 : 1
        var index = start
        while index != end {
            if index >= argc || index < 1 { break }
            if String(buffer: argv[index]).lowercased() == keyword.lowercased() {
                first = index + 1
                break
            }
            index = start <= end ? index + 1 : index - 1
        }
        if first == 0 { return nil }
    case .unknown:
        return nil
    }
    let last: Int
    let step: Int
    switch spec.findKeys {
    case .range(let lastKey, let keyStep, let limit):
        step = keyStep
        if lastKey >= 0 {
            last = first + lastKey
        } else if limit == 0 {
            last = argc + lastKey
        } else {
            last = first + ((argc - first) / limit + lastKey)
        }
    case .keyNum(let keyNumIndex, let firstKey, let keyStep):
        step = keyStep
        let countIndex = first + keyNumIndex
        guard countIndex >= 0, countIndex < argc, let count = argv[countIndex].parseInt64(), count >= 0 else {
            return nil
        }
        first += firstKey
        last = first + Int(count) - 1
    case .unknown:
        return nil
    }
    guard last < argc, last >= first, first < argc, first >= 0, step > 0 else { return nil }
    return Array(stride(from: first, through: last, by: step))
}
