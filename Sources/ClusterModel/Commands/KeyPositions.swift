/// The argv indices of a command's keys, in Redis's order (the order `COMMAND GETKEYS` lists them).
///
/// Every key spec and every Redis key procedure yields arithmetic runs (first, count, step), at most a few per
/// command, so the positions are kept as up to four inline runs: extracting keys allocates nothing.
public struct KeyPositions: RandomAccessCollection, Sendable, Equatable, CustomStringConvertible {
    /// One arithmetic run of positions: `first`, `first + step`, ... (`count` of them).
    struct Run: Sendable, Equatable {
        var first: Int32
        var count: Int32
        var step: Int32
    }

    private var run0 = Run(first: 0, count: 0, step: 1)
    private var run1 = Run(first: 0, count: 0, step: 1)
    private var run2 = Run(first: 0, count: 0, step: 1)
    private var run3 = Run(first: 0, count: 0, step: 1)
    /// Runs past the fourth (no Redis 7.0 command needs them).
    private var overflow: [Run] = []
    private var runCount = 0
    private var total = 0

    /// No keys.
    public init() {}

    public var startIndex: Int { 0 }
    public var endIndex: Int { total }

    public subscript(position: Int) -> Int {
        precondition(position >= 0 && position < total, "key position index out of range")
        var offset = position
        var runIndex = 0
        while runIndex < runCount {
            let run = self.run(at: runIndex)
            if offset < Int(run.count) {
                return Int(run.first) + offset * Int(run.step)
            }
            offset -= Int(run.count)
            runIndex += 1
        }
        preconditionFailure("key position index out of range")
    }

    public var description: String {
        "[" + map(String.init).joined(separator: ", ") + "]"
    }

    public static func == (lhs: KeyPositions, rhs: KeyPositions) -> Bool {
        lhs.elementsEqual(rhs)
    }

    /// Appends the positions `first...last` every `step` (`step` > 0, `first` ≤ `last`).
    mutating func appendRun(first: Int, last: Int, step: Int) {
        let count = (last - first) / step + 1
        append(Run(first: Int32(truncatingIfNeeded: first), count: Int32(truncatingIfNeeded: count),
                   step: Int32(truncatingIfNeeded: step)))
    }

    /// Appends one position.
    mutating func append(position: Int) {
        append(Run(first: Int32(truncatingIfNeeded: position), count: 1, step: 1))
    }

    private mutating func append(_ run: Run) {
        switch runCount {
        case 0: run0 = run
        case 1: run1 = run
        case 2: run2 = run
        case 3: run3 = run
        default: overflow.append(run)
        }
        runCount += 1
        total += Int(run.count)
    }

    private func run(at index: Int) -> Run {
        switch index {
        case 0: return run0
        case 1: return run1
        case 2: return run2
        case 3: return run3
        default: return overflow[index - 4]
        }
    }
}
