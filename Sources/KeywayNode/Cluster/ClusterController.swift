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
        let busPort = configuration.port + 10000
        let fileName = configuration.clusterConfigFile ?? "nodes-\(configuration.port).conf"
        self.configPath = fileName.hasPrefix("/") ? fileName : configuration.directory + "/" + fileName
        let ip = Self.announcedIP(bind: configuration.bind)
        if let text = try? String(contentsOfFile: configPath, encoding: .utf8),
            var loaded = ClusterState.load(configFile: text, port: configuration.port, busPort: busPort)
        {
            if loaded.myself.ip.isEmpty { loaded.myself.ip = ip }
            state = loaded
            savedVersion = loaded.version
            logger.info("cluster config loaded", metadata: ["file": "\(configPath)", "id": "\(loaded.myID)"])
        } else {
            state = ClusterState(myID: ClusterState.randomNodeID(), ip: ip, port: configuration.port, busPort: busPort)
            state.version = 1
        }
        isOK = state.isOK
    }

    /// The address this node announces: the bind address unless it is a wildcard (then learned from MEET).
    static func announcedIP(bind: String) -> String {
        switch bind {
        case "0.0.0.0", "::", "*", "": return ""
        default: return bind
        }
    }

    /// Whether every slot is served by a reachable primary, recomputed on each change (read per command).
    private(set) var isOK = false

    /// Marks the state changed (saved to the config file and gossiped soon).
    func changed() {
        state.version &+= 1
        isOK = state.isOK
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
