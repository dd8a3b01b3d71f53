import NIOCore

/// A client of a node in this process, with no connection: what Redis calls a fake client (the one that loads the
/// AOF or runs scripts). Requests take the same path as a connection's (node lock, dispatcher, command table, arity,
/// statistics, handler, effects), so the micro benchmarks measure the real command path without sockets.
///
/// Blocking commands answer at once, as inside MULTI. Not thread-safe: use one client from one thread at a time.
package final class InProcessClient {
    private let node: NodeState
    private let session: ClientSession
    private let dispatcher: Dispatcher
    private var reply = ReplyWriter(buffer: ByteBuffer(), resp3: false)

    /// A new standalone node with `configuration` (cluster mode is ignored) and one client of it.
    ///
    /// `eventLoop` is where the client's timers would run; nothing is scheduled on it, since commands never block.
    package init(configuration: NodeConfiguration = NodeConfiguration(), eventLoop: any EventLoop) {
        var configuration = configuration
        configuration.clusterEnabled = false
        let node = NodeState(configuration: configuration)
        let id = node.makeClientID()
        let session = ClientSession(
            id: id, address: "127.0.0.1:0", localAddress: "127.0.0.1:0", eventLoop: eventLoop,
            deliver: { _ in }, kill: {})
        node.lock.withLock {
            node.clients[id] = session
            node.stats.totalConnections += 1
        }
        self.node = node
        self.session = session
        self.dispatcher = Dispatcher(node: node)
    }

    deinit {
        node.lock.withLock { node.disconnect(session) }
    }

    /// Runs one request (`argv[0]` is the command name) and appends its RESP reply to `output`.
    package func execute(_ argv: [ByteBuffer], appendingReplyTo output: inout ByteBuffer) {
        swap(&reply.buffer, &output)
        reply.resp3 = session.resp3
        node.lock.withLock {
            _ = dispatcher.executeLocked(argv, session: session, reply: &reply)
        }
        swap(&reply.buffer, &output)
    }

    /// Runs a pipeline of requests under one acquisition of the node lock, as a connection does for the requests of
    /// one read, and appends their replies to `output` in order.
    package func execute(pipeline: [[ByteBuffer]], appendingRepliesTo output: inout ByteBuffer) {
        swap(&reply.buffer, &output)
        node.lock.withLock {
            for argv in pipeline {
                reply.resp3 = session.resp3
                _ = dispatcher.executeLocked(argv, session: session, reply: &reply)
            }
        }
        swap(&reply.buffer, &output)
    }
}
