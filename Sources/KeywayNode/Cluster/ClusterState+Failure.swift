import ClusterModel

/// `cluster_state` as Redis's `clusterUpdateState` computes it, with its delays before turning `ok`.
///
/// A plain struct fed with the counts it needs, so the rules are tested without a cluster.
struct ClusterHealth {
    /// A primary that rejoins after a restart stays `fail` this long (CLUSTER_WRITABLE_DELAY).
    static let writableDelay: Int64 = 2000
    /// Bounds of the delay after leaving a minority partition (CLUSTER_MIN/MAX_REJOIN_DELAY): the node timeout.
    static let minRejoinDelay: Int64 = 500
    static let maxRejoinDelay: Int64 = 5000

    /// `cluster_state:ok`; a node starts in `fail`.
    private(set) var isOK = false
    /// When a primary restarted with slots from its config file (Redis's `first_call_time`).
    var restartedAt: Int64?
    /// The last time this node saw itself among a minority of the primaries serving slots.
    private(set) var amongMinorityTime: Int64?

    /// Recomputes the state. `slotsServed`: every slot has an owner not flagged FAIL; `size`: primaries serving
    /// slots; `reachable`: those of them not flagged PFAIL or FAIL (myself included). Returns true on a change.
    ///
    /// Unlike Redis, a node that knows no primary with slots (`size` 0: a fresh node) is not counted as
    /// partitioned away, so a cluster being formed turns `ok` as soon as its slots are covered.
    @discardableResult
    mutating func update(
        slotsServed: Bool, size: Int, reachable: Int, myselfIsPrimary: Bool, nodeTimeout: Int64, now: Int64
    ) -> Bool {
        if myselfIsPrimary && !isOK, let restartedAt, now - restartedAt < Self.writableDelay { return false }
        var ok = slotsServed && size > 0
        if size > 0 && reachable < size / 2 + 1 {
            ok = false
            amongMinorityTime = now
        }
        guard ok != isOK else { return false }
        if ok && myselfIsPrimary, let amongMinorityTime {
            let rejoinDelay = min(max(nodeTimeout, Self.minRejoinDelay), Self.maxRejoinDelay)
            if now - amongMinorityTime < rejoinDelay { return false }
        }
        isOK = ok
        return true
    }
}

/// Failure detection (Redis Cluster's PFAIL and FAIL): timeouts, failure reports and their clearing.
extension ClusterState {
    /// Failure reports stay valid for twice the node timeout (CLUSTER_FAIL_REPORT_VALIDITY_MULT).
    static let failReportValidityMultiplier: Int64 = 2
    /// A primary still serving slots loses FAIL once reachable, after twice the node timeout
    /// (CLUSTER_FAIL_UNDO_TIME_MULT).
    static let failUndoTimeMultiplier: Int64 = 2

    /// Primaries serving slots (`cluster_size`, the base of the failure quorum), and how many of them are
    /// neither PFAIL nor FAIL.
    var primariesServingSlots: (size: Int, reachable: Int) {
        var owners: Set<String> = []
        var previous: String?
        for owner in slotOwners where owner != previous {
            previous = owner
            if let owner { owners.insert(owner) }
        }
        var size = 0
        var reachable = 0
        for id in owners {
            guard let node = nodes[id], node.isMaster else { continue }
            size += 1
            if !node.flags.contains(.possiblyFailed) && !node.flags.contains(.failed) { reachable += 1 }
        }
        return (size, reachable)
    }

    /// Every slot has an owner, and no owner is flagged FAIL (cluster-require-full-coverage yes).
    var allSlotsServed: Bool {
        let failed = Set(nodes.values.lazy.filter { $0.flags.contains(.failed) }.map(\.id))
        for owner in slotOwners {
            guard let owner else { return false }
            if !failed.isEmpty && failed.contains(owner) { return false }
        }
        return true
    }

    /// Recomputes `cluster_state` (clusterUpdateState); true when it changed.
    @discardableResult
    mutating func updateHealth(nodeTimeout: Int64, now: Int64) -> Bool {
        let primaries = primariesServingSlots
        return health.update(
            slotsServed: allSlotsServed, size: primaries.size, reachable: primaries.reachable,
            myselfIsPrimary: myself.isMaster, nodeTimeout: nodeTimeout, now: now)
    }

    /// The timer's check of one node: flags it PFAIL when a PING has been pending, and nothing at all was
    /// received from it, for longer than the node timeout. Returns true when the node was just flagged.
    mutating func checkTimeout(of id: String, nodeTimeout: Int64, now: Int64) -> Bool {
        guard var node = nodes[id], id != myID else { return false }
        if node.flags.contains(.handshake) || node.flags.contains(.noAddress) || node.pingSent == 0 { return false }
        let delay = min(now - node.pingSent, now - node.dataReceived)
        guard delay > nodeTimeout, !node.flags.contains(.possiblyFailed), !node.flags.contains(.failed) else {
            return false
        }
        node.flags.insert(.possiblyFailed)
        nodes[id] = node
        return true
    }

    /// Records that the primary `reporter` sees `id` as PFAIL or FAIL (clusterNodeAddFailureReport).
    mutating func addFailureReport(about id: String, from reporter: String, now: Int64) {
        nodes[id]?.failReports[reporter] = now
    }

    /// The primary `reporter` sees `id` as working again (clusterNodeDelFailureReport).
    mutating func removeFailureReport(about id: String, from reporter: String) {
        nodes[id]?.failReports.removeValue(forKey: reporter)
    }

    /// Failure reports about `id` still valid, dropping the expired ones (clusterNodeFailureReportsCount).
    mutating func failureReportCount(about id: String, nodeTimeout: Int64, now: Int64) -> Int {
        guard var node = nodes[id] else { return 0 }
        let validity = nodeTimeout * Self.failReportValidityMultiplier
        node.failReports = node.failReports.filter { now - $0.value <= validity }
        nodes[id] = node
        return node.failReports.count
    }

    /// PFAIL becomes FAIL when a majority of the primaries serving slots (this node included, if a primary)
    /// reports the node failing (markNodeAsFailingIfNeeded). Returns true when the node was just marked FAIL:
    /// the caller broadcasts a FAIL message.
    mutating func markFailingIfNeeded(_ id: String, nodeTimeout: Int64, now: Int64) -> Bool {
        guard let node = nodes[id], id != myID, node.flags.contains(.possiblyFailed), !node.flags.contains(.failed)
        else { return false }
        let quorum = primariesServingSlots.size / 2 + 1
        var failures = failureReportCount(about: id, nodeTimeout: nodeTimeout, now: now)
        if myself.isMaster { failures += 1 }
        guard failures >= quorum else { return false }
        markFailed(id, now: now)
        return true
    }

    /// Flags `id` FAIL (quorum reached here, or a FAIL message from another node); false when it already was.
    @discardableResult
    mutating func markFailed(_ id: String, now: Int64) -> Bool {
        guard var node = nodes[id], id != myID, !node.flags.contains(.failed) else { return false }
        node.flags.remove(.possiblyFailed)
        node.flags.insert(.failed)
        node.failTime = now
        nodes[id] = node
        return true
    }

    /// A PONG from `id`: PFAIL is cleared at once; FAIL as clearNodeFailureIfNeeded does it — at once for a
    /// replica or a primary without slots, and for a primary still serving slots once the FAIL is older than
    /// twice the node timeout (nobody took its slots over). Returns true when a flag was cleared.
    mutating func clearFailureIfNeeded(_ id: String, nodeTimeout: Int64, now: Int64) -> Bool {
        guard var node = nodes[id] else { return false }
        if node.flags.contains(.possiblyFailed) {
            node.flags.remove(.possiblyFailed)
            nodes[id] = node
            return true
        }
        guard node.flags.contains(.failed) else { return false }
        let servesSlots = node.isMaster && slotOwners.contains(id)
        if servesSlots && now - node.failTime <= nodeTimeout * Self.failUndoTimeMultiplier { return false }
        node.flags.remove(.failed)
        nodes[id] = node
        return true
    }
}
