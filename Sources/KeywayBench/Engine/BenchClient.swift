import NIOCore

/// One simulated client: its key and value-size generators, its budget, and a connection per node it talks to.
/// In closed loop it sends `pipeline` requests and waits for all their replies (redis-benchmark's `-P`); in open loop
/// (`--rate`) it sends on a fixed schedule, up to `pipeline` in flight.
final class BenchClient {
    // Unowned(unsafe): every path to a client (its runner, its connections, its timer) keeps the runner alive.
    unowned(unsafe) let runner: LoopRunner
    let index: Int
    /// Connections by node index (one entry, index 0, for a single address).
    var connections: [BenchConnection?] = []
    var keys: KeyGenerator
    var sizes: SplitMix64
    /// Measured requests still to send (`Int.max` for a duration or a budget shared with the loop's other clients).
    var remaining: Int
    var inflight = 0
    private var scheduleIndex: Int
    private var done = false
    private let pipeline: Int
    private let schedule: [Int]

    // Open loop
    var interval: UInt64 = 0
    var nextIntended: UInt64 = 0
    private var timer: Scheduled<Void>?

    init(runner: LoopRunner, index: Int, budget: Int) {
        self.runner = runner
        self.index = index
        self.remaining = budget
        let configuration = runner.configuration
        self.pipeline = configuration.pipeline
        self.schedule = runner.plan.schedule
        self.scheduleIndex = index % max(1, runner.plan.schedule.count)
        self.keys = KeyGenerator(
            pattern: runner.plan.keyPattern, keyspace: configuration.keyspace, client: index,
            clients: configuration.clients, seed: configuration.randomSeed)
        self.sizes = SplitMix64(seed: configuration.randomSeed ^ 0xA5A5_5A5A &+ UInt64(index))
    }

    /// The connection to node `node` of the cluster topology, opened on first use.
    func connection(to node: Int, initial: Bool = false) -> BenchConnection {
        if node < connections.count, let connection = connections[node] { return connection }
        let endpoint = runner.topology?.nodes[node] ?? BenchConfiguration.Endpoint(host: "127.0.0.1", port: 6379)
        return open(endpoint, at: node, initial: initial)
    }

    /// The connection to the single target.
    func connection(endpoint: BenchConfiguration.Endpoint, initial: Bool) -> BenchConnection {
        if let connection = connections.first, let connection { return connection }
        return open(endpoint, at: 0, initial: initial)
    }

    private func open(_ endpoint: BenchConfiguration.Endpoint, at node: Int, initial: Bool) -> BenchConnection {
        while connections.count <= node { connections.append(nil) }
        let connection = BenchConnection(runner: runner, client: self, endpoint: endpoint)
        connections[node] = connection
        runner.connect(connection, initial: initial)
        return connection
    }

    /// Sends what the client may send now; finishes the client when its budget or time is spent and nothing is
    /// left in flight.
    func pump(now: UInt64) {
        guard !done, !runner.stopped else { return }
        let endTime = runner.endTime
        let recordFrom = runner.recordFrom
        let openLoop = interval != 0
        // Closed loop sends whole batches, as redis-benchmark's -P does: `pipeline` requests, then wait for all
        // their replies. The server then reads and answers a batch per system call, as it would for that tool.
        if !openLoop && inflight > 0 { return }
        let shared = runner.sharesBudget
        // In open loop a request belongs to the run when its intended time falls before the end, even if the
        // schedule is behind and it goes out later: dropping that backlog would drop the slowest requests.
        while inflight < pipeline && (shared ? runner.sharedRemaining > 0 : remaining > 0) {
            let start: UInt64
            if openLoop {
                guard nextIntended <= now, nextIntended < endTime else { break }
                start = nextIntended
                nextIntended &+= interval
            } else {
                guard now < endTime else { break }
                start = now
            }
            let measured = start >= recordFrom
            if measured {
                if shared {
                    runner.sharedRemaining &-= 1
                } else if remaining != .max {
                    remaining &-= 1
                }
            }
            let operation = schedule[scheduleIndex]
            scheduleIndex &+= 1
            if scheduleIndex == schedule.count { scheduleIndex = 0 }
            runner.issue(self, operation: operation, key: keys.next(), start: start, sent: now, measured: measured)
        }
        if remaining == 0 || (shared && runner.sharedRemaining <= 0) || (openLoop ? nextIntended >= endTime : now >= endTime) {
            if inflight == 0 {
                done = true
                cancelTimer()
                runner.clientFinished()
            }
            return
        }
        if openLoop && timer == nil && inflight < pipeline {
            let deadline = NIODeadline.uptimeNanoseconds(nextIntended)
            timer = runner.loop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
                timer = nil
                pump(now: LoopRunner.now())
                runner.flushDirty()
            }
        }
    }

    func cancelTimer() {
        timer?.cancel()
        timer = nil
    }
}
