import NIOCore
import RESP

/// One node as a topology reply describes it.
public struct ClusterNodeInfo: Hashable, Sendable {
    public var id: String
    public var endpoint: Endpoint
    /// False when the node is flagged `fail`/`fail?`/`noaddr` or its SHARDS health is not `online`.
    public var healthy: Bool

    public init(id: String, endpoint: Endpoint, healthy: Bool = true) {
        self.id = id
        self.endpoint = endpoint
        self.healthy = healthy
    }
}

/// A primary, its replicas and the slot ranges it serves.
public struct ShardInfo: Hashable, Sendable {
    public var slots: [ClosedRange<Int>]
    public var primary: ClusterNodeInfo
    public var replicas: [ClusterNodeInfo]
    public var configEpoch: Int64

    public init(slots: [ClosedRange<Int>], primary: ClusterNodeInfo, replicas: [ClusterNodeInfo] = [], configEpoch: Int64 = 0) {
        self.slots = slots
        self.primary = primary
        self.replicas = replicas
        self.configEpoch = configEpoch
    }

    public var slotCount: Int { slots.reduce(0) { $0 + $1.count } }
}

/// The cluster as one discovery reply (CLUSTER SHARDS, SLOTS or NODES) describes it.
public struct ClusterTopology: Hashable, Sendable {
    /// Shards ordered by primary endpoint, so that positions are stable between refreshes.
    public var shards: [ShardInfo]

    public init(shards: [ShardInfo]) {
        self.shards = shards.sorted { $0.primary.endpoint < $1.primary.endpoint }
    }

    /// The number of slots some shard serves.
    public var coveredSlots: Int { shards.reduce(0) { $0 + $1.slotCount } }

    /// Every primary endpoint, sorted.
    public var primaries: [Endpoint] { shards.map(\.primary.endpoint) }
}

/// Why a discovery reply could not be read.
public struct TopologyParseError: Error, Hashable, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

extension ClusterTopology {
    /// Reads a `CLUSTER SHARDS` reply (Redis 7+, RESP2 or RESP3). `seedHost` replaces unknown hosts.
    public static func parse(shards reply: RESPToken, seedHost: String) throws(TopologyParseError) -> ClusterTopology {
        guard case .array(let shardList) = reply.value else { throw TopologyParseError("CLUSTER SHARDS: not an array") }
        var result: [ShardInfo] = []
        for shardToken in shardList {
            let shard = try fields(of: shardToken, "CLUSTER SHARDS shard")
            guard let slotsToken = shard["slots"], case .array(let slotValues) = slotsToken.value,
                let nodesToken = shard["nodes"], case .array(let nodeList) = nodesToken.value
            else { throw TopologyParseError("CLUSTER SHARDS: shard without slots or nodes") }
            let bounds = slotValues.compactMap { integer($0) }
            guard bounds.count % 2 == 0 else { throw TopologyParseError("CLUSTER SHARDS: odd slot list") }
            var ranges: [ClosedRange<Int>] = []
            var index = 0
            while index < bounds.count {
                let (low, high) = (Int(bounds[index]), Int(bounds[index + 1]))
                guard 0 <= low, low <= high, high < HashSlot.count else {
                    throw TopologyParseError("CLUSTER SHARDS: bad slot range \(low)-\(high)")
                }
                ranges.append(low...high)
                index += 2
            }
            var primary: ClusterNodeInfo?
            var replicas: [ClusterNodeInfo] = []
            for nodeToken in nodeList {
                let node = try fields(of: nodeToken, "CLUSTER SHARDS node")
                let id = node["id"].flatMap(string) ?? ""
                var host = node["endpoint"].flatMap(string) ?? ""
                if host.isEmpty || host == "?" { host = node["ip"].flatMap(string) ?? "" }
                guard let portValue = node["port"].flatMap(integer) ?? node["tls-port"].flatMap(integer) else {
                    throw TopologyParseError("CLUSTER SHARDS: node without a port")
                }
                let endpoint = Endpoint(host: host, port: Int(portValue)).resolvingUnknownHost(with: seedHost)
                let health = node["health"].flatMap(string) ?? "online"
                let info = ClusterNodeInfo(id: id, endpoint: endpoint, healthy: health == "online")
                if node["role"].flatMap(string) == "master" { primary = info } else { replicas.append(info) }
            }
            // A shard whose primary failed and has no slots is left out; one without a primary can't serve.
            guard let primary, !ranges.isEmpty else { continue }
            result.append(ShardInfo(slots: ranges, primary: primary, replicas: replicas))
        }
        return ClusterTopology(shards: result)
    }

    /// Reads a `CLUSTER SLOTS` reply (Redis 3+). Ranges of one primary are gathered into one shard.
    public static func parse(slots reply: RESPToken, seedHost: String) throws(TopologyParseError) -> ClusterTopology {
        guard case .array(let entries) = reply.value else { throw TopologyParseError("CLUSTER SLOTS: not an array") }
        var byPrimary: [Endpoint: ShardInfo] = [:]
        for entry in entries {
            guard case .array(let parts) = entry.value, parts.count >= 3 else {
                throw TopologyParseError("CLUSTER SLOTS: bad entry")
            }
            var iterator = parts.makeIterator()
            guard let lowToken = iterator.next(), let highToken = iterator.next(),
                let low = integer(lowToken), let high = integer(highToken), 0 <= low, low <= high,
                high < HashSlot.count
            else { throw TopologyParseError("CLUSTER SLOTS: bad slot range") }
            var nodes: [ClusterNodeInfo] = []
            while let nodeToken = iterator.next() {
                guard case .array(let nodeParts) = nodeToken.value else { continue }
                let values = Swift.Array(nodeParts)
                guard values.count >= 2, let port = integer(values[1]) else { continue }
                let host = string(values[0]) ?? ""
                let id = values.count >= 3 ? (string(values[2]) ?? "") : ""
                nodes.append(
                    ClusterNodeInfo(id: id, endpoint: Endpoint(host: host, port: Int(port)).resolvingUnknownHost(with: seedHost))
                )
            }
            guard let primary = nodes.first else { throw TopologyParseError("CLUSTER SLOTS: entry without a node") }
            var shard = byPrimary[primary.endpoint] ?? ShardInfo(slots: [], primary: primary, replicas: Swift.Array(nodes.dropFirst()))
            shard.slots.append(Int(low)...Int(high))
            byPrimary[primary.endpoint] = shard
        }
        return ClusterTopology(shards: Swift.Array(byPrimary.values))
    }

    /// Reads `CLUSTER NODES` text (every Redis Cluster version), as redis-cli does: `[...]` migration entries skipped.
    public static func parse(nodes text: String, seedHost: String) throws(TopologyParseError) -> ClusterTopology {
        struct Line {
            var info: ClusterNodeInfo
            var primaryID: String?
            var isPrimary: Bool
            var slots: [ClosedRange<Int>]
            var epoch: Int64
        }
        var lines: [Line] = []
        for raw in text.split(whereSeparator: \.isNewline) {
            let fields = raw.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 8 else { continue }
            var address = fields[1]
            if let at = address.firstIndex(of: "@") { address = address[..<at] }
            if let comma = address.firstIndex(of: ",") { address = address[..<comma] }
            guard let endpoint = Endpoint(parsing: address) else {
                throw TopologyParseError("CLUSTER NODES: bad address \(fields[1])")
            }
            let flags = fields[2].split(separator: ",")
            let healthy = !flags.contains("fail") && !flags.contains("fail?") && !flags.contains("noaddr")
                && !flags.contains("handshake")
            var slots: [ClosedRange<Int>] = []
            for field in fields.dropFirst(8) where !field.hasPrefix("[") {
                if let dash = field.firstIndex(of: "-") {
                    guard let low = Int(field[..<dash]), let high = Int(field[field.index(after: dash)...]),
                        0 <= low, low <= high, high < HashSlot.count
                    else { throw TopologyParseError("CLUSTER NODES: bad slot range \(field)") }
                    slots.append(low...high)
                } else if let slot = Int(field), (0..<HashSlot.count).contains(slot) {
                    slots.append(slot...slot)
                }
            }
            lines.append(
                Line(
                    info: ClusterNodeInfo(id: String(fields[0]), endpoint: endpoint.resolvingUnknownHost(with: seedHost), healthy: healthy),
                    primaryID: fields[3] == "-" ? nil : String(fields[3]),
                    isPrimary: flags.contains("master"),
                    slots: slots,
                    epoch: Int64(fields[6]) ?? 0
                ))
        }
        var shards: [ShardInfo] = []
        for line in lines where line.isPrimary && !line.slots.isEmpty {
            let replicas = lines.filter { !$0.isPrimary && $0.primaryID == line.info.id }.map(\.info)
            shards.append(ShardInfo(slots: line.slots, primary: line.info, replicas: replicas, configEpoch: line.epoch))
        }
        return ClusterTopology(shards: shards)
    }

    private static func fields(of token: RESPToken, _ what: String) throws(TopologyParseError) -> [String: RESPToken] {
        var result: [String: RESPToken] = [:]
        switch token.value {
        case .map(let map):
            for (key, value) in map {
                if let name = string(key) { result[name] = value }
            }
        case .array(let array):
            var iterator = array.makeIterator()
            while let key = iterator.next(), let value = iterator.next() {
                if let name = string(key) { result[name] = value }
            }
        default:
            throw TopologyParseError("\(what): not a map")
        }
        return result
    }

    private static func string(_ token: RESPToken) -> String? {
        switch token.value {
        case .bulkString(let bytes), .simpleString(let bytes):
            return bytes.getString(at: bytes.readerIndex, length: bytes.readableBytes)
        case .verbatimString(_, let text):
            return text.getString(at: text.readerIndex, length: text.readableBytes)
        default:
            return nil
        }
    }

    private static func integer(_ token: RESPToken) -> Int64? {
        switch token.value {
        case .integer(let value): return value
        case .bulkString(let bytes), .simpleString(let bytes): return bytes.parseInt64()
        default: return nil
        }
    }
}

/// Slot → owner lookup for the data plane: one 16384-entry array of indexes into `endpoints`.
///
/// A value type: each event loop keeps its own copy and patches it on MOVED without touching the others.
public struct SlotMap: Sendable {
    public static let unassigned: UInt16 = .max

    /// Primary endpoints; `owners` index into this. New endpoints learned from MOVED are appended.
    public private(set) var endpoints: [Endpoint]
    /// Replicas of each endpoint in `endpoints` (same index), for replica reads.
    public private(set) var replicas: [[Endpoint]]
    @usableFromInline var owners: [UInt16]

    /// An empty map: every slot unassigned.
    public init() {
        endpoints = []
        replicas = []
        owners = [UInt16](repeating: SlotMap.unassigned, count: HashSlot.count)
    }

    public init(_ topology: ClusterTopology) {
        self.init()
        for shard in topology.shards {
            let index = UInt16(endpoints.count)
            endpoints.append(shard.primary.endpoint)
            replicas.append(shard.replicas.filter(\.healthy).map(\.endpoint))
            for range in shard.slots {
                for slot in range { owners[slot] = index }
            }
        }
    }

    /// The owner's index in `endpoints`, or nil when no shard serves the slot.
    @inlinable
    public func ownerIndex(of slot: Int) -> Int? {
        let owner = owners[slot]
        return owner == SlotMap.unassigned ? nil : Int(owner)
    }

    public func owner(of slot: Int) -> Endpoint? {
        ownerIndex(of: slot).map { endpoints[$0] }
    }

    /// The index of `endpoint`, adding it when it is new.
    public mutating func index(of endpoint: Endpoint) -> Int {
        if let existing = endpoints.firstIndex(of: endpoint) { return existing }
        endpoints.append(endpoint)
        replicas.append([])
        return endpoints.count - 1
    }

    /// Records that `slot` now belongs to `endpoint` (a MOVED reply); returns the endpoint's index.
    @discardableResult
    public mutating func assign(slot: Int, to endpoint: Endpoint) -> Int {
        let index = index(of: endpoint)
        owners[slot] = UInt16(index)
        return index
    }

    /// The number of slots with an owner.
    public var coveredSlots: Int { owners.reduce(0) { $0 + ($1 == SlotMap.unassigned ? 0 : 1) } }

    /// Endpoints that own at least one slot, in `endpoints` order.
    public var activePrimaryIndexes: [Int] {
        var used = [Bool](repeating: false, count: endpoints.count)
        for owner in owners where owner != SlotMap.unassigned { used[Int(owner)] = true }
        return used.indices.filter { used[$0] }
    }
}
