import NIOCore

/// A Redis Cluster hash slot, 0 ..< 16384: `CRC16-XMODEM(key or its hash tag) & 16383`.
public struct HashSlot: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// Number of hash slots in a Redis cluster.
    public static let count = 16384

    public let rawValue: UInt16

    /// A slot number; nil outside 0 ..< 16384.
    public init?(_ value: Int) {
        guard value >= 0 && value < Self.count else { return nil }
        rawValue = UInt16(value)
    }

    /// The slot of `key`.
    @inlinable
    public init(key: ByteBuffer) {
        rawValue = key.withUnsafeReadableBytes { HashSlot.slot(of: $0) }
    }

    /// The slot of `key`'s bytes.
    public init(key: some Collection<UInt8>) {
        let bytes = Array(key)
        rawValue = bytes.withUnsafeBytes { HashSlot.slot(of: $0) }
    }

    /// The slot of `key`'s UTF-8 bytes.
    public init(key: String) {
        var key = key
        rawValue = key.withUTF8 { HashSlot.slot(of: UnsafeRawBufferPointer($0)) }
    }

    public var description: String { String(rawValue) }

    public static func < (lhs: HashSlot, rhs: HashSlot) -> Bool { lhs.rawValue < rhs.rawValue }

    /// The part of `key` that is hashed: the content of the first `{...}` if non-empty, else the whole key.
    @inlinable
    public static func hashTagRange(of key: UnsafeRawBufferPointer) -> Range<Int> {
        let count = key.count
        var open = 0
        while open < count {
            if key[open] == 0x7B { break }  // {
            open &+= 1
        }
        guard open < count else { return 0..<count }
        var close = open &+ 1
        while close < count {
            if key[close] == 0x7D { break }  // }
            close &+= 1
        }
        // No closing brace, or an empty tag `{}`: hash the whole key.
        guard close < count, close > open &+ 1 else { return 0..<count }
        return (open &+ 1)..<close
    }

    /// The hash tag of `key`, or nil when the whole key is hashed.
    public static func hashTag(of key: some Collection<UInt8>) -> [UInt8]? {
        let bytes = Array(key)
        return bytes.withUnsafeBytes { raw in
            let range = hashTagRange(of: raw)
            return range == 0..<raw.count ? nil : Array(raw[range])
        }
    }

    @inlinable
    static func slot(of key: UnsafeRawBufferPointer) -> UInt16 {
        let range = hashTagRange(of: key)
        return CRC16.checksum(UnsafeRawBufferPointer(rebasing: key[range])) & 0x3FFF
    }
}

/// CRC16-CCITT (XMODEM): polynomial 0x1021, initial value 0, as in the Redis Cluster specification.
public enum CRC16 {
    public static func checksum(_ bytes: some Collection<UInt8>) -> UInt16 {
        Array(bytes).withUnsafeBytes { checksum($0) }
    }

    /// The table is read through one pointer for the whole key: no lazy-global check and no bounds check per
    /// byte (an index is `(crc >> 8) ^ byte`, always below 256).
    @inlinable
    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt16 {
        table.withUnsafeBufferPointer { table in
            guard let entries = table.baseAddress else { return 0 }
            var crc: UInt16 = 0
            for byte in bytes {
                crc = (crc << 8) ^ entries[Int(truncatingIfNeeded: UInt8(truncatingIfNeeded: crc >> 8) ^ byte)]
            }
            return crc
        }
    }

    @usableFromInline
    static let table: [UInt16] = (0..<256).map { (i: Int) -> UInt16 in
        var crc = UInt16(i) << 8
        for _ in 0..<8 {
            crc = (crc & 0x8000) != 0 ? (crc << 1) ^ 0x1021 : crc << 1
        }
        return crc
    }
}
