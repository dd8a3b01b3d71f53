import NIOCore
import RESP
import TestSupport
import Testing

/// The same bytes sent to a real redis-server: it must read them exactly as our decoders do.
///
/// One server serves every check (starting and stopping one takes seconds).
@Suite(.enabled(if: RedisServerProcess.isAvailable, "redis-server is not installed"))
struct RedisInteropTests {
    @Test func agreesWithRealRedis() async throws {
        let server = try await RedisServerProcess.start(extraArguments: ["--enable-debug-command", "yes"])
        defer { server.stop() }
        try await protocolErrorsMatchRedis(port: server.port)
        try await quirksMatchRedis(port: server.port)
        try await inlineCorpusMatchesRedis(port: server.port)
        try await randomPipelinesMatchRedis(port: server.port)
        try await resp2RepliesFromRedis(port: server.port)
        try await resp3RepliesFromRedis(port: server.port)
    }

    /// Bytes on which our request decoder throws, with Redis's reply.
    static var errorCases: [ByteBuffer] {
        var cases = RequestDecoderTests.errors.map { buf($0.0) }
        cases.append(buf(bytes: Array("*1\r\n".utf8) + [0xFF, 0x0D, 0x0A]))
        cases.append(buf(bytes: Array("*1\r\n".utf8) + [0x01, 0x0D, 0x0A]))
        let padding = String(repeating: "x", count: 70000)
        cases.append(buf(padding))
        cases.append(buf("*" + String(repeating: "1", count: 70000)))
        cases.append(buf("*1\r\n$" + String(repeating: "1", count: 70000)))
        cases.append(buf("*1\r\n" + padding))
        // A NUL hides the end of the line until the buffer outgrows the limit.
        cases.append(buf("ECHO a\0b\r\n" + padding))
        cases.append(buf("*1\r\n$\04\r\n" + padding))
        return cases
    }

    func protocolErrorsMatchRedis(port: Int) async throws {
        for raw in Self.errorCases {
            let shown = String(decoding: raw.readableBytesView.prefix(40), as: UTF8.self).debugDescription
            var decoder = RESPRequestDecoder()
            let ours = feed(&decoder, [raw])
            guard let error = ours.error else {
                Issue.record("our decoder accepted \(shown)")
                continue
            }
            let client = try await RESPTestClient.connect(port: port)
            // Requests before the bad one are answered first.
            let replies = try await client.send(raw: raw, replies: ours.decoded.count + 1)
            #expect(replies.last == .simpleError("ERR " + error.message), "\(shown)")
            // Redis closes the connection after a protocol error.
            try await client.closeFuture().get()
        }
    }

    /// Inputs that Redis reads as a number of PINGs (with its quirks): it answers that many PONGs.
    static let quirks = [
        "*1\r\n$4\rXPING\r\n", "*1\rX$4\r\nPING\r\n", "*1\r\n$4\r\nPINGxx*1\r\n$4\r\nPING\r\n", "*1\r\n$4\r\nPING\r\r",
        "\r\n\n  \r\n\t\r\nPING\r\n", "*0\r\n*-1\r\n*-5\r\nPING\r\n", "*-9223372036854775808\r\nPING\r\n",
        "PING\nPING\r\n  PING  \r\n\"PING\"\r\n'PING'\r\nP\"ING\"\r\n", "*1\r\n$4\r\nping\r\n\u{0B}PING\r\n",
    ]

    func quirksMatchRedis(port: Int) async throws {
        let client = try await RESPTestClient.connect(port: port)
        defer { client.close() }
        for text in Self.quirks {
            guard case .values(let requests) = decodeRequests(buf(text)) else {
                Issue.record("our decoder failed on \(text.debugDescription)")
                continue
            }
            #expect(requests.allSatisfy { $0.count == 1 && String(decoding: $0[0], as: UTF8.self).uppercased() == "PING" })
            var raw = buf(text)
            raw.writeRESPCommand(["ECHO", "done"])
            let replies = try await client.send(raw: raw, replies: requests.count + 1)
            #expect(replies == Array(repeating: .simpleString("PONG"), count: requests.count) + [.bulk("done")],
                    "\(text.debugDescription)")
        }
    }

    /// Tricky inline lines (all of them `RPUSH key <arguments>`): Redis's list holds exactly what we split.
    static let inlineCorpus: [String] = [
        "a", "a b c", "  a   b  ", "\"a b\"", "'a b'", "\"\"", "''", "'' ''", "\"\" x \"\"",
        "\"\\x41\\x42\"", "\"\\x4a\\x4A\"", "\"\\x4\"", "\"\\x41\\x4g\"", "\"\\x\"", "\"\\x0\"", "\"\\xff\\x00\\x80\"",
        "\"a\\nb\"", "\"\\r\\t\\b\\a\"", "\"\\z\\q\"", "\"\\\\\"", "\"\\\"\"", "\"a\\\"b\"", "\"\\'\"",
        "'it\\'s'", "'a\\nb'", "'\\x41'", "'\"'", "\"'\"", "'a\"b'",
        "a\"b c\" d", "a'b c' d", "x\"\"", "x''", "a\\x41", "a\\nb", "caf\u{E9}", "\"caf\u{E9}\"", "\u{1F642}",
        "\t\ttabbed\t", "a\u{0B}b", "a\u{0C}b", "\"a\"\u{0B}b", "\"a\"\u{0C}b", "'a'\tb", "\"a\"\rb",
        "\"sp ace\" 'sp ace'", "\"a\r\"", "\"\\x0d\\x0a\"", "*star", "$dollar", ":colon", "+plus", "-minus",
        "\"\\x7f\"", "\u{7}bell", "{tag}key",
    ]

    func inlineCorpusMatchesRedis(port: Int) async throws {
        var rng = SplitMix64(seed: 2024)
        var lines = Self.inlineCorpus.map { Array($0.utf8) }
        for _ in 0..<150 {
            var text = RESPGen.inlineLine(&rng).text
            text.removeLast()  // the `\n`; a `\r` before it is a separator like any other
            lines.append(text)
        }
        #expect(lines.count > 200)
        let client = try await RESPTestClient.connect(port: port)
        defer { client.close() }
        var raw = ByteBuffer()
        var expected: [[[UInt8]]] = []
        for (index, line) in lines.enumerated() {
            var request = ByteBuffer(bytes: Array("RPUSH k\(index) ".utf8) + line + [0x0D, 0x0A])
            guard case .values(let parsed) = decodeRequests(request), parsed.count == 1 else {
                Issue.record("our decoder did not read one request from \(String(buffer: request).debugDescription)")
                continue
            }
            #expect(parsed[0].prefix(2).elementsEqual(args("RPUSH", "k\(index)")))
            expected.append(Array(parsed[0].dropFirst(2)))
            raw.writeBuffer(&request)
            raw.writeRESPCommand(["LRANGE", "k\(index)", "0", "-1"])
        }
        let replies = try await client.send(raw: raw, replies: 2 * expected.count)
        for (index, arguments) in expected.enumerated() {
            #expect(replies[2 * index] == .integer(Int64(arguments.count)), "line \(index): \(String(decoding: lines[index], as: UTF8.self).debugDescription)")
            #expect(replies[2 * index + 1] == .array(arguments.map { .bulk(bytes: $0) }),
                    "line \(index): \(String(decoding: lines[index], as: UTF8.self).debugDescription)")
        }
    }

    /// Random pipelines of multibulk and inline requests, blank lines and empty multibulks, each `RPUSH list ...`:
    /// the list Redis built holds every argument we decoded, in order.
    func randomPipelinesMatchRedis(port: Int) async throws {
        let client = try await RESPTestClient.connect(port: port)
        defer { client.close() }
        var rng = SplitMix64(seed: 77)
        for round in 0..<40 {
            let key = "list\(round)"
            let pipeline = RESPGen.randomPipeline(&rng, max: 12, prefix: ["RPUSH", key])
            let decoded = requests(pipeline)
            #expect(decoded == pipeline.expected)
            var raw = pipeline.bytes
            raw.writeRESPCommand(["LRANGE", key, "0", "-1"])
            let replies = try await client.send(raw: raw, replies: decoded.count + 1)
            let pushed = decoded.flatMap { $0.dropFirst(2) }
            #expect(replies.last == .array(pushed.map { .bulk(bytes: $0) }), "round \(round): \(pipeline)")
        }
    }

    func requests(_ pipeline: RequestPipeline) -> [[[UInt8]]] {
        guard case .values(let decoded) = decodeRequests(pipeline.bytes) else { return [] }
        return decoded
    }

    /// Every RESP3 reply type, as Redis itself encodes it (`DEBUG PROTOCOL`), through our reply decoder.
    func resp3RepliesFromRedis(port: Int) async throws {
        let client = try await RESPTestClient.connect(port: port)
        defer { client.close() }
        guard case .map(let hello) = try await client.command(["HELLO", "3"]) else {
            Issue.record("HELLO 3 did not answer a map")
            return
        }
        #expect(hello.contains { $0.key == .bulk("proto") && $0.value == .integer(3) })
        let expected: [(String, [RESPValue])] = [
            ("string", [.bulk("Hello World")]),
            ("integer", [.integer(12345)]),
            ("double", [.double(3.141)]),
            ("bignum", [.bigNumber("1234567999999999999999999999999999999")]),
            ("null", [.null]),
            ("array", [.array([0, 1, 2])]),
            ("set", [.set([0, 1, 2])]),
            ("map", [.map([(0, .boolean(false)), (1, .boolean(true)), (2, .boolean(false))])]),
            ("attrib", [.attribute([(.bulk("key-popularity"), .array([.bulk("key:123"), 90]))],
                                   .bulk("Some real reply following the attribute"))]),
            ("push", [.push([.bulk("server-cpu-usage"), 42]), .bulk("Some real reply following the push reply")]),
            ("verbatim", [.verbatimString(format: "txt", text: buf("This is a verbatim\nstring"))]),
            ("true", [.boolean(true)]),
            ("false", [.boolean(false)]),
        ]
        for (type, values) in expected {
            var raw = ByteBuffer()
            raw.writeRESPCommand(["DEBUG", "PROTOCOL", type])
            #expect(try await client.send(raw: raw, replies: values.count) == values, "DEBUG PROTOCOL \(type)")
        }
        let replies = try await client.pipeline([
            ["ZADD", "z3", "1.5", "a", "inf", "b", "-2e-5", "c"], ["ZSCORE", "z3", "a"], ["ZSCORE", "z3", "b"],
            ["ZSCORE", "z3", "c"], ["HSET", "h3", "f", "v"], ["HGETALL", "h3"], ["GET", "missing"], ["SADD", "s3", "m"],
            ["SMEMBERS", "s3"],
        ])
        #expect(replies == [3, .double(1.5), .double(.infinity), .double(-2e-5), 1, .map([(.bulk("f"), .bulk("v"))]),
                            .null, 1, .set([.bulk("m")])])
    }

    /// RESP2 replies, including both nulls, errors and binary payloads.
    func resp2RepliesFromRedis(port: Int) async throws {
        let client = try await RESPTestClient.connect(port: port)
        defer { client.close() }
        let binary: [UInt8] = [0x00, 0x0D, 0x0A, 0xFF, 0x24, 0x2A]
        #expect(try await client.command(bytes: [Array("SET".utf8), Array("bin".utf8), binary]) == .simpleString("OK"))
        let replies = try await client.pipeline([
            ["GET", "bin"], ["GET", "missing"], ["BLPOP", "nolist", "0.01"], ["INCRBY", "n", "-9223372036854775808"],
            ["RPUSH", "l", "a", "", "c"], ["LRANGE", "l", "0", "-1"], ["LRANGE", "nolist", "0", "-1"], ["NOSUCHCMD"],
            ["ZADD", "z", "2.5", "m"], ["ZRANGE", "z", "0", "-1", "WITHSCORES"],
        ])
        #expect(replies == [
            .bulk(bytes: binary), .nullBulkString, .nullArray, .integer(.min), 3, .array([.bulk("a"), .bulk(""), .bulk("c")]),
            .array([]), .simpleError("ERR unknown command 'NOSUCHCMD', with args beginning with: "), 1,
            .array([.bulk("m"), .bulk("2.5")]),
        ])
    }
}
