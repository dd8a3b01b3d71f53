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

    /// Applies a `CLUSTER SLOTS` reply: `[[start, end, [host, port, id...], replicas...]...]`. Returns false
    /// when the reply is not one. An empty host means "the node you asked", `fallbackHost`.
    @discardableResult
    mutating func apply(slotsReply: RESPValue, fallbackHost: String) -> Bool {
        guard let ranges = slotsReply.elements else { return false }
        var updated = slots
        for range in ranges {
            guard let fields = range.elements, fields.count >= 3, case .integer(let start) = fields[0],
                case .integer(let end) = fields[1], let primary = fields[2].elements, primary.count >= 2,
                case .integer(let port) = primary[1], start >= 0, end < 16384, start <= end, port > 0, port < 65536
            else { return false }
            var host = primary[0].string ?? ""
            if host.isEmpty || host == "?" { host = fallbackHost }
            let node = UInt16(index(of: .init(host: host, port: Int(port))))
            for slot in Int(start)...Int(end) { updated[slot] = node }
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
