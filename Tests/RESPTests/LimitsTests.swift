import NIOCore
import RESP
import Testing

/// Every configurable limit is enforced, with the right error, by both decoders.
@Suite struct LimitsTests {
    @Test func requestBulkLength() {
        let limits = RESPLimits(maxBulkLength: 10)
        #expect(decodeRequests(buf("*1\r\n$10\r\n0123456789\r\n"), limits: limits) == .values([args("0123456789")]))
        #expect(decodeRequests(buf("*1\r\n$11\r\n"), limits: limits) == .error(.invalidBulkLength))
    }

    @Test func requestMultibulkLength() {
        let limits = RESPLimits(maxMultibulkLength: 3)
        #expect(decodeRequests(buf("*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n"), limits: limits) == .values([args("a", "b", "c")]))
        #expect(decodeRequests(buf("*4\r\n"), limits: limits) == .error(.invalidMultibulkLength))
    }

    @Test func requestInlineSize() {
        let limits = RESPLimits(maxInlineSize: 16)
        #expect(decodeRequests(buf(String(repeating: "a", count: 16)), limits: limits) == .needsMore([], pending: 16))
        #expect(decodeRequests(buf(String(repeating: "a", count: 17)), limits: limits) == .error(.tooBigInlineRequest))
        #expect(decodeRequests(buf("*" + String(repeating: "1", count: 16)), limits: limits) == .error(.tooBigMultibulkCount))
        #expect(decodeRequests(buf("*1\r\n$" + String(repeating: "1", count: 16)), limits: limits) == .error(.tooBigBulkCount))
        // Lines that end in time are not limited.
        let long = String(repeating: "b", count: 40)
        #expect(decodeRequests(buf("ECHO \(long)\r\n"), limits: limits) == .values([args("ECHO", long)]))
    }

    @Test func replyBulkLength() {
        let limits = RESPLimits(maxBulkLength: 10)
        #expect(decodeReplies(buf("$10\r\n0123456789\r\n"), limits: limits) == .values([.bulk("0123456789")]))
        for text in ["$11\r\n", "!11\r\n", "=11\r\n"] {
            #expect(decodeReplies(buf(text), limits: limits) == .error(.invalidBulkLength), "\(text.debugDescription)")
        }
        // Simple strings, errors and big numbers are bounded by the same limit, complete or not.
        let long = String(repeating: "x", count: 11)
        for text in ["+\(long)\r\n", "-\(long)\r\n", "(\(String(repeating: "1", count: 11)))\r\n", "+\(long)x"] {
            #expect(decodeReplies(buf(text), limits: limits) == .error(RESPProtocolError("Protocol error: invalid line length")),
                    "\(text.debugDescription)")
        }
        #expect(decodeReplies(buf("+\(String(repeating: "x", count: 10))\r"), limits: limits) == .needsMore([], pending: 12))
    }

    @Test func replyMultibulkLength() {
        let limits = RESPLimits(maxMultibulkLength: 3)
        #expect(decodeReplies(buf("*3\r\n:1\r\n:2\r\n:3\r\n"), limits: limits) == .values([.array([1, 2, 3])]))
        for text in ["*4\r\n", "~4\r\n", ">4\r\n", "%4\r\n", "|4\r\n"] {
            #expect(decodeReplies(buf(text), limits: limits) == .error(.invalidMultibulkLength), "\(text.debugDescription)")
        }
        // Pairs count once each.
        #expect(decodeReplies(buf("%3\r\n:1\r\n:1\r\n:2\r\n:2\r\n:3\r\n:3\r\n"), limits: limits)
            == .values([.map([(1, 1), (2, 2), (3, 3)])]))
    }

    @Test func replyNestingDepth() {
        let limits = RESPLimits(maxNestingDepth: 3)
        let three = String(repeating: "*1\r\n", count: 3) + ":1\r\n"
        #expect(decodeReplies(buf(three), limits: limits) == .values([.array([.array([.array([1])])])]))
        #expect(decodeReplies(buf("*1\r\n" + three), limits: limits) == .error(.nestingTooDeep))
        #expect(decodeReplies(buf("%1\r\n:1\r\n~1\r\n>1\r\n|1\r\n:1\r\n:1\r\n:1\r\n"), limits: limits) == .error(.nestingTooDeep))
        // Empty and null aggregates open nothing.
        #expect(decodeReplies(buf("*1\r\n*1\r\n*2\r\n*0\r\n*-1\r\n"), limits: limits)
            == .values([.array([.array([.array([.array([]), .nullArray])])])]))
        // The default is 128.
        #expect(decodeReplies(buf(String(repeating: "*1\r\n", count: 128) + "_\r\n")) != .error(.nestingTooDeep))
        #expect(decodeReplies(buf(String(repeating: "*1\r\n", count: 129) + "_\r\n")) == .error(.nestingTooDeep))
    }

    @Test func replyCountLineSize() {
        let limits = RESPLimits(maxInlineSize: 16)
        let digits = String(repeating: "1", count: 17)
        #expect(decodeReplies(buf("$" + digits), limits: limits) == .error(.tooBigBulkCount))
        #expect(decodeReplies(buf("*" + digits), limits: limits) == .error(.tooBigMultibulkCount))
        #expect(decodeReplies(buf(":" + digits), limits: limits) == .error(RESPProtocolError("Protocol error: invalid line length")))
        #expect(decodeReplies(buf("," + digits + "\r\n"), limits: limits) == .error(RESPProtocolError("Protocol error: invalid line length")))
        #expect(decodeReplies(buf("$" + String(repeating: "1", count: 16)), limits: limits) == .needsMore([], pending: 17))
    }

    /// Malformed replies, each with its error.
    @Test(arguments: [
        ("?x\r\n", "invalid type byte '?'"),
        ("\u{1}\r\n", "invalid type byte 0x1"),
        ("HTTP/1.1 200 OK\r\n", "invalid type byte 'H'"),
        (":abc\r\n", "invalid integer"),
        (":+1\r\n", "invalid integer"),
        (":01\r\n", "invalid integer"),
        (":\r\n", "invalid integer"),
        (":9223372036854775808\r\n", "invalid integer"),
        ("#x\r\n", "invalid boolean"),
        ("#tt\r\n", "invalid boolean"),
        ("#\r\n", "invalid boolean"),
        ("_x\r\n", "invalid null"),
        (",abc\r\n", "invalid double"),
        (",1e\r\n", "invalid double"),
        (",0x10\r\n", "invalid double"),
        (",infinity\r\n", "invalid double"),
        (",1.5 \r\n", "invalid double"),
        (",.\r\n", "invalid double"),
        (",-\r\n", "invalid double"),
        (",\r\n", "invalid double"),
        (",nan(1)\r\n", "invalid double"),
        ("(12a\r\n", "invalid big number"),
        ("(\r\n", "invalid big number"),
        ("(-\r\n", "invalid big number"),
        ("$3\r\nabcd\r\n", "invalid bulk string terminator"),
        ("$3\r\nabc\n\r\n", "invalid bulk string terminator"),
        ("=3\r\ntxt\r\n", "invalid verbatim string"),
        ("=4\r\ntxtx\r\n", "invalid verbatim string"),
        ("$-2\r\n", "invalid bulk length"),
        ("!-1\r\n", "invalid bulk length"),
        ("=-1\r\n", "invalid bulk length"),
        ("$abc\r\n", "invalid bulk length"),
        ("*-2\r\n", "invalid multibulk length"),
        (">-1\r\n", "invalid multibulk length"),
        ("|-1\r\n", "invalid multibulk length"),
        ("*1x\r\n", "invalid multibulk length"),
        ("*1\r\n?\r\n", "invalid type byte '?'"),
    ])
    func malformedReplies(text: String, message: String) {
        #expect(decodeReplies(buf(text)) == .error(RESPProtocolError("Protocol error: " + message)))
    }
}
