import ClusterModel
import NIOCore
import RESP

/// A client's pub/sub connections and what they report.
struct PubSubState {
    /// SUBSCRIBE/PSUBSCRIBE connection (any primary: Redis Cluster delivers PUBLISH everywhere).
    var main: BackendConnection?
    /// SSUBSCRIBE connections, by the backend owning the channels' slot.
    var shards: [Endpoint: BackendConnection] = [:]
    /// Subscription counts the backends last reported, by connection.
    var counts: [ObjectIdentifier: Int] = [:]
    /// A RESP2 client is in subscribed mode from its first SUBSCRIBE until its counts fall back to zero.
    var subscribedMode = false
    /// Frames from the pub/sub connections wait until every reply owed before `barrier` is written.
    var barrier = -1
    var pendingPushes: [ByteBuffer] = []
    /// Shard channels the client subscribed to with SSUBSCRIBE and has not left.
    var shardChannels: Set<ByteBuffer> = []
    /// Shard channels the proxy is subscribing again after their slot moved (their confirmations are not the
    /// client's business).
    var resubscribing: Set<ByteBuffer> = []

    var isEmpty: Bool { main == nil && shards.isEmpty }

    var channelCount: Int { counts.values.reduce(0, +) }

    /// True when every command of a RESP2 client goes to its pub/sub connection (Redis then allows only
    /// (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, PING, QUIT and RESET, and says so itself).
    func streamsEverything(resp3: Bool) -> Bool {
        subscribedMode && !resp3
    }

    func owns(_ connection: BackendConnection) -> Bool {
        main === connection || shards.values.contains { $0 === connection }
    }

    /// Follows the subscription count in (un)subscribe confirmations from `connection`.
    mutating func track(_ frame: RESPToken, from connection: BackendConnection) {
        guard let parts = frame.elements, parts.count == 3, case .integer(let count) = parts[2].value else { return }
        let kind: ByteBuffer
        switch parts[0].value {
        case .bulkString(let bytes), .simpleString(let bytes): kind = bytes
        default: return
        }
        guard String(buffer: kind).lowercased().hasSuffix("subscribe") else { return }
        counts[ObjectIdentifier(connection)] = Int(count)
        if counts.values.allSatisfy({ $0 == 0 }) { subscribedMode = false }
    }

    /// Forgets every pub/sub connection and returns them, for the caller to close once this state is no longer
    /// being modified (closing one fails its in-flight commands back into the client).
    mutating func takeAll() -> [BackendConnection] {
        let connections = (main.map { [$0] } ?? []) + Array(shards.values)
        main = nil
        shards = [:]
        counts = [:]
        subscribedMode = false
        pendingPushes = []
        shardChannels = []
        resubscribing = []
        return connections
    }
}

extension ProxyClientHandler {
    /// SUBSCRIBE, PSUBSCRIBE, UNSUBSCRIBE, PUNSUBSCRIBE, SSUBSCRIBE, SUNSUBSCRIBE.
    func pubSubCommand(_ spec: CommandSpec, argv: [ByteBuffer], frame: ByteBuffer, seq: Int) {
        let connection: BackendConnection
        if spec.name == "ssubscribe" || spec.name == "sunsubscribe" {
            let endpoint: Endpoint
            switch slot(of: spec, argv: argv) {
            case .crossSlot:
                deliver(ProxyErrors.crossSlot.base, seq: seq)
                return
            case .none:
                // SUNSUBSCRIBE with no channels: every shard connection.
                pubsub.shardChannels = []
                pubsub.resubscribing = []
                if pubsub.shards.isEmpty {
                    // Nothing to leave: answered as Redis does.
                    deliver(
                        ByteBuffer(string: resp3 ? ">3\r\n$12\r\nsunsubscribe\r\n_\r\n:0\r\n" : "*3\r\n$12\r\nsunsubscribe\r\n$-1\r\n:0\r\n"),
                        seq: seq)
                    return
                }
                pubsub.barrier = seq
                for shard in pubsub.shards.values { sendOnStream(frame, shard) }
                pubsub.subscribedMode = true
                deliver(Self.empty, seq: seq)
                return
            case .slot(let slot):
                guard let owner = router.slotMap.owner(of: slot) else {
                    deliver(ProxyErrors.clusterDown.base, seq: seq)
                    return
                }
                endpoint = owner
                for channel in argv.dropFirst() {
                    if spec.name == "ssubscribe" {
                        pubsub.shardChannels.insert(channel)
                    } else {
                        pubsub.shardChannels.remove(channel)
                        pubsub.resubscribing.remove(channel)
                    }
                }
            }
            connection = shardConnection(to: endpoint)
        } else {
            if let main = pubsub.main, !main.isClosed {
                connection = main
            } else {
                guard !router.primaryIndexes.isEmpty else {
                    deliver(ProxyErrors.clusterDown.base, seq: seq)
                    return
                }
                let index = router.primaryIndexes[id % router.primaryIndexes.count]
                connection = router.exclusiveConnection(to: router.slotMap.endpoints[index], resp3: resp3)
                connection.pushSink = PubSubStream(client: self, connection: connection)
                pubsub.main = connection
            }
        }
        if spec.name.hasSuffix("subscribe") && !spec.name.hasSuffix("unsubscribe") {
            pubsub.subscribedMode = true
        } else if pubsub.channelCount == 0 && !pubsub.subscribedMode {
            pubsub.subscribedMode = true  // the confirmation (count 0) switches it back off
        }
        pubsub.barrier = seq
        sendOnStream(frame, connection)
        deliver(Self.empty, seq: seq)
    }

    /// A RESP2 client in subscribed mode: the command goes to its pub/sub connection and the answer comes back in
    /// the stream (Redis itself refuses what subscribed clients may not run).
    func forwardToPubSubStream(_ request: RESPRequest) {
        let frame = request.frame ?? Self.encode(request.arguments)
        if let first = request.arguments.first {
            let name = String(buffer: first).lowercased()
            if name == "quit" || name == "reset" {
                closePubSub()
                let seq = nextSeqForStream()
                if name == "quit" {
                    closeAfterReplies()
                    replyOK(seq)
                } else {
                    resetSession()
                    deliver(ByteBuffer(string: "+RESET\r\n"), seq: seq)
                }
                return
            }
            // Redis checks existence, arity and the subscribed context before anything else (and a cluster node
            // would answer MOVED for a key before the context check): answer those here.
            let spec: CommandSpec
            do {
                spec = try router.table.resolve(request.arguments)
            } catch {
                streamError(error.message)
                return
            }
            if !Self.allowedWhileSubscribed.contains(spec.name) {
                streamError(
                    "ERR Can't execute '\(spec.name)': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
                )
                return
            }
            if name == "ssubscribe" || name == "sunsubscribe" {
                pubSubCommand(spec, argv: request.arguments, frame: frame, seq: nextSeqForStream())
                return
            }
        }
        guard let connection = pubsub.main ?? pubsub.shards.values.first else { return }
        sendOnStream(frame, connection)
    }

    // MARK: Shard channels that move

    /// Handles what a shard connection says about a channel the proxy manages: a `sunsubscribe` the client did not
    /// ask for (the channel's slot moved away from that node) starts a new subscription where the slot is now; the
    /// confirmation of that new subscription, or a redirect while it is made, is kept from the client. Returns
    /// true when the frame must not reach the client.
    func interceptShardFrame(_ frame: RESPToken) -> Bool {
        if let text = frame.errorText, !pubsub.resubscribing.isEmpty,
            text.hasPrefix("MOVED ") || text.hasPrefix("ASK ") || text.hasPrefix("TRYAGAIN") || text.hasPrefix("CLUSTERDOWN")
        {
            if let redirect = Redirect(errorMessage: text), redirect.kind == .moved {
                router.noteMoved(redirect, from: redirect.endpoint)
            }
            scheduleResubscribe(Array(pubsub.resubscribing))
            return true
        }
        guard let parts = frame.elements, parts.count == 3, let kind = parts[0].stringValue?.lowercased(),
            case .bulkString(let channel) = parts[1].value
        else { return false }
        if kind == "sunsubscribe" && pubsub.shardChannels.contains(channel) {
            pubsub.resubscribing.insert(channel)
            router.topology.requestRefresh()
            scheduleResubscribe([channel])
            return true
        }
        if kind == "ssubscribe" && pubsub.resubscribing.contains(channel) {
            pubsub.resubscribing.remove(channel)
            return true
        }
        return false
    }

    /// Subscribes `channels` again on the current owner of their slot, after the topology had time to catch up.
    private func scheduleResubscribe(_ channels: [ByteBuffer], delay: TimeAmount = .milliseconds(100)) {
        router.eventLoop.assumeIsolated().scheduleTask(in: delay) { [self] in
            for channel in channels where pubsub.resubscribing.contains(channel) {
                guard let owner = router.slotMap.owner(of: Int(HashSlot(key: channel).rawValue)) else {
                    scheduleResubscribe([channel], delay: .milliseconds(500))
                    continue
                }
                let connection = shardConnection(to: owner)
                var frame = ByteBuffer()
                frame.writeRESPHeader(.array, 2)
                frame.writeRESPBulkString("SSUBSCRIBE")
                frame.writeRESPBulkString(channel)
                sendOnStream(frame, connection)
            }
        }
    }

    /// The client's SSUBSCRIBE connection to `endpoint`, opened on first use.
    private func shardConnection(to endpoint: Endpoint) -> BackendConnection {
        if let existing = pubsub.shards[endpoint], !existing.isClosed { return existing }
        let connection = router.exclusiveConnection(to: endpoint, resp3: resp3)
        connection.pushSink = PubSubStream(client: self, connection: connection)
        pubsub.shards[endpoint] = connection
        return connection
    }

    /// Closes every pub/sub connection of this client.
    func closePubSub() {
        for connection in pubsub.takeAll() { connection.close(reason: "unsubscribed") }
    }

    static let allowedWhileSubscribed: Set<String> = [
        "subscribe", "psubscribe", "ssubscribe", "unsubscribe", "punsubscribe", "sunsubscribe", "ping", "quit", "reset",
    ]

    /// An error for a command refused while subscribed, written in the stream.
    private func streamError(_ message: String) {
        var buffer = ByteBuffer()
        buffer.writeRESPError(message)
        deliver(buffer, seq: nextSeqForStream())
    }

    private func sendOnStream(_ frame: ByteBuffer, _ connection: BackendConnection) {
        guard let stream = connection.pushSink as? PubSubStream else { return }
        connection.send(frame, InFlight(sink: stream, tag: -1, request: frame, slot: -1, attempts: 0, kind: .raw, lane: .shared, resp3: resp3))
    }
}

/// Everything one pub/sub connection sends, handed to its client with the connection it came from.
final class PubSubStream: ReplySink, PushSink {
    weak var client: ProxyClientHandler?
    weak var connection: BackendConnection?

    init(client: ProxyClientHandler, connection: BackendConnection) {
        self.client = client
        self.connection = connection
    }

    func receive(_ reply: RESPToken, tag: Int) {
        receivePush(reply)
    }

    func receivePush(_ frame: RESPToken) {
        guard let connection else { return }
        client?.streamFrame(frame, from: connection)
    }

    func backendClosed(_ connection: BackendConnection, reason: String) {
        client?.pubSubConnectionClosed(connection)
    }
}
