import NIOCore

/// Splits an inline command line the way Redis's `sdssplitargs` does (quotes, escapes, `\xHH`).
public enum InlineParser {
    /// The arguments of `line`, or nil when quotes are unbalanced (or a closing quote is not followed by a space).
    ///
    /// Arguments without quotes are slices of `line` (no copy). Like the C original, a NUL byte ends the line.
    public static func split(_ line: ByteBuffer) -> [ByteBuffer]? {
        line.withUnsafeReadableBytes { bytes in split(bytes, source: line) }
    }

    /// C `isspace` in the "C" locale.
    @inline(__always)
    private static func isSpace(_ c: UInt8) -> Bool {
        c == 0x20 || (c >= 0x09 && c <= 0x0D)
    }

    /// The bytes that end an unquoted argument (not `\v` or `\f`, which `sdssplitargs` keeps).
    @inline(__always)
    private static func endsArgument(_ c: UInt8) -> Bool {
        c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09
    }

    @inline(__always)
    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c &- 0x30
        case 0x61...0x66: return c &- 0x61 &+ 10
        case 0x41...0x46: return c &- 0x41 &+ 10
        default: return nil
        }
    }

    private static let doubleQuote: UInt8 = 0x22
    private static let singleQuote: UInt8 = 0x27
    private static let backslash: UInt8 = 0x5C

    private static func split(_ bytes: UnsafeRawBufferPointer, source: ByteBuffer) -> [ByteBuffer]? {
        var n = 0
        while n < bytes.count && bytes[n] != 0 { n &+= 1 }
        var arguments: [ByteBuffer] = []
        var p = 0
        while true {
            while p < n && isSpace(bytes[p]) { p &+= 1 }
            if p >= n { return arguments }
            // Fast path: an argument without quotes is a slice of the line.
            let start = p
            while p < n {
                let c = bytes[p]
                if endsArgument(c) || c == doubleQuote || c == singleQuote { break }
                p &+= 1
            }
            if p >= n || endsArgument(bytes[p]) {
                arguments.append(source.getSlice(at: source.readerIndex &+ start, length: p &- start) ?? ByteBuffer())
                if p < n { p &+= 1 }
                continue
            }
            // A quote: copy what came before it, then unquote into a new buffer.
            var current = ByteBuffer()
            current.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[start..<p]))
            let inDouble = bytes[p] == doubleQuote
            p &+= 1
            while true {
                guard p < n else { return nil }  // unterminated quotes
                let c = bytes[p]
                if inDouble {
                    if c == backslash && p &+ 3 < n && bytes[p &+ 1] == 0x78,
                        let hi = hexValue(bytes[p &+ 2]), let lo = hexValue(bytes[p &+ 3])
                    {
                        current.writeInteger(hi << 4 | lo)
                        p &+= 4
                        continue
                    }
                    if c == backslash && p &+ 1 < n {
                        p &+= 1
                        let escaped: UInt8
                        switch bytes[p] {
                        case 0x6E: escaped = 0x0A  // \n
                        case 0x72: escaped = 0x0D  // \r
                        case 0x74: escaped = 0x09  // \t
                        case 0x62: escaped = 0x08  // \b
                        case 0x61: escaped = 0x07  // \a
                        default: escaped = bytes[p]
                        }
                        current.writeInteger(escaped)
                        p &+= 1
                        continue
                    }
                    if c == doubleQuote { break }
                } else {
                    if c == backslash && p &+ 1 < n && bytes[p &+ 1] == singleQuote {
                        current.writeInteger(singleQuote)
                        p &+= 2
                        continue
                    }
                    if c == singleQuote { break }
                }
                current.writeInteger(c)
                p &+= 1
            }
            // A closing quote must be followed by a space or the end of the line.
            if p &+ 1 < n && !isSpace(bytes[p &+ 1]) { return nil }
            p &+= 1
            arguments.append(current)
        }
    }
}
