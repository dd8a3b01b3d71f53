import NIOConcurrencyHelpers
import NIOCore

/// Set commands, with Redis 7.0's replies, errors and effects.
func registerSetCommands(_ handlers: inout CommandHandlers) {
    handlers.register("sadd") { (inv: inout Invocation) throws(RedisError) in
        let key = inv.args[1]
        let set: SetObject
        if let existing = try inv.setForWrite(key) {
            set = existing
        } else {
            set = SetObject()
            inv.db.insert(key, .set(set))
        }
        var added = 0
        for i in 2..<inv.args.count where set.insert(inv.args[i]) { added += 1 }
        if added > 0 {
            inv.touched(key, changes: added)
            inv.propagateAsIs()
        }
        inv.reply.integer(added)
    }

    handlers.register("srem") { (inv: inout Invocation) throws(RedisError) in
        let key = inv.args[1]
        guard let set = try inv.setForWrite(key) else { return inv.reply.integer(0) }
        var removed = 0
        for i in 2..<inv.args.count {
            if set.remove(inv.args[i]) {
                removed += 1
                if set.isEmpty { break }
            }
        }
        if removed > 0 {
            if set.isEmpty { inv.db.remove(key) }
            inv.touched(key)
            inv.propagateAsIs()
        }
        inv.reply.integer(removed)
    }

    handlers.register("smembers") { (inv: inout Invocation) throws(RedisError) in
        guard let set = try inv.setForRead(inv.args[1]) else { return inv.reply.set(0) }
        inv.reply.set(set.count)
        set.forEachMember { inv.reply.bulk($0) }
    }

    handlers.register("sismember") { (inv: inout Invocation) throws(RedisError) in
        let set = try inv.setForRead(inv.args[1])
        inv.reply.integer(set?.contains(inv.args[2]) == true ? 1 : 0)
    }

    handlers.register("smismember") { (inv: inout Invocation) throws(RedisError) in
        let set = try inv.setForRead(inv.args[1])
        inv.reply.array(inv.args.count - 2)
        for i in 2..<inv.args.count { inv.reply.integer(set?.contains(inv.args[i]) == true ? 1 : 0) }
    }

    handlers.register("scard") { (inv: inout Invocation) throws(RedisError) in
        inv.reply.integer(try inv.setForRead(inv.args[1])?.count ?? 0)
    }

    handlers.register("spop") { (inv: inout Invocation) throws(RedisError) in
        if inv.args.count > 3 { throw .syntax }
        if inv.args.count == 3 { return try spopWithCount(&inv) }
        let key = inv.args[1]
        guard let set = try inv.setForWrite(key) else { return inv.reply.null() }
        var random = FastRandom()
        let member = set.remove(at: random.index(below: set.count)).buffer
        if set.isEmpty { inv.db.remove(key) }
        inv.touched(key)
        inv.propagate([sremCommandName, key, member])
        inv.reply.bulk(member)
    }

    handlers.register("srandmember") { (inv: inout Invocation) throws(RedisError) in
        if inv.args.count > 3 { throw .syntax }
        if inv.args.count == 3 { return try srandmemberWithCount(&inv) }
        guard let set = try inv.setForRead(inv.args[1]) else { return inv.reply.null() }
        var random = FastRandom()
        inv.reply.bulk(set.member(at: random.index(below: set.count)))
    }

    handlers.register("smove") { (inv: inout Invocation) throws(RedisError) in
        let source = inv.args[1]
        let destination = inv.args[2]
        let member = inv.args[3]
        let sourceObject = inv.lookupWrite(source)
        let destinationObject = inv.lookupWrite(destination)
        guard let sourceObject else { return inv.reply.integer(0) }
        guard case .set(let sourceSet) = sourceObject else { throw .wrongType }
        var destinationSet: SetObject?
        if let destinationObject {
            guard case .set(let set) = destinationObject else { throw .wrongType }
            destinationSet = set
        }
        if destinationSet === sourceSet {
            return inv.reply.integer(sourceSet.contains(member) ? 1 : 0)
        }
        guard sourceSet.remove(member) else { return inv.reply.integer(0) }
        if sourceSet.isEmpty { inv.db.remove(source) }
        let target: SetObject
        if let destinationSet {
            target = destinationSet
        } else {
            target = SetObject()
            inv.db.insert(destination, .set(target))
        }
        inv.touched(source)
        if target.insert(member) { inv.touched(destination) }
        inv.propagateAsIs()
        inv.reply.integer(1)
    }

    handlers.register("sinter") { (inv: inout Invocation) throws(RedisError) in
        try setIntersection(&inv, keys: 1..<inv.args.count, destination: nil, cardinalityLimit: nil)
    }
    handlers.register("sinterstore") { (inv: inout Invocation) throws(RedisError) in
        try setIntersection(&inv, keys: 2..<inv.args.count, destination: inv.args[1], cardinalityLimit: nil)
    }
    handlers.register("sintercard") { (inv: inout Invocation) throws(RedisError) in
        guard let numkeys = inv.args[1].parseInt64(), numkeys >= 1 else {
            throw RedisError("ERR numkeys should be greater than 0")
        }
        guard numkeys <= inv.args.count - 2 else {
            throw RedisError("ERR Number of keys can't be greater than number of args")
        }
        var limit = 0
        var i = 2 + Int(numkeys)
        while i < inv.args.count {
            if inv.isKeyword(i, "LIMIT") && i + 1 < inv.args.count {
                guard let value = inv.args[i + 1].parseInt64(), value >= 0 else {
                    throw RedisError("ERR LIMIT can't be negative")
                }
                limit = Int(value)
                i += 2
            } else {
                throw .syntax
            }
        }
        try setIntersection(&inv, keys: 2..<(2 + Int(numkeys)), destination: nil, cardinalityLimit: limit)
    }

    handlers.register("sunion") { (inv: inout Invocation) throws(RedisError) in
        try setUnionOrDifference(&inv, keys: 1..<inv.args.count, destination: nil, difference: false)
    }
    handlers.register("sunionstore") { (inv: inout Invocation) throws(RedisError) in
        try setUnionOrDifference(&inv, keys: 2..<inv.args.count, destination: inv.args[1], difference: false)
    }
    handlers.register("sdiff") { (inv: inout Invocation) throws(RedisError) in
        try setUnionOrDifference(&inv, keys: 1..<inv.args.count, destination: nil, difference: true)
    }
    handlers.register("sdiffstore") { (inv: inout Invocation) throws(RedisError) in
        try setUnionOrDifference(&inv, keys: 2..<inv.args.count, destination: inv.args[1], difference: true)
    }

    handlers.register("sscan") { (inv: inout Invocation) throws(RedisError) in
        let cursor = try CollectionScan.parseCursor(inv.args[2])
        guard let set = try inv.setForRead(inv.args[1]) else { return inv.reply.emptyScan() }
        let scan = try CollectionScan.parseOptions(inv, from: 3)
        var found: [SetObject.Member] = []
        var next: UInt64 = 0
        if set.isIntset {
            set.forEachMember { member in
                if case .integer(let value) = member, scan.matches(integer: value) { found.append(member) }
            }
        } else {
            let window = scan.window(cursor: cursor, size: set.count)
            next = window.next
            for i in window.positions {
                let member = set.member(at: i)
                if case .bytes(let bytes) = member, scan.matches(bytes) { found.append(member) }
            }
        }
        inv.reply.array(2)
        inv.reply.bulk(cursor: next)
        inv.reply.array(found.count)
        for member in found { inv.reply.bulk(member) }
    }
}

// MARK: - SPOP / SRANDMEMBER with a count

private func spopWithCount(_ inv: inout Invocation) throws(RedisError) {
    guard let count = inv.args[2].parseInt64(), count >= 0 else { throw .notPositive }
    let key = inv.args[1]
    guard let set = try inv.setForWrite(key) else { return inv.reply.set(0) }
    if count == 0 { return inv.reply.set(0) }
    if count >= set.count {
        // Redis replies through a fresh set (SUNION of the key), so an all-integer hash table comes back sorted.
        let reply = set.isIntset ? set : SetObject(members: set)
        inv.reply.set(reply.count)
        reply.forEachMember { inv.reply.bulk($0) }
        inv.db.remove(key)
        inv.touched(key)
        inv.propagate([ByteBuffer(string: "DEL"), key])
        return
    }
    var random = FastRandom()
    var command: [ByteBuffer] = [ByteBuffer(string: "SREM"), key]
    command.reserveCapacity(Int(count) + 2)
    inv.reply.set(Int(count))
    for _ in 0..<count {
        let member = set.remove(at: random.index(below: set.count))
        inv.reply.bulk(member)
        command.append(member.buffer)
    }
    inv.touched(key)
    inv.propagate(command)
}

private func srandmemberWithCount(_ inv: inout Invocation) throws(RedisError) {
    let requested = try inv.randomCount(2)
    guard let set = try inv.setForRead(inv.args[1]) else { return inv.reply.array(0) }
    if requested == 0 { return inv.reply.array(0) }
    var random = FastRandom()
    let size = set.count
    if requested < 0 || requested == 1 {
        let count = Int(requested.magnitude)
        inv.reply.array(count)
        for _ in 0..<count { inv.reply.bulk(set.member(at: random.index(below: size))) }
        return
    }
    if requested >= size {
        inv.reply.array(size)
        set.forEachMember { inv.reply.bulk($0) }
        return
    }
    let picks = random.distinctIndices(Int(requested), below: size)
    inv.reply.array(picks.count)
    for index in picks { inv.reply.bulk(set.member(at: index)) }
}

// MARK: - Intersection, union, difference

/// SINTER, SINTERSTORE and SINTERCARD (`cardinalityLimit` non-nil; 0 = no limit), as `sinterGenericCommand`.
private func setIntersection(
    _ inv: inout Invocation, keys: Range<Int>, destination: ByteBuffer?, cardinalityLimit: Int?
) throws(RedisError) {
    var sets: [SetObject] = []
    sets.reserveCapacity(keys.count)
    var missing = false
    for i in keys {
        if let set = try inv.setForRead(inv.args[i]) { sets.append(set) } else { missing = true }
    }
    if missing || sets.isEmpty {
        if let destination {
            if inv.db.remove(destination) {
                inv.touched(destination)
                inv.propagateAsIs()
            }
            inv.reply.integer(0)
        } else if cardinalityLimit != nil {
            inv.reply.integer(0)
        } else {
            inv.reply.set(0)
        }
        return
    }
    // A stable sort by cardinality, as glibc's qsort (a merge sort) gives Redis.
    sets = sets.enumerated().sorted { ($0.element.count, $0.offset) < ($1.element.count, $1.offset) }.map(\.element)
    let smallest = sets[0]
    var result: [SetObject.Member] = []
    var cardinality = 0
    smallest.forEachMember { member in
        if let limit = cardinalityLimit, limit > 0, cardinality >= limit { return }
        for other in sets.dropFirst() where other !== smallest {
            if !other.contains(member) { return }
        }
        cardinality += 1
        if cardinalityLimit == nil { result.append(member) }
    }
    if cardinalityLimit != nil { return inv.reply.integer(cardinality) }
    guard let destination else {
        inv.reply.set(result.count)
        for member in result { inv.reply.bulk(member) }
        return
    }
    storeSetResult(&inv, destination: destination, members: result)
}

/// SUNION, SDIFF and their STORE variants, as `sunionDiffGenericCommand`.
private func setUnionOrDifference(
    _ inv: inout Invocation, keys: Range<Int>, destination: ByteBuffer?, difference: Bool
) throws(RedisError) {
    var sets: [SetObject?] = []
    sets.reserveCapacity(keys.count)
    for i in keys { sets.append(try inv.setForRead(inv.args[i])) }
    let result = SetObject()
    if difference {
        if let first = sets[0] {
            let others = sets.dropFirst().compactMap { $0 }
            if !others.contains(where: { $0 === first }) {
                first.forEachMember { member in
                    for other in others where other.contains(member) { return }
                    result.insert(member)
                }
            }
        }
    } else {
        for case let set? in sets {
            set.forEachMember { result.insert($0) }
        }
    }
    guard let destination else {
        inv.reply.set(result.count)
        result.forEachMember { inv.reply.bulk($0) }
        return
    }
    if result.isEmpty {
        if inv.db.remove(destination) {
            inv.touched(destination)
            inv.propagateAsIs()
        }
        inv.reply.integer(0)
        return
    }
    inv.db.insert(destination, .set(result))
    inv.touched(destination)
    inv.propagateAsIs()
    inv.reply.integer(result.count)
}

private func storeSetResult(_ inv: inout Invocation, destination: ByteBuffer, members: [SetObject.Member]) {
    if members.isEmpty {
        if inv.db.remove(destination) {
            inv.touched(destination)
            inv.propagateAsIs()
        }
        inv.reply.integer(0)
        return
    }
    let result = SetObject()
    for member in members { result.insert(member) }
    inv.db.insert(destination, .set(result))
    inv.touched(destination)
    inv.propagateAsIs()
    inv.reply.integer(result.count)
}

// MARK: - Helpers shared by the hash, set and sorted set commands

extension Invocation {
    /// The set at `key` for reading (nil if missing), or WRONGTYPE.
    mutating func setForRead(_ key: ByteBuffer) throws(RedisError) -> SetObject? {
        switch lookupRead(key) {
        case nil: return nil
        case .set(let set)?: return set
        default: throw .wrongType
        }
    }

    /// The set at `key` for writing (nil if missing), or WRONGTYPE.
    mutating func setForWrite(_ key: ByteBuffer) throws(RedisError) -> SetObject? {
        switch lookupWrite(key) {
        case nil: return nil
        case .set(let set)?: return set
        default: throw .wrongType
        }
    }

    /// A SRANDMEMBER/HRANDFIELD/ZRANDMEMBER count: an integer in -LONG_MAX...LONG_MAX.
    func randomCount(_ i: Int) throws(RedisError) -> Int64 {
        let value = try integer(i)
        if value == Int64.min {
            throw RedisError(
                "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
        }
        return value
    }
}

extension ReplyWriter {
    /// An integer as a bulk string, without building a buffer.
    mutating func bulk(integer value: Int64) {
        var magnitude = value.magnitude
        var digits = value < 0 ? 2 : 1
        while magnitude >= 10 {
            magnitude /= 10
            digits += 1
        }
        buffer.writeInteger(UInt8(ascii: "$"))
        buffer.writeDecimal(Int64(digits))
        buffer.writeStaticString("\r\n")
        buffer.writeDecimal(value)
        buffer.writeStaticString("\r\n")
    }

    mutating func bulk(_ member: SetObject.Member) {
        switch member {
        case .integer(let value): bulk(integer: value)
        case .bytes(let bytes): bulk(bytes)
        }
    }

    /// A SCAN cursor (a bulk string).
    mutating func bulk(cursor: UInt64) {
        if cursor <= UInt64(Int64.max) {
            bulk(integer: Int64(cursor))
        } else {
            bulk(String(cursor))
        }
    }

    /// The reply to a SCAN of a missing key: cursor 0 and no elements.
    mutating func emptyScan() {
        array(2)
        bulk(integer: 0)
        array(0)
    }
}

/// A fast pseudo-random generator (splitmix64), one per command.
///
/// Each generator is seeded with the next output of one process-wide splitmix64 sequence, itself seeded once
/// from the system generator: seeding every command from the system generator cost a `getrandom` system call
/// per SPOP or SRANDMEMBER.
struct FastRandom: RandomNumberGenerator {
    private var state: UInt64

    private static let seeds: NIOLockedValueBox<FastRandom> = {
        var system = SystemRandomNumberGenerator()
        return NIOLockedValueBox(FastRandom(state: system.next()))
    }()

    init() {
        state = Self.seeds.withLockedValue { $0.next() }
    }

    private init(state: UInt64) {
        self.state = state
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform index in `0..<bound` (`bound` > 0).
    mutating func index(below bound: Int) -> Int {
        Int(next(upperBound: UInt(bound)))
    }

    /// `count` distinct indices in `0..<size` (`count` < `size`), in random order.
    mutating func distinctIndices(_ count: Int, below size: Int) -> [Int] {
        if count * 3 > size {
            // Partial Fisher-Yates over every index.
            var indices = Array(0..<size)
            for i in 0..<count {
                let j = i + index(below: size - i)
                indices.swapAt(i, j)
            }
            return Array(indices[0..<count])
        }
        var seen = Set<Int>(minimumCapacity: count)
        var picks: [Int] = []
        picks.reserveCapacity(count)
        while picks.count < count {
            let candidate = index(below: size)
            if seen.insert(candidate).inserted { picks.append(candidate) }
        }
        return picks
    }
}

/// The name SPOP propagates as, made once (each `ByteBuffer(string:)` allocates).
private let sremCommandName = ByteBuffer(string: "SREM")
