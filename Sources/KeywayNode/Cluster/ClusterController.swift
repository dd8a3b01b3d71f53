import ClusterModel
import Foundation
import Logging
import NIOCore

/// Cluster mode: the cluster state, its config file and the cluster bus.
///
/// `state` is accessed only under `NodeState.lock`; the bus takes the lock for each message it handles.
final class ClusterController: @unchecked Sendable {
    var state: ClusterState
    let configPath: String
    var bus: ClusterBus?
    let logger: Logger
    /// The version of `state` last written to the config file.
    private var savedVersion: UInt64 = .max

    init(configuration: NodeConfiguration, logger: Logger) {
        self.logger = logger
        self.nodeTimeout = Int64(configuration.clusterNodeTimeout)
        let busPort = configuration.port + 10000
        let fileName = configuration.clusterConfigFile ?? "nodes-\(configuration.port).conf"
        self.configPath = fileName.hasPrefix("/") ? fileName : configuration.directory + "/" + fileName
        let ip = Self.announcedIP(bind: configuration.bind)
        if let text = try? String(contentsOfFile: configPath, encoding: .utf8),
            var loaded = ClusterState.load(configFile: text, port: configuration.port, busPort: busPort)
        {
            if loaded.myself.ip.isEmpty { loaded.myself.ip = ip }
            // A primary that served slots before the restart waits before accepting queries again (Redis).
            if loaded.myself.isMaster && loaded.slotOwners.contains(loaded.myID) {
                loaded.health.restartedAt = NodeState.nowMilliseconds()
            }
            state = loaded
            savedVersion = loaded.version
            logger.info("cluster config loaded", metadata: ["file": "\(configPath)", "id": "\(loaded.myID)"])
        } else {
            state = ClusterState(myID: ClusterState.randomNodeID(), ip: ip, port: configuration.port, busPort: busPort)
            state.version = 1
        }
        state.updateHealth(nodeTimeout: nodeTimeout, now: NodeState.nowMilliseconds())
    }

    /// The address this node announces: the bind address unless it is a wildcard (then learned from MEET).
    static func announcedIP(bind: String) -> String {
        switch bind {
        case "0.0.0.0", "::", "*", "": return ""
        default: return bind
        }
    }

    /// `cluster_state:ok`, recomputed on each change and timer tick (read per command).
    var isOK: Bool { state.health.isOK }

    /// cluster-node-timeout in ms, refreshed by the bus timer (CONFIG SET may change it).
    var nodeTimeout: Int64

    /// Marks the state changed (saved to the config file and gossiped soon) and recomputes `cluster_state`.
    func changed() {
        state.version &+= 1
        updateHealth()
    }

    /// Recomputes `cluster_state`, logging a change as Redis does.
    func updateHealth(now: Int64 = NodeState.nowMilliseconds()) {
        if state.updateHealth(nodeTimeout: nodeTimeout, now: now) {
            let text = state.health.isOK ? "ok" : "fail"
            if state.health.isOK {
                logger.notice("cluster state changed", metadata: ["state": "\(text)"])
            } else {
                logger.warning("cluster state changed", metadata: ["state": "\(text)"])
            }
        }
    }

    /// Writes the config file if the state changed since the last save. Called under the lock.
    func saveIfNeeded() {
        guard state.version != savedVersion else { return }
        if save() { savedVersion = state.version }
    }

    /// Writes the config file now (atomically: temporary file, then rename).
    @discardableResult
    func save() -> Bool {
        let text = state.configFileText()
        let temporary = configPath + ".tmp-\(getpid())"
        do {
            try text.write(toFile: temporary, atomically: false, encoding: .utf8)
            guard rename(temporary, configPath) == 0 else { return false }
            return true
        } catch {
            logger.error("cannot save cluster config", metadata: ["file": "\(configPath)", "error": "\(error)"])
            return false
        }
    }
}
