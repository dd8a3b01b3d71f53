import ClusterModel
import NIOCore
import RESP
import Testing

@Suite("Cluster topology: discovery replies, slot map, redirects")
struct TopologyTests {
    static func token(_ text: String) -> RESPToken {
        RESPToken(validating: ByteBuffer(string: text))!
    }

    @Test("MOVED and ASK: IPv4, IPv6 and an empty host, as redis-cli reads them")
    func redirects() {
        #expect(Redirect(errorMessage: "MOVED 3999 127.0.0.1:6381") == Redirect(kind: .moved, slot: 3999, endpoint: Endpoint(host: "127.0.0.1", port: 6381)))
        #expect(Redirect(errorMessage: "ASK 1 ::1:7002") == Redirect(kind: .ask, slot: 1, endpoint: Endpoint(host: "::1", port: 7002)))
        let empty = Redirect(errorMessage: "MOVED 16383 :7003")
        #expect(empty?.endpoint.hasUnknownHost == true)
        #expect(empty?.endpoint.resolvingUnknownHost(with: "10.0.0.5") == Endpoint(host: "10.0.0.5", port: 7003))
        #expect(Endpoint(parsing: "[fe80::1]:6379") == Endpoint(host: "fe80::1", port: 6379))
        #expect(Redirect(errorMessage: "MOVED 16384 127.0.0.1:1") == nil)
        #expect(Redirect(errorMessage: "MOVED x 127.0.0.1:1") == nil)
        #expect(Redirect(errorMessage: "ERR MOVED 1 a:1") == nil)
        #expect(Redirect(errorMessage: "MOVED 1 127.0.0.1") == nil)
    }

    @Test("CLUSTER SHARDS in RESP2 and RESP3, with replicas, health and a hostname endpoint")
    func shards() throws {
        let shard =
            "*4\r\n$5\r\nslots\r\n*4\r\n:0\r\n:99\r\n:200\r\n:300\r\n$5\r\nnodes\r\n*2\r\n"
            + "*12\r\n$2\r\nid\r\n$3\r\naaa\r\n$4\r\nport\r\n:7001\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n$8\r\nendpoint\r\n$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$6\r\nhealth\r\n$6\r\nonline\r\n"
            + "*12\r\n$2\r\nid\r\n$3\r\nbbb\r\n$4\r\nport\r\n:7004\r\n$2\r\nip\r\n$9\r\n127.0.0.2\r\n$8\r\nendpoint\r\n$1\r\n?\r\n$4\r\nrole\r\n$7\r\nreplica\r\n$6\r\nhealth\r\n$7\r\nloading\r\n"
        let topology = try ClusterTopology.parse(shards: Self.token("*1\r\n" + shard), seedHost: "seed")
        #expect(topology.shards.count == 1)
        let only = topology.shards[0]
        #expect(only.slots == [0...99, 200...300])
        #expect(only.primary == ClusterNodeInfo(id: "aaa", endpoint: Endpoint(host: "127.0.0.1", port: 7001)))
        #expect(only.replicas == [ClusterNodeInfo(id: "bbb", endpoint: Endpoint(host: "127.0.0.2", port: 7004), healthy: false)])
        #expect(topology.coveredSlots == 201)
        // RESP3: maps instead of flat arrays.
        let resp3 = "*1\r\n%2\r\n$5\r\nslots\r\n*2\r\n:5\r\n:5\r\n$5\r\nnodes\r\n*1\r\n%4\r\n$2\r\nid\r\n$1\r\nx\r\n$4\r\nport\r\n:9\r\n$8\r\nendpoint\r\n$0\r\n\r\n$4\r\nrole\r\n$6\r\nmaster\r\n"
        let fromMap = try ClusterTopology.parse(shards: Self.token(resp3), seedHost: "seed")
        #expect(fromMap.shards.first?.primary.endpoint == Endpoint(host: "seed", port: 9))
        #expect(fromMap.shards.first?.slots == [5...5])
        #expect(throws: TopologyParseError.self) { try ClusterTopology.parse(shards: Self.token("+OK\r\n"), seedHost: "s") }
    }

    @Test("CLUSTER SLOTS: ranges of one primary gathered, unknown hosts replaced by the seed's")
    func slots() throws {
        let reply =
            "*3\r\n"
            + "*4\r\n:0\r\n:5460\r\n*3\r\n$9\r\n127.0.0.1\r\n:7001\r\n$1\r\na\r\n*3\r\n$9\r\n127.0.0.1\r\n:7004\r\n$1\r\nd\r\n"
            + "*3\r\n:5461\r\n:10922\r\n*3\r\n$0\r\n\r\n:7002\r\n$1\r\nb\r\n"
            + "*3\r\n:10923\r\n:16383\r\n*3\r\n$9\r\n127.0.0.1\r\n:7001\r\n$1\r\na\r\n"
        let topology = try ClusterTopology.parse(slots: Self.token(reply), seedHost: "10.1.1.1")
        #expect(topology.shards.count == 2)
        #expect(topology.coveredSlots == 16384)
        let first = try #require(topology.shards.first { $0.primary.endpoint.port == 7001 })
        #expect(first.slots == [0...5460, 10923...16383])
        #expect(first.replicas.map(\.endpoint) == [Endpoint(host: "127.0.0.1", port: 7004)])
        #expect(topology.shards.contains { $0.primary.endpoint == Endpoint(host: "10.1.1.1", port: 7002) })
        let map = SlotMap(topology)
        #expect(map.owner(of: 0) == Endpoint(host: "127.0.0.1", port: 7001))
        #expect(map.owner(of: 5461) == Endpoint(host: "10.1.1.1", port: 7002))
        #expect(map.owner(of: 16383) == Endpoint(host: "127.0.0.1", port: 7001))
    }

    @Test("CLUSTER NODES: flags, replicas, migrating entries skipped, hostnames and bus ports cut")
    func nodes() throws {
        let text = """
            e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 127.0.0.1:30001@31001,host1 myself,master - 0 0 1 connected 0-5460 [5461->-67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1]
            67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1 127.0.0.1:30002@31002 master - 0 1426238316232 2 connected 5461-10922
            292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f 127.0.0.1:30003@31003 master,fail - 0 1426238318243 3 connected 10923-16383
            6ec23923021cf3ffec47632106199cb7f496ce01 127.0.0.1:30005@31005 slave 67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1 0 1426238316232 5 connected
            824fe116063bc5fcf9f4ffd895bc17aee7731ac3 :30006@31006 slave 292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f 0 1426238317741 6 connected

            """
        let topology = try ClusterTopology.parse(nodes: text, seedHost: "seed")
        #expect(topology.shards.count == 3)
        #expect(topology.coveredSlots == 16384)
        let second = try #require(topology.shards.first { $0.primary.endpoint.port == 30002 })
        #expect(second.replicas.map(\.endpoint) == [Endpoint(host: "127.0.0.1", port: 30005)])
        #expect(second.configEpoch == 2)
        let third = try #require(topology.shards.first { $0.primary.endpoint.port == 30003 })
        #expect(third.primary.healthy == false)
        #expect(third.replicas.map(\.endpoint) == [Endpoint(host: "seed", port: 30006)])
    }

    @Test("the slot map: MOVED patches one slot, learns new endpoints, counts coverage")
    func slotMap() {
        var map = SlotMap()
        #expect(map.coveredSlots == 0)
        #expect(map.owner(of: 42) == nil)
        let first = map.assign(slot: 42, to: Endpoint(host: "a", port: 1))
        let again = map.assign(slot: 43, to: Endpoint(host: "a", port: 1))
        let other = map.assign(slot: 44, to: Endpoint(host: "b", port: 2))
        #expect(first == again)
        #expect(other != first)
        #expect(map.coveredSlots == 3)
        #expect(map.activePrimaryIndexes == [0, 1])
        map.assign(slot: 44, to: Endpoint(host: "a", port: 1))
        #expect(map.activePrimaryIndexes == [0])
    }
}
