import ClusterModel
import RESP

/// Which node owns each hash slot, from `CLUSTER SLOTS`; node indexes stay stable as nodes are added.
struct ClusterTopology: Sendable {
    static let unassigned = UInt16.max

    var nodes: [BenchConfiguration.Endpoint] = []
    var slots = [UInt16](repeating: ClusterTopology.unassigned, count: 16384)

    /// The index of `endpoint`, adding it when new.
    mutating func index(of endpoint: BenchConfiguration.Endpoint) -> Int {
        if let i = nodes.firstIndex(of: endpoint) { return i }
        nodes.append(endpoint)
        return nodes.count - 1
    }

    /// Indexes of nodes that own at least one slot.
    var owners: [Int] {
        var seen = Set<UInt16>()
        for slot in slots where slot != Self.unassigned { seen.insert(slot) }
        return seen.sorted().map(Int.init)
    }

    /// Applies a `CLUSTER SLOTS` reply, read by ClusterModel's parser (the proxy's). Returns false when the reply
    /// is not one. An unknown host (empty or `?`) means "the node you asked", `fallbackHost`. Nodes learned here get
    /// indexes in primary-endpoint order (the parser's), and keep them on later refreshes.
    @discardableResult
    mutating func apply(slotsReply: RESPToken, fallbackHost: String) -> Bool {
        guard let parsed = try? ClusterModel.ClusterTopology.parse(slots: slotsReply, seedHost: fallbackHost) else {
            return false
        }
        var updated = slots
        for shard in parsed.shards {
            let primary = shard.primary.endpoint
            guard (1...65535).contains(primary.port) else { return false }
            let node = UInt16(index(of: .init(host: primary.host, port: primary.port)))
            for range in shard.slots {
                for slot in range { updated[slot] = node }
            }
        }
        slots = updated
        return true
    }
}

/// A `MOVED slot host:port` or `ASK slot host:port` error.
struct Redirect: Equatable {
    var ask: Bool
    var slot: Int
    var endpoint: BenchConfiguration.Endpoint

    init?(message: String) {
        let words = message.split(separator: " ")
        guard words.count == 3, words[0] == "MOVED" || words[0] == "ASK", let slot = Int(words[1]), slot >= 0,
            slot < 16384, let endpoint = try? BenchConfiguration.Endpoint.parse(String(words[2]))
        else { return nil }
        self.ask = words[0] == "ASK"
        self.slot = slot
        self.endpoint = endpoint
    }
}
