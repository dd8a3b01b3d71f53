import NIOCore

/// Who is subscribed to what: channels, patterns and shard channels, each to the sessions listening.
struct PubSubRegistry {
    var channels: [ByteBuffer: [Int64: ClientSession]] = [:]
    var patterns: [ByteBuffer: [Int64: ClientSession]] = [:]
    var shardChannels: [ByteBuffer: [Int64: ClientSession]] = [:]

    /// Forgets every subscription of `session`.
    mutating func removeAll(for session: ClientSession) {
        for channel in session.channels { Self.remove(session, channel, from: &channels) }
        for pattern in session.patterns { Self.remove(session, pattern, from: &patterns) }
        for channel in session.shardChannels { Self.remove(session, channel, from: &shardChannels) }
        session.channels.removeAll()
        session.patterns.removeAll()
        session.shardChannels.removeAll()
    }

    static func remove(_ session: ClientSession, _ name: ByteBuffer, from table: inout [ByteBuffer: [Int64: ClientSession]]) {
        table[name]?.removeValue(forKey: session.id)
        if table[name]?.isEmpty == true { table.removeValue(forKey: name) }
    }
}
