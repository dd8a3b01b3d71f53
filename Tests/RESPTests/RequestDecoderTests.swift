import NIOCore
import RESP
import Testing

/// The server-side request decoder: Redis's multibulk and inline parsing, quirks and protocol errors.
@Suite struct RequestDecoderTests {
    static let errors: [(String, RESPProtocolError)] = [
        ("*abc\r\n", .invalidMultibulkLength),
        ("*\r\n", .invalidMultibulkLength),
        ("*01\r\n", .invalidMultibulkLength),
        ("*+1\r\n", .invalidMultibulkLength),
        ("*1 \r\n", .invalidMultibulkLength),
        ("*2147483648\r\n", .invalidMultibulkLength),
        ("*9223372036854775808\r\n", .invalidMultibulkLength),
        ("*1\r\n$-1\r\n", .invalidBulkLength),
        ("*1\r\n$\r\n", .invalidBulkLength),
        ("*1\r\n$-0\r\n", .invalidBulkLength),
        ("*1\r\n$04\r\nPING\r\n", .invalidBulkLength),
        ("*1\r\n$x\r\n", .invalidBulkLength),
        ("*1\r\n$9999999999999\r\n", .invalidBulkLength),
        ("*1\r\n$536870913\r\n", .invalidBulkLength),
        ("*2\r\n$3\r\nGET\r\n$-5\r\n", .invalidBulkLength),
        ("*1\r\nfoo\r\n", RESPProtocolError("Protocol error: expected '$', got 'f'")),
        ("*1\r\n:1\r\n", RESPProtocolError("Protocol error: expected '$', got ':'")),
        ("*2\r\n$1\r\na\r\n*1\r\n", RESPProtocolError("Protocol error: expected '$', got '*'")),
        // Redis replaces a CR or LF it would echo by a space.
        ("*1\r\n\r\n", RESPProtocolError("Protocol error: expected '$', got ' '")),
        ("*1\r\n\n\r\n", RESPProtocolError("Protocol error: expected '$', got ' '")),
        ("SET \"a b\r\n", .unbalancedQuotes),
        ("SET 'a b\r\n", .unbalancedQuotes),
        ("ECHO \"a\"b\r\n", .unbalancedQuotes),
        ("ECHO 'a'b\r\n", .unbalancedQuotes),
        ("ECHO \"ab\\\"\r\n", .unbalancedQuotes),
        ("ECHO \"ab\\\r\n", .unbalancedQuotes),
        ("ECHO a\"b c\"d\r\n", .unbalancedQuotes),
        ("PING\r\nECHO \"\r\n", .unbalancedQuotes),
    ]

    @Test("Recycled argument arrays and frameless decoding give the same requests, split anywhere")
    func recycledArguments() throws {
        let requests: [[String]] = [
            ["SET", "key", "value"], ["GET", "key"], ["MSET", "a", "1", "b", "2", "c", "3"], ["PING"],
            ["ECHO", String(repeating: "x", count: 100)], ["DEL", "a"], ["LPUSH", "l", "1", "2", "3", "4", "5", "6"],
        ]
        var wire = ByteBuffer()
        for request in requests { wire.writeRESPCommand(request) }
        wire.writeString("PING inline\r\n")
        let expected = requests + [["PING", "inline"]]
        for keepsFrames in [true, false] {
            // Every split point: a request cut in two resumes from its `$` line, with arguments cut again.
            for split in stride(from: 0, through: wire.readableBytes, by: 7) {
                var decoder = RESPRequestDecoder()
                decoder.keepsFrames = keepsFrames
                var first = wire.getSlice(at: 0, length: split)!
                var decoded: [[String]] = []
                var frames = 0
                func drain(_ buffer: inout ByteBuffer) throws {
                    while var request = try decoder.decode(&buffer) {
                        decoded.append(request.arguments.map { String(buffer: $0) })
                        if request.frame != nil { frames += 1 }
                        // Handed back at once: the next request reuses the array, which must hold only its own.
                        decoder.recycle(&request.arguments)
                        #expect(request.arguments.isEmpty)
                    }
                }
                try drain(&first)
                var rest = first
                rest.writeImmutableBuffer(wire.getSlice(at: split, length: wire.readableBytes - split)!)
                try drain(&rest)
                #expect(decoded == expected)
                #expect(frames == (keepsFrames ? requests.count : 0))
            }
        }
    }

    @Test(arguments: 0..<errors.count)
    func protocolErrors(index: Int) {
        let (text, error) = Self.errors[index]
        guard case .error(let thrown) = decodeRequests(buf(text)) else {
            Issue.record("no error for \(text.debugDescription): \(decodeRequests(buf(text)))")
            return
        }
        #expect(thrown == error, "\(text.debugDescription)")
        #expect(thrown.message.hasPrefix("Protocol error: "))
    }

    @Test func expectedDollarEchoesTheRawByte() {
        guard case .error(let error) = decodeRequests(buf(bytes: Array("*1\r\n".utf8) + [0xFF, 0x0D, 0x0A])) else {
            Issue.record("no error")
            return
        }
        #expect(error.messageBytes == Array("Protocol error: expected '$', got '".utf8) + [0xFF, 0x27])
        var reply = ByteBuffer()
        reply.writeRESPError(error)
        #expect(Array(reply.readableBytesView) == Array("-ERR Protocol error: expected '$', got '".utf8) + [0xFF, 0x27, 0x0D, 0x0A])
    }

    @Test func tooBigLinesAtTheDefault64KiB() {
        let a = String(repeating: "a", count: 65536)
        let digits = String(repeating: "1", count: 65535)
        // Exactly 64 KiB without a newline is still acceptable; one more byte is not. The limit counts the line
        // from its first byte (`*` or `$` included), as Redis does.
        #expect(decodeRequests(buf(a)) == .needsMore([], pending: 65536))
        #expect(decodeRequests(buf(a + "a")) == .error(.tooBigInlineRequest))
        #expect(decodeRequests(buf("*" + digits)) == .needsMore([], pending: 65536))
        #expect(decodeRequests(buf("*" + digits + "1")) == .error(.tooBigMultibulkCount))
        #expect(decodeRequests(buf("*1\r\n$" + digits)) == .needsMore([], pending: 65540))
        #expect(decodeRequests(buf("*1\r\n$" + digits + "1")) == .error(.tooBigBulkCount))
        // Redis checks the `$` only once the line is complete.
        #expect(decodeRequests(buf("*1\r\n" + a + "a")) == .error(.tooBigBulkCount))
        // A long line is fine once its newline is there.
        #expect(decodeRequests(buf("ECHO " + a + "\r\n")) == .values([args("ECHO", a)]))
    }

    /// Redis's quirks, reproduced because a proxy must read what Redis reads.
    @Test(arguments: [
        // A line ends at `\r` and one more byte, whatever it is.
        ("*1\r\n$4\rXPING\r\n", [args("PING")]),
        ("*1\rX$4\r\nPING\r\n", [args("PING")]),
        // The two bytes after a payload are skipped unchecked.
        ("*1\r\n$4\r\nPINGxx*1\r\n$4\r\nPING\r\n", [args("PING"), args("PING")]),
        ("*1\r\n$4\r\nPING\r\r", [args("PING")]),
        // Empty requests are skipped.
        ("\r\n\n  \r\n\t\r\nPING\r\n", [args("PING")]),
        ("*0\r\n*-1\r\n*-5\r\nPING\r\n", [args("PING")]),
        ("*-9223372036854775808\r\nPING\r\n", [args("PING")]),
        ("*3\r\n$3\r\nSET\r\n$0\r\n\r\n$2\r\n\r\n\r\n", [args("SET", "", "\r\n")]),
        ("*1\r\n$0\r\n\r\n", [args("")]),
    ])
    func redisQuirks(text: String, expected: [[[UInt8]]]) {
        #expect(decodeRequests(buf(text)) == .values(expected))
    }

    /// Like `strchr` in Redis, a NUL byte hides the end of the line: the request never completes, until the
    /// buffer grows past the inline limit.
    @Test func nulByteStallsTheLineSearch() {
        let stalled = ["ECHO a\0b\r\nPING\r\n", "PING\0\r\nPING\r\n", "*1\r\n\0\r\n", "*1\r\n$\04\r\nPING\r\n", "*1\0\r\n"]
        for text in stalled {
            guard case .needsMore(let values, _) = decodeRequests(buf(text)) else {
                Issue.record("\(text.debugDescription) did not stall")
                continue
            }
            #expect(values.isEmpty)
        }
        let padding = String(repeating: "x", count: 70000)
        #expect(decodeRequests(buf("ECHO a\0b\r\n" + padding)) == .error(.tooBigInlineRequest))
        #expect(decodeRequests(buf("*1\0\r\n" + padding)) == .error(.tooBigMultibulkCount))
        #expect(decodeRequests(buf("*1\r\n$\04\r\n" + padding)) == .error(.tooBigBulkCount))
        // Fed in pieces, the stalled search is resumed rather than restarted, with the same outcome.
        var decoder = RESPRequestDecoder()
        let result = feed(&decoder, [buf("PING\r\nECHO a"), buf("\0b\r\n"), buf(padding)], compaction: .discardReadBytes)
        #expect(result.decoded.map(argv) == [args("PING")])
        #expect(result.error == .tooBigInlineRequest)
    }

    static let inline: [(String, [[UInt8]])] = [
        ("PING\r\n", args("PING")),
        ("PING\n", args("PING")),
        ("  PING  \r\n", args("PING")),
        ("SET \"a b\" 'c'\r\n", args("SET", "a b", "c")),
        ("SET\tk\tv\r\n", args("SET", "k", "v")),
        ("ECHO \"\\x41\\x4a\\x4A\"\r\n", args("ECHO", "AJJ")),
        ("ECHO \"\\x4\"\r\n", args("ECHO", "x4")),
        ("ECHO \"\\x41\\x4g\"\r\n", args("ECHO", "Ax4g")),
        ("ECHO \"\\x00\\xff\"\r\n", [Array("ECHO".utf8), [0x00, 0xFF]]),
        ("ECHO \"a\\nb\"\r\n", args("ECHO", "a\nb")),
        ("ECHO \"\\r\\t\\b\\a\\z\\\\\\\"\"\r\n", args("ECHO", "\r\t\u{8}\u{7}z\\\"")),
        ("ECHO 'it\\'s'\r\n", args("ECHO", "it's")),
        ("ECHO 'a\\nb'\r\n", args("ECHO", "a\\nb")),
        ("ECHO '\"'\r\n", args("ECHO", "\"")),
        ("ECHO \"'\"\r\n", args("ECHO", "'")),
        ("ECHO a\"b c\" d\r\n", args("ECHO", "ab c", "d")),
        ("ECHO a'b c' d\r\n", args("ECHO", "ab c", "d")),
        ("ECHO \"\"\r\n", args("ECHO", "")),
        ("ECHO '' x\r\n", args("ECHO", "", "x")),
        ("ECHO\u{0B}x\r\n", args("ECHO\u{0B}x")),
        ("ECHO \u{0B}x\r\n", args("ECHO", "x")),
        ("ECHO\rx\n", args("ECHO", "x")),
        ("ECHO \"a\"\u{0B}b\r\n", args("ECHO", "a", "b")),
        ("ECHO \"a\"\u{0C}b\r\n", args("ECHO", "a", "b")),
        ("ECHO caf\u{E9}\r\n", args("ECHO", "caf\u{E9}")),
        ("ECHO a\\x41\r\n", args("ECHO", "a\\x41")),
        ("ECHO \"a\r\"\n", args("ECHO", "a\r")),
        ("GET k\r\r\n", args("GET", "k")),
    ]

    @Test(arguments: 0..<inline.count)
    func inlineCommands(index: Int) {
        let (text, expected) = Self.inline[index]
        #expect(decodeRequests(buf(text)) == .values([expected]), "\(text.debugDescription)")
    }

    @Test func framesAndZeroCopy() throws {
        let input = buf("*2\r\n$3\r\nGET\r\n$5\r\nkey:1\r\nGET plain \"quo ted\"\r\n")
        var decoder = RESPRequestDecoder()
        var cursor = input
        let multibulk = try #require(try decoder.decode(&cursor))
        let inline = try #require(try decoder.decode(&cursor))
        #expect(cursor.readableBytes == 0)
        #expect(multibulk.frame == buf("*2\r\n$3\r\nGET\r\n$5\r\nkey:1\r\n"))
        #expect(inline.frame == nil)
        #expect(argv(inline) == args("GET", "plain", "quo ted"))
        // Multibulk arguments and unquoted inline arguments share the input's storage.
        let range = input.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress!)..<UInt(bitPattern: $0.baseAddress! + $0.count) }
        func address(_ b: ByteBuffer) -> UInt { b.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress!) } }
        #expect(range.contains(address(multibulk.arguments[1])))
        #expect(address(multibulk.arguments[1]) == range.lowerBound + 17)
        #expect(range.contains(address(inline.arguments[1])))
        #expect(!range.contains(address(inline.arguments[2])))  // unquoted into a new buffer
    }

    @Test func inlineParserStopsAtNUL() {
        #expect(InlineParser.split(buf("a\0b c"))?.map { Array($0.readableBytesView) } == args("a"))
        #expect(InlineParser.split(buf("")) == [])
        #expect(InlineParser.split(buf(" \t\u{0B}\u{0C}\r\n")) == [])
        #expect(InlineParser.split(buf("\"unterminated")) == nil)
        #expect(InlineParser.split(buf("\"a\\")) == nil)
        #expect(InlineParser.split(buf("'a\\'")) == nil)
    }

    @Test func decoderRecoversStateAfterEveryRequest() throws {
        // A partial inline line, then a multibulk request: nothing of one leaks into the other.
        var decoder = RESPRequestDecoder()
        var input = buf("PI")
        #expect(try decoder.decode(&input) == nil)
        input.writeString("NG\r\n*1\r\n$4\r\nPI")
        #expect(try decoder.decode(&input).map(argv) == args("PING"))
        #expect(try decoder.decode(&input) == nil)
        input.writeString("NG\r\nQUIT\r\n")
        #expect(try decoder.decode(&input).map(argv) == args("PING"))
        #expect(try decoder.decode(&input).map(argv) == args("QUIT"))
        #expect(try decoder.decode(&input) == nil)
    }
}
