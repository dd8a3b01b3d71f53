import NIOCore

/// A client's request as a server reads it: the command name and its arguments.
public struct RESPRequest: Sendable, Hashable {
    /// argv: `arguments[0]` is the command name. Slices of the input (no copy), except inline arguments that
    /// contain quotes or escapes.
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
/// Empty requests (`*0`, `*-1`, blank inline lines) are skipped, as Redis skips them. Like Redis, a line ends at
/// its first `\r` followed by any byte (the `\n` is not checked), a bulk payload's trailing two bytes are not
/// checked, and a NUL byte stops the search for a line's end (C's `strchr`), so such a line only completes as a
/// "too big" error.
public struct RESPRequestDecoder: Sendable {
    public var limits: RESPLimits

    /// Offset (from the reader index) of the next `$` line of a partial multibulk request; 0 when its `*` line
    /// has not been read yet.
    @usableFromInline var resumeOffset = 0
    /// Bulk arguments still expected by the partial multibulk request.
    @usableFromInline var resumeRemaining = 0
    /// Offset from which to continue looking for the end of a partial line, when larger than the line's start.
    @usableFromInline var resumeSearch = 0
    /// Whether multibulk requests carry their `frame`. A proxy forwards it; a server that only reads the arguments
    /// turns this off and saves a reference to the input per request.
    public var keepsFrames = true
    /// Argument arrays handed back by `recycle` once their requests ran, reused by the next requests: a pipelined
    /// request then allocates no array of its own.
    @usableFromInline var spareArguments: [[ByteBuffer]] = []
    /// At most this many spare arrays are kept, each of at most `maxRecycledCapacity` elements.
    @inlinable static var maxSpareArguments: Int { 32 }
    @inlinable static var maxRecycledCapacity: Int { 32 }

    public init(limits: RESPLimits = .default) {
        self.limits = limits
    }

    /// Returns the next request and moves the reader index past it, or nil when more bytes are needed.
    /// Throws `RESPProtocolError` (Redis's text); the server replies `-ERR <text>` and closes the connection.
    @inlinable @inline(__always)
    public mutating func decode(_ buffer: inout ByteBuffer) throws(RESPProtocolError) -> RESPRequest? {
        while let first = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) {
            let step: Step
            do {
                step = first == ASCII.star ? try decodeMultibulk(&buffer) : try decodeInline(&buffer)
            } catch {
                resumeOffset = 0
                resumeRemaining = 0
                resumeSearch = 0
                throw error
            }
            switch step {
            case .needMoreData: return nil
            case .empty: continue
            case .request(let request): return request
            }
        }
        return nil
    }

    /// Hands back a request's arguments once it has run, so that a later request reuses the array's storage.
    /// Leaves `arguments` empty. An array still shared elsewhere (a command queued by MULTI) keeps its storage,
    /// and the spare gets storage of its own (an allocation, as without recycling).
    @inlinable @inline(__always)
    public mutating func recycle(_ arguments: inout [ByteBuffer]) {
        guard spareArguments.count < Self.maxSpareArguments, arguments.capacity <= Self.maxRecycledCapacity else {
            arguments = []
            return
        }
        var spare: [ByteBuffer] = []
        swap(&spare, &arguments)
        spare.removeAll(keepingCapacity: true)
        spareArguments.append(spare)
    }

    @usableFromInline
    enum Step {
        case needMoreData
        case empty
        case request(RESPRequest)
    }

    /// Where a multibulk scan stopped.
    @usableFromInline
    enum Scan {
        case needMoreData
        /// The request ends at `end`; `empty` for `*0`, `*-1` and other counts below 1.
        case complete(end: Int, empty: Bool)
    }

    @inlinable @inline(__always)
    mutating func decodeMultibulk(_ buffer: inout ByteBuffer) throws(RESPProtocolError) -> Step {
        let limits = self.limits
        var offset = resumeOffset
        var remaining = resumeRemaining
        var search = resumeSearch
        // A fresh request is cut into arguments while it is validated; a resumed one is validated from where it
        // stopped, then cut in a second pass once complete.
        let fresh = offset == 0
        var arguments: [ByteBuffer] = fresh ? (spareArguments.popLast() ?? []) : []
        let view = buffer
        let scan = try view.withUnsafeReadableBytes { (bytes) throws(RESPProtocolError) -> Scan in
            try Self.scanMultibulk(
                bytes, source: view, offset: &offset, remaining: &remaining, search: &search, limits: limits,
                arguments: &arguments, collect: fresh
            )
        }
        switch scan {
        case .needMoreData:
            resumeOffset = offset
            resumeRemaining = remaining
            resumeSearch = search
            return .needMoreData
        case .complete(let end, let empty):
            resumeOffset = 0
            resumeRemaining = 0
            resumeSearch = 0
            guard end <= buffer.readableBytes else { return .needMoreData }
            if empty {
                buffer.moveReaderIndex(forwardBy: end)
                return .empty
            }
            if !fresh {
                arguments = Self.cutArguments(buffer.getSlice(at: buffer.readerIndex, length: end)!)
            }
            let frame = keepsFrames ? buffer.getSlice(at: buffer.readerIndex, length: end) : nil
            buffer.moveReaderIndex(forwardBy: end)
            return .request(RESPRequest(arguments: arguments, frame: frame))
        }
    }

    /// Redis's `processMultibulkBuffer` on `bytes` (the readable bytes of `source`), resumable. With `collect`,
    /// appends each argument to `arguments` as a slice of `source`.
    @inlinable @inline(__always)
    static func scanMultibulk(
        _ bytes: UnsafeRawBufferPointer,
        source: ByteBuffer,
        offset: inout Int,
        remaining: inout Int,
        search: inout Int,
        limits: RESPLimits,
        arguments: inout [ByteBuffer],
        collect: Bool
    ) throws(RESPProtocolError) -> Scan {
        let count = bytes.count
        if offset == 0 {
            let newline = ASCII.strchr(bytes, ASCII.cr, from: Swift.max(search, 1))
            guard newline < count, bytes[newline] == ASCII.cr else {
                if count > limits.maxInlineSize { throw .tooBigMultibulkCount }
                search = newline
                return .needMoreData
            }
            // The line must be followed by one more byte (Redis assumes it is the `\n`).
            guard newline &+ 1 < count else {
                search = newline
                return .needMoreData
            }
            search = 0
            guard let n = ASCII.parseInt64(bytes, 1, newline), n <= Int64(limits.maxMultibulkLength) else {
                throw .invalidMultibulkLength
            }
            offset = newline &+ 2
            if n <= 0 { return .complete(end: offset, empty: true) }
            remaining = Int(n)
            if collect { arguments.reserveCapacity(Swift.min(remaining, 1024)) }
        }
        while remaining > 0 {
            guard offset < count else { return .needMoreData }
            let newline = ASCII.strchr(bytes, ASCII.cr, from: Swift.max(search, offset))
            guard newline < count, bytes[newline] == ASCII.cr else {
                if count &- offset > limits.maxInlineSize { throw .tooBigBulkCount }
                search = newline
                return .needMoreData
            }
            guard newline &+ 1 < count else {
                search = newline
                return .needMoreData
            }
            guard bytes[offset] == ASCII.dollar else { throw .expectedDollar(got: bytes[offset]) }
            guard let length = ASCII.parseInt64(bytes, offset &+ 1, newline), length >= 0,
                length <= Int64(limits.maxBulkLength)
            else { throw .invalidBulkLength }
            search = 0
            let dataStart = newline &+ 2
            // The payload and two more bytes (Redis skips them unchecked); else resume at this `$` line.
            guard count &- dataStart &- 2 >= Int(length) else { return .needMoreData }
            if collect {
                arguments.append(source.getSlice(at: source.readerIndex &+ dataStart, length: Int(length)) ?? ByteBuffer())
            }
            offset = dataStart &+ Int(length) &+ 2
            remaining &-= 1
        }
        return .complete(end: offset, empty: false)
    }

    /// The arguments of a complete multibulk request already validated by `scanMultibulk`.
    @usableFromInline
    static func cutArguments(_ frame: ByteBuffer) -> [ByteBuffer] {
        var arguments: [ByteBuffer] = []
        frame.withUnsafeReadableBytes { bytes in
            var offset = 0
            var remaining = 0
            var search = 0
            _ = try? scanMultibulk(
                bytes, source: frame, offset: &offset, remaining: &remaining, search: &search, limits: .unlimited,
                arguments: &arguments, collect: true
            )
        }
        return arguments
    }

    @usableFromInline
    mutating func decodeInline(_ buffer: inout ByteBuffer) throws(RESPProtocolError) -> Step {
        let from = resumeSearch
        let (newline, found) = buffer.withUnsafeReadableBytes { bytes -> (Int, Bool) in
            let i = ASCII.strchr(bytes, ASCII.lf, from: from)
            return (i, i < bytes.count && bytes[i] == ASCII.lf)
        }
        guard found else {
            if buffer.readableBytes > limits.maxInlineSize { throw .tooBigInlineRequest }
            // Continue from there next time; a NUL stops the search for good, as `strchr` does in Redis.
            resumeSearch = newline
            return .needMoreData
        }
        resumeSearch = 0
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

extension RESPLimits {
    /// No limits: for bytes already validated, and for replies from trusted backends.
    public static let unlimited = RESPLimits(
        maxBulkLength: .max, maxMultibulkLength: .max, maxNestingDepth: .max, maxInlineSize: .max)
}
