import NIOCore

// The frame writers on the per-request path are inlined always, not only inlinable: a call that stays a call runs
// this module's copy, which keeps the runtime's exclusivity checks on ByteBuffer's storage (2-3% of the proxy's
// CPU under a split MSET), while the node and the proxy compile their own code without them (Package.swift).
extension ByteBuffer {
    /// Writes a decimal integer without going through `String`.
    @inlinable
    public mutating func writeDecimal(_ value: Int64) {
        writeWithUnsafeMutableBytes(minimumWritableBytes: 20) { Self.storeDecimal(value, into: $0, at: 0) }
    }

    /// Stores the decimal form of `value` (at most 20 bytes) at `offset` of `out`; returns its length.
    @inlinable
    @inline(__always)
    public static func storeDecimal(_ value: Int64, into out: UnsafeMutableRawBufferPointer, at offset: Int) -> Int {
        if value >= 0 && value < 10 {
            out[offset] = UInt8(truncatingIfNeeded: value) &+ 0x30
            return 1
        }
        var magnitude = value.magnitude
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
        return withUnsafeMutableBytes(of: &digits) { scratch in
            var i = scratch.count
            repeat {
                i &-= 1
                scratch[i] = UInt8(truncatingIfNeeded: magnitude % 10) &+ 0x30
                magnitude /= 10
            } while magnitude > 0
            var n = offset
            if value < 0 {
                out[n] = 0x2D
                n &+= 1
            }
            while i < scratch.count {
                out[n] = scratch[i]
                n &+= 1
                i &+= 1
            }
            return n &- offset
        }
    }

    /// Stores `type`, the decimal `count` and CRLF at `offset` of `out` (at most 23 bytes); returns the length.
    @inlinable
    @inline(__always)
    static func _storeRESPHeader(
        _ type: RESPTypeIdentifier, _ count: Int, into out: UnsafeMutableRawBufferPointer, at offset: Int
    ) -> Int {
        out[offset] = type.rawValue
        let digits = storeDecimal(Int64(count), into: out, at: offset &+ 1)
        out[offset &+ 1 &+ digits] = 0x0D
        out[offset &+ 2 &+ digits] = 0x0A
        return digits &+ 3
    }

    @inlinable
    mutating func writeCRLF() {
        writeInteger(UInt16(0x0D0A), endianness: .big)
    }

    /// Writes `text` and `\r\n`, with every CR or LF inside `text` replaced by a space so that the frame stays
    /// well formed whatever the text (Redis does the same to error messages).
    @inlinable
    mutating func writeRESPLine(_ text: String) {
        let written = writeString(text)
        withUnsafeMutableReadableBytes { bytes in
            var i = bytes.count &- written
            while i < bytes.count {
                if bytes[i] == 0x0D || bytes[i] == 0x0A { bytes[i] = 0x20 }
                i &+= 1
            }
        }
        writeCRLF()
    }

    /// `+text\r\n` (a CR or LF in `text` is written as a space).
    @inlinable
    public mutating func writeRESPSimpleString(_ text: String) {
        writeInteger(RESPTypeIdentifier.simpleString.rawValue)
        writeRESPLine(text)
    }

    /// `-message\r\n`; `message` starts with the error code, e.g. `ERR syntax error` (a CR or LF in `message` is
    /// written as a space).
    @inlinable
    public mutating func writeRESPError(_ message: String) {
        writeInteger(RESPTypeIdentifier.simpleError.rawValue)
        writeRESPLine(message)
    }

    /// `-ERR <message>\r\n` with the protocol error's exact bytes, as Redis replies before closing the connection.
    public mutating func writeRESPError(_ error: RESPProtocolError) {
        writeStaticString("-ERR ")
        writeBytes(error.messageBytes)
        writeCRLF()
    }

    /// `:value\r\n`
    @inlinable
    @inline(__always)
    public mutating func writeRESPInteger(_ value: Int64) {
        // Every frame writer here makes one write to the buffer (one capacity and exclusivity check).
        writeWithUnsafeMutableBytes(minimumWritableBytes: 23) { out in
            Self._storeRESPHeader(.integer, Int(value), into: out, at: 0)
        }
    }

    /// A header of an aggregate or bulk frame: the type byte, a count or length, `\r\n`.
    @inlinable
    @inline(__always)
    public mutating func writeRESPHeader(_ type: RESPTypeIdentifier, _ count: Int) {
        writeWithUnsafeMutableBytes(minimumWritableBytes: 23) { out in
            Self._storeRESPHeader(type, count, into: out, at: 0)
        }
    }

    /// `$len\r\nbytes\r\n`
    @inlinable
    @inline(__always)
    public mutating func writeRESPBulkString(_ bytes: ByteBuffer) {
        bytes.withUnsafeReadableBytes { writeRESPBulkString(bytes: $0) }
    }

    /// `$len\r\nbytes\r\n` from raw bytes, in one write.
    @inlinable
    @inline(__always)
    public mutating func writeRESPBulkString(bytes: UnsafeRawBufferPointer) {
        writeWithUnsafeMutableBytes(minimumWritableBytes: bytes.count &+ 25) { out in
            let header = Self._storeRESPHeader(.bulkString, bytes.count, into: out, at: 0)
            if let source = bytes.baseAddress, bytes.count > 0 {
                (out.baseAddress! + header).copyMemory(from: source, byteCount: bytes.count)
            }
            let end = header &+ bytes.count
            out[end] = 0x0D
            out[end &+ 1] = 0x0A
            return end &+ 2
        }
    }

    /// `$len\r\nbytes\r\n` from raw bytes.
    @inlinable
    public mutating func writeRESPBulkString(bytes: some Collection<UInt8>) {
        writeRESPHeader(.bulkString, bytes.count)
        writeBytes(bytes)
        writeCRLF()
    }

    /// `$len\r\ntext\r\n`
    @inlinable
    public mutating func writeRESPBulkString(_ text: String) {
        writeRESPHeader(.bulkString, text.utf8.count)
        writeString(text)
        writeCRLF()
    }

    /// `$-1\r\n`
    @inlinable
    public mutating func writeRESPNullBulkString() {
        writeStaticString("$-1\r\n")
    }

    /// A command as an array of bulk strings, the way clients send requests.
    @inlinable
    public mutating func writeRESPCommand(_ arguments: [String]) {
        writeRESPHeader(.array, arguments.count)
        for argument in arguments { writeRESPBulkString(argument) }
    }

    /// A command as an array of bulk strings.
    @inlinable
    public mutating func writeRESPCommand(_ arguments: [ByteBuffer]) {
        writeRESPHeader(.array, arguments.count)
        for argument in arguments { writeRESPBulkString(argument) }
    }

    /// Writes `value` in RESP3 form (RESP2 clients only ever receive RESP2 types from a server that honours
    /// the negotiated protocol, so choosing the form is the caller's job).
    public mutating func writeRESPValue(_ value: RESPValue) {
        switch value {
        case .simpleString(let s): writeRESPSimpleString(s)
        case .simpleError(let s): writeRESPError(s)
        case .integer(let i): writeRESPInteger(i)
        case .bulkString(let b): writeRESPBulkString(b)
        case .nullBulkString: writeRESPNullBulkString()
        case .nullArray: writeStaticString("*-1\r\n")
        case .null: writeStaticString("_\r\n")
        case .boolean(let b): writeStaticString(b ? "#t\r\n" : "#f\r\n")
        case .double(let d):
            writeInteger(RESPTypeIdentifier.double.rawValue)
            writeString(Self.formatDouble(d))
            writeCRLF()
        case .bigNumber(let s):
            writeInteger(RESPTypeIdentifier.bigNumber.rawValue)
            writeRESPLine(s)
        case .bulkError(let b):
            writeRESPHeader(.bulkError, b.readableBytes)
            writeImmutableBuffer(b)
            writeCRLF()
        case .verbatimString(let format, let text):
            let f = format.utf8.count == 3 ? format : "txt"
            writeRESPHeader(.verbatimString, text.readableBytes &+ 4)
            writeString(f)
            writeInteger(UInt8(0x3A))
            writeImmutableBuffer(text)
            writeCRLF()
        case .array(let a), .set(let a), .push(let a):
            let type: RESPTypeIdentifier
            switch value {
            case .set: type = .set
            case .push: type = .push
            default: type = .array
            }
            writeRESPHeader(type, a.count)
            for element in a { writeRESPValue(element) }
        case .map(let pairs), .attribute(let pairs, _):
            let isAttribute: Bool
            if case .attribute = value { isAttribute = true } else { isAttribute = false }
            writeRESPHeader(isAttribute ? .attribute : .map, pairs.count)
            for pair in pairs {
                writeRESPValue(pair.key)
                writeRESPValue(pair.value)
            }
            if case .attribute(_, let annotated) = value { writeRESPValue(annotated) }
        }
    }

    /// RESP3 text of a double: `inf`, `-inf`, `nan`, or the shortest round-tripping decimal.
    public static func formatDouble(_ d: Double) -> String {
        if d.isNaN { return "nan" }
        if d.isInfinite { return d < 0 ? "-inf" : "inf" }
        if d == 0 { return d.sign == .minus ? "-0" : "0" }
        if d == d.rounded(), abs(d) < 1e17 { return String(Int64(d)) }
        return "\(d)"
    }
}
