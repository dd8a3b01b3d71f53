import Foundation
import NIOCore

/// Hash commands, with Redis 7.0's replies, errors and effects.
func registerHashCommands(_ handlers: inout CommandHandlers) {
    handlers.register("hset") { (inv: inout Invocation) throws(RedisError) in
        try hashSet(&inv, replyOK: false)
    }
    handlers.register("hmset") { (inv: inout Invocation) throws(RedisError) in
        try hashSet(&inv, replyOK: true)
    }

    handlers.register("hsetnx") { (inv: inout Invocation) throws(RedisError) in
        let key = inv.args[1]
        let hash = try inv.hashForWriteOrCreate(key)
        if hash[inv.args[2]] != nil { return inv.reply.integer(0) }
        hash.set(inv.args[2], inv.args[3])
        inv.touched(key)
        inv.propagateAsIs()
        inv.reply.integer(1)
    }

    handlers.register("hget") { (inv: inout Invocation) throws(RedisError) in
        guard let value = try inv.hashForRead(inv.args[1])?[inv.args[2]] else { return inv.reply.null() }
        inv.reply.bulk(value)
    }

    handlers.register("hmget") { (inv: inout Invocation) throws(RedisError) in
        let hash = try inv.hashForRead(inv.args[1])
        inv.reply.array(inv.args.count - 2)
        for i in 2..<inv.args.count {
            if let value = hash?[inv.args[i]] { inv.reply.bulk(value) } else { inv.reply.null() }
        }
    }

    handlers.register("hdel") { (inv: inout Invocation) throws(RedisError) in
        let key = inv.args[1]
        guard let hash = try inv.hashForWrite(key) else { return inv.reply.integer(0) }
        var deleted = 0
        for i in 2..<inv.args.count {
            if hash.remove(inv.args[i]) {
                deleted += 1
                if hash.isEmpty { break }
            }
        }
        if deleted > 0 {
            if hash.isEmpty { inv.db.remove(key) }
            inv.touched(key)
            inv.propagateAsIs()
        }
        inv.reply.integer(deleted)
    }

    handlers.register("hexists") { (inv: inout Invocation) throws(RedisError) in
        inv.reply.integer(try inv.hashForRead(inv.args[1])?[inv.args[2]] != nil ? 1 : 0)
    }

    handlers.register("hlen") { (inv: inout Invocation) throws(RedisError) in
        inv.reply.integer(try inv.hashForRead(inv.args[1])?.count ?? 0)
    }

    handlers.register("hstrlen") { (inv: inout Invocation) throws(RedisError) in
        inv.reply.integer(try inv.hashForRead(inv.args[1])?[inv.args[2]]?.readableBytes ?? 0)
    }

    handlers.register("hkeys") { (inv: inout Invocation) throws(RedisError) in
        guard let hash = try inv.hashForRead(inv.args[1]) else { return inv.reply.array(0) }
        inv.reply.array(hash.count)
        for field in hash.fieldNames { inv.reply.bulk(field) }
    }

    handlers.register("hvals") { (inv: inout Invocation) throws(RedisError) in
        guard let hash = try inv.hashForRead(inv.args[1]) else { return inv.reply.array(0) }
        inv.reply.array(hash.count)
        for value in hash.values { inv.reply.bulk(value) }
    }

    handlers.register("hgetall") { (inv: inout Invocation) throws(RedisError) in
        guard let hash = try inv.hashForRead(inv.args[1]) else { return inv.reply.map(0) }
        inv.reply.map(hash.count)
        for (field, value) in hash.fields {
            inv.reply.bulk(field)
            inv.reply.bulk(value)
        }
    }

    handlers.register("hincrby") { (inv: inout Invocation) throws(RedisError) in
        let increment = try inv.integer(3)
        let key = inv.args[1]
        let hash = try inv.hashForWriteOrCreate(key)
        var value: Int64 = 0
        if let current = hash[inv.args[2]] {
            guard let parsed = current.parseInt64() else { throw RedisError("ERR hash value is not an integer") }
            value = parsed
        }
        let (sum, overflow) = value.addingReportingOverflow(increment)
        if overflow { throw .overflow }
        var text = ByteBuffer()
        text.writeDecimal(sum)
        hash.set(inv.args[2], text)
        inv.touched(key)
        inv.propagateAsIs()
        inv.reply.integer(sum)
    }

    handlers.register("hincrbyfloat") { (inv: inout Invocation) throws(RedisError) in
        guard let increment = LongDouble.parse(inv.args[3]) else { throw .notFloat }
        if increment.isNaN || increment.isInfinite { throw RedisError("ERR value is NaN or Infinity") }
        let key = inv.args[1]
        let hash = try inv.hashForWriteOrCreate(key)
        var value: Float80 = 0
        if let current = hash[inv.args[2]] {
            guard let parsed = LongDouble.parse(current.buffer) else { throw RedisError("ERR hash value is not a float") }
            value = parsed
        }
        value += increment
        if value.isNaN || value.isInfinite { throw RedisError("ERR increment would produce NaN or Infinity") }
        let text = ByteBuffer(string: LongDouble.formatHumanFriendly(value))
        hash.set(inv.args[2], text)
        inv.touched(key)
        inv.propagate([ByteBuffer(string: "HSET"), key, inv.args[2], text])
        inv.reply.bulk(text)
    }

    handlers.register("hrandfield") { (inv: inout Invocation) throws(RedisError) in
        if inv.args.count >= 3 {
            let count = try inv.randomCount(2)
            var withValues = false
            if inv.args.count > 4 || (inv.args.count == 4 && !inv.isKeyword(3, "WITHVALUES")) { throw .syntax }
            if inv.args.count == 4 {
                withValues = true
                if count < -(Int64.max / 2) || count > Int64.max / 2 { throw RedisError("ERR value is out of range") }
            }
            return try hashRandomFields(&inv, count: count, withValues: withValues)
        }
        guard let hash = try inv.hashForRead(inv.args[1]) else { return inv.reply.null() }
        var random = FastRandom()
        inv.reply.bulk(hash.entry(at: random.index(below: hash.count)).field)
    }

    handlers.register("hscan") { (inv: inout Invocation) throws(RedisError) in
        let cursor = try CollectionScan.parseCursor(inv.args[2])
        guard let hash = try inv.hashForRead(inv.args[1]) else { return inv.reply.emptyScan() }
        let scan = try CollectionScan.parseOptions(inv, from: 3)
        var positions = 0..<hash.count
        var next: UInt64 = 0
        if !hash.isListpack {
            (positions, next) = scan.window(cursor: cursor, size: hash.count)
        }
        var found: [Int] = []
        for i in positions where scan.matches(hash.fieldNames[i]) { found.append(i) }
        inv.reply.array(2)
        inv.reply.bulk(cursor: next)
        inv.reply.array(found.count * 2)
        for i in found {
            let (field, value) = hash.entry(at: i)
            inv.reply.bulk(field)
            inv.reply.bulk(value)
        }
    }
}

/// HSET and HMSET.
private func hashSet(_ inv: inout Invocation, replyOK: Bool) throws(RedisError) {
    guard inv.args.count % 2 == 0 else { throw .wrongArity(inv.name) }
    let key = inv.args[1]
    let hash = try inv.hashForWriteOrCreate(key)
    var created = 0
    var i = 2
    while i < inv.args.count {
        if hash.set(inv.args[i], inv.args[i + 1]) { created += 1 }
        i += 2
    }
    // Redis's hsetCommand: one change per field given.
    inv.touched(key, changes: (inv.args.count - 2) / 2)
    inv.propagateAsIs()
    if replyOK { inv.reply.ok() } else { inv.reply.integer(created) }
}

/// HRANDFIELD with a count, as `hrandfieldWithCountCommand`.
private func hashRandomFields(_ inv: inout Invocation, count requested: Int64, withValues: Bool) throws(RedisError) {
    guard let hash = try inv.hashForRead(inv.args[1]) else { return inv.reply.array(0) }
    if requested == 0 { return inv.reply.array(0) }
    let size = hash.count
    var random = FastRandom()
    func emit(_ reply: inout ReplyWriter, _ index: Int) {
        let (field, value) = hash.entry(at: index)
        if withValues && reply.resp3 { reply.array(2) }
        reply.bulk(field)
        if withValues { reply.bulk(value) }
    }
    func header(_ reply: inout ReplyWriter, _ count: Int) {
        reply.array(withValues && !reply.resp3 ? count * 2 : count)
    }
    if requested < 0 || requested == 1 {
        let count = Int(requested.magnitude)
        header(&inv.reply, count)
        for _ in 0..<count { emit(&inv.reply, random.index(below: size)) }
        return
    }
    if requested >= size {
        header(&inv.reply, size)
        for i in 0..<size { emit(&inv.reply, i) }
        return
    }
    let picks = random.distinctIndices(Int(requested), below: size)
    header(&inv.reply, picks.count)
    for index in picks { emit(&inv.reply, index) }
}

extension Invocation {
    /// The hash at `key` for reading (nil if missing), or WRONGTYPE.
    mutating func hashForRead(_ key: ByteBuffer) throws(RedisError) -> HashObject? {
        switch lookupRead(key) {
        case nil: return nil
        case .hash(let hash)?: return hash
        default: throw .wrongType
        }
    }

    /// The hash at `key` for writing (nil if missing), or WRONGTYPE.
    mutating func hashForWrite(_ key: ByteBuffer) throws(RedisError) -> HashObject? {
        switch lookupWrite(key) {
        case nil: return nil
        case .hash(let hash)?: return hash
        default: throw .wrongType
        }
    }

    /// The hash at `key`, created empty if missing, or WRONGTYPE (`hashTypeLookupWriteOrCreate`).
    mutating func hashForWriteOrCreate(_ key: ByteBuffer) throws(RedisError) -> HashObject {
        if let hash = try hashForWrite(key) { return hash }
        let hash = HashObject()
        db.insert(key, .hash(hash))
        return hash
    }
}
