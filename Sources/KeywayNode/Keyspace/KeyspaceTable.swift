import CKeywayShims

/// The keyspace's hash table: every slot holds a key's bytes and its value side by side in one 64-byte cache line,
/// and a separate byte per slot says whether it is taken and carries 7 bits of the key's hash.
///
/// A lookup reads the tag bytes (a quarter of a megabyte for a million slots: they stay in the L2 cache) and then
/// one cache line, where the key's bytes and its value lie together; only a slot whose tag matches is read (a
/// false match once in 128). `Dictionary` keeps keys (with their hashes) and values in two arrays, so a lookup in a
/// large keyspace cost a cache miss in each (~12% of the node's CPU under GET at -P 16). The hash is not stored:
/// growing, shrinking and deleting recompute it from the key (a few multiplications for a key of up to 24 bytes).
///
/// Open addressing with linear probing, at most 3/4 full, backward-shift deletion (no tombstones). The first slot
/// probed is the high bits of the key's hash times a random odd multiplier chosen per table size, so that copying
/// one table into another in slot order never piles keys into one run. Not thread-safe: `Database`'s rules apply.
final class KeyspaceTable {
    struct Slot {
        var key: CompactBytes
        var value: RedisObject
    }

    /// A slot's size and alignment: one cache line.
    static let slotBytes = 64

    /// Per slot: 0 when empty, else `0x80 | hash & 0x7F`.
    private var tags: UnsafeMutablePointer<UInt8>
    private var slots: UnsafeMutablePointer<Slot>
    private(set) var count = 0
    /// Capacity - 1 (the capacity is a power of two, at least `minimumCapacity`).
    private var mask: Int
    /// 64 - log2(capacity): `home` keeps the product's top bits.
    private var shift: UInt64
    private var multiplier: UInt64

    static let minimumCapacity = 8

    init() {
        (tags, slots, mask, shift, multiplier) = Self.allocate(capacity: Self.minimumCapacity)
    }

    deinit {
        destroyAll()
        tags.deallocate()
        slots.deallocate()
    }

    var capacity: Int { mask &+ 1 }

    // MARK: Lookup

    /// The slot of `key`, if present. Valid until the next insertion or removal.
    @inline(__always)
    func find(_ key: KeyspaceKey) -> Int? {
        guard count != 0 else { return nil }
        let tag = Self.tag(key.hash)
        var index = home(key.hash)
        while true {
            let found = tags[index]
            if found == 0 { return nil }
            if found == tag && slots[index].key == key.compact { return index }
            index = (index &+ 1) & mask
        }
    }

    /// Starts loading the tag and the slot where a lookup of `key` begins, without waiting: the lookups of a pipeline's keys then overlap their cache misses instead of stalling in turn.
    @inline(__always)
    func prefetch(_ key: KeyspaceKey) {
        let index = home(key.hash)
        keyway_prefetch(tags + index)
        keyway_prefetch(slots + index)
    }

    @inline(__always)
    func value(at index: Int) -> RedisObject { slots[index].value }

    @inline(__always)
    func key(at index: Int) -> CompactBytes { slots[index].key }

    @inline(__always)
    func setValue(_ value: RedisObject, at index: Int) { slots[index].value = value }

    /// The first taken slot at or after `index`, if any.
    func nextTaken(from index: Int) -> Int? {
        var index = index
        while index <= mask {
            if tags[index] != 0 { return index }
            index &+= 1
        }
        return nil
    }

    /// A taken slot picked at random (the first taken one from a random start), or nil when empty.
    func randomTaken<G: RandomNumberGenerator>(using generator: inout G) -> Int? {
        guard count != 0 else { return nil }
        var index = Int.random(in: 0...mask, using: &generator)
        while tags[index] == 0 { index = (index &+ 1) & mask }
        return index
    }

    // MARK: Changes

    /// Adds `key`, which must not be present (`find` returned nil); returns its slot.
    @discardableResult
    func insertNew(_ key: KeyspaceKey, _ value: RedisObject) -> Int {
        if (count &+ 1) &* 4 > capacity &* 3 { resize(to: capacity &* 2) }
        var index = home(key.hash)
        while tags[index] != 0 { index = (index &+ 1) & mask }
        tags[index] = Self.tag(key.hash)
        (slots + index).initialize(to: Slot(key: key.compact, value: value))
        count &+= 1
        return index
    }

    /// Removes the key at `index` and returns its slot's contents. Every other slot index may change.
    @discardableResult
    func remove(at index: Int) -> Slot {
        let removed = (slots + index).move()
        count &-= 1
        // Backward shift: later keys of the run move into the hole unless that would put them before their home.
        var hole = index
        var next = index
        while true {
            next = (next &+ 1) & mask
            let tag = tags[next]
            if tag == 0 { break }
            let home = home(KeyspaceKey(compact: slots[next].key).hash)
            let staysPut = hole <= next ? (home > hole && home <= next) : (home > hole || home <= next)
            if !staysPut {
                (slots + hole).moveInitialize(from: slots + next, count: 1)
                tags[hole] = tag
                hole = next
            }
        }
        tags[hole] = 0
        if capacity > Self.minimumCapacity && count &* 8 < capacity {
            var target = Self.minimumCapacity
            while target &* 3 < count &* 8 { target &*= 2 }  // at most 3/8 full after shrinking
            resize(to: target)
        }
        return removed
    }

    func removeAll() {
        destroyAll()
        tags.deallocate()
        slots.deallocate()
        count = 0
        (tags, slots, mask, shift, multiplier) = Self.allocate(capacity: Self.minimumCapacity)
    }

    // MARK: Storage

    @inline(__always)
    private static func tag(_ hash: Int) -> UInt8 {
        0x80 | UInt8(truncatingIfNeeded: hash) & 0x7F
    }

    @inline(__always)
    private func home(_ hash: Int) -> Int {
        Int(truncatingIfNeeded: (UInt64(bitPattern: Int64(hash)) &* multiplier) &>> shift)
    }

    private static func allocate(capacity: Int) -> (
        UnsafeMutablePointer<UInt8>, UnsafeMutablePointer<Slot>, Int, UInt64, UInt64
    ) {
        let tags = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
        tags.initialize(repeating: 0, count: capacity)
        let slots = UnsafeMutableRawPointer.allocate(
            byteCount: capacity * MemoryLayout<Slot>.stride, alignment: max(Self.slotBytes, MemoryLayout<Slot>.alignment)
        ).bindMemory(to: Slot.self, capacity: capacity)
        let shift = UInt64(64 - capacity.trailingZeroBitCount)
        return (tags, slots, capacity - 1, shift, UInt64.random(in: 0...UInt64.max) | 1)
    }

    private func resize(to newCapacity: Int) {
        let oldTags = tags
        let oldSlots = slots
        let oldCapacity = capacity
        (tags, slots, mask, shift, multiplier) = Self.allocate(capacity: newCapacity)
        for old in 0..<oldCapacity where oldTags[old] != 0 {
            var index = home(KeyspaceKey(compact: oldSlots[old].key).hash)
            while tags[index] != 0 { index = (index &+ 1) & mask }
            tags[index] = oldTags[old]
            (slots + index).moveInitialize(from: oldSlots + old, count: 1)
        }
        oldTags.deallocate()
        oldSlots.deallocate()
    }

    private func destroyAll() {
        guard count != 0 else { return }
        for index in 0...mask where tags[index] != 0 { (slots + index).deinitialize(count: 1) }
    }
}

extension KeyspaceTable {
    /// The keys in slot order (a snapshot's worth: the table must not change while this is iterated).
    struct Keys: Sequence {
        let table: KeyspaceTable

        struct Iterator: IteratorProtocol {
            let table: KeyspaceTable
            var index = 0

            mutating func next() -> CompactBytes? {
                guard let found = table.nextTaken(from: index) else { return nil }
                index = found &+ 1
                return table.key(at: found)
            }
        }

        func makeIterator() -> Iterator { Iterator(table: table) }
        var underestimatedCount: Int { table.count }
    }

    var keys: Keys { Keys(table: self) }
}
