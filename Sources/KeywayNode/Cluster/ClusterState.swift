import ClusterModel
import Foundation
import NIOCore

/// Flags of a cluster node, as CLUSTER NODES prints them.
struct ClusterNodeFlags: OptionSet, Hashable {
    let rawValue: UInt16
    static let myself = ClusterNodeFlags(rawValue: 1 << 0)
    static let master = ClusterNodeFlags(rawValue: 1 << 1)
    static let replica = ClusterNodeFlags(rawValue: 1 << 2)
    static let possiblyFailed = ClusterNodeFlags(rawValue: 1 << 3)
    static let failed = ClusterNodeFlags(rawValue: 1 << 4)
    static let handshake = ClusterNodeFlags(rawValue: 1 << 5)
    static let noAddress = ClusterNodeFlags(rawValue: 1 << 6)
    static let meet = ClusterNodeFlags(rawValue: 1 << 7)
    static let noFailover = ClusterNodeFlags(rawValue: 1 << 8)

    /// `myself,master`, `master,fail?`, `handshake`, `noflags`...
    var text: String {
        var parts: [String] = []
        if contains(.myself) { parts.append("myself") }
        if contains(.master) { parts.append("master") }
        if contains(.replica) { parts.append("slave") }
        if contains(.possiblyFailed) { parts.append("fail?") }
        if contains(.failed) { parts.append("fail") }
        if contains(.handshake) { parts.append("handshake") }
        if contains(.noAddress) { parts.append("noaddr") }
        if contains(.noFailover) { parts.append("nofailover") }
        return parts.isEmpty ? "noflags" : parts.joined(separator: ",")
    }

    init(rawValue: UInt16) { self.rawValue = rawValue }

    init(text: String) {
        var flags: ClusterNodeFlags = []
        for part in text.split(separator: ",") {
            switch part {
            case "myself": flags.insert(.myself)
            case "master": flags.insert(.master)
            case "slave": flags.insert(.replica)
            case "fail?": flags.insert(.possiblyFailed)
            case "fail": flags.insert(.failed)
            case "handshake": flags.insert(.handshake)
            case "noaddr": flags.insert(.noAddress)
            case "nofailover": flags.insert(.noFailover)
            default: break
            }
        }
        self = flags
    }
}

/// What this node knows of one cluster member (itself included).
struct ClusterNodeInfo {
    /// 40 lowercase hex characters.
    var id: String
    var ip: String
    var port: Int
    var busPort: Int
    var flags: ClusterNodeFlags
    /// The primary's id for a replica.
    var masterID: String?
    var configEpoch: UInt64 = 0
    /// ms since the epoch of the unanswered PING, 0 when none is pending.
    var pingSent: Int64 = 0
    var pongReceived: Int64 = 0
    /// ms since the epoch of the last message of any kind from this node (proof of liveness, as a PONG).
    var dataReceived: Int64 = 0
    /// When this node was flagged FAIL.
    var failTime: Int64 = 0
    /// Primaries that reported this node PFAIL or FAIL in their gossip, with the time of the last report.
    var failReports: [String: Int64] = [:]
    var linkConnected = false
    /// When a handshake started (handshake nodes that never answer are dropped).
    var createdAt: Int64 = 0

    var isMaster: Bool { flags.contains(.master) }
}

/// The cluster configuration as this node sees it: members, slot owners, epochs, open slots.
///
/// Accessed only under `NodeState.lock`.
struct ClusterState {
    var myID: String
    var nodes: [String: ClusterNodeInfo] = [:]
    /// Owner node id per slot.
    var slotOwners: [String?] = Array(repeating: nil, count: HashSlot.count)
    /// Slots this node is migrating to another node (slot → destination id).
    var migrating: [Int: String] = [:]
    /// Slots this node is importing from another node (slot → source id).
    var importing: [Int: String] = [:]
    var currentEpoch: UInt64 = 0
    var lastVoteEpoch: UInt64 = 0
    /// Nodes removed by CLUSTER FORGET, ignored in gossip until the time given (ms).
    var blacklist: [String: Int64] = [:]
    var stats = ClusterStatistics()
    /// `cluster_state`, updated by `updateHealth` on every change and timer tick.
    var health = ClusterHealth()
    /// Bumped on every change that must be saved to nodes.conf and gossiped.
    var version: UInt64 = 0

    init(myID: String, ip: String, port: Int, busPort: Int) {
        self.myID = myID
        nodes[myID] = ClusterNodeInfo(id: myID, ip: ip, port: port, busPort: busPort, flags: [.myself, .master])
    }

    static func randomNodeID() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<40).map { _ in String("0123456789abcdef".randomElement(using: &generator) ?? "0") }.joined()
    }

    var myself: ClusterNodeInfo {
        get { nodes[myID] ?? ClusterNodeInfo(id: myID, ip: "", port: 0, busPort: 0, flags: [.myself, .master]) }
        set { nodes[myID] = newValue }
    }

    /// Slots owned by `id`, as sorted ranges.
    func slotRanges(of id: String) -> [ClosedRange<Int>] {
        var ranges: [ClosedRange<Int>] = []
        var start: Int?
        for slot in 0...HashSlot.count {
            let owned = slot < HashSlot.count && slotOwners[slot] == id
            if owned && start == nil { start = slot }
            if !owned, let s = start {
                ranges.append(s...(slot - 1))
                start = nil
            }
        }
        return ranges
    }

    func slotCount(of id: String) -> Int { slotOwners.reduce(0) { $0 + ($1 == id ? 1 : 0) } }

    var assignedSlots: Int { slotOwners.reduce(0) { $0 + ($1 == nil ? 0 : 1) } }

    /// Slots whose owner is marked failed.
    var failedSlots: Int {
        var count = 0
        for owner in slotOwners {
            if let owner, nodes[owner]?.flags.contains(.failed) == true { count += 1 }
        }
        return count
    }

    var possiblyFailedSlots: Int {
        var count = 0
        for owner in slotOwners {
            if let owner, nodes[owner]?.flags.contains(.possiblyFailed) == true { count += 1 }
        }
        return count
    }

    /// `cluster_state:ok` (see `ClusterHealth`).
    var isOK: Bool { health.isOK }

    /// Primaries serving at least one slot.
    var size: Int { Set(slotOwners.compactMap { $0 }).count }

    // MARK: CLUSTER NODES

    /// One CLUSTER NODES line (with the trailing newline), exactly Redis's format.
    func nodesLine(_ node: ClusterNodeInfo, forConfigFile: Bool = false) -> String {
        var line = "\(node.id) \(node.ip):\(node.port)@\(node.busPort) \(node.flags.text) \(node.masterID ?? "-") "
        line += "\(node.pingSent) \(node.pongReceived) \(node.configEpoch) "
        let connected = node.flags.contains(.myself) || node.linkConnected
        line += connected ? "connected" : "disconnected"
        for range in slotRanges(of: node.id) {
            line += range.count == 1 ? " \(range.lowerBound)" : " \(range.lowerBound)-\(range.upperBound)"
        }
        if node.id == myID {
            for (slot, destination) in migrating.sorted(by: { $0.key < $1.key }) {
                line += " [\(slot)->-\(destination)]"
            }
            for (slot, source) in importing.sorted(by: { $0.key < $1.key }) {
                line += " [\(slot)-<-\(source)]"
            }
        }
        return line + "\n"
    }

    /// The whole CLUSTER NODES text: myself first, then the others by id.
    func nodesText(forConfigFile: Bool = false) -> String {
        var text = nodesLine(myself, forConfigFile: forConfigFile)
        for node in nodes.values.sorted(by: { $0.id < $1.id }) where node.id != myID {
            if forConfigFile && node.flags.contains(.handshake) { continue }
            text += nodesLine(node, forConfigFile: forConfigFile)
        }
        return text
    }

    /// nodes.conf: CLUSTER NODES plus the epochs line.
    func configFileText() -> String {
        nodesText(forConfigFile: true) + "vars currentEpoch \(currentEpoch) lastVoteEpoch \(lastVoteEpoch)\n"
    }

    /// Restores the state from a nodes.conf written by `configFileText`.
    static func load(configFile text: String, port: Int, busPort: Int) -> ClusterState? {
        var state: ClusterState?
        var others: [ClusterNodeInfo] = []
        var owners: [(Int, String)] = []
        var migrating: [Int: String] = [:]
        var importing: [Int: String] = [:]
        var currentEpoch: UInt64 = 0
        var lastVote: UInt64 = 0
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ").map(String.init)
            if fields.first == "vars" {
                var i = 1
                while i + 1 < fields.count {
                    if fields[i] == "currentEpoch" { currentEpoch = UInt64(fields[i + 1]) ?? 0 }
                    if fields[i] == "lastVoteEpoch" { lastVote = UInt64(fields[i + 1]) ?? 0 }
                    i += 2
                }
                continue
            }
            guard fields.count >= 8, fields[0].utf8.count == 40 else { continue }
            let address = fields[1].split(separator: ",").first.map(String.init) ?? ""
            let atParts = address.split(separator: "@", omittingEmptySubsequences: false)
            let hostPort = atParts.first.map(String.init) ?? ""
            guard let colon = hostPort.lastIndex(of: ":") else { continue }
            let ip = String(hostPort[..<colon])
            let nodePort = Int(hostPort[hostPort.index(after: colon)...]) ?? 0
            let nodeBus = atParts.count > 1 ? Int(atParts[1]) ?? nodePort + 10000 : nodePort + 10000
            let flags = ClusterNodeFlags(text: fields[2])
            var info = ClusterNodeInfo(
                id: fields[0], ip: ip, port: nodePort, busPort: nodeBus, flags: flags,
                masterID: fields[3] == "-" ? nil : fields[3])
            info.configEpoch = UInt64(fields[6]) ?? 0
            for item in fields.dropFirst(8) {
                if item.hasPrefix("[") {
                    let inner = item.dropFirst().dropLast()
                    if let r = inner.range(of: "->-"), let slot = Int(inner[..<r.lowerBound]) {
                        migrating[slot] = String(inner[r.upperBound...])
                    } else if let r = inner.range(of: "-<-"), let slot = Int(inner[..<r.lowerBound]) {
                        importing[slot] = String(inner[r.upperBound...])
                    }
                    continue
                }
                let bounds = item.split(separator: "-").compactMap { Int($0) }
                guard let low = bounds.first, let high = bounds.last, low >= 0, high < HashSlot.count, low <= high
                else { continue }
                for slot in low...high { owners.append((slot, info.id)) }
            }
            if flags.contains(.myself) {
                info.port = port
                info.busPort = busPort
                var s = ClusterState(myID: info.id, ip: ip, port: port, busPort: busPort)
                s.myself = info
                state = s
            } else {
                info.flags.remove(.myself)
                others.append(info)
            }
        }
        guard var loaded = state else { return nil }
        for node in others { loaded.nodes[node.id] = node }
        for (slot, owner) in owners { loaded.slotOwners[slot] = owner }
        loaded.migrating = migrating
        loaded.importing = importing
        loaded.currentEpoch = max(currentEpoch, loaded.nodes.values.map(\.configEpoch).max() ?? 0)
        loaded.lastVoteEpoch = lastVote
        return loaded
    }
}

/// Cluster bus message counters for CLUSTER INFO.
struct ClusterStatistics {
    var sent: [String: Int] = [:]
    var received: [String: Int] = [:]
}
