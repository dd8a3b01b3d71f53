import ClusterModel
import NIOCore

/// One logical database (`SELECT n`): keys, their values and expiry times.
///
/// Not thread-safe on its own: every access happens under `NodeState`'s lock.
final class Database {
    let index: Int
    private(set) var entries: [ByteBuffer: RedisObject] = [:]
    /// Absolute expiry times in milliseconds since the Unix epoch.
    private(set) var expires: [ByteBuffer: Int64] = [:]
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
        guard let object = entries[key] else { return nil }
        if let at = expires[key], at <= now {
            remove(key)
            effects.expired(key: key, db: index)
            return nil
        }
        return object
    }

    /// Whether `key` exists and has not expired (without deleting it).
    func exists(_ key: ByteBuffer, now: Int64) -> Bool {
        guard entries[key] != nil else { return false }
        if let at = expires[key], at <= now { return false }
        return true
    }

    /// Stores `object` under `key`; `keepTTL` false clears any expiry (as SET does).
    func set(_ key: ByteBuffer, _ object: RedisObject, keepTTL: Bool = false) {
        if entries.updateValue(object, forKey: key) == nil {
            slotIndex?.insert(key.compacted())
        }
        if !keepTTL { expires.removeValue(forKey: key) }
    }

    /// Stores a value for an existing or new key, copying the key into storage of its own when new.
    func insert(_ key: ByteBuffer, _ object: RedisObject, keepTTL: Bool = false) {
        if entries[key] != nil {
            entries[key] = object
            if !keepTTL { expires.removeValue(forKey: key) }
        } else {
            let owned = key.compacted()
            entries[owned] = object
            slotIndex?.insert(owned)
            expires.removeValue(forKey: key)
        }
    }

    /// Deletes `key`; true if it existed.
    @discardableResult
    func remove(_ key: ByteBuffer) -> Bool {
        guard entries.removeValue(forKey: key) != nil else { return false }
        expires.removeValue(forKey: key)
        slotIndex?.remove(key)
        return true
    }

    func expiry(of key: ByteBuffer) -> Int64? { expires[key] }

    func setExpiry(_ key: ByteBuffer, at: Int64) {
        guard entries[key] != nil else { return }
        if expires[key] != nil {
            expires[key] = at
        } else {
            expires[key.compacted()] = at
        }
    }

    @discardableResult
    func removeExpiry(_ key: ByteBuffer) -> Bool {
        expires.removeValue(forKey: key) != nil
    }

    func removeAll() {
        entries.removeAll()
        expires.removeAll()
        if slotIndex != nil { slotIndex = SlotKeyIndex() }
    }

    /// All keys (including logically expired ones not yet collected).
    var keys: Dictionary<ByteBuffer, RedisObject>.Keys { entries.keys }

    /// Up to `limit` keys whose expiry time is due, for the active expiry cycle.
    func dueKeys(now: Int64, limit: Int) -> [ByteBuffer] {
        var due: [ByteBuffer] = []
        for (key, at) in expires where at <= now {
            due.append(key)
            if due.count >= limit { break }
        }
        return due
    }

    /// Swaps contents with another database (SWAPDB).
    func swapContents(with other: Database) {
        swap(&entries, &other.entries)
        swap(&expires, &other.expires)
        swap(&slotIndex, &other.slotIndex)
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
