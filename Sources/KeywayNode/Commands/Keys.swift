import NIOConcurrencyHelpers
import NIOCore

/// Generic key commands: DEL UNLINK EXISTS TYPE TOUCH EXPIRE PEXPIRE EXPIREAT PEXPIREAT TTL PTTL EXPIRETIME
/// PEXPIRETIME PERSIST RENAME RENAMENX COPY MOVE KEYS SCAN RANDOMKEY DUMP RESTORE OBJECT, as Redis 7.0 has them.
func registerKeyCommands(_ handlers: inout CommandHandlers) {
    handlers.register("del", deleteKeys)
    handlers.register("unlink", deleteKeys)
    handlers.register("exists") { (inv: inout Invocation) throws(RedisError) in
        var count = 0
        for i in 1..<inv.args.count where inv.lookupRead(inv.args[i]) != nil { count += 1 }
        inv.reply.integer(count)
    }
    handlers.register("touch") { (inv: inout Invocation) throws(RedisError) in
        var count = 0
        for i in 1..<inv.args.count where inv.lookupRead(inv.args[i]) != nil {
            RestoredAccessTimes.shared.accessed(inv.db, inv.args[i])
            count += 1
        }
        inv.reply.integer(count)
    }
    handlers.register("type") { (inv: inout Invocation) throws(RedisError) in
        inv.reply.simple(inv.lookupRead(inv.args[1])?.typeName ?? "none")
    }

    handlers.register("expire") { (inv: inout Invocation) throws(RedisError) in
        try expireGeneric(&inv, relative: true, seconds: true)
    }
    handlers.register("pexpire") { (inv: inout Invocation) throws(RedisError) in
        try expireGeneric(&inv, relative: true, seconds: false)
    }
    handlers.register("expireat") { (inv: inout Invocation) throws(RedisError) in
        try expireGeneric(&inv, relative: false, seconds: true)
    }
    handlers.register("pexpireat") { (inv: inout Invocation) throws(RedisError) in
        try expireGeneric(&inv, relative: false, seconds: false)
    }
    handlers.register("ttl") { (inv: inout Invocation) throws(RedisError) in
        timeToLive(&inv, milliseconds: false, absolute: false)
    }
    handlers.register("pttl") { (inv: inout Invocation) throws(RedisError) in
        timeToLive(&inv, milliseconds: true, absolute: false)
    }
    handlers.register("expiretime") { (inv: inout Invocation) throws(RedisError) in
        timeToLive(&inv, milliseconds: false, absolute: true)
    }
    handlers.register("pexpiretime") { (inv: inout Invocation) throws(RedisError) in
        timeToLive(&inv, milliseconds: true, absolute: true)
    }
    handlers.register("persist") { (inv: inout Invocation) throws(RedisError) in
        let key = inv.args[1]
        guard inv.lookupWrite(key) != nil, inv.db.removeExpiry(key) else {
            inv.reply.integer(0)
            return
        }
        inv.touched(key)
        inv.propagateAsIs()
        inv.reply.integer(1)
    }

    handlers.register("rename") { (inv: inout Invocation) throws(RedisError) in
        try rename(&inv, onlyIfAbsent: false)
    }
    handlers.register("renamenx") { (inv: inout Invocation) throws(RedisError) in
        try rename(&inv, onlyIfAbsent: true)
    }
    handlers.register("copy", copyKey)
    handlers.register("move", moveKey)

    handlers.register("keys") { (inv: inout Invocation) throws(RedisError) in
        let pattern = inv.args[1]
        let everything = RedisGlob.matchesEverything(pattern)
        let checkExpiry = inv.db.expiresCount > 0
        var found: [ByteBuffer] = []
        pattern.withUnsafeReadableBytes { p in
            for key in inv.db.keys {
                if !everything {
                    let matched = key.withUnsafeReadableBytes {
                        RedisGlob.matches(pattern: p, string: $0, noCase: false)
                    }
                    if !matched { continue }
                }
                if checkExpiry, let at = inv.db.expiry(of: key), at <= inv.now { continue }
                found.append(key)
            }
        }
        inv.reply.array(found.count)
        for key in found { inv.reply.bulk(key) }
    }
    handlers.register("scan", scanKeys)
    handlers.register("randomkey") { (inv: inout Invocation) throws(RedisError) in
        while let key = inv.db.randomKey() {
            if let at = inv.db.expiry(of: key), at <= inv.now {
                _ = inv.db.lookup(key, now: inv.now, effects: &inv.effects)
                continue
            }
            inv.reply.bulk(key)
            return
        }
        inv.reply.null()
    }

    handlers.register("dump") { (inv: inout Invocation) throws(RedisError) in
        guard let object = inv.lookupRead(inv.args[1]) else {
            inv.reply.null()
            return
        }
        inv.reply.bulk(dumpPayload(object))
    }
    handlers.register("restore", restoreKey)
    handlers.register("restore-asking", restoreKey)

    handlers.register("object|help") { (inv: inout Invocation) throws(RedisError) in
        let lines = [
            "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "ENCODING <key>",
            "    Return the kind of internal representation used in order to store the value",
            "    associated with a <key>.",
            "FREQ <key>",
            "    Return the access frequency index of the <key>. The returned integer is",
            "    proportional to the logarithm of the recent access frequency of the key.",
            "IDLETIME <key>",
            "    Return the idle time of the <key>, that is the approximated number of",
            "    seconds elapsed since the last access to the key.",
            "REFCOUNT <key>",
            "    Return the number of references of the value associated with the specified",
            "    <key>.",
            "HELP",
            "    Prints this help.",
        ]
        inv.reply.array(lines.count)
        for line in lines { inv.reply.simple(line) }
    }
    handlers.register("object|encoding") { (inv: inout Invocation) throws(RedisError) in
        guard let object = inv.lookupRead(inv.args[2]) else {
            inv.reply.null()
            return
        }
        inv.reply.bulk(objectEncodingName(object))
    }
    handlers.register("object|refcount") { (inv: inout Invocation) throws(RedisError) in
        guard let object = inv.lookupRead(inv.args[2]) else {
            inv.reply.null()
            return
        }
        // Redis shares the objects of the integers 0...9999 (refcount INT_MAX); every other value has one owner.
        if case .string(let value) = object, case .int(let number) = StringEncoding.of(value), number >= 0,
            number < 10_000
        {
            inv.reply.integer(Int64(Int32.max))
        } else {
            inv.reply.integer(1)
        }
    }
    handlers.register("object|idletime") { (inv: inout Invocation) throws(RedisError) in
        guard let object = inv.lookupRead(inv.args[2]) else {
            inv.reply.null()
            return
        }
        if inv.node.configuration.maxMemoryPolicy.contains("lfu") {
            throw RedisError(
                "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."
            )
        }
        let since = RestoredAccessTimes.shared.lastAccess(inv.db, inv.args[2], object)
        inv.reply.integer(since.map { max(0, (inv.now - $0) / 1000) } ?? 0)
    }
    handlers.register("object|freq") { (inv: inout Invocation) throws(RedisError) in
        guard let object = inv.lookupRead(inv.args[2]) else {
            inv.reply.null()
            return
        }
        guard inv.node.configuration.maxMemoryPolicy.contains("lfu") else {
            throw RedisError(
                "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."
            )
        }
        // LFU_INIT_VAL: what Redis gives a new key before any access is counted.
        inv.reply.integer(RestoredAccessTimes.shared.frequency(inv.db, inv.args[2], object) ?? 5)
    }
}

// MARK: - Deleting, expiring

/// DEL and UNLINK (UNLINK frees nothing asynchronously: values are released when the last reference goes).
private func deleteKeys(_ inv: inout Invocation) throws(RedisError) {
    var deleted = 0
    for i in 1..<inv.args.count {
        let key = inv.args[i]
        guard inv.lookupWrite(key) != nil else { continue }
        inv.db.remove(key)
        inv.touched(key)
        deleted += 1
    }
    if deleted > 0 { inv.propagateAsIs() }
    inv.reply.integer(deleted)
}

/// `expireGenericCommand`: EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT with NX/XX/GT/LT; propagated as PEXPIREAT
/// (or DEL when the time is already past).
private func expireGeneric(_ inv: inout Invocation, relative: Bool, seconds: Bool) throws(RedisError) {
    var nx = false
    var xx = false
    var gt = false
    var lt = false
    for j in 3..<max(3, inv.args.count) {
        if inv.isKeyword(j, "NX") {
            nx = true
        } else if inv.isKeyword(j, "XX") {
            xx = true
        } else if inv.isKeyword(j, "GT") {
            gt = true
        } else if inv.isKeyword(j, "LT") {
            lt = true
        } else {
            throw RedisError(bytes: Array("ERR Unsupported option ".utf8) + cStringForError(inv.args[j]))
        }
    }
    if nx && (xx || gt || lt) {
        throw RedisError("ERR NX and XX, GT or LT options at the same time are not compatible")
    }
    if gt && lt { throw RedisError("ERR GT and LT options at the same time are not compatible") }
    var when = try inv.integer(2)
    if seconds {
        if when > Int64.max / 1000 || when < Int64.min / 1000 { throw .invalidExpireTime(inv.name) }
        when *= 1000
    }
    let base = relative ? inv.now : 0
    if when > Int64.max - base { throw .invalidExpireTime(inv.name) }
    when += base
    let key = inv.args[1]
    guard inv.lookupWrite(key) != nil else {
        inv.reply.integer(0)
        return
    }
    let current = inv.db.expiry(of: key)
    if nx && current != nil { return inv.reply.integer(0) }
    if xx && current == nil { return inv.reply.integer(0) }
    if gt && (current.map { when <= $0 } ?? true) { return inv.reply.integer(0) }
    if lt, let current, when >= current { return inv.reply.integer(0) }
    if when <= inv.now {
        inv.db.remove(key)
        inv.touched(key)
        inv.propagate([ByteBuffer(string: "DEL"), key])
    } else {
        inv.db.setExpiry(key, at: when)
        inv.touched(key)
        var command = [ByteBuffer(string: "PEXPIREAT"), key, ByteBuffer(string: String(when))]
        command.append(contentsOf: inv.args.dropFirst(3))
        inv.propagate(command)
    }
    inv.reply.integer(1)
}

/// TTL, PTTL, EXPIRETIME, PEXPIRETIME: -2 without the key, -1 without an expiry.
private func timeToLive(_ inv: inout Invocation, milliseconds: Bool, absolute: Bool) {
    let key = inv.args[1]
    guard inv.lookupRead(key) != nil else { return inv.reply.integer(-2) }
    guard let at = inv.db.expiry(of: key) else { return inv.reply.integer(-1) }
    let ttl = max(0, absolute ? at : at - inv.now)
    inv.reply.integer(milliseconds ? ttl : (ttl + 500) / 1000)
}

/// An argument as C's `%s` prints it in an error: up to its first NUL, with CR and LF turned into spaces.
private func cStringForError(_ buffer: ByteBuffer) -> [UInt8] {
    var bytes = Array(buffer.readableBytesView)
    if let nul = bytes.firstIndex(of: 0) { bytes.removeSubrange(nul...) }
    return bytes.map { $0 == 13 || $0 == 10 ? 32 : $0 }
}

// MARK: - Renaming, copying, moving

/// A list or sorted set arriving at a key (RENAME, COPY, MOVE, RESTORE) may serve clients blocked on it, as
/// Redis's `dbAdd` signals.
private func signalArrival(_ inv: inout Invocation, _ key: ByteBuffer, db: Int, _ object: RedisObject) {
    switch object {
    case .list, .zset: inv.effects.signalReady(key: key, db: db)
    default: break
    }
}

private func rename(_ inv: inout Invocation, onlyIfAbsent: Bool) throws(RedisError) {
    let source = inv.args[1]
    let destination = inv.args[2]
    guard let object = inv.lookupWrite(source) else { throw .noSuchKey }
    if source == destination {
        if onlyIfAbsent { inv.reply.integer(0) } else { inv.reply.ok() }
        return
    }
    let expiry = inv.db.expiry(of: source)
    if inv.lookupWrite(destination) != nil {
        if onlyIfAbsent { return inv.reply.integer(0) }
        inv.db.remove(destination)
    }
    inv.db.insert(destination, object)
    if let expiry { inv.db.setExpiry(destination, at: expiry) }
    inv.db.remove(source)
    inv.touched(source)
    inv.touched(destination)
    signalArrival(&inv, destination, db: inv.session.db, object)
    inv.propagateAsIs()
    if onlyIfAbsent { inv.reply.integer(1) } else { inv.reply.ok() }
}

/// A database index argument of COPY/MOVE: an `int`, then within the configured number of databases.
private func databaseIndex(_ inv: Invocation, _ index: Int) throws(RedisError) -> Int {
    let value = try inv.integer(index)
    guard value >= Int64(Int32.min) && value <= Int64(Int32.max) else {
        throw RedisError("ERR value is out of range, value must between -2147483648 and 2147483647")
    }
    guard value >= 0 && value < Int64(max(1, inv.node.configuration.databases)) else {
        throw RedisError("ERR DB index is out of range")
    }
    return Int(value)
}

/// COPY source destination [DB index] [REPLACE].
private func copyKey(_ inv: inout Invocation) throws(RedisError) {
    var replace = false
    var target = inv.session.db
    var j = 3
    while j < inv.args.count {
        if inv.isKeyword(j, "REPLACE") {
            replace = true
        } else if inv.isKeyword(j, "DB") && j + 1 < inv.args.count {
            target = try databaseIndex(inv, j + 1)
            j += 1
        } else {
            throw .syntax
        }
        j += 1
    }
    if inv.node.configuration.clusterEnabled && (inv.session.db != 0 || target != 0) {
        throw RedisError("ERR Copying to another database is not allowed in cluster mode")
    }
    guard target < inv.node.databases.count else { throw RedisError("ERR DB index is out of range") }
    let source = inv.args[1]
    let destination = inv.args[2]
    if target == inv.session.db && source == destination {
        throw RedisError("ERR source and destination objects are the same")
    }
    guard let object = inv.lookupRead(source) else { return inv.reply.integer(0) }
    let expiry = inv.db.expiry(of: source)
    let targetDB = inv.node.databases[target]
    if targetDB.lookup(destination, now: inv.now, effects: &inv.effects) != nil {
        guard replace else { return inv.reply.integer(0) }
        targetDB.remove(destination)
    }
    let copy = duplicateObject(object)
    targetDB.insert(destination, copy)
    if let expiry { targetDB.setExpiry(destination, at: expiry) }
    inv.effects.modified(key: destination, db: target)
    signalArrival(&inv, destination, db: target, copy)
    inv.propagateAsIs()
    inv.reply.integer(1)
}

/// MOVE key db.
private func moveKey(_ inv: inout Invocation) throws(RedisError) {
    if inv.node.configuration.clusterEnabled { throw RedisError("ERR MOVE is not allowed in cluster mode") }
    let target = try databaseIndex(inv, 2)
    guard target < inv.node.databases.count else { throw RedisError("ERR DB index is out of range") }
    if target == inv.session.db { throw RedisError("ERR source and destination objects are the same") }
    let key = inv.args[1]
    guard let object = inv.lookupWrite(key) else { return inv.reply.integer(0) }
    let expiry = inv.db.expiry(of: key)
    let targetDB = inv.node.databases[target]
    if targetDB.lookup(key, now: inv.now, effects: &inv.effects) != nil { return inv.reply.integer(0) }
    targetDB.insert(key, object)
    if let expiry { targetDB.setExpiry(key, at: expiry) }
    inv.db.remove(key)
    inv.touched(key)
    inv.effects.modified(key: key, db: target)
    signalArrival(&inv, key, db: target, object)
    inv.propagateAsIs()
    inv.reply.integer(1)
}

// MARK: - SCAN

/// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type].
private func scanKeys(_ inv: inout Invocation) throws(RedisError) {
    guard let cursor = parseScanCursor(inv.args[1]) else { throw RedisError("ERR invalid cursor") }
    var count = 10
    var pattern: ByteBuffer?
    var typeName: [UInt8]?
    var i = 2
    while i < inv.args.count {
        let remaining = inv.args.count - i
        if inv.isKeyword(i, "COUNT") && remaining >= 2 {
            let value = try inv.integer(i + 1)
            guard value >= 1 else { throw .syntax }
            count = Int(min(value, Int64(Int32.max)))
        } else if inv.isKeyword(i, "MATCH") && remaining >= 2 {
            pattern = RedisGlob.matchesEverything(inv.args[i + 1]) ? nil : inv.args[i + 1]
        } else if inv.isKeyword(i, "TYPE") && remaining >= 2 {
            typeName = cStringForError(inv.args[i + 1]).map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }
        } else {
            throw .syntax
        }
        i += 2
    }
    let (next, candidates) = KeyspaceScanner.shared.step(inv.db, cursor: cursor, count: count)
    var keys: [ByteBuffer] = []
    keys.reserveCapacity(candidates.count)
    for key in candidates {
        if let pattern, !RedisGlob.matches(pattern: pattern, key) { continue }
        if let typeName {
            let object = inv.db.lookup(key, now: inv.now, effects: &inv.effects)
            if Array((object?.typeName ?? "none").utf8) != typeName { continue }
        }
        if inv.db.lookup(key, now: inv.now, effects: &inv.effects) == nil { continue }
        keys.append(key)
    }
    inv.reply.array(2)
    inv.reply.bulk(String(next))
    inv.reply.array(keys.count)
    for key in keys { inv.reply.bulk(key) }
}

// MARK: - RESTORE

/// RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency] (and RESTORE-ASKING).
private func restoreKey(_ inv: inout Invocation) throws(RedisError) {
    var replace = false
    var absoluteTTL = false
    var idleTime: Int64 = -1
    var frequency: Int64 = -1
    var j = 4
    while j < inv.args.count {
        let additional = inv.args.count - j - 1
        if inv.isKeyword(j, "REPLACE") {
            replace = true
        } else if inv.isKeyword(j, "ABSTTL") {
            absoluteTTL = true
        } else if inv.isKeyword(j, "IDLETIME") && additional >= 1 && frequency == -1 {
            idleTime = try inv.integer(j + 1)
            guard idleTime >= 0 else { throw RedisError("ERR Invalid IDLETIME value, must be >= 0") }
            j += 1
        } else if inv.isKeyword(j, "FREQ") && additional >= 1 && idleTime == -1 {
            frequency = try inv.integer(j + 1)
            guard frequency >= 0 && frequency <= 255 else {
                throw RedisError("ERR Invalid FREQ value, must be >= 0 and <= 255")
            }
            j += 1
        } else {
            throw .syntax
        }
        j += 1
    }
    let key = inv.args[1]
    if !replace && inv.lookupWrite(key) != nil {
        throw RedisError("BUSYKEY Target key name already exists.")
    }
    var ttl = try inv.integer(2)
    guard ttl >= 0 else { throw RedisError("ERR Invalid TTL value, must be >= 0") }
    let object: RedisObject
    switch DumpPayload.decode(inv.args[3]) {
    case .success(let decoded): object = decoded
    case .failure(let error): throw error.redisError
    }
    var deleted = false
    if replace, inv.lookupWrite(key) != nil {
        inv.db.remove(key)
        deleted = true
    }
    if ttl != 0 && !absoluteTTL { ttl = ttl &+ inv.now }
    if ttl != 0 && ttl <= inv.now {
        if deleted {
            inv.touched(key)
            inv.propagate([ByteBuffer(string: "DEL"), key])
        }
        inv.reply.ok()
        return
    }
    inv.db.insert(key, object)
    var command = Array(inv.args)
    if ttl != 0 {
        inv.db.setExpiry(key, at: ttl)
        if !absoluteTTL {
            command[2] = ByteBuffer(string: String(ttl))
            command.append(ByteBuffer(string: "ABSTTL"))
        }
    }
    command[0] = ByteBuffer(string: "RESTORE")
    if idleTime >= 0 || frequency >= 0 {
        RestoredAccessTimes.shared.record(
            inv.db, key, object, lastAccess: idleTime >= 0 ? inv.now - idleTime * 1000 : nil,
            frequency: frequency >= 0 ? frequency : nil)
    }
    inv.touched(key)
    signalArrival(&inv, key, db: inv.session.db, object)
    inv.propagate(command)
    inv.reply.ok()
}

/// The access time (RESTORE IDLETIME) and frequency (RESTORE FREQ) given to restored values, for OBJECT
/// IDLETIME/FREQ. Keyway does not track accesses per key; a value that was not restored with one reports 0.
/// Entries are tied to the value object, so a key that was overwritten since reports 0 again.
final class RestoredAccessTimes: @unchecked Sendable {
    static let shared = RestoredAccessTimes()

    private struct Entry {
        var identity: Int
        var lastAccess: Int64?
        var frequency: Int64?
    }

    private let lock = NIOLock()
    private var entries: [ObjectIdentifier: [ByteBuffer: Entry]] = [:]
    private var databases: [ObjectIdentifier: WeakDatabase] = [:]

    private struct WeakDatabase {
        weak var database: Database?
    }

    /// An identity for a stored value: the object for aggregates, the storage address for strings held in a
    /// buffer (as restored ones are), 0 for inline strings (stored since by SET, INCR...).
    private static func identity(of object: RedisObject) -> Int {
        switch object {
        case .string(.inline): return 0
        case .string(.buffer(let value)): return value.withUnsafeReadableBytes { Int(bitPattern: $0.baseAddress) }
        case .list(let list): return Int(bitPattern: ObjectIdentifier(list))
        case .hash(let hash): return Int(bitPattern: ObjectIdentifier(hash))
        case .set(let set): return Int(bitPattern: ObjectIdentifier(set))
        case .zset(let zset): return Int(bitPattern: ObjectIdentifier(zset))
        }
    }

    func record(_ database: Database, _ key: ByteBuffer, _ object: RedisObject, lastAccess: Int64?, frequency: Int64?) {
        lock.withLock {
            let id = ObjectIdentifier(database)
            if databases[id]?.database !== database {
                entries[id] = nil
                databases = databases.filter { $0.value.database != nil }
                entries = entries.filter { databases[$0.key] != nil }
                databases[id] = WeakDatabase(database: database)
            }
            // Bounded: entries of keys deleted or overwritten since are only dropped when looked at, so a
            // large backlog is simply forgotten (those keys then report 0 again).
            if entries[id, default: [:]].count >= 100_000 { entries[id] = [:] }
            entries[id, default: [:]][key.compacted()] = Entry(
                identity: Self.identity(of: object), lastAccess: lastAccess, frequency: frequency)
        }
    }

    private func entry(_ database: Database, _ key: ByteBuffer, _ object: RedisObject) -> Entry? {
        lock.withLock {
            let id = ObjectIdentifier(database)
            guard databases[id]?.database === database, let entry = entries[id]?[key] else { return nil }
            if entry.identity != Self.identity(of: object) {
                entries[id]?[key] = nil
                return nil
            }
            return entry
        }
    }

    /// TOUCH: the key was just accessed, so it is no longer idle.
    func accessed(_ database: Database, _ key: ByteBuffer) {
        lock.withLock {
            let id = ObjectIdentifier(database)
            if entries[id]?[key] != nil { entries[id]?[key]?.lastAccess = nil }
        }
    }

    func lastAccess(_ database: Database, _ key: ByteBuffer, _ object: RedisObject) -> Int64? {
        entry(database, key, object)?.lastAccess
    }

    func frequency(_ database: Database, _ key: ByteBuffer, _ object: RedisObject) -> Int64? {
        entry(database, key, object)?.frequency
    }
}
