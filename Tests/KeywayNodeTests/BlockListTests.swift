import NIOCore
import Testing

@testable import KeywayNode

@Suite("BlockList (a list's blocks) against an array model")
struct BlockListTests {
    private func element(_ n: Int) -> CompactBytes {
        // Every third element is longer than an inline one.
        CompactBytes(compacting: ByteBuffer(string: "e\(n)" + (n % 3 == 0 ? String(repeating: "-", count: 30) : "")))
    }

    private func strings<C: Sequence>(_ elements: C) -> [String] where C.Element == CompactBytes {
        elements.map { String(buffer: $0.buffer) }
    }

    @Test("Random pushes, pops, inserts, sets and trims at both ends: contents, order and indexes stay exact")
    func randomOperations() {
        var random = SeededGenerator(seed: 41)
        var list = BlockList()
        var model: [String] = []
        for step in 0..<60_000 {
            // Phases: grow past many blocks, shrink to nothing and below a block, grow again.
            let growing = (step / 6_000) % 2 == 0
            let roll = Int.random(in: 0..<100, using: &random)
            let value = element(step)
            switch roll {
            case 0..<30 where growing, 0..<12:
                list.append(value)
                model.append(String(buffer: value.buffer))
            case 30..<60 where growing, 12..<24:
                list.prepend(value)
                model.insert(String(buffer: value.buffer), at: 0)
            case 60..<70, 24..<50:
                let popped = list.popFirst().map { String(buffer: $0.buffer) }
                #expect(popped == (model.isEmpty ? nil : model.removeFirst()))
            case 70..<80, 50..<76:
                let popped = list.popLast().map { String(buffer: $0.buffer) }
                #expect(popped == model.popLast())
            case 80..<84 where model.count < 3_000:
                let index = Int.random(in: 0...model.count, using: &random)
                list.insert(value, at: index)
                model.insert(String(buffer: value.buffer), at: index)
            case 84..<92 where !model.isEmpty:
                let index = Int.random(in: 0..<model.count, using: &random)
                list[index] = value
                model[index] = String(buffer: value.buffer)
            case 92..<94 where !model.isEmpty:
                let k = Int.random(in: 0...Swift.min(model.count, 300), using: &random)
                list.removeFirst(k)
                model.removeFirst(k)
            case 94..<96 where !model.isEmpty:
                let k = Int.random(in: 0...Swift.min(model.count, 300), using: &random)
                list.removeLast(k)
                model.removeLast(k)
            default:
                if !model.isEmpty {
                    let index = Int.random(in: 0..<model.count, using: &random)
                    #expect(String(buffer: list[index].buffer) == model[index])
                }
            }
            #expect(list.count == model.count)
            if step % 1_499 == 0 || step == 59_999 {
                #expect(strings(list) == model)
                #expect(list.indices.map { String(buffer: list[$0].buffer) } == model)
            }
        }
    }

    @Test("A copy keeps its contents while the original changes (value semantics)")
    func copiesAreIndependent() {
        var list = BlockList((0..<1_000).map(element))
        let copy = list
        for i in 0..<500 { list[i] = element(-i) }
        for _ in 0..<300 { _ = list.popFirst() }
        list.prepend(element(7))
        #expect(strings(copy) == strings((0..<1_000).map(element)))
        #expect(list.count == 701 && String(buffer: list[0].buffer) == "e7")
    }

    @Test("Short lists occupy one small block; long ones full blocks")
    func blockSizes() {
        var list = BlockList()
        list.append(element(1))
        #expect(list.count == 1 && strings(list) == ["e1"])
        for i in 2...(BlockList.blockSize * 3) { if i % 2 == 0 { list.append(element(i)) } else { list.prepend(element(i)) } }
        #expect(list.count == BlockList.blockSize * 3)
        var model = [String]()
        for i in 1...(BlockList.blockSize * 3) {
            if i == 1 || i % 2 == 0 { model.append("e\(i)" + (i % 3 == 0 ? String(repeating: "-", count: 30) : "")) } else {
                model.insert("e\(i)" + (i % 3 == 0 ? String(repeating: "-", count: 30) : ""), at: 0)
            }
        }
        #expect(strings(list) == model)
        while list.popLast() != nil {}
        #expect(list.isEmpty && list.popFirst() == nil && Array(list).isEmpty)
    }
}
