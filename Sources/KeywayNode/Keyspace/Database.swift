import ClusterModel
import NIOCore

/// One logical database (`SELECT n`): keys, their values and expiry times.
///
/// Not thread-safe on its own: every access happens under `NodeState`'s lock.
final class Database {
    let index: Int
    /// Keys and their values.
    private(set) var table = KeyspaceTable()
    /// Absolute expiry times in milliseconds since the Unix epoch.
    private(set) var expires: [KeyspaceKey: Int64] = [:]
    /// Keys per hash slot, maintained only in cluster mode (db 0).
    private(set) var slotIndex: SlotKeyIndex?

    init(index: Int, trackSlots: Bool) {
        self.index = index
        self.slotIndex = trackSlots ? SlotKeyIndex() : nil
    }

    var count: Int { table.count }
    var expiresCount: Int { expires.count }

    /// The value of `key` if it exists and has not expired; an expired key is deleted on the way.
    @inline(__always)
    func lookup(_ key: ByteBuffer, now: Int64, effects: inout Effects) -> RedisObject? {
        position(of: key, now: now, effects: &effects).map { table.value(at: $0) }
    }

    /// Where the value of `key` is, if it exists and has not expired (an expired key is deleted on the way): for
    /// a read-modify-write of the value (`value(at:)`, `replaceValue(at:with:)`) with one lookup. The position is
    /// valid until the next key is added to or removed from the database.
    @inline(__always)
    func position(of key: ByteBuffer, now: Int64, effects: inout Effects) -> Int? {
        let stored = KeyspaceKey(key)
        guard let position = table.find(stored) else { return nil }
        if !expires.isEmpty, let at = expires[stored], at <= now {
            remove(at: position, stored)
            effects.expired(key: key, db: index)
            return nil
        }
        return position
    }

    @inline(__always)
    func value(at position: Int) -> RedisObject {
        table.value(at: position)
    }

    /// Replaces the value at `position` (from `position(of:now:effects:)`), keeping the key's expiry.
    @inline(__always)
    func replaceValue(at position: Int, with object: RedisObject) {
        table.setValue(object, at: position)
    }

    /// Starts loading where a lookup of `key` will look (`KeyspaceTable.prefetch`).
    @inline(__always)
    func prefetch(_ key: ByteBuffer) {
        if table.count != 0 { table.prefetch(KeyspaceKey(key)) }
    }

    /// Whether `key` exists and has not expired (without deleting it).
    func exists(_ key: ByteBuffer, now: Int64) -> Bool {
        let key = KeyspaceKey(key)
        guard table.find(key) != nil else { return false }
        if !expires.isEmpty, let at = expires[key], at <= now { return false }
        return true
    }

    /// Whether `key` is in the table, expired or not.
    func contains(_ key: ByteBuffer) -> Bool {
        table.find(KeyspaceKey(key)) != nil
    }

    /// Stores `object` under `key`; `keepTTL` false clears any expiry (as SET does).
    func set(_ key: ByteBuffer, _ object: RedisObject, keepTTL: Bool = false) {
        let stored = KeyspaceKey(key)
        if let position = table.find(stored) {
            table.setValue(object, at: position)
        } else {
            table.insertNew(stored.compacted(), object)
            slotIndex?.insert(key.compacted())
        }
        if !keepTTL && !expires.isEmpty { expires.removeValue(forKey: stored) }
    }

    /// Stores a value for an existing or new key, copying the key into storage of its own when new.
    func insert(_ key: ByteBuffer, _ object: RedisObject, keepTTL: Bool = false) {
        let stored = KeyspaceKey(key)
        if let position = table.find(stored) {
            table.setValue(object, at: position)
            if !keepTTL && !expires.isEmpty { expires.removeValue(forKey: stored) }
        } else {
            table.insertNew(stored.compacted(), object)
            slotIndex?.insert(key.compacted())
            if !expires.isEmpty { expires.removeValue(forKey: stored) }
        }
    }

    /// Deletes `key`; true if it existed.
    @discardableResult
    func remove(_ key: ByteBuffer) -> Bool {
        let stored = KeyspaceKey(key)
        guard let position = table.find(stored) else { return false }
        remove(at: position, stored)
        return true
    }

    private func remove(at position: Int, _ key: KeyspaceKey) {
        table.remove(at: position)
        if !expires.isEmpty { expires.removeValue(forKey: key) }
        slotIndex?.remove(key.buffer)
    }

    func expiry(of key: ByteBuffer) -> Int64? {
        expires.isEmpty ? nil : expires[KeyspaceKey(key)]
    }

    func setExpiry(_ key: ByteBuffer, at: Int64) {
        let key = KeyspaceKey(key)
        guard table.find(key) != nil else { return }
        if let position = expires.index(forKey: key) {
            expires.values[position] = at
        } else {
            expires[key.compacted()] = at
        }
    }

    @discardableResult
    func removeExpiry(_ key: ByteBuffer) -> Bool {
        guard !expires.isEmpty else { return false }
        return expires.removeValue(forKey: KeyspaceKey(key)) != nil
    }

    func removeAll() {
        table.removeAll()
        expires.removeAll()
        if slotIndex != nil { slotIndex = SlotKeyIndex() }
    }

    /// All keys (including logically expired ones not yet collected). The database must not change while they
    /// are iterated.
    var keys: LazyMapSequence<KeyspaceTable.Keys, ByteBuffer> {
        table.keys.lazy.map(\.buffer)
    }

    /// A key picked at random (expired or not), or nil when the database is empty.
    func randomKey() -> ByteBuffer? {
        var generator = SystemRandomNumberGenerator()
        return table.randomTaken(using: &generator).map { table.key(at: $0).buffer }
    }

    /// Up to `limit` keys whose expiry time is due, for the active expiry cycle.
    func dueKeys(now: Int64, limit: Int) -> [ByteBuffer] {
        var due: [ByteBuffer] = []
        for (key, at) in expires where at <= now {
            due.append(key.buffer)
            if due.count >= limit { break }
        }
        return due
    }

    /// Up to `limit` expiry times, for sampling (INFO's avg_ttl).
    func expiryTimes(limit: Int) -> [Int64] {
        Array(expires.values.prefix(limit))
    }

    /// Swaps contents with another database (SWAPDB).
    func swapContents(with other: Database) {
        swap(&table, &other.table)
        swap(&expires, &other.expires)
        swap(&slotIndex, &other.slotIndex)
    }
}

/// A key (or a set member) as the keyspace's tables hold it: its bytes and their hash, computed once per lookup, so that a probe
/// of the table compares hashes and touches the bytes only of the key that matches. Keys of up to 24 bytes (most
/// keys) are held inline, with no allocation and no pointer to follow; longer ones in a buffer of their own.
/// With plain ByteBuffer keys, every probe of a large table cost cache misses two pointers away.
struct KeyspaceKey: Hashable {
    private let bytes: CompactBytes
    let hash: Int

    /// A key for `buffer`'s readable bytes (for a lookup it may be a slice of a request; see `compacted`).
    @inline(__always)
    init(_ buffer: ByteBuffer) {
        self.init(compact: CompactBytes(referencing: buffer))
    }

    /// A key for bytes as stored (a sorted set's member as its skip list holds it).
    @inline(__always)
    init(compact bytes: CompactBytes) {
        switch bytes {
        case .inline(let w0, let w1, let w2, let count):
            self.init(bytes: bytes, hash: Self.inlineHash(w0, w1, w2, count))
        case .buffer(let buffer):
            if case .inline(let w0, let w1, let w2, let count) = CompactBytes(referencing: buffer) {
                // Short bytes held in a buffer hash as they would inline: equal keys, equal hashes.
                self.init(bytes: bytes, hash: Self.inlineHash(w0, w1, w2, count))
                return
            }
            var hasher = Hasher()
            buffer.withUnsafeReadableBytes { hasher.combine(bytes: $0) }
            self.init(bytes: bytes, hash: hasher.finalize())
        }
    }

    /// Secret per process, like `Hasher`'s seed: an attacker who cannot see it cannot choose colliding keys.
    private static let secret: (UInt64, UInt64, UInt64, UInt64) = {
        var generator = SystemRandomNumberGenerator()
        // Odd, so that no secret is 0 (a multiplication by zero would lose a word).
        return (generator.next() | 1, generator.next() | 1, generator.next() | 1, generator.next() | 1)
    }()

    /// A keyed hash of a key of up to 24 bytes (three zero-padded words and the length): wyhash's 128-bit
    /// multiply-fold mixing with per-process secrets, as Go's runtime hashes map keys. The keyspace hashes the
    /// key of nearly every command; SipHash through `Hasher` (one init, four combines, a finalize) was ~2% of the
    /// node's CPU under SET and LPUSH, this is a few multiplications.
    @inline(__always)
    static func inlineHash(_ w0: UInt64, _ w1: UInt64, _ w2: UInt64, _ count: UInt8) -> Int {
        @inline(__always) func fold(_ a: UInt64, _ b: UInt64) -> UInt64 {
            let product = a.multipliedFullWidth(by: b)
            return product.high ^ product.low
        }
        let s = secret
        let length = UInt64(count)
        let a = fold(w0 ^ s.0, w1 ^ s.1)
        let b = fold(w2 ^ s.2, length ^ s.3)
        return Int(bitPattern: UInt(fold(a ^ s.1 ^ length, b ^ s.0)))
    }

    @inline(__always)
    private init(bytes: CompactBytes, hash: Int) {
        self.bytes = bytes
        self.hash = hash
    }

    /// True when the bytes are held inline (then the key never refers to a client's read buffer).
    var isInline: Bool {
        if case .inline = bytes { return true }
        return false
    }

    /// The same key in storage of its own, so that a stored key never pins a client's read buffer.
    func compacted() -> KeyspaceKey {
        switch bytes {
        case .inline: return self
        case .buffer(let buffer): return KeyspaceKey(bytes: .buffer(buffer.compacted()), hash: hash)
        }
    }

    /// The key's bytes as a buffer (allocated for an inline key).
    var buffer: ByteBuffer { bytes.buffer }

    /// The key's bytes as stored.
    var compact: CompactBytes { bytes }

    @inline(__always)
    static func == (lhs: KeyspaceKey, rhs: KeyspaceKey) -> Bool {
        lhs.hash == rhs.hash && lhs.bytes == rhs.bytes
    }

    @inline(__always)
    func hash(into hasher: inout Hasher) {
        hasher.combine(hash)
    }

    /// What `Dictionary` and `Set` hash with. `hash` is already a SipHash of the bytes (seeded per process), so
    /// mixing in the table's seed with a multiply-xorshift finalizer (SplitMix64's) spreads keys as well as a
    /// second SipHash round would, for a fraction of its cost on every lookup.
    @inline(__always)
    func _rawHashValue(seed: Int) -> Int {
        var z = UInt64(bitPattern: Int64(hash ^ seed))
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Int(bitPattern: UInt(z ^ (z >> 31)))
    }
}

/// Keys grouped by hash slot, for CLUSTER COUNTKEYSINSLOT / GETKEYSINSLOT and slot migration.
struct SlotKeyIndex {
    private(set) var keys: [Set<ByteBuffer>] = Array(repeating: [], count: HashSlot.count)

    mutating func insert(_ key: ByteBuffer) {
        keys[Int(HashSlot(key: key).rawValue)].insert(key)
    }

    mutating func remove(_ key: ByteBuffer) {
        keys[Int(HashSlot(key: key).rawValue)].remove(key)
    }

    func count(in slot: Int) -> Int { keys[slot].count }
}
