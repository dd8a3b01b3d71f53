import DequeModule

/// A list's elements in fixed-size blocks (as C++'s `std::deque`, and in the spirit of Redis's quicklist): pushes
/// and pops at both ends are O(1), and access by index is O(1) (every block but a lone first one holds exactly
/// `blockSize` slots, so an index is a block number and an offset).
///
/// A growing list never copies its elements: it adds a block. With one contiguous buffer (`Deque`), each doubling
/// copied the whole list into fresh memory (and page-faulted it in): ~4% of LPUSH's CPU on a list of millions,
/// and one command that moves hundreds of megabytes. A list of up to `blockSize` elements is one block sized to fit
/// (doubling), so short lists stay small.
///
/// Slots outside the elements hold `placeholder` (no reference), so every slot of a block is initialized.
struct BlockList {
    static let blockShift = 7
    /// Elements per full block: 128 (4 KiB of 32-byte elements).
    static let blockSize = 1 << blockShift
    private static let blockMask = blockSize - 1
    private static let placeholder = CompactBytes.inline(0, 0, 0, 0)
    private static let firstBlockSize = 4

    private var blocks: Deque<ContiguousArray<CompactBytes>> = []
    /// The slot of element 0 in `blocks[0]`.
    private var start = 0
    private(set) var count = 0

    init() {}

    init<S: Sequence>(_ elements: S) where S.Element == CompactBytes {
        for element in elements { append(element) }
    }

    var isEmpty: Bool { count == 0 }

    // MARK: Ends

    @inline(__always)
    mutating func append(_ element: CompactBytes) {
        let slot = start &+ count
        if blocks.isEmpty {
            blocks.append(Self.block(Self.firstBlockSize))
        } else if blocks.count == 1 && slot == blocks[0].count {
            // A lone block: grows by doubling up to a full block, then the list gets a second block.
            if slot < Self.blockSize {
                blocks[0].append(contentsOf: repeatElement(Self.placeholder, count: Swift.min(slot, Self.blockSize &- slot)))
            } else {
                blocks.append(Self.block(Self.blockSize))
            }
        } else if slot == blocks.count &<< Self.blockShift {
            blocks.append(Self.block(Self.blockSize))
        }
        blocks[slot &>> Self.blockShift][slot & Self.blockMask] = element
        count &+= 1
    }

    @inline(__always)
    mutating func prepend(_ element: CompactBytes) {
        if blocks.isEmpty {
            blocks.append(Self.block(Self.firstBlockSize))
            start = Self.firstBlockSize
        } else if start == 0 {
            let size = blocks[0].count
            if blocks.count == 1 && size < Self.blockSize {
                let extra = Swift.min(size, Self.blockSize &- size)
                blocks[0].insert(contentsOf: repeatElement(Self.placeholder, count: extra), at: 0)
                start = extra
            } else {
                blocks.prepend(Self.block(Self.blockSize))
                start = Self.blockSize
            }
        }
        start &-= 1
        blocks[0][start] = element
        count &+= 1
    }

    @inline(__always)
    mutating func popFirst() -> CompactBytes? {
        guard count > 0 else { return nil }
        let element = blocks[0][start]
        blocks[0][start] = Self.placeholder
        start &+= 1
        count &-= 1
        if count == 0 {
            removeAll()
        } else if start == blocks[0].count {
            blocks.removeFirst()
            start = 0
        }
        return element
    }

    @inline(__always)
    mutating func popLast() -> CompactBytes? {
        guard count > 0 else { return nil }
        let slot = start &+ count &- 1
        let element = blocks[slot &>> Self.blockShift][slot & Self.blockMask]
        blocks[slot &>> Self.blockShift][slot & Self.blockMask] = Self.placeholder
        count &-= 1
        if count == 0 {
            removeAll()
        } else if slot & Self.blockMask == 0 && blocks.count > 1 {
            blocks.removeLast()
        }
        return element
    }

    mutating func removeFirst(_ k: Int) {
        precondition(k >= 0 && k <= count, "removeFirst: out of range")
        for _ in 0..<k { _ = popFirst() }
    }

    mutating func removeLast(_ k: Int) {
        precondition(k >= 0 && k <= count, "removeLast: out of range")
        for _ in 0..<k { _ = popLast() }
    }

    mutating func removeAll() {
        blocks = []
        start = 0
        count = 0
    }

    /// Inserts `element` at `index` (0...count), moving the elements after it (O(n)).
    mutating func insert(_ element: CompactBytes, at index: Int) {
        precondition(index >= 0 && index <= count, "insert: out of range")
        if index == 0 { return prepend(element) }
        let last = count
        append(self[last &- 1])
        var position = last &- 1
        while position > index {
            self[position] = self[position &- 1]
            position &-= 1
        }
        self[index] = element
    }

    // MARK: Storage

    private static func block(_ size: Int) -> ContiguousArray<CompactBytes> {
        ContiguousArray(repeating: placeholder, count: size)
    }
}

extension BlockList: RandomAccessCollection, MutableCollection {
    var startIndex: Int { 0 }
    var endIndex: Int { count }

    @inline(__always)
    subscript(position: Int) -> CompactBytes {
        get {
            precondition(position >= 0 && position < count, "index out of range")
            let slot = start &+ position
            return blocks[slot &>> Self.blockShift][slot & Self.blockMask]
        }
        set {
            precondition(position >= 0 && position < count, "index out of range")
            let slot = start &+ position
            blocks[slot &>> Self.blockShift][slot & Self.blockMask] = newValue
        }
    }

    /// Walks the blocks in order instead of computing each element's block.
    struct Iterator: IteratorProtocol {
        fileprivate let blocks: Deque<ContiguousArray<CompactBytes>>
        fileprivate var block = 0
        fileprivate var slot: Int
        fileprivate var remaining: Int

        mutating func next() -> CompactBytes? {
            guard remaining > 0 else { return nil }
            if slot == blocks[block].count {
                block &+= 1
                slot = 0
            }
            let element = blocks[block][slot]
            slot &+= 1
            remaining &-= 1
            return element
        }
    }

    func makeIterator() -> Iterator {
        Iterator(blocks: blocks, slot: start, remaining: count)
    }
}
