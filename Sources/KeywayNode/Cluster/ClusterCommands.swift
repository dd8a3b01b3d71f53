import ClusterModel
import Foundation
import NIOCore

/// CLUSTER subcommands, ASKING, READONLY and READWRITE.
func registerClusterCommands(_ handlers: inout CommandHandlers) {
    let subcommands: [(String, (inout Invocation, ClusterController) throws(RedisError) -> Void)] = [
        ("myid", clusterMyID), ("keyslot", clusterKeySlot), ("info", clusterInfo), ("nodes", clusterNodes),
        ("slots", clusterSlots), ("shards", clusterShards), ("addslots", clusterAddSlots),
        ("addslotsrange", clusterAddSlotsRange), ("delslots", clusterDelSlots),
        ("delslotsrange", clusterDelSlotsRange), ("flushslots", clusterFlushSlots), ("meet", clusterMeet),
        ("forget", clusterForget), ("reset", clusterReset), ("setslot", clusterSetSlot),
        ("countkeysinslot", clusterCountKeysInSlot), ("getkeysinslot", clusterGetKeysInSlot),
        ("set-config-epoch", clusterSetConfigEpoch), ("bumpepoch", clusterBumpEpoch),
        ("saveconfig", clusterSaveConfig), ("replicate", clusterReplicate), ("replicas", clusterReplicas),
        ("slaves", clusterReplicas), ("count-failure-reports", clusterCountFailureReports),
        ("failover", clusterFailover), ("links", clusterLinks), ("help", clusterHelp),
    ]
    for (name, body) in subcommands {
        handlers.register("cluster|\(name)") { (inv: inout Invocation) throws(RedisError) in
            guard let cluster = inv.node.cluster else { throw .clusterDisabled }
            try body(&inv, cluster)
        }
    }
    registerMigrateCommand(&handlers)
    handlers.register("asking") { (inv: inout Invocation) throws(RedisError) in
        guard inv.node.cluster != nil else { throw .clusterDisabled }
        inv.session.asking = true
        inv.reply.ok()
    }
    handlers.register("readonly") { (inv: inout Invocation) throws(RedisError) in
        guard inv.node.cluster != nil else { throw .clusterDisabled }
        inv.session.readOnly = true
        inv.reply.ok()
    }
    handlers.register("readwrite") { (inv: inout Invocation) throws(RedisError) in
        guard inv.node.cluster != nil else { throw .clusterDisabled }
        inv.session.readOnly = false
        inv.reply.ok()
    }
}

extension RedisError {
    static let clusterDisabled = RedisError("ERR This instance has cluster support disabled")
    static let invalidSlot = RedisError("ERR Invalid or out of range slot")
}

/// A slot argument, or `ERR Invalid or out of range slot`.
private func slotArgument(_ inv: Invocation, _ i: Int) throws(RedisError) -> Int {
    guard let value = inv.args[i].parseInt64(), value >= 0, value < HashSlot.count else { throw .invalidSlot }
    return Int(value)
}

private func nodeIDArgument(_ inv: Invocation, _ i: Int) -> String {
    String(buffer: inv.args[i])
}

private func clusterMyID(_ inv: inout Invocation, _ c: ClusterController) throws(RedisError) {
    inv.reply.bulk(c.state.myID)
}

private func clusterKeySlot(_ inv: inout Invocation, _ c: ClusterController) throws(RedisError) {
    inv.reply.integer(Int(HashSlot(key: inv.args[2]).rawValue))
}

private func clusterInfo(_ inv: inout Invocation, _ c: ClusterController) throws(RedisError) {
    let s = c.state
    var text = """
        cluster_state:\(s.isOK ? "ok" : "fail")\r
        cluster_slots_assigned:\(s.assignedSlots)\r
        cluster_slots_ok:\(s.assignedSlots - s.failedSlots - s.possiblyFailedSlots)\r
        cluster_slots_pfail:\(s.possiblyFailedSlots)\r
        cluster_slots_fail:\(s.failedSlots)\r
        cluster_known_nodes:\(s.nodes.count)\r
        cluster_size:\(s.size)\r
        cluster_current_epoch:\(s.currentEpoch)\r
        cluster_my_epoch:\(s.myself.masterID.flatMap { s.nodes[$0]?.configEpoch } ?? s.myself.configEpoch)\r

        """
    var sentTotal = 0
    for (type, count) in s.stats.sent.sorted(by: { $0.key < $1.key }) {
        text += "cluster_stats_messages_\(type)_sent:\(count)\r\n"
        sentTotal += count
    }
    text += "cluster_stats_messages_sent:\(sentTotal)\r\n"
    var receivedTotal = 0
    for (type, count) in s.stats.received.sorted(by: { $0.key < $1.key }) {
        text += "cluster_stats_messages_\(type)_received:\(count)\r\n"
        receivedTotal += count
    }
    text += "cluster_stats_messages_received:\(receivedTotal)\r\n"
    text += "total_cluster_links_buffer_limit_exceeded:0\r\n"
    inv.reply.verbatim(text)
}

private func clusterNodes(_ inv: inout Invocation, _ c: ClusterController) throws(RedisError) {
    inv.reply.verbatim(c.state.nodesText())
}

/// One node of CLUSTER SLOTS: ip, port, id, and a map of other endpoints (empty).
private func writeSlotsNode(_ inv: inout Invocation, _ node: ClusterNodeInfo) {
    inv.reply.array(4)
    inv.reply.bulk(node.ip)
    inv.reply.integer(node.port)
    inv.reply.bulk(node.id)
    inv.reply.map(0)
}

private func replicas(of id: String, in state: ClusterState) -> [ClusterNodeInfo] {
    state.nodes.values.filter { $0.masterID == id && !$0.flags.contains(.failed) }.sorted { $0.id < $1.id }
}

private func clusterSlots(_ inv: inout Invocation, _ c: ClusterController) throws(RedisError) {
    let state = c.state
    var entries: [(ClosedRange<Int>, ClusterNodeInfo)] = []
    for node in state.nodes.values where node.isMaster {
        for range in state.slotRanges(of: node.id) { entries.append((range, node)) }
    }
    entries.sort { $0.0.lowerBound < $1.0.lowerBound }
    inv.reply.array(entries.count)
    for (range, node) in entries {
        let nodeReplicas = replicas(of: node.id, in: state)
        inv.reply.array(3 + nodeReplicas.count)
        inv.reply.integer(range.lowerBound)
        inv.reply.integer(range.upperBound)
        writeSlotsNode(&inv, node)
        for replica in nodeReplicas { writeSlotsNode(&inv, replica) }
    }
}

private func clusterShards(_ inv: inout Invocation, _ c: ClusterController) throws(RedisError) {
    let state = c.state
    let masters = state.nodes.values.filter { $0.isMaster }.sorted { $0.id < $1.id }
    inv.reply.array(masters.count)
    for master in masters {
        inv.reply.map(2)
        inv.reply.bulk("slots")
        let ranges = state.slotRanges(of: master.id)
        inv.reply.array(ranges.count * 2)
        for range in ranges {
            inv.reply.integer(range.lowerBound)
            inv.reply.integer(range.upperBound)
        }
        inv.reply.bulk("nodes")
        let members = [master] + replicas(of: master.id, in: state)
        inv.reply.array(members.count)
        for node in members {
            inv.reply.map(7)
            inv.reply.bulk("id")
            inv.reply.bulk(node.id)
            inv.reply.bulk("port")
            inv.reply.integer(node.port)
            inv.reply.bulk("ip")
            inv.reply.bulk(node.ip)
            inv.reply.bulk("endpoint")
            inv.reply.bulk(node.ip)
            inv.reply.bulk("role")
            inv.reply.bulk(node.isMaster ? "master" : "replica")
            inv.reply.bulk("replication-offset")
            inv.reply.integer(0)
            inv.reply.bulk("health")
            let failed = node.flags.contains(.failed) || node.flags.contains(.possiblyFailed)
            inv.reply.bulk(failed ? "fail" : "online")
        }
    }
}

/// Parses ADDSLOTS/DELSLOTS arguments, rejecting a slot given twice.
private func slotList(_ inv: Invocation, from start: Int) throws(RedisError) -> [Int] {
    var seen = Set<Int>()
    var slots: [Int] = []
    for i in start..<inv.args.count {
        let slot = try slotArgument(inv, i)
        guard seen.insert(slot).inserted else { throw RedisError("ERR Slot \(slot) specified multiple times") }
        slots.append(slot)
    }
    return slots
}

private func slotRangeList(_ inv: Invocation) throws(RedisError) -> [Int] {
    guard (inv.args.count - 2) % 2 == 0 else { throw .wrongArity(inv.name) }
    var slots: [Int] = []
    var seen = Set<Int>()
    var i = 2
    while i < inv.args.count {
        let low = try slotArgument(inv, i)
        let high = try slotArgument(inv, i + 1)
        guard low <= high else {
            throw RedisError("ERR start slot number \(low) is greater than end slot number \(high)")
        }
        for slot in low...high {
            guard seen.insert(slot).inserted else { throw RedisError("ERR Slot \(slot) specified multiple times") }
            slots.append(slot)
        }
        i += 2
    }
    return slots
}

private func addSlots(_ inv: inout Invocation, _ c: ClusterController, _ slots: [Int]) throws(RedisError) {
    for slot in slots where c.state.slotOwners[slot] != nil {
        throw RedisError("ERR Slot \(slot) is already busy")
    }
    for slot in slots {
        c.state.importing.removeValue(forKey: slot)
        c.state.slotOwners[slot] = c.state.myID
    }
    c.changed()
    inv.reply.ok()
}

private func delSlots(_ inv: inout Invocation, _ c: ClusterController, _ slots: [Int]) throws(RedisError) {
    for slot in slots where c.state.slotOwners[slot] == nil {
        throw RedisError("ERR Slot \(slot) is already unassigned")
    }
    for slot in slots {
        if c.state.slotOwners[slot] == c.state.myID { inv.node.unsubscribeShardChannels(inSlot: slot) }
        c.state.slotOwners[slot] = nil
        c.state.importing.removeValue(forKey: slot)
        c.state.migrating.removeValue(forKey: slot)
    }
    c.changed()
    inv.reply.ok()
}

private func clusterAddSlots(_ inv: inout Invocation, _ c: ClusterController) throws(RedisError) {
    try addSlots(&inv, c, try slotList(inv, from: 2))
}

private func clusterAddSlotsRange(_ inv: inout Invocation, _ c: ClusterController) throws(RedisError) {
    try addSlots(&inv, c, try slotRangeList(inv))
}

private func clusterDelSlots(_ inv: inout Invocation, _ c: ClusterController) throws(RedisError) {
    try delSlots(&inv, c, try slotList(inv, from: 2))
}

private func clusterDelSlotsRange(_ inv: inout Invocation, _ c: ClusterController) throws(RedisError) {
    try delSlots(&inv, c, try slotRangeList(inv))
}

private func clusterFlushSlots(_ inv: inout Invocation, _ c: ClusterController) throws(RedisError) {
    guard inv.node.databases[0].count == 0 else {
        throw RedisError("ERR DB must be empty to perform CLUSTER FLUSHSLOTS.")
    }
    for slot in 0..<HashSlot.count where c.state.slotOwners[slot] == c.state.myID {
        inv.node.unsubscribeShardChannels(inSlot: slot)
        c.state.slotOwners[slot] = nil
    }
    c.changed()
    inv.reply.ok()
}

private func clusterMeet(_ inv: inout Invocation, _ c: ClusterController) throws(RedisError) {
    guard inv.args.count == 4 || inv.args.count == 5 else { throw .wrongArity(inv.name) }
    let ip = inv.string(2)
    guard let port = inv.args[3].parseInt64(), port > 0, port <= 65535 else {
        throw RedisError("ERR Invalid TCP base port specified: \(inv.string(3))")
    }
    var busPort = Int(port) + 10000
    if inv.args.count == 5 {
        guard let value = inv.args[4].parseInt64(), value > 0, value <= 65535 else {
            throw RedisError("ERR Invalid TCP bus port specified: \(inv.string(4))")
        }
        busPort = Int(value)
    }
    guard isValidIP(ip), busPort <= 65535 else {
        throw RedisError("ERR Invalid node address specified: \(ip):\(inv.string(3))")
    }
    c.startHandshake(ip: ip, port: Int(port), busPort: busPort, now: inv.now)
    inv.reply.ok()
}

/// Whether `text` is a numeric IPv4 or IPv6 address (CLUSTER MEET takes no host names).
func isValidIP(_ text: String) -> Bool {
    var v4 = in_addr()
    var v6 = in6_addr()
    return inet_pton(AF_INET, text, &v4) == 1 || inet_pton(AF_INET6, text, &v6) == 1
}

private func clusterForget(_ inv: inout Invocation, _ c: ClusterController) throws(RedisError) {
    let id = nodeIDArgument(inv, 2)
    guard id != c.state.myID else { throw RedisError("ERR I tried hard but I can't forget myself...") }
    guard c.state.nodes[id] != nil else { throw RedisError("ERR Unknown node \(id)") }
    if c.state.myself.masterID == id { throw RedisError("ERR Can't forget my master!") }
    c.forget(id, now: inv.now)
    inv.reply.ok()
}

private func clusterReset(_ inv: inout Invocation, _ c: ClusterController) throws(RedisError) {
    var hard = false
    if inv.args.count == 3 {
        if inv.isKeyword(2, "HARD") {
            hard = true
        } else if !inv.isKeyword(2, "SOFT") {
            throw .syntax
        }
    } else if inv.args.count > 3 {
        throw .syntax
    }
    if c.state.myself.isMaster && inv.node.databases[0].count > 0 {
        throw RedisError("ERR CLUSTER RESET can't be called with master nodes containing keys")
    }
    c.reset(hard: hard)
    inv.reply.ok()
}

private func clusterSetSlot(_ inv: inout Invocation, _ c: ClusterController) throws(RedisError) {
    guard c.state.myself.isMaster else { throw RedisError("ERR Please use SETSLOT only with masters.") }
    let slot = try slotArgument(inv, 2)
    let usage = RedisError("ERR Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP")
    if inv.isKeyword(3, "MIGRATING") && inv.args.count == 5 {
        guard c.state.slotOwners[slot] == c.state.myID else {
            throw RedisError("ERR I'm not the owner of hash slot \(slot)")
        }
        let id = nodeIDArgument(inv, 4)
        guard let node = c.state.nodes[id] else { throw RedisError("ERR I don't know about node \(id)") }
        guard node.isMaster else { throw RedisError("ERR Target node is not a master") }
        c.state.migrating[slot] = id
    } else if inv.isKeyword(3, "IMPORTING") && inv.args.count == 5 {
        guard c.state.slotOwners[slot] != c.state.myID else {
            throw RedisError("ERR I'm already the owner of hash slot \(slot)")
        }
        let id = nodeIDArgument(inv, 4)
        guard let node = c.state.nodes[id] else { throw RedisError("ERR I don't know about node \(id)") }
        guard node.isMaster else { throw RedisError("ERR Target node is not a master") }
        c.state.importing[slot] = id
    } else if inv.isKeyword(3, "STABLE") && inv.args.count == 4 {
        c.state.importing.removeValue(forKey: slot)
        c.state.migrating.removeValue(forKey: slot)
    } else if inv.isKeyword(3, "NODE") && inv.args.count == 5 {
        let id = nodeIDArgument(inv, 4)
        guard let node = c.state.nodes[id] else { throw RedisError("ERR Unknown node \(id)") }
        guard node.isMaster else { throw RedisError("ERR Target node is not a master") }
        let keysHere = inv.node.databases[0].slotIndex?.count(in: slot) ?? 0
        if c.state.slotOwners[slot] == c.state.myID && id != c.state.myID && keysHere != 0 {
            throw RedisError(
                "ERR Can't assign hashslot \(slot) to a different node while I still hold keys for this hash slot.")
        }
        // Once the last key has left, a migrating slot is closed on the source.
        if keysHere == 0 && c.state.migrating[slot] != nil { c.state.migrating.removeValue(forKey: slot) }
        // Assigning an importing slot to myself ends the import, and the new owner needs a new epoch so that
        // the rest of the cluster accepts the change (clusterBumpConfigEpochWithoutConsensus).
        if id == c.state.myID && c.state.importing[slot] != nil {
            c.state.importing.removeValue(forKey: slot)
            c.bumpEpochWithoutConsensus()
        }
        // A node that gives a slot away drops its shard channels' subscribers, with a sunsubscribe each (Redis's
        // removeChannelsInSlot), so that they can subscribe where the slot is now.
        if c.state.slotOwners[slot] == c.state.myID && id != c.state.myID {
            inv.node.unsubscribeShardChannels(inSlot: slot)
        }
        c.state.slotOwners[slot] = id
    } else {
        throw usage
    }
    c.changed()
    inv.reply.ok()
}

private func clusterCountKeysInSlot(_ inv: inout Invocation, _ c: ClusterController) throws(RedisError) {
    let value = try inv.integer(2)
    guard value >= 0, value < HashSlot.count else { throw RedisError("ERR Invalid slot") }
    inv.reply.integer(inv.node.databases[0].slotIndex?.count(in: Int(value)) ?? 0)
}

private func clusterGetKeysInSlot(_ inv: inout Invocation, _ c: ClusterController) throws(RedisError) {
    let slot = try inv.integer(2)
    let count = try inv.integer(3)
    guard slot >= 0, slot < HashSlot.count, count >= 0 else {
        throw RedisError("ERR Invalid slot or number of keys")
    }
    let keys = inv.node.databases[0].slotIndex?.keys[Int(slot)] ?? []
    let limit = min(Int(clamping: count), keys.count)
    inv.reply.array(limit)
    var written = 0
    for key in keys {
        if written == limit { break }
        inv.reply.bulk(key)
        written += 1
    }
}

private func clusterSetConfigEpoch(_ inv: inout Invocation, _ c: ClusterController) throws(RedisError) {
    let epoch = try inv.integer(2)
    guard epoch >= 0 else { throw RedisError("ERR Invalid config epoch specified: \(epoch)") }
    guard c.state.nodes.count <= 1 else {
        throw RedisError("ERR The user can assign a config epoch only when the node does not know any other node.")
    }
    guard c.state.myself.configEpoch == 0 else { throw RedisError("ERR Node config epoch is already non-zero") }
    c.state.myself.configEpoch = UInt64(epoch)
    if c.state.currentEpoch < UInt64(epoch) { c.state.currentEpoch = UInt64(epoch) }
    c.changed()
    inv.reply.ok()
}

private func clusterBumpEpoch(_ inv: inout Invocation, _ c: ClusterController) throws(RedisError) {
    let bumped = c.bumpEpochWithoutConsensus()
    inv.reply.simple("\(bumped ? "BUMPED" : "STILL") \(c.state.myself.configEpoch)")
}

private func clusterSaveConfig(_ inv: inout Invocation, _ c: ClusterController) throws(RedisError) {
    guard c.save() else { throw RedisError("ERR error saving the cluster node config: cannot write \(c.configPath)") }
    inv.reply.ok()
}

private func clusterReplicate(_ inv: inout Invocation, _ c: ClusterController) throws(RedisError) {
    let id = nodeIDArgument(inv, 2)
    guard let node = c.state.nodes[id] else { throw RedisError("ERR Unknown node \(id)") }
    if id == c.state.myID { throw RedisError("ERR Can't replicate myself") }
    guard node.isMaster else { throw RedisError("ERR I can only replicate a master, not a replica.") }
    throw RedisError("ERR Replication is not supported by this keyway node yet")
}

private func clusterReplicas(_ inv: inout Invocation, _ c: ClusterController) throws(RedisError) {
    let id = nodeIDArgument(inv, 2)
    guard let node = c.state.nodes[id] else { throw RedisError("ERR Unknown node \(id)") }
    guard node.isMaster else { throw RedisError("ERR The specified node is not a master") }
    let list = replicas(of: id, in: c.state)
    inv.reply.array(list.count)
    for replica in list { inv.reply.bulk(c.state.nodesLine(replica)) }
}

private func clusterCountFailureReports(_ inv: inout Invocation, _ c: ClusterController) throws(RedisError) {
    let id = nodeIDArgument(inv, 2)
    guard c.state.nodes[id] != nil else { throw RedisError("ERR Unknown node \(id)") }
    inv.reply.integer(c.state.failureReportCount(about: id, nodeTimeout: c.nodeTimeout, now: NodeState.nowMilliseconds()))
}

private func clusterFailover(_ inv: inout Invocation, _ c: ClusterController) throws(RedisError) {
    if inv.args.count == 3 && !inv.isKeyword(2, "FORCE") && !inv.isKeyword(2, "TAKEOVER") { throw .syntax }
    if inv.args.count > 3 { throw .syntax }
    if c.state.myself.isMaster { throw RedisError("ERR You should send CLUSTER FAILOVER to a replica") }
    throw RedisError("ERR Replication is not supported by this keyway node yet")
}

private func clusterLinks(_ inv: inout Invocation, _ c: ClusterController) throws(RedisError) {
    let peers = c.state.nodes.values.filter { $0.id != c.state.myID && $0.linkConnected }.sorted { $0.id < $1.id }
    inv.reply.array(peers.count * 2)
    for peer in peers {
        for direction in ["to", "from"] {
            inv.reply.map(6)
            inv.reply.bulk("direction")
            inv.reply.bulk(direction)
            inv.reply.bulk("node")
            inv.reply.bulk(peer.id)
            inv.reply.bulk("create-time")
            inv.reply.integer(peer.createdAt)
            inv.reply.bulk("events")
            inv.reply.bulk(direction == "to" ? "rw" : "r")
            inv.reply.bulk("send-buffer-allocated")
            inv.reply.integer(0)
            inv.reply.bulk("send-buffer-used")
            inv.reply.integer(0)
        }
    }
}

private func clusterHelp(_ inv: inout Invocation, _ c: ClusterController) throws(RedisError) {
    let lines = [
        "CLUSTER <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "ADDSLOTS <slot> [<slot> ...]", "ADDSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
        "BUMPEPOCH", "COUNT-FAILURE-REPORTS <node-id>", "COUNTKEYSINSLOT <slot>", "DELSLOTS <slot> [<slot> ...]",
        "DELSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]", "FAILOVER [FORCE|TAKEOVER]",
        "FORGET <node-id>", "FLUSHSLOTS", "GETKEYSINSLOT <slot> <count>", "INFO", "KEYSLOT <key>",
        "MEET <ip> <port> [<bus-port>]", "MYID", "NODES", "REPLICATE <node-id>", "RESET [HARD|SOFT]",
        "SET-CONFIG-EPOCH <epoch>", "SETSLOT <slot> (IMPORTING <node-id>|MIGRATING <node-id>|STABLE|NODE <node-id>)",
        "REPLICAS <node-id>", "SAVECONFIG", "SLOTS", "SHARDS", "LINKS", "HELP",
    ]
    inv.reply.array(lines.count)
    for line in lines { inv.reply.simple(line) }
}
