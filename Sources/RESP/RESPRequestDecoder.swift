import NIOCore

/// A client's request as a server reads it: the command name and its arguments.
public struct RESPRequest: Sendable, Hashable {
    /// argv: `arguments[0]` is the command name. Slices of the input for multibulk requests.
    public var arguments: [ByteBuffer]
    /// The request's original multibulk bytes (forwardable without re-encoding), nil for inline requests.
    public var frame: ByteBuffer?

    public init(arguments: [ByteBuffer], frame: ByteBuffer? = nil) {
        self.arguments = arguments
        self.frame = frame
    }
}

/// Incremental decoder of client requests, parsing exactly as Redis's `processMultibulkBuffer` and
/// `processInlineBuffer` do, with the same protocol errors.
///
/// Multibulk requests must be arrays of bulk strings; anything not starting with `*` is an inline command.
/// Empty requests (`*0`, `*-1`, blank inline lines) are skipped, as Redis skips them.
public struct RESPRequestDecoder: Sendable {
    public var limits: RESPLimits

    /// Resume state of a partial multibulk request, relative to the reader index.
    private var resumeOffset = 0
    private var resumeRemaining = 0

    public init(limits: RESPLimits = .default) {
        self.limits = limits
    }

    /// Returns the next request and moves the reader index past it, or nil when more bytes are needed.
    /// Throws `RESPProtocolError` (Redis's text); the server replies `-ERR <text>` and closes the connection.
    public mutating func decode(_ buffer: inout ByteBuffer) throws(RESPProtocolError) -> RESPRequest? {
        while buffer.readableBytes > 0 {
            let first = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) ?? 0
            if first == RESPTypeIdentifier.array.rawValue {
                switch try decodeMultibulk(&buffer) {
                case .needMoreData: return nil
                case .empty: continue
                case .request(let request): return request
                }
            } else {
                switch try decodeInline(&buffer) {
                case .needMoreData: return nil
                case .empty: continue
                case .request(let request): return request
                }
            }
        }
        return nil
    }

    enum Step {
        case needMoreData
        case empty
        case request(RESPRequest)
    }

    private mutating func decodeMultibulk(_ buffer: inout ByteBuffer) throws(RESPProtocolError) -> Step {
        let limits = self.limits
        var offset = resumeOffset
        var remaining = resumeRemaining
        // Pass 1: find the end of the request (resumable, allocation-free).
        let scan = try buffer.withUnsafeReadableBytes { (bytes) throws(RESPProtocolError) -> (end: Int, count: Int)? in
            if offset == 0 {
                guard let lineEnd = ASCII.findCRLF(bytes, from: 1) else {
                    if bytes.count > limits.maxInlineSize { throw .tooBigMultibulkCount }
                    return nil
                }
                guard let count = ASCII.parseInt64(bytes, 1, lineEnd), count <= limits.maxMultibulkLength else {
                    throw .invalidMultibulkLength
                }
                offset = lineEnd &+ 2
                if count <= 0 { return (offset, 0) }
                remaining = Int(count)
            }
            while remaining > 0 {
                guard offset < bytes.count else { return nil }
                guard bytes[offset] == RESPTypeIdentifier.bulkString.rawValue else {
                    throw .expectedDollar(got: bytes[offset])
                }
                guard let lineEnd = ASCII.findCRLF(bytes, from: offset &+ 1) else {
                    if bytes.count &- offset > limits.maxInlineSize { throw .tooBigBulkCount }
                    return nil
                }
                guard let length = ASCII.parseInt64(bytes, offset &+ 1, lineEnd), length >= 0,
                    length <= limits.maxBulkLength
                else { throw .invalidBulkLength }
                let next = lineEnd &+ 2 &+ Int(length) &+ 2
                guard next <= bytes.count else { return nil }
                offset = next
                remaining &-= 1
            }
            return (offset, -1)
        }
        guard let scan else {
            resumeOffset = offset
            resumeRemaining = remaining
            return .needMoreData
        }
        resumeOffset = 0
        resumeRemaining = 0
        guard var frame = buffer.readSlice(length: scan.end) else { return .needMoreData }
        if scan.count == 0 { return .empty }
        // Pass 2: cut the arguments out of the complete frame.
        let original = frame
        var arguments: [ByteBuffer] = []
        guard let header = frame.readLineCount() else { return .empty }
        arguments.reserveCapacity(header)
        for _ in 0..<header {
            frame.moveReaderIndex(forwardBy: 1)
            guard let length = frame.readLineCount(), let argument = frame.readSlice(length: length) else { break }
            frame.moveReaderIndex(forwardBy: 2)  // Redis does not check the bulk terminator either.
            arguments.append(argument)
        }
        return .request(RESPRequest(arguments: arguments, frame: original))
    }

    private func decodeInline(_ buffer: inout ByteBuffer) throws(RESPProtocolError) -> Step {
        let limits = self.limits
        let found = buffer.withUnsafeReadableBytes { ASCII.findLF($0, from: 0) }
        guard let newline = found else {
            if buffer.readableBytes > limits.maxInlineSize { throw .tooBigInlineRequest }
            return .needMoreData
        }
        guard var line = buffer.readSlice(length: newline &+ 1) else { return .needMoreData }
        line.moveWriterIndex(to: line.writerIndex &- 1)
        if line.readableBytes > 0, line.getInteger(at: line.writerIndex &- 1, as: UInt8.self) == ASCII.cr {
            line.moveWriterIndex(to: line.writerIndex &- 1)
        }
        guard let arguments = InlineParser.split(line) else { throw .unbalancedQuotes }
        if arguments.isEmpty { return .empty }
        return .request(RESPRequest(arguments: arguments, frame: nil))
    }
}

extension ByteBuffer {
    /// Reads `<digits>\r\n` after a type byte has been consumed (the frame was already validated).
    fileprivate mutating func readLineCount() -> Int? {
        var value = 0
        var negative = false
        while let byte = readInteger(as: UInt8.self) {
            switch byte {
            case ASCII.cr:
                moveReaderIndex(forwardBy: 1)
                return negative ? -value : value
            case ASCII.minus: negative = true
            default: value = value &* 10 &+ Int(byte &- ASCII.zero)
            }
        }
        return nil
    }
}

/// Splits an inline command line the way Redis's `sdssplitargs` does (quotes, escapes, `\xHH`).
public enum InlineParser {
    /// The arguments of `line`, or nil when quotes are unbalanced.
    public static func split(_ line: ByteBuffer) -> [ByteBuffer]? {
        line.withUnsafeReadableBytes { bytes in
            var arguments: [ByteBuffer] = []
            var p = 0
            // Like the C original, an embedded NUL byte ends the line.
            var n = bytes.count
            if let nul = bytes.firstIndex(of: 0) { n = nul }
            @inline(__always) func isSpace(_ c: UInt8) -> Bool {
                c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0B || c == 0x0C || c == 0x0D
            }
            @inline(__always) func hexValue(_ c: UInt8) -> UInt8? {
                switch c {
                case 0x30...0x39: return c &- 0x30
                case 0x61...0x66: return c &- 0x61 &+ 10
                case 0x41...0x46: return c &- 0x41 &+ 10
                default: return nil
                }
            }
            while true {
                while p < n && isSpace(bytes[p]) { p += 1 }
                if p >= n { return arguments }
                var current: [UInt8] = []
                var inDouble = false
                var inSingle = false
                var done = false
                while !done {
                    if inDouble {
                        guard p < n else { return nil }
                        let c = bytes[p]
                        if c == 0x5C && p + 3 < n && bytes[p + 1] == 0x78,
                            let hi = hexValue(bytes[p + 2]), let lo = hexValue(bytes[p + 3])
                        {
                            current.append(hi << 4 | lo)
                            p += 3
                        } else if c == 0x5C && p + 1 < n {
                            p += 1
                            switch bytes[p] {
                            case 0x6E: current.append(0x0A)  // \n
                            case 0x72: current.append(0x0D)  // \r
                            case 0x74: current.append(0x09)  // \t
                            case 0x62: current.append(0x08)  // \b
                            case 0x61: current.append(0x07)  // \a
                            default: current.append(bytes[p])
                            }
                        } else if c == 0x22 {
                            // A closing quote must be followed by a space or the end of the line.
                            if p + 1 < n && !isSpace(bytes[p + 1]) { return nil }
                            done = true
                        } else {
                            current.append(c)
                        }
                    } else if inSingle {
                        guard p < n else { return nil }
                        let c = bytes[p]
                        if c == 0x5C && p + 1 < n && bytes[p + 1] == 0x27 {
                            p += 1
                            current.append(0x27)
                        } else if c == 0x27 {
                            if p + 1 < n && !isSpace(bytes[p + 1]) { return nil }
                            done = true
                        } else {
                            current.append(c)
                        }
                    } else {
                        if p >= n { break }
                        switch bytes[p] {
                        case 0x20, 0x0A, 0x0D, 0x09: done = true
                        case 0x22: inDouble = true
                        case 0x27: inSingle = true
                        default: current.append(bytes[p])
                        }
                    }
                    if p < n { p += 1 }
                }
                arguments.append(ByteBuffer(bytes: current))
            }
        }
    }
}
