import NIOCore
import Testing

@testable import KeywayNode

@Suite("KeyTable (the member index of hashes, sets and sorted sets) against a model")
struct KeyTableTests {
    @Test("Random appends, updates, swap-removals and ordered removals: every lookup and position stays exact")
    func randomOperations() {
        var random = SeededGenerator(seed: 7)
        var table = KeyTable<Int>()
        // The model: entries in table order.
        var order: [String] = []
        var values: [String: Int] = [:]
        func key(_ name: String) -> KeyspaceKey { KeyspaceKey(ByteBuffer(string: name)) }
        // Grows to a few thousand entries (several rebuilds), shrinks back (sparse rebuilds), grows again.
        for step in 0..<40_000 {
            let phase = (step / 8_000) % 2
            let number = Int.random(in: 0..<6_000, using: &random)
            // Every fourth member is longer than an inline key.
            let name = "k\(number)" + (number % 4 == 0 ? String(repeating: "-", count: 26) : "")
            let roll = Int.random(in: 0..<10, using: &random)
            if roll < (phase == 0 ? 6 : 2) {
                if let index = table.index(forKey: key(name)) {
                    table.setValue(step, at: index)
                } else {
                    table.append(key(name), step)
                    order.append(name)
                }
                values[name] = step
            } else if let index = table.index(forKey: key(name)) {
                #expect(order[index] == name)
                if roll == 9 && table.count < 600 {
                    table.remove(at: index)
                    order.remove(at: index)
                } else {
                    table.swapRemove(at: index)
                    order.swapAt(index, order.count - 1)
                    order.removeLast()
                }
                values[name] = nil
            } else {
                #expect(values[name] == nil)
            }
            if step % 997 == 0 || step == 39_999 { check(table, order, values) }
        }
        table.removeAll()
        #expect(table.isEmpty && table.index(forKey: key("k1")) == nil)
        table.append(key("k1"), 1)
        #expect(table[key("k1")] == 1)
    }

    @Test("Small tables go from scanning to an index and back as they cross the linear limit")
    func aroundTheLinearLimit() {
        var random = SeededGenerator(seed: 11)
        var table = KeyTable<Int>()
        var order: [String] = []
        var values: [String: Int] = [:]
        for step in 0..<3_000 {
            let name = "m\(Int.random(in: 0..<(KeyTable<Int>.linearLimit * 2), using: &random))"
            let key = KeyspaceKey(ByteBuffer(string: name))
            if let index = table.index(forKey: key) {
                #expect(order[index] == name)
                table.swapRemove(at: index)
                order.swapAt(index, order.count - 1)
                order.removeLast()
                values[name] = nil
            } else {
                table.append(key, step)
                order.append(name)
                values[name] = step
            }
            check(table, order, values)
        }
    }

    @Test("An empty table finds nothing; a set's table (no values) adds, finds and removes")
    func setTable() {
        var table = KeyTable<Void>()
        func key(_ i: Int) -> KeyspaceKey { KeyspaceKey(ByteBuffer(string: "s\(i)")) }
        #expect(table.index(forKey: key(0)) == nil)
        #expect(table.count == 0)
        for i in 0..<100 { table.append(key(i), ()) }
        #expect(table.values.isEmpty)
        #expect((0..<100).allSatisfy { table.contains(key($0)) })
        for i in stride(from: 0, to: 100, by: 2) { table.swapRemove(at: table.index(forKey: key(i))!) }
        table.remove(at: table.index(forKey: key(1))!)
        #expect(table.count == 49)
        #expect((0..<100).allSatisfy { table.contains(key($0)) == ($0 % 2 == 1 && $0 != 1) })
        #expect(table[key(3)] != nil && table[key(1)] == nil)
    }

    private func check(_ table: KeyTable<Int>, _ order: [String], _ values: [String: Int]) {
        #expect(table.count == order.count)
        #expect(table.keys.map { String(buffer: $0.buffer) } == order)
        for (position, name) in order.enumerated() {
            let key = KeyspaceKey(ByteBuffer(string: name))
            #expect(table.index(forKey: key) == position)
            #expect(table.values[position] == values[name])
        }
        for absent in ["absent", "k6000", String(repeating: "z", count: 40)] {
            #expect(!table.contains(KeyspaceKey(ByteBuffer(string: absent))))
        }
    }
}
