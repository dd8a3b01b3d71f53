import NIOCore

/// A command compiled once into constant byte runs and holes, then written request after request straight into
/// an outbound buffer: no per-request allocation, no re-encoding of the constant parts.
///
/// Placeholders inside any argument: `__key__` (or redis-benchmark's `__rand_int__`) is a key number written as
/// 12 zero-padded digits; `__data__` is the value. With `hashTag`, the first key of a request is written as
/// `{NNNNNNNNNNNN}` and every later key as `{FIRST}NNNNNNNNNNNN`, so that all keys of one request share a slot.
public struct RequestTemplate: Sendable, Hashable {
    /// Digits of a key number.
    public static let keyDigits = 12

    enum Chunk: Sendable, Hashable {
        /// Constant bytes: `pool[range]`.
        case literal(Range<Int>)
        /// A bulk header whose length depends on the value size: `$<fixed + dataParts * size>\r\n`.
        case header(fixed: Int, dataParts: Int)
        case firstKey
        case extraKey
        case data
    }

    let pool: [UInt8]
    let chunks: [Chunk]
    public let hashTag: Bool
    /// The argument hashed to route the request in cluster mode: its constant prefix, whether it holds the
    /// first key, and its constant suffix. Nil when the command has no argument to route by.
    let routePrefix: [UInt8]
    let routeHasKey: Bool
    let routeSuffix: [UInt8]
    public let hasRouteKey: Bool
    /// The command's arguments as given.
    public let arguments: [String]
    /// Number of key placeholders.
    public let keyCount: Int

    public init(_ arguments: [String], hashTag: Bool = false) {
        self.arguments = arguments
        self.hashTag = hashTag
        var pool: [UInt8] = []
        var chunks: [Chunk] = []
        var pendingLiteral: [UInt8] = []
        func flushLiteral() {
            guard !pendingLiteral.isEmpty else { return }
            chunks.append(.literal(pool.count..<(pool.count + pendingLiteral.count)))
            pool += pendingLiteral
            pendingLiteral.removeAll()
        }
        pendingLiteral += Array("*\(arguments.count)\r\n".utf8)
        var keysSeen = 0
        var routeIndex: Int?
        var parsedArguments: [[Part]] = []
        for (index, argument) in arguments.enumerated() {
            let parts = Self.parts(of: argument)
            parsedArguments.append(parts)
            if routeIndex == nil, parts.contains(where: { if case .key = $0 { return true } else { return false } }) {
                routeIndex = index
            }
            var fixed = 0
            var dataParts = 0
            var keysInArgument = keysSeen
            for part in parts {
                switch part {
                case .literal(let bytes): fixed += bytes.count
                case .key:
                    fixed += Self.keyWidth(first: keysInArgument == 0, hashTag: hashTag)
                    keysInArgument += 1
                case .data: dataParts += 1
                }
            }
            if dataParts == 0 {
                pendingLiteral += Array("$\(fixed)\r\n".utf8)
            } else {
                flushLiteral()
                chunks.append(.header(fixed: fixed, dataParts: dataParts))
            }
            for part in parts {
                switch part {
                case .literal(let bytes): pendingLiteral += bytes
                case .key:
                    flushLiteral()
                    chunks.append(keysSeen == 0 ? .firstKey : .extraKey)
                    keysSeen += 1
                case .data:
                    flushLiteral()
                    chunks.append(.data)
                }
            }
            pendingLiteral += [0x0D, 0x0A]
        }
        flushLiteral()
        self.pool = pool
        self.chunks = chunks
        self.keyCount = keysSeen
        // Route by the argument holding the first key; else by the first argument after the command name
        // (`LPUSH mylist ...`); a bare command (`PING`) goes anywhere.
        let routeParts: [Part]
        if let routeIndex {
            routeParts = parsedArguments[routeIndex]
        } else if arguments.count > 1 {
            routeParts = parsedArguments[1]
        } else {
            routeParts = []
        }
        var prefix: [UInt8] = []
        var suffix: [UInt8] = []
        var sawKey = false
        for part in routeParts {
            switch part {
            case .literal(let bytes):
                if sawKey { suffix += bytes } else { prefix += bytes }
            case .key:
                if sawKey { break }
                sawKey = true
            case .data:
                break
            }
        }
        self.routePrefix = prefix
        self.routeSuffix = suffix
        self.routeHasKey = sawKey
        self.hasRouteKey = !routeParts.isEmpty
    }

    enum Part: Hashable {
        case literal([UInt8])
        case key
        case data
    }

    static func parts(of argument: String) -> [Part] {
        var parts: [Part] = []
        var literal: [UInt8] = []
        let bytes = Array(argument.utf8)
        let placeholders: [(text: [UInt8], part: Part)] = [
            (Array("__key__".utf8), .key), (Array("__rand_int__".utf8), .key), (Array("__data__".utf8), .data),
        ]
        var i = 0
        outer: while i < bytes.count {
            for (text, part) in placeholders where bytes.count - i >= text.count && Array(bytes[i..<(i + text.count)]) == text {
                if !literal.isEmpty {
                    parts.append(.literal(literal))
                    literal.removeAll()
                }
                parts.append(part)
                i += text.count
                continue outer
            }
            literal.append(bytes[i])
            i += 1
        }
        if !literal.isEmpty { parts.append(.literal(literal)) }
        return parts
    }

    static func keyWidth(first: Bool, hashTag: Bool) -> Int {
        guard hashTag else { return keyDigits }
        return first ? keyDigits + 2 : 2 * keyDigits + 2
    }

    /// Writes one request. `key` is the first key's number; later keys are drawn from `keys`; every `__data__`
    /// is `data` (whose length is the value size).
    func encode(into buffer: inout ByteBuffer, key: Int, keys: inout KeyGenerator, data: UnsafeRawBufferPointer) {
        pool.withUnsafeBytes { pool in
            for chunk in chunks {
                switch chunk {
                case .literal(let range):
                    buffer.writeBytes(UnsafeRawBufferPointer(rebasing: pool[range]))
                case .header(let fixed, let dataParts):
                    buffer.writeInteger(UInt8(ascii: "$"))
                    buffer.writeDecimal(Int64(fixed &+ dataParts &* data.count))
                    buffer.writeInteger(UInt16(0x0D0A))
                case .firstKey:
                    if hashTag {
                        buffer.writeInteger(UInt8(ascii: "{"))
                        Self.writeKeyNumber(key, into: &buffer)
                        buffer.writeInteger(UInt8(ascii: "}"))
                    } else {
                        Self.writeKeyNumber(key, into: &buffer)
                    }
                case .extraKey:
                    let other = keys.next()
                    if hashTag {
                        buffer.writeInteger(UInt8(ascii: "{"))
                        Self.writeKeyNumber(key, into: &buffer)
                        buffer.writeInteger(UInt8(ascii: "}"))
                    }
                    Self.writeKeyNumber(other, into: &buffer)
                case .data:
                    buffer.writeBytes(data)
                }
            }
        }
    }

    /// The whole request for one value size, encoded once with the value's `x` bytes, and where its key digits
    /// go: each request is then one copy of `bytes` and the digits patched in place.
    struct Image: Sendable {
        /// Where key digits go, and whether they are the first key's (else a newly drawn key's).
        struct Slot: Sendable {
            var offset: Int
            var first: Bool
        }

        var bytes: [UInt8]
        var slots: [Slot]

        func write(into buffer: inout ByteBuffer, key: Int, keys: inout KeyGenerator) {
            let count = bytes.count
            buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { out in
                bytes.withUnsafeBytes { out.baseAddress.unsafelyUnwrapped.copyMemory(from: $0.baseAddress.unsafelyUnwrapped, byteCount: count) }
                for slot in slots {
                    RequestTemplate.putKeyNumber(slot.first ? key : keys.next(), out.baseAddress.unsafelyUnwrapped + slot.offset)
                }
                return count
            }
        }
    }

    /// The image of this request with values of `dataSize` bytes of `filler`.
    func image(dataSize: Int, filler: UInt8 = UInt8(ascii: "x")) -> Image {
        var buffer = ByteBuffer()
        var slots: [Image.Slot] = []
        let data = [UInt8](repeating: filler, count: dataSize)
        for chunk in chunks {
            switch chunk {
            case .literal(let range): buffer.writeBytes(pool[range])
            case .header(let fixed, let dataParts):
                buffer.writeString("$\(fixed + dataParts * dataSize)\r\n")
            case .firstKey:
                if hashTag { buffer.writeString("{") }
                slots.append(.init(offset: buffer.writerIndex, first: true))
                buffer.writeRepeatingByte(UInt8(ascii: "0"), count: Self.keyDigits)
                if hashTag { buffer.writeString("}") }
            case .extraKey:
                if hashTag {
                    buffer.writeString("{")
                    slots.append(.init(offset: buffer.writerIndex, first: true))
                    buffer.writeRepeatingByte(UInt8(ascii: "0"), count: Self.keyDigits)
                    buffer.writeString("}")
                }
                slots.append(.init(offset: buffer.writerIndex, first: false))
                buffer.writeRepeatingByte(UInt8(ascii: "0"), count: Self.keyDigits)
            case .data:
                buffer.writeBytes(data)
            }
        }
        return Image(bytes: Array(buffer.readableBytesView), slots: slots)
    }

    /// Stores `number` as 12 zero-padded decimal digits at `out`.
    @inline(__always)
    static func putKeyNumber(_ number: Int, _ out: UnsafeMutableRawPointer) {
        var n = UInt64(truncatingIfNeeded: number)
        var i = keyDigits
        while i > 0 {
            i &-= 1
            out.storeBytes(of: UInt8(truncatingIfNeeded: n % 10) &+ 0x30, toByteOffset: i, as: UInt8.self)
            n /= 10
        }
    }

    /// Writes `number` as 12 zero-padded decimal digits.
    static func writeKeyNumber(_ number: Int, into buffer: inout ByteBuffer) {
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: keyDigits) { out in
            var n = UInt64(truncatingIfNeeded: number)
            var i = keyDigits
            while i > 0 {
                i &-= 1
                out[i] = UInt8(truncatingIfNeeded: n % 10) &+ 0x30
                n /= 10
            }
            return keyDigits
        }
    }

    /// Writes the bytes hashed to route a request whose first key is `key` (the routing argument, whole).
    func writeRouteKey(_ key: Int, into buffer: inout ByteBuffer) {
        buffer.writeBytes(routePrefix)
        if routeHasKey {
            if hashTag { buffer.writeInteger(UInt8(ascii: "{")) }
            Self.writeKeyNumber(key, into: &buffer)
            if hashTag { buffer.writeInteger(UInt8(ascii: "}")) }
        }
        buffer.writeBytes(routeSuffix)
    }

    /// The request as text, one argument per element (for tests and messages).
    public func expand(key: Int, extraKeys: [Int] = [], data: [UInt8]) -> [String] {
        var keys = KeyGenerator(fixed: extraKeys)
        var buffer = ByteBuffer()
        data.withUnsafeBytes { encode(into: &buffer, key: key, keys: &keys, data: $0) }
        return Self.decodeCommand(buffer) ?? []
    }

    /// The arguments of one RESP command array (for tests).
    static func decodeCommand(_ buffer: ByteBuffer) -> [String]? {
        var buffer = buffer
        guard buffer.readInteger(as: UInt8.self) == UInt8(ascii: "*"), let count = readLineNumber(&buffer) else { return nil }
        var result: [String] = []
        for _ in 0..<count {
            guard buffer.readInteger(as: UInt8.self) == UInt8(ascii: "$"), let length = readLineNumber(&buffer),
                let text = buffer.readString(length: length), buffer.readInteger(as: UInt16.self) == 0x0D0A
            else { return nil }
            result.append(text)
        }
        return buffer.readableBytes == 0 ? result : nil
    }

    private static func readLineNumber(_ buffer: inout ByteBuffer) -> Int? {
        guard let end = buffer.readableBytesView.firstIndex(of: 0x0D),
            let text = buffer.readString(length: end - buffer.readerIndex), buffer.readInteger(as: UInt16.self) == 0x0D0A
        else { return nil }
        return Int(text)
    }
}
