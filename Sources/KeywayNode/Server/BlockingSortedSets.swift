import NIOCore

/// The blocking sorted-set pops BZPOPMIN BZPOPMAX BZMPOP (`blockingGenericZpopCommand`), built on the non-blocking
/// `SortedSetPop` of SortedSets.swift. Registered with the list commands, which share the blocking machinery.
func registerBlockingSortedSetCommands(_ handlers: inout CommandHandlers) {
    handlers.register("bzpopmin") { (inv: inout Invocation) throws(RedisError) in try blockingZPop(&inv, max: false) }
    handlers.register("bzpopmax") { (inv: inout Invocation) throws(RedisError) in try blockingZPop(&inv, max: true) }
    handlers.register("bzmpop") { (inv: inout Invocation) throws(RedisError) in
        let request = try ZMPopRequest.parse(inv, numkeysIndex: 2)
        let timeout = try parseBlockingTimeout(inv.args[1])
        let keys = inv.args[request.keys]
        if let popped = try inv.popSortedSet(keys: keys, max: request.max, count: request.count) {
            return SortedSetPop.writeReply(&inv.reply, key: popped.key, elements: popped.elements, nested: true)
        }
        guard inv.mayBlock else { return inv.reply.nullArray() }
        inv.block(on: keys, timeoutMilliseconds: timeout, operation: .zsetMultiPop(min: !request.max, count: request.count))
    }
}

/// BZPOPMIN and BZPOPMAX: `[key, member, score]` from the first non-empty sorted set, or block.
private func blockingZPop(_ inv: inout Invocation, max: Bool) throws(RedisError) {
    let timeout = try parseBlockingTimeout(inv.args[inv.args.count - 1])
    let keys = inv.args[1..<(inv.args.count - 1)]
    if let popped = try inv.popSortedSet(keys: keys, max: max, count: 1) {
        return SortedSetPop.writeReply(&inv.reply, key: popped.key, elements: popped.elements, nested: false)
    }
    guard inv.mayBlock else { return inv.reply.nullArray() }
    inv.block(on: keys, timeoutMilliseconds: timeout, operation: .zsetPop(min: !max))
}

/// Serves a client blocked on sorted sets from `key` (`serveClientsBlockedOnSortedSetKey`). Returns false when the
/// key holds no sorted set elements (the client stays blocked).
func serveBlockedSortedSetClient(
    _ operation: BlockedOperation, key: ByteBuffer, invocation inv: inout Invocation
) -> Bool {
    guard case .zset(let zset)? = inv.db.lookup(key, now: inv.now, effects: &inv.effects), !zset.isEmpty else {
        return false
    }
    let min: Bool
    let count: Int
    let nested: Bool
    switch operation {
    case .zsetPop(let popMin):
        (min, count, nested) = (popMin, 1, false)
    case .zsetMultiPop(let popMin, let popCount):
        (min, count, nested) = (popMin, popCount, true)
    case .pop, .move, .multiPop:
        return false
    }
    let popped: (key: ByteBuffer, elements: [(member: ByteBuffer, score: Double)])?
    do {
        popped = try SortedSetPop.pop(
            keys: CollectionOfOne(key), max: !min, count: count, db: inv.db, dbIndex: inv.session.db, now: inv.now,
            effects: &inv.effects)
    } catch {
        return false
    }
    guard let popped else { return false }
    SortedSetPop.writeReply(&inv.reply, key: popped.key, elements: popped.elements, nested: nested)
    return true
}
