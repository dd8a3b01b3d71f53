import NIOCore
import RESP

/// One request on a connection, waiting for its reply (replies come back in the order requests were sent).
struct InFlight {
    enum Kind: UInt8 {
        case request
        /// AUTH or HELLO sent when the connection opened.
        case setup
        /// The ASKING before a request redirected by ASK.
        case asking
        /// A CLUSTER SLOTS refresh after a MOVED.
        case refresh
    }

    /// Intended send time (the actual send time in closed loop), in uptime nanoseconds.
    var start: UInt64
    var key: Int
    var operation: Int32
    var kind: Kind
    var measured: Bool
    var redirects: UInt8
    /// When it was actually written (later than `start` when an open loop falls behind its schedule).
    var sent: UInt64 = 0
}

/// A connection of one client to one server: writes go to `pending` and are flushed once per event-loop turn;
/// replies are decoded in place (zero-copy `RESPToken`s) and handed to the loop's runner.
final class BenchConnection: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    // Strong: the runner lives until its last connection is gone; it drops its clients (and so the cycle
    // client → connection → client) when the test ends.
    let runner: LoopRunner
    let client: BenchClient
    let endpoint: BenchConfiguration.Endpoint
    var context: ChannelHandlerContext?
    var pending: ByteBuffer
    /// In the runner's list of connections to flush.
    var queued = false
    var inflight = CircularBuffer<InFlight>(initialCapacity: 16)
    var setupRemaining = 0
    private var decoder = RESPDecoder()
    private var inbound = ByteBuffer()
    private var flushedBytes = 256

    init(runner: LoopRunner, client: BenchClient, endpoint: BenchConfiguration.Endpoint) {
        self.runner = runner
        self.client = client
        self.endpoint = endpoint
        self.pending = ByteBufferAllocator().buffer(capacity: 256)
    }

    var isActive: Bool { context != nil }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { becomeActive(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        becomeActive(context)
        context.fireChannelActive()
    }

    private func becomeActive(_ context: ChannelHandlerContext) {
        guard self.context == nil else { return }
        self.context = context
        flush()
        if setupRemaining == 0 { runner.connectionReady(self) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        if inbound.readableBytes == 0 {
            inbound = buffer
        } else {
            inbound.writeBuffer(&buffer)
        }
        guard !runner.stopped else { return }
        let now = LoopRunner.now()
        do {
            while let token = try decoder.decode(&inbound) {
                runner.handle(token, on: self, now: now)
                if runner.stopped { return }
            }
        } catch {
            runner.fail(.protocolError(endpoint.description, "\(error)"))
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        runner.flushDirty()
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.context = nil
        runner.connectionClosed(self)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        runner.fail(.server(endpoint.description, "\(error)"))
        context.close(promise: nil)
    }

    /// Writes what is pending, if connected.
    func flush() {
        guard let context, pending.readableBytes > 0 else { return }
        let size = pending.readableBytes
        context.writeAndFlush(NIOAny(pending), promise: nil)
        flushedBytes = max(flushedBytes, size)
        pending = context.channel.allocator.buffer(capacity: flushedBytes)
    }

    func close() {
        context?.close(promise: nil)
    }
}
