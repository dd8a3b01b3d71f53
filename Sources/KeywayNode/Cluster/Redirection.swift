import ClusterModel
import NIOCore

extension ClusterController {
    /// Redis Cluster's `getNodeByQuery` for one command (or, with `queued`, for the commands of a
    /// transaction at EXEC): nil when this node serves it, else the redirection or error to reply with —
    /// `MOVED`, `ASK`, `TRYAGAIN`, `CROSSSLOT` or `CLUSTERDOWN`, with Redis's exact texts. Called under the lock.
    func redirection(
        for commands: [(spec: CommandSpec, args: [ByteBuffer])], asking: Bool, readOnly: Bool, database: Database,
        now: Int64
    ) -> RedisError? {
        var slot: Int?
        var firstKey: ByteBuffer?
        var multipleKeys = false
        var missingKeys = 0
        var migrating = false
        var importing = false
        var owner: String?
        var anyWrite = false
        var isMigrate = false
        for (spec, args) in commands {
            let positions: KeyPositions
            if spec.flags.contains(.pubsub) && spec.name.first == "s" {
                positions = spec.keyAndChannelPositions(in: args)  // SPUBLISH / SSUBSCRIBE / SUNSUBSCRIBE
            } else {
                positions = spec.keyPositions(in: args)
            }
            if spec.flags.contains(.write) { anyWrite = true }
            if spec.name == "migrate" { isMigrate = true }
            for position in positions where position < args.count {
                let key = args[position]
                let keySlot = Int(HashSlot(key: key).rawValue)
                if let known = slot {
                    if keySlot != known { return .crossSlot }
                    if let firstKey, firstKey != key { multipleKeys = true }
                } else {
                    slot = keySlot
                    firstKey = key
                    owner = state.slotOwners[keySlot]
                    guard let owner else { return RedisError("CLUSTERDOWN Hash slot not served") }
                    if owner == state.myID && state.migrating[keySlot] != nil { migrating = true }
                    if state.importing[keySlot] != nil { importing = true }
                }
                if (migrating || importing) && !database.exists(key, now: now) { missingKeys += 1 }
            }
        }
        guard let slot, let owner else { return nil }
        if !isOK { return RedisError("CLUSTERDOWN The cluster is down") }
        if (migrating || importing) && isMigrate { return nil }
        if migrating && missingKeys > 0 {
            if multipleKeys { return RedisError("TRYAGAIN Multiple keys request during rehashing of slot") }
            return redirect("ASK", slot: slot, to: state.migrating[slot])
        }
        if importing && asking {
            if multipleKeys && missingKeys > 0 {
                return RedisError("TRYAGAIN Multiple keys request during rehashing of slot")
            }
            return nil
        }
        if readOnly && !anyWrite && !state.myself.isMaster && state.myself.masterID == owner { return nil }
        if owner != state.myID { return redirect("MOVED", slot: slot, to: owner) }
        return nil
    }

    private func redirect(_ kind: String, slot: Int, to id: String?) -> RedisError {
        guard let id, let node = state.nodes[id] else { return RedisError("CLUSTERDOWN Hash slot not served") }
        let host = node.ip.contains(":") ? "\(node.ip)" : node.ip
        return RedisError("\(kind) \(slot) \(host):\(node.port)")
    }
}

extension NodeState {
    /// The cluster redirection for a command about to run (or be queued) for `session`, nil when this node
    /// serves it or runs standalone. For EXEC, the queued commands are checked together. Called under the lock.
    func clusterRedirection(for spec: CommandSpec, _ args: [ByteBuffer], session: ClientSession, asking: Bool)
        -> RedisError?
    {
        guard let cluster else { return nil }
        var commands: [(spec: CommandSpec, args: [ByteBuffer])]
        if spec.name == "exec" {
            commands = []
            for queued in session.transaction ?? [] {
                if let queuedSpec = try? CommandTable.redis70.resolve(queued) { commands.append((queuedSpec, queued)) }
            }
        } else {
            commands = [(spec, args)]
        }
        return cluster.redirection(
            for: commands, asking: asking || spec.flags.contains(.asking), readOnly: session.readOnly,
            database: databases[0], now: NodeState.nowMilliseconds())
    }
}
