import ClusterModel
import NIOCore

/// Who is subscribed to what: channels, patterns and shard channels, each to the sessions listening.
///
/// Accessed under `NodeState.lock`. Each session also keeps its own sets (`channels`, `patterns`,
/// `shardChannels`), from which the subscription counts of the (un)subscribe replies come.
struct PubSubRegistry {
    var channels: [ByteBuffer: [Int64: ClientSession]] = [:]
    var patterns: [ByteBuffer: [Int64: ClientSession]] = [:]
    var shardChannels: [ByteBuffer: [Int64: ClientSession]] = [:]
    /// Each client's patterns in subscription order: PUNSUBSCRIBE without arguments answers in that order, as
    /// Redis (which keeps a client's patterns in a list).
    var patternOrder: [Int64: [ByteBuffer]] = [:]
    /// Blocked clients (BLPOP...): parked here until NodeState has a field of its own (`NodeState.blocking`).
    let blocking = BlockingRegistry()

    /// Forgets every subscription of `session`.
    mutating func removeAll(for session: ClientSession) {
        for channel in session.channels { Self.remove(session, channel, from: &channels) }
        for pattern in session.patterns { Self.remove(session, pattern, from: &patterns) }
        for channel in session.shardChannels { Self.remove(session, channel, from: &shardChannels) }
        session.channels.removeAll()
        session.patterns.removeAll()
        session.shardChannels.removeAll()
        patternOrder.removeValue(forKey: session.id)
    }

    static func remove(_ session: ClientSession, _ name: ByteBuffer, from table: inout [ByteBuffer: [Int64: ClientSession]]) {
        table[name]?.removeValue(forKey: session.id)
        if table[name]?.isEmpty == true { table.removeValue(forKey: name) }
    }

    /// The kinds of subscription, with the names their replies and messages use.
    enum Kind {
        case channel
        case pattern
        case shardChannel

        var subscribeName: StaticString {
            switch self {
            case .channel: return "subscribe"
            case .pattern: return "psubscribe"
            case .shardChannel: return "ssubscribe"
            }
        }

        var unsubscribeName: StaticString {
            switch self {
            case .channel: return "unsubscribe"
            case .pattern: return "punsubscribe"
            case .shardChannel: return "sunsubscribe"
            }
        }
    }

    /// The count (un)subscribe replies carry: channels + patterns, or shard channels alone (Redis 7.0).
    static func subscriptionCount(_ session: ClientSession, _ kind: Kind) -> Int {
        kind == .shardChannel ? session.shardChannels.count : session.channels.count + session.patterns.count
    }

    /// Subscribes `session`; false when it already was.
    mutating func subscribe(_ session: ClientSession, to name: ByteBuffer, _ kind: Kind) -> Bool {
        switch kind {
        case .channel:
            guard !session.channels.contains(name) else { return false }
            let owned = name.compacted()
            session.channels.insert(owned)
            channels[owned, default: [:]][session.id] = session
        case .pattern:
            guard !session.patterns.contains(name) else { return false }
            let owned = name.compacted()
            session.patterns.insert(owned)
            patterns[owned, default: [:]][session.id] = session
            patternOrder[session.id, default: []].append(owned)
        case .shardChannel:
            guard !session.shardChannels.contains(name) else { return false }
            let owned = name.compacted()
            session.shardChannels.insert(owned)
            shardChannels[owned, default: [:]][session.id] = session
        }
        return true
    }

    /// Unsubscribes `session`; false when it was not subscribed.
    @discardableResult
    mutating func unsubscribe(_ session: ClientSession, from name: ByteBuffer, _ kind: Kind) -> Bool {
        switch kind {
        case .channel:
            guard session.channels.remove(name) != nil else { return false }
            Self.remove(session, name, from: &channels)
        case .pattern:
            guard session.patterns.remove(name) != nil else { return false }
            Self.remove(session, name, from: &patterns)
            if var order = patternOrder[session.id], let index = order.firstIndex(of: name) {
                order.remove(at: index)
                patternOrder[session.id] = order.isEmpty ? nil : order
            }
        case .shardChannel:
            guard session.shardChannels.remove(name) != nil else { return false }
            Self.remove(session, name, from: &shardChannels)
        }
        return true
    }

    /// The names `session` is subscribed to, in the order an unsubscribe-all answers.
    func subscriptions(of session: ClientSession, _ kind: Kind) -> [ByteBuffer] {
        switch kind {
        case .channel: return Array(session.channels)
        case .pattern: return patternOrder[session.id] ?? Array(session.patterns)
        case .shardChannel: return Array(session.shardChannels)
        }
    }
}

/// The frames of pub/sub: messages and (un)subscribe confirmations, as arrays in RESP2 and pushes in RESP3.
enum PubSubFrame {
    /// `[subscribe|psubscribe|ssubscribe, name, count]`, or the unsubscribe forms (a null name when there was
    /// nothing to unsubscribe from).
    static func confirmation(
        _ reply: inout ReplyWriter, _ kind: StaticString, _ name: ByteBuffer?, count: Int
    ) {
        reply.push(3)
        reply.buffer.writeRESPBulkString(bytes: UnsafeRawBufferPointer(start: kind.utf8Start, count: kind.utf8CodeUnitCount))
        if let name { reply.bulk(name) } else { reply.null() }
        reply.integer(count)
    }

    /// `[message|smessage, channel, payload]`.
    static func message(resp3: Bool, shard: Bool, channel: ByteBuffer, payload: ByteBuffer) -> ByteBuffer {
        var writer = ReplyWriter(
            buffer: ByteBuffer(), resp3: resp3)
        writer.buffer.reserveCapacity(32 + channel.readableBytes + payload.readableBytes)
        writer.push(3)
        writer.bulk(shard ? smessageName : messageName)
        writer.bulk(channel)
        writer.bulk(payload)
        return writer.buffer
    }

    /// `[pmessage, pattern, channel, payload]`.
    static func patternMessage(resp3: Bool, pattern: ByteBuffer, channel: ByteBuffer, payload: ByteBuffer) -> ByteBuffer {
        var writer = ReplyWriter(buffer: ByteBuffer(), resp3: resp3)
        writer.buffer.reserveCapacity(40 + pattern.readableBytes + channel.readableBytes + payload.readableBytes)
        writer.push(4)
        writer.bulk(pmessageName)
        writer.bulk(pattern)
        writer.bulk(channel)
        writer.bulk(payload)
        return writer.buffer
    }

    private static let messageName = ByteBuffer(string: "message")
    private static let smessageName = ByteBuffer(string: "smessage")
    private static let pmessageName = ByteBuffer(string: "pmessage")
}

extension NodeState {
    /// Delivers `payload` to the subscribers of `channel` (and, unless `shard`, of the patterns matching it), in
    /// each subscriber's protocol; the publishing client's own copy goes into `ownReply`, ahead of the reply, as
    /// Redis writes it. Returns the number of receivers (PUBLISH's reply). Called under the lock.
    ///
    /// The cluster bus calls this (with `publisher` nil) for messages published on other nodes.
    func publish(
        channel: ByteBuffer, payload: ByteBuffer, shard: Bool, publisher: ClientSession? = nil,
        ownReply: inout ReplyWriter
    ) -> Int {
        var receivers = 0
        if let subscribers = shard ? pubsub.shardChannels[channel] : pubsub.channels[channel] {
            var frames = LazyFrames()
            for session in subscribers.values {
                let frame = frames.frame(resp3: session.resp3) { resp3 in
                    PubSubFrame.message(resp3: resp3, shard: shard, channel: channel, payload: payload)
                }
                send(frame, to: session, publisher: publisher, ownReply: &ownReply)
                receivers += 1
            }
        }
        if shard { return receivers }
        for (pattern, subscribers) in pubsub.patterns where RedisGlob.matches(pattern: pattern, channel) {
            var frames = LazyFrames()
            for session in subscribers.values {
                let frame = frames.frame(resp3: session.resp3) { resp3 in
                    PubSubFrame.patternMessage(resp3: resp3, pattern: pattern, channel: channel, payload: payload)
                }
                send(frame, to: session, publisher: publisher, ownReply: &ownReply)
                receivers += 1
            }
        }
        return receivers
    }

    /// Delivers a message published outside a client command (keyspace notifications, the cluster bus) to every
    /// subscriber through its push queue. Returns the number of receivers. Called under the lock.
    @discardableResult
    func publish(channel: ByteBuffer, payload: ByteBuffer, shard: Bool = false) -> Int {
        var unused = ReplyWriter(buffer: ByteBuffer(), resp3: false)
        return publish(channel: channel, payload: payload, shard: shard, publisher: nil, ownReply: &unused)
    }

    private func send(_ frame: ByteBuffer, to session: ClientSession, publisher: ClientSession?, ownReply: inout ReplyWriter) {
        if session === publisher {
            ownReply.buffer.writeImmutableBuffer(frame)
        } else {
            session.deliver(frame)
        }
    }

    /// Unsubscribes every client from the shard channels of `slot`, with a `sunsubscribe` push to each, as Redis
    /// does when the node loses the slot (`removeChannelsInSlot`). For the cluster code. Called under the lock.
    func unsubscribeShardChannels(inSlot slot: Int) {
        let names = pubsub.shardChannels.keys.filter { Int(HashSlot(key: $0).rawValue) == slot }
        for name in names {
            guard let subscribers = pubsub.shardChannels[name] else { continue }
            for session in subscribers.values {
                pubsub.unsubscribe(session, from: name, .shardChannel)
                var writer = ReplyWriter(buffer: ByteBuffer(), resp3: session.resp3)
                PubSubFrame.confirmation(
                    &writer, PubSubRegistry.Kind.shardChannel.unsubscribeName, name,
                    count: PubSubRegistry.subscriptionCount(session, .shardChannel))
                session.deliver(writer.buffer)
            }
        }
    }
}

/// A message frame built once per protocol, on first use.
private struct LazyFrames {
    var resp2: ByteBuffer?
    var resp3: ByteBuffer?

    mutating func frame(resp3 isRESP3: Bool, make: (Bool) -> ByteBuffer) -> ByteBuffer {
        if isRESP3 {
            if let resp3 { return resp3 }
            let made = make(true)
            resp3 = made
            return made
        }
        if let resp2 { return resp2 }
        let made = make(false)
        resp2 = made
        return made
    }
}
