import NIOCore

/// List commands, as Redis 7.0's t_list.c: LPUSH RPUSH LPUSHX RPUSHX LPOP RPOP LLEN LRANGE LINDEX LSET LREM LTRIM
/// LINSERT LPOS LMOVE RPOPLPUSH LMPOP, and the blocking BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP.
func registerListCommands(_ handlers: inout CommandHandlers) {
    handlers.register("lpush") { (inv: inout Invocation) throws(RedisError) in try listPush(&inv, left: true, onlyIfExists: false) }
    handlers.register("rpush") { (inv: inout Invocation) throws(RedisError) in try listPush(&inv, left: false, onlyIfExists: false) }
    handlers.register("lpushx") { (inv: inout Invocation) throws(RedisError) in try listPush(&inv, left: true, onlyIfExists: true) }
    handlers.register("rpushx") { (inv: inout Invocation) throws(RedisError) in try listPush(&inv, left: false, onlyIfExists: true) }
    handlers.register("lpop") { (inv: inout Invocation) throws(RedisError) in try listPop(&inv, left: true) }
    handlers.register("rpop") { (inv: inout Invocation) throws(RedisError) in try listPop(&inv, left: false) }
    handlers.register("llen") { (inv: inout Invocation) throws(RedisError) in
        inv.reply.integer(try inv.listForRead(inv.args[1])?.count ?? 0)
    }
    handlers.register("lindex") { (inv: inout Invocation) throws(RedisError) in
        // Redis looks the key up before parsing the index.
        guard let list = try inv.listForRead(inv.args[1]) else { return inv.reply.null() }
        let index = try inv.integer(2)
        guard let position = list.position(of: index) else { return inv.reply.null() }
        inv.reply.bulk(list.items[position])
    }
    handlers.register("lset") { (inv: inout Invocation) throws(RedisError) in
        let key = inv.args[1]
        guard let list = try inv.listForWrite(key) else { throw .noSuchKey }
        let index = try inv.integer(2)
        guard let position = list.position(of: index) else { throw .indexOutOfRange }
        list.items[position] = CompactBytes(compacting: inv.args[3])
        inv.touched(key)
        inv.propagateAsIs()
        inv.reply.ok()
    }
    handlers.register("lrange") { (inv: inout Invocation) throws(RedisError) in
        let start = try inv.integer(2)
        let end = try inv.integer(3)
        guard let list = try inv.listForRead(inv.args[1]) else { return inv.reply.array(0) }
        writeListRange(&inv.reply, list, start: start, end: end)
    }
    handlers.register("ltrim") { (inv: inout Invocation) throws(RedisError) in try listTrim(&inv) }
    handlers.register("lrem") { (inv: inout Invocation) throws(RedisError) in try listRemove(&inv) }
    handlers.register("linsert") { (inv: inout Invocation) throws(RedisError) in try listInsert(&inv) }
    handlers.register("lpos") { (inv: inout Invocation) throws(RedisError) in try listPosition(&inv) }
    handlers.register("lmove") { (inv: inout Invocation) throws(RedisError) in
        let fromLeft = try listEnd(inv, 3)
        let toLeft = try listEnd(inv, 4)
        try listMove(&inv, fromLeft: fromLeft, toLeft: toLeft, legacy: false)
    }
    handlers.register("rpoplpush") { (inv: inout Invocation) throws(RedisError) in
        try listMove(&inv, fromLeft: false, toLeft: true, legacy: true)
    }
    handlers.register("lmpop") { (inv: inout Invocation) throws(RedisError) in
        let request = try ListMPopRequest.parse(inv, numkeysIndex: 1)
        if !(try listMultiPop(&inv, request)) { inv.reply.nullArray() }
    }
    handlers.register("blpop") { (inv: inout Invocation) throws(RedisError) in try blockingListPop(&inv, left: true) }
    handlers.register("brpop") { (inv: inout Invocation) throws(RedisError) in try blockingListPop(&inv, left: false) }
    handlers.register("blmove") { (inv: inout Invocation) throws(RedisError) in
        let fromLeft = try listEnd(inv, 3)
        let toLeft = try listEnd(inv, 4)
        let timeout = try parseBlockingTimeout(inv.args[5])
        try blockingListMove(&inv, fromLeft: fromLeft, toLeft: toLeft, timeout: timeout, legacy: false)
    }
    handlers.register("brpoplpush") { (inv: inout Invocation) throws(RedisError) in
        let timeout = try parseBlockingTimeout(inv.args[3])
        try blockingListMove(&inv, fromLeft: false, toLeft: true, timeout: timeout, legacy: true)
    }
    handlers.register("blmpop") { (inv: inout Invocation) throws(RedisError) in
        let request = try ListMPopRequest.parse(inv, numkeysIndex: 2)
        let timeout = try parseBlockingTimeout(inv.args[1])
        if try listMultiPop(&inv, request) { return }
        guard inv.mayBlock else { return inv.reply.nullArray() }
        inv.block(
            on: inv.args[request.keys], timeoutMilliseconds: timeout,
            operation: .multiPop(left: request.left, count: request.count))
    }
    registerBlockingSortedSetCommands(&handlers)
}

// MARK: - Lookups and shared pieces

extension Invocation {
    /// The list at `key` for reading (nil when missing), or WRONGTYPE.
    mutating func listForRead(_ key: ByteBuffer) throws(RedisError) -> ListObject? {
        switch lookupRead(key) {
        case nil: return nil
        case .list(let list)?: return list
        default: throw .wrongType
        }
    }

    /// The list at `key` for writing (nil when missing), or WRONGTYPE.
    mutating func listForWrite(_ key: ByteBuffer) throws(RedisError) -> ListObject? {
        switch lookupWrite(key) {
        case nil: return nil
        case .list(let list)?: return list
        default: throw .wrongType
        }
    }

    /// After elements were removed from the list at `key`: deletes the key when the list is empty (Redis never
    /// keeps an empty list) and records the change.
    fileprivate mutating func listElementsRemoved(_ key: ByteBuffer, _ list: ListObject) {
        if list.items.isEmpty { db.remove(key) }
        touched(key)
    }
}

/// `LEFT` or `RIGHT` at argument `i` (true for LEFT), else a syntax error.
private func listEnd(_ inv: Invocation, _ i: Int) throws(RedisError) -> Bool {
    if inv.isKeyword(i, "LEFT") { return true }
    if inv.isKeyword(i, "RIGHT") { return false }
    throw .syntax
}

/// Redis's `addListRangeReply`: elements `start...end` (negative indexes count from the tail), clamped.
private func writeListRange(_ reply: inout ReplyWriter, _ list: ListObject, start: Int64, end: Int64) {
    let length = Int64(list.count)
    var start = start < 0 ? length &+ start : start
    var end = end < 0 ? length &+ end : end
    if start < 0 { start = 0 }
    if start > end || start >= length { return reply.array(0) }
    if end >= length { end = length - 1 }
    reply.array(Int(end - start + 1))
    let items = list.items
    for position in Int(start)...Int(end) { reply.bulk(items[position]) }
}

/// The `count` argument as a LPOP-style decimal for propagation.
private func decimal(_ value: Int) -> ByteBuffer {
    var buffer = ByteBuffer()
    buffer.writeDecimal(Int64(value))
    return buffer
}

private let lpopName = ByteBuffer(string: "LPOP")
private let rpopName = ByteBuffer(string: "RPOP")
private let lmoveName = ByteBuffer(string: "LMOVE")
private let rpoplpushName = ByteBuffer(string: "RPOPLPUSH")
private let leftName = ByteBuffer(string: "LEFT")
private let rightName = ByteBuffer(string: "RIGHT")

// MARK: - Push and pop

/// LPUSH RPUSH LPUSHX RPUSHX.
private func listPush(_ inv: inout Invocation, left: Bool, onlyIfExists: Bool) throws(RedisError) {
    let key = inv.args[1]
    let list: ListObject
    if let existing = try inv.listForWrite(key) {
        list = existing
    } else {
        if onlyIfExists { return inv.reply.integer(0) }
        list = ListObject()
        inv.db.insert(key, .list(list))
        // A new list may serve clients blocked on this key (Redis signals it in dbAdd).
        inv.effects.signalReady(key: key, db: inv.session.db)
    }
    for index in 2..<inv.args.count { list.push(CompactBytes(compacting: inv.args[index]), left: left) }
    // Redis's pushGenericCommand: one change per element.
    inv.touched(key, changes: inv.args.count - 2)
    inv.propagateAsIs()
    inv.reply.integer(list.count)
}

/// LPOP and RPOP, with the optional count (`popGenericCommand`).
private func listPop(_ inv: inout Invocation, left: Bool) throws(RedisError) {
    if inv.args.count > 3 { throw .wrongArity(inv.name) }
    var count = -1
    if inv.args.count == 3 {
        guard let value = inv.args[2].parseInt64(), value >= 0 else { throw .notPositive }
        count = Int(value)
    }
    let key = inv.args[1]
    guard let list = try inv.listForWrite(key) else {
        // RESP2: a null bulk for the single form, a null array with a count; RESP3: null for both.
        return count == -1 ? inv.reply.null() : inv.reply.nullArray()
    }
    if count == 0 { return inv.reply.array(0) }
    if count == -1 {
        guard let element = list.pop(left: left) else { return inv.reply.null() }
        inv.reply.bulk(element)
    } else {
        let popped = min(count, list.count)
        inv.reply.array(popped)
        for _ in 0..<popped {
            if let element = list.pop(left: left) { inv.reply.bulk(element) }
        }
    }
    inv.listElementsRemoved(key, list)
    inv.propagateAsIs()
}

/// LMOVE and RPOPLPUSH (`legacy`) as `lmoveGenericCommand`; BLMOVE and BRPOPLPUSH when the source has
/// elements, which propagate as LMOVE and RPOPLPUSH.
private func listMove(_ inv: inout Invocation, fromLeft: Bool, toLeft: Bool, legacy: Bool) throws(RedisError) {
    let source = inv.args[1]
    guard let list = try inv.listForWrite(source), !list.items.isEmpty else { return inv.reply.null() }
    let destination = inv.args[2]
    let target = try inv.listForWrite(destination)
    guard let element = list.pop(left: fromLeft) else { return inv.reply.null() }
    pushMoved(&inv, element, to: destination, target, toLeft: toLeft)
    inv.listElementsRemoved(source, list)
    propagateMove(&inv, source, destination, fromLeft: fromLeft, toLeft: toLeft, legacy: legacy)
    inv.reply.bulk(element)
}

private func propagateMove(
    _ inv: inout Invocation, _ source: ByteBuffer, _ destination: ByteBuffer, fromLeft: Bool, toLeft: Bool,
    legacy: Bool
) {
    inv.propagate(
        legacy
            ? [rpoplpushName, source, destination]
            : [lmoveName, source, destination, fromLeft ? leftName : rightName, toLeft ? leftName : rightName])
}

/// `lmoveHandlePush`: pushes a moved element to the destination list, creating it when missing.
private func pushMoved(
    _ inv: inout Invocation, _ element: CompactBytes, to destination: ByteBuffer, _ target: ListObject?, toLeft: Bool
) {
    let list: ListObject
    if let target {
        list = target
    } else {
        list = ListObject()
        inv.db.insert(destination, .list(list))
        inv.effects.signalReady(key: destination, db: inv.session.db)
    }
    list.push(element, left: toLeft)
    inv.touched(destination)
}

/// The arguments of LMPOP and BLMPOP: `numkeys key... LEFT|RIGHT [COUNT count]`.
struct ListMPopRequest {
    var keys: Range<Int>
    var left: Bool
    var count: Int

    /// Parses from `numkeysIndex` (1 for LMPOP, 2 for BLMPOP), as `lmpopGenericCommand`.
    static func parse(_ inv: Invocation, numkeysIndex: Int) throws(RedisError) -> ListMPopRequest {
        guard let numkeys = inv.args[numkeysIndex].parseInt64(), numkeys >= 1 else {
            throw RedisError("ERR numkeys should be greater than 0")
        }
        let whereIndex = numkeysIndex + 1 + Int(min(numkeys, Int64(inv.args.count)))
        if whereIndex >= inv.args.count { throw .syntax }
        let left = try listEnd(inv, whereIndex)
        var count: Int64 = -1
        var index = whereIndex + 1
        while index < inv.args.count {
            guard count == -1, inv.isKeyword(index, "COUNT"), index + 1 < inv.args.count else { throw .syntax }
            guard let value = inv.args[index + 1].parseInt64(), value >= 1 else {
                throw RedisError("ERR count should be greater than 0")
            }
            count = value
            index += 2
        }
        return ListMPopRequest(
            keys: (numkeysIndex + 1)..<whereIndex, left: left, count: count == -1 ? 1 : Int(clamping: count))
    }
}

/// LMPOP (and BLMPOP without blocking): pops from the first non-empty list; false when there is none.
private func listMultiPop(_ inv: inout Invocation, _ request: ListMPopRequest) throws(RedisError) -> Bool {
    for index in request.keys {
        let key = inv.args[index]
        guard let list = try inv.listForWrite(key), !list.items.isEmpty else { continue }
        popRangeWithKey(&inv, list, key: key, left: request.left, count: request.count)
        return true
    }
    return false
}

/// `listPopRangeAndReplyWithKey`: replies `[key, [elements]]`, propagates `LPOP|RPOP key n`.
private func popRangeWithKey(_ inv: inout Invocation, _ list: ListObject, key: ByteBuffer, left: Bool, count: Int) {
    let popped = min(count, list.count)
    inv.reply.array(2)
    inv.reply.bulk(key)
    inv.reply.array(popped)
    for _ in 0..<popped {
        if let element = list.pop(left: left) { inv.reply.bulk(element) }
    }
    inv.listElementsRemoved(key, list)
    inv.propagate([left ? lpopName : rpopName, key, decimal(popped)])
}

/// Pops one element for BLPOP/BRPOP: replies `[key, element]`, propagates `LPOP|RPOP key`.
private func popOneWithKey(_ inv: inout Invocation, _ list: ListObject, key: ByteBuffer, left: Bool) {
    guard let element = list.pop(left: left) else { return inv.reply.nullArray() }
    inv.reply.array(2)
    inv.reply.bulk(key)
    inv.reply.bulk(element)
    inv.listElementsRemoved(key, list)
    inv.propagate([left ? lpopName : rpopName, key])
}

// MARK: - Blocking forms

/// BLPOP and BRPOP (`blockingPopGenericCommand`).
private func blockingListPop(_ inv: inout Invocation, left: Bool) throws(RedisError) {
    let timeout = try parseBlockingTimeout(inv.args[inv.args.count - 1])
    let keys = 1..<(inv.args.count - 1)
    for index in keys {
        let key = inv.args[index]
        guard let list = try inv.listForWrite(key), !list.items.isEmpty else { continue }
        return popOneWithKey(&inv, list, key: key, left: left)
    }
    guard inv.mayBlock else { return inv.reply.nullArray() }
    inv.block(on: inv.args[keys], timeoutMilliseconds: timeout, operation: .pop(left: left))
}

/// BLMOVE and BRPOPLPUSH (`blmoveGenericCommand`).
private func blockingListMove(
    _ inv: inout Invocation, fromLeft: Bool, toLeft: Bool, timeout: Int64, legacy: Bool
) throws(RedisError) {
    if try inv.listForWrite(inv.args[1]) != nil {
        return try listMove(&inv, fromLeft: fromLeft, toLeft: toLeft, legacy: legacy)
    }
    // In MULTI, an empty source returns a null bulk at once (not the null array of a timeout).
    guard inv.mayBlock else { return inv.reply.null() }
    inv.block(
        on: inv.args[1..<2], timeoutMilliseconds: timeout,
        operation: .move(destination: inv.args[2].compacted(), fromLeft: fromLeft, toLeft: toLeft, legacy: legacy))
}

/// Serves a client blocked on lists from `key`, which holds a non-empty list (`serveClientBlockedOnList`).
/// Returns false when the key holds no list elements (the client stays blocked).
func serveBlockedListClient(_ operation: BlockedOperation, key: ByteBuffer, invocation inv: inout Invocation) -> Bool {
    guard case .list(let list)? = inv.db.lookup(key, now: inv.now, effects: &inv.effects), !list.items.isEmpty
    else { return false }
    switch operation {
    case .pop(let left):
        popOneWithKey(&inv, list, key: key, left: left)
    case .multiPop(let left, let count):
        popRangeWithKey(&inv, list, key: key, left: left, count: count)
    case .move(let destination, let fromLeft, let toLeft, let legacy):
        let target: ListObject?
        switch inv.db.lookup(destination, now: inv.now, effects: &inv.effects) {
        case nil: target = nil
        case .list(let existing)?: target = existing
        default:
            // The client is unblocked with the error, as Redis 7.0 does.
            inv.reply.error(.wrongType)
            return true
        }
        guard let element = list.pop(left: fromLeft) else { return false }
        pushMoved(&inv, element, to: destination, target, toLeft: toLeft)
        inv.listElementsRemoved(key, list)
        propagateMove(&inv, key, destination, fromLeft: fromLeft, toLeft: toLeft, legacy: legacy)
        inv.reply.bulk(element)
    case .zsetPop, .zsetMultiPop:
        return false
    }
    return true
}

// MARK: - LTRIM LREM LINSERT LPOS

private func listTrim(_ inv: inout Invocation) throws(RedisError) {
    var start = try inv.integer(2)
    var end = try inv.integer(3)
    let key = inv.args[1]
    guard let list = try inv.listForWrite(key) else { return inv.reply.ok() }
    let length = Int64(list.count)
    if start < 0 { start = length &+ start }
    if end < 0 { end = length &+ end }
    if start < 0 { start = 0 }
    let trimLeft: Int64
    let trimRight: Int64
    if start > end || start >= length {
        trimLeft = length
        trimRight = 0
    } else {
        if end >= length { end = length - 1 }
        trimLeft = start
        trimRight = length - end - 1
    }
    list.items.removeFirst(Int(trimLeft))
    list.items.removeLast(Int(trimRight))
    inv.listElementsRemoved(key, list)
    if trimLeft + trimRight > 0 { inv.propagateAsIs() }
    inv.reply.ok()
}

private func listRemove(_ inv: inout Invocation) throws(RedisError) {
    let requested = try inv.integer(2)
    let key = inv.args[1]
    guard let list = try inv.listForWrite(key) else { return inv.reply.integer(0) }
    let element = inv.args[3]
    // -LLONG_MIN stays negative in C, so "remove all" (no limit is ever reached): keep that with &-.
    let fromTail = requested < 0
    let limit = fromTail ? 0 &- requested : requested
    var removed: Int64 = 0
    var kept = BlockList()
    if fromTail {
        var index = list.items.count - 1
        while index >= 0 {
            let item = list.items[index]
            if (limit <= 0 || removed < limit) && item.equals(element) {
                removed += 1
            } else {
                kept.prepend(item)
            }
            index -= 1
        }
    } else {
        for item in list.items {
            if (limit <= 0 || removed < limit) && item.equals(element) {
                removed += 1
            } else {
                kept.append(item)
            }
        }
    }
    if removed > 0 {
        list.items = kept
        inv.listElementsRemoved(key, list)
        inv.propagateAsIs()
    }
    inv.reply.integer(removed)
}

private func listInsert(_ inv: inout Invocation) throws(RedisError) {
    let after: Bool
    if inv.isKeyword(2, "AFTER") {
        after = true
    } else if inv.isKeyword(2, "BEFORE") {
        after = false
    } else {
        throw .syntax
    }
    let key = inv.args[1]
    guard let list = try inv.listForWrite(key) else { return inv.reply.integer(0) }
    let pivot = inv.args[3]
    guard let position = list.items.firstIndex(where: { $0.equals(pivot) }) else { return inv.reply.integer(-1) }
    list.items.insert(CompactBytes(compacting: inv.args[4]), at: after ? position + 1 : position)
    inv.touched(key)
    inv.propagateAsIs()
    inv.reply.integer(list.count)
}

/// LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len] (`lposCommand`).
private func listPosition(_ inv: inout Invocation) throws(RedisError) {
    var rank: Int64 = 1
    var count: Int64 = -1
    var maxLength: Int64 = 0
    var index = 3
    while index < inv.args.count {
        let more = index + 1 < inv.args.count
        if inv.isKeyword(index, "RANK") && more {
            rank = try inv.integer(index + 1)
            if rank == 0 {
                throw RedisError(
                    "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list"
                )
            }
        } else if inv.isKeyword(index, "COUNT") && more {
            guard let value = inv.args[index + 1].parseInt64(), value >= 0 else {
                throw RedisError("ERR COUNT can't be negative")
            }
            count = value
        } else if inv.isKeyword(index, "MAXLEN") && more {
            guard let value = inv.args[index + 1].parseInt64(), value >= 0 else {
                throw RedisError("ERR MAXLEN can't be negative")
            }
            maxLength = value
        } else {
            throw .syntax
        }
        index += 2
    }
    // A negative rank searches from the tail; -LLONG_MIN stays LLONG_MIN in C (then every match qualifies).
    var fromTail = false
    if rank < 0 {
        rank = 0 &- rank
        fromTail = true
    }
    guard let list = try inv.listForRead(inv.args[1]) else {
        return count != -1 ? inv.reply.array(0) : inv.reply.null()
    }
    let element = inv.args[2]
    let length = list.count
    var matches: Int64 = 0
    var found: [Int] = []
    var scanned: Int64 = 0
    var position = fromTail ? length - 1 : 0
    while position >= 0 && position < length && (maxLength == 0 || scanned < maxLength) {
        if list.items[position].equals(element) {
            matches += 1
            if matches >= rank {
                found.append(position)
                if count == -1 { break }
                if count != 0 && matches &- rank &+ 1 >= count { break }
            }
        }
        scanned += 1
        position += fromTail ? -1 : 1
    }
    if count != -1 {
        inv.reply.array(found.count)
        for position in found { inv.reply.integer(position) }
    } else if let position = found.first {
        inv.reply.integer(position)
    } else {
        inv.reply.null()
    }
}
