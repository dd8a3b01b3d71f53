import ArgumentParser
import Foundation
import KeywayBench

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `keyway bench`: load-tests any RESP endpoint, or a Redis Cluster, like redis-benchmark and memtier_benchmark.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Load-test a Redis-protocol server, proxy or cluster (HdrHistogram latencies, open or closed loop).",
        discussion: """
            Examples:
              keyway bench --tests set,get --clients 50 --pipeline 16 --requests 1000000
              keyway bench --cluster --seed 127.0.0.1:7000 --duration 30 --ratio 1:10 --key-pattern zipf:0.99
              keyway bench --rate 20000 --duration 10 --tests get --json
              keyway bench --requests 100000 -- SET key:__key__ __data__
              keyway bench --verify --keyspace 10000 --data-size 16-256
            In a command template, __key__ (or __rand_int__) becomes a 12-digit key number and __data__ the value.

            The exit status is non-zero when the target is unreachable, AUTH fails, any reply is an error, or --verify finds a lost or changed key.
            """
    )

    @Option(help: "Server address.")
    var host = "127.0.0.1"

    @Option(help: "Server port.")
    var port = 6379

    @Flag(help: "Cluster mode: discover slots with CLUSTER SLOTS, send each request to its slot's owner, follow MOVED/ASK.")
    var cluster = false

    @Option(help: "A cluster node to discover the cluster from, host:port (repeatable; default --host:--port).")
    var seed: [String] = []

    @Option(name: [.customShort("c"), .long], help: "Number of clients (connections; per node in cluster mode).")
    var clients = 50

    @Option(help: "Event loop threads.")
    var threads = 1

    @Option(name: [.customShort("P"), .long], help: "Requests each client keeps in flight.")
    var pipeline = 1

    @Option(name: [.customShort("n"), .long], help: "Requests per test (default 100000 when --duration is not given).")
    var requests: Int?

    @Option(help: "Seconds per test, instead of a request count.")
    var duration: Double?

    @Option(help: "Open loop: total requests per second; latency counts from each request's intended send time.")
    var rate: Double?

    @Option(name: [.customShort("r"), .long], help: "Number of distinct keys (key numbers 0 ..< N).")
    var keyspace = 100_000

    @Option(help: "Key distribution: uniform, sequential, zipf:S or gaussian.")
    var keyPattern = "uniform"

    @Option(name: [.customShort("d"), .long], help: "Value size in bytes: N or MIN-MAX.")
    var dataSize = "3"

    @Option(name: [.customShort("t"), .long], help: "Comma-separated tests: ping,set,get,incr,lpush,rpush,lpop,rpop,sadd,hset,spop,zadd,lrange_100,mset.")
    var tests: String?

    @Option(help: "One mixed test of SET and GET in the ratio SETS:GETS, e.g. 1:10.")
    var ratio: String?

    @Flag(help: "Give all keys of one request the first key's hash tag (multi-key commands in cluster mode).")
    var hashTag = false

    @Option(help: "Seconds of unrecorded load before each test.")
    var warmup: Double = 0

    @Option(name: [.customShort("a"), .long], help: "Password for AUTH.")
    var auth: String?

    @Option(help: "User name for AUTH (with --auth).")
    var user: String?

    @Option(help: "RESP protocol version, 2 or 3 (3 sends HELLO 3).")
    var resp = 2

    @Flag(help: "Write values recomputable from each key, read them back, report every lost or changed key.")
    var verify = false

    @Option(help: "With --verify: all (write then read), write, or read (check an earlier write of the same --generation).")
    var verifyPhase = "all"

    @Option(help: "With --verify: a number mixed into every value, to tell runs apart.")
    var generation: UInt64 = 1

    @Flag(help: "Print one JSON object instead of the table.")
    var json = false

    @Flag(help: "Print CSV instead of the table.")
    var csv = false

    @Option(help: "Also write a self-contained HTML report (latency and throughput plots) to this file.")
    var html: String?

    @Option(help: "Seconds to wait for a connection.")
    var connectTimeout: Double = 5

    @Option(help: "Seconds without any reply, while requests are outstanding, before giving up.")
    var timeout: Double = 10

    @Option(help: "Seed of the key and value-size generators.")
    var randomSeed: UInt64 = 0x6B65_7977_6179

    @Flag(help: "No progress line.")
    var quiet = false

    @Argument(parsing: .postTerminator, help: "A command template after --, e.g. -- SET key:__key__ __data__")
    var command: [String] = []

    /// The run's configuration from the flags.
    func makeConfiguration() throws -> BenchConfiguration {
        var configuration = BenchConfiguration()
        do {
            if cluster {
                let seeds = seed.isEmpty ? ["\(host):\(port)"] : seed
                configuration.target = .cluster(seeds: try seeds.map { s throws(BenchConfigurationError) in
                    try BenchConfiguration.Endpoint.parse(s)
                })
            } else {
                if !seed.isEmpty { throw BenchConfigurationError("--seed needs --cluster (use --host/--port for one address)") }
                guard (1...65535).contains(port) else { throw BenchConfigurationError("--port must be in 1...65535") }
                configuration.target = .single(.init(host: host, port: port))
            }
            configuration.clients = clients
            configuration.threads = threads
            configuration.pipeline = pipeline
            configuration.duration = duration
            configuration.requests = duration == nil ? (requests ?? 100_000) : requests
            configuration.rate = rate
            configuration.keyspace = keyspace
            configuration.keyPattern = try KeyPattern.parse(keyPattern)
            configuration.dataSize = try DataSize.parse(dataSize)
            let workloads = [tests != nil, ratio != nil, !command.isEmpty].filter { $0 }.count
            if workloads > 1 { throw BenchConfigurationError("give only one of --tests, --ratio and a command template") }
            if let tests {
                configuration.workload = .tests(try BenchConfiguration.parseTests(tests))
            } else if let ratio {
                configuration.workload = try BenchConfiguration.parseRatio(ratio)
            } else if !command.isEmpty {
                configuration.workload = .custom(command)
            }
            configuration.hashTag = hashTag
            configuration.warmup = warmup
            configuration.password = auth
            if user != nil && auth == nil { throw BenchConfigurationError("--user needs --auth") }
            configuration.user = user
            configuration.resp = resp
            if verify {
                if workloads > 0 || rate != nil {
                    throw BenchConfigurationError("--verify runs its own SET and GET of every key: drop --tests, --ratio, --rate and the template")
                }
                guard let phase = BenchConfiguration.VerifyPhase(rawValue: verifyPhase) else {
                    throw BenchConfigurationError("--verify-phase must be all, write or read")
                }
                configuration.verify = phase
            } else if verifyPhase != "all" {
                throw BenchConfigurationError("--verify-phase needs --verify")
            }
            configuration.generation = generation
            configuration.connectTimeout = connectTimeout
            configuration.replyTimeout = timeout
            configuration.randomSeed = randomSeed
            if json && csv { throw BenchConfigurationError("give only one of --json and --csv") }
            try configuration.validate()
        } catch let error as BenchConfigurationError {
            throw ValidationError(error.message)
        }
        return configuration
    }

    func run() async throws {
        let configuration = try makeConfiguration()
        let showProgress = !quiet && isatty(STDERR_FILENO) != 0
        let progress: (@Sendable (ProgressSample) -> Void)? = showProgress ? Self.printProgress : nil
        let report: BenchReport
        do {
            report = try await BenchRunner(configuration: configuration).run(progress: progress)
        } catch {
            if showProgress { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
            Self.fail("\(error)")
        }
        if showProgress { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        if json {
            print(ReportFormatter.json(report), terminator: "")
        } else if csv {
            print(ReportFormatter.csv(report), terminator: "")
        } else {
            print(ReportFormatter.text(report), terminator: "")
        }
        if let html {
            do {
                try ReportFormatter.html(report).write(toFile: html, atomically: true, encoding: .utf8)
            } catch {
                Self.fail("cannot write \(html): \(error.localizedDescription)")
            }
        }
        if let verify = report.verify, verify.lost + verify.mismatched > 0 {
            Self.fail("verify found \(verify.lost) lost and \(verify.mismatched) mismatched keys")
        }
        let errors = report.tests.reduce(0) { $0 + $1.errors }
        if errors > 0 {
            let first = report.tests.first { $0.errors > 0 }
            let sample = first.flatMap { test in test.errorSamples.sorted { $0.key < $1.key }.first?.value } ?? ""
            Self.fail("\(errors) error replies (first: \(sample))")
        }
    }

    @Sendable static func printProgress(_ sample: ProgressSample) {
        let line = "\r\u{1B}[K\(sample.test): \(Int(sample.elapsed)) s, \(Int(sample.rps)) requests/s, "
            + "p50 \(String(format: "%.3f", sample.p50)) ms, p99 \(String(format: "%.3f", sample.p99)) ms, \(sample.errors) errors"
        FileHandle.standardError.write(Data(line.utf8))
    }

    /// One line on standard error, exit status 1.
    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("keyway bench: \(message)\n".utf8))
        Foundation.exit(1)
    }
}
