import ClusterModel
import Foundation
import NIOCore
import RESP
import Testing

@testable import KeywayBench

@Suite("Bench: configuration parsing and validation")
struct ConfigurationTests {
    @Test("key patterns parse, bad ones are refused with a message")
    func keyPatterns() throws {
        #expect(try KeyPattern.parse("uniform") == .uniform)
        #expect(try KeyPattern.parse("sequential") == .sequential)
        #expect(try KeyPattern.parse("zipf:0.99") == .zipf(0.99))
        #expect(try KeyPattern.parse("GAUSSIAN") == .gaussian)
        for bad in ["zipf:", "zipf:-1", "zipf:abc", "pareto", ""] {
            #expect(throws: BenchConfigurationError.self) { try KeyPattern.parse(bad) }
        }
    }

    @Test("data sizes: N or MIN-MAX")
    func dataSizes() throws {
        #expect(try DataSize.parse("3") == .fixed(3))
        #expect(try DataSize.parse("16-256") == .range(16, 256))
        #expect(try DataSize.parse("8-8") == .fixed(8))
        for bad in ["-1", "10-5", "a", "1-2-3", ""] {
            #expect(throws: BenchConfigurationError.self) { try DataSize.parse(bad) }
        }
    }

    @Test("tests, ratio and endpoints")
    func testsAndRatio() throws {
        #expect(try BenchConfiguration.parseTests("set,GET,lrange_100,mset") == [.set, .get, .lrange_100, .mset])
        let error = #expect(throws: BenchConfigurationError.self) { try BenchConfiguration.parseTests("set,nope") }
        #expect(error?.message.contains("unknown test 'nope'") == true)
        #expect(try BenchConfiguration.parseRatio("1:10") == .mixed(sets: 1, gets: 10))
        #expect(throws: BenchConfigurationError.self) { try BenchConfiguration.parseRatio("1:") }
        #expect(throws: BenchConfigurationError.self) { try BenchConfiguration.parseRatio("0:0") }
        #expect(try BenchConfiguration.Endpoint.parse("10.0.0.1:7000") == .init(host: "10.0.0.1", port: 7000))
        #expect(try BenchConfiguration.Endpoint.parse("[::1]:7000") == .init(host: "::1", port: 7000))
        #expect(throws: BenchConfigurationError.self) { try BenchConfiguration.Endpoint.parse("host") }
        #expect(throws: BenchConfigurationError.self) { try BenchConfiguration.Endpoint.parse("host:99999") }
    }

    @Test("validate refuses out-of-range values")
    func validation() throws {
        try BenchConfiguration().validate()
        var c = BenchConfiguration()
        c.clients = 0
        #expect(throws: BenchConfigurationError.self) { try c.validate() }
        c = BenchConfiguration()
        c.resp = 4
        #expect(throws: BenchConfigurationError.self) { try c.validate() }
        c = BenchConfiguration()
        c.rate = 0
        #expect(throws: BenchConfigurationError.self) { try c.validate() }
        c = BenchConfiguration()
        c.workload = .custom([])
        #expect(throws: BenchConfigurationError.self) { try c.validate() }
        c = BenchConfiguration()
        c.target = .cluster(seeds: [])
        #expect(throws: BenchConfigurationError.self) { try c.validate() }
    }

    @Test("a ratio interleaves its operations evenly")
    func mixedSchedule() {
        var c = BenchConfiguration()
        c.workload = .mixed(sets: 1, gets: 3)
        let plans = TestPlan.plans(for: c)
        #expect(plans.count == 1)
        #expect(plans[0].name == "SET:GET 1:3")
        #expect(plans[0].schedule.filter { $0 == 0 }.count == 1)
        #expect(plans[0].schedule.filter { $0 == 1 }.count == 3)
        c.workload = .mixed(sets: 2, gets: 2)
        #expect(TestPlan.plans(for: c)[0].schedule == [0, 1, 0, 1])
    }
}

@Suite("Bench: key distributions")
struct KeyDistributionTests {
    @Test("uniform covers the keyspace evenly")
    func uniform() {
        var keys = KeyGenerator(pattern: .uniform, keyspace: 1000, seed: 42)
        var buckets = [Int](repeating: 0, count: 10)
        for _ in 0..<100_000 {
            let key = keys.next()
            #expect(key >= 0 && key < 1000)
            buckets[key / 100] += 1
        }
        for count in buckets { #expect(abs(count - 10_000) < 1_000, "bucket count \(count)") }
    }

    @Test("sequential: client c of C walks c, c+C, ... and wraps")
    func sequential() {
        var keys = KeyGenerator(pattern: .sequential, keyspace: 10, client: 1, clients: 3)
        #expect((0..<6).map { _ in keys.next() } == [1, 4, 7, 0, 3, 6])
        // All clients together cover every key exactly once per pass.
        var seen: [Int] = []
        for client in 0..<3 {
            var generator = KeyGenerator(pattern: .sequential, keyspace: 9, client: client, clients: 3)
            for _ in 0..<3 { seen.append(generator.next()) }
        }
        #expect(seen.sorted() == Array(0..<9))
    }

    @Test("zipf:1 gives rank k a weight of 1/k")
    func zipf() {
        let n = 1000
        var keys = KeyGenerator(pattern: .zipf(1.0), keyspace: n, seed: 7)
        var counts = [Int](repeating: 0, count: n)
        let samples = 200_000
        for _ in 0..<samples {
            let key = keys.next()
            #expect(key >= 0 && key < n)
            counts[key] += 1
        }
        let harmonic = (1...n).reduce(0.0) { $0 + 1 / Double($1) }
        let expectedFirst = Double(samples) / harmonic  // about 26,700
        #expect(abs(Double(counts[0]) - expectedFirst) / expectedFirst < 0.05, "key 0: \(counts[0]) vs \(expectedFirst)")
        let ratio = Double(counts[0]) / Double(counts[1])
        #expect(abs(ratio - 2) < 0.15, "p(0)/p(1) = \(ratio)")
        let ratio9 = Double(counts[0]) / Double(counts[9])
        #expect(abs(ratio9 - 10) < 1.5, "p(0)/p(9) = \(ratio9)")
    }

    @Test("gaussian centres on the middle with a sixth of the keyspace as deviation")
    func gaussian() {
        let n = 60_000
        var keys = KeyGenerator(pattern: .gaussian, keyspace: n, seed: 3)
        var sum = 0.0
        var squares = 0.0
        let samples = 100_000
        for _ in 0..<samples {
            let key = keys.next()
            #expect(key >= 0 && key < n)
            sum += Double(key)
            squares += Double(key) * Double(key)
        }
        let mean = sum / Double(samples)
        let deviation = (squares / Double(samples) - mean * mean).squareRoot()
        #expect(abs(mean - 30_000) < 300, "mean \(mean)")
        #expect(abs(deviation - 10_000) < 500, "deviation \(deviation)")
    }
}

@Suite("Bench: request templates and verify values")
struct TemplateTests {
    @Test("placeholders expand into a well-formed RESP command")
    func expansion() {
        let set = RequestTemplate(["SET", "key:__key__", "__data__"])
        #expect(set.expand(key: 42, data: Array("abc".utf8)) == ["SET", "key:000000000042", "abc"])
        #expect(set.expand(key: 999_999_999_999, data: []) == ["SET", "key:999999999999", ""])
        let mixed = RequestTemplate(["HSET", "h:__rand_int__", "f", "<__data__>"])
        #expect(mixed.expand(key: 7, data: Array("xyz".utf8)) == ["HSET", "h:000000000007", "f", "<xyz>"])
        let plain = RequestTemplate(["PING"])
        #expect(plain.expand(key: 1, data: []) == ["PING"])
        #expect(!plain.hasRouteKey)
    }

    @Test("each key of an MSET draws its own number; --hash-tag keeps them in one slot")
    func multiKey() throws {
        let mset = RequestTemplate(BuiltinTest.mset.arguments)
        let expanded = mset.expand(key: 1, extraKeys: [2, 3, 4, 5, 6, 7, 8, 9, 10], data: Array("v".utf8))
        #expect(expanded.count == 21)
        #expect(expanded[1] == "key:000000000001" && expanded[3] == "key:000000000002" && expanded[19] == "key:000000000010")
        let tagged = RequestTemplate(BuiltinTest.mset.arguments, hashTag: true)
        let keys = stride(from: 1, to: 21, by: 2).map {
            tagged.expand(key: 123, extraKeys: [5, 6, 7, 8, 9, 10, 11, 12, 13], data: Array("v".utf8))[$0]
        }
        #expect(keys[0] == "key:{000000000123}")
        #expect(keys[1] == "key:{000000000123}000000000005")
        #expect(Set(keys.map { HashSlot(key: $0) }).count == 1)
        #expect(Set(keys).count == 10)
    }

    @Test("a pre-encoded request patched in place equals the request encoded piece by piece")
    func imageMatchesEncoding() {
        let cases: [([String], Bool)] = [
            (BuiltinTest.set.arguments, false), (BuiltinTest.mset.arguments, false), (BuiltinTest.mset.arguments, true),
            (BuiltinTest.zadd.arguments, false), (["PING"], false), (["SET", "a__key__b", "<__data__>"], true),
        ]
        for (arguments, tag) in cases {
            let template = RequestTemplate(arguments, hashTag: tag)
            let data = [UInt8](repeating: UInt8(ascii: "x"), count: 10)
            var expected = ByteBuffer()
            var keys = KeyGenerator(fixed: Array(100..<120))
            data.withUnsafeBytes { template.encode(into: &expected, key: 987_654_321, keys: &keys, data: $0) }
            var patched = ByteBuffer()
            keys = KeyGenerator(fixed: Array(100..<120))
            template.image(dataSize: 10).write(into: &patched, key: 987_654_321, keys: &keys)
            #expect(String(buffer: patched) == String(buffer: expected), "\(arguments)")
            #expect(RequestTemplate.decodeCommand(patched) != nil)
        }
    }

    @Test("the routing key is the first key's argument")
    func routeKey() {
        for (arguments, tag) in [(["SET", "key:__key__", "__data__"], false), (BuiltinTest.mset.arguments, true)] {
            let template = RequestTemplate(arguments, hashTag: tag)
            var buffer = ByteBuffer()
            template.writeRouteKey(77, into: &buffer)
            #expect(String(buffer: buffer) == template.expand(key: 77, extraKeys: [1], data: [])[1])
        }
        var buffer = ByteBuffer()
        RequestTemplate(["LPUSH", "mylist", "__data__"]).writeRouteKey(5, into: &buffer)
        #expect(String(buffer: buffer) == "mylist")
    }

    @Test("verify values are recomputable, differ by key and generation, and respect the size range")
    func verifyValues() {
        let a = VerifyValue.bytes(key: 5, generation: 1, dataSize: .fixed(32))
        #expect(a == VerifyValue.bytes(key: 5, generation: 1, dataSize: .fixed(32)))
        #expect(a.count == 32)
        #expect(String(decoding: a, as: UTF8.self).hasPrefix("v1:5:"))
        #expect(a != VerifyValue.bytes(key: 6, generation: 1, dataSize: .fixed(32)))
        #expect(a != VerifyValue.bytes(key: 5, generation: 2, dataSize: .fixed(32)))
        var sizes = Set<Int>()
        for key in 0..<500 {
            let size = VerifyValue.size(key: key, generation: 9, dataSize: .range(10, 20))
            #expect((10...20).contains(size))
            sizes.insert(size)
        }
        #expect(sizes.count == 11)
    }

    @Test("MOVED/ASK parsing and CLUSTER SLOTS replies")
    func clusterParsing() throws {
        let moved = try #require(Redirect(message: "MOVED 3999 127.0.0.1:6381"))
        #expect(!moved.ask && moved.slot == 3999 && moved.endpoint == .init(host: "127.0.0.1", port: 6381))
        #expect(Redirect(message: "ASK 1 10.0.0.2:7000")?.ask == true)
        #expect(Redirect(message: "ERR MOVED") == nil)
        #expect(Redirect(message: "MOVED 99999 h:1") == nil)
        var topology = ClusterTopology()
        // [[0, 8191, ["127.0.0.1", 7000, "id1"]], [8192, 16383, ["", 7001, "id2"]]]
        let reply = try #require(
            RESPToken(
                validating: ByteBuffer(
                    string: "*2\r\n*3\r\n:0\r\n:8191\r\n*3\r\n$9\r\n127.0.0.1\r\n:7000\r\n$3\r\nid1\r\n"
                        + "*3\r\n:8192\r\n:16383\r\n*3\r\n$0\r\n\r\n:7001\r\n$3\r\nid2\r\n")))
        let applied = topology.apply(slotsReply: reply, fallbackHost: "10.1.1.1")
        #expect(applied)
        // Nodes are numbered in primary-endpoint order: "10.1.1.1" sorts before "127.0.0.1".
        #expect(topology.nodes == [.init(host: "10.1.1.1", port: 7001), .init(host: "127.0.0.1", port: 7000)])
        #expect(topology.slots[0] == 1 && topology.slots[8191] == 1 && topology.slots[8192] == 0 && topology.slots[16383] == 0)
        #expect(topology.owners == [0, 1])
        // A MOVED-learned node keeps its index across a refresh that moves a range to it.
        let learned = topology.index(of: .init(host: "127.0.0.1", port: 7002))
        let refresh = try #require(
            RESPToken(validating: ByteBuffer(string: "*1\r\n*3\r\n:0\r\n:16383\r\n*2\r\n$9\r\n127.0.0.1\r\n:7002\r\n")))
        let refreshed = topology.apply(slotsReply: refresh, fallbackHost: "10.1.1.1")
        #expect(refreshed)
        #expect(learned == 2 && topology.slots[0] == 2 && topology.slots[16383] == 2 && topology.owners == [2])
        let refused = topology.apply(
            slotsReply: try #require(RESPToken(validating: ByteBuffer(string: "-ERR\r\n"))), fallbackHost: "")
        #expect(!refused)
        let badPort = try #require(
            RESPToken(validating: ByteBuffer(string: "*1\r\n*3\r\n:0\r\n:1\r\n*2\r\n$1\r\nh\r\n:0\r\n")))
        let refusedPort = topology.apply(slotsReply: badPort, fallbackHost: "")
        #expect(!refusedPort)
    }
}
