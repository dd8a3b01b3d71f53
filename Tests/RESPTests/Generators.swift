import NIOCore
import PropertyBased
import RESP

/// Random RESP2/RESP3 values and client request pipelines, with their expected decodings.
enum RESPGen {
    /// Any value, nested up to `depth` aggregates deep.
    static func value(depth: Int = 3) -> Generator<RESPValue, Shrink.None<RESPValue>> {
        Generator { rng in randomValue(&rng, depth: depth) }
    }

    /// 1 to `max` values to send back to back.
    static func values(max: Int = 6, depth: Int = 3) -> Generator<[RESPValue], Shrink.None<[RESPValue]>> {
        Generator { rng in (0..<Int.random(in: 1...max, using: &rng)).map { _ in randomValue(&rng, depth: depth) } }
    }

    /// A pipeline of requests as a client might send them (multibulk, inline, blank lines, `*0`, `*-1`).
    static func pipeline(max: Int = 8) -> Generator<RequestPipeline, Shrink.None<RequestPipeline>> {
        Generator { rng in randomPipeline(&rng, max: max) }
    }

    static func randomValue(_ rng: inout some RandomNumberGenerator, depth: Int) -> RESPValue {
        switch Int.random(in: 0..<(depth > 0 ? 21 : 14), using: &rng) {
        case 0: return .simpleString(line(&rng))
        case 1: return .simpleError("ERR " + line(&rng))
        case 2: return .integer(integer(&rng))
        case 3: return .bulkString(ByteBuffer(bytes: binary(&rng, max: 40)))
        case 4: return .bulkString(ByteBuffer())
        case 5: return .nullBulkString
        case 6: return .nullArray
        case 7: return .null
        case 8: return .boolean(Bool.random(using: &rng))
        case 9: return .double(double(&rng))
        case 10: return .bigNumber(bigNumber(&rng))
        case 11: return .bulkError(ByteBuffer(bytes: Array("ERR ".utf8) + binary(&rng, max: 20)))
        case 12: return .verbatimString(format: ["txt", "mkd"].randomElement(using: &rng)!, text: ByteBuffer(bytes: binary(&rng, max: 30)))
        case 13: return .bulkString(ByteBuffer(string: "a\r\nb\r\n"))
        case 14, 15: return .array(children(&rng, depth: depth))
        case 16: return .map(pairs(&rng, depth: depth))
        case 17: return .set(children(&rng, depth: depth))
        case 18: return .attribute(pairs(&rng, depth: depth), randomValue(&rng, depth: depth - 1))
        case 19: return .push([.bulk("message")] + children(&rng, depth: depth))
        default: return .array([])
        }
    }

    static func children(_ rng: inout some RandomNumberGenerator, depth: Int) -> [RESPValue] {
        (0..<Int.random(in: 0...4, using: &rng)).map { _ in randomValue(&rng, depth: depth - 1) }
    }

    static func pairs(_ rng: inout some RandomNumberGenerator, depth: Int) -> [(key: RESPValue, value: RESPValue)] {
        (0..<Int.random(in: 0...3, using: &rng)).map { _ in
            (key: randomValue(&rng, depth: depth - 1), value: randomValue(&rng, depth: depth - 1))
        }
    }

    /// Text without CR or LF (which simple strings cannot hold), including multi-byte UTF-8.
    static func line(_ rng: inout some RandomNumberGenerator) -> String {
        let alphabet: [Character] = ["a", "Z", "0", " ", "\t", ":", "$", "*", "-", "+", "é", "漢", "🙂", "\u{0}", "\""]
        return String((0..<Int.random(in: 0...12, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! })
    }

    static func binary(_ rng: inout some RandomNumberGenerator, max: Int) -> [UInt8] {
        (0..<Int.random(in: 0...max, using: &rng)).map { _ in
            switch Int.random(in: 0..<4, using: &rng) {
            case 0: return 0x0D
            case 1: return 0x0A
            default: return UInt8.random(in: 0...255, using: &rng)
            }
        }
    }

    static func integer(_ rng: inout some RandomNumberGenerator) -> Int64 {
        switch Int.random(in: 0..<5, using: &rng) {
        case 0: return [Int64.min, .max, 0, -1, 1, 10, -10].randomElement(using: &rng)!
        case 1: return Int64.random(in: -1000...1000, using: &rng)
        default: return Int64.random(in: .min ... .max, using: &rng)
        }
    }

    static func double(_ rng: inout some RandomNumberGenerator) -> Double {
        switch Int.random(in: 0..<5, using: &rng) {
        case 0:
            return [0, -0.0, 1, -1.5, .infinity, -.infinity, .nan, 1e300, -1e-300, .leastNonzeroMagnitude, .greatestFiniteMagnitude,
                    .pi, 0.1, 1e16, 1e17, 123456789012345680].randomElement(using: &rng)!
        case 1: return Double(Int.random(in: -1_000_000...1_000_000, using: &rng)) / 1000
        default: return Double(bitPattern: rng.next())
        }
    }

    static func bigNumber(_ rng: inout some RandomNumberGenerator) -> String {
        let digits = (0..<Int.random(in: 1...60, using: &rng)).map { _ in String(Int.random(in: 0...9, using: &rng)) }
        return (Bool.random(using: &rng) ? "-" : "") + digits.joined()
    }

    // MARK: Requests

    /// `prefix` (plain words, such as `RPUSH key`) starts every non-empty request.
    static func randomPipeline(_ rng: inout some RandomNumberGenerator, max: Int, prefix: [String] = []) -> RequestPipeline {
        var pipeline = RequestPipeline()
        let prefixArguments = prefix.map { Array($0.utf8) }
        let prefixText = Array(prefix.map { Array(($0 + " ").utf8) }.joined())
        for _ in 0..<Int.random(in: 1...max, using: &rng) {
            switch Int.random(in: 0..<10, using: &rng) {
            case 0...4:
                let arguments = prefixArguments + (0..<Int.random(in: 1...5, using: &rng)).map { _ in binary(&rng, max: 30) }
                var frame = ByteBuffer()
                frame.writeRESPCommand(arguments.map { ByteBuffer(bytes: $0) })
                pipeline.append(frame, arguments: arguments, isMultibulk: true)
            case 5...7:
                let (text, arguments) = inlineLine(&rng)
                pipeline.append(ByteBuffer(bytes: prefixText + text), arguments: prefixArguments + arguments, isMultibulk: false)
            case 8:
                pipeline.append(buf(["\r\n", "\n", "  \t \r\n", "\r\r\n"].randomElement(using: &rng)!), arguments: nil, isMultibulk: false)
            default:
                pipeline.append(buf(["*0\r\n", "*-1\r\n", "*-7\r\n"].randomElement(using: &rng)!), arguments: nil, isMultibulk: true)
            }
        }
        return pipeline
    }

    /// An inline command line and the arguments Redis splits it into.
    static func inlineLine(_ rng: inout some RandomNumberGenerator) -> (text: [UInt8], arguments: [[UInt8]]) {
        var text: [UInt8] = []
        var arguments: [[UInt8]] = []
        if Bool.random(using: &rng) { text += [0x20] }
        for index in 0..<Int.random(in: 1...4, using: &rng) {
            if index > 0 { text += separator(&rng) }
            switch Int.random(in: 0..<4, using: &rng) {
            case 0, 1:
                let safe = Array("abcXYZ019-_:{}$*+=/.,;!?@#%^&()[]<>".utf8) + [0xC3, 0xA9]
                var token = (0..<Int.random(in: 1...10, using: &rng)).map { _ in safe.randomElement(using: &rng)! }
                if index == 0 && token[0] == 0x2A { token[0] = 0x61 }  // a line starting with `*` is multibulk
                text += token
                arguments.append(token)
            case 2:
                let bytes = binary(&rng, max: 12)
                text += doubleQuoted(bytes, &rng)
                arguments.append(bytes)
            default:
                let plain = Array("ab \t\"xyz\u{7}".utf8)
                let bytes = (0..<Int.random(in: 0...8, using: &rng)).map { _ in
                    Int.random(in: 0..<4, using: &rng) == 0 ? 0x27 : plain.randomElement(using: &rng)!
                }
                text += [0x27]
                for byte in bytes { text += byte == 0x27 ? [0x5C, 0x27] : [byte] }
                text += [0x27]
                arguments.append(bytes)
            }
        }
        if Bool.random(using: &rng) { text += separator(&rng) }
        text += Bool.random(using: &rng) ? [0x0D, 0x0A] : [0x0A]
        return (text, arguments)
    }

    static func separator(_ rng: inout some RandomNumberGenerator) -> [UInt8] {
        (0..<Int.random(in: 1...3, using: &rng)).map { _ in [0x20, 0x20, 0x09].randomElement(using: &rng)! }
    }

    /// `bytes` in double quotes, each byte raw or escaped in one of the ways `sdssplitargs` understands.
    static func doubleQuoted(_ bytes: [UInt8], _ rng: inout some RandomNumberGenerator) -> [UInt8] {
        func hexDigits(_ b: UInt8) -> [UInt8] {
            let hex = Array((Bool.random(using: &rng) ? "0123456789abcdef" : "0123456789ABCDEF").utf8)
            return [hex[Int(b >> 4)], hex[Int(b & 0xF)]]
        }
        var out: [UInt8] = [0x22]
        for byte in bytes {
            let named: [UInt8: UInt8] = [0x0A: 0x6E, 0x0D: 0x72, 0x09: 0x74, 0x08: 0x62, 0x07: 0x61, 0x22: 0x22, 0x5C: 0x5C]
            if let escape = named[byte], Bool.random(using: &rng) {
                out += [0x5C, escape]
            } else if byte >= 0x20 && byte != 0x22 && byte != 0x5C && byte != 0x7F && Bool.random(using: &rng) {
                out.append(byte)
            } else {
                out += [0x5C, 0x78] + hexDigits(byte)
            }
        }
        out.append(0x22)
        return out
    }
}

/// Bytes of a request pipeline, and what a server must read from them.
struct RequestPipeline: CustomStringConvertible {
    var bytes = ByteBuffer()
    /// The argv of every non-empty request, in order.
    var expected: [[[UInt8]]] = []
    /// The frame of every non-empty request: its bytes for multibulk, nil for inline.
    var frames: [ByteBuffer?] = []

    mutating func append(_ text: ByteBuffer, arguments: [[UInt8]]?, isMultibulk: Bool) {
        var text = text
        if let arguments {
            expected.append(arguments)
            frames.append(isMultibulk ? text : nil)
        }
        bytes.writeBuffer(&text)
    }

    var description: String { String(decoding: bytes.readableBytesView, as: UTF8.self).debugDescription }
}
