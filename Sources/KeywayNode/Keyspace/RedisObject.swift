import DequeModule
import NIOCore
import OrderedCollections

/// A value stored under a key. Aggregates are reference types so that commands mutate them in place.
enum RedisObject {
    case string(ByteBuffer)
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

/// A list: a deque of elements.
final class ListObject {
    var items: Deque<ByteBuffer> = []
    init() {}
    init(_ items: Deque<ByteBuffer>) { self.items = items }
}

/// A hash. Small hashes keep insertion order, as Redis's listpack encoding does.
final class HashObject {
    var fields: OrderedDictionary<ByteBuffer, ByteBuffer> = [:]
    init() {}
}

/// A set. Small all-integer sets iterate in numeric order, as Redis's intset encoding does.
final class SetObject {
    var members: OrderedSet<ByteBuffer> = []
    init() {}
}

/// A sorted set: members with scores, ordered by (score, member).
final class ZSetObject {
    var scores: [ByteBuffer: Double] = [:]
    init() {}
}

extension ByteBuffer {
    /// A copy of the readable bytes in storage of their own, so a stored key or value never pins a read buffer.
    @inline(__always)
    func compacted() -> ByteBuffer {
        var copy = ByteBufferAllocator().buffer(capacity: readableBytes)
        copy.writeImmutableBuffer(self)
        return copy
    }
}
