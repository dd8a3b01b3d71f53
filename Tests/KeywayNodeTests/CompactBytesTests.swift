import NIOCore
import Testing

@testable import KeywayNode

@Suite("CompactBytes and KeyspaceKey: short bytes inline, longer in a buffer")
struct CompactBytesTests {
    private func text(_ bytes: CompactBytes) -> String {
        bytes.withUnsafeReadableBytes { String(decoding: $0, as: UTF8.self) }
    }

    @Test("Up to 24 bytes are held inline, 25 and more in a buffer; the bytes survive either way")
    func inlineThreshold() {
        for count in [0, 1, 7, 8, 9, 23, 24, 25, 100] {
            let source = String((0..<count).map { Character(UnicodeScalar(UInt8(97 + $0 % 26))) })
            let bytes = CompactBytes(compacting: ByteBuffer(string: source))
            if case .inline = bytes { #expect(count <= 24) } else { #expect(count > 24) }
            #expect(bytes.readableBytes == count)
            #expect(text(bytes) == source)
            #expect(bytes.buffer == ByteBuffer(string: source))
        }
    }

    @Test("KeyspaceKey: equal bytes hash alike in either form; length and every byte count; hashes spread")
    func keyHashes() {
        // The same short bytes held in a buffer (as CompactBytes.buffer) and inline: equal keys, equal hashes.
        for source in ["", "a", "key:000000012345", String(repeating: "z", count: 24)] {
            let inline = KeyspaceKey(compact: CompactBytes(compacting: ByteBuffer(string: source)))
            let buffered = KeyspaceKey(compact: .buffer(ByteBuffer(string: source)))
            #expect(inline == buffered)
            #expect(inline.hash == buffered.hash)
        }
        // Zero padding does not make "a" and "a\0" one key; a change in any byte or word changes the hash.
        #expect(KeyspaceKey(ByteBuffer(string: "a")).hash != KeyspaceKey(ByteBuffer(bytes: [97, 0])).hash)
        let base = Array("abcdefghijklmnopqrstuvwx".utf8)
        var hashes = Set<Int>()
        for index in base.indices {
            var changed = base
            changed[index] ^= 1
            hashes.insert(KeyspaceKey(ByteBuffer(bytes: changed)).hash)
        }
        hashes.insert(KeyspaceKey(ByteBuffer(bytes: base)).hash)
        #expect(hashes.count == base.count + 1)
        // 100,000 benchmark-style keys: their low 16 bits (what a 65,536-bucket table uses) fill the buckets about
        // as random hashes would (65,536 x (1 - e^(-100,000/65,536)): ~51,300); a weak mix leaves far fewer.
        var buckets = Set<Int>()
        for n in 0..<100_000 {
            let key = "key:" + String(String(n).reversed()).padding(toLength: 12, withPad: "0", startingAt: 0)
            buckets.insert(KeyspaceKey(ByteBuffer(string: key)).hash & 0xFFFF)
        }
        #expect(buckets.count > 50_000)
    }

    @Test("A stored long value is a copy of its own, not a slice of the request")
    func compactingCopies() {
        var request = ByteBuffer(string: "prefix-" + String(repeating: "v", count: 40))
        request.moveReaderIndex(forwardBy: 7)
        let stored = CompactBytes(compacting: request)
        guard case .buffer(let buffer) = stored else {
            Issue.record("a 40-byte value must not be inline")
            return
        }
        #expect(buffer.readerIndex == 0)
        let storedAt = buffer.withUnsafeReadableBytes { $0.baseAddress }
        let requestAt = request.withUnsafeReadableBytes { $0.baseAddress }
        #expect(storedAt != requestAt)
        #expect(buffer == request)
    }

    @Test("Decimal form of integers, inline, parses back", arguments: [
        Int64(0), 7, 10, -1, -10, 123_456_789, Int64.max, Int64.min, Int64.min + 1,
    ])
    func decimal(_ value: Int64) {
        let bytes = CompactBytes(decimal: value)
        guard case .inline = bytes else {
            Issue.record("decimals are always inline")
            return
        }
        #expect(text(bytes) == String(value))
        #expect(bytes.parseInt64() == value)
        #expect(StringEncoding.of(bytes).name == "int")
    }

    @Test("Equality compares the bytes and the length (trailing zero bytes count)")
    func equality() {
        let a = CompactBytes(compacting: ByteBuffer(string: "a"))
        let aZero = CompactBytes(compacting: ByteBuffer(bytes: [97, 0]))
        #expect(!(a == aZero))
        #expect(a == CompactBytes(referencing: ByteBuffer(string: "a")))
        #expect(CompactBytes.buffer(ByteBuffer(string: "abc")) == CompactBytes(compacting: ByteBuffer(string: "abc")))
        #expect(KeyspaceKey(ByteBuffer(string: "a")) != KeyspaceKey(ByteBuffer(bytes: [97, 0])))
        #expect(KeyspaceKey(ByteBuffer(bytes: [])) != KeyspaceKey(ByteBuffer(bytes: [0])))
    }

    @Test("Keys short and long in one table: every key found, none confused")
    func keyTable() {
        var table: [KeyspaceKey: Int] = [:]
        let names = (0..<20_000).map { i in i % 3 == 0 ? "key:\(i):" + String(repeating: "x", count: 30) : "key:\(i)" }
        for (i, name) in names.enumerated() { table[KeyspaceKey(ByteBuffer(string: name)).compacted()] = i }
        #expect(table.count == names.count)
        for (i, name) in names.enumerated() { #expect(table[KeyspaceKey(ByteBuffer(string: name))] == i) }
        #expect(table[KeyspaceKey(ByteBuffer(string: "key:20000"))] == nil)
    }

    @Test("A bulk reply of an inline value is the same as of a buffer")
    func bulkReply() {
        for value in ["", "xyz", String(repeating: "z", count: 24), String(repeating: "z", count: 60)] {
            var inline = ReplyWriter(buffer: ByteBuffer(), resp3: false)
            inline.bulk(CompactBytes(compacting: ByteBuffer(string: value)))
            #expect(inline.buffer == ByteBuffer(string: "$\(value.utf8.count)\r\n\(value)\r\n"))
        }
    }
}
