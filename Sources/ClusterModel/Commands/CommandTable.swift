import NIOCore

/// The Redis 7.0 command table: every command and subcommand, looked up case-insensitively from request bytes.
///
/// Built once from the generated data (`CommandTable+Generated.swift`); lookups allocate nothing, so the proxy
/// can resolve each request on its event loop.
public struct CommandTable: Sendable {
    /// Redis 7.0's commands, with Keyway's routing overlay.
    public static let redis70 = CommandTable(commands: generatedCommands)

    /// The top-level commands, sorted by name (`COMMAND COUNT` is their number).
    public let commands: [CommandSpec]
    private let index: CommandNameIndex

    /// A table of `commands` (top-level ones; subcommands hang off their containers).
    public init(commands: [CommandSpec]) {
        let sorted = commands.sorted { $0.name < $1.name }
        self.commands = sorted
        self.index = CommandNameIndex(names: sorted.map { Substring($0.name) })
    }

    /// The number of top-level commands (`COMMAND COUNT`).
    public var count: Int {
        commands.count
    }

    /// Every command followed by its subcommands, in name order (what `COMMAND LIST` lists).
    public var allCommands: [CommandSpec] {
        commands.flatMap { [$0] + $0.subcommands }
    }

    /// The top-level command named by `name`'s readable bytes, any case; no allocation.
    public func command(named name: ByteBuffer) -> CommandSpec? {
        guard let position = index.find(name) else { return nil }
        return commands[position]
    }

    /// The command or subcommand with this name, any case: `get`, or `container|sub` (`CONFIG|GET`), the form
    /// `COMMAND INFO` and `COMMAND DOCS` accept.
    public func command(named name: String) -> CommandSpec? {
        let parts = name.split(separator: "|", maxSplits: 2, omittingEmptySubsequences: false)
        guard let position = index.find(String(parts[0])) else { return nil }
        let base = commands[position]
        switch parts.count {
        case 1:
            return base
        case 2:
            return base.subcommand(named: String(parts[1]))
        default:
            return nil
        }
    }

    /// Redis's `lookupCommand`: the command for `argv[0]`, or for a container with at least two arguments the
    /// subcommand named by `argv[1]` (a container alone resolves to itself). No allocation.
    public func lookup(_ argv: [ByteBuffer]) -> CommandLookup {
        guard let first = argv.first, let base = command(named: first) else { return .unknownCommand }
        if argv.count == 1 || !base.isContainer {
            return .command(base)
        }
        guard let subcommand = base.subcommand(named: argv[1]) else { return .unknownSubcommand(container: base) }
        return .command(subcommand)
    }

    /// The command to run for `argv`, after Redis's existence and arity checks (`processCommand`), or the error
    /// Redis replies with: `unknown command`, `unknown subcommand`, `wrong number of arguments`.
    public func resolve(_ argv: [ByteBuffer]) throws(CommandError) -> CommandSpec {
        switch lookup(argv) {
        case .command(let spec):
            guard spec.acceptsArgumentCount(argv.count) else { throw CommandError.wrongNumberOfArguments(spec) }
            return spec
        case .unknownSubcommand:
            throw CommandError.unknownSubcommand(argv)
        case .unknownCommand:
            throw CommandError.unknownCommand(argv)
        }
    }

    /// `COMMAND GETKEYS` for `argv` (the arguments after `GETKEYS`: a command and its arguments): the key
    /// positions in `argv`, or the error Redis 7.0 replies with.
    public func getKeys(_ argv: [ByteBuffer]) throws(GetKeysError) -> KeyPositions {
        guard case .command(let spec) = lookup(argv) else { throw GetKeysError.invalidCommand }
        guard spec.hasKeys else { throw GetKeysError.noKeyArguments }
        guard spec.acceptsArgumentCount(argv.count) else { throw GetKeysError.invalidNumberOfArguments }
        let positions = spec.keyPositions(in: argv)
        if positions.isEmpty && !spec.flags.contains(.noMandatoryKeys) {
            throw GetKeysError.invalidArguments
        }
        return positions
    }
}

/// The result of looking a request up in the command table (Redis's `lookupCommand`).
public enum CommandLookup: Sendable {
    case command(CommandSpec)
    /// `argv[0]` is a container command but `argv[1]` is none of its subcommands.
    case unknownSubcommand(container: CommandSpec)
    case unknownCommand
}

/// A request Redis would reject before running it; ``message`` is Redis 7.0's exact error text.
public struct CommandError: Error, Sendable, Hashable {
    /// Why the request was rejected.
    public enum Kind: Sendable, Hashable {
        case unknownCommand
        case unknownSubcommand
        case wrongNumberOfArguments
    }

    public let kind: Kind
    /// The error line as Redis sends it, without the leading `-` and the CRLF (`ERR unknown command 'foo', ...`).
    /// Bytes, not a String: the text quotes the client's arguments, which need not be UTF-8.
    public let messageBytes: [UInt8]

    public init(kind: Kind, messageBytes: [UInt8]) {
        self.kind = kind
        self.messageBytes = messageBytes
    }

    /// ``messageBytes`` as text (invalid UTF-8 repaired).
    public var message: String {
        String(decoding: messageBytes, as: UTF8.self)
    }

    /// `ERR wrong number of arguments for 'cluster|setslot' command`.
    public static func wrongNumberOfArguments(_ spec: CommandSpec) -> CommandError {
        CommandError(
            kind: .wrongNumberOfArguments,
            messageBytes: Array("ERR wrong number of arguments for '\(spec.name)' command".utf8)
        )
    }

    /// `ERR unknown command 'foo', with args beginning with: 'a' 'b' `: like Redis, each argument is quoted as
    /// a C string (up to its first NUL byte), the command name is cut at 128 bytes, the arguments stop once 128
    /// bytes of them are written, and CR / LF become spaces.
    public static func unknownCommand(_ argv: [ByteBuffer]) -> CommandError {
        var text = Array("ERR unknown command '".utf8)
        if let name = argv.first {
            text += name.cStringPrefix(maxLength: 128)
        }
        text += Array("', with args beginning with: ".utf8)
        var quoted: [UInt8] = []
        var index = 1
        while index < argv.count && quoted.count < 128 {
            quoted.append(UInt8(ascii: "'"))
            quoted += argv[index].cStringPrefix(maxLength: 128 - (quoted.count - 1))
            quoted += [UInt8(ascii: "'"), UInt8(ascii: " ")]
            index += 1
        }
        text += quoted
        return CommandError(kind: .unknownCommand, messageBytes: mapNewlines(text))
    }

    /// `ERR unknown subcommand 'x'. Try CLUSTER HELP.`: the subcommand quoted as a C string cut at 128 bytes,
    /// the container as the client spelled it, uppercased.
    public static func unknownSubcommand(_ argv: [ByteBuffer]) -> CommandError {
        var text = Array("ERR unknown subcommand '".utf8)
        if argv.count > 1 {
            text += argv[1].cStringPrefix(maxLength: 128)
        }
        text += Array("'. Try ".utf8)
        if let container = argv.first {
            text += container.cStringPrefix(maxLength: Int.max).map { byte in
                byte &- UInt8(ascii: "a") < 26 ? byte & ~0x20 : byte
            }
        }
        text += Array(" HELP.".utf8)
        return CommandError(kind: .unknownSubcommand, messageBytes: mapNewlines(text))
    }

    private static func mapNewlines(_ bytes: [UInt8]) -> [UInt8] {
        bytes.map { $0 == UInt8(ascii: "\r") || $0 == UInt8(ascii: "\n") ? UInt8(ascii: " ") : $0 }
    }
}

/// Why `COMMAND GETKEYS` fails; ``message`` is Redis 7.0's exact error text.
public enum GetKeysError: Error, Sendable, Hashable {
    /// No such command or subcommand.
    case invalidCommand
    /// The command never has keys.
    case noKeyArguments
    /// The argument count does not satisfy the command's arity.
    case invalidNumberOfArguments
    /// No keys found where the command requires some (for example a bad `numkeys`).
    case invalidArguments

    /// The error line as Redis sends it, without the leading `-` and the CRLF.
    public var message: String {
        switch self {
        case .invalidCommand:
            return "ERR Invalid command specified"
        case .noKeyArguments:
            return "ERR The command has no key arguments"
        case .invalidNumberOfArguments:
            return "ERR Invalid number of arguments specified for command"
        case .invalidArguments:
            return "ERR Invalid arguments specified for command"
        }
    }
}

extension ByteBuffer {
    /// The readable bytes up to the first NUL byte, at most `maxLength` of them (C's `%.*s`).
    func cStringPrefix(maxLength: Int) -> [UInt8] {
        withUnsafeReadableBytes { bytes in
            var result: [UInt8] = []
            for byte in bytes {
                if byte == 0 || result.count >= maxLength {
                    break
                }
                result.append(byte)
            }
            return result
        }
    }
}
