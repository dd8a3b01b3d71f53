import Foundation
import NIOCore
import RESP
import TestSupport
import Testing

@testable import KeywayNode

#if canImport(Glibc)
import Glibc
#endif

/// A plain blocking TCP socket, for clients that misbehave on purpose (never read, vanish mid-pipeline).
struct RawSocket {
    let descriptor: Int32

    static func connect(port: Int, receiveBuffer: Int32? = nil) throws -> RawSocket {
        #if canImport(Glibc)
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let descriptor = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard descriptor >= 0 else { throw POSIXError(.EIO) }
        if var size = receiveBuffer {
            setsockopt(descriptor, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            _ = Glibc.close(descriptor)
            throw POSIXError(.ECONNREFUSED)
        }
        return RawSocket(descriptor: descriptor)
    }

    /// Sends everything (blocking); false if the peer closed the connection.
    @discardableResult
    func send(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if sent <= 0 { return false }
            offset += sent
        }
        return true
    }

    /// Reads until the peer closes or `timeout` passes; returns what arrived and whether the peer closed.
    func drain(timeout: TimeInterval) -> (bytes: Int, closed: Bool) {
        var total = 0
        let deadline = Date().addingTimeInterval(timeout)
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while Date() < deadline {
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, 50)
            if ready <= 0 { continue }
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count <= 0 { return (total, true) }
            total += count
        }
        return (total, false)
    }

    func close() { _ = Glibc.close(descriptor) }
}

func encodeCommands(_ commands: [[String]]) -> [UInt8] {
    var buffer = ByteBuffer()
    for command in commands { buffer.writeRESPCommand(command) }
    return Array(buffer.readableBytesView)
}

/// Waits until `condition` holds (polling), up to `timeout` seconds.
func eventually(timeout: TimeInterval = 5, _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try await condition() { return true }
        try? await Task.sleep(nanoseconds: 20_000_000)
    }
    return try await condition()
}

@Suite("Node: client limits (maxclients, query and output buffers, idle timeout) and connection cleanup")
struct LimitsTests {
    @Test("maxclients applies at once after CONFIG SET, with Redis's error")
    func maxClients() async throws {
        let node = try await NodeHarness.start()
        let admin = try await node.client()
        #expect(try await admin.command(["CONFIG", "SET", "maxclients", "2"]) == .simpleString("OK"))
        let second = try await node.client()
        #expect(try await second.command(["PING"]) == .simpleString("PONG"))
        let third = try RawSocket.connect(port: node.port)
        let (bytes, closed) = third.drain(timeout: 2)
        #expect(closed)
        #expect(bytes == "-ERR max number of clients reached\r\n".utf8.count)
        third.close()
        let stats = parseInfo(try await admin.command(["INFO", "stats"]))
        #expect(stats["stats"]?["rejected_connections"] == "1")
        #expect(try await admin.command(["CONFIG", "SET", "maxclients", "10000"]) == .simpleString("OK"))
        let fourth = try await node.client()
        #expect(try await fourth.command(["PING"]) == .simpleString("PONG"))
        for client in [admin, second, fourth] { client.close() }
        await node.stop()
    }

    @Test("A client whose unparsed input passes client-query-buffer-limit is closed without a reply")
    func queryBufferLimit() async throws {
        let node = try await NodeHarness.start()
        let admin = try await node.client()
        #expect(try await admin.command(["CONFIG", "SET", "client-query-buffer-limit", "1mb"]) == .simpleString("OK"))
        // A 2 MB argument never completes: closed once more than 1 MB is buffered.
        let greedy = try RawSocket.connect(port: node.port)
        greedy.send(Array("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3000000\r\n".utf8))
        greedy.send([UInt8](repeating: UInt8(ascii: "x"), count: 2 * 1024 * 1024))
        let (bytes, closed) = greedy.drain(timeout: 3)
        #expect(closed)
        #expect(bytes == 0)
        greedy.close()
        // Below the limit the same client shape is fine.
        let modest = try await node.client()
        let value = String(repeating: "y", count: 512 * 1024)
        #expect(try await modest.command(["SET", "k", value]) == .simpleString("OK"))
        #expect(try await modest.command(["STRLEN", "k"]) == .integer(512 * 1024))
        #expect(try await admin.command(["CONFIG", "SET", "client-query-buffer-limit", "1gb"]) == .simpleString("OK"))
        admin.close()
        modest.close()
        await node.stop()
    }

    @Test("A normal client that does not read is closed past the output buffer hard limit; unlimited by default")
    func outputBufferLimit() async throws {
        let node = try await NodeHarness.start()
        let admin = try await node.client()
        #expect(try await admin.command(["CONFIG", "GET", "client-output-buffer-limit"])
            == .array([.bulk("client-output-buffer-limit"),
                       .bulk("normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60")]))
        _ = try await admin.command(["SET", "big", String(repeating: "z", count: 256 * 1024)])
        // 200 × 256 KB of replies that nobody reads: with the default (no limit) the client stays connected.
        let patient = try RawSocket.connect(port: node.port, receiveBuffer: 4096)
        patient.send(encodeCommands(Array(repeating: ["GET", "big"], count: 200)))
        try await Task.sleep(nanoseconds: 300_000_000)
        #expect(node.server.state.lock.withLock { node.server.state.clients.count } == 2)
        patient.close()
        #expect(await eventually { node.server.state.lock.withLock { node.server.state.clients.count } == 1 })
        // With a 1 MB hard limit such a client is closed once 1 MB of replies waits for it.
        #expect(try await admin.command(["CONFIG", "SET", "client-output-buffer-limit", "normal 1mb 0 0"])
            == .simpleString("OK"))
        let greedy = try RawSocket.connect(port: node.port, receiveBuffer: 4096)
        greedy.send(encodeCommands(Array(repeating: ["GET", "big"], count: 200)))
        #expect(await eventually { node.server.state.lock.withLock { node.server.state.clients.count } == 1 })
        let (received, closed) = greedy.drain(timeout: 3)
        #expect(closed)
        #expect(received < 200 * 256 * 1024)
        greedy.close()
        #expect(try await admin.command(["CONFIG", "SET", "client-output-buffer-limit", "normal 0 0 0"])
            == .simpleString("OK"))
        admin.close()
        await node.stop()
    }

    @Test("timeout closes idle clients; subscribers are exempt")
    func idleTimeout() async throws {
        let node = try await NodeHarness.start()
        let state = node.server.state
        // The admin subscribes too (RESP3 lets it keep running commands), so a slow machine cannot make it idle.
        let admin = try await node.client()
        _ = try await admin.command(["HELLO", "3"])
        _ = try await admin.command(["SUBSCRIBE", "keepalive"])
        let idle = try await node.client()
        let subscriber = try await node.client()
        #expect(try await idle.command(["PING"]) == .simpleString("PONG"))
        _ = try await subscriber.command(["SUBSCRIBE", "news"])
        #expect(try await admin.command(["CONFIG", "SET", "timeout", "1"]) == .simpleString("OK"))
        let closed = await eventually(timeout: 5) { state.lock.withLock { state.clients.count } == 2 }
        #expect(closed)
        if closed { try await idle.closeFuture().get() }
        #expect(try await admin.command(["CONFIG", "SET", "timeout", "0"]) == .simpleString("OK"))
        #expect(try await admin.command(["PUBLISH", "news", "still here"]) == .integer(1))
        admin.close()
        subscriber.close()
        await node.stop()
    }

    @Test("Clients that vanish mid-pipeline (in MULTI, watching, subscribed) leave nothing behind")
    func disconnectLeaksNothing() async throws {
        let node = try await NodeHarness.start()
        let admin = try await node.client()
        let state = node.server.state
        let baseline = parseInfo(try await admin.command(["INFO", "clients"]))["clients"]?["connected_clients"]
        #expect(baseline == "1")
        for round in 0..<60 {
            let socket = try RawSocket.connect(port: node.port)
            var commands: [[String]] = []
            switch round % 4 {
            case 0: commands = (0..<500).map { ["SET", "key:\($0)", String(repeating: "v", count: 100)] }
            case 1: commands = [["WATCH", "a", "b"], ["MULTI"]] + (0..<300).map { ["INCR", "counter:\($0)"] }
            case 2: commands = [["SUBSCRIBE", "news", "weather"], ["PSUBSCRIBE", "n*"]]
            default: commands = (0..<500).map { ["GET", "key:\($0)"] } + [["CLIENT", "SETNAME", "gone"]]
            }
            var bytes = encodeCommands(commands)
            if round % 2 == 1 { bytes += Array("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100\r\nhalf".utf8) }
            socket.send(bytes)
            socket.close()
        }
        let settled = await eventually {
            state.lock.withLock { state.clients.count == 1 && state.watchedKeys.isEmpty }
        }
        #expect(settled)
        #expect(state.lock.withLock { state.pubsub.channels.isEmpty && state.pubsub.patterns.isEmpty })
        let info = parseInfo(try await admin.command(["INFO", "clients"]))
        #expect(info["clients"]?["connected_clients"] == "1")
        let list = try await admin.command(["CLIENT", "LIST"])
        #expect(list.string?.split(separator: "\n").count == 1)
        let stats = parseInfo(try await admin.command(["INFO", "stats"]))
        #expect(stats["stats"]?["total_connections_received"] == "61")
        admin.close()
        await node.stop()
    }
}
