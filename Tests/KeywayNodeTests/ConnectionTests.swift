import NIOCore
import RESP
import TestSupport
import Testing

@Suite("Node: connection commands and protocol")
struct ConnectionTests {
    @Test("PING, ECHO, unknown command, wrong arity, SELECT: same replies as redis-server",
          .enabled(if: RedisServerProcess.isAvailable))
    func basics() async throws {
        let diff = try await Differential.start()
        defer { Task { await diff.stop() } }
        try await diff.run([
            ["PING"], ["PING", "hello"], ["ECHO", "x y"], ["ECHO"], ["NOSUCH", "a", "b"], ["GET"],
            ["SELECT", "1"], ["SELECT", "16"], ["SELECT", "x"], ["SET", "k", "v"], ["GET", "k"], ["SELECT", "0"],
            ["GET", "k"], ["DBSIZE"], ["FLUSHDB"], ["DBSIZE"], ["CLIENT", "NOSUCH"], ["FLUSHALL", "BAD"],
        ])
        await diff.stop()
    }

    @Test("HELLO 3 switches to RESP3 maps")
    func hello3() async throws {
        let node = try await NodeHarness.start()
        let client = try await node.client()
        let reply = try await client.command(["HELLO", "3"])
        guard case .map(let pairs) = reply else {
            Issue.record("expected a map, got \(reply)")
            await node.stop()
            return
        }
        #expect(pairs.first?.key == .bulk("server"))
        #expect(pairs.contains { $0.key == .bulk("proto") && $0.value == .integer(3) })
        #expect(try await client.command(["GET", "missing"]) == .null)
        #expect(try await client.command(["HELLO", "4"]) == .simpleError("NOPROTO unsupported protocol version"))
        client.close()
        await node.stop()
    }

    @Test("A protocol error gets Redis's text and closes the connection")
    func protocolError() async throws {
        let node = try await NodeHarness.start()
        let client = try await node.client()
        let replies = try await client.send(raw: ByteBuffer(string: "*1\r\n$-5\r\n"), replies: 1)
        #expect(replies == [.simpleError("ERR Protocol error: invalid bulk length")])
        try await client.closeFuture().get()
        await node.stop()
    }

    @Test("Inline commands and pipelines are answered in order")
    func inlineAndPipeline() async throws {
        let node = try await NodeHarness.start()
        let client = try await node.client()
        let replies = try await client.send(
            raw: ByteBuffer(string: "PING\r\nSET k \"a b\"\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n\r\nECHO 'x'\n"), replies: 4)
        #expect(replies == [.simpleString("PONG"), .simpleString("OK"), .bulk("a b"), .bulk("x")])
        client.close()
        await node.stop()
    }
}
