import NIOCore

/// A set of members.
///
/// Follows Redis 7.0's two encodings so that replies come in the same order: while every member is an integer
/// (in `string2ll` form) and there are at most 512 of them (Redis's `intset`), members are kept as sorted `Int64`s
/// and iterate in ascending numeric order; otherwise (Redis's `hashtable`) the order is unspecified and a removal
/// moves the last member into the hole, in O(1). Like Redis, a set never goes back to an intset.
///
/// For code outside the set commands (DUMP/RESTORE, OBJECT ENCODING, DEBUG):
/// - iterate with `set.forEach { member in ... }` (members as ByteBuffers, in the order Redis would reply);
/// - build one with `SetObject(members:)` (the buffers are copied into storage of their own);
/// - `encodingName` is what OBJECT ENCODING reports.
final class SetObject {
    /// `set-max-intset-entries`.
    static let maxIntsetEntries = 512

    /// One member, without allocating a buffer for integers of an intset.
    enum Member {
        case integer(Int64)
        case bytes(ByteBuffer)

        var buffer: ByteBuffer {
            switch self {
            case .bytes(let bytes): return bytes
            case .integer(let value):
                var buffer = ByteBuffer()
                buffer.writeDecimal(value)
                return buffer
            }
        }
    }

    /// The members while the set is an intset, in ascending order.
    private var integers: [Int64] = []
    /// The members once the set is a hash table (with their hashes, short ones inline: see `KeyspaceKey`).
    private var table = KeyTable<Void>()
    /// True while the set uses the intset encoding.
    private(set) var isIntset = true

    init() {}

    /// A set holding `members` (duplicates are ignored).
    convenience init<Members: Sequence>(members: Members) where Members.Element == ByteBuffer {
        self.init()
        for member in members { insert(member) }
    }

    /// A set holding the members of `other`, with the encoding a fresh set of them would have.
    convenience init(members other: SetObject) {
        self.init()
        other.forEachMember { insert($0) }
    }

    var count: Int { isIntset ? integers.count : table.count }
    var isEmpty: Bool { count == 0 }
    /// The encoding OBJECT ENCODING reports.
    var encodingName: String { isIntset ? "intset" : "hashtable" }

    /// Whether `member` is in the set.
    func contains(_ member: ByteBuffer) -> Bool {
        if isIntset {
            guard let value = member.parseInt64() else { return false }
            return searchInteger(value).found
        }
        return table.contains(KeyspaceKey(member))
    }

    /// Adds `member` (copied into storage of its own); true if it was not there.
    @discardableResult
    func insert(_ member: ByteBuffer) -> Bool {
        if isIntset {
            if let value = member.parseInt64() {
                let (index, found) = searchInteger(value)
                if found { return false }
                integers.insert(value, at: index)
                if integers.count > Self.maxIntsetEntries { convertToTable() }
                return true
            }
            convertToTable()
        }
        let key = KeyspaceKey(member)
        if table.contains(key) { return false }
        table.append(key.compacted(), ())
        return true
    }

    /// Removes `member`; true if it was there.
    @discardableResult
    func remove(_ member: ByteBuffer) -> Bool {
        if isIntset {
            guard let value = member.parseInt64() else { return false }
            let (index, found) = searchInteger(value)
            if found { integers.remove(at: index) }
            return found
        }
        guard let index = table.index(forKey: KeyspaceKey(member)) else { return false }
        removeFromTable(at: index)
        return true
    }

    /// The member at `index` (`0..<count`), in iteration order.
    func member(at index: Int) -> Member {
        isIntset ? .integer(integers[index]) : .bytes(table.keys[index].buffer)
    }

    /// Removes and returns the member at `index` (`0..<count`).
    @discardableResult
    func remove(at index: Int) -> Member {
        if isIntset { return .integer(integers.remove(at: index)) }
        let member = table.keys[index].buffer
        removeFromTable(at: index)
        return .bytes(member)
    }

    /// Calls `body` with every member, in the order Redis would reply.
    func forEach(_ body: (ByteBuffer) throws -> Void) rethrows {
        if isIntset {
            for value in integers { try body(Member.integer(value).buffer) }
        } else {
            for member in table.keys { try body(member.buffer) }
        }
    }

    /// Calls `body` with every member without allocating buffers for integers.
    func forEachMember(_ body: (Member) throws -> Void) rethrows {
        if isIntset {
            for value in integers { try body(.integer(value)) }
        } else {
            for member in table.keys { try body(.bytes(member.buffer)) }
        }
    }

    /// Whether the integer member `value` is in the set (fast path for intersections of intsets).
    func contains(integer value: Int64) -> Bool {
        if isIntset { return searchInteger(value).found }
        return table.contains(KeyspaceKey(Member.integer(value).buffer))
    }

    /// Whether `member` is in the set.
    func contains(_ member: Member) -> Bool {
        switch member {
        case .integer(let value): return contains(integer: value)
        case .bytes(let bytes): return contains(bytes)
        }
    }

    /// Adds `member`; true if it was not there.
    @discardableResult
    func insert(_ member: Member) -> Bool {
        switch member {
        case .integer(let value):
            if isIntset {
                let (index, found) = searchInteger(value)
                if found { return false }
                integers.insert(value, at: index)
                if integers.count > Self.maxIntsetEntries { convertToTable() }
                return true
            }
            return insert(Member.integer(value).buffer)
        case .bytes(let bytes):
            return insert(bytes)
        }
    }

    /// Removes `member`; true if it was there.
    @discardableResult
    func remove(_ member: Member) -> Bool {
        switch member {
        case .integer(let value):
            if isIntset {
                let (index, found) = searchInteger(value)
                if found { integers.remove(at: index) }
                return found
            }
            return remove(Member.integer(value).buffer)
        case .bytes(let bytes):
            return remove(bytes)
        }
    }

    private func removeFromTable(at index: Int) {
        table.swapRemove(at: index)
    }

    private func searchInteger(_ value: Int64) -> (index: Int, found: Bool) {
        var low = 0
        var high = integers.count
        while low < high {
            let mid = (low + high) >> 1
            let candidate = integers[mid]
            if candidate == value { return (mid, true) }
            if candidate < value { low = mid + 1 } else { high = mid }
        }
        return (low, false)
    }

    private func convertToTable() {
        guard isIntset else { return }
        var converted = KeyTable<Void>()
        for value in integers { converted.append(KeyspaceKey(Member.integer(value).buffer), ()) }
        table = converted
        integers = []
        isIntset = false
    }
}
