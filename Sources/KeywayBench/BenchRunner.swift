import Histogram
import NIOCore
import NIOPosix
import RESP

/// One line of progress, once a second while a test runs.
public struct ProgressSample: Sendable {
    public var test: String
    public var elapsed: Double
    public var rps: Double
    public var p50: Double
    public var p99: Double
    public var errors: Int
}

/// Runs a configuration's tests one after another on a `MultiThreadedEventLoopGroup` and returns the report.
///
/// Clients are spread over the event loops; each loop measures into its own histograms, which are merged here
/// once a second (for progress and the throughput timeline) and at the end.
public struct BenchRunner: Sendable {
    public let configuration: BenchConfiguration

    public init(configuration: BenchConfiguration) {
        self.configuration = configuration
    }

    public func run(progress: (@Sendable (ProgressSample) -> Void)? = nil) async throws -> BenchReport {
        try configuration.validate()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: configuration.threads)
        do {
            let report = try await run(on: group, progress: progress)
            try? await group.shutdownGracefully()
            return report
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
    }

    private func run(on group: MultiThreadedEventLoopGroup, progress: (@Sendable (ProgressSample) -> Void)?) async throws
        -> BenchReport
    {
        var topology: ClusterTopology?
        let targetText: String
        switch configuration.target {
        case .single(let endpoint):
            targetText = endpoint.description
            // Fail fast, with the server's own words, on an unreachable target or a refused AUTH/HELLO.
            let probe = try await ControlConnection.connect(to: endpoint, configuration: configuration, group: group)
            probe.close()
        case .cluster(let seeds):
            targetText = "cluster via " + seeds.map(\.description).joined(separator: ",")
            if configuration.learnSlotsFromRedirects, let seed = seeds.first {
                var guess = ClusterTopology()
                let node = UInt16(guess.index(of: seed))
                guess.slots = [UInt16](repeating: node, count: 16384)
                topology = guess
            } else {
                topology = try await discover(seeds: seeds, group: group)
            }
        }
        var tests: [TestReport] = []
        var verifyResults: LoopResult?
        for plan in TestPlan.plans(for: configuration) {
            if plan.prefillList { try await prefillList(topology: topology, group: group) }
            let (result, timeline) = try await runTest(plan, topology: topology, group: group, progress: progress)
            tests.append(TestReport(name: plan.name, result: result, timeline: timeline))
            if plan.operations.contains(where: { $0.check == .verifyRead }) { verifyResults = result }
        }
        let settings = BenchReport.Settings(
            target: targetText, clients: configuration.clients, threads: configuration.threads,
            pipeline: configuration.pipeline, keyspace: configuration.keyspace,
            keyPattern: configuration.verify == nil ? configuration.keyPattern.description : KeyPattern.sequential.description, dataSize: configuration.dataSize.description,
            rate: configuration.rate)
        var verify: VerifyReport?
        if let verifyResults {
            verify = VerifyReport(
                generation: configuration.generation, keys: configuration.keyspace, checked: verifyResults.requests,
                lost: verifyResults.lost, mismatched: verifyResults.mismatched,
                issues: verifyResults.issues.sorted { $0.key < $1.key })
        } else if configuration.verify == .write {
            verify = VerifyReport(
                generation: configuration.generation, keys: configuration.keyspace, checked: 0, lost: 0, mismatched: 0,
                issues: [])
        }
        return BenchReport(settings: settings, tests: tests, verify: verify)
    }

    /// Reads the slot map from the first seed that answers `CLUSTER SLOTS`.
    private func discover(seeds: [BenchConfiguration.Endpoint], group: any EventLoopGroup) async throws -> ClusterTopology {
        var lastError: any Error = BenchError.cluster("no seed answered")
        for seed in seeds {
            do {
                let connection = try await ControlConnection.connect(to: seed, configuration: configuration, group: group)
                defer { connection.close() }
                let reply = try await connection.reply(to: ["CLUSTER", "SLOTS"], timeout: configuration.replyTimeout)
                if let message = RESPValue(reply).errorMessage { throw BenchError.server(seed.description, message) }
                var topology = ClusterTopology()
                guard topology.apply(slotsReply: reply, fallbackHost: seed.host) else {
                    throw BenchError.cluster("\(seed): CLUSTER SLOTS returned an unexpected reply")
                }
                guard !topology.owners.isEmpty else { throw BenchError.cluster("\(seed): the cluster has no slots assigned") }
                return topology
            } catch {
                lastError = error
            }
        }
        throw lastError
    }

    /// Fills `mylist` with 600 elements so that `LRANGE mylist 0 99` returns 100 (as redis-benchmark does).
    private func prefillList(topology: ClusterTopology?, group: any EventLoopGroup) async throws {
        let endpoint: BenchConfiguration.Endpoint
        if let topology {
            let node = topology.slots[Int(HashSlotOfKey.slot("mylist"))]
            endpoint = topology.nodes[node == ClusterTopology.unassigned ? 0 : Int(node)]
        } else if case .single(let single) = configuration.target {
            endpoint = single
        } else {
            return
        }
        let connection = try await ControlConnection.connect(to: endpoint, configuration: configuration, group: group)
        defer { connection.close() }
        let value = String(repeating: "x", count: max(1, configuration.dataSize.minimum))
        let reply = try await connection.command(
            ["RPUSH", "mylist"] + Array(repeating: value, count: 600), timeout: configuration.replyTimeout)
        if let message = reply.errorMessage { throw BenchError.server(endpoint.description, message) }
    }

    private enum Phase: Sendable {
        case finished([LoopResult])
        case timeline([TimelinePoint])
    }

    /// One test: start a runner per loop, sample once a second until all finish, merge.
    private func runTest(
        _ plan: TestPlan, topology: ClusterTopology?, group: MultiThreadedEventLoopGroup,
        progress: (@Sendable (ProgressSample) -> Void)?
    ) async throws -> (LoopResult, [TimelinePoint]) {
        let loops = Array(group.makeIterator())
        var created: [NIOLoopBound<LoopRunner>] = []
        let configuration = self.configuration
        for (i, loop) in loops.enumerated() {
            let indexes = Array(stride(from: i, to: configuration.clients, by: loops.count))
            let runner = try await loop.submit {
                NIOLoopBound(
                    LoopRunner(loop: loop, configuration: configuration, plan: plan, topology: topology, clientIndexes: indexes),
                    eventLoop: loop)
            }.get()
            created.append(runner)
        }
        let runners = created
        let futures = runners.map { runner in runner.eventLoop.flatSubmit { runner.value.start() } }
        let all = EventLoopFuture.whenAllSucceed(futures, on: loops[0])
        let started = LoopRunner.now()
        let replyTimeout = configuration.replyTimeout
        do {
            return try await withThrowingTaskGroup(of: Phase.self) { tasks in
                tasks.addTask { .finished(try await all.get()) }
                tasks.addTask {
                    var timeline: [TimelinePoint] = []
                    var lastReplies = -1
                    var lastProgress = LoopRunner.now()
                    var last = started
                    while !Task.isCancelled {
                        do { try await Task.sleep(nanoseconds: 1_000_000_000) } catch { break }
                        var samples: [LoopSample] = []
                        for runner in runners {
                            if let sample = try? await runner.eventLoop.submit({ runner.value.takeSample() }).get() {
                                samples.append(sample)
                            }
                        }
                        let now = LoopRunner.now()
                        var histogram = makeLatencyHistogram()
                        var requests = 0
                        var errors = 0
                        var outstanding = 0
                        var replies = 0
                        for sample in samples {
                            histogram.add(sample.histogram)
                            requests += sample.requests
                            errors += sample.errors
                            outstanding += sample.outstanding
                            replies += sample.replies
                        }
                        let seconds = Double(now - last) / 1e9
                        last = now
                        let point = TimelinePoint(
                            second: Double(now - started) / 1e9, rps: seconds > 0 ? Double(requests) / seconds : 0,
                            p50: Double(histogram.totalCount > 0 ? histogram.valueAtPercentile(50) : 0) / 1e6,
                            p99: Double(histogram.totalCount > 0 ? histogram.valueAtPercentile(99) : 0) / 1e6,
                            errors: errors)
                        timeline.append(point)
                        progress?(
                            ProgressSample(
                                test: plan.name, elapsed: point.second, rps: point.rps, p50: point.p50, p99: point.p99,
                                errors: errors))
                        // Watchdog: requests outstanding and no reply for replyTimeout seconds.
                        if replies != lastReplies || outstanding == 0 {
                            lastReplies = replies
                            lastProgress = now
                        } else if Double(now - lastProgress) / 1e9 >= replyTimeout {
                            let message = "no reply for \(Int(replyTimeout)) s with \(outstanding) requests outstanding"
                            for runner in runners {
                                runner.eventLoop.execute { runner.value.fail(.timeout(message)) }
                            }
                        }
                    }
                    return .timeline(timeline)
                }
                var results: [LoopResult]?
                var timeline: [TimelinePoint] = []
                while let phase = try await tasks.next() {
                    switch phase {
                    case .finished(let value):
                        results = value
                        tasks.cancelAll()
                    case .timeline(let value):
                        timeline = value
                    }
                }
                var merged = LoopResult(histogram: makeLatencyHistogram())
                for result in results ?? [] {
                    merged.histogram.add(result.histogram)
                    if let service = result.service {
                        if merged.service == nil { merged.service = makeLatencyHistogram() }
                        merged.service?.add(service)
                    }
                    merged.requests += result.requests
                    merged.errors.merge(result.errors, uniquingKeysWith: +)
                    merged.errorSamples.merge(result.errorSamples) { first, _ in first }
                    merged.redirects += result.redirects
                    merged.firstStart = min(merged.firstStart, result.firstStart)
                    merged.lastReply = max(merged.lastReply, result.lastReply)
                    merged.lost += result.lost
                    merged.mismatched += result.mismatched
                    merged.issues += result.issues
                }
                return (merged, timeline)
            }
        } catch {
            for runner in runners {
                runner.eventLoop.execute { runner.value.fail(.timeout("stopped")) }
            }
            throw error
        }
    }
}

/// The slot of a constant key.
enum HashSlotOfKey {
    static func slot(_ key: String) -> Int { HashSlotOf.slot(ByteBuffer(string: key)) }
}
