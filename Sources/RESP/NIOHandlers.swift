import NIOCore

/// A `ByteToMessageDecoder` that turns a server's inbound bytes into `RESPRequest`s.
public struct RESPRequestFrameDecoder: NIOSingleStepByteToMessageDecoder {
    public typealias InboundOut = RESPRequest
    private var decoder: RESPRequestDecoder

    public init(limits: RESPLimits = .default) {
        self.decoder = RESPRequestDecoder(limits: limits)
    }

    public mutating func decode(buffer: inout ByteBuffer) throws -> RESPRequest? {
        try decoder.decode(&buffer)
    }

    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> RESPRequest? {
        try decoder.decode(&buffer)
    }
}

/// A `ByteToMessageDecoder` that turns a client's inbound bytes into validated `RESPToken`s.
public struct RESPTokenFrameDecoder: NIOSingleStepByteToMessageDecoder {
    public typealias InboundOut = RESPToken
    private var decoder: RESPDecoder

    public init(limits: RESPLimits = .default) {
        self.decoder = RESPDecoder(limits: limits)
    }

    public mutating func decode(buffer: inout ByteBuffer) throws -> RESPToken? {
        try decoder.decode(&buffer)
    }

    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> RESPToken? {
        try decoder.decode(&buffer)
    }
}
