import NIOCore
import RESP
import Testing

/// Every RESP2 and RESP3 type, decoded from known bytes and encoded back.
@Suite struct ReplyTypesTests {
    /// Frames whose encoding is canonical: decoding gives the value, encoding the value gives the same bytes.
    static let canonical: [(String, RESPValue)] = [
        ("+OK\r\n", .simpleString("OK")),
        ("+\r\n", .simpleString("")),
        ("+caf\u{E9} \t:$*\r\n", .simpleString("caf\u{E9} \t:$*")),
        ("-ERR unknown command 'x'\r\n", .simpleError("ERR unknown command 'x'")),
        ("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
         .simpleError("WRONGTYPE Operation against a key holding the wrong kind of value")),
        (":0\r\n", .integer(0)),
        (":-1\r\n", .integer(-1)),
        (":1000\r\n", .integer(1000)),
        (":9223372036854775807\r\n", .integer(.max)),
        (":-9223372036854775808\r\n", .integer(.min)),
        ("$0\r\n\r\n", .bulkString(ByteBuffer())),
        ("$5\r\nhello\r\n", .bulk("hello")),
        ("$8\r\na\r\nb\0\r\nc\r\n", .bulk(bytes: [0x61, 0x0D, 0x0A, 0x62, 0x00, 0x0D, 0x0A, 0x63])),
        ("$2\r\n\r\n\r\n", .bulk("\r\n")),
        ("$-1\r\n", .nullBulkString),
        ("*0\r\n", .array([])),
        ("*-1\r\n", .nullArray),
        ("*3\r\n:1\r\n$1\r\nx\r\n+y\r\n", .array([.integer(1), .bulk("x"), .simpleString("y")])),
        ("*2\r\n$-1\r\n*-1\r\n", .array([.nullBulkString, .nullArray])),
        ("_\r\n", .null),
        ("#t\r\n", .boolean(true)),
        ("#f\r\n", .boolean(false)),
        (",1.5\r\n", .double(1.5)),
        (",-2.25\r\n", .double(-2.25)),
        (",10\r\n", .double(10)),
        (",0\r\n", .double(0)),
        (",inf\r\n", .double(.infinity)),
        (",-inf\r\n", .double(-.infinity)),
        (",nan\r\n", .double(.nan)),
        (",1e+300\r\n", .double(1e300)),
        (",1.5e-07\r\n", .double(1.5e-7)),
        (",0.1\r\n", .double(0.1)),
        (",3.141592653589793\r\n", .double(.pi)),
        (",1.7976931348623157e+308\r\n", .double(.greatestFiniteMagnitude)),
        (",5e-324\r\n", .double(.leastNonzeroMagnitude)),
        ("(3492890328409238509324850943850943825024385\r\n", .bigNumber("3492890328409238509324850943850943825024385")),
        ("(-12\r\n", .bigNumber("-12")),
        ("!21\r\nSYNTAX invalid syntax\r\n", .bulkError(buf("SYNTAX invalid syntax"))),
        ("!0\r\n\r\n", .bulkError(ByteBuffer())),
        ("=15\r\ntxt:Some string\r\n", .verbatimString(format: "txt", text: buf("Some string"))),
        ("=4\r\nmkd:\r\n", .verbatimString(format: "mkd", text: ByteBuffer())),
        ("=8\r\ntxt:a\r\nb\r\n", .verbatimString(format: "txt", text: buf("a\r\nb"))),
        ("%0\r\n", .map([])),
        ("%2\r\n+first\r\n:1\r\n+second\r\n:2\r\n",
         .map([(.simpleString("first"), .integer(1)), (.simpleString("second"), .integer(2))])),
        ("~0\r\n", .set([])),
        ("~3\r\n+a\r\n:1\r\n#f\r\n", .set([.simpleString("a"), .integer(1), .boolean(false)])),
        (">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$5\r\nhello\r\n", .push([.bulk("message"), .bulk("ch"), .bulk("hello")])),
        (">0\r\n", .push([])),
        // An attribute is one value together with the value it annotates.
        ("|1\r\n+key-popularity\r\n%2\r\n$1\r\na\r\n,0.1923\r\n$1\r\nb\r\n,0.0012\r\n*2\r\n:2039123\r\n:9543892\r\n",
         .attribute(
            [(.simpleString("key-popularity"), .map([(.bulk("a"), .double(0.1923)), (.bulk("b"), .double(0.0012))]))],
            .array([.integer(2_039_123), .integer(9_543_892)]))),
        ("|0\r\n:1\r\n", .attribute([], .integer(1))),
        // ... also inside an aggregate, where it counts as one element.
        ("*3\r\n|1\r\n+ttl\r\n:3600\r\n$5\r\nvalue\r\n:2\r\n|1\r\n+a\r\n+b\r\n_\r\n",
         .array([.attribute([(.simpleString("ttl"), .integer(3600))], .bulk("value")), .integer(2),
                 .attribute([(.simpleString("a"), .simpleString("b"))], .null)])),
        ("%1\r\n|1\r\n+k\r\n+v\r\n+key\r\n|1\r\n+k\r\n+v\r\n+value\r\n",
         .map([(.attribute([(.simpleString("k"), .simpleString("v"))], .simpleString("key")),
                .attribute([(.simpleString("k"), .simpleString("v"))], .simpleString("value")))])),
        // Nested aggregates of every kind.
        ("*2\r\n*2\r\n:1\r\n%1\r\n+k\r\n~1\r\n_\r\n>1\r\n*0\r\n",
         .array([.array([.integer(1), .map([(.simpleString("k"), .set([.null]))])]), .push([.array([])])])),
        ("*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n$1\r\nx\r\n", .array([.array([.array([.array([.array([.bulk("x")])])])])])),
    ]

    @Test(arguments: 0..<canonical.count)
    func decodesAndEncodes(index: Int) throws {
        let (text, value) = Self.canonical[index]
        let bytes = buf(text)
        #expect(decodeReplies(bytes) == .values([value]), "decoding \(text.debugDescription)")
        #expect(encode(value) == bytes, "encoding \(value)")
        // The token is the whole frame, and its type is the frame's first byte.
        let token = try #require(RESPToken(validating: bytes))
        #expect(token.base == bytes)
        #expect(token.type.rawValue == Array(text.utf8)[0])
    }

    /// Spellings that decode but are not what the encoder writes.
    @Test(arguments: [
        (",1.0\r\n", RESPValue.double(1)),
        (",+2.5\r\n", .double(2.5)),
        (",-0\r\n", .double(-0.0)),
        (",.5\r\n", .double(0.5)),
        (",5.\r\n", .double(5)),
        (",1E3\r\n", .double(1000)),
        (",1e-3\r\n", .double(0.001)),
        (",00012.50\r\n", .double(12.5)),
        (",INF\r\n", .double(.infinity)),
        (",+inf\r\n", .double(.infinity)),
        (",-NaN\r\n", .double(.nan)),
        (",1e400\r\n", .double(.infinity)),
        (",-1e400\r\n", .double(-.infinity)),
        (",1e-400\r\n", .double(0)),
        (",123456789012345678901234567890\r\n", .double(123456789012345678901234567890.0)),
        (",0.000000000000000000000000000001\r\n", .double(1e-30)),
        (",9007199254740993\r\n", .double(9007199254740992)),  // 2^53 + 1 rounds to even
        (",4.35\r\n", .double(4.35)),
        ("(+7\r\n", .bigNumber("+7")),
        ("~-1\r\n", .nullArray),
        ("%-1\r\n", .nullArray),
    ])
    func decodesAlternativeSpellings(text: String, value: RESPValue) {
        #expect(decodeReplies(buf(text)) == .values([value]))
    }

    @Test func negativeZeroKeepsItsSign() throws {
        let token = try #require(RESPToken(validating: buf(",-0.0\r\n")))
        guard case .double(let d) = token.value else { Issue.record("not a double"); return }
        #expect(d == 0 && d.sign == .minus)
        #expect(encode(.double(-0.0)) == buf(",-0\r\n"))
    }

    @Test func tokenValuesAreSlicesAndLazyAggregates() throws {
        let token = try #require(RESPToken(validating: buf("*4\r\n$3\r\nfoo\r\n=8\r\ntxt:a\r\nb\r\n%1\r\n+k\r\n:7\r\n|1\r\n+a\r\n+b\r\n:5\r\n")))
        #expect(token.type == .array)
        guard case .array(let elements) = token.value else { Issue.record("not an array"); return }
        #expect(elements.count == 4)
        let items = Array(elements)
        #expect(items.count == 4)
        #expect(items[0].value == .bulkString(buf("foo")))
        #expect(items[0].base == buf("$3\r\nfoo\r\n"))
        #expect(items[1].value == .verbatimString(format: buf("txt"), text: buf("a\r\nb")))
        guard case .map(let map) = items[2].value else { Issue.record("not a map"); return }
        let pairs = Array(map)
        #expect(pairs.count == 1)
        #expect(pairs[0].key.value == .simpleString(buf("k")))
        #expect(pairs[0].value.value == .integer(7))
        guard case .attribute(let attributes, let annotated) = items[3].value else { Issue.record("not an attribute"); return }
        #expect(annotated.value == .integer(5))
        #expect(annotated.base == buf(":5\r\n"))
        #expect(attributes.count == 1)
        #expect(Array(attributes).map { [$0.key.base, $0.value.base] } == [[buf("+a\r\n"), buf("+b\r\n")]])
        // Attribute maps compare by their pairs only, not by the value they annotate.
        guard case .attribute(let other, _) = try #require(RESPToken(validating: buf("|1\r\n+a\r\n+b\r\n:6\r\n"))).value
        else { Issue.record("not an attribute"); return }
        #expect(other == attributes)
    }

    /// Tokens and the strings inside them are slices of the input: this fails if the decoder copies.
    @Test func zeroCopy() throws {
        let input = buf("*3\r\n$5\r\nhello\r\n+OK\r\n=8\r\ntxt:text\r\n")
        let storage = input.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress!)..<UInt(bitPattern: $0.baseAddress! + $0.count) }
        func address(_ b: ByteBuffer) -> UInt { b.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress!) } }
        var decoder = RESPDecoder()
        var cursor = input
        let token = try #require(try decoder.decode(&cursor))
        #expect(address(token.base) == storage.lowerBound)
        guard case .array(let elements) = token.value else { Issue.record("not an array"); return }
        let items = Array(elements)
        guard case .bulkString(let hello) = items[0].value, case .simpleString(let ok) = items[1].value,
            case .verbatimString(let format, let text) = items[2].value
        else { Issue.record("unexpected values"); return }
        #expect(hello == buf("hello") && ok == buf("OK") && format == buf("txt") && text == buf("text"))
        #expect(address(hello) == storage.lowerBound + 8)
        #expect(address(ok) == storage.lowerBound + 16)
        #expect(address(format) == storage.lowerBound + 24)
        #expect(address(text) == storage.lowerBound + 28)
        #expect(storage.contains(address(text) + UInt(text.readableBytes) - 1))
    }

    @Test func scalarTokenValues() throws {
        func value(_ text: String) throws -> RESPToken.Value { try #require(RESPToken(validating: buf(text))).value }
        #expect(try value("+OK\r\n") == .simpleString(buf("OK")))
        #expect(try value("-ERR x\r\n") == .simpleError(buf("ERR x")))
        #expect(try value("!3\r\nERR\r\n") == .bulkError(buf("ERR")))
        #expect(try value(":-42\r\n") == .integer(-42))
        #expect(try value("#t\r\n") == .boolean(true))
        #expect(try value("#f\r\n") == .boolean(false))
        #expect(try value("_\r\n") == .null)
        #expect(try value("$-1\r\n") == .nullBulkString)
        #expect(try value("*-1\r\n") == .nullArray)
        #expect(try value("(123\r\n") == .bigNumber(buf("123")))
        #expect(try value(",2.5\r\n") == .double(2.5))
    }

    @Test func validatingRejectsTrailingBytesAndPartialFrames() {
        #expect(RESPToken(validating: buf("+OK\r\n+OK\r\n")) == nil)
        #expect(RESPToken(validating: buf("$5\r\nhel")) == nil)
        #expect(RESPToken(validating: buf("?x\r\n")) == nil)
        #expect(RESPToken(validating: buf("*2\r\n*1\r\n:1\r\n"), limits: RESPLimits(maxNestingDepth: 1)) == nil)
    }

    // MARK: Encoder

    @Test func encodesHelpers() {
        var out = ByteBuffer()
        out.writeRESPSimpleString("OK")
        out.writeRESPError("ERR bad")
        out.writeRESPInteger(-5)
        out.writeRESPBulkString("héllo")
        out.writeRESPBulkString(bytes: [0x00, 0x0D, 0x0A])
        out.writeRESPBulkString(buf("x"))
        out.writeRESPNullBulkString()
        out.writeRESPHeader(.map, 2)
        out.writeRESPCommand(["SET", "k", ""])
        out.writeRESPCommand([buf("GET"), buf("k")])
        #expect(out == buf(
            "+OK\r\n-ERR bad\r\n:-5\r\n$6\r\nh\u{E9}llo\r\n$3\r\n\0\r\n\r\n$1\r\nx\r\n$-1\r\n%2\r\n"
                + "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"))
    }

    @Test func lineFramesNeverCarryCRLF() {
        var out = ByteBuffer()
        out.writeRESPError("ERR unknown command 'a\r\n+OK'")
        out.writeRESPSimpleString("x\ny\rz")
        out.writeRESPValue(.bigNumber("1\r\n2"))
        #expect(out == buf("-ERR unknown command 'a  +OK'\r\n+x y z\r\n(1  2\r\n"))
    }

    @Test func writesDecimalsOfEveryMagnitude() {
        var values: [Int64] = [0, 1, 9, -1, -9, .max, .min, .max - 1, .min + 1]
        var power: Int64 = 10
        while true {
            values += [power - 1, power, power + 1, -power + 1, -power, -power - 1]
            let (next, overflow) = power.multipliedReportingOverflow(by: 10)
            if overflow { break }
            power = next
        }
        for value in values {
            var out = ByteBuffer()
            out.writeDecimal(value)
            #expect(String(buffer: out) == String(value))
            var frame = ByteBuffer()
            frame.writeRESPInteger(value)
            #expect(String(buffer: frame) == ":\(value)\r\n")
            if value >= 0 {
                var header = ByteBuffer()
                header.writeRESPHeader(.array, Int(value))
                #expect(String(buffer: header) == "*\(value)\r\n")
            }
        }
    }

    @Test func writesBulkStringsOfEverySizeFromSlices() {
        for size in [0, 1, 9, 10, 99, 100, 4095, 4096, 70_000, 1 << 20] {
            let payload = String(repeating: "a", count: size)
            var source = ByteBuffer(string: "prefix" + payload + "suffix")
            source.moveReaderIndex(forwardBy: 6)
            source.moveWriterIndex(to: source.writerIndex - 6)
            var out = ByteBuffer(string: "+x\r\n")
            out.writeRESPBulkString(source)
            source.withUnsafeReadableBytes { out.writeRESPBulkString(bytes: $0) }
            let frame = "$\(size)\r\n\(payload)\r\n"
            #expect(String(buffer: out) == "+x\r\n" + frame + frame)
        }
    }

    @Test func formatsDoubles() {
        #expect(ByteBuffer.formatDouble(1) == "1")
        #expect(ByteBuffer.formatDouble(-3) == "-3")
        #expect(ByteBuffer.formatDouble(0.5) == "0.5")
        #expect(ByteBuffer.formatDouble(1e20) == "1e+20")
        #expect(ByteBuffer.formatDouble(.nan) == "nan")
        #expect(ByteBuffer.formatDouble(-.infinity) == "-inf")
        #expect(ByteBuffer.formatDouble(-0.0) == "-0")
    }

    @Test func valueConveniences() {
        #expect(RESPValue.bulk("x").string == "x")
        #expect(RESPValue.simpleString("OK").string == "OK")
        #expect(RESPValue.integer(1).string == nil)
        #expect(RESPValue.simpleError("ERR x").errorMessage == "ERR x")
        #expect(RESPValue.bulkError(buf("ERR y")).errorMessage == "ERR y")
        #expect(RESPValue.set([1, 2]).elements == [1, 2])
        #expect(("abc" as RESPValue) == .bulk("abc"))
        #expect(RESPValue.double(.nan) == .double(.nan))
        #expect(RESPValue.null != .nullBulkString)
        #expect(Set<RESPValue>([.null, .nullArray, .nullBulkString, .integer(0), .bulk("0")]).count == 5)
    }
}
