import ClusterModel
import NIOCore
import NIOPosix
import RESP

/// A one-shot RESP client for the control plane and tools (`keyway up` forming a cluster, tests): opens a
/// connection, sends commands in one pipeline, returns their replies, closes.
package enum SimpleClient {
    package struct Failure: Error, CustomStringConvertible {
        package var description: String
    }

    /// Sends `commands` to `endpoint` in one pipeline and returns the replies in order.
    package static func send(
        _ commands: [[String]], to endpoint: Endpoint, on eventLoop: any EventLoop,
        timeout: TimeAmount = .seconds(5)
    ) async throws -> [RESPToken] {
        let promise = eventLoop.makePromise(of: [RESPToken].self)
        eventLoop.execute {
            let connection = BackendConnection(
                endpoint: endpoint, eventLoop: eventLoop, resp3: false, readonly: false, timeout: .zero, flusher: nil)
            connection.connect(connectTimeout: min(timeout, .seconds(2)))
            let bound = NIOLoopBound(connection, eventLoop: eventLoop)
            let timer = eventLoop.scheduleTask(in: timeout) {
                bound.value.close(reason: "timed out")
            }
            var replies: [RESPToken?] = Array(repeating: nil, count: commands.count)
            var received = 0
            let sink = CallbackSink { reply, tag in
                replies[tag] = reply
                received += 1
                guard received == commands.count else { return }
                timer.cancel()
                bound.value.close(reason: "done")
                promise.succeed(replies.compactMap { $0 })
            }
            for (tag, command) in commands.enumerated() {
                var buffer = ByteBuffer()
                buffer.writeRESPCommand(command)
                connection.send(
                    buffer,
                    InFlight(sink: sink, tag: tag, request: buffer, slot: -1, attempts: 0, kind: .raw, lane: .shared, resp3: false))
            }
            connection.flush()
        }
        let replies = try await promise.futureResult.get()
        if replies.count == 1, let text = replies[0].errorText, text.hasPrefix("ERR backend") {
            throw Failure(description: text)
        }
        return replies
    }

    /// Sends one command and returns its reply.
    package static func command(_ command: [String], to endpoint: Endpoint, on eventLoop: any EventLoop) async throws
        -> RESPToken
    {
        try await send([command], to: endpoint, on: eventLoop)[0]
    }
}

extension RESPToken {
    /// A bulk or simple string reply as text.
    package var stringValue: String? {
        switch value {
        case .bulkString(let bytes), .simpleString(let bytes): return String(buffer: bytes)
        case .verbatimString(_, let text): return String(buffer: text)
        default: return nil
        }
    }
}
