import Foundation
import NIOCore
import RESP

/// Writes a command's reply in the client's negotiated protocol (RESP2 or RESP3).
struct ReplyWriter {
    var buffer: ByteBuffer
    /// True after `HELLO 3`.
    var resp3: Bool

    init(buffer: ByteBuffer, resp3: Bool) {
        self.buffer = buffer
        self.resp3 = resp3
    }

    mutating func ok() { buffer.writeStaticString("+OK\r\n") }
    mutating func simple(_ text: String) { buffer.writeRESPSimpleString(text) }
    mutating func error(_ error: RedisError) {
        buffer.writeInteger(RESPTypeIdentifier.simpleError.rawValue)
        buffer.writeBytes(error.bytes)
        buffer.writeStaticString("\r\n")
    }
    mutating func integer(_ value: Int) { buffer.writeRESPInteger(Int64(value)) }
    mutating func integer(_ value: Int64) { buffer.writeRESPInteger(value) }
    mutating func bulk(_ value: ByteBuffer) { buffer.writeRESPBulkString(value) }
    mutating func bulk(_ text: String) { buffer.writeRESPBulkString(text) }
    mutating func bulk(bytes: some Collection<UInt8>) { buffer.writeRESPBulkString(bytes: bytes) }

    /// A missing value: `$-1` in RESP2, `_` in RESP3.
    mutating func null() { buffer.writeStaticString(resp3 ? "_\r\n" : "$-1\r\n") }
    /// A missing aggregate: `*-1` in RESP2, `_` in RESP3.
    mutating func nullArray() { buffer.writeStaticString(resp3 ? "_\r\n" : "*-1\r\n") }

    mutating func array(_ count: Int) { buffer.writeRESPHeader(.array, count) }
    /// A map of `count` pairs: `%count` in RESP3, a flat array of 2×count in RESP2.
    mutating func map(_ count: Int) {
        if resp3 { buffer.writeRESPHeader(.map, count) } else { buffer.writeRESPHeader(.array, count * 2) }
    }
    /// A set: `~count` in RESP3, an array in RESP2.
    mutating func set(_ count: Int) { buffer.writeRESPHeader(resp3 ? .set : .array, count) }
    /// A push frame (pub/sub messages): `>count` in RESP3, an array in RESP2.
    mutating func push(_ count: Int) { buffer.writeRESPHeader(resp3 ? .push : .array, count) }

    /// A boolean: `#t`/`#f` in RESP3, `:1`/`:0` in RESP2.
    mutating func boolean(_ value: Bool) {
        if resp3 { buffer.writeStaticString(value ? "#t\r\n" : "#f\r\n") } else { integer(value ? 1 : 0) }
    }

    /// A double as Redis 7.0 writes it (`%.17g`): a RESP3 double, or a bulk string in RESP2.
    mutating func double(_ value: Double) {
        RedisNumber.withFormatted(value) { text in
            if resp3 {
                buffer.writeInteger(RESPTypeIdentifier.double.rawValue)
                buffer.writeBytes(text)
                buffer.writeStaticString("\r\n")
            } else {
                buffer.writeRESPBulkString(bytes: text)
            }
        }
    }

    /// A verbatim text (INFO, CLIENT LIST...): `=len\r\ntxt:...` in RESP3, a bulk string in RESP2.
    mutating func verbatim(_ text: String) {
        if resp3 {
            buffer.writeRESPHeader(.verbatimString, text.utf8.count + 4)
            buffer.writeStaticString("txt:")
            buffer.writeString(text)
            buffer.writeStaticString("\r\n")
        } else {
            buffer.writeRESPBulkString(text)
        }
    }
}

/// An error reply. `message` starts with the error code (`ERR`, `WRONGTYPE`, `MOVED`...).
struct RedisError: Error, Hashable {
    /// The error line without `-` and CRLF; bytes, since it may quote a client's non-UTF-8 arguments.
    let bytes: [UInt8]

    init(_ message: String) { self.bytes = Array(message.utf8) }
    init(bytes: [UInt8]) { self.bytes = bytes }

    var message: String { String(decoding: bytes, as: UTF8.self) }

    static let syntax = RedisError("ERR syntax error")
    static let wrongType = RedisError("WRONGTYPE Operation against a key holding the wrong kind of value")
    static let notInteger = RedisError("ERR value is not an integer or out of range")
    static let notFloat = RedisError("ERR value is not a valid float")
    static let noSuchKey = RedisError("ERR no such key")
    static let indexOutOfRange = RedisError("ERR index out of range")
    static let overflow = RedisError("ERR increment or decrement would overflow")
    static let invalidExpire = RedisError("ERR invalid expire time in '%s' command")
    static let crossSlot = RedisError("CROSSSLOT Keys in request don't hash to the same slot")
    static let notPositive = RedisError("ERR value is out of range, must be positive")

    static func wrongArity(_ command: String) -> RedisError {
        RedisError("ERR wrong number of arguments for '\(command)' command")
    }

    static func invalidExpireTime(_ command: String) -> RedisError {
        RedisError("ERR invalid expire time in '\(command)' command")
    }
}

/// Number formatting and parsing as Redis does it.
enum RedisNumber {
    /// `%.17g`, with `inf`/`-inf`/`nan` spelled as Redis spells them.
    static func format(_ value: Double) -> String {
        withFormatted(value) { String(decoding: $0, as: UTF8.self) }
    }

    static func formatG17(_ value: Double) -> String {
        withG17(value) { String(decoding: $0, as: UTF8.self) }
    }

    /// Calls `body` with the bytes of `format(value)`, without allocating.
    @inline(__always)
    static func withFormatted<Result>(_ value: Double, _ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        if value.isNaN { return body(UnsafeRawBufferPointer(staticString: "nan")) }
        if value.isInfinite { return body(UnsafeRawBufferPointer(staticString: value > 0 ? "inf" : "-inf")) }
        return withG17(value, body)
    }

    /// Calls `body` with the bytes of C's `%.17g` of `value`. Integral values below 10^15 in magnitude (`%.17g`
    /// prints them as plain integers) are formatted here; the rest by the C library's `vsnprintf` into a stack
    /// buffer (Foundation's `String(format:)` cost microseconds per score: ZRANGE ... WITHSCORES of 100 members
    /// ran at one seventh of redis-server's rate).
    static func withG17<Result>(_ value: Double, _ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        withUnsafeTemporaryAllocation(byteCount: 40, alignment: 8) { out in
            if value == value.rounded(.towardZero) && value.magnitude < 1e15 {
                if value == 0 && value.sign == .minus {
                    out[0] = UInt8(ascii: "-")
                    out[1] = UInt8(ascii: "0")
                    return body(UnsafeRawBufferPointer(rebasing: out[0..<2]))
                }
                let length = ByteBuffer.storeDecimal(Int64(value), into: out, at: 0)
                return body(UnsafeRawBufferPointer(rebasing: out[0..<length]))
            }
            let written = withVaList([value]) { arguments in
                vsnprintf(out.baseAddress!.assumingMemoryBound(to: CChar.self), out.count, "%.17g", arguments)
            }
            return body(UnsafeRawBufferPointer(rebasing: out[0..<Int(max(0, min(written, Int32(out.count - 1))))]))
        }
    }

    /// Parses an integer argument with `string2ll` rules.
    static func parseInt(_ buffer: ByteBuffer) -> Int64? { buffer.parseInt64() }

    /// Parses a float argument the way Redis's `getDoubleFromObject` does: `strtod` over the whole argument,
    /// no leading space, no NaN, and no overflow or underflow (`1e400` is an error, `inf` is not).
    static func parseDouble(_ buffer: ByteBuffer) -> Double? {
        let count = buffer.readableBytes
        guard count > 0 else { return nil }
        return buffer.withUnsafeReadableBytes { bytes -> Double? in
            if bytes.contains(0) { return nil }
            let first = bytes[0]
            if first == 0x20 || (first >= 0x09 && first <= 0x0D) { return nil }
            return withUnsafeTemporaryAllocation(of: CChar.self, capacity: count + 1) { text -> Double? in
                guard let base = text.baseAddress else { return nil }
                bytes.withMemoryRebound(to: CChar.self) { source in
                    _ = source.baseAddress.map { base.update(from: $0, count: count) }
                }
                base[count] = 0
                var end: UnsafeMutablePointer<CChar>?
                errno = 0
                let value = strtod(base, &end)
                guard let end, end - base == count else { return nil }
                if errno == ERANGE && (value.isInfinite || value == 0) { return nil }
                return value.isNaN ? nil : value
            }
        }
    }
}

extension UnsafeRawBufferPointer {
    /// The bytes of a static string (valid for the life of the program).
    init(staticString: StaticString) {
        self.init(start: staticString.utf8Start, count: staticString.utf8CodeUnitCount)
    }
}
