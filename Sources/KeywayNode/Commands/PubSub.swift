import NIOCore

/// Pub/sub commands, as Redis 7.0's pubsub.c: SUBSCRIBE UNSUBSCRIBE PSUBSCRIBE PUNSUBSCRIBE PUBLISH, the sharded
/// SSUBSCRIBE SUNSUBSCRIBE SPUBLISH, and PUBSUB CHANNELS NUMSUB NUMPAT SHARDCHANNELS SHARDNUMSUB HELP.
///
/// Messages for other clients go through `ClientSession.deliver` (written on the subscriber's event loop, in
/// publish order); a client's own messages are written into its reply, before it, as Redis does. In cluster
/// mode the dispatcher's cluster check rejects SSUBSCRIBE/SUNSUBSCRIBE/SPUBLISH channels of several slots
/// (CROSSSLOT) or of a slot served elsewhere (MOVED); propagating PUBLISH over the cluster bus is the cluster
/// code's (`NodeState.publish` delivers messages received from other nodes).
func registerPubSubCommands(_ handlers: inout CommandHandlers) {
    handlers.register("subscribe") { (inv: inout Invocation) throws(RedisError) in
        if !inv.mayBlock && !inv.node.blocking.inTransaction {
            throw RedisError("ERR SUBSCRIBE isn't allowed for a DENY BLOCKING client")
        }
        subscribe(&inv, .channel)
    }
    handlers.register("psubscribe") { (inv: inout Invocation) throws(RedisError) in
        if !inv.mayBlock && !inv.node.blocking.inTransaction {
            throw RedisError("ERR PSUBSCRIBE isn't allowed for a DENY BLOCKING client")
        }
        subscribe(&inv, .pattern)
    }
    handlers.register("ssubscribe") { (inv: inout Invocation) throws(RedisError) in
        // Unlike SUBSCRIBE, not even inside MULTI/EXEC (Redis 7.0).
        if !inv.mayBlock { throw RedisError("ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client") }
        subscribe(&inv, .shardChannel)
    }
    handlers.register("unsubscribe") { (inv: inout Invocation) throws(RedisError) in unsubscribe(&inv, .channel) }
    handlers.register("punsubscribe") { (inv: inout Invocation) throws(RedisError) in unsubscribe(&inv, .pattern) }
    handlers.register("sunsubscribe") { (inv: inout Invocation) throws(RedisError) in
        unsubscribe(&inv, .shardChannel)
    }
    handlers.register("publish") { (inv: inout Invocation) throws(RedisError) in
        let receivers = inv.node.publish(
            channel: inv.args[1], payload: inv.args[2], shard: false, publisher: inv.session, ownReply: &inv.reply)
        inv.node.cluster?.bus?.broadcastPublish(channel: inv.args[1], payload: inv.args[2])
        inv.propagateAsIs()
        inv.reply.integer(receivers)
    }
    handlers.register("spublish") { (inv: inout Invocation) throws(RedisError) in
        let receivers = inv.node.publish(
            channel: inv.args[1], payload: inv.args[2], shard: true, publisher: inv.session, ownReply: &inv.reply)
        inv.propagateAsIs()
        inv.reply.integer(receivers)
    }
    handlers.register("pubsub|channels") { (inv: inout Invocation) throws(RedisError) in
        try channelList(&inv, inv.node.pubsub.channels)
    }
    handlers.register("pubsub|shardchannels") { (inv: inout Invocation) throws(RedisError) in
        try channelList(&inv, inv.node.pubsub.shardChannels)
    }
    handlers.register("pubsub|numsub") { (inv: inout Invocation) throws(RedisError) in
        numberOfSubscribers(&inv, inv.node.pubsub.channels)
    }
    handlers.register("pubsub|shardnumsub") { (inv: inout Invocation) throws(RedisError) in
        numberOfSubscribers(&inv, inv.node.pubsub.shardChannels)
    }
    handlers.register("pubsub|numpat") { (inv: inout Invocation) throws(RedisError) in
        inv.reply.integer(inv.node.pubsub.patterns.count)
    }
    handlers.register("pubsub|help") { (inv: inout Invocation) throws(RedisError) in
        inv.reply.array(pubsubHelp.count)
        for line in pubsubHelp { inv.reply.simple(line) }
    }
}

/// SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE: one confirmation per name, with the count after it.
private func subscribe(_ inv: inout Invocation, _ kind: PubSubRegistry.Kind) {
    for index in 1..<inv.args.count {
        let name = inv.args[index]
        _ = inv.node.pubsub.subscribe(inv.session, to: name, kind)
        PubSubFrame.confirmation(
            &inv.reply, kind.subscribeName, name, count: PubSubRegistry.subscriptionCount(inv.session, kind))
    }
}

/// UNSUBSCRIBE, PUNSUBSCRIBE, SUNSUBSCRIBE: the names given, or every subscription of the kind (one confirmation
/// with a null name when there is none).
private func unsubscribe(_ inv: inout Invocation, _ kind: PubSubRegistry.Kind) {
    let names: [ByteBuffer] =
        inv.args.count > 1 ? Array(inv.args[1...]) : inv.node.pubsub.subscriptions(of: inv.session, kind)
    if names.isEmpty {
        PubSubFrame.confirmation(
            &inv.reply, kind.unsubscribeName, nil, count: PubSubRegistry.subscriptionCount(inv.session, kind))
        return
    }
    for name in names {
        inv.node.pubsub.unsubscribe(inv.session, from: name, kind)
        PubSubFrame.confirmation(
            &inv.reply, kind.unsubscribeName, name, count: PubSubRegistry.subscriptionCount(inv.session, kind))
    }
}

/// PUBSUB CHANNELS / SHARDCHANNELS [pattern].
private func channelList(_ inv: inout Invocation, _ table: [ByteBuffer: [Int64: ClientSession]]) throws(RedisError) {
    guard inv.args.count <= 3 else {
        throw RedisError(
            "ERR unknown subcommand or wrong number of arguments for '\(inv.string(1))'. Try PUBSUB HELP.")
    }
    let pattern = inv.args.count == 3 ? inv.args[2] : nil
    var matching: [ByteBuffer] = []
    for name in table.keys where pattern.map({ RedisGlob.matches(pattern: $0, name) }) ?? true {
        matching.append(name)
    }
    inv.reply.array(matching.count)
    for name in matching { inv.reply.bulk(name) }
}

/// PUBSUB NUMSUB / SHARDNUMSUB [channel...]: a flat array of channel, count (an array in RESP3 too).
private func numberOfSubscribers(_ inv: inout Invocation, _ table: [ByteBuffer: [Int64: ClientSession]]) {
    inv.reply.array((inv.args.count - 2) * 2)
    for index in 2..<inv.args.count {
        inv.reply.bulk(inv.args[index])
        inv.reply.integer(table[inv.args[index]]?.count ?? 0)
    }
}

private let pubsubHelp = [
    "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CHANNELS [<pattern>]",
    "    Return the currently active channels matching a <pattern> (default: '*').",
    "NUMPAT",
    "    Return number of subscriptions to patterns.",
    "NUMSUB [<channel> ...]",
    "    Return the number of subscribers for the specified channels, excluding",
    "    pattern subscriptions(default: no channels).",
    "SHARDCHANNELS [<pattern>]",
    "    Return the currently active shard level channels matching a <pattern> (default: '*').",
    "SHARDNUMSUB [<shardchannel> ...]",
    "    Return the number of subscribers for the specified shard level channel(s)",
    "HELP",
    "    Prints this help.",
]
