/// Limits the decoders enforce on untrusted input.
///
/// The defaults follow Redis: `proto-max-bulk-len` 512 MiB, multibulk length up to INT_MAX, inline requests and
/// count lines up to 64 KiB.
public struct RESPLimits: Sendable, Hashable {
    /// Largest accepted bulk string payload in bytes (Redis `proto-max-bulk-len`); also bounds the length of
    /// simple strings, simple errors and big numbers in replies.
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
///
/// The text is kept as bytes because Redis echoes a raw input byte in `expected '$', got 'x'`, which need not be
/// UTF-8; `ByteBuffer.writeRESPError(_:)` writes those exact bytes.
public struct RESPProtocolError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The message exactly as Redis sends it after `-ERR `.
    public var messageBytes: [UInt8]

    /// The message as text (a non-UTF-8 byte reads as U+FFFD).
    public var message: String {
        get { String(decoding: messageBytes, as: UTF8.self) }
        set { messageBytes = Array(newValue.utf8) }
    }

    public init(_ message: String) { self.messageBytes = Array(message.utf8) }

    public init(bytes: [UInt8]) { self.messageBytes = bytes }

    public var description: String { message }

    public static let invalidBulkLength = RESPProtocolError("Protocol error: invalid bulk length")
    public static let invalidMultibulkLength = RESPProtocolError("Protocol error: invalid multibulk length")
    public static let tooBigInlineRequest = RESPProtocolError("Protocol error: too big inline request")
    public static let tooBigMultibulkCount = RESPProtocolError("Protocol error: too big mbulk count string")
    public static let tooBigBulkCount = RESPProtocolError("Protocol error: too big bulk count string")
    public static let unbalancedQuotes = RESPProtocolError("Protocol error: unbalanced quotes in request")
    public static let nestingTooDeep = RESPProtocolError("Protocol error: too many nested aggregates")

    /// Redis's `expected '$', got '%c'`, with the raw byte; like Redis, a CR or LF is replaced by a space.
    @usableFromInline
    static func expectedDollar(got byte: UInt8) -> RESPProtocolError {
        let shown = byte == ASCII.cr || byte == ASCII.lf ? 0x20 : byte
        return RESPProtocolError(bytes: Array("Protocol error: expected '$', got '".utf8) + [shown, 0x27])
    }

    static func invalidType(_ byte: UInt8) -> RESPProtocolError {
        if byte > 0x20 && byte < 0x7F {
            return RESPProtocolError("Protocol error: invalid type byte '\(Character(Unicode.Scalar(byte)))'")
        }
        return RESPProtocolError("Protocol error: invalid type byte 0x\(String(byte, radix: 16))")
    }

    static func invalidValue(_ what: String) -> RESPProtocolError {
        RESPProtocolError("Protocol error: invalid \(what)")
    }
}
