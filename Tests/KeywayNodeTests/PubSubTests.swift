import Foundation
import NIOCore
import RESP
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

@testable import KeywayNode

/// Pub/sub compared with redis-server: confirmations and counts, messages and pattern messages, RESP2 arrays and
/// RESP3 pushes, sharded channels, PUBSUB introspection; plus ordering across event loops and the pub/sub output
/// buffer limit.
@Suite("Node: pub/sub", .enabled(if: RedisServerProcess.isAvailable))
struct PubSubTests {
    /// Runs `scenario` against redis-server and keyway and expects the same frames.
    private func compare(
        clusterEnabled: Bool = false, sourceLocation: SourceLocation = #_sourceLocation,
        _ scenario: @escaping @Sendable (Int) async throws -> [RESPValue]
    ) async throws {
        let redis = try await RedisServerProcess.start(
            extraArguments: clusterEnabled ? ["--cluster-enabled", "yes"] : [])
        let node = try await NodeHarness.start(clusterEnabled: clusterEnabled)
        do {
            let expected = try await scenario(redis.port)
            let actual = try await scenario(node.port)
            #expect(actual == expected, sourceLocation: sourceLocation)
        } catch {
            redis.stop()
            await node.stop()
            throw error
        }
        redis.stop()
        await node.stop()
    }

    /// Sends `commands` in one write and collects `frames` frames (replies and pushes alike).
    private static func frames(_ client: RESPTestClient, _ commands: [[String]], _ frames: Int) async throws
        -> [RESPValue]
    {
        // A frame that never comes fails the test (the connection is closed) instead of hanging it.
        let watchdog = Task {
            try await Task.sleep(for: .seconds(20))
            client.close()
        }
        defer { watchdog.cancel() }
        var buffer = ByteBuffer()
        for command in commands { buffer.writeRESPCommand(command) }
        return try await client.send(raw: buffer, replies: frames)
    }

    /// Polls `command` until it replies `expected` (a subscription made by another connection is in place).
    private static func waitFor(
        _ client: RESPTestClient, _ command: [String], _ expected: RESPValue,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        for _ in 0..<1000 {
            if try await client.command(command) == expected { return }
            try await Task.sleep(for: .milliseconds(5))
        }
        Issue.record("\(command) never replied \(expected)", sourceLocation: sourceLocation)
    }

    /// Subscribe and unsubscribe confirmations with their counts, the subscriber context, and the null-name
    /// confirmation of an unsubscribe with nothing to unsubscribe from.
    private static func confirmations(resp3: Bool) -> @Sendable (Int) async throws -> [RESPValue] {
        { port in
            let client = try await RESPTestClient.connect(port: port)
            defer { client.close() }
            var result: [RESPValue] = []
            if resp3 { _ = try await client.command(["HELLO", "3"]) }
            result += try await frames(
                client,
                [
                    ["SUBSCRIBE", "a", "b", "a"], ["PSUBSCRIBE", "p*", "q?"], ["SSUBSCRIBE", "s1", "s2"], ["PING"],
                    ["PING", "x"], ["GET", "k"], ["ECHO", "hi"], ["UNSUBSCRIBE", "b", "nosuch"],
                    ["PUNSUBSCRIBE"], ["SUNSUBSCRIBE", "s1"], ["UNSUBSCRIBE"], ["SUNSUBSCRIBE"], ["UNSUBSCRIBE"],
                    ["PUNSUBSCRIBE"], ["SUNSUBSCRIBE"], ["PING"], ["GET", "k"],
                ], 23)
            return result
        }
    }

    @Test("Confirmations, counts and the subscriber context (RESP2)")
    func confirmationsRESP2() async throws { try await compare(Self.confirmations(resp3: false)) }

    @Test("Confirmations and counts as pushes (RESP3)")
    func confirmationsRESP3() async throws { try await compare(Self.confirmations(resp3: true)) }

    @Test("PUBLISH reaches channel and pattern subscribers in their protocol, and counts receivers")
    func messages() async throws {
        try await compare { port in
            let resp2 = try await RESPTestClient.connect(port: port)
            let resp3 = try await RESPTestClient.connect(port: port)
            let publisher = try await RESPTestClient.connect(port: port)
            defer { resp2.close(); resp3.close(); publisher.close() }
            _ = try await resp3.command(["HELLO", "3"])
            let first = Task {
                try await Self.frames(resp2, [["SUBSCRIBE", "news"], ["PSUBSCRIBE", "sp[o]rt?"]], 2 + 3)
            }
            let second = Task { try await Self.frames(resp3, [["PSUBSCRIBE", "n*"]], 1 + 3) }
            try await Self.waitFor(publisher, ["PUBSUB", "NUMSUB", "news"], .array([.bulk("news"), .integer(1)]))
            try await Self.waitFor(publisher, ["PUBSUB", "NUMPAT"], .integer(2))
            let published = [
                try await publisher.command(["PUBLISH", "news", "hello"]),
                try await publisher.command(["PUBLISH", "nothing", "x"]),
                try await publisher.command(["PUBLISH", "sports", "goal"]),
                try await publisher.command(["PUBLISH", "other", "y"]),
                try await publisher.command(["PUBLISH", "news", "bye"]),
            ]
            return published + (try await first.value) + (try await second.value)
        }
    }

    @Test("A RESP3 client's own message comes before its PUBLISH reply, and pushes interleave with replies")
    func ownMessages() async throws {
        try await compare { port in
            let client = try await RESPTestClient.connect(port: port)
            defer { client.close() }
            _ = try await client.command(["HELLO", "3"])
            return try await Self.frames(
                client,
                [
                    ["SUBSCRIBE", "c"], ["PUBLISH", "c", "m1"], ["SET", "k", "v"], ["GET", "k"], ["PSUBSCRIBE", "*"],
                    ["PUBLISH", "c", "m2"], ["PUBSUB", "NUMSUB", "c"], ["UNSUBSCRIBE", "c"], ["PUBLISH", "c", "m3"],
                ], 13)
        }
    }

    @Test("Sharded channels: SSUBSCRIBE, SPUBLISH, and their separation from plain channels")
    func sharded() async throws {
        try await compare { port in
            let subscriber = try await RESPTestClient.connect(port: port)
            let publisher = try await RESPTestClient.connect(port: port)
            defer { subscriber.close(); publisher.close() }
            let received = Task {
                try await Self.frames(subscriber, [["SSUBSCRIBE", "sc"], ["SUBSCRIBE", "plain"]], 2 + 2)
            }
            try await Self.waitFor(publisher, ["PUBSUB", "NUMSUB", "plain"], .array([.bulk("plain"), .integer(1)]))
            let replies = [
                try await publisher.command(["SPUBLISH", "sc", "m1"]),
                try await publisher.command(["PUBLISH", "sc", "not-shard"]),
                try await publisher.command(["SPUBLISH", "plain", "not-plain"]),
                try await publisher.command(["PUBLISH", "plain", "m2"]),
                try await publisher.command(["PUBSUB", "SHARDCHANNELS"]),
                try await publisher.command(["PUBSUB", "SHARDCHANNELS", "s?"]),
                try await publisher.command(["PUBSUB", "SHARDCHANNELS", "x*"]),
                try await publisher.command(["PUBSUB", "SHARDNUMSUB", "sc", "plain"]),
                try await publisher.command(["PUBSUB", "NUMSUB", "sc", "plain"]),
                try await publisher.command(["PUBSUB", "CHANNELS"]),
            ]
            return replies + (try await received.value)
        }
    }

    @Test("PUBSUB CHANNELS, NUMSUB, NUMPAT, HELP and their errors")
    func introspection() async throws {
        try await compare { port in
            var clients: [RESPTestClient] = []
            for _ in 0..<3 { clients.append(try await RESPTestClient.connect(port: port)) }
            defer { for client in clients { client.close() } }
            _ = try await Self.frames(clients[0], [["SUBSCRIBE", "alpha", "beta"], ["PSUBSCRIBE", "a*", "b*"]], 4)
            _ = try await Self.frames(clients[1], [["SUBSCRIBE", "alpha"], ["PSUBSCRIBE", "a*"]], 2)
            let query = clients[2]
            var replies = [
                try await query.command(["PUBSUB", "NUMSUB", "alpha", "beta", "gamma"]),
                try await query.command(["PUBSUB", "NUMSUB"]), try await query.command(["PUBSUB", "NUMPAT"]),
                try await query.command(["PUBSUB", "CHANNELS", "a*"]), try await query.command(["PUBSUB", "CHANNELS", "z*"]),
                try await query.command(["PUBSUB", "HELP"]), try await query.command(["PUBSUB", "CHANNELS", "a", "b"]),
                try await query.command(["PUBSUB", "NUMPAT", "x"]), try await query.command(["PUBSUB", "FOO"]),
                try await query.command(["PUBSUB"]), try await query.command(["PUBLISH", "alpha"]),
                try await query.command(["PUBLISH", "alpha", "m"]), try await query.command(["PUBLISH", "beta", "m"]),
            ]
            if case .array(let channels) = try await query.command(["PUBSUB", "CHANNELS"]) {
                replies.append(.array(channels.sorted { $0.description < $1.description }))
            }
            clients[1].close()
            try await Self.waitFor(query, ["PUBSUB", "NUMSUB", "alpha"], .array([.bulk("alpha"), .integer(1)]))
            replies.append(try await query.command(["PUBSUB", "NUMSUB", "alpha"]))
            replies.append(try await query.command(["PUBSUB", "NUMPAT"]))
            return replies
        }
    }

    @Test("In cluster mode shard channels must share a slot")
    func clusterCrossSlot() async throws {
        try await compare(clusterEnabled: true) { port in
            let client = try await RESPTestClient.connect(port: port)
            defer { client.close() }
            return [
                try await client.command(["SSUBSCRIBE", "a", "b"]), try await client.command(["SPUBLISH", "a", "m"]),
                try await client.command(["SUNSUBSCRIBE", "a", "b"]), try await client.command(["PUBLISH", "a", "m"]),
            ]
        }
    }

    @Test("Messages from publishers on other event loops arrive in publish order")
    func orderAcrossEventLoops() async throws {
        let node = try await NodeHarness.start { $0.threads = 4 }
        let subscriber = try await node.client()
        var clients: [RESPTestClient] = []
        for _ in 0..<4 { clients.append(try await node.client()) }
        let publishers = clients
        let perPublisher = 300
        let received = Task {
            try await Self.frames(subscriber, [["SUBSCRIBE", "ch"]], 1 + perPublisher * publishers.count)
        }
        try await Self.waitFor(publishers[0], ["PUBSUB", "NUMSUB", "ch"], .array([.bulk("ch"), .integer(1)]))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, publisher) in publishers.enumerated() {
                group.addTask {
                    let commands = (0..<perPublisher).map { ["PUBLISH", "ch", "\(index):\($0)"] }
                    for chunk in stride(from: 0, to: commands.count, by: 50) {
                        _ = try await publisher.pipeline(Array(commands[chunk..<min(chunk + 50, commands.count)]))
                    }
                }
            }
            try await group.waitForAll()
        }
        let frames = try await received.value
        var next = Array(repeating: 0, count: publishers.count)
        var inOrder = true
        for frame in frames.dropFirst() {
            guard case .array(let parts) = frame, parts.count == 3, let text = parts[2].string else {
                inOrder = false
                continue
            }
            let fields = text.split(separator: ":").compactMap { Int($0) }
            guard fields.count == 2, fields[1] == next[fields[0]] else {
                inOrder = false
                continue
            }
            next[fields[0]] += 1
        }
        #expect(inOrder)
        #expect(next == Array(repeating: perPublisher, count: publishers.count))
        subscriber.close()
        for publisher in publishers { publisher.close() }
        await node.stop()
    }

    @Test("A subscriber that does not read is disconnected past the pub/sub output buffer limit")
    func outputBufferLimit() async throws {
        let node = try await NodeHarness.start { $0.outputBufferLimitPubSub = 1 << 20 }
        let slow = try SlowSubscriberSocket(port: node.port)
        slow.send("*2\r\n$9\r\nSUBSCRIBE\r\n$4\r\nslow\r\n")
        let publisher = try await node.client()
        try await Self.waitFor(publisher, ["PUBSUB", "NUMSUB", "slow"], .array([.bulk("slow"), .integer(1)]))
        let payload = String(repeating: "x", count: 64 * 1024)
        var published = 0
        var subscribers: Int64 = 1
        while subscribers > 0 && published < 2000 {
            _ = try await publisher.pipeline(Array(repeating: ["PUBLISH", "slow", payload], count: 16))
            published += 16
            if case .array(let reply) = try await publisher.command(["PUBSUB", "NUMSUB", "slow"]),
                case .integer(let count) = reply[1]
            {
                subscribers = count
            }
        }
        #expect(subscribers == 0, "the slow subscriber was disconnected")
        // Not long after the limit: 1 MB of output plus what the kernel buffers.
        #expect(published < 1000)
        let live = try await publisher.command(["PING"])
        #expect(live == .simpleString("PONG"))
        slow.close()
        publisher.close()
        await node.stop()
    }

    @Test("A subscriber that disconnects, or RESETs, leaves no subscription behind")
    func cleanup() async throws {
        let node = try await NodeHarness.start()
        let first = try await node.client()
        let second = try await node.client()
        _ = try await Self.frames(first, [["SUBSCRIBE", "a", "b"], ["PSUBSCRIBE", "p*"], ["SSUBSCRIBE", "s"]], 4)
        _ = try await Self.frames(second, [["SUBSCRIBE", "a"], ["PSUBSCRIBE", "p*", "q*"]], 3)
        first.close()
        #expect(try await second.command(["RESET"]) == .simpleString("RESET"))
        try await Self.waitFor(second, ["PUBSUB", "NUMPAT"], .integer(0))
        let state = node.server.state
        let counts = state.lock.withLock {
            (state.pubsub.channels.count, state.pubsub.patterns.count, state.pubsub.shardChannels.count,
             state.pubsub.patternOrder.count)
        }
        #expect(counts == (0, 0, 0, 0))
        #expect(try await second.command(["PUBLISH", "a", "m"]) == .integer(0))
        second.close()
        await node.stop()
    }
}

/// A blocking TCP client that writes and never reads (a slow consumer).
final class SlowSubscriberSocket: @unchecked Sendable {
    private let fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var size: Int32 = 4096
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            Glibc.close(fd)
            throw PeerError.notReady("connect to \(port)")
        }
    }

    func send(_ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    func close() { Glibc.close(fd) }
}
