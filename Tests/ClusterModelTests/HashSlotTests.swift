import ClusterModel
import NIOCore
import RESP
import TestSupport
import Testing

@Suite("Hash slots")
struct HashSlotTests {
    @Test("CRC16-XMODEM of the specification's vector")
    func crcVector() {
        #expect(CRC16.checksum(Array("123456789".utf8)) == 0x31C3)
        #expect(CRC16.checksum([UInt8]()) == 0)
    }

    @Test(
        "Hash tag rule: first {, first } after it, non-empty",
        arguments: [
            ("foo{}{bar}", "foo{}{bar}"),  // empty first tag: the whole key is hashed
            ("foo{{bar}}zap", "{bar"),  // the tag is between the first { and the first } after it
            ("foo{bar}{zap}", "bar"),  // only the first tag counts
            ("{user1000}.following", "user1000"),
            ("{user1000}.followers", "user1000"),
            ("foo", "foo"),
            ("foo{", "foo{"),
            ("foo}bar{", "foo}bar{"),
            ("}{x}", "x"),
            ("{}", "{}"),
            ("{a}", "a"),
        ])
    func hashTags(key: String, hashed: String) {
        #expect(HashSlot(key: key) == HashSlot(key: hashed))
        #expect(HashSlot(key: key).rawValue == CRC16.checksum(Array(hashed.utf8)) & 16383)
    }

    @Test("Known slots")
    func knownSlots() {
        #expect(HashSlot(key: "123456789").rawValue == 12739)
        #expect(HashSlot(key: "foo").rawValue == 12182)
        #expect(HashSlot(key: "bar").rawValue == 5061)
        #expect(HashSlot(key: "").rawValue == 0)
        #expect(HashSlot(key: [0xFF, 0x00, 0x7B, 0x7D] as [UInt8]).rawValue
            == CRC16.checksum([0xFF, 0x00, 0x7B, 0x7D]) & 16383)
        #expect(HashSlot(key: [0x01, 0x7B, 0xFE, 0x7D] as [UInt8]) == HashSlot(key: [0xFE] as [UInt8]))
        #expect(HashSlot(key: ByteBuffer(string: "a{b}c")) == HashSlot(key: "b"))
    }

    @Test("Slot range")
    func slotRange() {
        #expect(HashSlot(0) != nil)
        #expect(HashSlot(16383) != nil)
        #expect(HashSlot(16384) == nil)
        #expect(HashSlot(-1) == nil)
    }

    @Test("Agrees with redis-server's CLUSTER KEYSLOT on 10,000 random keys", .enabled(if: RedisServerProcess.isAvailable))
    func agreesWithRedis() async throws {
        let server = try await RedisServerProcess.start(extraArguments: ["--cluster-enabled", "yes"])
        defer { server.stop() }
        let client = try await RESPTestClient.connect(port: server.port)
        defer { client.close() }

        var generator = SystemRandomNumberGenerator()
        let alphabet: [UInt8] = Array("{}{}ab".utf8) + [0x00, 0xFF, 0x80, 0x0D, 0x0A, 0x20]
        var keys: [[UInt8]] = []
        for i in 0..<10_000 {
            let length = Int.random(in: 0...24, using: &generator)
            var key: [UInt8] = []
            for _ in 0..<length {
                // Mix braces, non-UTF-8 bytes and arbitrary bytes so every hash-tag branch is taken.
                if i % 2 == 0, let byte = alphabet.randomElement(using: &generator) {
                    key.append(byte)
                } else {
                    key.append(UInt8.random(in: 0...255, using: &generator))
                }
            }
            keys.append(key)
        }
        var request = ByteBuffer()
        for key in keys {
            request.writeRESPHeader(.array, 3)
            request.writeRESPBulkString("CLUSTER")
            request.writeRESPBulkString("KEYSLOT")
            request.writeRESPBulkString(bytes: key)
        }
        let replies = try await client.send(raw: request, replies: keys.count)
        #expect(replies.count == keys.count)
        var mismatches = 0
        for (key, reply) in zip(keys, replies) where reply != .integer(Int64(HashSlot(key: key).rawValue)) {
            mismatches += 1
            if mismatches <= 5 { Issue.record("key \(key): redis says \(reply), we say \(HashSlot(key: key))") }
        }
        #expect(mismatches == 0)
    }
}
