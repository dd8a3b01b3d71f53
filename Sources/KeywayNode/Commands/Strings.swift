import Foundation
import NIOCore
import RESP

/// String commands: GET SET SETNX SETEX PSETEX GETSET GETDEL GETEX MGET MSET MSETNX INCR DECR INCRBY DECRBY
/// INCRBYFLOAT APPEND STRLEN GETRANGE SUBSTR SETRANGE LCS, with Redis 7.0's options, errors and propagation.
func registerStringCommands(_ handlers: inout CommandHandlers) {
    handlers.register("get") { (inv: inout Invocation) throws(RedisError) in
        switch inv.lookupRead(inv.args[1]) {
        case nil: inv.reply.null()
        case .string(let value)?: inv.reply.bulk(value)
        default: throw .wrongType
        }
    }
    handlers.register("set") { (inv: inout Invocation) throws(RedisError) in
        let options = try StringOptions.parse(inv, from: 3, forSet: true)
        try setGeneric(&inv, key: inv.args[1], value: inv.args[2], options: options, expireIndex: options.expireIndex)
    }
    handlers.register("setnx") { (inv: inout Invocation) throws(RedisError) in
        let key = inv.args[1]
        if inv.lookupWrite(key) != nil {
            inv.reply.integer(0)
            return
        }
        inv.db.insert(key, .string(CompactBytes(compacting: inv.args[2])))
        inv.touched(key)
        inv.propagateAsIs()
        inv.reply.integer(1)
    }
    handlers.register("setex") { (inv: inout Invocation) throws(RedisError) in
        var options = StringOptions()
        options.expire = .ex
        try setGeneric(&inv, key: inv.args[1], value: inv.args[3], options: options, expireIndex: 2)
    }
    handlers.register("psetex") { (inv: inout Invocation) throws(RedisError) in
        var options = StringOptions()
        options.expire = .px
        try setGeneric(&inv, key: inv.args[1], value: inv.args[3], options: options, expireIndex: 2)
    }
    handlers.register("getset") { (inv: inout Invocation) throws(RedisError) in
        let key = inv.args[1]
        try replyStringValue(&inv, inv.lookupRead(key))
        inv.db.insert(key, .string(CompactBytes(compacting: inv.args[2])))
        inv.touched(key)
        inv.propagate([ByteBuffer(string: "SET"), key, inv.args[2]])
    }
    handlers.register("getdel") { (inv: inout Invocation) throws(RedisError) in
        let key = inv.args[1]
        let existing = inv.lookupRead(key)
        try replyStringValue(&inv, existing)
        guard existing != nil else { return }
        inv.db.remove(key)
        inv.touched(key)
        inv.propagate([ByteBuffer(string: "DEL"), key])
    }
    handlers.register("getex") { (inv: inout Invocation) throws(RedisError) in
        let options = try StringOptions.parse(inv, from: 2, forSet: false)
        let key = inv.args[1]
        guard let existing = inv.lookupRead(key) else {
            inv.reply.null()
            return
        }
        guard case .string(let value) = existing else { throw .wrongType }
        var when: Int64 = 0
        if let kind = options.expire { when = try expireTime(inv, options.expireIndex, kind) }
        inv.reply.bulk(value)
        if let kind = options.expire, kind == .exat || kind == .pxat, when <= inv.now {
            inv.db.remove(key)
            inv.touched(key)
            inv.propagate([ByteBuffer(string: "DEL"), key])
        } else if options.expire != nil {
            inv.db.setExpiry(key, at: when)
            inv.touched(key)
            inv.propagate([ByteBuffer(string: "PEXPIREAT"), key, ByteBuffer(string: String(when))])
        } else if options.persist {
            if inv.db.removeExpiry(key) {
                inv.touched(key)
                inv.propagate([ByteBuffer(string: "PERSIST"), key])
            }
        }
    }
    handlers.register("mget") { (inv: inout Invocation) throws(RedisError) in
        inv.reply.array(inv.args.count - 1)
        for i in 1..<inv.args.count {
            if case .string(let value)? = inv.lookupRead(inv.args[i]) {
                inv.reply.bulk(value)
            } else {
                inv.reply.null()
            }
        }
    }
    handlers.register("mset") { (inv: inout Invocation) throws(RedisError) in
        guard inv.args.count % 2 == 1 else { throw .wrongArity("mset") }
        for i in stride(from: 1, to: inv.args.count, by: 2) {
            inv.db.insert(inv.args[i], .string(CompactBytes(compacting: inv.args[i + 1])))
            inv.touched(inv.args[i])
        }
        inv.propagateAsIs()
        inv.reply.ok()
    }
    handlers.register("msetnx") { (inv: inout Invocation) throws(RedisError) in
        guard inv.args.count % 2 == 1 else { throw .wrongArity("msetnx") }
        for i in stride(from: 1, to: inv.args.count, by: 2) where inv.lookupWrite(inv.args[i]) != nil {
            inv.reply.integer(0)
            return
        }
        for i in stride(from: 1, to: inv.args.count, by: 2) {
            inv.db.insert(inv.args[i], .string(CompactBytes(compacting: inv.args[i + 1])))
            inv.touched(inv.args[i])
        }
        inv.propagateAsIs()
        inv.reply.integer(1)
    }
    handlers.register("incr") { (inv: inout Invocation) throws(RedisError) in
        try incrementBy(&inv, 1)
    }
    handlers.register("decr") { (inv: inout Invocation) throws(RedisError) in
        try incrementBy(&inv, -1)
    }
    handlers.register("incrby") { (inv: inout Invocation) throws(RedisError) in
        try incrementBy(&inv, inv.integer(2))
    }
    handlers.register("decrby") { (inv: inout Invocation) throws(RedisError) in
        let decrement = try inv.integer(2)
        guard decrement != Int64.min else { throw RedisError("ERR decrement would overflow") }
        try incrementBy(&inv, -decrement)
    }
    handlers.register("incrbyfloat") { (inv: inout Invocation) throws(RedisError) in
        let key = inv.args[1]
        let existing = inv.lookupWrite(key)
        var current: Float80 = 0
        switch existing {
        case nil: break
        case .string(let value)?:
            guard let parsed = LongDouble.parse(value.buffer) else { throw .notFloat }
            current = parsed
        default: throw .wrongType
        }
        guard let increment = LongDouble.parse(inv.args[2]) else { throw .notFloat }
        let result = current + increment
        guard result.isFinite else { throw RedisError("ERR increment would produce NaN or Infinity") }
        let text = LongDouble.formatHumanFriendly(result)
        let stored = StringEncoding.embstrValue(text)
        inv.db.insert(key, .string(.buffer(stored)), keepTTL: true)
        inv.touched(key)
        inv.reply.bulk(stored)
        inv.propagate([ByteBuffer(string: "SET"), key, stored, ByteBuffer(string: "KEEPTTL")])
    }
    handlers.register("append") { (inv: inout Invocation) throws(RedisError) in
        let key = inv.args[1]
        let suffix = inv.args[2]
        let total: Int
        if var value = try detachString(&inv, key) {
            do throws(RedisError) {
                try checkStringLength(inv, value.readableBytes, suffix.readableBytes)
            } catch {
                inv.db.set(key, .string(.buffer(value)), keepTTL: true)
                throw error
            }
            if value.readerIndex != 1 {
                value = StringEncoding.rawValue(value, extraCapacity: suffix.readableBytes)
            }
            value.writeImmutableBuffer(suffix)
            total = value.readableBytes
            inv.db.set(key, .string(.buffer(value)), keepTTL: true)
        } else {
            inv.db.insert(key, .string(CompactBytes(compacting: suffix)))
            total = suffix.readableBytes
        }
        inv.touched(key)
        inv.propagateAsIs()
        inv.reply.integer(total)
    }
    handlers.register("strlen") { (inv: inout Invocation) throws(RedisError) in
        switch inv.lookupRead(inv.args[1]) {
        case nil: inv.reply.integer(0)
        case .string(let value)?: inv.reply.integer(value.readableBytes)
        default: throw .wrongType
        }
    }
    handlers.register("getrange", getRange)
    handlers.register("substr", getRange)
    handlers.register("setrange") { (inv: inout Invocation) throws(RedisError) in
        let key = inv.args[1]
        let offset = try inv.integer(2)
        guard offset >= 0 else { throw RedisError("ERR offset is out of range") }
        let patch = inv.args[3]
        /// Writes the patch at `offset`, zero-padding the string first if it is shorter.
        func apply(_ value: inout ByteBuffer) {
            let end = Int(offset) + patch.readableBytes
            if end > value.readableBytes { value.writeRepeatingByte(0, count: end - value.readableBytes) }
            value.setBytes(patch.readableBytesView, at: value.readerIndex + Int(offset))
        }
        let length: Int
        if var value = try detachString(&inv, key) {
            do throws(RedisError) {
                guard patch.readableBytes > 0 else {
                    inv.db.set(key, .string(.buffer(value)), keepTTL: true)
                    inv.reply.integer(value.readableBytes)
                    return
                }
                try checkStringLength(inv, offset, Int64(patch.readableBytes))
            } catch {
                inv.db.set(key, .string(.buffer(value)), keepTTL: true)
                throw error
            }
            if value.readerIndex != 1 {
                let growth = max(0, Int(offset) + patch.readableBytes - value.readableBytes)
                value = StringEncoding.rawValue(value, extraCapacity: growth)
            }
            apply(&value)
            length = value.readableBytes
            inv.db.set(key, .string(.buffer(value)), keepTTL: true)
        } else {
            guard patch.readableBytes > 0 else {
                inv.reply.integer(0)
                return
            }
            try checkStringLength(inv, offset, Int64(patch.readableBytes))
            var value = StringEncoding.rawValue(ByteBuffer(), extraCapacity: Int(offset) + patch.readableBytes)
            apply(&value)
            length = value.readableBytes
            inv.db.insert(key, .string(.buffer(value)))
        }
        inv.touched(key)
        inv.propagateAsIs()
        inv.reply.integer(length)
    }
    handlers.register("lcs") { (inv: inout Invocation) throws(RedisError) in
        try longestCommonSubsequence(&inv)
    }
}

// MARK: - SET and its options

/// SET/GETEX options as `parseExtendedStringArgumentsOrReply` accepts them (same conflicts, same errors).
private struct StringOptions {
    enum Expire { case ex, px, exat, pxat }

    var nx = false
    var xx = false
    var get = false
    var keepTTL = false
    var persist = false
    var expire: Expire?
    /// The argument holding the expire time.
    var expireIndex = 0

    static func parse(_ inv: Invocation, from start: Int, forSet: Bool) throws(RedisError) -> StringOptions {
        var o = StringOptions()
        var j = start
        while j < inv.args.count {
            let hasNext = j + 1 < inv.args.count
            if forSet && !o.xx && inv.isKeyword(j, "NX") {
                o.nx = true
            } else if forSet && !o.nx && inv.isKeyword(j, "XX") {
                o.xx = true
            } else if forSet && inv.isKeyword(j, "GET") {
                o.get = true
            } else if forSet && !o.persist && o.expire == nil && inv.isKeyword(j, "KEEPTTL") {
                o.keepTTL = true
            } else if !forSet && o.expire == nil && !o.keepTTL && inv.isKeyword(j, "PERSIST") {
                o.persist = true
            } else if let kind = expireKeyword(inv, j), !o.keepTTL, !o.persist, o.expire == nil || o.expire == kind,
                hasNext
            {
                o.expire = kind
                o.expireIndex = j + 1
                j += 1
            } else {
                throw .syntax
            }
            j += 1
        }
        return o
    }

    private static func expireKeyword(_ inv: Invocation, _ j: Int) -> Expire? {
        if inv.isKeyword(j, "EX") { return .ex }
        if inv.isKeyword(j, "PX") { return .px }
        if inv.isKeyword(j, "EXAT") { return .exat }
        if inv.isKeyword(j, "PXAT") { return .pxat }
        return nil
    }
}

/// `getExpireMillisecondsOrReply`: the absolute expire time in ms, or the command's invalid-expire error.
private func expireTime(_ inv: Invocation, _ index: Int, _ kind: StringOptions.Expire) throws(RedisError) -> Int64 {
    var ms = try inv.integer(index)
    let seconds = kind == .ex || kind == .exat
    if ms <= 0 || (seconds && ms > Int64.max / 1000) { throw .invalidExpireTime(inv.name) }
    if seconds { ms *= 1000 }
    if kind == .ex || kind == .px { ms = ms &+ inv.now }
    if ms <= 0 { throw .invalidExpireTime(inv.name) }
    return ms
}

/// `setGenericCommand`: SET with options, SETEX and PSETEX.
private func setGeneric(
    _ inv: inout Invocation, key: ByteBuffer, value: ByteBuffer, options: StringOptions, expireIndex: Int
) throws(RedisError) {
    var when: Int64?
    if let kind = options.expire { when = try expireTime(inv, expireIndex, kind) }
    // A plain SET replaces whatever is there (value and expiry), so it needs no lookup first.
    if options.nx || options.xx || options.get || options.keepTTL {
        let existing = options.get ? inv.lookupRead(key) : inv.lookupWrite(key)
        if options.get { try replyStringValue(&inv, existing) }
        let found = existing != nil
        if (options.nx && found) || (options.xx && !found) {
            if !options.get { inv.reply.null() }
            return
        }
    }
    inv.db.insert(key, .string(CompactBytes(compacting: value)), keepTTL: options.keepTTL)
    if let when { inv.db.setExpiry(key, at: when) }
    inv.touched(key)
    if let when {
        let at = ByteBuffer(string: String(when))
        inv.propagate([ByteBuffer(string: "SET"), key, value, ByteBuffer(string: "PXAT"), at])
    } else if options.get {
        // Without GET (which may be repeated), as Redis rewrites it.
        let kept = inv.args.enumerated().filter { $0.offset < 3 || !$0.element.equalsIgnoringASCIICase("GET") }
        inv.propagate(kept.map(\.element))
    } else {
        inv.propagateAsIs()
    }
    if !options.get { inv.reply.ok() }
}

/// Takes the string value of `key` out of the database for an in-place update: the database holds an empty
/// placeholder (keeping the key's expiry) until the caller stores the result, so the returned buffer is the
/// only reference to its storage and grows without being copied. Nil if the key does not exist.
private func detachString(_ inv: inout Invocation, _ key: ByteBuffer) throws(RedisError) -> ByteBuffer? {
    let value: ByteBuffer
    switch inv.lookupWrite(key) {
    case nil: return nil
    case .string(let stored)?: value = stored.buffer
    default: throw .wrongType
    }
    inv.db.set(key, .string(.inline(0, 0, 0, 0)), keepTTL: true)
    return value
}

/// Replies a string value or a null; WRONGTYPE for other types (`getGenericCommand`).
private func replyStringValue(_ inv: inout Invocation, _ object: RedisObject?) throws(RedisError) {
    switch object {
    case nil: inv.reply.null()
    case .string(let value)?: inv.reply.bulk(value)
    default: throw .wrongType
    }
}

/// `checkStringLength`: the result may not exceed `proto-max-bulk-len`.
private func checkStringLength(
    _ inv: Invocation, _ size: some BinaryInteger, _ append: some BinaryInteger
) throws(RedisError) {
    let (total, overflow) = Int64(size).addingReportingOverflow(Int64(append))
    if overflow || total > Int64(inv.node.configuration.protocolLimits.maxBulkLength) {
        throw RedisError("ERR string exceeds maximum allowed size (proto-max-bulk-len)")
    }
}

// MARK: - Counters

/// `incrDecrCommand`.
private func incrementBy(_ inv: inout Invocation, _ increment: Int64) throws(RedisError) {
    let key = inv.args[1]
    var current: Int64 = 0
    let db = inv.db
    let position = db.position(of: key, now: inv.now, effects: &inv.effects)
    if let position {
        guard case .string(let value) = db.value(at: position) else { throw .wrongType }
        guard let parsed = value.parseInt64() else { throw .notInteger }
        current = parsed
    }
    if (increment < 0 && current < 0 && increment < Int64.min - current)
        || (increment > 0 && current > 0 && increment > Int64.max - current)
    {
        throw .overflow
    }
    let result = current + increment
    // The decimal form of any Int64 is stored inline: no allocation.
    if let position {
        db.replaceValue(at: position, with: .string(CompactBytes(decimal: result)))
    } else {
        db.insert(key, .string(CompactBytes(decimal: result)), keepTTL: true)
    }
    inv.touched(key)
    inv.propagateAsIs()
    inv.reply.integer(result)
}

/// INCRBYFLOAT's arithmetic in C's `long double`, parsed and printed as Redis does.
enum LongDouble {
    /// `string2ld`: strtold on the whole argument; no leading space, no trailing garbage, no overflow or
    /// underflow to zero, no NaN.
    static func parse(_ buffer: ByteBuffer) -> Float80? {
        let count = buffer.readableBytes
        guard count > 0, count < 5 * 1024 else { return nil }
        var bytes = [CChar](repeating: 0, count: count + 1)
        buffer.withUnsafeReadableBytes { raw in
            for i in 0..<count { bytes[i] = CChar(bitPattern: raw[i]) }
        }
        let first = UInt8(bitPattern: bytes[0])
        if first == 32 || (first >= 9 && first <= 13) { return nil }
        return bytes.withUnsafeMutableBufferPointer { pointer -> Float80? in
            guard let base = pointer.baseAddress else { return nil }
            var end: UnsafeMutablePointer<CChar>?
            errno = 0
            let value = strtold(base, &end)
            // The whole argument must be consumed: a NUL inside it is not an end (Redis checks eptr - buf == slen).
            guard let end, end == base + count else { return nil }
            if errno == ERANGE && (value.isInfinite || value == 0) { return nil }
            if value.isNaN { return nil }
            return value
        }
    }

    /// `ld2string(..., LD_STR_HUMAN)`: `%.17Lf` without trailing zeros (and "-0" as "0").
    static func formatHumanFriendly(_ value: Float80) -> String {
        if value.isInfinite { return value > 0 ? "inf" : "-inf" }
        let capacity = 5 * 1024 + 32
        var buffer = [CChar](repeating: 0, count: capacity)
        let length = buffer.withUnsafeMutableBufferPointer { out in
            withVaList([value]) { vsnprintf(out.baseAddress, capacity, "%.17Lf", $0) }
        }
        guard length > 0, Int(length) < capacity else { return "0" }
        var end = Int(length)
        if buffer[0..<end].contains(CChar(UInt8(ascii: "."))) {
            while end > 0 && buffer[end - 1] == CChar(UInt8(ascii: "0")) { end -= 1 }
            if end > 0 && buffer[end - 1] == CChar(UInt8(ascii: ".")) { end -= 1 }
        }
        if end == 2 && buffer[0] == CChar(UInt8(ascii: "-")) && buffer[1] == CChar(UInt8(ascii: "0")) { return "0" }
        return String(decoding: buffer[0..<end].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

// MARK: - Ranges

/// GETRANGE (and its old name SUBSTR).
private func getRange(_ inv: inout Invocation) throws(RedisError) {
    var start = try inv.integer(2)
    var end = try inv.integer(3)
    let value: ByteBuffer
    switch inv.lookupRead(inv.args[1]) {
    case nil:
        inv.reply.bulk(ByteBuffer())
        return
    case .string(let v)?: value = v.buffer
    default: throw .wrongType
    }
    let length = Int64(value.readableBytes)
    if start < 0 && end < 0 && start > end {
        inv.reply.bulk(ByteBuffer())
        return
    }
    if start < 0 { start = length + start }
    if end < 0 { end = length + end }
    if start < 0 { start = 0 }
    if end < 0 { end = 0 }
    if end >= length { end = length - 1 }
    if start > end || length == 0 {
        inv.reply.bulk(ByteBuffer())
        return
    }
    inv.reply.bulk(value.getSlice(at: value.readerIndex + Int(start), length: Int(end - start + 1)) ?? ByteBuffer())
}

/// LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN] (Redis 7.0's algorithm and reply shapes).
private func longestCommonSubsequence(_ inv: inout Invocation) throws(RedisError) {
    let first = inv.lookupRead(inv.args[1])
    let second = inv.lookupRead(inv.args[2])
    var a = ByteBuffer()
    var b = ByteBuffer()
    switch (first, second) {
    case (.string(let x)?, .string(let y)?): (a, b) = (x.buffer, y.buffer)
    case (.string(let x)?, nil): a = x.buffer
    case (nil, .string(let y)?): b = y.buffer
    case (nil, nil): break
    default: throw RedisError("ERR The specified keys must contain string values")
    }
    var getIndexes = false
    var getLength = false
    var withMatchLength = false
    var minMatchLength: Int64 = 0
    var j = 3
    while j < inv.args.count {
        let more = inv.args.count - 1 - j
        if inv.isKeyword(j, "IDX") {
            getIndexes = true
        } else if inv.isKeyword(j, "LEN") {
            getLength = true
        } else if inv.isKeyword(j, "WITHMATCHLEN") {
            withMatchLength = true
        } else if inv.isKeyword(j, "MINMATCHLEN") && more > 0 {
            minMatchLength = max(0, try inv.integer(j + 1))
            j += 1
        } else {
            throw .syntax
        }
        j += 1
    }
    if getIndexes && getLength {
        throw RedisError("ERR If you want both the length and indexes, please just use IDX.")
    }
    let x = Array(a.readableBytesView)
    let y = Array(b.readableBytesView)
    let alen = x.count
    let blen = y.count
    let cells = (alen + 1) * (blen + 1)
    if cells * 4 > inv.node.configuration.protocolLimits.maxBulkLength {
        throw RedisError("ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len")
    }
    var table = [UInt32](repeating: 0, count: cells)
    let width = blen + 1
    if alen > 0 && blen > 0 {
        for i in 1...alen {
            for k in 1...blen {
                if x[i - 1] == y[k - 1] {
                    table[k + i * width] = table[(k - 1) + (i - 1) * width] + 1
                } else {
                    table[k + i * width] = max(table[k + (i - 1) * width], table[(k - 1) + i * width])
                }
            }
        }
    }
    let total = Int(table[blen + alen * width])
    var index = total
    var result = [UInt8](repeating: 0, count: total)
    var matches: [(aStart: Int, aEnd: Int, bStart: Int, bEnd: Int, length: Int)] = []
    var aRangeStart = alen
    var aRangeEnd = 0
    var bRangeStart = 0
    var bRangeEnd = 0
    var i = alen
    var k = blen
    let computeLCS = getIndexes || !getLength
    while computeLCS && i > 0 && k > 0 {
        var emitRange = false
        if x[i - 1] == y[k - 1] {
            result[index - 1] = x[i - 1]
            if aRangeStart == alen {
                aRangeStart = i - 1
                aRangeEnd = i - 1
                bRangeStart = k - 1
                bRangeEnd = k - 1
            } else if aRangeStart == i && bRangeStart == k {
                aRangeStart -= 1
                bRangeStart -= 1
            } else {
                emitRange = true
            }
            if aRangeStart == 0 || bRangeStart == 0 { emitRange = true }
            index -= 1
            i -= 1
            k -= 1
        } else {
            let up = table[k + (i - 1) * width]
            let left = table[(k - 1) + i * width]
            if up > left { i -= 1 } else { k -= 1 }
            if aRangeStart != alen { emitRange = true }
        }
        if emitRange {
            let matchLength = aRangeEnd - aRangeStart + 1
            if minMatchLength == 0 || Int64(matchLength) >= minMatchLength {
                matches.append((aRangeStart, aRangeEnd, bRangeStart, bRangeEnd, matchLength))
            }
            aRangeStart = alen
        }
    }
    if getIndexes {
        inv.reply.map(2)
        inv.reply.bulk("matches")
        inv.reply.array(matches.count)
        for match in matches {
            inv.reply.array(withMatchLength ? 3 : 2)
            inv.reply.array(2)
            inv.reply.integer(match.aStart)
            inv.reply.integer(match.aEnd)
            inv.reply.array(2)
            inv.reply.integer(match.bStart)
            inv.reply.integer(match.bEnd)
            if withMatchLength { inv.reply.integer(match.length) }
        }
        inv.reply.bulk("len")
        inv.reply.integer(total)
    } else if getLength {
        inv.reply.integer(total)
    } else {
        inv.reply.bulk(bytes: result)
    }
}
