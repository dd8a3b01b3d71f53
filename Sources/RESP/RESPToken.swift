import NIOCore

/// One complete, validated RESP frame: a zero-copy slice of the bytes it arrived in.
///
/// Decoding a token's `value` never fails, because the frame was validated when it was cut.
public struct RESPToken: Hashable, Sendable {
    /// The frame's bytes, from its type byte to its last `\r\n`.
    public let base: ByteBuffer

    /// Wraps bytes already validated by `RESPDecoder`.
    init(validated base: ByteBuffer) {
        self.base = base
    }

    /// Validates `buffer` as exactly one frame.
    public init?(validating buffer: ByteBuffer, limits: RESPLimits = .default) {
        var copy = buffer
        var decoder = RESPDecoder(limits: limits)
        guard let token = try? decoder.decode(&copy), copy.readableBytes == 0 else { return nil }
        self = token
    }

    /// The frame's type.
    public var type: RESPTypeIdentifier {
        // Validated: the first byte is a known type identifier.
        RESPTypeIdentifier(rawValue: base.getInteger(at: base.readerIndex, as: UInt8.self) ?? 0) ?? .null
    }

    /// A lazily decoded view of the frame's value; nested values stay zero-copy tokens.
    public var value: Value {
        var buffer = base
        return Self.readValue(&buffer)
    }

    /// A frame's value. Strings are slices of the frame; aggregates are lazy sequences of tokens.
    public enum Value: Hashable, Sendable {
        case simpleString(ByteBuffer)
        case simpleError(ByteBuffer)
        case bulkString(ByteBuffer)
        case bulkError(ByteBuffer)
        /// A RESP3 verbatim string: the 3-byte format (e.g. `txt`) and the text after the colon.
        case verbatimString(format: ByteBuffer, text: ByteBuffer)
        case integer(Int64)
        case double(Double)
        case boolean(Bool)
        case bigNumber(ByteBuffer)
        /// RESP3 `_`.
        case null
        /// RESP2 `$-1`.
        case nullBulkString
        /// RESP2 `*-1` (and RESP3 `~-1`/`%-1`, which some servers send).
        case nullArray
        case array(Array)
        case set(Array)
        case push(Array)
        case map(Map)
        /// RESP3 attributes and the value they annotate.
        indirect case attribute(Map, RESPToken)
    }

    /// The elements of an aggregate frame, decoded one at a time.
    public struct Array: Sequence, Hashable, Sendable {
        public let count: Int
        /// The bytes of the elements, without the header.
        let elements: ByteBuffer

        public func makeIterator() -> Iterator { Iterator(remaining: count, buffer: elements) }

        public struct Iterator: IteratorProtocol {
            var remaining: Int
            var buffer: ByteBuffer

            public mutating func next() -> RESPToken? {
                guard remaining > 0 else { return nil }
                remaining -= 1
                return RESPToken.readToken(&buffer)
            }
        }
    }

    /// The key/value pairs of a map or attribute frame, decoded one pair at a time.
    public struct Map: Sequence, Hashable, Sendable {
        public let count: Int
        let elements: ByteBuffer

        public func makeIterator() -> Iterator { Iterator(remaining: count, buffer: elements) }

        public struct Iterator: IteratorProtocol {
            var remaining: Int
            var buffer: ByteBuffer

            public mutating func next() -> (key: RESPToken, value: RESPToken)? {
                guard remaining > 0 else { return nil }
                remaining -= 1
                guard let key = RESPToken.readToken(&buffer), let value = RESPToken.readToken(&buffer) else {
                    return nil
                }
                return (key, value)
            }
        }
    }

    /// Cuts the next (already validated) frame off `buffer`.
    static func readToken(_ buffer: inout ByteBuffer) -> RESPToken? {
        guard let length = frameLength(buffer), let slice = buffer.readSlice(length: length) else { return nil }
        return RESPToken(validated: slice)
    }

    /// Length of the validated frame at the start of `buffer`.
    static func frameLength(_ buffer: ByteBuffer) -> Int? {
        buffer.withUnsafeReadableBytes { bytes in
            var offset = 0
            var stack: [Int] = []
            var limits = RESPLimits.default
            limits.maxNestingDepth = .max
            limits.maxBulkLength = .max
            limits.maxInlineSize = .max
            return try? RESPDecoder.scan(bytes, offset: &offset, stack: &stack, limits: limits)
        }
    }

    /// Reads the header of a validated frame and returns its value.
    static func readValue(_ buffer: inout ByteBuffer) -> Value {
        guard let typeByte = buffer.readInteger(as: UInt8.self), let type = RESPTypeIdentifier(rawValue: typeByte),
            let line = readLine(&buffer)
        else { return .null }
        switch type {
        case .simpleString: return .simpleString(line)
        case .simpleError: return .simpleError(line)
        case .integer: return .integer(line.parseInt64() ?? 0)
        case .double: return .double(line.withUnsafeReadableBytes { RESPDouble.parse($0, 0, $0.count) } ?? .nan)
        case .boolean: return .boolean(line.getInteger(at: line.readerIndex, as: UInt8.self) == 0x74)
        case .bigNumber: return .bigNumber(line)
        case .null: return .null
        case .bulkString, .bulkError, .verbatimString:
            let length = Int(line.parseInt64() ?? -1)
            if length < 0 { return .nullBulkString }
            let data = buffer.readSlice(length: length) ?? ByteBuffer()
            buffer.moveReaderIndex(forwardBy: min(2, buffer.readableBytes))
            switch type {
            case .bulkError: return .bulkError(data)
            case .verbatimString:
                var d = data
                let format = d.readSlice(length: 3) ?? ByteBuffer()
                d.moveReaderIndex(forwardBy: min(1, d.readableBytes))
                return .verbatimString(format: format, text: d)
            default: return .bulkString(data)
            }
        case .array, .set, .push, .map, .attribute:
            let count = Int(line.parseInt64() ?? -1)
            if count < 0 { return .nullArray }
            switch type {
            case .array: return .array(Array(count: count, elements: buffer))
            case .set: return .set(Array(count: count, elements: buffer))
            case .push: return .push(Array(count: count, elements: buffer))
            case .map: return .map(Map(count: count, elements: buffer))
            default:
                var rest = buffer
                var iterator = Map.Iterator(remaining: count, buffer: rest)
                while iterator.next() != nil {}
                rest = iterator.buffer
                let annotated = readToken(&rest) ?? RESPToken(validated: ByteBuffer(string: "_\r\n"))
                return .attribute(Map(count: count, elements: buffer), annotated)
            }
        }
    }

    private static func readLine(_ buffer: inout ByteBuffer) -> ByteBuffer? {
        guard let end = buffer.withUnsafeReadableBytes({ ASCII.findCRLF($0, from: 0) }) else { return nil }
        let line = buffer.readSlice(length: end)
        buffer.moveReaderIndex(forwardBy: 2)
        return line
    }
}

extension ByteBuffer {
    /// Parses the readable bytes as a Redis integer (`string2ll` rules), or nil.
    public func parseInt64() -> Int64? {
        withUnsafeReadableBytes { ASCII.parseInt64($0, 0, $0.count) }
    }
}
