/// Byte-level helpers shared by the decoders: line search and Redis's strict integer parsing.
@usableFromInline
enum ASCII {
    @inlinable static var nul: UInt8 { 0x00 }
    @inlinable static var cr: UInt8 { 0x0D }
    @inlinable static var lf: UInt8 { 0x0A }
    @inlinable static var minus: UInt8 { 0x2D }
    @inlinable static var plus: UInt8 { 0x2B }
    @inlinable static var zero: UInt8 { 0x30 }
    @inlinable static var nine: UInt8 { 0x39 }
    @inlinable static var dollar: UInt8 { 0x24 }
    @inlinable static var star: UInt8 { 0x2A }

    /// Index of the `\r` of the first `\r\n` at or after `from`, or nil when there is none yet.
    @inlinable @inline(__always)
    static func findCRLF(_ bytes: UnsafeRawBufferPointer, from: Int) -> Int? {
        var i = from
        let end = bytes.count &- 1
        while i < end {
            if bytes[i] == cr {
                if bytes[i &+ 1] == lf { return i }
            }
            i &+= 1
        }
        return nil
    }

    /// Index of the first `byte` at or after `from`, stopping at a NUL byte the way C's `strchr` does on Redis's
    /// query buffer: the index of the match, of the NUL, or `bytes.count`. Callers check which one they got.
    @inlinable @inline(__always)
    static func strchr(_ bytes: UnsafeRawBufferPointer, _ byte: UInt8, from: Int) -> Int {
        var i = from
        let end = bytes.count
        while i < end {
            let c = bytes[i]
            if c == byte || c == nul { return i }
            i &+= 1
        }
        return end
    }

    /// Parses `bytes[start..<end]` as a signed 64-bit integer the way Redis's `string2ll` does:
    /// optional `-`, no `+`, no leading zeros, no `-0`, no spaces, no overflow.
    @inlinable @inline(__always)
    static func parseInt64(_ bytes: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> Int64? {
        var i = start
        guard i < end else { return nil }
        var negative = false
        if bytes[i] == minus {
            negative = true
            i &+= 1
            guard i < end else { return nil }
        }
        let first = bytes[i]
        if first == zero {
            return (i &+ 1 == end && !negative) ? 0 : nil
        }
        guard first > zero && first <= nine else { return nil }
        var value: UInt64 = 0
        while i < end {
            let c = bytes[i] &- zero
            guard c <= 9 else { return nil }
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(UInt64(c))
            if o1 || o2 { return nil }
            value = a
            i &+= 1
        }
        if negative {
            if value > UInt64(Int64.max) &+ 1 { return nil }
            return Int64(truncatingIfNeeded: 0 &- value)
        }
        if value > UInt64(Int64.max) { return nil }
        return Int64(value)
    }
}
