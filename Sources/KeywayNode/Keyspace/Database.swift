import ClusterModel
import NIOCore

/// One logical database (`SELECT n`): keys, their values and expiry times.
///
/// Not thread-safe on its own: every access happens under `NodeState`'s lock.
final class Database {
    let index: Int
    private(set) var entries: [KeyspaceKey: RedisObject] = [:]
    /// Absolute expiry times in milliseconds since the Unix epoch.
    private(set) var expires: [KeyspaceKey: Int64] = [:]
    /// Keys per hash slot, maintained only in cluster mode (db 0).
    private(set) var slotIndex: SlotKeyIndex?

    init(index: Int, trackSlots: Bool) {
        self.index = index
        self.slotIndex = trackSlots ? SlotKeyIndex() : nil
    }

    var count: Int { entries.count }
    var expiresCount: Int { expires.count }

    /// The value of `key` if it exists and has not expired; an expired key is deleted on the way.
    func lookup(_ key: ByteBuffer, now: Int64, effects: inout Effects) -> RedisObject? {
        let key = KeyspaceKey(key)
        guard let object = entries[key] else { return nil }
        if !expires.isEmpty, let at = expires[key], at <= now {
            remove(key)
            effects.expired(key: key.buffer, db: index)
            return nil
        }
        return object
    }

    /// Whether `key` exists and has not expired (without deleting it).
    func exists(_ key: ByteBuffer, now: Int64) -> Bool {
        let key = KeyspaceKey(key)
        guard entries[key] != nil else { return false }
        if !expires.isEmpty, let at = expires[key], at <= now { return false }
        return true
    }

    /// Whether `key` is in the table, expired or not.
    func contains(_ key: ByteBuffer) -> Bool {
        entries[KeyspaceKey(key)] != nil
    }

    /// Stores `object` under `key`; `keepTTL` false clears any expiry (as SET does).
    func set(_ key: ByteBuffer, _ object: RedisObject, keepTTL: Bool = false) {
        let key = KeyspaceKey(key)
        if entries.updateValue(object, forKey: key) == nil {
            slotIndex?.insert(key.buffer.compacted())
        }
        if !keepTTL && !expires.isEmpty { expires.removeValue(forKey: key) }
    }

    /// Stores a value for an existing or new key, copying the key into storage of its own when new.
    func insert(_ key: ByteBuffer, _ object: RedisObject, keepTTL: Bool = false) {
        let key = KeyspaceKey(key)
        if let position = entries.index(forKey: key) {
            entries.values[position] = object
            if !keepTTL && !expires.isEmpty { expires.removeValue(forKey: key) }
        } else {
            let owned = key.compacted()
            entries[owned] = object
            slotIndex?.insert(owned.buffer)
            if !expires.isEmpty { expires.removeValue(forKey: key) }
        }
    }

    /// Deletes `key`; true if it existed.
    @discardableResult
    func remove(_ key: ByteBuffer) -> Bool {
        remove(KeyspaceKey(key))
    }

    @discardableResult
    private func remove(_ key: KeyspaceKey) -> Bool {
        guard entries.removeValue(forKey: key) != nil else { return false }
        if !expires.isEmpty { expires.removeValue(forKey: key) }
        slotIndex?.remove(key.buffer)
        return true
    }

    func expiry(of key: ByteBuffer) -> Int64? {
        expires.isEmpty ? nil : expires[KeyspaceKey(key)]
    }

    func setExpiry(_ key: ByteBuffer, at: Int64) {
        let key = KeyspaceKey(key)
        guard entries[key] != nil else { return }
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
        entries.removeAll()
        expires.removeAll()
        if slotIndex != nil { slotIndex = SlotKeyIndex() }
    }

    /// All keys (including logically expired ones not yet collected).
    var keys: LazyMapCollection<Dictionary<KeyspaceKey, RedisObject>.Keys, ByteBuffer> {
        entries.keys.lazy.map(\.buffer)
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
        swap(&entries, &other.entries)
        swap(&expires, &other.expires)
        swap(&slotIndex, &other.slotIndex)
    }
}

/// A key as the keyspace's tables hold it: the bytes and their hash, computed once per lookup. A probe of the
/// table then compares hashes, and reads the bytes (two pointer hops away in a `ByteBuffer`) only for the key
/// that matches: with ByteBuffer keys, every probe of a large table cost cache misses on keys of equal length.
struct KeyspaceKey: Hashable {
    let buffer: ByteBuffer
    let hash: Int

    @inline(__always)
    init(_ buffer: ByteBuffer) {
        var hasher = Hasher()
        buffer.withUnsafeReadableBytes { hasher.combine(bytes: $0) }
        self.buffer = buffer
        self.hash = hasher.finalize()
    }

    @inline(__always)
    private init(buffer: ByteBuffer, hash: Int) {
        self.buffer = buffer
        self.hash = hash
    }

    /// The same key in storage of its own, so that a stored key never pins a client's read buffer.
    func compacted() -> KeyspaceKey {
        KeyspaceKey(buffer: buffer.compacted(), hash: hash)
    }

    @inline(__always)
    static func == (lhs: KeyspaceKey, rhs: KeyspaceKey) -> Bool {
        lhs.hash == rhs.hash && lhs.buffer == rhs.buffer
    }

    @inline(__always)
    func hash(into hasher: inout Hasher) {
        hasher.combine(hash)
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
