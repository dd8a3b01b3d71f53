import NIOCore

/// How Redis's SLOWLOG keeps a command's arguments: at most 32 of them, the last of which then says how many more
/// there were, and at most 128 bytes of each. Shared by the node's and the proxy's slow logs.
public enum SlowlogForm {
    public static let maxArguments = 32
    public static let maxArgumentBytes = 128

    /// How many of `count` arguments are kept (the last kept one becomes `moreArguments` when some are dropped).
    @inlinable
    public static func keptCount(of count: Int) -> Int { min(count, maxArguments) }

    /// The argument that stands for the ones dropped, when `count` arguments were cut to `keptCount(of:)`.
    public static func moreArguments(of count: Int) -> String {
        "... (\(count - keptCount(of: count) + 1) more arguments)"
    }

    /// `argument` cut to its first `maxArgumentBytes` bytes and a note of how many more there were; nil when it is
    /// short enough to be kept as it is.
    public static func cut(_ argument: ByteBuffer) -> ByteBuffer? {
        guard argument.readableBytes > maxArgumentBytes else { return nil }
        var cut = ByteBuffer(bytes: argument.readableBytesView.prefix(maxArgumentBytes))
        cut.writeString("... (\(argument.readableBytes - maxArgumentBytes) more bytes)")
        return cut
    }
}
