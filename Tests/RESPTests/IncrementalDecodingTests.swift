import NIOCore
import PropertyBased
import RESP
import Testing

/// Random values and request pipelines, split at every byte boundary and in random chunks, decode exactly as they
/// do in one piece, whether or not the buffer is compacted between reads.
@Suite struct IncrementalDecodingTests {
    /// Feeds `chunks` to a fresh reply decoder.
    func replies(_ chunks: [ByteBuffer], _ compaction: Compaction) -> (values: [RESPValue], tokens: [ByteBuffer], pending: Int, error: RESPProtocolError?) {
        var decoder = RESPDecoder()
        let result = feed(&decoder, chunks, compaction: compaction)
        return (result.decoded.map(RESPValue.init), result.decoded.map(\.base), result.pending, result.error)
    }

    /// Feeds `chunks` to a fresh request decoder.
    func requests(_ chunks: [ByteBuffer], _ compaction: Compaction) -> (argv: [[[UInt8]]], frames: [ByteBuffer?], pending: Int, error: RESPProtocolError?) {
        var decoder = RESPRequestDecoder()
        let result = feed(&decoder, chunks, compaction: compaction)
        return (result.decoded.map(argv), result.decoded.map(\.frame), result.pending, result.error)
    }

    @Test func valuesRoundTripInOnePiece() async {
        await propertyCheck(count: 300, input: RESPGen.values()) { values in
            let bytes = encode(values)
            let decoded = replies([bytes], .none)
            #expect(decoded.error == nil)
            #expect(decoded.values == values)
            #expect(decoded.pending == 0)
            // The tokens are the frames, back to back.
            var joined = ByteBuffer()
            for var token in decoded.tokens { joined.writeBuffer(&token) }
            #expect(joined == bytes)
        }
    }

    @Test func valuesSplitAtEveryBoundary() async {
        await propertyCheck(count: 30, input: RESPGen.values(max: 4, depth: 2)) { values in
            let bytes = encode(values)
            for compaction in Compaction.allCases {
                for cut in 0...bytes.readableBytes {
                    let decoded = replies(split(bytes, at: [cut]), compaction)
                    #expect(decoded.error == nil && decoded.pending == 0 && decoded.values == values,
                            "cut at \(cut), \(compaction)")
                }
            }
        }
    }

    @Test func valuesFedOneByteAtATime() async {
        await propertyCheck(count: 60, input: RESPGen.values()) { values in
            let bytes = encode(values)
            let cuts = Array(1..<Swift.max(1, bytes.readableBytes))
            for compaction in Compaction.allCases {
                let decoded = replies(split(bytes, at: cuts), compaction)
                #expect(decoded.error == nil && decoded.pending == 0 && decoded.values == values, "\(compaction)")
            }
        }
    }

    @Test func valuesInRandomChunks() async {
        await propertyCheck(count: 200, input: RESPGen.values(), Gen.int(in: 1...64), Gen.int(in: 0...Int.max)) { values, maxChunk, seed in
            let bytes = encode(values)
            var rng = SplitMix64(seed: UInt64(seed))
            for compaction in Compaction.allCases {
                let chunks = randomChunks(bytes, maxChunk: maxChunk, using: &rng)
                let decoded = replies(chunks, compaction)
                #expect(decoded.error == nil && decoded.pending == 0 && decoded.values == values,
                        "chunks \(chunks.map(\.readableBytes)), \(compaction)")
            }
        }
    }

    /// A long run of small frames in a few big reads: the decoder resumes where it stopped.
    @Test func largeAggregateInChunks() {
        let value = RESPValue.array((0..<5000).map { .array([.integer(Int64($0)), .bulk("v\($0)"), .null]) })
        let bytes = encode(value)
        var rng = SplitMix64(seed: 7)
        for compaction in Compaction.allCases {
            let decoded = replies(randomChunks(bytes, maxChunk: 4096, using: &rng), compaction)
            #expect(decoded.values == [value])
        }
    }

    // MARK: Requests

    @Test func requestPipelinesInOnePiece() async {
        await propertyCheck(count: 300, input: RESPGen.pipeline()) { pipeline in
            let decoded = requests([pipeline.bytes], .none)
            #expect(decoded.error == nil)
            #expect(decoded.argv == pipeline.expected)
            #expect(decoded.frames == pipeline.frames)
            #expect(decoded.pending == 0)
        }
    }

    @Test func requestPipelinesSplitAtEveryBoundary() async {
        await propertyCheck(count: 30, input: RESPGen.pipeline(max: 5)) { pipeline in
            for compaction in Compaction.allCases {
                for cut in 0...pipeline.bytes.readableBytes {
                    let decoded = requests(split(pipeline.bytes, at: [cut]), compaction)
                    #expect(decoded.error == nil && decoded.pending == 0, "cut at \(cut), \(compaction)")
                    #expect(decoded.argv == pipeline.expected && decoded.frames == pipeline.frames,
                            "cut at \(cut), \(compaction)")
                }
            }
        }
    }

    @Test func requestPipelinesFedOneByteAtATime() async {
        await propertyCheck(count: 60, input: RESPGen.pipeline()) { pipeline in
            let cuts = Array(1..<Swift.max(1, pipeline.bytes.readableBytes))
            for compaction in Compaction.allCases {
                let decoded = requests(split(pipeline.bytes, at: cuts), compaction)
                #expect(decoded.error == nil && decoded.pending == 0, "\(compaction)")
                #expect(decoded.argv == pipeline.expected && decoded.frames == pipeline.frames, "\(compaction)")
            }
        }
    }

    @Test func requestPipelinesInRandomChunks() async {
        await propertyCheck(count: 200, input: RESPGen.pipeline(), Gen.int(in: 1...64), Gen.int(in: 0...Int.max)) { pipeline, maxChunk, seed in
            var rng = SplitMix64(seed: UInt64(seed))
            for compaction in Compaction.allCases {
                let chunks = randomChunks(pipeline.bytes, maxChunk: maxChunk, using: &rng)
                let decoded = requests(chunks, compaction)
                #expect(decoded.error == nil && decoded.pending == 0, "chunks \(chunks.map(\.readableBytes)), \(compaction)")
                #expect(decoded.argv == pipeline.expected && decoded.frames == pipeline.frames,
                        "chunks \(chunks.map(\.readableBytes)), \(compaction)")
            }
        }
    }

    /// A big argument arriving in many reads, with the buffer compacted in between, as `ByteToMessageHandler` does.
    @Test func bigArgumentInManyReads() {
        let payload = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        var bytes = ByteBuffer()
        bytes.writeRESPCommand([buf("SET"), buf("key"), ByteBuffer(bytes: payload)])
        bytes.writeString("PING\r\n")
        var rng = SplitMix64(seed: 11)
        for compaction in Compaction.allCases {
            let decoded = requests(randomChunks(bytes, maxChunk: 16384, using: &rng), compaction)
            #expect(decoded.argv == [args("SET", "key") + [payload], args("PING")])
        }
    }

    /// Property: the cut point never changes the outcome, including errors, on arbitrary prefixes of valid frames
    /// followed by garbage.
    @Test func errorsDoNotDependOnChunking() async {
        await propertyCheck(count: 100, input: RESPGen.pipeline(max: 3), Gen.int(in: 0...255)) { pipeline, garbage in
            var bytes = pipeline.bytes
            bytes.writeBytes([0x2A, 0x31, 0x0D, 0x0A, UInt8(garbage), 0x0D, 0x0A])  // `*1\r\n<byte>\r\n`
            let whole = requests([bytes], .none)
            for cut in 0...bytes.readableBytes {
                let decoded = requests(split(bytes, at: [cut]), .discardReadBytes)
                #expect(decoded.argv == whole.argv && decoded.error == whole.error, "cut at \(cut)")
            }
        }
    }
}
