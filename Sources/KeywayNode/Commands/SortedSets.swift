import NIOCore

/// Sorted set commands, with Redis 7.0's replies, errors and effects.
func registerSortedSetCommands(_ handlers: inout CommandHandlers) {
    handlers.register("zadd") { (inv: inout Invocation) throws(RedisError) in
        try zadd(&inv, incrementOnly: false)
    }
    handlers.register("zincrby") { (inv: inout Invocation) throws(RedisError) in
        try zadd(&inv, incrementOnly: true)
    }

    handlers.register("zrem") { (inv: inout Invocation) throws(RedisError) in
        let key = inv.args[1]
        guard let zset = try inv.zsetForWrite(key) else { return inv.reply.integer(0) }
        var deleted = 0
        for i in 2..<inv.args.count {
            if zset.remove(inv.args[i]) {
                deleted += 1
                if zset.isEmpty { break }
            }
        }
        if deleted > 0 {
            if zset.isEmpty { inv.db.remove(key) }
            inv.touched(key)
            inv.propagateAsIs()
        }
        inv.reply.integer(deleted)
    }

    handlers.register("zscore") { (inv: inout Invocation) throws(RedisError) in
        guard let score = try inv.zsetForRead(inv.args[1])?.score(of: inv.args[2]) else { return inv.reply.null() }
        inv.reply.double(score)
    }

    handlers.register("zmscore") { (inv: inout Invocation) throws(RedisError) in
        let zset = try inv.zsetForRead(inv.args[1])
        inv.reply.array(inv.args.count - 2)
        for i in 2..<inv.args.count {
            if let score = zset?.score(of: inv.args[i]) { inv.reply.double(score) } else { inv.reply.null() }
        }
    }

    handlers.register("zcard") { (inv: inout Invocation) throws(RedisError) in
        inv.reply.integer(try inv.zsetForRead(inv.args[1])?.count ?? 0)
    }

    handlers.register("zcount") { (inv: inout Invocation) throws(RedisError) in
        guard let range = ZScoreRange(min: inv.args[2], max: inv.args[3]) else { throw .minMaxNotFloat }
        inv.reply.integer(try inv.zsetForRead(inv.args[1])?.count(in: range) ?? 0)
    }

    handlers.register("zlexcount") { (inv: inout Invocation) throws(RedisError) in
        guard let range = ZLexRange(min: inv.args[2], max: inv.args[3]) else { throw .minMaxNotLex }
        inv.reply.integer(try inv.zsetForRead(inv.args[1])?.count(in: range) ?? 0)
    }

    handlers.register("zrange") { (inv: inout Invocation) throws(RedisError) in
        try zrange(&inv, keyIndex: 1, store: false, kind: nil, reverse: nil)
    }
    handlers.register("zrangestore") { (inv: inout Invocation) throws(RedisError) in
        try zrange(&inv, keyIndex: 2, store: true, kind: nil, reverse: nil)
    }
    handlers.register("zrevrange") { (inv: inout Invocation) throws(RedisError) in
        try zrange(&inv, keyIndex: 1, store: false, kind: .rank, reverse: true)
    }
    handlers.register("zrangebyscore") { (inv: inout Invocation) throws(RedisError) in
        try zrange(&inv, keyIndex: 1, store: false, kind: .score, reverse: false)
    }
    handlers.register("zrevrangebyscore") { (inv: inout Invocation) throws(RedisError) in
        try zrange(&inv, keyIndex: 1, store: false, kind: .score, reverse: true)
    }
    handlers.register("zrangebylex") { (inv: inout Invocation) throws(RedisError) in
        try zrange(&inv, keyIndex: 1, store: false, kind: .lex, reverse: false)
    }
    handlers.register("zrevrangebylex") { (inv: inout Invocation) throws(RedisError) in
        try zrange(&inv, keyIndex: 1, store: false, kind: .lex, reverse: true)
    }

    handlers.register("zrank") { (inv: inout Invocation) throws(RedisError) in
        guard let rank = try inv.zsetForRead(inv.args[1])?.rank(of: inv.args[2], reverse: false) else {
            return inv.reply.null()
        }
        inv.reply.integer(rank)
    }
    handlers.register("zrevrank") { (inv: inout Invocation) throws(RedisError) in
        guard let rank = try inv.zsetForRead(inv.args[1])?.rank(of: inv.args[2], reverse: true) else {
            return inv.reply.null()
        }
        inv.reply.integer(rank)
    }

    handlers.register("zpopmin") { (inv: inout Invocation) throws(RedisError) in
        try zpop(&inv, max: false)
    }
    handlers.register("zpopmax") { (inv: inout Invocation) throws(RedisError) in
        try zpop(&inv, max: true)
    }
    handlers.register("zmpop") { (inv: inout Invocation) throws(RedisError) in
        let request = try ZMPopRequest.parse(inv, numkeysIndex: 1)
        let popped = try inv.popSortedSet(
            keys: inv.args[request.keys], max: request.max, count: request.count)
        guard let popped else { return inv.reply.nullArray() }
        SortedSetPop.writeReply(&inv.reply, key: popped.key, elements: popped.elements, nested: true)
    }

    handlers.register("zrandmember") { (inv: inout Invocation) throws(RedisError) in
        if inv.args.count >= 3 {
            let count = try inv.randomCount(2)
            var withScores = false
            if inv.args.count > 4 || (inv.args.count == 4 && !inv.isKeyword(3, "WITHSCORES")) { throw .syntax }
            if inv.args.count == 4 {
                withScores = true
                if count < -(Int64.max / 2) || count > Int64.max / 2 { throw RedisError("ERR value is out of range") }
            }
            return try zsetRandomMembers(&inv, count: count, withScores: withScores)
        }
        guard let zset = try inv.zsetForRead(inv.args[1]) else { return inv.reply.null() }
        var random = FastRandom()
        inv.reply.bulk(zset.entry(at: random.index(below: zset.count)).member)
    }

    handlers.register("zunionstore") { (inv: inout Invocation) throws(RedisError) in
        try zsetAlgebra(&inv, destination: inv.args[1], numkeysIndex: 2, operation: .union, cardinalityOnly: false)
    }
    handlers.register("zinterstore") { (inv: inout Invocation) throws(RedisError) in
        try zsetAlgebra(&inv, destination: inv.args[1], numkeysIndex: 2, operation: .intersection, cardinalityOnly: false)
    }
    handlers.register("zdiffstore") { (inv: inout Invocation) throws(RedisError) in
        try zsetAlgebra(&inv, destination: inv.args[1], numkeysIndex: 2, operation: .difference, cardinalityOnly: false)
    }
    handlers.register("zunion") { (inv: inout Invocation) throws(RedisError) in
        try zsetAlgebra(&inv, destination: nil, numkeysIndex: 1, operation: .union, cardinalityOnly: false)
    }
    handlers.register("zinter") { (inv: inout Invocation) throws(RedisError) in
        try zsetAlgebra(&inv, destination: nil, numkeysIndex: 1, operation: .intersection, cardinalityOnly: false)
    }
    handlers.register("zdiff") { (inv: inout Invocation) throws(RedisError) in
        try zsetAlgebra(&inv, destination: nil, numkeysIndex: 1, operation: .difference, cardinalityOnly: false)
    }
    handlers.register("zintercard") { (inv: inout Invocation) throws(RedisError) in
        try zsetAlgebra(&inv, destination: nil, numkeysIndex: 1, operation: .intersection, cardinalityOnly: true)
    }

    handlers.register("zremrangebyrank") { (inv: inout Invocation) throws(RedisError) in
        let startArgument = try inv.integer(2)
        let endArgument = try inv.integer(3)
        try zremrange(&inv) { zset in
            let length = Int64(zset.count)
            var start = startArgument < 0 ? length + startArgument : startArgument
            var end = endArgument < 0 ? length + endArgument : endArgument
            if start < 0 { start = 0 }
            if start > end || start >= length { return [] }
            if end >= length { end = length - 1 }
            var nodes: [ZCursor] = []
            nodes.reserveCapacity(Int(end - start + 1))
            var node = zset.cursor(atRank: Int(start))
            for _ in start...end {
                guard let current = node else { break }
                nodes.append(current)
                node = current.next
            }
            return nodes
        }
    }
    handlers.register("zremrangebyscore") { (inv: inout Invocation) throws(RedisError) in
        guard let range = ZScoreRange(min: inv.args[2], max: inv.args[3]) else { throw .minMaxNotFloat }
        try zremrange(&inv) { zset in
            var nodes: [ZCursor] = []
            var node = zset.firstNode(in: range, reverse: false)
            while let current = node, range.isBelowMax(current.score) {
                nodes.append(current)
                node = current.next
            }
            return nodes
        }
    }
    handlers.register("zremrangebylex") { (inv: inout Invocation) throws(RedisError) in
        guard let range = ZLexRange(min: inv.args[2], max: inv.args[3]) else { throw .minMaxNotLex }
        try zremrange(&inv) { zset in
            var nodes: [ZCursor] = []
            var node = zset.firstNode(in: range, reverse: false)
            while let current = node, range.isBelowMax(current.member) {
                nodes.append(current)
                node = current.next
            }
            return nodes
        }
    }

    handlers.register("zscan") { (inv: inout Invocation) throws(RedisError) in
        let cursor = try CollectionScan.parseCursor(inv.args[2])
        guard let zset = try inv.zsetForRead(inv.args[1]) else { return inv.reply.emptyScan() }
        let scan = try CollectionScan.parseOptions(inv, from: 3)
        var found: [(member: CompactBytes, score: Double)] = []
        var next: UInt64 = 0
        if zset.isListpack {
            zset.forEach { member, score in
                if scan.matches(member) { found.append((member, score)) }
            }
        } else {
            let window = scan.window(cursor: cursor, size: zset.count)
            next = window.next
            for i in window.positions {
                let entry = zset.entry(at: i)
                if scan.matches(entry.member) { found.append(entry) }
            }
        }
        inv.reply.array(2)
        inv.reply.bulk(cursor: next)
        inv.reply.array(found.count * 2)
        for (member, score) in found {
            inv.reply.bulk(member)
            inv.reply.bulk(RedisNumber.format(score))
        }
    }
}

extension RedisError {
    static let minMaxNotFloat = RedisError("ERR min or max is not a float")
    static let minMaxNotLex = RedisError("ERR min or max not valid string range item")
    static let scoreNaN = RedisError("ERR resulting score is not a number (NaN)")
}

// MARK: - ZADD / ZINCRBY

/// ZADD and ZINCRBY, as `zaddGenericCommand`.
private func zadd(_ inv: inout Invocation, incrementOnly: Bool) throws(RedisError) {
    var nx = false, xx = false, gt = false, lt = false, ch = false
    var incr = incrementOnly
    var scoreIndex = 2
    if !incrementOnly {
        while scoreIndex < inv.args.count {
            if inv.isKeyword(scoreIndex, "NX") {
                nx = true
            } else if inv.isKeyword(scoreIndex, "XX") {
                xx = true
            } else if inv.isKeyword(scoreIndex, "CH") {
                ch = true
            } else if inv.isKeyword(scoreIndex, "INCR") {
                incr = true
            } else if inv.isKeyword(scoreIndex, "GT") {
                gt = true
            } else if inv.isKeyword(scoreIndex, "LT") {
                lt = true
            } else {
                break
            }
            scoreIndex += 1
        }
    }
    let pairs = inv.args.count - scoreIndex
    if pairs % 2 != 0 || pairs == 0 { throw .syntax }
    let elements = pairs / 2
    if xx && nx { throw RedisError("ERR XX and NX options at the same time are not compatible") }
    if (gt && nx) || (lt && nx) || (gt && lt) {
        throw RedisError("ERR GT, LT, and/or NX options at the same time are not compatible")
    }
    if incr && elements > 1 { throw RedisError("ERR INCR option supports a single increment-element pair") }

    var scores: [Double] = []
    scores.reserveCapacity(elements)
    var maxMemberLength = 0
    for j in 0..<elements {
        guard let score = ZScoreParser.parse(inv.args[scoreIndex + j * 2]) else { throw .notFloat }
        scores.append(score)
        maxMemberLength = max(maxMemberLength, inv.args[scoreIndex + 1 + j * 2].readableBytes)
    }

    let key = inv.args[1]
    var zset = try inv.zsetForWrite(key)
    var added = 0, updated = 0, processed = 0
    var lastScore = 0.0
    var created = false
    if zset == nil && !xx {
        let newSet = ZSetObject(sizeHint: elements, maxMemberLength: maxMemberLength)
        inv.db.insert(key, .zset(newSet))
        zset = newSet
        created = true
    }
    var failure: RedisError?
    if let zset {
        for j in 0..<elements {
            let member = KeyspaceKey(inv.args[scoreIndex + 1 + j * 2])
            var score = scores[j]
            if let index = zset.index(of: member) {
                let current = zset.score(at: index)
                if nx { continue }
                if incr {
                    score += current
                    if score.isNaN {
                        failure = .scoreNaN
                        break
                    }
                }
                if (lt && score >= current) || (gt && score <= current) { continue }
                processed += 1
                lastScore = score
                if score != current {
                    zset.update(at: index, to: score)
                    updated += 1
                }
            } else if !xx {
                zset.insertNew(member, score: score)
                added += 1
                processed += 1
                lastScore = score
            }
        }
        if created && zset.isEmpty { inv.db.remove(key) }
    }
    if added + updated > 0 {
        inv.touched(key)
        inv.propagateAsIs()
        if added > 0 { inv.effects.signalReady(key: key, db: inv.session.db) }
    }
    if let failure { throw failure }
    if incr {
        if processed > 0 { inv.reply.double(lastScore) } else { inv.reply.null() }
    } else {
        inv.reply.integer(ch ? added + updated : added)
    }
}

// MARK: - ZRANGE and friends

private enum ZRangeKind { case rank, score, lex }

/// Writes range results to the client (`withScores`: flat pairs in RESP2, nested pairs in RESP3).
private struct ZRangeEmitter {
    let withScores: Bool

    func header(_ reply: inout ReplyWriter, _ count: Int) {
        reply.array(withScores && !reply.resp3 ? count * 2 : count)
    }

    func emit(_ reply: inout ReplyWriter, _ node: ZCursor) {
        if withScores && reply.resp3 { reply.array(2) }
        reply.bulk(node.member)
        if withScores { reply.double(node.score) }
    }
}

/// ZRANGE, ZRANGESTORE, ZREVRANGE, Z[REV]RANGEBYSCORE, Z[REV]RANGEBYLEX, as `zrangeGenericCommand`.
private func zrange(
    _ inv: inout Invocation, keyIndex: Int, store: Bool, kind fixedKind: ZRangeKind?, reverse fixedReverse: Bool?
) throws(RedisError) {
    var kind = fixedKind
    var reverse = fixedReverse
    var withScores = false
    var offset: Int64 = 0
    var limit: Int64 = -1
    var j = keyIndex + 3
    while j < inv.args.count {
        let remaining = inv.args.count - j - 1
        if !store && inv.isKeyword(j, "WITHSCORES") {
            withScores = true
        } else if inv.isKeyword(j, "LIMIT") && remaining >= 2 {
            offset = try inv.integer(j + 1)
            limit = try inv.integer(j + 2)
            j += 2
        } else if reverse == nil && inv.isKeyword(j, "REV") {
            reverse = true
        } else if kind == nil && inv.isKeyword(j, "BYLEX") {
            kind = .lex
        } else if kind == nil && inv.isKeyword(j, "BYSCORE") {
            kind = .score
        } else {
            throw .syntax
        }
        j += 1
    }
    let isReverse = reverse ?? false
    let rangeKind = kind ?? .rank
    if limit != -1 && rangeKind == .rank {
        throw RedisError("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX")
    }
    if withScores && rangeKind == .lex {
        throw RedisError("ERR syntax error, WITHSCORES not supported in combination with BYLEX")
    }
    var minIndex = keyIndex + 1
    var maxIndex = keyIndex + 2
    if isReverse && rangeKind != .rank { swap(&minIndex, &maxIndex) }

    var start: Int64 = 0, end: Int64 = 0
    var scoreRange: ZScoreRange?
    var lexRange: ZLexRange?
    switch rangeKind {
    case .rank:
        start = try inv.integer(minIndex)
        end = try inv.integer(maxIndex)
    case .score:
        guard let range = ZScoreRange(min: inv.args[minIndex], max: inv.args[maxIndex]) else { throw .minMaxNotFloat }
        scoreRange = range
    case .lex:
        guard let range = ZLexRange(min: inv.args[minIndex], max: inv.args[maxIndex]) else { throw .minMaxNotLex }
        lexRange = range
    }

    let zset = try inv.zsetForRead(inv.args[keyIndex])
    var nodes: [ZCursor] = []
    if let zset {
        switch rangeKind {
        case .rank:
            let length = Int64(zset.count)
            if start < 0 { start += length }
            if end < 0 { end += length }
            if start < 0 { start = 0 }
            if !(start > end || start >= length) {
                if end >= length { end = length - 1 }
                let count = Int(end - start + 1)
                if !store {
                    // Known length: stream straight to the client.
                    let emitter = ZRangeEmitter(withScores: withScores)
                    emitter.header(&inv.reply, count)
                    var node = zset.cursor(atRank: isReverse ? Int(length - 1 - start) : Int(start))
                    for _ in 0..<count {
                        guard let current = node else { break }
                        emitter.emit(&inv.reply, current)
                        node = isReverse ? current.previous : current.next
                    }
                    return
                }
                nodes.reserveCapacity(count)
                var node = zset.cursor(atRank: isReverse ? Int(length - 1 - start) : Int(start))
                for _ in 0..<count {
                    guard let current = node else { break }
                    nodes.append(current)
                    node = isReverse ? current.previous : current.next
                }
            }
        case .score:
            if let range = scoreRange, !(offset > 0 && offset >= Int64(zset.count)), offset >= 0 {
                var node = zset.firstNode(in: range, reverse: isReverse)
                var skip = offset
                while skip > 0, let current = node {
                    node = isReverse ? current.previous : current.next
                    skip -= 1
                }
                var remaining = limit
                while remaining != 0, let current = node {
                    if isReverse ? !range.isAboveMin(current.score) : !range.isBelowMax(current.score) { break }
                    nodes.append(current)
                    node = isReverse ? current.previous : current.next
                    remaining -= 1
                }
            }
        case .lex:
            if let range = lexRange, !(offset > 0 && offset >= Int64(zset.count)), offset >= 0 {
                var node = zset.firstNode(in: range, reverse: isReverse)
                var skip = offset
                while skip > 0, let current = node {
                    node = isReverse ? current.previous : current.next
                    skip -= 1
                }
                var remaining = limit
                while remaining != 0, let current = node {
                    if isReverse ? !range.isAboveMin(current.member) : !range.isBelowMax(current.member) { break }
                    nodes.append(current)
                    node = isReverse ? current.previous : current.next
                    remaining -= 1
                }
            }
        }
    } else if !store {
        return inv.reply.array(0)
    }

    if store {
        let destination = inv.args[1]
        if nodes.isEmpty {
            if inv.db.remove(destination) {
                inv.touched(destination)
                inv.propagateAsIs()
            }
            return inv.reply.integer(0)
        }
        let result = ZSetObject(sizeHint: rangeKind == .rank ? nodes.count : 0)
        for node in nodes { result.set(KeyspaceKey(compact: node.member), score: node.score) }
        inv.db.insert(destination, .zset(result))
        inv.touched(destination)
        inv.propagateAsIs()
        inv.effects.signalReady(key: destination, db: inv.session.db)
        return inv.reply.integer(result.count)
    }
    let emitter = ZRangeEmitter(withScores: withScores)
    emitter.header(&inv.reply, nodes.count)
    for node in nodes { emitter.emit(&inv.reply, node) }
}

// MARK: - ZREMRANGEBY*

/// Removes the entries `select` picks from the sorted set at `args[1]`, as `zremrangeGenericCommand` (taken out
/// of the tree before the first removal, which invalidates cursors).
private func zremrange(_ inv: inout Invocation, select: (ZSetObject) -> [ZCursor]) throws(RedisError) {
    let key = inv.args[1]
    guard let zset = try inv.zsetForWrite(key) else { return inv.reply.integer(0) }
    let nodes = select(zset).map(\.entry)
    for node in nodes { zset.remove(node) }
    if !nodes.isEmpty {
        if zset.isEmpty { inv.db.remove(key) }
        inv.touched(key)
        inv.propagateAsIs()
    }
    inv.reply.integer(nodes.count)
}

// MARK: - ZPOPMIN / ZPOPMAX / ZMPOP

private func zpop(_ inv: inout Invocation, max: Bool) throws(RedisError) {
    if inv.args.count > 3 { throw .syntax }
    var count = -1
    if inv.args.count == 3 {
        guard let value = inv.args[2].parseInt64(), value >= 0 else { throw .notPositive }
        count = Int(value)
    }
    let key = inv.args[1]
    guard let zset = try inv.zsetForWrite(key) else { return inv.reply.array(0) }
    if count == 0 || zset.isEmpty { return inv.reply.array(0) }
    let popped = try inv.popSortedSet(keys: CollectionOfOne(key), max: max, count: count == -1 ? 1 : count)
    let elements = popped?.elements ?? []
    if count == -1 || !inv.reply.resp3 {
        inv.reply.array(elements.count * 2)
        for (member, score) in elements {
            inv.reply.bulk(member)
            inv.reply.double(score)
        }
    } else {
        SortedSetPop.writeElements(&inv.reply, elements, pairs: true)
    }
}

/// The arguments of ZMPOP and BZMPOP: `numkeys key... MIN|MAX [COUNT count]`.
struct ZMPopRequest {
    /// The argument positions of the keys.
    var keys: Range<Int>
    var max: Bool
    var count: Int

    /// Parses from `numkeysIndex` (1 for ZMPOP, 2 for BZMPOP), as `zmpopGenericCommand`.
    static func parse(_ inv: Invocation, numkeysIndex: Int) throws(RedisError) -> ZMPopRequest {
        guard let numkeys = inv.args[numkeysIndex].parseInt64(), numkeys >= 1 else {
            throw RedisError("ERR numkeys should be greater than 0")
        }
        let whereIndex = numkeysIndex + 1 + Int(min(numkeys, Int64(inv.args.count)))
        if whereIndex >= inv.args.count { throw .syntax }
        let max: Bool
        if inv.isKeyword(whereIndex, "MIN") {
            max = false
        } else if inv.isKeyword(whereIndex, "MAX") {
            max = true
        } else {
            throw .syntax
        }
        var count: Int64 = -1
        var j = whereIndex + 1
        while j < inv.args.count {
            if count == -1 && inv.isKeyword(j, "COUNT") && j + 1 < inv.args.count {
                guard let value = inv.args[j + 1].parseInt64(), value >= 1 else {
                    throw RedisError("ERR count should be greater than 0")
                }
                count = value
                j += 2
            } else {
                throw .syntax
            }
        }
        return ZMPopRequest(
            keys: (numkeysIndex + 1)..<whereIndex, max: max, count: count == -1 ? 1 : Int(clamping: count))
    }
}

/// The non-blocking pop shared by ZPOPMIN/ZPOPMAX, ZMPOP and (for the blocking engineer) BZPOPMIN, BZPOPMAX
/// and BZMPOP.
enum SortedSetPop {
    /// Pops up to `count` (≥ 1) lowest (or highest, `max`) members from the first of `keys` that exists, as Redis's
    /// `genericZpopCommand`: missing keys are skipped; if the first existing key is not a sorted set, WRONGTYPE.
    /// Records the effects: the key is touched, deleted when emptied, and the change propagates as
    /// `ZPOPMIN|ZPOPMAX key count`. Returns nil (and changes nothing) when every key is missing.
    static func pop(
        keys: some Sequence<ByteBuffer>, max: Bool, count: Int, db: Database, dbIndex: Int, now: Int64,
        effects: inout Effects
    ) throws(RedisError) -> (key: ByteBuffer, elements: [(member: ByteBuffer, score: Double)])? {
        for key in keys {
            guard let object = db.lookup(key, now: now, effects: &effects) else { continue }
            guard case .zset(let zset) = object else { throw .wrongType }
            var elements: [(member: ByteBuffer, score: Double)] = []
            let total = min(count, zset.count)
            elements.reserveCapacity(total)
            for _ in 0..<total {
                guard let node = max ? zset.tree.last : zset.tree.first else { break }
                elements.append((node.member.buffer, node.score))
                zset.remove(node.entry)
            }
            if zset.isEmpty { db.remove(key) }
            effects.modified(key: key, db: dbIndex)
            var countText = ByteBuffer()
            countText.writeDecimal(Int64(Swift.max(count, 1)))
            effects.propagate(db: dbIndex, [ByteBuffer(string: max ? "ZPOPMAX" : "ZPOPMIN"), key, countText])
            return (key, elements)
        }
        return nil
    }

    /// Writes a pop result as ZMPOP/BZMPOP reply it (`nested`: `[key, [[member, score]...]]`, nested in RESP2
    /// too) or as BZPOPMIN/BZPOPMAX do (`[key, member, score]`).
    static func writeReply(
        _ reply: inout ReplyWriter, key: ByteBuffer, elements: [(member: ByteBuffer, score: Double)], nested: Bool
    ) {
        if nested {
            reply.array(2)
            reply.bulk(key)
            writeElements(&reply, elements, pairs: true)
        } else {
            reply.array(elements.count * 2 + 1)
            reply.bulk(key)
            for (member, score) in elements {
                reply.bulk(member)
                reply.double(score)
            }
        }
    }

    /// Writes popped elements as an array of `[member, score]` pairs (`pairs`) or a flat array.
    static func writeElements(
        _ reply: inout ReplyWriter, _ elements: [(member: ByteBuffer, score: Double)], pairs: Bool
    ) {
        reply.array(pairs ? elements.count : elements.count * 2)
        for (member, score) in elements {
            if pairs { reply.array(2) }
            reply.bulk(member)
            reply.double(score)
        }
    }
}

extension Invocation {
    /// `SortedSetPop.pop` on the selected database, recording the effects in this invocation.
    mutating func popSortedSet(keys: some Sequence<ByteBuffer>, max: Bool, count: Int) throws(RedisError)
        -> (key: ByteBuffer, elements: [(member: ByteBuffer, score: Double)])?
    {
        try SortedSetPop.pop(
            keys: keys, max: max, count: count, db: db, dbIndex: session.db, now: now, effects: &effects)
    }

    /// The sorted set at `key` for reading (nil if missing), or WRONGTYPE.
    mutating func zsetForRead(_ key: ByteBuffer) throws(RedisError) -> ZSetObject? {
        switch lookupRead(key) {
        case nil: return nil
        case .zset(let zset)?: return zset
        default: throw .wrongType
        }
    }

    /// The sorted set at `key` for writing (nil if missing), or WRONGTYPE.
    mutating func zsetForWrite(_ key: ByteBuffer) throws(RedisError) -> ZSetObject? {
        switch lookupWrite(key) {
        case nil: return nil
        case .zset(let zset)?: return zset
        default: throw .wrongType
        }
    }
}

// MARK: - ZRANDMEMBER

/// ZRANDMEMBER with a count, as `zrandmemberWithCountCommand`.
private func zsetRandomMembers(_ inv: inout Invocation, count requested: Int64, withScores: Bool) throws(RedisError) {
    guard let zset = try inv.zsetForRead(inv.args[1]) else { return inv.reply.array(0) }
    if requested == 0 { return inv.reply.array(0) }
    let size = zset.count
    var random = FastRandom()
    func header(_ reply: inout ReplyWriter, _ count: Int) {
        reply.array(withScores && !reply.resp3 ? count * 2 : count)
    }
    func emit(_ reply: inout ReplyWriter, _ member: CompactBytes, _ score: Double) {
        if withScores && reply.resp3 { reply.array(2) }
        reply.bulk(member)
        if withScores { reply.double(score) }
    }
    if requested < 0 || requested == 1 {
        let count = Int(requested.magnitude)
        header(&inv.reply, count)
        for _ in 0..<count {
            let entry = zset.entry(at: random.index(below: size))
            emit(&inv.reply, entry.member, entry.score)
        }
        return
    }
    if requested >= size {
        // Redis's zset iterator (zuiNext) walks from the highest score down.
        header(&inv.reply, size)
        var node = zset.tree.last
        while let current = node {
            emit(&inv.reply, current.member, current.score)
            node = current.previous
        }
        return
    }
    let picks = random.distinctIndices(Int(requested), below: size)
    header(&inv.reply, picks.count)
    for index in picks {
        let entry = zset.entry(at: index)
        emit(&inv.reply, entry.member, entry.score)
    }
}

// MARK: - ZUNION / ZINTER / ZDIFF (and STORE, ZINTERCARD)

private enum ZSetOperation { case union, intersection, difference }
private enum ZAggregate { case sum, min, max }

/// An input of ZUNION/ZINTER/ZDIFF: a sorted set, or a set whose members all score 1.
private struct ZSetSource {
    enum Subject {
        case zset(ZSetObject)
        case set(SetObject)
    }
    var subject: Subject?
    var weight = 1.0

    var count: Int {
        switch subject {
        case .zset(let zset)?: return zset.count
        case .set(let set)?: return set.count
        case nil: return 0
        }
    }

    func score(of member: ByteBuffer) -> Double? {
        switch subject {
        case .zset(let zset)?: return zset.score(of: member)
        case .set(let set)?: return set.contains(member) ? 1 : nil
        case nil: return nil
        }
    }

    func isSameObject(as other: ZSetSource) -> Bool {
        switch (subject, other.subject) {
        case (.zset(let a)?, .zset(let b)?): return a === b
        case (.set(let a)?, .set(let b)?): return a === b
        default: return false
        }
    }

    func forEach(_ body: (ByteBuffer, Double) -> Void) {
        switch subject {
        case .zset(let zset)?: zset.forEach { body($0.buffer, $1) }
        case .set(let set)?: set.forEach { body($0, 1) }
        case nil: break
        }
    }
}

@inline(__always)
private func aggregate(_ target: inout Double, _ value: Double, _ mode: ZAggregate) {
    switch mode {
    case .sum:
        target += value
        if target.isNaN { target = 0 }
    case .min:
        target = value < target ? value : target
    case .max:
        target = value > target ? value : target
    }
}

/// `zunionInterDiffGenericCommand`.
private func zsetAlgebra(
    _ inv: inout Invocation, destination: ByteBuffer?, numkeysIndex: Int, operation: ZSetOperation,
    cardinalityOnly: Bool
) throws(RedisError) {
    let numkeys = try inv.integer(numkeysIndex)
    if numkeys < 1 { throw RedisError("ERR at least 1 input key is needed for '\(inv.name)' command") }
    if numkeys > Int64(inv.args.count - (numkeysIndex + 1)) { throw .syntax }
    let setCount = Int(numkeys)
    var sources: [ZSetSource] = []
    sources.reserveCapacity(setCount)
    var j = numkeysIndex + 1
    for _ in 0..<setCount {
        switch inv.lookupRead(inv.args[j]) {
        case nil: sources.append(ZSetSource(subject: nil))
        case .zset(let zset)?: sources.append(ZSetSource(subject: .zset(zset)))
        case .set(let set)?: sources.append(ZSetSource(subject: .set(set)))
        default: throw .wrongType
        }
        j += 1
    }
    var mode = ZAggregate.sum
    var withScores = false
    var limit: Int64 = 0
    while j < inv.args.count {
        let remaining = inv.args.count - j
        if operation != .difference && !cardinalityOnly && remaining >= setCount + 1 && inv.isKeyword(j, "WEIGHTS") {
            j += 1
            for i in 0..<setCount {
                guard let weight = ZScoreParser.parse(inv.args[j]) else {
                    throw RedisError("ERR weight value is not a float")
                }
                sources[i].weight = weight
                j += 1
            }
        } else if operation != .difference && !cardinalityOnly && remaining >= 2 && inv.isKeyword(j, "AGGREGATE") {
            if inv.isKeyword(j + 1, "SUM") {
                mode = .sum
            } else if inv.isKeyword(j + 1, "MIN") {
                mode = .min
            } else if inv.isKeyword(j + 1, "MAX") {
                mode = .max
            } else {
                throw .syntax
            }
            j += 2
        } else if destination == nil && !cardinalityOnly && inv.isKeyword(j, "WITHSCORES") {
            withScores = true
            j += 1
        } else if cardinalityOnly && remaining >= 2 && inv.isKeyword(j, "LIMIT") {
            guard let value = inv.args[j + 1].parseInt64(), value >= 0 else {
                throw RedisError("ERR LIMIT can't be negative")
            }
            limit = value
            j += 2
        } else {
            throw .syntax
        }
    }

    if operation != .difference {
        // A stable sort by cardinality, as glibc's qsort (a merge sort) gives Redis.
        sources = sources.enumerated().sorted { ($0.element.count, $0.offset) < ($1.element.count, $1.offset) }
            .map(\.element)
    }

    let result = ZSetObject(sizeHint: Int.max)
    var maxMemberLength = 0
    var cardinality: Int64 = 0
    switch operation {
    case .intersection:
        let first = sources[0]
        if first.count > 0 {
            var done = false
            first.forEach { member, score in
                if done { return }
                var total = first.weight * score
                if total.isNaN { total = 0 }
                for other in sources.dropFirst() {
                    if other.isSameObject(as: first) {
                        aggregate(&total, score * other.weight, mode)
                    } else if let value = other.score(of: member) {
                        aggregate(&total, value * other.weight, mode)
                    } else {
                        return
                    }
                }
                if cardinalityOnly {
                    cardinality += 1
                    if limit > 0 && cardinality >= limit { done = true }
                } else {
                    result.insertNew(member, score: total)
                    maxMemberLength = max(maxMemberLength, member.readableBytes)
                }
            }
        }
    case .union:
        var accumulator: [ByteBuffer: Double] = [:]
        accumulator.reserveCapacity(sources.last?.count ?? 0)
        for source in sources where source.count > 0 {
            source.forEach { member, score in
                var value = source.weight * score
                if value.isNaN { value = 0 }
                if let index = accumulator.index(forKey: member) {
                    aggregate(&accumulator.values[index], value, mode)
                } else {
                    accumulator[member] = value
                    maxMemberLength = max(maxMemberLength, member.readableBytes)
                }
            }
        }
        for (member, score) in accumulator { result.insertNew(member, score: score) }
    case .difference:
        let first = sources[0]
        let others = sources.dropFirst().filter { $0.subject != nil }
        if first.count > 0 && !others.contains(where: { $0.isSameObject(as: first) }) {
            first.forEach { member, score in
                for other in others where other.score(of: member) != nil { return }
                result.insertNew(member, score: score)
                maxMemberLength = max(maxMemberLength, member.readableBytes)
            }
        }
    }

    if cardinalityOnly { return inv.reply.integer(cardinality) }
    if let destination {
        if result.isEmpty {
            if inv.db.remove(destination) {
                inv.touched(destination)
                inv.propagateAsIs()
            }
            return inv.reply.integer(0)
        }
        result.convertToListpackIfNeeded(maxMemberLength: maxMemberLength)
        inv.db.insert(destination, .zset(result))
        inv.touched(destination)
        inv.propagateAsIs()
        inv.effects.signalReady(key: destination, db: inv.session.db)
        return inv.reply.integer(result.count)
    }
    inv.reply.array(withScores && !inv.reply.resp3 ? result.count * 2 : result.count)
    result.forEach { member, score in
        if withScores && inv.reply.resp3 { inv.reply.array(2) }
        inv.reply.bulk(member)
        if withScores { inv.reply.double(score) }
    }
}
