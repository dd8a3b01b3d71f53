import NIOCore

/// Incremental decoder of RESP2/RESP3 frames of every type (a client reading replies).
///
/// Each complete frame is validated once and returned as a `RESPToken`, a zero-copy slice of the input.
/// Partial frames are resumed where validation stopped, so a large frame arriving in many reads is scanned once.
/// The resume state refers to offsets from the buffer's reader index, so callers must present the same
/// unconsumed bytes again (as `ByteToMessageDecoder` does).
public struct RESPDecoder: Sendable {
    public var limits: RESPLimits

    /// Offset (from the reader index) of the next element to validate in a partial frame.
    private var resumeOffset = 0
    /// Elements still expected by each open aggregate of a partial frame, outermost first.
    private var resumeStack: [Int] = []

    public init(limits: RESPLimits = .default) {
        self.limits = limits
    }

    /// Returns the next complete frame and moves the reader index past it, or nil when more bytes are needed.
    /// Throws `RESPProtocolError` on malformed input; the connection should then be closed.
    public mutating func decode(_ buffer: inout ByteBuffer) throws(RESPProtocolError) -> RESPToken? {
        guard buffer.readableBytes > 0 else { return nil }
        var offset = resumeOffset
        var stack = resumeStack
        let limits = self.limits
        let result: Int? = try buffer.withUnsafeReadableBytes { (bytes) throws(RESPProtocolError) -> Int? in
            try Self.scan(bytes, offset: &offset, stack: &stack, limits: limits)
        }
        guard let end = result else {
            resumeOffset = offset
            resumeStack = stack
            return nil
        }
        resumeOffset = 0
        resumeStack.removeAll(keepingCapacity: true)
        // `end` is within the readable bytes by construction.
        guard let frame = buffer.readSlice(length: end) else { return nil }
        return RESPToken(validated: frame)
    }

    /// Validates frames from `offset`; returns the end of the outermost frame, or nil (with the state to resume).
    static func scan(
        _ bytes: UnsafeRawBufferPointer,
        offset: inout Int,
        stack: inout [Int],
        limits: RESPLimits
    ) throws(RESPProtocolError) -> Int? {
        while true {
            guard offset < bytes.count else { return nil }
            let type = bytes[offset]
            let lineStart = offset &+ 1
            guard let lineEnd = ASCII.findCRLF(bytes, from: lineStart) else {
                let pending = bytes.count &- offset
                switch RESPTypeIdentifier(rawValue: type) {
                case .simpleString, .simpleError, .bigNumber, .double:
                    if pending > limits.maxBulkLength { throw .invalidValue("line length") }
                case .bulkString, .bulkError, .verbatimString:
                    if pending > limits.maxInlineSize { throw .tooBigBulkCount }
                default:
                    if pending > limits.maxInlineSize { throw .tooBigMultibulkCount }
                }
                return nil
            }
            var next = lineEnd &+ 2
            var opened = 0  // elements an aggregate header opens; 0 when the element is complete
            guard let kind = RESPTypeIdentifier(rawValue: type) else { throw .invalidType(type) }
            switch kind {
            case .simpleString, .simpleError:
                break
            case .integer:
                guard ASCII.parseInt64(bytes, lineStart, lineEnd) != nil else { throw .invalidValue("integer") }
            case .bulkString, .bulkError, .verbatimString:
                guard let length = ASCII.parseInt64(bytes, lineStart, lineEnd) else { throw .invalidBulkLength }
                if length == -1 && kind == .bulkString { break }
                guard length >= 0, length <= limits.maxBulkLength else { throw .invalidBulkLength }
                let dataEnd = next &+ Int(length)
                guard bytes.count >= dataEnd &+ 2 else { return nil }
                guard bytes[dataEnd] == ASCII.cr, bytes[dataEnd &+ 1] == ASCII.lf else {
                    throw .invalidValue("bulk string terminator")
                }
                if kind == .verbatimString {
                    guard length >= 4, bytes[next &+ 3] == 0x3A else { throw .invalidValue("verbatim string") }
                }
                next = dataEnd &+ 2
            case .null:
                guard lineEnd == lineStart else { throw .invalidValue("null") }
            case .boolean:
                guard lineEnd == lineStart &+ 1, bytes[lineStart] == 0x74 || bytes[lineStart] == 0x66 else {
                    throw .invalidValue("boolean")
                }
            case .double:
                guard RESPDouble.parse(bytes, lineStart, lineEnd) != nil else { throw .invalidValue("double") }
            case .bigNumber:
                guard Self.isBigNumber(bytes, lineStart, lineEnd) else { throw .invalidValue("big number") }
            case .array, .set, .push, .map, .attribute:
                guard let count = ASCII.parseInt64(bytes, lineStart, lineEnd) else { throw .invalidMultibulkLength }
                if count == -1 && (kind == .array || kind == .set || kind == .map) { break }  // null aggregate
                guard count >= 0, count <= limits.maxMultibulkLength else { throw .invalidMultibulkLength }
                let pairs = kind == .map || kind == .attribute
                opened = Int(count) &* (pairs ? 2 : 1) &+ (kind == .attribute ? 1 : 0)
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

    static func isBigNumber(_ bytes: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> Bool {
        var i = start
        if i < end && (bytes[i] == ASCII.minus || bytes[i] == 0x2B) { i &+= 1 }
        guard i < end else { return false }
        while i < end {
            guard bytes[i] >= ASCII.zero && bytes[i] <= ASCII.nine else { return false }
            i &+= 1
        }
        return true
    }
}

/// RESP3 double parsing: `inf`, `-inf`, `nan` and decimal or exponent notation.
enum RESPDouble {
    static func parse(_ bytes: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> Double? {
        let length = end &- start
        guard length > 0, length <= 512 else { return nil }
        var text = ""
        text.reserveCapacity(length)
        for i in start..<end {
            let c = bytes[i]
            // Only digits, sign, dot, exponent and the letters of inf/nan are allowed.
            switch c {
            case 0x30...0x39, 0x2B, 0x2D, 0x2E, 0x65, 0x45: break
            case 0x69, 0x6E, 0x66, 0x61, 0x49, 0x4E, 0x46, 0x41: break  // i n f a (either case)
            default: return nil
            }
            text.unicodeScalars.append(Unicode.Scalar(c))
        }
        switch text.lowercased() {
        case "inf", "+inf": return .infinity
        case "-inf": return -.infinity
        case "nan", "-nan": return .nan
        default:
            // Reject spellings Swift accepts but RESP does not (hex floats are already excluded above).
            if text.lowercased().contains("n") || text.lowercased().contains("i") { return nil }
            return Double(text)
        }
    }
}
