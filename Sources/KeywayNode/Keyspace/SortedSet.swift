import NIOCore

/// A sorted set: members with scores, ordered by (score, member).
///
/// An order-statistic B+ tree (`ZTree`: O(log n) insert, delete, rank and range, where Redis has a skip list)
/// plus a member → score table. Redis 7.0's small encoding (`listpack`: at most 128 members of at most 64 bytes)
/// is tracked because it changes a few visible behaviours: ZSCAN returns everything at once, ZRANGEBYLEX on mixed
/// scores scans linearly, and a score of -0 is stored as 0.
///
/// For code outside the sorted set commands (DUMP/RESTORE, OBJECT ENCODING, DEBUG):
/// - iterate with `zset.forEach { member, score in ... }`, in ascending (score, member) order;
/// - build one with `ZSetObject(entries:)` from (member, score) pairs (later duplicates replace earlier ones;
///   buffers are copied into storage of their own; scores must not be NaN);
/// - `encodingName` is what OBJECT ENCODING reports.
final class ZSetObject {
    /// `zset-max-listpack-entries`.
    static let maxListpackEntries = 128
    /// `zset-max-listpack-value`.
    static let maxListpackValue = 64

    /// Member → score; removal moves the last entry into the hole, so ZSCAN can walk it with a stable cursor.
    /// Members are keyed as the keyspace's keys are (inline when short, hashed once per lookup).
    private(set) var scores = KeyTable<Double>()
    /// The members in (score, member) order.
    let tree = ZTree()
    /// True while Redis would use the listpack encoding.
    private(set) var isListpack = true

    /// An empty sorted set with Redis's `zsetTypeCreate` encoding choice for the elements about to be added.
    init(sizeHint: Int = 0, maxMemberLength: Int = 0) {
        isListpack = sizeHint <= Self.maxListpackEntries && maxMemberLength <= Self.maxListpackValue
    }

    /// A sorted set holding `entries`.
    convenience init<Entries: Sequence>(entries: Entries) where Entries.Element == (member: ByteBuffer, score: Double) {
        self.init()
        for (member, score) in entries { set(member, score: score) }
    }

    var count: Int { scores.count }
    var isEmpty: Bool { scores.isEmpty }
    /// The encoding OBJECT ENCODING reports.
    var encodingName: String { isListpack ? "listpack" : "skiplist" }

    /// The score of `member`, if present.
    @inline(__always) func score(of member: ByteBuffer) -> Double? { scores[KeyspaceKey(member)] }

    /// Where `member` is in the dictionary, if present (for `score(at:)` and `update(at:to:)`: one lookup per
    /// member for a command that reads the score and then changes it).
    @inline(__always) func index(of member: KeyspaceKey) -> Int? { scores.index(forKey: member) }

    @inline(__always) func score(at index: Int) -> Double { scores.values[index] }

    /// Calls `body` with every member and its score in ascending order.
    func forEach(_ body: (CompactBytes, Double) throws -> Void) rethrows {
        var node = tree.first
        while let current = node {
            try body(current.member, current.score)
            node = current.next
        }
    }

    /// Sets the score of `member`, adding it if needed (a copy of the member is stored); true if it was added.
    @discardableResult
    func set(_ member: ByteBuffer, score: Double) -> Bool {
        set(KeyspaceKey(member), score: score)
    }

    @discardableResult
    func set(_ key: KeyspaceKey, score: Double) -> Bool {
        if let index = scores.index(forKey: key) {
            update(at: index, to: score)
            return false
        }
        insertNew(key, score: score)
        return true
    }

    /// Adds a member that is not in the set yet.
    func insertNew(_ member: ByteBuffer, score: Double) {
        insertNew(KeyspaceKey(member), score: score)
    }

    /// Adds a member that is not in the set yet (its bytes are copied when they are not inline).
    func insertNew(_ member: KeyspaceKey, score: Double) {
        if isListpack && (scores.count + 1 > Self.maxListpackEntries || member.compact.readableBytes > Self.maxListpackValue) {
            isListpack = false
        }
        let stored = member.compacted()
        let score = normalized(score)
        scores.append(stored, score)
        tree.insert(score: score, member: stored.compact)
    }

    /// Changes the score of the member at `index` of the dictionary.
    func update(at index: Int, to newScore: Double) {
        let current = scores.values[index]
        let newScore = normalized(newScore)
        guard newScore != current else { return }
        scores.setValue(newScore, at: index)
        tree.updateScore(member: scores.keys[index].compact, current: current, newScore: newScore)
    }

    /// Removes `member`; true if it was there.
    @discardableResult
    func remove(_ member: ByteBuffer) -> Bool {
        guard let index = scores.index(forKey: KeyspaceKey(member)) else { return false }
        let score = scores.values[index]
        let stored = scores.keys[index].compact
        scores.swapRemove(at: index)
        tree.delete(score: score, member: stored)
        return true
    }

    /// Removes an entry found by a range or rank query.
    func remove(_ entry: ZEntry) {
        if let index = scores.index(forKey: KeyspaceKey(compact: entry.member)) { scores.swapRemove(at: index) }
        tree.delete(score: entry.score, member: entry.member)
    }

    /// The 0-based rank of `member` (from the highest score when `reverse`), if present.
    func rank(of member: ByteBuffer, reverse: Bool) -> Int? {
        let key = KeyspaceKey(member)
        guard let index = scores.index(forKey: key) else { return nil }
        let rank = tree.rank(score: scores.values[index], member: scores.keys[index].compact)
        guard rank > 0 else { return nil }
        return reverse ? count - rank : rank - 1
    }

    /// The entry at 0-based `rank` (ascending), if in range.
    func cursor(atRank rank: Int) -> ZCursor? { tree.cursor(atRank: rank) }

    /// The entry at `index` of the dictionary (`0..<count`), for random sampling and ZSCAN.
    func entry(at index: Int) -> (member: CompactBytes, score: Double) {
        (scores.keys[index].compact, scores.values[index])
    }

    /// Switches to the listpack encoding when Redis's `zsetConvertToListpackIfNeeded` would (store commands).
    func convertToListpackIfNeeded(maxMemberLength: Int) {
        guard !isListpack, count <= Self.maxListpackEntries, maxMemberLength <= Self.maxListpackValue else { return }
        isListpack = true
        var node = tree.first
        while let current = node {
            if current.score == 0 && current.score.sign == .minus {
                tree.normalizeScore(at: current, to: 0)
                if let index = scores.index(forKey: KeyspaceKey(compact: current.member)) { scores.setValue(0, at: index) }
            }
            node = current.next
        }
    }

    /// A listpack stores scores as text in which -0 becomes 0.
    @inline(__always) private func normalized(_ score: Double) -> Double {
        isListpack && score == 0 ? 0 : score
    }

    // MARK: Ranges

    /// The first entry in the score range (or the last one when `reverse`).
    func firstNode(in range: ZScoreRange, reverse: Bool) -> ZCursor? {
        reverse ? tree.lastInRange(range) : tree.firstInRange(range)
    }

    /// The first entry in the lexicographic range (or the last one when `reverse`). A listpack is scanned
    /// linearly as Redis does, which only differs from the tree descent when scores are not all equal.
    func firstNode(in range: ZLexRange, reverse: Bool) -> ZCursor? {
        guard isListpack else { return reverse ? tree.lastInLexRange(range) : tree.firstInLexRange(range) }
        // zzlIsInLexRange: the last member must be above the minimum and the first below the maximum.
        guard !range.isEmpty, let last = tree.last, range.isAboveMin(last.member), let first = tree.first,
            range.isBelowMax(first.member)
        else { return nil }
        if reverse {
            var node = tree.last
            while let current = node {
                if range.isBelowMax(current.member) { return range.isAboveMin(current.member) ? current : nil }
                node = current.previous
            }
        } else {
            var node = tree.first
            while let current = node {
                if range.isAboveMin(current.member) { return range.isBelowMax(current.member) ? current : nil }
                node = current.next
            }
        }
        return nil
    }

    /// Number of members with a score in `range`.
    func count(in range: ZScoreRange) -> Int {
        guard !range.isEmpty else { return 0 }
        let throughMax = tree.countWhile { range.isBelowMax($0.score) }
        let belowMin = tree.countWhile { !range.isAboveMin($0.score) }
        return max(0, throughMax - belowMin)
    }

    /// Number of members in the lexicographic `range` (ZLEXCOUNT).
    func count(in range: ZLexRange) -> Int {
        if isListpack {
            var count = 0
            var node = firstNode(in: range, reverse: false)
            while let current = node, range.isBelowMax(current.member) {
                count += 1
                node = current.next
            }
            return count
        }
        guard let first = tree.firstInLexRange(range) else { return 0 }
        var total = count - (tree.rank(score: first.score, member: first.member) - 1)
        if let last = tree.lastInLexRange(range) { total -= count - tree.rank(score: last.score, member: last.member) }
        return total
    }
}
