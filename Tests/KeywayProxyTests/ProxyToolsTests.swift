import ClusterModel
import Foundation
import NIOCore
import RESP
import TestSupport
import Testing

@testable import KeywayProxy

/// Stock Redis tools and client libraries, unmodified, against the proxy.
@Suite("Redis tools through the proxy", .serialized)
struct ProxyToolsTests {
    @Test("redis-benchmark (non-cluster mode, every default test incl. MSET) completes with no error",
        arguments: BackendKind.allCases)
    func redisBenchmark(kind: BackendKind) async throws {
        guard kind.isAvailable, Peer.isAvailable("redis-benchmark") else { return }
        try await withProxy(kind) { harness in
            for extra in [["-n", "1000", "-c", "10"], ["-n", "3000", "-c", "10", "-P", "16", "-t", "set,get,incr,lpush,mset"]] {
                let result = try Peer.run(
                    "redis-benchmark", ["-h", "127.0.0.1", "-p", String(harness.port), "-r", "10000", "--csv"] + extra,
                    timeout: 300)
                let output = result.output + result.error
                #expect(result.status == 0, "\(output.suffix(800))")
                #expect(!output.contains("ERR") && !output.lowercased().contains("error"), "\(output.suffix(800))")
                #expect(!output.contains("WARNING"), "\(output.prefix(400))")
                let rows = result.output.split(separator: "\n").filter { $0.hasPrefix("\"") && !$0.hasPrefix("\"test\"") }
                #expect(rows.count >= (extra.contains("-t") ? 5 : 15), "\(result.output)")
                #expect(rows.contains { $0.hasPrefix("\"MSET (10 keys)\"") })
            }
        }
    }

    @Test("plain redis-cli (no -c) for every command family", arguments: BackendKind.allCases)
    func redisCli(kind: BackendKind) async throws {
        guard kind.isAvailable, Peer.isAvailable("redis-cli") else { return }
        try await withProxy(kind) { harness in
            func cli(_ arguments: String...) throws -> String {
                let result = try Peer.run("redis-cli", ["-p", String(harness.port)] + arguments)
                return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            #expect(try cli("SET", "name", "keyway") == "OK")
            #expect(try cli("GET", "name") == "keyway")
            #expect(try cli("MSET", "a", "1", "b", "2", "c", "3") == "OK")
            #expect(try cli("MGET", "a", "b", "c", "nope") == "1\n2\n3")
            #expect(try cli("HSET", "user:1", "name", "ada", "age", "36") == "2")
            #expect(try cli("HGET", "user:1", "age") == "36")
            #expect(try cli("RPUSH", "list", "x", "y", "z") == "3")
            #expect(try cli("LRANGE", "list", "0", "-1") == "x\ny\nz")
            #expect(try cli("SADD", "set", "m1", "m2") == "2")
            #expect(try cli("SCARD", "set") == "2")
            #expect(try cli("ZADD", "board", "10", "ann", "20", "bob") == "2")
            #expect(try cli("ZRANGE", "board", "0", "-1", "WITHSCORES") == "ann\n10\nbob\n20")
            #expect(try cli("EXPIRE", "name", "100") == "1")
            #expect(try cli("DEL", "a", "b", "c", "name") == "4")
            #expect(try cli("DBSIZE") == "5")  // user:1, list, set, board and the readiness probe
            #expect(try cli("PING") == "PONG")
            #expect(try cli("CLUSTER", "INFO") == "ERR This instance has cluster support disabled")
            // redis-cli's interactive start-up sends COMMAND DOCS; it must be answered.
            let docs = try Peer.run("redis-cli", ["-p", String(harness.port), "COMMAND", "COUNT"])
            #expect(Int(docs.output.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0 > 200)
        }
    }

    @Test("redis-py: cross-slot MSET/MGET/DEL, a 1,000-command pipeline, MULTI/EXEC, pub/sub, BLPOP",
        arguments: BackendKind.allCases)
    func redisPy(kind: BackendKind) async throws {
        guard kind.isAvailable else { return }
        let probe = try? Peer.run("python3", ["-c", "import redis; print(redis.__version__)"])
        guard probe?.status == 0 else {
            if ProcessInfo.processInfo.environment["CI"] != nil {
                Issue.record("redis-py is missing (pip install redis)")
            }
            return
        }
        try await withProxy(kind) { harness in
            let result = try Peer.run("python3", ["-c", Self.redisPyScript, String(harness.port)], timeout: 120)
            #expect(result.status == 0, "\(result.output)\n\(result.error)")
            #expect(result.output.contains("redis-py ok"), "\(result.output)\n\(result.error)")
        }
    }

    static let redisPyScript = #"""
        import sys, threading, time
        import redis

        port = int(sys.argv[1])
        for protocol in (2, 3):
            r = redis.Redis(host="127.0.0.1", port=port, protocol=protocol, decode_responses=True)
            assert r.ping()
            keys = [f"py:{protocol}:{i}" for i in range(100)]
            assert r.mset({k: f"v{i}" for i, k in enumerate(keys)})
            assert r.mget(keys + ["py:missing"]) == [f"v{i}" for i in range(100)] + [None]
            assert r.exists(*keys) == 100
            assert r.delete(*keys[:60]) == 60

            pipe = r.pipeline(transaction=False)
            for i in range(1000):
                pipe.set(f"pp:{i}", i)
                pipe.incr(f"pp:{i}") if i % 2 else pipe.get(f"pp:{i}")
            replies = pipe.execute()
            assert len(replies) == 2000
            for i in range(1000):
                assert replies[2 * i] is True
                assert replies[2 * i + 1] == (i + 1 if i % 2 else str(i)), (i, replies[2 * i + 1])

            tx = r.pipeline(transaction=True)
            tx.set("{acct}:a", 10).incrby("{acct}:a", 5).get("{acct}:a")
            assert tx.execute() == [True, 15, "15"]
            with r.pipeline() as watched:
                watched.watch("{acct}:a")
                value = int(watched.get("{acct}:a"))
                watched.multi()
                watched.set("{acct}:a", value * 2)
                assert watched.execute() == [True]
            assert r.get("{acct}:a") == "30"

            p = r.pubsub()
            p.subscribe("news")
            deadline = time.time() + 5
            message = None
            while time.time() < deadline and message is None:
                r.publish("news", "hello")
                message = p.get_message(ignore_subscribe_messages=True, timeout=0.5)
            assert message is not None and message["data"] == "hello", message
            p.close()

            def push():
                time.sleep(0.3)
                redis.Redis(host="127.0.0.1", port=port).rpush("jobs", "job1")
            threading.Thread(target=push).start()
            popped = r.blpop(["jobs"], timeout=5)
            assert popped is not None and list(popped) == ["jobs", "job1"], popped
            r.close()
            print("protocol", protocol, "ok", flush=True)
        print("redis-py ok")
        """#

    @Test("keyway up: one command starts three nodes and the proxy, and Ctrl-C stops them all")
    func keywayUp() async throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let binary = root.appendingPathComponent(".build/debug/keyway").path
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            if ProcessInfo.processInfo.environment["CI"] != nil { Issue.record("\(binary) is missing: run swift build first") }
            return
        }
        let basePort = Peer.freeClusterPorts(count: 3)
        let proxyPort = Peer.freePort()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("keyway-up-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = [
            "up", "--base-port", String(basePort), "--port", String(proxyPort), "--dir", directory.path,
            "--log-level", "warning", "--admin-port", "0",
        ]
        let logFile = directory.appendingPathComponent("up.log")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        let log = try FileHandle(forWritingTo: logFile)
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        func printed() -> String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }
        let deadline = Date().addingTimeInterval(90)
        while Date() < deadline && !printed().contains("connect with") && process.isRunning {
            try await Task.sleep(nanoseconds: 200_000_000)
        }
        guard printed().contains("connect with") else {
            Issue.record("keyway up did not start: \(printed())")
            return
        }
        let client = try await RESPTestClient.connect(port: proxyPort)
        var ready = false
        while Date() < deadline && !ready {
            ready = try await client.command(["SET", "up:k", "v"]) == .simpleString("OK")
            if !ready { try await Task.sleep(nanoseconds: 100_000_000) }
        }
        #expect(ready)
        #expect(try await client.command(["GET", "up:k"]).text == "v")
        var mset = ["MSET"]
        for index in 0..<30 { mset += ["up:\(index)", "x"] }
        #expect(try await client.command(mset) == .simpleString("OK"))
        #expect(try await client.command(["DBSIZE"]) == .integer(31))
        client.close()
        // Every node got a share of the keys.
        for port in basePort..<(basePort + 3) {
            let node = try await RESPTestClient.connect(port: port)
            if case .integer(let keys) = try await node.command(["DBSIZE"]) { #expect(keys > 0) }
            node.close()
        }
        kill(process.processIdentifier, SIGINT)
        let stopDeadline = Date().addingTimeInterval(15)
        while process.isRunning && Date() < stopDeadline { try await Task.sleep(nanoseconds: 100_000_000) }
        #expect(!process.isRunning)
        #expect(printed().contains("redis-cli -p \(proxyPort)"), "\(printed())")
        // Nothing listens any more: the nodes were stopped too.
        for port in [proxyPort, basePort, basePort + 1, basePort + 2] {
            #expect((try? await RESPTestClient.connect(port: port)) == nil, "port \(port) still open")
        }
    }
}
