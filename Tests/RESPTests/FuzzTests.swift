import NIOCore
import RESP
import Testing

/// Hostile input never crashes or hangs a decoder: every outcome is values, a need for more bytes, or a
/// `RESPProtocolError`; and the outcome does not depend on how the bytes were chunked.
@Suite struct FuzzTests {
    /// Runs both decoders over `bytes` in one piece and in `chunks`, and checks they agree.
    func check(_ bytes: ByteBuffer, chunks: [ByteBuffer], sourceLocation: SourceLocation = #_sourceLocation) {
        var whole = RESPDecoder()
        var pieces = RESPDecoder()
        let a = feed(&whole, [bytes])
        let b = feed(&pieces, chunks, compaction: .discardReadBytes)
        #expect(a.decoded.map(\.base) == b.decoded.map(\.base), sourceLocation: sourceLocation)
        #expect(a.error == b.error, sourceLocation: sourceLocation)
        for token in a.decoded {
            // Every token's value can be read, recursively, and the owned value encodes to a valid frame.
            let value = RESPValue(token)
            #expect(RESPToken(validating: encode(value)) != nil, sourceLocation: sourceLocation)
        }
        var requestsWhole = RESPRequestDecoder()
        var requestsPieces = RESPRequestDecoder()
        let c = feed(&requestsWhole, [bytes])
        let d = feed(&requestsPieces, chunks, compaction: .copyToNewBuffer)
        #expect(c.decoded == d.decoded, sourceLocation: sourceLocation)
        #expect(c.error == d.error, sourceLocation: sourceLocation)
    }

    @Test func randomBytes() {
        var rng = SplitMix64(seed: 0x5EED)
        let alphabet = Array("*$+-:_#,(!=%~|>\r\n0123456789-.ef tx\"'\\".utf8) + [0]
        for round in 0..<3000 {
            let count = Int.random(in: 0...64, using: &rng)
            let bytes: [UInt8] = (0..<count).map { _ in
                round % 2 == 0 ? UInt8.random(in: 0...255, using: &rng) : alphabet.randomElement(using: &rng)!
            }
            let buffer = ByteBuffer(bytes: bytes)
            check(buffer, chunks: randomChunks(buffer, maxChunk: 8, using: &rng))
        }
    }

    @Test func mutationsOfValidFrames() {
        var rng = SplitMix64(seed: 42)
        for _ in 0..<1500 {
            var bytes = Array(encode(RESPGen.randomValue(&rng, depth: 3)).readableBytesView)
            if Bool.random(using: &rng) {
                bytes += Array(RESPGen.randomPipeline(&rng, max: 3).bytes.readableBytesView)
            }
            for _ in 0..<Int.random(in: 1...4, using: &rng) where !bytes.isEmpty {
                let i = Int.random(in: 0..<bytes.count, using: &rng)
                switch Int.random(in: 0..<5, using: &rng) {
                case 0: bytes[i] = UInt8.random(in: 0...255, using: &rng)
                case 1: bytes.remove(at: i)
                case 2: bytes.insert(Array("*$\r\n-9:".utf8).randomElement(using: &rng)!, at: i)
                case 3: bytes[i] = bytes[i] &+ 1
                default: bytes.removeSubrange(i...)  // truncated
                }
            }
            let buffer = ByteBuffer(bytes: bytes)
            check(buffer, chunks: randomChunks(buffer, maxChunk: 16, using: &rng))
        }
    }

    @Test func everyTruncationOfValidFramesWaitsForMore() {
        var rng = SplitMix64(seed: 99)
        for _ in 0..<200 {
            let values = (0..<3).map { _ in RESPGen.randomValue(&rng, depth: 3) }
            let bytes = encode(values)
            for length in 0..<bytes.readableBytes {
                let prefix = bytes.getSlice(at: bytes.readerIndex, length: length)!
                let decoded: [RESPValue]
                switch decodeReplies(prefix) {
                case .needsMore(let values, _): decoded = values
                case .values(let values): decoded = values  // the cut fell between two frames
                case .error(let error):
                    Issue.record("prefix of \(length) bytes: \(error)")
                    continue
                }
                #expect(decoded.count < values.count)
                #expect(decoded == Array(values.prefix(decoded.count)))
            }
        }
    }

    /// The outcome of a frame that is fine so far but not complete.
    func waiting(_ text: String) -> Outcome<RESPValue> { .needsMore([], pending: text.utf8.count) }

    @Test func hugeDeclaredLengths() {
        // Declared lengths far beyond the data: either an error or a wait, never an allocation of that size.
        #expect(decodeReplies(buf("$9999999999999\r\n")) == .error(.invalidBulkLength))
        #expect(decodeReplies(buf("$536870912\r\nabc")) == waiting("$536870912\r\nabc"))
        #expect(decodeReplies(buf("*2147483647\r\n:1\r\n")) == waiting("*2147483647\r\n:1\r\n"))
        #expect(decodeReplies(buf("*2147483648\r\n")) == .error(.invalidMultibulkLength))
        #expect(decodeReplies(buf("*9223372036854775807\r\n")) == .error(.invalidMultibulkLength))
        #expect(decodeRequests(buf("*1\r\n$9999999999999\r\n")) == .error(.invalidBulkLength))
        #expect(decodeRequests(buf("*2147483648\r\n")) == .error(.invalidMultibulkLength))
        let partial = "*2147483647\r\n$1\r\na\r\n"
        #expect(decodeRequests(buf(partial)) == .needsMore([], pending: partial.utf8.count))
        // Not starting with `*`, it is an inline command.
        #expect(decodeRequests(buf("$9999999999999\r\n")) == .values([args("$9999999999999")]))
        // With every limit lifted, lengths near Int.max must not overflow offset arithmetic.
        let unlimited = RESPLimits(maxBulkLength: .max, maxMultibulkLength: .max, maxNestingDepth: .max, maxInlineSize: .max)
        for text in ["$9223372036854775807\r\nabc", "!9223372036854775806\r\n", "*9223372036854775807\r\n*9223372036854775807\r\n"] {
            #expect(decodeReplies(buf(text), limits: unlimited) == waiting(text), "\(text.debugDescription)")
        }
        for text in ["%9223372036854775807\r\n", "|4611686018427387904\r\n"] {
            #expect(decodeReplies(buf(text), limits: unlimited) == .error(.invalidMultibulkLength), "\(text.debugDescription)")
        }
        let request = "*9223372036854775807\r\n$9223372036854775807\r\nabc"
        #expect(decodeRequests(buf(request), limits: unlimited) == .needsMore([], pending: request.utf8.count))
    }

    @Test func deepNesting() throws {
        let deep = buf(String(repeating: "*1\r\n", count: 100_000))
        #expect(decodeReplies(deep) == .error(.nestingTooDeep))
        #expect(decodeRequests(deep) == .error(RESPProtocolError("Protocol error: expected '$', got '*'")))
        // Lifting the limit: the decoder keeps its own stack (no recursion), and waits for the innermost value.
        let unlimited = RESPLimits(maxNestingDepth: .max)
        var decoder = RESPDecoder(limits: unlimited)
        var input = deep
        #expect(try decoder.decode(&input) == nil)
        input.writeString(":1\r\n")
        let token = try #require(try decoder.decode(&input))
        #expect(token.base.readableBytes == 400_004)
        #expect(input.readableBytes == 0)
        // A token can be walked level by level without recursion.
        var shallower = RESPDecoder(limits: unlimited)
        var nested = buf(String(repeating: "*1\r\n", count: 2000) + ":1\r\n")
        var current = try shallower.decode(&nested)
        var depth = 0
        while case .array(let elements)? = current?.value {
            current = elements.first(where: { _ in true })
            depth += 1
        }
        #expect(depth == 2000)
        #expect(current?.value == .integer(1))
    }

    @Test func manyTinyFramesInOneBuffer() {
        var bytes = ByteBuffer()
        for i in 0..<50_000 { bytes.writeString(i % 2 == 0 ? "+OK\r\n" : ":\(i)\r\n") }
        guard case .values(let values) = decodeReplies(bytes) else {
            Issue.record("did not decode")
            return
        }
        #expect(values.count == 50_000)
        var pipeline = ByteBuffer()
        for _ in 0..<20_000 { pipeline.writeRESPCommand(["GET", "k"]) }
        guard case .values(let requests) = decodeRequests(pipeline) else {
            Issue.record("did not decode")
            return
        }
        #expect(requests.count == 20_000)
    }
}
