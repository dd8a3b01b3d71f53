import NIOCore
import NIOHTTP1
import NIOHTTP2

/// Why an `Upgrade: h2c` request is served over HTTP/1.1 instead (the upgrade handler passes it on as an error).
struct H2CUpgradeRefused: Error {
    var reason: String
}

/// HTTP/1.1 `Upgrade: h2c` (RFC 7540 §3.2) for `NIOHTTPServerUpgradeHandler`: answers 101, switches the
/// connection to HTTP/2, and serves the upgrading request as stream 1.
///
/// swift-nio-http2 has no h2c upgrader; its `NIOHTTP2Handler` expects every stream to open with a HEADERS
/// frame, so `H2CRequestInjector` writes the upgrading request as one after the client's preface.
struct H2CUpgrader: HTTPServerProtocolUpgrader {
    let supportedProtocol = "h2c"
    let requiredUpgradeHeaders = ["HTTP2-Settings"]
    /// Adds the HTTP/2 handlers to the channel's pipeline.
    let configureHTTP2: (Channel) throws -> Void

    func buildUpgradeResponse(
        channel: Channel, upgradeRequest: HTTPRequestHead, initialResponseHeaders: HTTPHeaders
    ) -> EventLoopFuture<HTTPHeaders> {
        // A request body would have to be read over HTTP/1.1 before switching; such requests stay on HTTP/1.1.
        let length = upgradeRequest.headers.first(name: "content-length").flatMap { Int($0) } ?? 0
        if length > 0 || upgradeRequest.headers.contains(name: "transfer-encoding") {
            return channel.eventLoop.makeFailedFuture(H2CUpgradeRefused(reason: "request has a body"))
        }
        if H2CRequestInjector.headerBlock(for: upgradeRequest).count > H2CRequestInjector.maxFramePayload {
            return channel.eventLoop.makeFailedFuture(H2CUpgradeRefused(reason: "request header too large"))
        }
        return channel.eventLoop.makeSucceededFuture(initialResponseHeaders)
    }

    func upgrade(context: ChannelHandlerContext, upgradeRequest: HTTPRequestHead) -> EventLoopFuture<Void> {
        context.eventLoop.makeCompletedFuture {
            try context.pipeline.syncOperations.addHandler(H2CRequestInjector(request: upgradeRequest))
            try configureHTTP2(context.channel)
        }
    }
}

/// Sits before `NIOHTTP2Handler` on an upgraded connection: passes the client's preface and first SETTINGS
/// frame through, then a HEADERS frame (END_STREAM) for stream 1 carrying the upgrading request, then the rest.
///
/// The header block uses only literals without indexing, so it leaves the HPACK dynamic table as the client
/// expects it.
final class H2CRequestInjector: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    /// HTTP/2's default SETTINGS_MAX_FRAME_SIZE, which holds until the server's SETTINGS are acknowledged.
    static let maxFramePayload = 16384
    static let preface: [UInt8] = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)
    /// Request header fields that are HTTP/1.1 connection-specific and not allowed in HTTP/2.
    static let connectionSpecific: Set<String> = [
        "connection", "upgrade", "http2-settings", "host", "keep-alive", "proxy-connection", "transfer-encoding",
        "te",
    ]

    private let request: HTTPRequestHead
    private var buffered: ByteBuffer?
    private var injected = false

    init(request: HTTPRequestHead) {
        self.request = request
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        guard !injected else {
            context.fireChannelRead(data)
            return
        }
        if var pending = buffered {
            pending.writeBuffer(&bytes)
            bytes = pending
        }
        let prefaceAndSettings = Self.preface.count + 9
        guard bytes.readableBytes >= prefaceAndSettings,
            let length = bytes.getInteger(at: bytes.readerIndex + Self.preface.count, as: UInt32.self)
        else {
            buffered = bytes
            return
        }
        let frameLength = Int(length >> 8)
        guard bytes.readableBytes >= prefaceAndSettings + frameLength else {
            buffered = bytes
            return
        }
        injected = true
        buffered = nil
        // If the client did not open with the preface, NIOHTTP2Handler reports the protocol error.
        if let head = bytes.readSlice(length: prefaceAndSettings + frameLength) {
            context.fireChannelRead(wrapInboundOut(head))
        }
        context.fireChannelRead(wrapInboundOut(Self.headersFrame(for: request, allocator: context.channel.allocator)))
        if bytes.readableBytes > 0 {
            context.fireChannelRead(wrapInboundOut(bytes))
        }
    }

    /// A HEADERS frame on stream 1 with END_STREAM and END_HEADERS.
    static func headersFrame(for request: HTTPRequestHead, allocator: ByteBufferAllocator) -> ByteBuffer {
        let block = headerBlock(for: request)
        var frame = allocator.buffer(capacity: 9 + block.count)
        frame.writeInteger(UInt8(truncatingIfNeeded: block.count >> 16))
        frame.writeInteger(UInt16(truncatingIfNeeded: block.count))
        frame.writeInteger(UInt8(0x1))  // HEADERS
        frame.writeInteger(UInt8(0x1 | 0x4))  // END_STREAM | END_HEADERS
        frame.writeInteger(UInt32(1))  // stream 1
        frame.writeBytes(block)
        return frame
    }

    /// The HPACK header block for `request`: pseudo-header fields, then the end-to-end header fields.
    static func headerBlock(for request: HTTPRequestHead) -> [UInt8] {
        var fields: [(String, String)] = [(":method", request.method.rawValue), (":scheme", "http")]
        fields.append((":path", request.uri))
        if let host = request.headers.first(name: "host") {
            fields.append((":authority", host))
        }
        for field in request.headers where !connectionSpecific.contains(field.name.lowercased()) {
            fields.append((field.name.lowercased(), field.value))
        }
        var block: [UInt8] = []
        for (name, value) in fields {
            block.append(0x00)  // literal header field without indexing, new name
            appendString(name, to: &block)
            appendString(value, to: &block)
        }
        return block
    }

    /// An HPACK string literal (no Huffman coding): length as a 7-bit-prefix integer, then the bytes.
    static func appendString(_ string: String, to block: inout [UInt8]) {
        var length = string.utf8.count
        if length < 127 {
            block.append(UInt8(length))
        } else {
            block.append(127)
            length -= 127
            while length >= 128 {
                block.append(UInt8(length % 128 + 128))
                length /= 128
            }
            block.append(UInt8(length))
        }
        block.append(contentsOf: string.utf8)
    }
}
