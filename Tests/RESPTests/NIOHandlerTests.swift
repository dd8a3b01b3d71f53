import NIOCore
import NIOEmbedded
import RESP
import Testing

/// The `ByteToMessageDecoder`s on an `EmbeddedChannel`, fed the way a socket would feed them.
@Suite struct NIOHandlerTests {
    @Test func requestFrameDecoder() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(RESPRequestFrameDecoder()))
        try channel.writeInbound(buf("*2\r\n$3\r\nGET\r\n$3\r\nk"))
        #expect(try channel.readInbound(as: RESPRequest.self) == nil)
        try channel.writeInbound(buf("ey\r\nPING\r\n\r\n*0\r\nSET a \"b c\"\r\n*1\r\n$4\r\nQU"))
        let get = try #require(try channel.readInbound(as: RESPRequest.self))
        #expect(argv(get) == args("GET", "key"))
        #expect(get.frame == buf("*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n"))
        #expect(try channel.readInbound(as: RESPRequest.self).map(argv) == args("PING"))
        #expect(try channel.readInbound(as: RESPRequest.self).map(argv) == args("SET", "a", "b c"))
        #expect(try channel.readInbound(as: RESPRequest.self) == nil)
        try channel.writeInbound(buf("IT\r\n"))
        #expect(try channel.readInbound(as: RESPRequest.self).map(argv) == args("QUIT"))
        #expect(try channel.finish().isClean)
    }

    @Test func requestProtocolErrorReachesThePipeline() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(RESPRequestFrameDecoder()))
        #expect(throws: RESPProtocolError.invalidMultibulkLength) {
            try channel.writeInbound(buf("PING\r\n*x\r\nPING\r\n"))
        }
        // The request before the bad one still went through; nothing after it.
        #expect(try channel.readInbound(as: RESPRequest.self).map(argv) == args("PING"))
        #expect(try channel.readInbound(as: RESPRequest.self) == nil)
        _ = try? channel.finish()
    }

    @Test func requestLimitsAreConfigurable() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(RESPRequestFrameDecoder(limits: RESPLimits(maxInlineSize: 8))))
        #expect(throws: RESPProtocolError.tooBigInlineRequest) {
            try channel.writeInbound(buf("123456789"))
        }
        _ = try? channel.finish()
    }

    @Test func tokenFrameDecoderByteByByte() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(RESPTokenFrameDecoder()))
        let values: [RESPValue] = [
            .simpleString("OK"), .array([.bulk("a\r\nb"), .nullBulkString, .map([(.integer(1), .double(2.5))])]),
            .attribute([(.simpleString("ttl"), 5)], .bulk("v")), .push([.bulk("message"), .bulk("x")]),
        ]
        let bytes = encode(values)
        for byte in bytes.readableBytesView {
            try channel.writeInbound(buf(bytes: [byte]))
        }
        var decoded: [RESPValue] = []
        while let token = try channel.readInbound(as: RESPToken.self) { decoded.append(RESPValue(token)) }
        #expect(decoded == values)
        #expect(try channel.finish().isClean)
    }

    /// Big reads make `ByteToMessageHandler` compact its buffer between calls; tokens must not notice.
    @Test func tokenFrameDecoderAcrossCompaction() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(RESPTokenFrameDecoder()))
        let big = [UInt8](repeating: 0x78, count: 10_000)
        var bytes = ByteBuffer()
        for i in 0..<20 {
            bytes.writeRESPValue(.array([.integer(Int64(i)), .bulk(bytes: big), .simpleString("end")]))
        }
        var rng = SplitMix64(seed: 5)
        for chunk in randomChunks(bytes, maxChunk: 3000, using: &rng) {
            try channel.writeInbound(chunk)
        }
        var count = 0
        while let token = try channel.readInbound(as: RESPToken.self) {
            #expect(RESPValue(token) == .array([.integer(Int64(count)), .bulk(bytes: big), .simpleString("end")]))
            count += 1
        }
        #expect(count == 20)
        #expect(try channel.finish().isClean)
    }

    @Test func tokenProtocolErrorReachesThePipeline() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(RESPTokenFrameDecoder()))
        #expect(throws: RESPProtocolError.self) {
            try channel.writeInbound(buf("+OK\r\nHTTP/1.1 400 Bad Request\r\n"))
        }
        #expect(try channel.readInbound(as: RESPToken.self).map(RESPValue.init) == .simpleString("OK"))
        _ = try? channel.finish()
    }

    @Test func partialFrameAtEndOfStream() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(RESPTokenFrameDecoder()))
        try channel.writeInbound(buf(":1\r\n$5\r\nhel"))
        #expect(try channel.readInbound(as: RESPToken.self).map(RESPValue.init) == .integer(1))
        // The connection closes mid-frame: nothing more is produced.
        #expect(try channel.finish(acceptAlreadyClosed: false).isClean)
    }

    /// A server pipeline answering protocol errors the way Redis does, with the exact bytes.
    @Test func protocolErrorReply() throws {
        final class ErrorReplier: ChannelInboundHandler, Sendable {
            typealias InboundIn = RESPRequest
            typealias OutboundOut = ByteBuffer
            func errorCaught(context: ChannelHandlerContext, error: any Error) {
                guard let error = error as? RESPProtocolError else { return }
                var reply = context.channel.allocator.buffer(capacity: 64)
                reply.writeRESPError(error)
                context.writeAndFlush(NIOAny(reply), promise: nil)
                context.close(promise: nil)
            }
        }
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandlers([ByteToMessageHandler(RESPRequestFrameDecoder()), ErrorReplier()])
        try channel.writeInbound(buf(bytes: Array("*1\r\n".utf8) + [0xC3, 0x0D, 0x0A]))
        let reply = try #require(try channel.readOutbound(as: ByteBuffer.self))
        #expect(Array(reply.readableBytesView) == Array("-ERR Protocol error: expected '$', got '".utf8) + [0xC3, 0x27, 0x0D, 0x0A])
        #expect(!channel.isActive)
    }
}
