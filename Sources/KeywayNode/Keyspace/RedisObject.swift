import NIOCore

/// A value stored under a key. Aggregates are reference types so that commands mutate them in place.
enum RedisObject {
    case string(CompactBytes)
    case list(ListObject)
    case hash(HashObject)
    case set(SetObject)
    case zset(ZSetObject)

    /// The name `TYPE` reports.
    var typeName: String {
        switch self {
        case .string: return "string"
        case .list: return "list"
        case .hash: return "hash"
        case .set: return "set"
        case .zset: return "zset"
        }
    }
}

/// A list: its elements in blocks (`BlockList`: O(1) push and pop at both ends, O(1) access by index).
///
/// Elements are stored as `CompactBytes(compacting:)` (short ones inline, no allocation), never as slices of a
/// client's read buffer.
final class ListObject {
    var items = BlockList()
    init() {}
    init(_ items: BlockList) { self.items = items }

    var count: Int { items.count }

    /// What `OBJECT ENCODING` reports: Redis 7.0 always encodes lists as quicklists.
    var encodingName: String { "quicklist" }

    /// Adds an element at the head (`left`) or the tail.
    @inline(__always)
    func push(_ element: CompactBytes, left: Bool) {
        if left { items.prepend(element) } else { items.append(element) }
    }

    /// Removes and returns the element at the head (`left`) or the tail.
    @inline(__always)
    func pop(left: Bool) -> CompactBytes? {
        left ? items.popFirst() : items.popLast()
    }

    /// Resolves a Redis index (negative counts from the tail) to a position, or nil when out of range.
    func position(of index: Int64) -> Int? {
        let count = Int64(items.count)
        let resolved = index < 0 ? count &+ index : index
        guard resolved >= 0, resolved < count else { return nil }
        return Int(resolved)
    }
}

// `HashObject` (HashObject.swift), `SetObject` (SetObject.swift) and `ZSetObject` (SortedSet.swift) live in
// files of their own; each documents how to iterate its entries and how to build one from entries.

extension ByteBuffer {
    /// A copy of the readable bytes in storage of their own, so a stored key or value never pins a read buffer.
    @inline(__always)
    func compacted() -> ByteBuffer {
        var copy = ByteBufferAllocator().buffer(capacity: readableBytes)
        copy.writeImmutableBuffer(self)
        return copy
    }
}
