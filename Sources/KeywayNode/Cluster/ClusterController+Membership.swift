import ClusterModel
import Foundation
import NIOCore

extension ClusterController {
    /// CLUSTER MEET: remembers `ip:port` as a handshake node with a temporary id until it answers.
    func startHandshake(ip: String, port: Int, busPort: Int, now: Int64) {
        let normalized = ip
        // Already known or already in handshake with this address: nothing to do (as Redis).
        if state.nodes.values.contains(where: { $0.ip == normalized && $0.port == port && $0.id != state.myID }) {
            return
        }
        var node = ClusterNodeInfo(
            id: ClusterState.randomNodeID(), ip: normalized, port: port, busPort: busPort,
            flags: [.handshake, .meet])
        node.createdAt = now
        state.nodes[node.id] = node
        changed()
    }

    /// Removes a node (CLUSTER FORGET): its slots become unassigned and gossip about it is ignored for 60 s.
    func forget(_ id: String, now: Int64) {
        removeNode(id)
        state.blacklist[id] = now + 60_000
        changed()
    }

    /// Deletes a node and every reference to it, failure reports it sent included (clusterDelNode).
    func removeNode(_ id: String) {
        state.nodes.removeValue(forKey: id)
        for slot in 0..<HashSlot.count where state.slotOwners[slot] == id { state.slotOwners[slot] = nil }
        state.importing = state.importing.filter { $0.value != id }
        state.migrating = state.migrating.filter { $0.value != id }
        for (otherID, node) in state.nodes {
            if node.masterID == id { state.nodes[otherID]?.masterID = nil }
            if node.failReports[id] != nil { state.nodes[otherID]?.failReports.removeValue(forKey: id) }
        }
        bus?.dropLink(to: id)
    }

    /// CLUSTER RESET: forgets every other node and all slots; HARD also takes a new id and zeroes the epochs.
    func reset(hard: Bool) {
        for id in Array(state.nodes.keys) where id != state.myID { removeNode(id) }
        state.slotOwners = Array(repeating: nil, count: HashSlot.count)
        state.importing.removeAll()
        state.migrating.removeAll()
        var me = state.myself
        me.flags = [.myself, .master]
        me.masterID = nil
        if hard {
            state.nodes.removeValue(forKey: state.myID)
            state.myID = ClusterState.randomNodeID()
            me.id = state.myID
            me.configEpoch = 0
            state.currentEpoch = 0
            state.lastVoteEpoch = 0
        }
        state.nodes[state.myID] = me
        changed()
        saveIfNeeded()
    }

    /// Gives this node a config epoch greater than every other node's, without agreement from the others
    /// (CLUSTER BUMPEPOCH, SETSLOT NODE on an importing slot). Returns false when it already has the greatest.
    @discardableResult
    func bumpEpochWithoutConsensus() -> Bool {
        let maxEpoch = max(state.currentEpoch, state.nodes.values.map(\.configEpoch).max() ?? 0)
        if state.myself.configEpoch == 0 || state.myself.configEpoch != maxEpoch {
            state.currentEpoch += 1
            state.myself.configEpoch = state.currentEpoch
            changed()
            return true
        }
        return false
    }
}
