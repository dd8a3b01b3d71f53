import NIOCore

/// Incremental decoder of RESP2/RESP3 frames of every type (a client reading replies).
///
/// Each complete frame is validated once and returned as a `RESPToken`, a zero-copy slice of the input.
/// Partial frames are resumed where validation stopped, so a large frame arriving in many reads is scanned once.
/// The resume state refers to offsets from the buffer's reader index, so callers must present the same
/// unconsumed bytes again, possibly compacted and with more bytes appended (as `ByteToMessageHandler` does).
/// Nesting is tracked on an explicit stack (no recursion), bounded by `limits.maxNestingDepth`.
/// RESP3 streamed strings and aggregates (`$?`, `*?`), which Redis never sends, are rejected.
public struct RESPDecoder: Sendable {
    public var limits: RESPLimits

    /// Offset (from the reader index) of the next element to validate in a partial frame.
    private var resumeOffset = 0
    /// Offset from which to continue looking for the end of a partial line, when larger than the line's start.
    private var resumeSearch = 0
    /// Elements still expected by each open aggregate of a partial frame, outermost first.
    /// Kept (empty) between frames so that its storage is reused.
    private var resumeStack: [Int] = []

    public init(limits: RESPLimits = .default) {
        self.limits = limits
    }

    /// Returns the next complete frame and moves the reader index past it, or nil when more bytes are needed.
    /// Throws `RESPProtocolError` on malformed input; the connection should then be closed.
    public mutating func decode(_ buffer: inout ByteBuffer) throws(RESPProtocolError) -> RESPToken? {
        guard buffer.readableBytes > 0 else { return nil }
        var offset = resumeOffset
        var search = resumeSearch
        var stack: [Int] = []
        swap(&stack, &resumeStack)  // uniquely referenced while scanning: no copy on write
        let limits = self.limits
        let end: Int?
        do {
            end = try buffer.withUnsafeReadableBytes { (bytes) throws(RESPProtocolError) -> Int? in
                try Self.scan(bytes, offset: &offset, search: &search, stack: &stack, limits: limits)
            }
        } catch {
            stack.removeAll(keepingCapacity: true)
            swap(&stack, &resumeStack)
            resumeOffset = 0
            resumeSearch = 0
            throw error
        }
        guard let end else {
            swap(&stack, &resumeStack)
            resumeOffset = offset
            resumeSearch = search
            return nil
        }
        stack.removeAll(keepingCapacity: true)
        swap(&stack, &resumeStack)
        resumeOffset = 0
        resumeSearch = 0
        // `end` is within the readable bytes by construction.
        guard let frame = buffer.readSlice(length: end) else { return nil }
        return RESPToken(validated: frame)
    }

    /// Validates frames from `offset`; returns the end of the outermost frame, or nil (with the state to resume).
    static func scan(
        _ bytes: UnsafeRawBufferPointer,
        offset: inout Int,
        search: inout Int,
        stack: inout [Int],
        limits: RESPLimits
    ) throws(RESPProtocolError) -> Int? {
        let count = bytes.count
        while true {
            guard offset < count else { return nil }
            let typeByte = bytes[offset]
            guard let kind = RESPTypeIdentifier(rawValue: typeByte) else { throw .invalidType(typeByte) }
            let lineStart = offset &+ 1
            guard let lineEnd = ASCII.findCRLF(bytes, from: search > lineStart ? search : lineStart) else {
                // The pending bytes may end with the `\r` of the terminator.
                try checkLineLength(kind, count &- lineStart &- (bytes[count &- 1] == ASCII.cr ? 1 : 0), limits)
                search = Swift.max(lineStart, count &- 1)
                return nil
            }
            search = 0
            try checkLineLength(kind, lineEnd &- lineStart, limits)
            var next = lineEnd &+ 2
            var opened = 0  // elements an aggregate header opens; 0 when the element is complete
            switch kind {
            case .simpleString, .simpleError:
                break
            case .integer:
                guard ASCII.parseInt64(bytes, lineStart, lineEnd) != nil else { throw .invalidValue("integer") }
            case .bulkString, .bulkError, .verbatimString:
                guard let length = ASCII.parseInt64(bytes, lineStart, lineEnd) else { throw .invalidBulkLength }
                if length == -1 && kind == .bulkString { break }  // null bulk string
                guard length >= 0, length <= Int64(limits.maxBulkLength) else { throw .invalidBulkLength }
                let dataLength = Int(length)
                // Payload and its `\r\n` not all here yet: resume at this element's header.
                guard count &- next &- 2 >= dataLength else { return nil }
                let dataEnd = next &+ dataLength
                guard bytes[dataEnd] == ASCII.cr, bytes[dataEnd &+ 1] == ASCII.lf else {
                    throw .invalidValue("bulk string terminator")
                }
                if kind == .verbatimString {
                    guard dataLength >= 4, bytes[next &+ 3] == 0x3A else { throw .invalidValue("verbatim string") }
                }
                next = dataEnd &+ 2
            case .null:
                guard lineEnd == lineStart else { throw .invalidValue("null") }
            case .boolean:
                guard lineEnd == lineStart &+ 1, bytes[lineStart] == 0x74 || bytes[lineStart] == 0x66 else {
                    throw .invalidValue("boolean")
                }
            case .double:
                guard RESPDouble.isValid(bytes, lineStart, lineEnd) else { throw .invalidValue("double") }
            case .bigNumber:
                guard Self.isBigNumber(bytes, lineStart, lineEnd) else { throw .invalidValue("big number") }
            case .array, .set, .push, .map, .attribute:
                guard let n = ASCII.parseInt64(bytes, lineStart, lineEnd) else { throw .invalidMultibulkLength }
                if n == -1 && (kind == .array || kind == .set || kind == .map) { break }  // null aggregate
                guard n >= 0, n <= Int64(limits.maxMultibulkLength) else { throw .invalidMultibulkLength }
                switch kind {
                case .map, .attribute:
                    let (pairs, overflow) = Int(n).multipliedReportingOverflow(by: 2)
                    guard !overflow else { throw .invalidMultibulkLength }
                    // An attribute is followed by the value it annotates; `pairs` is even, so `+ 1` cannot overflow.
                    opened = kind == .attribute ? pairs &+ 1 : pairs
                default:
                    opened = Int(n)
                }
                if opened > 0 {
                    guard stack.count < limits.maxNestingDepth else { throw .nestingTooDeep }
                }
            }
            offset = next
            if opened > 0 {
                stack.append(opened)
                continue
            }
            // One element completed: close every aggregate it completes.
            while let last = stack.last {
                if last > 1 {
                    stack[stack.count &- 1] = last &- 1
                    break
                }
                stack.removeLast()
            }
            if stack.isEmpty { return offset }
        }
    }

    /// Bounds a line: simple strings, errors and big numbers by `maxBulkLength`, count lines and scalars by
    /// `maxInlineSize`.
    @inline(__always)
    static func checkLineLength(
        _ kind: RESPTypeIdentifier, _ length: Int, _ limits: RESPLimits
    ) throws(RESPProtocolError) {
        switch kind {
        case .simpleString, .simpleError, .bigNumber:
            if length > limits.maxBulkLength { throw .invalidValue("line length") }
        case .bulkString, .bulkError, .verbatimString:
            if length > limits.maxInlineSize { throw .tooBigBulkCount }
        case .array, .set, .push, .map, .attribute:
            if length > limits.maxInlineSize { throw .tooBigMultibulkCount }
        case .integer, .double, .boolean, .null:
            if length > limits.maxInlineSize { throw .invalidValue("line length") }
        }
    }

    static func isBigNumber(_ bytes: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> Bool {
        var i = start
        if i < end && (bytes[i] == ASCII.minus || bytes[i] == ASCII.plus) { i &+= 1 }
        guard i < end else { return false }
        while i < end {
            guard bytes[i] >= ASCII.zero && bytes[i] <= ASCII.nine else { return false }
            i &+= 1
        }
        return true
    }
}

/// RESP3 doubles: `inf`, `-inf`, `nan` (any case, optional sign) and decimal or exponent notation.
enum RESPDouble {
    enum Shape {
        case infinity(negative: Bool)
        case nan
        case decimal
    }

    /// The shape of `bytes[start..<end]` as a RESP3 double, or nil when it is not one. Allocation-free.
    ///
    /// Decimal: `[+-]` then digits with an optional `.` (at least one digit in all), then optionally `e`/`E`,
    /// a sign and at least one digit: exactly the decimal forms `strtod` accepts, without hex, `infinity` or `nan(...)`.
    static func shape(_ bytes: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> Shape? {
        var i = start
        guard i < end else { return nil }
        var negative = false
        if bytes[i] == ASCII.minus || bytes[i] == ASCII.plus {
            negative = bytes[i] == ASCII.minus
            i &+= 1
        }
        if end &- i == 3 {
            let a = bytes[i] | 0x20
            let b = bytes[i &+ 1] | 0x20
            let c = bytes[i &+ 2] | 0x20
            if a == 0x69 && b == 0x6E && c == 0x66 { return .infinity(negative: negative) }  // inf
            if a == 0x6E && b == 0x61 && c == 0x6E { return .nan }  // nan
        }
        var digits = 0
        while i < end && bytes[i] &- ASCII.zero <= 9 {
            i &+= 1
            digits &+= 1
        }
        if i < end && bytes[i] == 0x2E {
            i &+= 1
            while i < end && bytes[i] &- ASCII.zero <= 9 {
                i &+= 1
                digits &+= 1
            }
        }
        guard digits > 0 else { return nil }
        if i < end && bytes[i] | 0x20 == 0x65 {
            i &+= 1
            if i < end && (bytes[i] == ASCII.minus || bytes[i] == ASCII.plus) { i &+= 1 }
            var exponentDigits = 0
            while i < end && bytes[i] &- ASCII.zero <= 9 {
                i &+= 1
                exponentDigits &+= 1
            }
            guard exponentDigits > 0 else { return nil }
        }
        return i == end ? .decimal : nil
    }

    static func isValid(_ bytes: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> Bool {
        shape(bytes, start, end) != nil
    }

    /// Exact powers of ten representable as doubles.
    private static let powersOfTen: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18,
        1e19, 1e20, 1e21, 1e22,
    ]

    /// The value of a RESP3 double, correctly rounded.
    ///
    /// Short mantissas with small exponents take Clinger's exact fast path (one multiplication or division of two
    /// exact doubles); the rest are parsed by the standard library.
    static func parse(_ bytes: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> Double? {
        guard let shape = shape(bytes, start, end) else { return nil }
        switch shape {
        case .infinity(let negative): return negative ? -.infinity : .infinity
        case .nan: return .nan
        case .decimal: break
        }
        var i = start
        var negative = false
        if bytes[i] == ASCII.minus || bytes[i] == ASCII.plus {
            negative = bytes[i] == ASCII.minus
            i &+= 1
        }
        var mantissa: UInt64 = 0
        var significant = 0
        var exponent = 0
        var exact = true
        var fraction = false
        while i < end {
            let c = bytes[i]
            if c == 0x2E {
                fraction = true
            } else if c &- ASCII.zero <= 9 {
                let digit = UInt64(c &- ASCII.zero)
                if mantissa != 0 || digit != 0 {
                    significant &+= 1
                    if significant > 19 { exact = false }
                    mantissa = mantissa &* 10 &+ digit
                }
                if fraction { exponent &-= 1 }
            } else {
                break  // `e` or `E`
            }
            i &+= 1
        }
        if i < end {
            i &+= 1
            var exponentNegative = false
            if bytes[i] == ASCII.minus || bytes[i] == ASCII.plus {
                exponentNegative = bytes[i] == ASCII.minus
                i &+= 1
            }
            var e = 0
            while i < end {
                if e < 100_000 { e = e &* 10 &+ Int(bytes[i] &- ASCII.zero) }
                i &+= 1
            }
            exponent &+= exponentNegative ? -e : e
        }
        if exact && mantissa == 0 { return negative ? -0.0 : 0.0 }
        if exact && mantissa <= 1 << 53 && exponent >= -22 && exponent <= 22 {
            let m = Double(mantissa)
            let value = exponent >= 0 ? m * powersOfTen[exponent] : m / powersOfTen[-exponent]
            return negative ? -value : value
        }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
        return Double(text)
    }
}
