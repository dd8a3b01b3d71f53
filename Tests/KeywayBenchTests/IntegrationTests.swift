import ClusterModel
import Foundation
import RESP
import TestSupport
import Testing

@testable import KeywayBench

let redisAvailable = RedisServerProcess.isAvailable

/// A redis-server that requires `password` (set after start, so that the readiness probe needs no AUTH).
func startRedis(password: String) async throws -> RedisServerProcess {
    let server = try await RedisServerProcess.start()
    let client = try await RESPTestClient.connect(port: server.port)
    defer { client.close() }
    _ = try await client.command(["CONFIG", "SET", "requirepass", password])
    return server
}

@Suite("Bench: against a real redis-server", .serialized, .enabled(if: redisAvailable))
struct RedisIntegrationTests {
    @Test("a bounded SET,GET run sends exactly the requests asked, with no errors, and the keys exist")
    func boundedRun() async throws {
        let server = try await RedisServerProcess.start()
        defer { server.stop() }
        var configuration = singleConfiguration(port: server.port)
        configuration.workload = .tests([.set, .get])
        let report = try await BenchRunner(configuration: configuration).run()
        #expect(report.tests.map(\.name) == ["SET", "GET"])
        for test in report.tests {
            #expect(test.serviceMs == nil)
            #expect(test.requests == 200, "\(test.name): \(test.requests) requests")
            #expect(test.errors == 0, "\(test.name): \(test.errorsByType)")
            #expect(test.rps > 0)
            #expect(test.latencyMs.p50 > 0 && test.latencyMs.p50 <= test.latencyMs.p99 && test.latencyMs.p99 <= test.latencyMs.max)
        }
        let client = try await RESPTestClient.connect(port: server.port)
        defer { client.close() }
        #expect(try await client.command(["DBSIZE"]) == .integer(200))
        #expect(try await client.command(["GET", "key:000000000123"]) == .bulk("xxx"))
        #expect(try await client.command(["EXISTS", "key:000000000200"]) == .integer(0))
    }

    @Test("several event loops share the budget; warmup is not counted; a duration bounds the run")
    func threadsWarmupDuration() async throws {
        let server = try await RedisServerProcess.start()
        defer { server.stop() }
        var configuration = singleConfiguration(port: server.port)
        configuration.threads = 2
        configuration.clients = 7
        configuration.requests = 1000
        configuration.keyspace = 1000
        configuration.workload = .tests([.set])
        let split = try await BenchRunner(configuration: configuration).run()
        #expect(split.tests[0].requests == 1000 && split.tests[0].errors == 0)
        let client = try await RESPTestClient.connect(port: server.port)
        defer { client.close() }
        #expect(try await client.command(["DBSIZE"]) == .integer(1000))

        // 0.5 s of warmup on counters, then exactly 300 measured INCRs: the counters hold more than 300.
        _ = try await client.command(["FLUSHALL"])
        configuration.warmup = 0.5
        configuration.requests = 300
        configuration.keyspace = 1
        configuration.workload = .tests([.incr])
        let warmed = try await BenchRunner(configuration: configuration).run()
        #expect(warmed.tests[0].requests == 300)
        let counter = try await client.command(["GET", "counter:000000000000"])
        #expect((Int(counter.string ?? "") ?? 0) > 300, "counter \(counter)")

        configuration.warmup = 0
        configuration.requests = nil
        configuration.duration = 0.6
        configuration.workload = .tests([.get])
        let timed = try await BenchRunner(configuration: configuration).run()
        #expect(timed.tests[0].requests > 100)
        #expect(timed.tests[0].seconds > 0.5 && timed.tests[0].seconds < 1.5, "\(timed.tests[0].seconds) s")
    }

    @Test("a custom template, a value-size range, RESP3 and AUTH")
    func customTemplateWithAuth() async throws {
        let server = try await startRedis(password: "s3cret")
        defer { server.stop() }
        var configuration = singleConfiguration(port: server.port)
        configuration.password = "s3cret"
        configuration.resp = 3
        configuration.dataSize = .range(5, 50)
        configuration.workload = .custom(["HSET", "h:__key__", "f", "__data__"])
        let report = try await BenchRunner(configuration: configuration).run()
        #expect(report.tests.count == 1 && report.tests[0].name == "HSET h:__key__ f __data__")
        #expect(report.tests[0].requests == 200 && report.tests[0].errors == 0, "\(report.tests[0].errorsByType)")
        let client = try await RESPTestClient.connect(port: server.port)
        defer { client.close() }
        _ = try await client.command(["AUTH", "s3cret"])
        #expect(try await client.command(["DBSIZE"]) == .integer(200))
        let length = try await client.command(["HSTRLEN", "h:000000000010", "f"])
        guard case .integer(let n) = length else { Issue.record("HSTRLEN: \(length)"); return }
        #expect((5...50).contains(n))

        configuration.password = "wrong"
        await #expect {
            _ = try await BenchRunner(configuration: configuration).run()
        } throws: { error in
            "\(error)".contains("authentication failed") && "\(error)".contains("WRONGPASS")
        }
    }

    @Test("--verify writes, reads back and reports a deleted and a changed key")
    func verifyDetectsLoss() async throws {
        let server = try await RedisServerProcess.start()
        defer { server.stop() }
        var configuration = singleConfiguration(port: server.port)
        configuration.keyspace = 100
        configuration.dataSize = .range(8, 40)
        configuration.generation = 7
        configuration.verify = .all
        let clean = try await BenchRunner(configuration: configuration).run()
        #expect(clean.tests.map(\.name) == ["VERIFY_WRITE", "VERIFY_READ"])
        #expect(clean.verify?.checked == 100 && clean.verify?.lost == 0 && clean.verify?.mismatched == 0)
        #expect(!clean.hasFailures)

        let client = try await RESPTestClient.connect(port: server.port)
        defer { client.close() }
        #expect(try await client.command(["DEL", "key:000000000042"]) == .integer(1))
        _ = try await client.command(["SET", "key:000000000043", "tampered"])
        configuration.verify = .read
        let report = try await BenchRunner(configuration: configuration).run()
        let verify = try #require(report.verify)
        #expect(verify.checked == 100)
        #expect(verify.lost == 1 && verify.mismatched == 1)
        #expect(verify.issues == [
            VerifyIssue(kind: .lost, key: "key:000000000042", found: nil),
            VerifyIssue(kind: .mismatch, key: "key:000000000043", found: "tampered"),
        ])
        // Another generation's values are all mismatches.
        configuration.generation = 8
        #expect(try await BenchRunner(configuration: configuration).run().verify?.mismatched == 99)

        // The CLI lists them and exits non-zero.
        let run = try KeywayBinary.bench([
            "--port", String(server.port), "--verify", "--verify-phase", "read", "--generation", "7", "--keyspace", "100",
            "--data-size", "8-40", "-c", "5",
        ])
        #expect(run.status == 1)
        #expect(run.output.contains("lost: key:000000000042"))
        #expect(run.output.contains("mismatch: key:000000000043 = \"tampered\""))
        #expect(run.error == "keyway bench: verify found 1 lost and 1 mismatched keys\n")
    }

    @Test("--rate holds the arrival rate")
    func openLoop() async throws {
        let server = try await RedisServerProcess.start()
        defer { server.stop() }
        var configuration = singleConfiguration(port: server.port)
        configuration.requests = nil
        configuration.duration = 2
        configuration.rate = 2000
        configuration.clients = 10
        configuration.workload = .tests([.get])
        let report = try await BenchRunner(configuration: configuration).run()
        let test = report.tests[0]
        #expect(abs(test.requests - 4000) <= 20, "\(test.requests) requests at 2000/s for 2 s")
        #expect(test.errors == 0)
        #expect(test.timeline.count >= 1)
        // Latency from the intended send time is never below latency from the actual send.
        let service = try #require(test.serviceMs)
        #expect(service.p50 <= test.latencyMs.p50 && service.p99 <= test.latencyMs.p99 && service.max <= test.latencyMs.max)
    }

    @Test("CLI: JSON and CSV output of a real run")
    func cliFormats() async throws {
        let server = try await RedisServerProcess.start()
        defer { server.stop() }
        let common = ["--port", String(server.port), "-n", "300", "-c", "3", "-P", "2", "--tests", "set,incr,lpush,lrange_100"]
        let json = try KeywayBinary.bench(common + ["--json"])
        #expect(json.status == 0, "\(json.error)")
        let object = try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any]
        let tests = object?["tests"] as? [[String: Any]] ?? []
        #expect(tests.map { $0["name"] as? String } == ["SET", "INCR", "LPUSH", "LRANGE_100"])
        #expect(tests.allSatisfy { $0["requests"] as? Int == 300 && $0["errors"] as? Int == 0 })
        let csv = try KeywayBinary.bench(common + ["--csv"])
        #expect(csv.status == 0)
        let lines = csv.output.split(separator: "\n")
        #expect(lines.count == 5)
        #expect(lines.dropFirst().allSatisfy { $0.split(separator: ",", omittingEmptySubsequences: false).count == 10 })
    }

    @Test("bad input: unknown option, unreachable target, timeouts and server errors exit non-zero with one line")
    func badInput() async throws {
        let unknown = try KeywayBinary.bench(["--no-such-option"])
        #expect(unknown.status != 0)
        #expect(unknown.error.contains("Unknown option '--no-such-option'"))

        let invalid = try KeywayBinary.bench(["--key-pattern", "pareto"])
        #expect(invalid.status != 0)
        #expect(invalid.error.contains("--key-pattern pareto: expected uniform, sequential, zipf:S"))

        let closedPort = Peer.freePort()
        let refused = try KeywayBinary.bench(["--port", String(closedPort), "-n", "10"], timeout: 20)
        #expect(refused.status == 1)
        #expect(refused.error.hasPrefix("keyway bench: cannot connect to 127.0.0.1:\(closedPort): "))
        #expect(refused.error.split(separator: "\n").count == 1)
        #expect(refused.output.isEmpty)

        // A non-routable address: the connect timeout ends it, or the network answers at once (a sandbox may even
        // answer in HTTP); either way one line and a non-zero exit, quickly.
        let started = Date()
        let blackhole = try KeywayBinary.bench(
            ["--host", "10.255.255.1", "--connect-timeout", "1", "--timeout", "2", "-n", "10"], timeout: 20)
        #expect(blackhole.status == 1)
        #expect(blackhole.error.hasPrefix("keyway bench: "))
        #expect(blackhole.error.split(separator: "\n").count == 1, "\(blackhole.error)")
        #expect(Date().timeIntervalSince(started) < 10)

        let server = try await startRedis(password: "right")
        defer { server.stop() }
        let auth = try KeywayBinary.bench(["--port", String(server.port), "--auth", "wrong", "-n", "10"])
        #expect(auth.status == 1)
        #expect(auth.error.hasPrefix("keyway bench: authentication failed at 127.0.0.1:\(server.port): WRONGPASS"))
        let noAuth = try KeywayBinary.bench(["--port", String(server.port), "-n", "10", "--tests", "get"])
        #expect(noAuth.status == 1)
        #expect(noAuth.error.contains("NOAUTH"))

        let unknownCommand = try KeywayBinary.bench(["--port", String(server.port), "-a", "right", "-n", "10", "--", "NOSUCHCMD", "__key__"])
        #expect(unknownCommand.status == 1)
        #expect(unknownCommand.error.hasPrefix("keyway bench: 10 error replies (first: ERR unknown command 'NOSUCHCMD'"))
        #expect(unknownCommand.output.contains("ERR 10"))

        // A server that stops answering mid-run: the reply timeout ends the run instead of a hang.
        let quiet = try await RedisServerProcess.start()
        defer { quiet.stop() }
        let client = try await RESPTestClient.connect(port: quiet.port)
        defer { client.close() }
        _ = try await client.command(["CLIENT", "PAUSE", "8000", "ALL"])
        let pauseStarted = Date()
        let paused = try KeywayBinary.bench(["--port", String(quiet.port), "-n", "100", "--timeout", "1"], timeout: 30)
        #expect(Date().timeIntervalSince(pauseStarted) < 6)
        #expect(paused.status == 1)
        #expect(paused.error.hasPrefix("keyway bench: no reply for 1 s with "))
    }
}

@Suite("Bench: against a 3-node redis-server cluster", .serialized, .enabled(if: redisAvailable))
struct ClusterIntegrationTests {
    @Test("cluster mode sends each key to its owner; stale slots are fixed by following MOVED")
    func clusterRun() async throws {
        let cluster = try await RedisCluster.start()
        defer { cluster.stop() }
        var configuration = singleConfiguration(port: cluster.servers[0].port)
        configuration.target = .cluster(seeds: [.init(host: "127.0.0.1", port: cluster.servers[0].port)])
        configuration.keyspace = 300
        configuration.requests = 300
        configuration.clients = 6
        configuration.workload = .tests([.set])
        let report = try await BenchRunner(configuration: configuration).run()
        #expect(report.tests[0].requests == 300)
        #expect(report.tests[0].errors == 0, "\(report.tests[0].errorSamples)")
        #expect(report.tests[0].redirects == 0)
        var total = 0
        for index in 0..<3 {
            let size = try await cluster.dbsize(index)
            #expect(size > 50, "node \(index) holds \(size) keys")
            total += size
        }
        #expect(total == 300)

        // Start believing node 0 owns everything: MOVED replies teach the real owners (and trigger a refresh).
        configuration.learnSlotsFromRedirects = true
        configuration.verify = .read
        configuration.dataSize = .fixed(3)
        configuration.workload = .tests([.get])
        configuration.verify = nil
        let redirected = try await BenchRunner(configuration: configuration).run()
        #expect(redirected.tests[0].requests == 300)
        #expect(redirected.tests[0].errors == 0, "\(redirected.tests[0].errorSamples)")
        #expect(redirected.tests[0].redirects > 0)

        // Verify through the cluster, from a seed that is not node 0.
        var verify = configuration
        verify.learnSlotsFromRedirects = false
        verify.target = .cluster(seeds: [.init(host: "127.0.0.1", port: cluster.servers[2].port)])
        verify.verify = .all
        verify.keyspace = 200
        let checked = try await BenchRunner(configuration: verify).run()
        #expect(checked.verify?.checked == 200 && checked.verify?.lost == 0 && checked.verify?.mismatched == 0)

        // The CLI in cluster mode, with a mixed ratio and MSET kept in one slot by --hash-tag.
        let seed = "127.0.0.1:\(cluster.servers[1].port)"
        let mixed = try KeywayBinary.bench(["--cluster", "--seed", seed, "-n", "400", "-c", "4", "-P", "8", "--ratio", "1:3", "--json"])
        #expect(mixed.status == 0, "\(mixed.error)")
        let object = try JSONSerialization.jsonObject(with: Data(mixed.output.utf8)) as? [String: Any]
        let tests = object?["tests"] as? [[String: Any]] ?? []
        #expect(tests.first?["name"] as? String == "SET:GET 1:3" && tests.first?["requests"] as? Int == 400)
        #expect(tests.first?["errors"] as? Int == 0)
        let mset = try KeywayBinary.bench(["--cluster", "--seed", seed, "-n", "100", "-c", "2", "--tests", "mset", "--hash-tag"])
        #expect(mset.status == 0, "\(mset.error)")
        // Without the hash tag, MSET's keys span slots: the cluster answers CROSSSLOT, reported by type.
        let crossSlot = try KeywayBinary.bench(["--cluster", "--seed", seed, "-n", "20", "-c", "2", "--tests", "mset"])
        #expect(crossSlot.status == 1)
        #expect(crossSlot.output.contains("CROSSSLOT 20"))

        // A slot being migrated: its owner answers ASK for a key it does not have, and the bench follows with
        // ASKING to the importing node, without updating its slot map.
        let slot = Int(HashSlot(key: "askkey").rawValue)
        let owner = min(slot / (16384 / 3), 2)
        let target = (owner + 1) % 3
        let ownerClient = try await RESPTestClient.connect(port: cluster.servers[owner].port)
        let targetClient = try await RESPTestClient.connect(port: cluster.servers[target].port)
        defer {
            ownerClient.close()
            targetClient.close()
        }
        let ownerID = try await ownerClient.command(["CLUSTER", "MYID"]).string ?? ""
        let targetID = try await targetClient.command(["CLUSTER", "MYID"]).string ?? ""
        #expect(try await targetClient.command(["CLUSTER", "SETSLOT", String(slot), "IMPORTING", ownerID]) == .simpleString("OK"))
        #expect(try await ownerClient.command(["CLUSTER", "SETSLOT", String(slot), "MIGRATING", targetID]) == .simpleString("OK"))
        var ask = configuration
        ask.learnSlotsFromRedirects = false
        ask.requests = 20
        ask.clients = 2
        ask.workload = .custom(["SET", "askkey", "__data__"])
        let asked = try await BenchRunner(configuration: ask).run()
        #expect(asked.tests[0].requests == 20 && asked.tests[0].errors == 0, "\(asked.tests[0].errorSamples)")
        #expect(asked.tests[0].redirects == 20)
        #expect(try await targetClient.command(["CLUSTER", "COUNTKEYSINSLOT", String(slot)]) == .integer(1))
        #expect(try await ownerClient.command(["CLUSTER", "COUNTKEYSINSLOT", String(slot)]) == .integer(0))
    }
}
