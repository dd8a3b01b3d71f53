import NIOCore
import Testing

@testable import KeywayNode

@Suite("KeyspaceTable (the keyspace's hash table) against a model")
struct KeyspaceTableTests {
    private func key(_ name: String) -> KeyspaceKey { KeyspaceKey(ByteBuffer(string: name)) }

    private func string(_ object: RedisObject) -> String? {
        guard case .string(let bytes) = object else { return nil }
        return String(buffer: bytes.buffer)
    }

    @Test("Random inserts, updates and removals through growth and shrinking: every lookup, the count and the keys stay exact")
    func randomOperations() {
        var random = SeededGenerator(seed: 23)
        let table = KeyspaceTable()
        var model: [String: String] = [:]
        // Phases: grow to ~12,000 keys (several doublings), shrink to a few hundred (several halvings), grow again.
        for step in 0..<120_000 {
            let phase = (step / 30_000) % 2
            let number = Int.random(in: 0..<(phase == 0 ? 16_000 : 20_000), using: &random)
            // Every fifth key is longer than an inline key.
            let name = "key:\(number)" + (number % 5 == 0 ? String(repeating: "x", count: 30) : "")
            let roll = Int.random(in: 0..<10, using: &random)
            if roll < (phase == 0 ? 7 : 1) {
                let value = RedisObject.string(CompactBytes(compacting: ByteBuffer(string: "v\(step)")))
                if let index = table.find(key(name)) {
                    table.setValue(value, at: index)
                } else {
                    #expect(model[name] == nil)
                    table.insertNew(key(name).compacted(), value)
                }
                model[name] = "v\(step)"
            } else if let index = table.find(key(name)) {
                #expect(model[name] != nil)
                let removed = table.remove(at: index)
                #expect(String(buffer: removed.key.buffer) == name)
                #expect(string(removed.value) == model[name])
                model[name] = nil
            } else {
                #expect(model[name] == nil)
            }
            if step % 4_999 == 0 || step == 119_999 { check(table, model) }
        }
        #expect(table.capacity >= KeyspaceTable.minimumCapacity && table.count * 4 <= table.capacity * 3)
        table.removeAll()
        #expect(table.count == 0 && table.find(key("key:1")) == nil && table.capacity == KeyspaceTable.minimumCapacity)
        table.insertNew(key("key:1"), .string(CompactBytes(decimal: 1)))
        #expect(table.find(key("key:1")).map { string(table.value(at: $0)) } == "1")
    }

    @Test("Emptied by removals, the table shrinks back and still finds and adds keys")
    func shrinksWhenEmptied() {
        let table = KeyspaceTable()
        for i in 0..<5_000 { table.insertNew(key("k\(i)"), .string(CompactBytes(decimal: Int64(i)))) }
        let grown = table.capacity
        #expect(grown >= 5_000 * 4 / 3)
        for i in 0..<4_990 { table.remove(at: table.find(key("k\(i)"))!) }
        #expect(table.capacity < grown / 8)
        #expect((4_990..<5_000).allSatisfy { table.find(key("k\($0)")) != nil })
        for i in 4_990..<5_000 { table.remove(at: table.find(key("k\(i)"))!) }
        #expect(table.count == 0 && table.capacity == KeyspaceTable.minimumCapacity)
        #expect(table.find(key("k4999")) == nil && Array(table.keys).isEmpty)
        var generator = SystemRandomNumberGenerator()
        #expect(table.randomTaken(using: &generator) == nil)
    }

    @Test("Values are released when their key is removed, overwritten, cleared or the table goes away")
    func releasesValues() {
        weak var removed: ListObject?
        weak var overwritten: ListObject?
        weak var cleared: ListObject?
        weak var dropped: ListObject?
        do {
            let table = KeyspaceTable()
            for (name, list) in [("a", ListObject()), ("b", ListObject()), ("c", ListObject())] {
                table.insertNew(key(name), .list(list))
                if name == "a" { removed = list }
                if name == "b" { overwritten = list }
                if name == "c" { cleared = list }
            }
            table.remove(at: table.find(key("a"))!)
            table.setValue(.string(CompactBytes(decimal: 1)), at: table.find(key("b"))!)
            #expect(removed == nil && overwritten == nil && cleared != nil)
            table.removeAll()
            #expect(cleared == nil)
            let list = ListObject()
            dropped = list
            table.insertNew(key("d"), .list(list))
        }
        #expect(dropped == nil)
    }

    @Test("A slot (a key's bytes and its value) fills exactly one cache line")
    func slotLayout() {
        #expect(MemoryLayout<KeyspaceTable.Slot>.stride == KeyspaceTable.slotBytes)
    }

    @Test("Random picks return taken slots and reach every key")
    func randomPicks() {
        let table = KeyspaceTable()
        for i in 0..<50 { table.insertNew(key("r\(i)"), .string(CompactBytes(decimal: Int64(i)))) }
        var random = SeededGenerator(seed: 5)
        var seen = Set<String>()
        for _ in 0..<5_000 {
            guard let index = table.randomTaken(using: &random) else { break }
            seen.insert(String(buffer: table.key(at: index).buffer))
        }
        #expect(seen == Set((0..<50).map { "r\($0)" }))
    }

    private func check(_ table: KeyspaceTable, _ model: [String: String]) {
        #expect(table.count == model.count)
        #expect(table.count * 4 <= table.capacity * 3)
        let keys = table.keys.map { String(buffer: $0.buffer) }
        #expect(keys.count == model.count && Set(keys) == Set(model.keys))
        for (name, value) in model {
            let index = table.find(key(name))
            #expect(index.map { string(table.value(at: $0)) } == value)
            #expect(index.map { String(buffer: table.key(at: $0).buffer) } == name)
        }
        for absent in ["absent", "key:99999", String(repeating: "z", count: 40)] {
            #expect(table.find(key(absent)) == nil)
        }
    }
}
