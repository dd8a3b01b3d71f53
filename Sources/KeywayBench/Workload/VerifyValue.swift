/// The value `--verify` writes under a key: recomputable from the key number and the run's generation alone,
/// so a reader needs no record of what was written.
///
/// Layout: `v<generation>:<key>:` then pseudo-random letters and digits seeded by (generation, key), cut to the
/// size (also derived from the pair when `--data-size` is a range).
public enum VerifyValue {
    static let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".utf8)

    /// The value's size in bytes.
    public static func size(key: Int, generation: UInt64, dataSize: DataSize) -> Int {
        switch dataSize {
        case .fixed(let n): return n
        case .range(let a, let b):
            var rng = SplitMix64(seed: seed(key: key, generation: generation) ^ 0x5349_5A45)
            return a + rng.next(below: b - a + 1)
        }
    }

    /// The value's bytes.
    public static func bytes(key: Int, generation: UInt64, dataSize: DataSize) -> [UInt8] {
        let count = size(key: key, generation: generation, dataSize: dataSize)
        return [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            fill(UnsafeMutableRawBufferPointer(buffer), key: key, generation: generation)
            initialized = count
        }
    }

    /// Fills `out` (already the value's size) with the value's bytes.
    static func fill(_ out: UnsafeMutableRawBufferPointer, key: Int, generation: UInt64) {
        var i = 0
        func put(_ byte: UInt8) {
            if i < out.count { out[i] = byte }
            i &+= 1
        }
        put(UInt8(ascii: "v"))
        for byte in String(generation).utf8 { put(byte) }
        put(UInt8(ascii: ":"))
        for byte in String(key).utf8 { put(byte) }
        put(UInt8(ascii: ":"))
        var rng = SplitMix64(seed: seed(key: key, generation: generation))
        while i < out.count {
            out[i] = alphabet[rng.next(below: alphabet.count)]
            i &+= 1
        }
    }

    static func seed(key: Int, generation: UInt64) -> UInt64 {
        var rng = SplitMix64(seed: generation &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(truncatingIfNeeded: key))
        return rng.next()
    }
}
