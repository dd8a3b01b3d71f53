import NIOCore

/// How Redis's SLOWLOG keeps a command's arguments: at most 32 of them, the last of which then says how many more
/// there were, and at most 128 bytes of each. Shared by the node's and the proxy's slow logs.
public enum SlowlogForm {
    public static let maxArguments = 32
    public static let maxArgumentBytes = 128

    /// How many of `count` arguments are kept (the last kept one says how many more there were when some are
    /// dropped).
    @inlinable
    public static func keptCount(of count: Int) -> Int { min(count, maxArguments) }

    /// What stands in the slow log for `argv[index]` (`index < keptCount(of: argv.count)`), or nil when the argument
    /// is kept as it is: the note of how many arguments were dropped (last kept slot), `(redacted)` from `redactFrom`
    /// on (AUTH, HELLO ... AUTH, MIGRATE ... AUTH), or the argument cut to `maxArgumentBytes` and how many more bytes
    /// it had — in that order of precedence, as Redis's `slowlogCreateEntry`.
    public static func replacement(for argv: [ByteBuffer], at index: Int, redactFrom: Int? = nil) -> ByteBuffer? {
        let count = keptCount(of: argv.count)
        if count != argv.count && index == count - 1 {
            return ByteBuffer(string: "... (\(argv.count - count + 1) more arguments)")
        }
        if let redactFrom, index >= redactFrom { return ByteBuffer(string: "(redacted)") }
        let argument = argv[index]
        guard argument.readableBytes > maxArgumentBytes else { return nil }
        var cut = ByteBuffer(bytes: argument.readableBytesView.prefix(maxArgumentBytes))
        cut.writeString("... (\(argument.readableBytes - maxArgumentBytes) more bytes)")
        return cut
    }
}
