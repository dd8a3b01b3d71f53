import Foundation
import NIOCore

/// One level of a skip list node: the next node at that level, how many nodes the link skips, and the next
/// node's score. With the score in the link, a walk decides whether to step forward without touching the next
/// node (one cache miss per step instead of two: the next node's levels lie in another cache line than its
/// score); the next node is read only on equal scores.
struct ZSkipLevel {
    var forward: ZSkipNode?
    /// `forward`'s score (meaningless when `forward` is nil). -0 and 0 compare equal, so a score normalized in
    /// place from -0 to 0 (`convertToListpackIfNeeded`) leaves every comparison unchanged. Next to `forward`:
    /// a walk reads the two together, and they then share a cache line more often.
    var forwardScore: Double
    var span: Int
}

/// The fixed part of a skip list node.
struct ZSkipNodeHeader {
    /// Inline when short (most members): no allocation of its own, and no pointer to follow to compare it.
    let member: CompactBytes
    var score: Double
    unowned(unsafe) var backward: ZSkipNode?
    let levelCount: Int
}

/// A skip list node, with its levels allocated inline (one allocation per node, as Redis's flexible array).
final class ZSkipNode: ManagedBuffer<ZSkipNodeHeader, ZSkipLevel> {
    static func make(level: Int, member: CompactBytes, score: Double) -> ZSkipNode {
        let buffer = ZSkipNode.create(minimumCapacity: level) { _ in
            ZSkipNodeHeader(member: member, score: score, backward: nil, levelCount: level)
        }
        let node = unsafeDowncast(buffer, to: ZSkipNode.self)
        node.withUnsafeMutablePointerToElements { levels in
            levels.initialize(repeating: ZSkipLevel(forward: nil, forwardScore: 0, span: 0), count: level)
        }
        return node
    }

    deinit {
        _ = withUnsafeMutablePointers { header, levels in
            levels.deinitialize(count: header.pointee.levelCount)
        }
    }

    @inline(__always) var member: CompactBytes { header.member }
    @inline(__always) var score: Double {
        get { header.score }
        set { header.score = newValue }
    }
    @inline(__always) var backward: ZSkipNode? {
        get { header.backward }
        set { header.backward = newValue }
    }
    @inline(__always) var levelCount: Int { header.levelCount }

    @inline(__always) func forward(_ level: Int) -> ZSkipNode? {
        withUnsafeMutablePointerToElements { $0[level].forward }
    }
    @inline(__always) func setForward(_ level: Int, _ node: ZSkipNode?) {
        let score = node?.score ?? 0
        withUnsafeMutablePointerToElements {
            $0[level].forward = node
            $0[level].forwardScore = score
        }
    }
    /// Records a new score of the next node at `level` (after an in-place score change).
    @inline(__always) func setForwardScore(_ level: Int, _ score: Double) {
        withUnsafeMutablePointerToElements { $0[level].forwardScore = score }
    }
    @inline(__always) func span(_ level: Int) -> Int {
        withUnsafeMutablePointerToElements { $0[level].span }
    }
    @inline(__always) func setSpan(_ level: Int, _ span: Int) {
        withUnsafeMutablePointerToElements { $0[level].span = span }
    }

    /// The next node at `level`, not retained: for walks during which no node is freed (the list's own links
    /// keep every node alive). Reads the link's pointer directly, so the walk makes no reference-count traffic.
    @inline(__always) func unretainedForward(_ level: Int) -> Unmanaged<ZSkipNode>? {
        withUnsafeMutablePointerToElements { levels in
            UnsafeRawPointer(levels + level).load(fromByteOffset: Self.forwardOffset, as: UnsafeRawPointer?.self)
                .map { Unmanaged.fromOpaque($0) }
        }
    }

    /// Where `ZSkipLevel.forward` lies in a level (its first field; a constant, where a `static let` would cost
    /// a once-check on every step; `SkipListTests` checks it against `MemoryLayout`).
    static var forwardOffset: Int { 0 }

    /// The next node at `level` if it sorts before (`score`, `member`), judged by the score cached in the link
    /// (the next node itself is read only when the scores are equal); not retained, as `unretainedForward`.
    @inline(__always) func forward(_ level: Int, ifBefore score: Double, _ member: CompactBytes) -> Unmanaged<ZSkipNode>? {
        guard let next = unretainedForward(level) else { return nil }
        let nextScore = withUnsafeMutablePointerToElements { $0[level].forwardScore }
        if nextScore < score { return next }
        guard nextScore == score else { return nil }
        return next._withUnsafeGuaranteedRef { $0.member.lexCompare(member) < 0 } ? next : nil
    }
}

/// Redis's `zskiplist`: nodes ordered by (score, member) with spans, so that insert, delete, rank and
/// the node at a rank are all O(log n).
final class ZSkipList {
    static let maxLevel = 32
    let head: ZSkipNode
    unowned(unsafe) private(set) var tail: ZSkipNode?
    private(set) var length = 0
    private(set) var level = 1
    private var random: UInt64

    init() {
        head = ZSkipNode.make(level: Self.maxLevel, member: .inline(0, 0, 0, 0), score: 0)
        random = 0x9E37_79B9_7F4A_7C15 ^ UInt64(UInt(bitPattern: ObjectIdentifier(head).hashValue))
    }

    deinit {
        // Unlink iteratively: releasing a long chain of nodes recursively could overflow the stack.
        var node = head.forward(0)
        for i in 0..<Self.maxLevel { head.setForward(i, nil) }
        while let current = node {
            node = current.forward(0)
            for i in 0..<current.levelCount { current.setForward(i, nil) }
        }
    }

    /// The first node (lowest score), if any.
    var first: ZSkipNode? { head.forward(0) }
    /// The last node (highest score), if any.
    var last: ZSkipNode? { tail }

    private func randomLevel() -> Int {
        // xorshift64*; a level goes up with probability 1/4, as ZSKIPLIST_P.
        var level = 1
        while level < Self.maxLevel {
            random ^= random >> 12
            random ^= random << 25
            random ^= random >> 27
            let bits = random &* 0x2545_F491_4F6C_DD1D
            if bits >> 62 != 0 { break }
            level += 1
        }
        return level
    }

    /// Inserts a new node; the member must not be in the list already.
    @discardableResult
    func insert(score: Double, member: CompactBytes) -> ZSkipNode {
        let node = ZSkipNode.make(level: randomLevel(), member: member, score: score)
        link(node)
        return node
    }

    /// Links `node` (not in the list, its links unset) at the place of its score and member.
    private func link(_ node: ZSkipNode) {
        let score = node.score
        let member = node.member
        let newLevel = node.levelCount
        withUnsafeTemporaryAllocation(of: Unmanaged<ZSkipNode>.self, capacity: Self.maxLevel) { update in
            withUnsafeTemporaryAllocation(of: Int.self, capacity: Self.maxLevel) { rank in
                var x = Unmanaged.passUnretained(head)
                var i = level - 1
                while i >= 0 {
                    rank[i] = i == level - 1 ? 0 : rank[i + 1]
                    while let next = x.forward(i, ifBefore: score, member) {
                        rank[i] += x.span(i)
                        x = next
                    }
                    update[i] = x
                    i -= 1
                }
                if newLevel > level {
                    for j in level..<newLevel {
                        rank[j] = 0
                        update[j] = Unmanaged.passUnretained(head)
                        head.setSpan(j, length)
                    }
                    level = newLevel
                }
                for j in 0..<newLevel {
                    let previous = update[j].takeUnretainedValue()
                    node.setForward(j, previous.forward(j))
                    previous.setForward(j, node)
                    node.setSpan(j, previous.span(j) - (rank[0] - rank[j]))
                    previous.setSpan(j, rank[0] - rank[j] + 1)
                }
                if newLevel < level {
                    for j in newLevel..<level {
                        let previous = update[j].takeUnretainedValue()
                        previous.setSpan(j, previous.span(j) + 1)
                    }
                }
                let previous = update[0].takeUnretainedValue()
                node.backward = previous === head ? nil : previous
                if let next = node.forward(0) {
                    next.backward = node
                } else {
                    tail = node
                }
                length += 1
            }
        }
    }

    /// Unlinks `node`, given the rightmost node before it at every level.
    private func unlink(_ node: ZSkipNode, update: UnsafeMutableBufferPointer<Unmanaged<ZSkipNode>>) {
        let target = Unmanaged.passUnretained(node).toOpaque()
        for i in 0..<level {
            let previous = update[i].takeUnretainedValue()
            if previous.unretainedForward(i)?.toOpaque() == target {
                previous.setSpan(i, previous.span(i) + node.span(i) - 1)
                previous.setForward(i, node.forward(i))
            } else {
                previous.setSpan(i, previous.span(i) - 1)
            }
        }
        if let next = node.forward(0) {
            next.backward = node.backward
        } else {
            tail = node.backward
        }
        while level > 1 && head.forward(level - 1) == nil { level -= 1 }
        length -= 1
    }

    /// Fills `update` with the rightmost node before (`score`, `member`) at every level.
    @inline(__always)
    private func findPredecessors(
        score: Double, member: CompactBytes, update: UnsafeMutableBufferPointer<Unmanaged<ZSkipNode>>
    ) -> ZSkipNode {
        var x = Unmanaged.passUnretained(head)
        var i = level - 1
        while i >= 0 {
            while let next = x.forward(i, ifBefore: score, member) { x = next }
            update[i] = x
            i -= 1
        }
        return x.takeUnretainedValue()
    }

    /// Deletes the node with exactly (`score`, `member`); true if found.
    @discardableResult
    func delete(score: Double, member: CompactBytes) -> Bool {
        withUnsafeTemporaryAllocation(of: Unmanaged<ZSkipNode>.self, capacity: Self.maxLevel) { update in
            let x = findPredecessors(score: score, member: member, update: update)
            guard let node = x.forward(0), node.score == score, node.member.lexCompare(member) == 0 else {
                return false
            }
            unlink(node, update: update)
            for i in 0..<node.levelCount { node.setForward(i, nil) }
            return true
        }
    }

    /// Changes the score of the node (`current`, `member`) to `newScore`, in place when the order allows
    /// (Redis's `zslUpdateScore`). The node must exist.
    func updateScore(member: CompactBytes, current: Double, newScore: Double) {
        let moved: ZSkipNode? = withUnsafeTemporaryAllocation(of: Unmanaged<ZSkipNode>.self, capacity: Self.maxLevel) {
            update in
            let x = findPredecessors(score: current, member: member, update: update)
            guard let node = x.forward(0), node.score == current, node.member.lexCompare(member) == 0 else {
                return nil
            }
            let previousOK = node.backward.map { $0.score < newScore } ?? true
            let nextOK = node.forward(0).map { $0.score > newScore } ?? true
            if previousOK && nextOK {
                node.score = newScore
                // The rightmost node before it at each of its levels links to it: their cached scores follow.
                for i in 0..<node.levelCount { update[i].takeUnretainedValue().setForwardScore(i, newScore) }
                return nil
            }
            unlink(node, update: update)
            return node
        }
        // Moved: the same node is linked again at its new place (zslUpdateScore frees it and inserts a new one).
        if let node = moved {
            node.score = newScore
            link(node)
        }
    }

    /// The 1-based rank of (`score`, `member`), or 0 if absent.
    func rank(score: Double, member: CompactBytes) -> Int {
        let start = Unmanaged.passUnretained(head)
        var x = start
        var rank = 0
        var i = level - 1
        while i >= 0 {
            while let next = x.forward(i), next.precedesOrEquals(score: score, member: member) {
                rank += x.span(i)
                x = next
            }
            if x.toOpaque() != start.toOpaque() && x.equals(score: score, member: member) { return rank }
            i -= 1
        }
        return 0
    }

    /// The 1-based rank of `node`, which must be in the list.
    func rank(of node: ZSkipNode) -> Int {
        rank(score: node.score, member: node.member)
    }

    /// The node at 1-based `rank`, or nil if out of range.
    func node(atRank rank: Int) -> ZSkipNode? {
        guard rank >= 1 && rank <= length else { return nil }
        var x = head
        var traversed = 0
        var i = level - 1
        while i >= 0 {
            while let next = x.forward(i), traversed + x.span(i) <= rank {
                traversed += x.span(i)
                x = next
            }
            if traversed == rank { return x }
            i -= 1
        }
        return nil
    }

    // MARK: Score ranges

    /// The first node whose score is in `range`, or nil.
    func firstInRange(_ range: ZScoreRange) -> ZSkipNode? {
        guard !range.isEmpty, let last = tail, range.isAboveMin(last.score),
            let first = head.forward(0), range.isBelowMax(first.score)
        else { return nil }
        var x = head
        var i = level - 1
        while i >= 0 {
            while let next = x.forward(i), !range.isAboveMin(next.score) { x = next }
            i -= 1
        }
        guard let node = x.forward(0), range.isBelowMax(node.score) else { return nil }
        return node
    }

    /// The last node whose score is in `range`, or nil.
    func lastInRange(_ range: ZScoreRange) -> ZSkipNode? {
        guard !range.isEmpty, let last = tail, range.isAboveMin(last.score),
            let first = head.forward(0), range.isBelowMax(first.score)
        else { return nil }
        var x = head
        var i = level - 1
        while i >= 0 {
            while let next = x.forward(i), range.isBelowMax(next.score) { x = next }
            i -= 1
        }
        guard x !== head, range.isAboveMin(x.score) else { return nil }
        return x
    }

    // MARK: Lex ranges (skip list traversal, as zslFirstInLexRange / zslLastInLexRange)

    /// The first node in the lexicographic `range`, found by descending the levels.
    func firstInLexRange(_ range: ZLexRange) -> ZSkipNode? {
        guard !range.isEmpty, let last = tail, range.isAboveMin(last.member),
            let first = head.forward(0), range.isBelowMax(first.member)
        else { return nil }
        var x = head
        var i = level - 1
        while i >= 0 {
            while let next = x.forward(i), !range.isAboveMin(next.member) { x = next }
            i -= 1
        }
        guard let node = x.forward(0), range.isBelowMax(node.member) else { return nil }
        return node
    }

    /// The last node in the lexicographic `range`, found by descending the levels.
    func lastInLexRange(_ range: ZLexRange) -> ZSkipNode? {
        guard !range.isEmpty, let last = tail, range.isAboveMin(last.member),
            let first = head.forward(0), range.isBelowMax(first.member)
        else { return nil }
        var x = head
        var i = level - 1
        while i >= 0 {
            while let next = x.forward(i), range.isBelowMax(next.member) { x = next }
            i -= 1
        }
        guard x !== head, range.isAboveMin(x.member) else { return nil }
        return x
    }

    /// Deletes `node`, which must be in the list.
    func delete(_ node: ZSkipNode) {
        delete(score: node.score, member: node.member)
    }
}

/// Walking the list without reference counting (see `ZSkipNode.unretainedForward`).
extension Unmanaged where Instance == ZSkipNode {
    @inline(__always) func forward(_ level: Int) -> Unmanaged<ZSkipNode>? {
        _withUnsafeGuaranteedRef { $0.unretainedForward(level) }
    }
    @inline(__always) func span(_ level: Int) -> Int {
        _withUnsafeGuaranteedRef { $0.span(level) }
    }
    @inline(__always) func forward(_ level: Int, ifBefore score: Double, _ member: CompactBytes) -> Unmanaged<ZSkipNode>? {
        _withUnsafeGuaranteedRef { $0.forward(level, ifBefore: score, member) }
    }
    @inline(__always) func precedesOrEquals(score: Double, member: CompactBytes) -> Bool {
        _withUnsafeGuaranteedRef { node in
            let own = node.score
            return own < score || (own == score && node.member.lexCompare(member) <= 0)
        }
    }
    @inline(__always) func equals(score: Double, member: CompactBytes) -> Bool {
        _withUnsafeGuaranteedRef { $0.score == score && $0.member.lexCompare(member) == 0 }
    }
}

/// Bytes a sorted set compares as Redis's `sdscmp` does (members as stored, and as they come in requests).
protocol LexComparable {
    func withUnsafeReadableBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result
}

extension ByteBuffer: LexComparable {}
extension CompactBytes: LexComparable {}

extension LexComparable {
    /// Compares the bytes as Redis's `sdscmp` does: memcmp, then the shorter one first.
    @inline(__always)
    func lexCompare(_ other: some LexComparable) -> Int {
        withUnsafeReadableBytes { a in
            other.withUnsafeReadableBytes { b in
                let common = Swift.min(a.count, b.count)
                if common > 0, let pa = a.baseAddress, let pb = b.baseAddress {
                    let result = memcmp(pa, pb, common)
                    if result != 0 { return Int(result) }
                }
                return a.count - b.count
            }
        }
    }
}
