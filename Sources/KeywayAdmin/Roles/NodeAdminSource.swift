import ClusterModel
import Foundation
import KeywayNode

/// The admin endpoint of a `keyway node`: readiness, cluster topology, clients, slow log, run-time settings
/// and the node's metrics, each read from one snapshot taken under the node lock.
///
/// A standalone node has no slot map, so `/v1/topology` answers 404 there (as `CLUSTER SLOTS` fails with
/// "This instance has cluster support disabled"); a cluster node reports every slot range it knows.
public struct NodeAdminSource: AdminSource {
    let node: NodeServer
    let logLevel: LogLevelControl?

    /// The settings `GET /v1/config` shows and `PUT /v1/config/{name}` changes: the run-time settings the node
    /// acts on. Values go through the node's CONFIG SET, so validation and error texts are Redis's.
    public static let settings = [
        "maxclients", "timeout", "slowlog-log-slower-than", "slowlog-max-len", "client-query-buffer-limit",
        "client-output-buffer-limit",
    ]
    /// Settings only a cluster node has.
    public static let clusterSettings = ["cluster-node-timeout"]

    /// - Parameter logLevel: the process's log level control, which makes `loglevel` a run-time setting.
    public init(node: NodeServer, logLevel: LogLevelControl? = nil) {
        self.node = node
        self.logLevel = logLevel
    }

    var settingNames: [String] {
        Self.settings + (node.isClusterEnabled ? Self.clusterSettings : []) + (logLevel == nil ? [] : ["loglevel"])
    }

    public func readiness() async -> Readiness {
        guard let cluster = node.clusterSnapshot() else { return Readiness(ready: true, reason: "ok") }
        if cluster.isOK { return Readiness(ready: true, reason: "ok") }
        if cluster.slotsAssigned < HashSlot.count {
            return Readiness(
                ready: false,
                reason: "cluster state fail: \(cluster.slotsAssigned) of \(HashSlot.count) slots assigned")
        }
        return Readiness(
            ready: false, reason: "cluster state fail: \(cluster.slotsFailing) slots served by failed nodes")
    }

    public func topology() async throws -> TopologyReport {
        guard let cluster = node.clusterSnapshot() else {
            throw AdminError.notFound("standalone node: no cluster topology (start it with --cluster-enabled)")
        }
        func report(_ member: NodeClusterSnapshot.Member) -> NodeReport {
            NodeReport(
                id: member.id, address: member.address, health: member.health, configEpoch: member.configEpoch)
        }
        var replicas: [String: [NodeReport]] = [:]
        for member in cluster.members.values.sorted(by: { $0.id < $1.id }) where !member.isPrimary {
            if let primary = member.primaryID { replicas[primary, default: []].append(report(member)) }
        }
        let ranges = cluster.ranges.map { range in
            let owner =
                cluster.members[range.ownerID].map(report)
                ?? NodeReport(id: range.ownerID, address: "", health: "unknown", configEpoch: 0)
            return SlotRangeReport(
                start: range.start, end: range.end, primary: owner, replicas: replicas[range.ownerID] ?? [])
        }
        return TopologyReport(
            configEpoch: cluster.members.values.map(\.configEpoch).max() ?? 0,
            refreshedAt: Date(),
            slotsCovered: cluster.slotsAssigned,
            ranges: ranges)
    }

    public func clients() async throws -> [ClientReport] {
        node.clientsSnapshot().map {
            ClientReport(
                id: UInt64($0.id), address: $0.address, name: $0.name, ageSeconds: $0.ageSeconds,
                idleSeconds: $0.idleSeconds, commands: UInt64($0.commandsProcessed), pipelineDepth: $0.blocked ? 1 : 0)
        }
    }

    public func slowlog() async throws -> [SlowlogEntry] {
        node.slowlogSnapshot().map {
            SlowlogEntry(
                id: UInt64($0.id), startedAt: Date(timeIntervalSince1970: TimeInterval($0.timestamp)),
                durationMicros: UInt64($0.microseconds), arguments: $0.arguments, client: $0.peer,
                clientName: $0.clientName)
        }
    }

    public func config() async throws -> [String: String] {
        var values = node.configValues(settingNames)
        if let logLevel { values["loglevel"] = logLevel.level.rawValue }
        return values
    }

    public func setConfig(name: String, value: String) async throws {
        let name = name.lowercased()
        guard settingNames.contains(name) else {
            throw AdminError.notFound(
                "unknown setting '\(name)' (settable: \(settingNames.joined(separator: ", ")))")
        }
        if name == "loglevel", let logLevel {
            // The process's logger, not the node's CONFIG parameter (which Redis clients may set but has no effect).
            guard let level = LogLevelControl.level(named: value) else {
                throw AdminError.badRequest("loglevel must be trace, debug, info, notice, warning, error or critical")
            }
            logLevel.level = level
            return
        }
        do {
            try node.configSet(name: name, value: value)
        } catch {
            throw AdminError.badRequest(error.message)
        }
    }

    public func collectMetrics(into writer: inout PrometheusTextWriter) async {
        Self.write(node.statisticsSnapshot(), into: &writer)
    }

    /// The node's metric families in Prometheus text.
    static func write(_ stats: NodeStatisticsSnapshot, into writer: inout PrometheusTextWriter) {
        writer.family("keyway_keys", type: "gauge", help: "Keys per database (INFO keyspace keys).")
        for db in stats.keyspace { writer.sample("keyway_keys", labels: [("db", String(db.db))], UInt64(db.keys)) }
        writer.family(
            "keyway_expiring_keys", type: "gauge", help: "Keys with a time to live per database (INFO keyspace expires).")
        for db in stats.keyspace {
            writer.sample("keyway_expiring_keys", labels: [("db", String(db.db))], UInt64(db.expiringKeys))
        }
        writer.family("keyway_expired_keys_total", type: "counter", help: "Keys deleted because their TTL passed.")
        writer.sample("keyway_expired_keys_total", UInt64(stats.expiredKeys))
        writer.family("keyway_evicted_keys_total", type: "counter", help: "Keys evicted to stay under maxmemory.")
        writer.sample("keyway_evicted_keys_total", UInt64(stats.evictedKeys))

        // Commands by name (INFO commandstats): `ok` and `failed` calls ran, `rejected` ones did not.
        var byLabel: [String: (ok: Int, failed: Int, rejected: Int, microseconds: UInt64)] = [:]
        for command in stats.commands {
            let label = KeywayMetrics.commandLabel(command.name)
            var entry = byLabel[label] ?? (0, 0, 0, 0)
            entry.ok += max(0, command.calls - command.failedCalls)
            entry.failed += command.failedCalls
            entry.rejected += command.rejectedCalls
            entry.microseconds &+= command.microseconds
            byLabel[label] = entry
        }
        let labels = byLabel.keys.sorted()
        writer.family(
            "keyway_commands_total", type: "counter",
            help: "Commands processed, by command and result (ok, failed: ran and answered an error, rejected: not run).")
        for label in labels {
            guard let entry = byLabel[label] else { continue }
            for (result, count) in [("ok", entry.ok), ("failed", entry.failed), ("rejected", entry.rejected)]
            where count > 0 || result == "ok" {
                writer.sample(
                    "keyway_commands_total", labels: [("command", label), ("result", result)], UInt64(count))
            }
        }
        writer.family(
            "keyway_node_command_seconds_total", type: "counter",
            help: "Time spent running commands, by command (INFO commandstats usec).")
        for label in labels {
            guard let entry = byLabel[label] else { continue }
            writer.sample(
                "keyway_node_command_seconds_total", labels: [("command", label)], Double(entry.microseconds) / 1e6)
        }

        writer.family("keyway_connected_clients", type: "gauge", help: "Client connections open now.")
        writer.sample("keyway_connected_clients", UInt64(stats.connectedClients))
        writer.family("keyway_client_connections_total", type: "counter", help: "Client connections accepted.")
        writer.sample("keyway_client_connections_total", UInt64(stats.totalConnections))
        writer.family(
            "keyway_rejected_clients_total", type: "counter",
            help: "Client connections refused, by the limit that refused them.")
        writer.sample(
            "keyway_rejected_clients_total", labels: [("limit", "maxclients")], UInt64(stats.rejectedConnections))
        writer.family(
            "keyway_memory_used_bytes", type: "gauge", help: "Memory the node uses (INFO memory used_memory).")
        writer.sample("keyway_memory_used_bytes", UInt64(max(0, stats.usedMemoryBytes)))

        guard let cluster = stats.cluster else { return }
        writer.family(
            "keyway_cluster_state", type: "gauge", help: "1 when CLUSTER INFO says cluster_state:ok, else 0.")
        writer.sample("keyway_cluster_state", UInt64(cluster.isOK ? 1 : 0))
        writer.family("keyway_cluster_slots_served", type: "gauge", help: "Hash slots this node serves.")
        writer.sample("keyway_cluster_slots_served", UInt64(cluster.slotsServed))
        writer.family(
            "keyway_cluster_slots_covered", type: "gauge",
            help: "Hash slots with a primary, cluster-wide (CLUSTER INFO cluster_slots_assigned).")
        writer.sample("keyway_cluster_slots_covered", UInt64(cluster.slotsAssigned))
        writer.family(
            "keyway_cluster_slots_failing", type: "gauge",
            help: "Hash slots whose owner is flagged failed or possibly failed.")
        writer.sample("keyway_cluster_slots_failing", UInt64(cluster.slotsFailing))
        writer.family("keyway_cluster_known_nodes", type: "gauge", help: "Cluster nodes this node knows, itself included.")
        writer.sample("keyway_cluster_known_nodes", UInt64(cluster.knownNodes))
        writer.family("keyway_cluster_current_epoch", type: "gauge", help: "The cluster's current epoch.")
        writer.sample("keyway_cluster_current_epoch", cluster.currentEpoch)
    }
}
