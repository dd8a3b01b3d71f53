import ClusterModel
import Foundation
import NIOCore

// What the admin endpoint (KeywayAdmin's `NodeAdminSource`) reads from a running node. Each accessor copies
// plain values under the node lock (copy-on-write arrays make most copies O(1)) and does the rest of its work
// after releasing it, so a scrape or an admin request holds the lock about as long as one small command.

/// The cluster as this node sees it (CLUSTER INFO, NODES and SLOTS in one consistent snapshot).
package struct NodeClusterSnapshot: Sendable {
    /// One cluster member.
    package struct Member: Sendable {
        package var id: String
        /// `ip:port` (the client port).
        package var address: String
        /// `online`, `failed` (fail or fail? flag) or `unknown` (handshake, no address yet, or no cluster bus
        /// link to it now: CLUSTER NODES' `disconnected`).
        package var health: String
        package var configEpoch: UInt64
        package var isPrimary: Bool
        /// The primary's id, for a replica.
        package var primaryID: String?
    }

    /// A contiguous range of slots owned by one node.
    package struct SlotRange: Sendable {
        package var start: Int
        package var end: Int
        package var ownerID: String
    }

    /// CLUSTER INFO's `cluster_state:ok`.
    package var isOK: Bool
    package var myID: String
    package var currentEpoch: UInt64
    /// Slots with an owner (`cluster_slots_assigned`).
    package var slotsAssigned: Int
    /// Slots whose owner is flagged fail or fail? (`cluster_slots_fail` + `cluster_slots_pfail`).
    package var slotsFailing: Int
    /// Slots this node owns.
    package var slotsServed: Int
    /// `cluster_known_nodes`.
    package var knownNodes: Int
    /// Every known node, by id.
    package var members: [String: Member]
    /// Owned slot ranges in slot order.
    package var ranges: [SlotRange]
}

/// The counters and gauges `/metrics` exposes for a node, as INFO reports them.
package struct NodeStatisticsSnapshot: Sendable {
    /// One database (INFO keyspace).
    package struct Keyspace: Sendable {
        package var db: Int
        package var keys: Int
        package var expiringKeys: Int
    }

    /// One command's INFO commandstats counters.
    package struct CommandCounts: Sendable {
        /// The command's lower-case name, `container|sub` for a subcommand.
        package var name: String
        /// Calls that ran (failed ones included), as `calls=`.
        package var calls: Int
        package var failedCalls: Int
        package var rejectedCalls: Int
        package var microseconds: UInt64
    }

    /// Every database of the node (one in cluster mode).
    package var keyspace: [Keyspace]
    package var expiredKeys: Int
    package var evictedKeys: Int
    /// Commands called at least once since start (or CONFIG RESETSTAT).
    package var commands: [CommandCounts]
    package var connectedClients: Int
    package var totalConnections: Int
    package var rejectedConnections: Int
    /// INFO memory's `used_memory`.
    package var usedMemoryBytes: Int
    /// Nil in standalone mode.
    package var cluster: NodeClusterSnapshot?
}

/// A connected client, like a line of CLIENT LIST.
package struct NodeClientSnapshot: Sendable {
    package var id: Int64
    package var address: String
    package var name: String
    package var ageSeconds: Double
    package var idleSeconds: Double
    package var commandsProcessed: Int
    /// True while the client waits in a blocking command (BLPOP...), which is then received and not answered.
    package var blocked: Bool
}

/// A SLOWLOG GET entry.
package struct NodeSlowlogEntry: Sendable {
    package var id: Int64
    /// Unix time in seconds when the command ran.
    package var timestamp: Int64
    package var microseconds: Int64
    /// The arguments as SLOWLOG GET shows them (truncated, passwords redacted), decoded as UTF-8.
    package var arguments: [String]
    package var peer: String
    package var clientName: String
}

/// A CONFIG SET refusal, with the node's own error text (`ERR CONFIG SET failed ... - reason`).
package struct NodeConfigError: Error, Sendable {
    package var message: String
}

extension NodeServer {
    /// Whether the node runs in cluster mode.
    package var isClusterEnabled: Bool { state.cluster != nil }

    /// The cluster state (nil in standalone mode).
    package func clusterSnapshot() -> NodeClusterSnapshot? {
        guard let controller = state.cluster else { return nil }
        let cluster = state.lock.withLock { controller.state }
        return Self.summarize(cluster)
    }

    /// INFO's counters, the keyspace sizes, commandstats, clients, memory and the cluster state.
    package func statisticsSnapshot() -> NodeStatisticsSnapshot {
        let (keyspace, stats, commandStats, clients, cluster) = state.lock.withLock {
            (
                state.databases.map {
                    NodeStatisticsSnapshot.Keyspace(db: $0.index, keys: $0.count, expiringKeys: $0.expiresCount)
                },
                state.stats, state.commandStats, state.clients.count, state.cluster?.state
            )
        }
        let commands = commandStats.compactMap { entry in
            entry.map {
                NodeStatisticsSnapshot.CommandCounts(
                    name: $0.name, calls: $0.calls, failedCalls: $0.failedCalls, rejectedCalls: $0.rejectedCalls,
                    microseconds: $0.microseconds)
            }
        }
        return NodeStatisticsSnapshot(
            keyspace: keyspace, expiredKeys: stats.expiredKeys, evictedKeys: stats.evictedKeys, commands: commands,
            connectedClients: clients, totalConnections: stats.totalConnections,
            rejectedConnections: stats.rejectedConnections, usedMemoryBytes: MemoryFigures.current().used,
            cluster: cluster.map(Self.summarize))
    }

    /// The connected clients, by id.
    package func clientsSnapshot() -> [NodeClientSnapshot] {
        let now = Date()
        let nowNanoseconds = NodeState.monotonicNanoseconds()
        return state.lock.withLock {
            state.clients.values.map { session in
                NodeClientSnapshot(
                    id: session.id, address: session.address, name: session.name ?? "",
                    ageSeconds: max(0, now.timeIntervalSince(session.createdAt)),
                    idleSeconds: Double(nowNanoseconds &- session.lastInteractionNanoseconds) / 1e9,
                    commandsProcessed: session.commandsProcessed, blocked: state.blocking.isBlocked(session))
            }
        }.sorted { $0.id < $1.id }
    }

    /// The slow log, newest first, as SLOWLOG GET -1 returns it.
    package func slowlogSnapshot() -> [NodeSlowlogEntry] {
        let entries = state.lock.withLock { state.slowlog.entries }
        return entries.map {
            NodeSlowlogEntry(
                id: $0.id, timestamp: $0.timestamp, microseconds: $0.microseconds,
                arguments: $0.arguments.map { String(buffer: $0) }, peer: $0.peer, clientName: $0.clientName)
        }
    }

    /// CONFIG GET's value for each of `names` that is a configuration parameter.
    package func configValues(_ names: [String]) -> [String: String] {
        let configuration = state.lock.withLock { state.configuration }
        var values: [String: String] = [:]
        for name in names {
            guard let parameter = ConfigTable.lookup(name) else { continue }
            values[name] = configuration.value(of: parameter, listeningPort: port)
        }
        return values
    }

    /// CONFIG SET `name` `value`, with the command's validation and error texts.
    package func configSet(name: String, value: String) throws(NodeConfigError) {
        let result: RedisError? = state.lock.withLock {
            do throws(RedisError) {
                try state.configSet([(name, value)])
                return nil
            } catch {
                return error
            }
        }
        if let result { throw NodeConfigError(message: result.message) }
    }

    /// Ranges, members and counts of a cluster state copied out of the lock.
    private static func summarize(_ cluster: ClusterState) -> NodeClusterSnapshot {
        var members: [String: NodeClusterSnapshot.Member] = [:]
        for node in cluster.nodes.values {
            let health: String
            if node.flags.contains(.failed) || node.flags.contains(.possiblyFailed) {
                health = "failed"
            } else if node.flags.contains(.handshake) || node.flags.contains(.noAddress)
                || (!node.flags.contains(.myself) && !node.linkConnected)
            {
                health = "unknown"
            } else {
                health = "online"
            }
            members[node.id] = NodeClusterSnapshot.Member(
                id: node.id, address: "\(node.ip):\(node.port)", health: health, configEpoch: node.configEpoch,
                isPrimary: node.isMaster, primaryID: node.masterID)
        }
        var ranges: [NodeClusterSnapshot.SlotRange] = []
        for (slot, owner) in cluster.slotOwners.enumerated() {
            guard let owner else { continue }
            if let last = ranges.last, last.end == slot - 1, last.ownerID == owner {
                ranges[ranges.count - 1].end = slot
            } else {
                ranges.append(NodeClusterSnapshot.SlotRange(start: slot, end: slot, ownerID: owner))
            }
        }
        var assigned = 0
        var failing = 0
        var served = 0
        for range in ranges {
            let count = range.end - range.start + 1
            assigned += count
            if range.ownerID == cluster.myID { served += count }
            if members[range.ownerID]?.health == "failed" { failing += count }
        }
        return NodeClusterSnapshot(
            isOK: cluster.isOK, myID: cluster.myID, currentEpoch: cluster.currentEpoch, slotsAssigned: assigned,
            slotsFailing: failing, slotsServed: served, knownNodes: cluster.nodes.count, members: members,
            ranges: ranges)
    }
}
