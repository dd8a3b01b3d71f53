/// The members of a hash, set or sorted set with a value each, in two arrays (positions give random access for
/// sampling, SCAN cursors and reply order) and an open-addressing index from a member to its position.
///
/// Each index slot holds the position and the low 32 bits of the member's hash (`KeyspaceKey.hash`, SipHash
/// with the process's random seed), so a probe compares hashes in the index itself and reads a member only for
/// the slot whose hash matches: one cache miss for the index and one for the member per lookup, where an index of
/// bare positions (OrderedDictionary's) reads the member of every slot it probes. Linear probing, at most 3/4
/// full, with backward-shift deletion (no tombstones). Tables of up to `linearLimit` members have no index (a scan
/// compares the hashes held in the keys), so small hashes and sets cost no more memory than their entries.
struct KeyTable<Value> {
    private(set) var keys: [KeyspaceKey] = []
    /// The values, by position (empty when `Value` is zero-sized).
    private(set) var values: [Value] = []
    /// 0: empty; else the hash's low 32 bits in the high half and the position + 1 in the low half.
    private var slots: [UInt64] = []
    /// `slots.count - 1` (a power of two minus one), or -1 while there are no slots.
    private var mask = -1

    /// Zero-sized values (a set's) are not stored: even an array of them costs an allocation per table.
    @inline(__always) private static var storesValues: Bool { MemoryLayout<Value>.size != 0 }

    /// The most members searched without an index.
    static var linearLimit: Int { 8 }

    init() {}

    var count: Int { keys.count }
    var isEmpty: Bool { keys.isEmpty }

    // MARK: Lookup

    /// The position of `key`, if present.
    @inline(__always)
    func index(forKey key: KeyspaceKey) -> Int? {
        guard mask >= 0 else { return keys.firstIndex(of: key) }
        let tag = Self.tag(key.hash)
        var slot = Self.home(tag, mask)
        return slots.withUnsafeBufferPointer { slots in
            keys.withUnsafeBufferPointer { keys in
                while true {
                    let entry = slots[slot]
                    if entry == 0 { return nil }
                    if entry & Self.tagMask == tag {
                        let position = Self.position(entry)
                        if keys[position] == key { return position }
                    }
                    slot = (slot &+ 1) & mask
                }
            }
        }
    }

    @inline(__always)
    func contains(_ key: KeyspaceKey) -> Bool { index(forKey: key) != nil }

    /// The value of `key`, if present.
    @inline(__always)
    subscript(key: KeyspaceKey) -> Value? {
        index(forKey: key).map { Self.storesValues ? values[$0] : (() as! Value) }
    }

    // MARK: Changes

    /// Adds `key`, which must not be present, at the end; returns its position.
    @discardableResult
    mutating func append(_ key: KeyspaceKey, _ value: Value) -> Int {
        let position = keys.count
        keys.append(key)
        if Self.storesValues { values.append(value) }
        if keys.count > Self.linearLimit && keys.count &* 4 > (mask &+ 1) &* 3 {
            rebuild()
        } else if mask >= 0 {
            place(Self.tag(key.hash), position: position)
        }
        return position
    }

    @inline(__always)
    mutating func setValue(_ value: Value, at index: Int) {
        if Self.storesValues { values[index] = value }
    }

    /// Removes the entry at `index` and moves the last one into its place (O(1); the order changes).
    mutating func swapRemove(at index: Int) {
        let last = keys.count - 1
        if mask >= 0 { removeSlot(of: index) }
        if index != last {
            if mask >= 0 { repoint(last, to: index) }
            keys.swapAt(index, last)
            if Self.storesValues { values.swapAt(index, last) }
        }
        keys.removeLast()
        if Self.storesValues { values.removeLast() }
        shrinkIfSparse()
    }

    /// Removes the entry at `index`, keeping the order of the others (O(n): for small tables).
    mutating func remove(at index: Int) {
        keys.remove(at: index)
        if Self.storesValues { values.remove(at: index) }
        rebuild()
    }

    mutating func removeAll() {
        keys = []
        values = []
        slots = []
        mask = -1
    }

    // MARK: Index maintenance

    static var tagMask: UInt64 { 0xFFFF_FFFF_0000_0000 }

    @inline(__always)
    private static func tag(_ hash: Int) -> UInt64 {
        UInt64(truncatingIfNeeded: UInt(bitPattern: hash)) << 32
    }

    /// The first slot probed for a tag (the table never has more than 2^32 slots).
    @inline(__always)
    private static func home(_ tag: UInt64, _ mask: Int) -> Int {
        Int(truncatingIfNeeded: tag >> 32) & mask
    }

    @inline(__always)
    private static func position(_ entry: UInt64) -> Int {
        Int(truncatingIfNeeded: entry & 0xFFFF_FFFF) &- 1
    }

    /// Stores `position` in the first free slot of its probe sequence.
    @inline(__always)
    private mutating func place(_ tag: UInt64, position: Int) {
        var slot = Self.home(tag, mask)
        while slots[slot] != 0 { slot = (slot &+ 1) & mask }
        slots[slot] = tag | UInt64(truncatingIfNeeded: position &+ 1)
    }

    /// The slot holding `position`.
    private func slot(of position: Int) -> Int {
        let target = UInt64(truncatingIfNeeded: position &+ 1)
        var slot = Self.home(Self.tag(keys[position].hash), mask)
        while slots[slot] & 0xFFFF_FFFF != target { slot = (slot &+ 1) & mask }
        return slot
    }

    /// Points the slot of `old` at `new`.
    private mutating func repoint(_ old: Int, to new: Int) {
        let slot = slot(of: old)
        slots[slot] = (slots[slot] & Self.tagMask) | UInt64(truncatingIfNeeded: new &+ 1)
    }

    /// Empties the slot of `position`, shifting later entries of the cluster back so that no probe sequence
    /// has a gap.
    private mutating func removeSlot(of position: Int) {
        var hole = slot(of: position)
        var next = hole
        while true {
            next = (next &+ 1) & mask
            let entry = slots[next]
            if entry == 0 { break }
            let home = Self.home(entry & Self.tagMask, mask)
            // The entry may move back into the hole unless its home lies cyclically in (hole, next].
            let staysPut = hole <= next ? (home > hole && home <= next) : (home > hole || home <= next)
            if !staysPut {
                slots[hole] = entry
                hole = next
            }
        }
        slots[hole] = 0
    }

    private mutating func shrinkIfSparse() {
        if mask >= 0 && (keys.count <= Self.linearLimit / 2 || (mask >= 64 && keys.count &* 8 < mask)) { rebuild() }
    }

    /// Rebuilds the index for the current entries, at most 3/4 full after the next insertion (none for a table
    /// small enough to scan).
    private mutating func rebuild() {
        guard keys.count > Self.linearLimit else {
            slots = []
            mask = -1
            return
        }
        var size = 8
        while size * 3 < (keys.count + 1) * 4 { size <<= 1 }
        slots = Array(repeating: 0, count: size)
        mask = size - 1
        for position in keys.indices { place(Self.tag(keys[position].hash), position: position) }
    }
}

extension KeyTable: Sequence {
    func makeIterator() -> Zip2Sequence<[KeyspaceKey], [Value]>.Iterator {
        zip(keys, values).makeIterator()
    }
}
