import NIOCore

/// Defers the replies' flushes of one event loop's clients to the end of the loop's current tick, after every
/// readable client has been read and run, as Redis writes its replies just before it waits for events again.
///
/// Flushing each client as soon as its read is handled wakes its peer once per client; deferring them lets a
/// peer with many connections (redis-benchmark, a proxy) find many replies per wake-up, which measured at about
/// half the kernel time of the writes. Used only on its event loop.
final class FlushCoalescer: @unchecked Sendable {
    private let eventLoop: any EventLoop
    private var pending: [ClientHandler] = []
    private var spare: [ClientHandler] = []

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    /// Flushes `handler` at the end of this tick (once, however often it is enqueued meanwhile).
    func enqueue(_ handler: ClientHandler) {
        pending.append(handler)
        if pending.count == 1 {
            eventLoop.execute { self.flushAll() }
        }
    }

    private func flushAll() {
        swap(&pending, &spare)
        for handler in spare { handler.flushDeferred() }
        spare.removeAll(keepingCapacity: true)
    }

    /// One coalescer per event loop of `group`, by the loop's identity.
    static func perLoop(of group: any EventLoopGroup) -> [ObjectIdentifier: FlushCoalescer] {
        var coalescers: [ObjectIdentifier: FlushCoalescer] = [:]
        for loop in group.makeIterator() { coalescers[ObjectIdentifier(loop)] = FlushCoalescer(eventLoop: loop) }
        return coalescers
    }
}
