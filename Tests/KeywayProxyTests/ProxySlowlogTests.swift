import NIOCore
import RESP
import Testing

@testable import KeywayProxy

/// The proxy's slow log keeps each pending command's slow-log form in a per-client arena; these check that form.
@Suite("Proxy slow log capture")
struct ProxySlowlogTests {
    private func request(_ arguments: [String], inline: Bool = false) throws -> RESPRequest {
        var bytes = ByteBuffer()
        if inline {
            bytes.writeString(arguments.joined(separator: " ") + "\r\n")
        } else {
            bytes.writeString("*\(arguments.count)\r\n")
            for argument in arguments { bytes.writeString("$\(argument.utf8.count)\r\n\(argument)\r\n") }
        }
        var decoder = RESPRequestDecoder(limits: .unlimited)
        return try #require(try decoder.decode(&bytes))
    }

    private func roundTrip(_ requests: [RESPRequest]) -> [[String]] {
        var arena = ByteBuffer()
        let sizes = requests.map { ProxySlowlog.capture($0, into: &arena) }
        return sizes.map { size in
            let slice = arena.readSlice(length: size) ?? ByteBuffer()
            return ProxySlowlog.arguments(ofCaptured: slice)
        }
    }

    @Test("short commands come back as they were sent, multibulk and inline, one after another in one arena")
    func shortCommands() throws {
        let got = roundTrip([
            try request(["SET", "key", "value"]), try request(["GET", "k"], inline: true),
            try request(["MSET", "a", "1", "b", "", "c", "3"]),
        ])
        #expect(got == [["SET", "key", "value"], ["GET", "k"], ["MSET", "a", "1", "b", "", "c", "3"]])
    }

    @Test("as Redis: at most 32 arguments, the last saying how many more; at most 128 bytes of each")
    func cutToRedisForm() throws {
        let many = ["DEL"] + (1...40).map { "key\($0)" }
        let long = String(repeating: "x", count: 300)
        let got = roundTrip([try request(many), try request(["SET", "k", long]), try request(["SET", "k", long], inline: true)])
        #expect(got[0].count == 32)
        #expect(Array(got[0].prefix(31)) == Array(many.prefix(31)))
        #expect(got[0][31] == "... (10 more arguments)")
        let cut = String(repeating: "x", count: 128) + "... (172 more bytes)"
        #expect(got[1] == ["SET", "k", cut])
        #expect(got[2] == ["SET", "k", cut])
    }

    @Test("a full log reuses its oldest entry for the newest, keeping the newest maxLength commands")
    func ringKeepsNewest() throws {
        var log = ProxySlowlog()
        var arena = ByteBuffer()
        for id in 0..<7 {
            let size = ProxySlowlog.capture(try request(["SET", "key\(id)", String(repeating: "v", count: id * 10)]), into: &arena)
            let slice = arena.readSlice(length: size) ?? ByteBuffer()
            var name = ByteBuffer()
            name.writeString("client\(id)")
            log.record(
                id: UInt64(id), startedAt: 0, durationMicros: UInt64(id), captured: slice, client: "127.0.0.1:\(id)",
                clientName: name, maxLength: 3)
        }
        let kept = log.entries.sorted { $0.id < $1.id }
        #expect(kept.map(\.id) == [4, 5, 6])
        #expect(kept.map(\.arguments) == (4...6).map { ["SET", "key\($0)", String(repeating: "v", count: $0 * 10)] })
        #expect(kept.map(\.clientName) == ["client4", "client5", "client6"])
        #expect(kept.map(\.client) == ["127.0.0.1:4", "127.0.0.1:5", "127.0.0.1:6"])
        #expect(kept.map(\.durationMicros) == [4, 5, 6])
    }
}
