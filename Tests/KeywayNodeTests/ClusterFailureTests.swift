import ClusterModel
import Testing

@testable import KeywayNode

/// Failure detection and `cluster_state` as pure state, without a bus (the cluster tests run it for real).
@Suite("Node: cluster failure detection rules")
struct ClusterFailureTests {
    static let a = String(repeating: "a", count: 40)
    static let b = String(repeating: "b", count: 40)
    static let c = String(repeating: "c", count: 40)
    static let timeout: Int64 = 500

    /// Myself (a) and b, c: three primaries sharing the slots, all answering.
    static func threePrimaries(now: Int64) -> ClusterState {
        var state = ClusterState(myID: a, ip: "127.0.0.1", port: 7000, busPort: 17000)
        for (index, id) in [b, c].enumerated() {
            var node = ClusterNodeInfo(
                id: id, ip: "127.0.0.1", port: 7001 + index, busPort: 17001 + index, flags: [.master])
            node.pongReceived = now
            node.dataReceived = now
            state.nodes[id] = node
        }
        for slot in 0..<HashSlot.count { state.slotOwners[slot] = [a, b, c][slot * 3 / HashSlot.count] }
        return state
    }

    @Test("A PING pending with no data for longer than the node timeout flags PFAIL; one report more makes FAIL")
    func pfailThenFail() {
        let start: Int64 = 1_000_000
        var state = Self.threePrimaries(now: start)
        state.updateHealth(nodeTimeout: Self.timeout, now: start)
        #expect(state.isOK)
        // No PING pending: never timed out, however old the last contact.
        let notPending = state.checkTimeout(of: Self.c, nodeTimeout: Self.timeout, now: start + 10_000)
        #expect(!notPending)
        state.nodes[Self.c]?.pingSent = start + 100
        let beforeTimeout = state.checkTimeout(of: Self.c, nodeTimeout: Self.timeout, now: start + 600)
        #expect(!beforeTimeout)
        let afterTimeout = state.checkTimeout(of: Self.c, nodeTimeout: Self.timeout, now: start + 601)
        #expect(afterTimeout)
        #expect(state.nodes[Self.c]?.flags.text == "master,fail?")
        // PFAIL alone leaves the slots served; my own report is one of the two needed.
        state.updateHealth(nodeTimeout: Self.timeout, now: start + 601)
        #expect(state.isOK)
        let alone = state.markFailingIfNeeded(Self.c, nodeTimeout: Self.timeout, now: start + 601)
        #expect(!alone)
        state.addFailureReport(about: Self.c, from: Self.b, now: start + 700)
        let withReport = state.markFailingIfNeeded(Self.c, nodeTimeout: Self.timeout, now: start + 700)
        #expect(withReport)
        #expect(state.nodes[Self.c]?.flags.text == "master,fail")
        #expect(state.nodes[Self.c]?.failTime == start + 700)
        let again = state.markFailingIfNeeded(Self.c, nodeTimeout: Self.timeout, now: start + 701)
        #expect(!again)
        state.updateHealth(nodeTimeout: Self.timeout, now: start + 700)
        #expect(!state.isOK)
        #expect(state.failedSlots == 5461)
    }

    @Test("Failure reports expire after twice the node timeout and are withdrawn when the reporter sees the node up")
    func failureReports() {
        let start: Int64 = 1_000_000
        var state = Self.threePrimaries(now: start)
        state.nodes[Self.c]?.flags.insert(.possiblyFailed)
        state.addFailureReport(about: Self.c, from: Self.b, now: start)
        let validReports = state.failureReportCount(about: Self.c, nodeTimeout: Self.timeout, now: start + 1000)
        #expect(validReports == 1)
        let expiredReports = state.failureReportCount(about: Self.c, nodeTimeout: Self.timeout, now: start + 1001)
        #expect(expiredReports == 0)
        let afterExpiry = state.markFailingIfNeeded(Self.c, nodeTimeout: Self.timeout, now: start + 1001)
        #expect(!afterExpiry)
        state.addFailureReport(about: Self.c, from: Self.b, now: start + 2000)
        state.removeFailureReport(about: Self.c, from: Self.b)
        let afterWithdrawal = state.markFailingIfNeeded(Self.c, nodeTimeout: Self.timeout, now: start + 2000)
        #expect(!afterWithdrawal)
        #expect(state.nodes[Self.c]?.flags.text == "master,fail?")
    }

    @Test("A PONG clears PFAIL at once, and FAIL of a primary with slots only after twice the node timeout")
    func clearing() {
        let start: Int64 = 1_000_000
        var state = Self.threePrimaries(now: start)
        state.nodes[Self.b]?.flags.insert(.possiblyFailed)
        let pfailCleared = state.clearFailureIfNeeded(Self.b, nodeTimeout: Self.timeout, now: start)
        #expect(pfailCleared)
        #expect(state.nodes[Self.b]?.flags.text == "master")
        state.markFailed(Self.c, now: start)
        let tooEarly = state.clearFailureIfNeeded(Self.c, nodeTimeout: Self.timeout, now: start + 1000)
        #expect(!tooEarly)
        #expect(state.nodes[Self.c]?.flags.text == "master,fail")
        let afterUndoTime = state.clearFailureIfNeeded(Self.c, nodeTimeout: Self.timeout, now: start + 1001)
        #expect(afterUndoTime)
        #expect(state.nodes[Self.c]?.flags.text == "master")
        // A primary without slots is cleared at once.
        for slot in 0..<HashSlot.count where state.slotOwners[slot] == Self.c { state.slotOwners[slot] = Self.a }
        state.markFailed(Self.c, now: start + 2000)
        let slotlessCleared = state.clearFailureIfNeeded(Self.c, nodeTimeout: Self.timeout, now: start + 2000)
        #expect(slotlessCleared)
    }

    @Test("cluster_state: fail until covered, a minority partition, and the rejoin and restart delays")
    func health() {
        var health = ClusterHealth()
        #expect(!health.isOK)
        // A fresh node that just got every slot is ok at once.
        let covered = health.update(slotsServed: true, size: 1, reachable: 1, myselfIsPrimary: true, nodeTimeout: 15_000, now: 0)
        #expect(covered)
        #expect(health.isOK)
        // A slot served by a FAIL node: fail at once.
        let failedOwner = health.update(slotsServed: false, size: 3, reachable: 2, myselfIsPrimary: true, nodeTimeout: 1000, now: 10)
        #expect(failedOwner)
        #expect(!health.isOK)
        // In a minority: fail, then ok only a node timeout (between 0.5 and 5 s) after the partition heals.
        health.update(slotsServed: true, size: 3, reachable: 1, myselfIsPrimary: true, nodeTimeout: 1000, now: 100)
        #expect(!health.isOK)
        health.update(slotsServed: true, size: 3, reachable: 3, myselfIsPrimary: true, nodeTimeout: 1000, now: 1099)
        #expect(!health.isOK)
        health.update(slotsServed: true, size: 3, reachable: 3, myselfIsPrimary: true, nodeTimeout: 1000, now: 1100)
        #expect(health.isOK)
        // A primary restarted with slots waits 2 s before turning ok.
        var restarted = ClusterHealth()
        restarted.restartedAt = 5000
        restarted.update(slotsServed: true, size: 3, reachable: 3, myselfIsPrimary: true, nodeTimeout: 500, now: 6999)
        #expect(!restarted.isOK)
        restarted.update(slotsServed: true, size: 3, reachable: 3, myselfIsPrimary: true, nodeTimeout: 500, now: 7000)
        #expect(restarted.isOK)
    }
}
