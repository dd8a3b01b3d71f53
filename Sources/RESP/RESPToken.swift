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

    /// The frame's type. Inlined always, like the frame writers (ByteBuffer+RESP.swift): read once per reply.
    @inlinable
    @inline(__always)
    public var type: RESPTypeIdentifier {
        // Validated: the first byte is a known type identifier.
        RESPTypeIdentifier(rawValue: base.getInteger(at: base.readerIndex, as: UInt8.self) ?? 0) ?? .null
    }

    /// A lazily decoded view of the frame's value; nested values stay zero-copy tokens.
    public var value: Value {
        let base = self.base
        return base.withUnsafeReadableBytes { bytes in Self.value(of: base, bytes) }
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
        /// The bytes of the pairs, without the header.
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
        let length = buffer.withUnsafeReadableBytes { skipFrames($0, from: 0, count: 1) }
        guard let length, let slice = buffer.readSlice(length: length) else { return nil }
        return RESPToken(validated: slice)
    }

    /// The end of the `count` validated frames starting at `from`, found from their headers alone (no stack,
    /// no allocation, payloads skipped by length); nil if the bytes end first.
    static func skipFrames(_ bytes: UnsafeRawBufferPointer, from: Int, count: Int) -> Int? {
        var i = from
        var pending = count
        while pending > 0 {
            guard i < bytes.count, let type = RESPTypeIdentifier(rawValue: bytes[i]),
                let lineEnd = ASCII.findCRLF(bytes, from: i &+ 1)
            else { return nil }
            pending &-= 1
            let lineStart = i &+ 1
            i = lineEnd &+ 2
            switch type {
            case .bulkString, .bulkError, .verbatimString:
                let length = ASCII.parseInt64(bytes, lineStart, lineEnd) ?? -1
                if length >= 0 {
                    guard length <= Int64(bytes.count &- i &- 2) else { return nil }
                    i &+= Int(length) &+ 2
                }
            case .array, .set, .push, .map, .attribute:
                let n = Int(ASCII.parseInt64(bytes, lineStart, lineEnd) ?? -1)
                guard n > 0 || type == .attribute else { continue }
                guard n >= 0, n <= bytes.count &- i else { return nil }  // every element takes 3 bytes or more
                switch type {
                case .map: pending &+= n &* 2
                case .attribute: pending &+= n &* 2 &+ 1
                default: pending &+= n
                }
            default:
                break
            }
        }
        return i
    }

    /// Decodes the header of the validated frame in `bytes` (the readable bytes of `base`).
    private static func value(of base: ByteBuffer, _ bytes: UnsafeRawBufferPointer) -> Value {
        guard bytes.count >= 3, let type = RESPTypeIdentifier(rawValue: bytes[0]),
            let lineEnd = ASCII.findCRLF(bytes, from: 1)
        else { return .null }
        func slice(_ start: Int, _ end: Int) -> ByteBuffer {
            base.getSlice(at: base.readerIndex &+ start, length: end &- start) ?? ByteBuffer()
        }
        let next = lineEnd &+ 2
        switch type {
        case .simpleString: return .simpleString(slice(1, lineEnd))
        case .simpleError: return .simpleError(slice(1, lineEnd))
        case .bigNumber: return .bigNumber(slice(1, lineEnd))
        case .integer: return .integer(ASCII.parseInt64(bytes, 1, lineEnd) ?? 0)
        case .double: return .double(RESPDouble.parse(bytes, 1, lineEnd) ?? .nan)
        case .boolean: return .boolean(lineEnd > 1 && bytes[1] == 0x74)
        case .null: return .null
        case .bulkString, .bulkError, .verbatimString:
            let length = ASCII.parseInt64(bytes, 1, lineEnd) ?? -1
            guard length >= 0, length <= Int64(bytes.count &- next) else { return .nullBulkString }
            let end = next &+ Int(length)
            switch type {
            case .bulkError: return .bulkError(slice(next, end))
            case .verbatimString:
                guard length >= 4 else { return .verbatimString(format: ByteBuffer(), text: slice(next, end)) }
                return .verbatimString(format: slice(next, next &+ 3), text: slice(next &+ 4, end))
            default: return .bulkString(slice(next, end))
            }
        case .array, .set, .push, .map, .attribute:
            let n = ASCII.parseInt64(bytes, 1, lineEnd) ?? -1
            guard n >= 0, n <= Int64(bytes.count) else { return .nullArray }
            let count = Int(n)
            switch type {
            case .array: return .array(Array(count: count, elements: slice(next, bytes.count)))
            case .set: return .set(Array(count: count, elements: slice(next, bytes.count)))
            case .push: return .push(Array(count: count, elements: slice(next, bytes.count)))
            case .map: return .map(Map(count: count, elements: slice(next, bytes.count)))
            default:
                guard let pairsEnd = skipFrames(bytes, from: next, count: count &* 2),
                    let end = skipFrames(bytes, from: pairsEnd, count: 1)
                else { return .null }
                return .attribute(
                    Map(count: count, elements: slice(next, pairsEnd)),
                    RESPToken(validated: slice(pairsEnd, end))
                )
            }
        }
    }
}

extension ByteBuffer {
    /// Parses the readable bytes as a Redis integer (`string2ll` rules), or nil.
    public func parseInt64() -> Int64? {
        withUnsafeReadableBytes { $0.parseInt64() }
    }
}

extension UnsafeRawBufferPointer {
    /// Parses the bytes as a Redis integer (`string2ll` rules), or nil.
    public func parseInt64() -> Int64? {
        ASCII.parseInt64(self, 0, count)
    }
}
