import NIOCore
import RESP

/// Bytes of a key or of a string value as the keyspace stores them: up to 24 bytes inline (no allocation, no
/// reference count, and no second cache miss to reach them, like Redis's embedded strings), longer ones in a
/// buffer of their own.
enum CompactBytes {
    /// Up to `inlineCapacity` bytes, little-endian in three words (zero-padded), and the length.
    case inline(UInt64, UInt64, UInt64, UInt8)
    case buffer(ByteBuffer)

    static let inlineCapacity = 24

    /// `buffer`'s readable bytes: inline when short, else `buffer` itself (which may be a slice of a request:
    /// fine for a lookup; what is stored goes through `compacting`).
    @inline(__always)
    init(referencing buffer: ByteBuffer) {
        let count = buffer.readableBytes
        guard count <= Self.inlineCapacity else {
            self = .buffer(buffer)
            return
        }
        var words: (UInt64, UInt64, UInt64) = (0, 0, 0)
        buffer.withUnsafeReadableBytes { source in
            withUnsafeMutableBytes(of: &words) { target in
                if let base = source.baseAddress, count > 0 { target.baseAddress?.copyMemory(from: base, byteCount: count) }
            }
        }
        self = .inline(words.0, words.1, words.2, UInt8(truncatingIfNeeded: count))
    }

    /// `buffer`'s readable bytes in storage of their own: inline when short, else a compacted copy, so that a
    /// stored value never pins a client's read buffer.
    @inline(__always)
    init(compacting buffer: ByteBuffer) {
        if buffer.readableBytes <= Self.inlineCapacity {
            self.init(referencing: buffer)
        } else {
            self = .buffer(buffer.compacted())
        }
    }

    /// The decimal form of `value` (at most 20 bytes, so always inline).
    init(decimal value: Int64) {
        var words: (UInt64, UInt64, UInt64) = (0, 0, 0)
        let count = withUnsafeMutableBytes(of: &words) { ByteBuffer.storeDecimal(value, into: $0, at: 0) }
        self = .inline(words.0, words.1, words.2, UInt8(truncatingIfNeeded: count))
    }

    var readableBytes: Int {
        switch self {
        case .inline(_, _, _, let count): return Int(count)
        case .buffer(let buffer): return buffer.readableBytes
        }
    }

    @inline(__always)
    func withUnsafeReadableBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        switch self {
        case .inline(let w0, let w1, let w2, let count):
            var words = (w0, w1, w2)
            return try withUnsafeBytes(of: &words) { try body(UnsafeRawBufferPointer(rebasing: $0.prefix(Int(count)))) }
        case .buffer(let buffer):
            return try buffer.withUnsafeReadableBytes(body)
        }
    }

    /// The bytes as a buffer (allocated for inline bytes; the stored buffer itself otherwise).
    var buffer: ByteBuffer {
        switch self {
        case .buffer(let buffer):
            return buffer
        case .inline(_, _, _, let count):
            var buffer = ByteBufferAllocator().buffer(capacity: Int(count))
            withUnsafeReadableBytes { _ = buffer.writeBytes($0) }
            return buffer
        }
    }

    /// Parses the bytes as a Redis integer (`string2ll` rules), or nil.
    func parseInt64() -> Int64? {
        withUnsafeReadableBytes { $0.parseInt64() }
    }

    /// Whether the bytes are those of `other`'s readable bytes.
    @inline(__always)
    func equals(_ other: ByteBuffer) -> Bool { self == .buffer(other) }

    /// Same bytes (a short key is always inline and a long one never, so mixed cases compare unequal only when
    /// the lengths differ; for values, compared byte by byte).
    static func == (lhs: CompactBytes, rhs: CompactBytes) -> Bool {
        switch (lhs, rhs) {
        case (.inline(let a0, let a1, let a2, let a3), .inline(let b0, let b1, let b2, let b3)):
            return a0 == b0 && a1 == b1 && a2 == b2 && a3 == b3
        case (.buffer(let a), .buffer(let b)):
            return a == b
        default:
            return lhs.withUnsafeReadableBytes { a in rhs.withUnsafeReadableBytes { b in a.elementsEqual(b) } }
        }
    }
}

extension ReplyWriter {
    mutating func bulk(_ value: CompactBytes) {
        value.withUnsafeReadableBytes { buffer.writeRESPBulkString(bytes: $0) }
    }
}
