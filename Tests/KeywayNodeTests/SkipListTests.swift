import NIOCore
import Testing

@testable import KeywayNode

@Suite("Sorted set skip list against a sorted model")
struct SkipListTests {
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

    @Test("The link's forward pointer is where walks read it")
    func forwardOffset() {
        #expect(MemoryLayout<ZSkipLevel>.offset(of: \.forward) == ZSkipNode.forwardOffset)
    }

    private func check(_ zset: ZSetObject, _ model: [String: Double]) {
        let expected = model.sorted { $0.value < $1.value || ($0.value == $1.value && Array($0.key.utf8).lexicographicallyPrecedes($1.key.utf8)) }
        var actual: [(String, Double)] = []
        zset.forEach { member, score in actual.append((String(buffer: member.buffer), score)) }
        #expect(actual.map(\.0) == expected.map(\.key))
        #expect(actual.map(\.1) == expected.map(\.value))
        for (index, entry) in expected.enumerated() where index % 37 == 0 {
            #expect(zset.rank(of: ByteBuffer(string: entry.key), reverse: false) == index)
            #expect(zset.node(atRank: index).map { String(buffer: $0.member.buffer) } == entry.key)
        }
        // Backward links mirror the forward ones.
        var backward: [String] = []
        var node = zset.list.last
        while let current = node {
            backward.append(String(buffer: current.member.buffer))
            node = current.backward
        }
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
