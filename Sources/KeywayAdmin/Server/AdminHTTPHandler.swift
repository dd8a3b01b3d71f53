import NIOCore
import NIOHTTP1

/// Serves admin requests given as HTTP/1 parts: on an HTTP/1.1 connection, and on each HTTP/2 stream behind
/// `HTTP2FramePayloadToHTTP1ServerCodec`, so both protocols share one handler and one `AdminRouter`.
final class AdminHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private enum State {
        case idle
        case receiving(HTTPRequestHead, [UInt8])
        /// The body went over the limit: the rest of the request is dropped and answered with 413.
        case discarding(HTTPRequestHead)
        case responding
    }

    private let router: AdminRouter
    private var state = State.idle

    init(router: AdminRouter) {
        self.router = router
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch (unwrapInboundIn(data), state) {
        case (.head(let head), .idle):
            state = .receiving(head, [])
        case (.body(let chunk), .receiving(let head, var body)):
            if body.count + chunk.readableBytes > AdminRouter.maxBodyBytes {
                state = .discarding(head)
            } else {
                body.append(contentsOf: chunk.readableBytesView)
                state = .receiving(head, body)
            }
        case (.end, .receiving(let head, let body)):
            state = .responding
            let request = AdminRequest(
                method: head.method.rawValue,
                target: head.uri,
                headers: head.headers.map { ($0.name, $0.value) },
                body: body
            )
            let router = self.router
            context.eventLoop.makeFutureWithTask { await router.respond(to: request) }
                .assumeIsolated()
                .whenSuccess { response in
                    self.write(response, for: head, context: context)
                }
        case (.end, .discarding(let head)):
            state = .responding
            let response = AdminRouter.error(
                AdminError(status: 413, message: "request body over \(AdminRouter.maxBodyBytes) bytes")
            )
            write(response, for: head, context: context, forceClose: true)
        case (.body, .discarding):
            break
        default:
            // Parts out of order cannot come from NIO's decoders; drop the connection rather than guess.
            context.close(promise: nil)
        }
    }

    private func write(
        _ response: AdminResponse, for request: HTTPRequestHead, context: ChannelHandlerContext,
        forceClose: Bool = false
    ) {
        let keepAlive = request.isKeepAlive && !forceClose
        var headers = HTTPHeaders(response.headers)
        if !headers.contains(name: "content-length") {
            headers.add(name: "content-length", value: String(response.body.count))
        }
        if request.version.major < 2 {
            headers.replaceOrAdd(name: "connection", value: keepAlive ? "keep-alive" : "close")
        }
        let head = HTTPResponseHead(
            version: request.version,
            status: HTTPResponseStatus(statusCode: response.status),
            headers: headers
        )
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if !response.body.isEmpty {
            let body = context.channel.allocator.buffer(bytes: response.body)
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        }
        let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        state = .idle
        if !keepAlive && request.version.major < 2 {
            written.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A refused h2c upgrade only means the request is served over HTTP/1.1.
        if error is H2CUpgradeRefused { return }
        context.close(promise: nil)
    }
}
