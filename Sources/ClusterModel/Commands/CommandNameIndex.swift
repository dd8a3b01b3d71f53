import NIOCore

/// A case-insensitive name → index map over command names, probed with the raw bytes of a request.
///
/// Names are at most 32 bytes, so a lowercased name packs into four 64-bit words: a lookup is one pass over the
/// bytes, a multiply-xor hash and a few word compares, with no String and no allocation.
struct CommandNameIndex: Sendable {
    /// A lowercased name of at most ``capacity`` bytes packed little-endian into four words.
    struct PackedName: Sendable, Equatable {
        static let capacity = 32

        var w0: UInt64 = 0
        var w1: UInt64 = 0
        var w2: UInt64 = 0
        var w3: UInt64 = 0
        var length: Int = 0

        /// Packs `bytes` lowercased (ASCII A-Z only, like C's `tolower`); `nil` when too long.
        @inline(__always)
        init?(_ bytes: UnsafeRawBufferPointer) {
            guard bytes.count <= Self.capacity else { return nil }
            length = bytes.count
            var index = 0
            while index < bytes.count {
                var byte = bytes[index]
                if byte &- UInt8(ascii: "A") < 26 {
                    byte |= 0x20
                }
                let shifted = UInt64(byte) << UInt64((index & 7) &* 8)
                switch index >> 3 {
                case 0: w0 |= shifted
                case 1: w1 |= shifted
                case 2: w2 |= shifted
                default: w3 |= shifted
                }
                index &+= 1
            }
        }

        var hash: Int {
            var h = (w0 ^ UInt64(truncatingIfNeeded: length)) &* 0x9E37_79B9_7F4A_7C15
            h = (h ^ (h >> 29) ^ w1) &* 0xBF58_476D_1CE4_E5B9
            h = (h ^ (h >> 32) ^ w2) &* 0x94D0_49BB_1331_11EB
            h = (h ^ (h >> 29) ^ w3) &* 0x9E37_79B9_7F4A_7C15
            return Int(truncatingIfNeeded: h ^ (h >> 32))
        }
    }

    private let keys: [PackedName]
    /// Open-addressing table of indices into `keys`; -1 marks an empty slot.
    private let slots: [Int16]
    private let mask: Int

    /// Builds the index; `names` must be distinct, lowercase and at most 32 bytes (the generated table is).
    init(names: [Substring]) {
        var packed: [PackedName] = []
        packed.reserveCapacity(names.count)
        for name in names {
            let utf8 = Array(name.utf8)
            guard let key = utf8.withUnsafeBytes({ PackedName($0) }) else {
                preconditionFailure("command name longer than 32 bytes: \(name)")
            }
            packed.append(key)
        }
        var size = 4
        while size < names.count * 4 {
            size <<= 1
        }
        var table = [Int16](repeating: -1, count: size)
        for (index, key) in packed.enumerated() {
            var slot = key.hash & (size - 1)
            while table[slot] >= 0 {
                precondition(packed[Int(table[slot])] != key, "duplicate command name")
                slot = (slot + 1) & (size - 1)
            }
            table[slot] = Int16(index)
        }
        self.keys = packed
        self.slots = table
        self.mask = size - 1
    }

    /// The index of the name spelled by `bytes` (any case), or `nil`.
    @inline(__always)
    func find(bytes: UnsafeRawBufferPointer) -> Int? {
        guard let key = PackedName(bytes) else { return nil }
        return find(key)
    }

    /// The index of the name in `buffer`'s readable bytes (any case), or `nil`.
    @inline(__always)
    func find(_ buffer: ByteBuffer) -> Int? {
        buffer.withUnsafeReadableBytes { find(bytes: $0) }
    }

    /// The index of `name` (any case), or `nil`.
    func find(_ name: String) -> Int? {
        var name = name
        return name.withUTF8 { find(bytes: UnsafeRawBufferPointer($0)) }
    }

    private func find(_ key: PackedName) -> Int? {
        var slot = key.hash & mask
        while true {
            let entry = slots[slot]
            if entry < 0 {
                return nil
            }
            if keys[Int(entry)] == key {
                return Int(entry)
            }
            slot = (slot + 1) & mask
        }
    }
}
