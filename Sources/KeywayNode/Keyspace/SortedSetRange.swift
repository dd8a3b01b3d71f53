import Foundation
import NIOCore

/// A score interval (`ZRANGEBYSCORE` min/max): `(` makes a bound exclusive; `-inf`/`+inf` are unbounded.
struct ZScoreRange {
    var min: Double
    var max: Double
    var minExclusive = false
    var maxExclusive = false

    /// Whether no score can be in the range.
    var isEmpty: Bool { min > max || (min == max && (minExclusive || maxExclusive)) }

    @inline(__always) func isAboveMin(_ value: Double) -> Bool { minExclusive ? value > min : value >= min }
    @inline(__always) func isBelowMax(_ value: Double) -> Bool { maxExclusive ? value < max : value <= max }
    @inline(__always) func contains(_ value: Double) -> Bool { isAboveMin(value) && isBelowMax(value) }

    /// Parses two bounds as Redis's `zslParseRange` (strtod, `(` prefix, NaN rejected); nil on error.
    init?(min: ByteBuffer, max: ByteBuffer) {
        guard let (low, lowExclusive) = Self.parseBound(min), let (high, highExclusive) = Self.parseBound(max) else {
            return nil
        }
        self.min = low
        self.max = high
        self.minExclusive = lowExclusive
        self.maxExclusive = highExclusive
    }

    init(min: Double, max: Double, minExclusive: Bool = false, maxExclusive: Bool = false) {
        self.min = min
        self.max = max
        self.minExclusive = minExclusive
        self.maxExclusive = maxExclusive
    }

    private static func parseBound(_ buffer: ByteBuffer) -> (Double, Bool)? {
        buffer.withUnsafeReadableBytes { bytes -> (Double, Bool)? in
            var start = 0
            var exclusive = false
            if bytes.count > 0 && bytes[0] == UInt8(ascii: "(") {
                start = 1
                exclusive = true
            }
            let length = bytes.count - start
            return withUnsafeTemporaryAllocation(of: CChar.self, capacity: length + 1) { text -> (Double, Bool)? in
                for i in 0..<length { text[i] = CChar(bitPattern: bytes[start + i]) }
                text[length] = 0
                guard let base = text.baseAddress else { return nil }
                var end: UnsafeMutablePointer<CChar>?
                let value = strtod(base, &end)
                guard let end, end.pointee == 0, !value.isNaN else { return nil }
                return (value, exclusive)
            }
        }
    }
}

/// One end of a lexicographic interval: `-`, `+`, or a member (`[` inclusive, `(` exclusive).
enum ZLexBound {
    case minusInfinity
    case plusInfinity
    case member(ByteBuffer)

    /// Compares `member` with this bound as Redis's `sdscmplex`.
    @inline(__always)
    func compare(member: some LexComparable) -> Int {
        switch self {
        case .minusInfinity: return 1
        case .plusInfinity: return -1
        case .member(let bound): return member.lexCompare(bound)
        }
    }
}

/// A lexicographic interval (`ZRANGEBYLEX` min/max).
struct ZLexRange {
    var min: ZLexBound
    var max: ZLexBound
    var minExclusive: Bool
    var maxExclusive: Bool

    /// Parses two bounds as Redis's `zslParseLexRange`; nil on error.
    init?(min: ByteBuffer, max: ByteBuffer) {
        guard let (low, lowExclusive) = Self.parseBound(min), let (high, highExclusive) = Self.parseBound(max) else {
            return nil
        }
        self.min = low
        self.max = high
        self.minExclusive = lowExclusive
        self.maxExclusive = highExclusive
    }

    /// Whether no member can be in the range.
    var isEmpty: Bool {
        let order: Int
        switch (min, max) {
        case (.minusInfinity, .minusInfinity), (.plusInfinity, .plusInfinity): order = 0
        case (.minusInfinity, _), (_, .plusInfinity): order = -1
        case (.plusInfinity, _), (_, .minusInfinity): order = 1
        case (.member(let a), .member(let b)): order = a.lexCompare(b)
        }
        return order > 0 || (order == 0 && (minExclusive || maxExclusive))
    }

    @inline(__always) func isAboveMin(_ member: some LexComparable) -> Bool {
        let order = min.compare(member: member)
        return minExclusive ? order > 0 : order >= 0
    }

    @inline(__always) func isBelowMax(_ member: some LexComparable) -> Bool {
        let order = max.compare(member: member)
        return maxExclusive ? order < 0 : order <= 0
    }

    private static func parseBound(_ buffer: ByteBuffer) -> (ZLexBound, Bool)? {
        guard let first = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) else { return nil }
        switch first {
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            if buffer.readableBytes > 1, buffer.getInteger(at: buffer.readerIndex + 1, as: UInt8.self) != 0 {
                return nil
            }
            return (first == UInt8(ascii: "+") ? .plusInfinity : .minusInfinity, true)
        case UInt8(ascii: "("):
            return (.member(buffer.getSlice(at: buffer.readerIndex + 1, length: buffer.readableBytes - 1) ?? ByteBuffer()), true)
        case UInt8(ascii: "["):
            return (.member(buffer.getSlice(at: buffer.readerIndex + 1, length: buffer.readableBytes - 1) ?? ByteBuffer()), false)
        default:
            return nil
        }
    }
}

/// Redis's `getDoubleFromObject` for scores, increments and weights: strtod over the whole argument, no leading
/// space, no NaN, no overflow to infinity or underflow to zero (`inf`/`-inf` spelled out are fine).
enum ZScoreParser {
    static func parse(_ buffer: ByteBuffer) -> Double? {
        let length = buffer.readableBytes
        guard length > 0 else { return nil }
        return buffer.withUnsafeReadableBytes { bytes -> Double? in
            let first = bytes[0]
            if first == 0x20 || (first >= 0x09 && first <= 0x0D) { return nil }
            return withUnsafeTemporaryAllocation(of: CChar.self, capacity: length + 1) { text -> Double? in
                for i in 0..<length { text[i] = CChar(bitPattern: bytes[i]) }
                text[length] = 0
                guard let base = text.baseAddress else { return nil }
                var end: UnsafeMutablePointer<CChar>?
                errno = 0
                let value = strtod(base, &end)
                guard let end, end - base == length, !value.isNaN else { return nil }
                if errno == ERANGE && (value.isInfinite || value == 0) { return nil }
                return value
            }
        }
    }
}
