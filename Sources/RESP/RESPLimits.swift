/// Limits the decoders enforce on untrusted input.
///
/// The defaults follow Redis: `proto-max-bulk-len` 512 MiB, multibulk length up to INT_MAX, inline requests and
/// count lines up to 64 KiB.
public struct RESPLimits: Sendable, Hashable {
    /// Largest accepted bulk string payload in bytes (Redis `proto-max-bulk-len`).
    public var maxBulkLength: Int
    /// Largest accepted element count of an array, map, set or push frame.
    public var maxMultibulkLength: Int
    /// Deepest accepted nesting of aggregate frames (replies only; requests are flat).
    public var maxNestingDepth: Int
    /// Longest accepted inline request, and longest `*N` / `$N` count line, without a newline.
    public var maxInlineSize: Int

    public init(
        maxBulkLength: Int = 512 * 1024 * 1024,
        maxMultibulkLength: Int = Int(Int32.max),
        maxNestingDepth: Int = 128,
        maxInlineSize: Int = 64 * 1024
    ) {
        self.maxBulkLength = maxBulkLength
        self.maxMultibulkLength = maxMultibulkLength
        self.maxNestingDepth = maxNestingDepth
        self.maxInlineSize = maxInlineSize
    }

    public static let `default` = RESPLimits()
}

/// A protocol violation; `message` is Redis's own text, sent as `-ERR <message>` before closing the connection.
public struct RESPProtocolError: Error, Hashable, Sendable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }

    public static let invalidBulkLength = RESPProtocolError("Protocol error: invalid bulk length")
    public static let invalidMultibulkLength = RESPProtocolError("Protocol error: invalid multibulk length")
    public static let tooBigInlineRequest = RESPProtocolError("Protocol error: too big inline request")
    public static let tooBigMultibulkCount = RESPProtocolError("Protocol error: too big mbulk count string")
    public static let tooBigBulkCount = RESPProtocolError("Protocol error: too big bulk count string")
    public static let unbalancedQuotes = RESPProtocolError("Protocol error: unbalanced quotes in request")
    public static let nestingTooDeep = RESPProtocolError("Protocol error: too many nested aggregates")

    static func expectedDollar(got byte: UInt8) -> RESPProtocolError {
        RESPProtocolError("Protocol error: expected '$', got '\(Character(Unicode.Scalar(byte)))'")
    }

    static func invalidType(_ byte: UInt8) -> RESPProtocolError {
        RESPProtocolError("Protocol error: invalid type byte '\(Character(Unicode.Scalar(byte)))'")
    }

    static func invalidValue(_ what: String) -> RESPProtocolError {
        RESPProtocolError("Protocol error: invalid \(what)")
    }
}
