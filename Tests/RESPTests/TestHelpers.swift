import NIOCore
import RESP

/// Bytes of a string literal (ASCII/UTF-8) as a buffer.
func buf(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }

/// Raw bytes as a buffer.
func buf(bytes: [UInt8]) -> ByteBuffer { ByteBuffer(bytes: bytes) }

/// The RESP encoding of `values`, back to back.
func encode(_ values: [RESPValue]) -> ByteBuffer {
    var out = ByteBuffer()
    for value in values { out.writeRESPValue(value) }
    return out
}

func encode(_ value: RESPValue) -> ByteBuffer { encode([value]) }

/// How a decoder ended on some input.
enum Outcome<Value: Equatable>: Equatable {
    /// Every value decoded, and no byte left over.
    case values([Value])
    /// Values decoded before the decoder asked for more bytes; `pending` bytes were left unconsumed.
    case needsMore([Value], pending: Int)
    case error(RESPProtocolError)
}

/// A decoder of replies or requests, for the shared drivers below.
protocol IncrementalDecoder {
    associatedtype Decoded
    mutating func decodeNext(_ buffer: inout ByteBuffer) throws(RESPProtocolError) -> Decoded?
}

extension RESPDecoder: IncrementalDecoder {
    mutating func decodeNext(_ buffer: inout ByteBuffer) throws(RESPProtocolError) -> RESPToken? {
        try decode(&buffer)
    }
}

extension RESPRequestDecoder: IncrementalDecoder {
    mutating func decodeNext(_ buffer: inout ByteBuffer) throws(RESPProtocolError) -> RESPRequest? {
        try decode(&buffer)
    }
}

/// How the unconsumed bytes are kept between two reads.
enum Compaction: CaseIterable {
    /// Left in place (reader index advances).
    case none
    /// `discardReadBytes()` after every call that returned nil, as `ByteToMessageHandler` may do.
    case discardReadBytes
    /// Copied into a new buffer with a different storage and reader index.
    case copyToNewBuffer
}

/// Feeds `chunks` one at a time into an accumulating buffer, the way `ByteToMessageHandler` does, and decodes
/// everything that completes.
func feed<D: IncrementalDecoder>(
    _ decoder: inout D, _ chunks: [ByteBuffer], compaction: Compaction = .none
) -> (decoded: [D.Decoded], pending: Int, error: RESPProtocolError?) {
    var cumulation = ByteBuffer()
    var decoded: [D.Decoded] = []
    for var chunk in chunks {
        cumulation.writeBuffer(&chunk)
        do {
            while let value = try decoder.decodeNext(&cumulation) { decoded.append(value) }
        } catch {
            return (decoded, cumulation.readableBytes, error)
        }
        switch compaction {
        case .none: break
        case .discardReadBytes: cumulation.discardReadBytes()
        case .copyToNewBuffer:
            var fresh = ByteBuffer()
            fresh.writeBytes(Array(repeating: 0xEE, count: 7))  // a different reader index in new storage
            fresh.moveReaderIndex(forwardBy: 7)
            fresh.writeBuffer(&cumulation)
            cumulation = fresh
        }
    }
    return (decoded, cumulation.readableBytes, nil)
}

/// Splits `bytes` at the given cut points.
func split(_ bytes: ByteBuffer, at cuts: [Int]) -> [ByteBuffer] {
    var chunks: [ByteBuffer] = []
    var start = 0
    for cut in cuts.sorted() where cut >= start && cut <= bytes.readableBytes {
        chunks.append(bytes.getSlice(at: bytes.readerIndex + start, length: cut - start)!)
        start = cut
    }
    chunks.append(bytes.getSlice(at: bytes.readerIndex + start, length: bytes.readableBytes - start)!)
    return chunks
}

/// Splits `bytes` into random chunks of 1 to `maxChunk` bytes.
func randomChunks(_ bytes: ByteBuffer, maxChunk: Int, using rng: inout some RandomNumberGenerator) -> [ByteBuffer] {
    var cuts: [Int] = []
    var position = 0
    while position < bytes.readableBytes {
        position += Int.random(in: 1...maxChunk, using: &rng)
        if position < bytes.readableBytes { cuts.append(position) }
    }
    return split(bytes, at: cuts)
}

/// Decodes replies from one buffer.
func decodeReplies(_ bytes: ByteBuffer, limits: RESPLimits = .default) -> Outcome<RESPValue> {
    var decoder = RESPDecoder(limits: limits)
    let result = feed(&decoder, [bytes])
    if let error = result.error { return .error(error) }
    let values = result.decoded.map(RESPValue.init)
    return result.pending == 0 ? .values(values) : .needsMore(values, pending: result.pending)
}

/// A request's arguments as byte arrays, for readable comparisons.
func argv(_ request: RESPRequest) -> [[UInt8]] { request.arguments.map { Array($0.readableBytesView) } }

/// Decodes requests from one buffer.
func decodeRequests(_ bytes: ByteBuffer, limits: RESPLimits = .default) -> Outcome<[[UInt8]]> {
    var decoder = RESPRequestDecoder(limits: limits)
    let result = feed(&decoder, [bytes])
    if let error = result.error { return .error(error) }
    let values = result.decoded.map(argv)
    return result.pending == 0 ? .values(values) : .needsMore(values, pending: result.pending)
}

/// `[[UInt8]]` from strings, for expected argvs.
func args(_ strings: String...) -> [[UInt8]] { strings.map { Array($0.utf8) } }

/// A small deterministic generator (SplitMix64) for fuzz loops that must be reproducible.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
