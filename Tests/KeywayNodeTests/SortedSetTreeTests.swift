import NIOCore
import Testing

@testable import KeywayNode

@Suite("Sorted set tree against a sorted model")
struct SortedSetTreeTests {
    @Test("Random adds, in-place and moving score updates, removals: order, ranks and links stay exact")
    func randomOperations() {
        var random = SeededGenerator(seed: 42)
        let zset = ZSetObject(sizeHint: 1000)
        var model: [String: Double] = [:]
        // Few distinct scores, so that equal scores (ordered by member) are common, and small moves that
        // update in place as well as large ones that move the node.
        for step in 0..<6000 {
            // Every third member is longer than an inline member (24 bytes), so both kinds meet in the list.
            let number = Int.random(in: 0..<700, using: &random)
            let member = "m\(number)" + (number % 3 == 0 ? String(repeating: "x", count: 30) : "")
            switch Int.random(in: 0..<10, using: &random) {
            case 0..<6:
                let score = Double(Int.random(in: -40...40, using: &random)) / 4
                zset.set(ByteBuffer(string: member), score: score)
                model[member] = score
            case 6..<8:
                if let current = model[member] {
                    let next = current + Double.random(in: -0.3...0.3, using: &random)
                    zset.set(ByteBuffer(string: member), score: next)
                    model[member] = next
                }
            default:
                #expect(zset.remove(ByteBuffer(string: member)) == (model.removeValue(forKey: member) != nil))
            }
            if step % 500 == 0 || step == 5999 { check(zset, model) }
        }
    }

    @Test("Small nodes: thousands of inserts and deletes split and merge leaves and inner nodes at every level")
    func smallNodes() {
        var random = SeededGenerator(seed: 5)
        let tree = ZTree(leafCapacity: 4, innerCapacity: 4)
        var model: [String: Double] = [:]
        for step in 0..<8_000 {
            // Grows for a while, then mostly shrinks, twice: the tree gains and loses levels.
            let growing = (step / 2_000) % 2 == 0
            let name = "e\(Int.random(in: 0..<900, using: &random))"
            let member = CompactBytes(referencing: ByteBuffer(string: name))
            if let score = model[name] {
                if Int.random(in: 0..<10, using: &random) < (growing ? 3 : 8) {
                    #expect(tree.delete(score: score, member: member))
                    model[name] = nil
                } else {
                    let next = Double(Int.random(in: 0..<50, using: &random))
                    tree.updateScore(member: member, current: score, newScore: next)
                    model[name] = next
                }
            } else if growing || Int.random(in: 0..<10, using: &random) < 3 {
                let score = Double(Int.random(in: 0..<50, using: &random))
                tree.insert(score: score, member: member)
                model[name] = score
            } else {
                #expect(!tree.delete(score: 0, member: member))
            }
            if step % 250 == 0 || step == 7_999 {
                #expect(tree.verify())
                let expected = model.sorted {
                    $0.value < $1.value
                        || ($0.value == $1.value && Array($0.key.utf8).lexicographicallyPrecedes($1.key.utf8))
                }
                var forward: [String] = []
                var cursor = tree.first
                while let current = cursor {
                    forward.append(String(buffer: current.member.buffer))
                    cursor = current.next
                }
                #expect(forward == expected.map(\.key))
                var backward: [String] = []
                cursor = tree.last
                while let current = cursor {
                    backward.append(String(buffer: current.member.buffer))
                    cursor = current.previous
                }
                #expect(backward.reversed() == expected.map(\.key))
                for (index, entry) in expected.enumerated() where index % 7 == 0 {
                    let member = CompactBytes(referencing: ByteBuffer(string: entry.key))
                    #expect(tree.rank(score: entry.value, member: member) == index + 1)
                    #expect(tree.cursor(atRank: index).map { String(buffer: $0.member.buffer) } == entry.key)
                }
                #expect(tree.cursor(atRank: expected.count) == nil)
                // Score ranges: the first and last entries of a few score bands.
                for low in stride(from: 0, to: 50, by: 9) {
                    let range = ZScoreRange(min: Double(low), max: Double(low + 4), minExclusive: false, maxExclusive: true)
                    let band = expected.filter { $0.value >= Double(low) && $0.value < Double(low + 4) }
                    #expect(tree.firstInRange(range).map { String(buffer: $0.member.buffer) } == band.first?.key)
                    #expect(tree.lastInRange(range).map { String(buffer: $0.member.buffer) } == band.last?.key)
                    #expect(
                        tree.countWhile { range.isBelowMax($0.score) } - tree.countWhile { !range.isAboveMin($0.score) }
                            == band.count)
                }
            }
        }
    }

    private func check(_ zset: ZSetObject, _ model: [String: Double]) {
        let expected = model.sorted { $0.value < $1.value || ($0.value == $1.value && Array($0.key.utf8).lexicographicallyPrecedes($1.key.utf8)) }
        var actual: [(String, Double)] = []
        zset.forEach { member, score in actual.append((String(buffer: member.buffer), score)) }
        #expect(actual.map(\.0) == expected.map(\.key))
        #expect(actual.map(\.1) == expected.map(\.value))
        for (index, entry) in expected.enumerated() where index % 37 == 0 {
            #expect(zset.rank(of: ByteBuffer(string: entry.key), reverse: false) == index)
            #expect(zset.cursor(atRank: index).map { String(buffer: $0.member.buffer) } == entry.key)
        }
        // Backward links mirror the forward ones.
        var backward: [String] = []
        var node = zset.tree.last
        while let current = node {
            backward.append(String(buffer: current.member.buffer))
            node = current.previous
        }
        #expect(zset.tree.verify())
        #expect(backward.reversed() == expected.map(\.key))
        // The member -> score table agrees with the list.
        #expect(zset.count == model.count)
        for index in 0..<zset.count {
            let entry = zset.entry(at: index)
            #expect(model[String(buffer: entry.member.buffer)] == entry.score)
            #expect(zset.score(of: entry.member.buffer) == entry.score)
        }
    }
}
